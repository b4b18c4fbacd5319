//! Certificate serial numbers: 16 random octets from the OS CSPRNG, positive and non-zero
//! (RFC 5280 §4.1.2.2: ≤ 20 octets, positive; CA/B BR §7.1: ≥ 64 bits of CSPRNG output).

/// 16 octets whose first is 0x01..=0x7f: the DER INTEGER is then exactly 16 content octets,
/// positive, with about 127 bits of randomness.
pub(crate) fn random_serial() -> Result<[u8; 16], keys::KeyError> {
    let mut serial = [0u8; 16];
    keys::random::fill(&mut serial)?;
    serial[0] &= 0x7f;
    if serial[0] == 0 {
        serial[0] = 1;
    }
    Ok(serial)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_full_length_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = random_serial().unwrap();
            assert!((1..=0x7f).contains(&s[0]));
            assert!(seen.insert(s));
        }
    }
}
