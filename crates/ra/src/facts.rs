//! Small readings several steps share: a serial as the store keys it, a SAN as an operator
//! reads it. They sit below every step that uses them, so no two steps import each other for
//! a helper.

/// A certificate serial as the store keys it: lowercase hex without leading zero octets (a
/// DER INTEGER may carry one to stay positive; the store's key never does).
pub(crate) fn serial_hex(serial: &[u8]) -> String {
    let start = serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial.len().saturating_sub(1));
    hex::encode(serial.get(start..).unwrap_or(serial))
}

/// A SAN as the operator reads it in `scepd request list`.
/// Every requested subjectAltName as `dns:…`, `ip:…`, `email:…`, `upn:…` or `uri:…`, for
/// officers, verifiers and audit entries.
pub(crate) fn san_texts(facts: &policy::RequestFacts) -> Vec<String> {
    facts.subject_alt_names.iter().map(san_text).collect()
}

pub(crate) fn san_text(san: &policy::SanFact) -> String {
    match san {
        policy::SanFact::Dns(name) => format!("dns:{name}"),
        policy::SanFact::Email(address) => format!("email:{address}"),
        policy::SanFact::Upn(upn) => format!("upn:{upn}"),
        policy::SanFact::Uri(uri) => format!("uri:{uri}"),
        policy::SanFact::Ip(octets) => match <[u8; 4]>::try_from(octets.as_slice()) {
            Ok(v4) => format!("ip:{}", std::net::Ipv4Addr::from(v4)),
            Err(_) => format!("ip:{}", hex::encode(octets)),
        },
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_lose_leading_zero_octets_but_not_their_last_one() {
        assert_eq!(serial_hex(&[0x00, 0x8a, 0x01]), "8a01");
        assert_eq!(serial_hex(&[0x0a, 0x00]), "0a00");
        assert_eq!(serial_hex(&[0x00, 0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }
}
