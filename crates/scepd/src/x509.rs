//! What the ceremonies and services read from a certificate's DER: its key, its subject.

use der::{Decode, Encode};

/// A certificate whose DER does not decode.
#[derive(Debug, thiserror::Error)]
#[error("certificate: {0}")]
pub struct UnreadableCertificate(#[from] der::Error);

/// The certificate's SubjectPublicKeyInfo, DER: what a key is compared with.
pub fn spki_of(certificate: &[u8]) -> Result<Vec<u8>, UnreadableCertificate> {
    Ok(x509_cert::Certificate::from_der(certificate)?
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()?)
}

/// The subject as an RFC 4514 string, for a report to a person; empty if it cannot be read.
/// Read leniently, as certificates made elsewhere (an imported CA, a client) may need.
pub fn subject_of(certificate: &[u8]) -> String {
    scep::parse_certificate_lenient(certificate)
        .ok()
        .and_then(|c| x509_cert::name::Name::from_der(&c.subject_der).ok())
        .map(|n| n.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn subject_and_key_of_a_certificate_and_nothing_of_garbage() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "x509 test");
        let certificate = params.self_signed(&key).unwrap();
        let der = certificate.der().to_vec();
        assert_eq!(subject_of(&der), "CN=x509 test");
        assert_eq!(
            spki_of(&der).unwrap(),
            rcgen::PublicKeyData::subject_public_key_info(&key)
        );
        assert_eq!(subject_of(b"not a certificate"), "");
        assert!(
            spki_of(b"not a certificate")
                .unwrap_err()
                .to_string()
                .starts_with("certificate: ")
        );
    }
}
