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

/// Normalises a certificate serial to the stored form: lowercase hex of the DER INTEGER
/// content octets, as they appear in the certificate (a leading `00` sign octet included).
pub(crate) fn normalize_serial(serial_hex: &str) -> Result<String, StoreError> {
    let ok = !serial_hex.is_empty()
        && serial_hex.len().is_multiple_of(2)
        && serial_hex.len() <= 2 * 64
        && serial_hex.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(serial_hex.to_ascii_lowercase())
    } else {
        Err(StoreError::InvalidInput(
            "serial must be 1 to 64 octets in hex",
        ))
    }
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
        assert_eq!(normalize_serial("00AbCd").ok().as_deref(), Some("00abcd"));
        for bad in ["", "abc", "0g", "-1", &"00".repeat(65)] {
            assert!(normalize_serial(bad).is_err(), "{bad:?}");
        }
    }
}
