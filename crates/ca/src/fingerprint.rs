//! Certificate fingerprints for pinning.

use sha2::{Digest, Sha256};

/// SHA-256 of the certificate DER as upper-case, colon-separated hex (`AB:CD:…`, 95
/// characters): the form MDM profiles and devices pin. Never MD5 (NDES's
/// `NDESGetCACertThumbprint` returns MD5; security-catalogue H2) and never SHA-1.
pub fn fingerprint_sha256(cert_der: &[u8]) -> String {
    let digest = Sha256::digest(cert_der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // SHA-256("abc").
        assert_eq!(
            fingerprint_sha256(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:\
             B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
        assert_eq!(fingerprint_sha256(b"").len(), 95);
    }
}
