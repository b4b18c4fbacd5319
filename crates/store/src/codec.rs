//! How Rust values are represented in columns: 32-byte hashes as lowercase hex TEXT (portable
//! keys, see migrations/README.md), counts and times as i64.

use crate::StoreError;

pub(crate) fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

/// Decodes a hash column; anything but 64 hex digits means the row was not written by us.
pub(crate) fn parse_hex32(s: &str, table: &'static str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| StoreError::CorruptRow(table))?;
    Ok(out)
}

/// The stored form of a certificate serial: lowercase hex of the serial's unsigned value with
/// no leading zero octets. One canonical form, so the CA's rendering (with or without the DER
/// sign octet `00`, odd or even length, any case) and a GetCert lookup find the same row.
pub(crate) fn normalize_serial(serial_hex: &str) -> Result<String, StoreError> {
    let ok = !serial_hex.is_empty()
        && serial_hex.len() <= 2 * 64
        && serial_hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(StoreError::InvalidInput(
            "serial must be 1 to 64 octets in hex",
        ));
    }
    let digits = serial_hex.trim_start_matches('0').to_ascii_lowercase();
    Ok(match digits.len() {
        0 => "00".to_owned(),
        n if !n.is_multiple_of(2) => format!("0{digits}"),
        _ => digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_refusal() {
        let h = [0xabu8; 32];
        let s = hex32(&h);
        assert_eq!(s.len(), 64);
        assert_eq!(s, s.to_ascii_lowercase());
        assert!(matches!(parse_hex32(&s, "t"), Ok(v) if v == h));
        assert!(matches!(
            parse_hex32(&s[..62], "t"),
            Err(StoreError::CorruptRow("t"))
        ));
        assert!(parse_hex32(&"zz".repeat(32), "t").is_err());
    }

    #[test]
    fn serials_are_normalised_or_refused() {
        for (given, stored) in [
            ("00AbCd", "abcd"),
            ("abcd", "abcd"),
            ("0abc", "0abc"),
            ("abc", "0abc"),
            ("0000ff", "ff"),
            ("00", "00"),
            ("0", "00"),
        ] {
            assert_eq!(
                normalize_serial(given).ok().as_deref(),
                Some(stored),
                "{given}"
            );
        }
        for bad in ["", "0g", "-1", " 1", &"00".repeat(65)] {
            assert!(normalize_serial(bad).is_err(), "{bad:?}");
        }
    }
}
