//! The GetCACert answer (RFC 8894 §4.2.1): which certificate is the CA, which one to encrypt
//! to, which one signs the replies.
//!
//! NDES-style RAs publish two RA certificates: the "CEP encryption" one (keyEncipherment) and
//! the enrollment agent (Certificate Request Agent EKU 1.3.6.1.4.1.311.20.2.1), which signs.
//! scepd's reply signer carries emailProtection instead (the EKU OpenSSL's S/MIME purpose
//! asks of a CMS signer); either EKU, or digitalSignature without keyEncipherment, marks the
//! signer.

use const_oid::ObjectIdentifier;
use der::Decode as _;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

use crate::error::ClientError;

/// Certificate Request Agent EKU.
pub const CERTIFICATE_REQUEST_AGENT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.1");
/// id-kp-emailProtection.
const EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// The certificates of a GetCACert answer, sorted by job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaBundle {
    /// Every certificate, in the order received.
    pub certificates: Vec<Vec<u8>>,
    /// The self-signed one (the CA).
    pub ca: Vec<u8>,
    /// Where requests are encrypted to: keyEncipherment and no Certificate Request Agent EKU
    /// (the CA itself when it is alone).
    pub ra_encryption: Vec<u8>,
    /// The certificate that signs replies, if any: Certificate Request Agent or
    /// emailProtection EKU, or digitalSignature without keyEncipherment.
    pub ra_signing: Option<Vec<u8>>,
}

impl CaBundle {
    /// Reads a GetCACert body: a certs-only SignedData (`application/x-x509-ca-ra-cert`) or a
    /// single DER certificate (`application/x-x509-ca-cert`).
    pub fn from_get_ca_cert(body: &[u8]) -> Result<Self, ClientError> {
        let certificates = match scep::parse_certs_only(body) {
            Ok(certs) => certs,
            Err(_) => {
                scep::parse_certificate_lenient(body)?;
                vec![body.to_vec()]
            }
        };
        let mut ca = None;
        let mut ra_encryption = None;
        let mut ra_signing = None;
        for der in &certificates {
            let cert = scep::parse_certificate_lenient(der)?;
            let eku = cert
                .extension(&EXT_KEY_USAGE)
                .map(|e| ExtendedKeyUsage::from_der(&e.value))
                .transpose()?;
            let key_usage = cert
                .extension(&KEY_USAGE)
                .map(|e| KeyUsage::from_der(&e.value))
                .transpose()?;
            let signer = eku.is_some_and(|e| {
                e.0.contains(&CERTIFICATE_REQUEST_AGENT) || e.0.contains(&EMAIL_PROTECTION)
            }) || key_usage
                .is_some_and(|k| k.digital_signature() && !k.key_encipherment());
            if cert.issuer_der == cert.subject_der && ca.is_none() {
                ca = Some(der.clone());
            } else if signer {
                ra_signing.get_or_insert_with(|| der.clone());
            } else if key_usage.is_some_and(|k| k.key_encipherment()) {
                ra_encryption.get_or_insert_with(|| der.clone());
            }
        }
        let ca = ca.ok_or(ClientError::Invalid("GetCACert without a self-signed CA"))?;
        Ok(Self {
            ra_encryption: ra_encryption.unwrap_or_else(|| ca.clone()),
            ca,
            ra_signing,
            certificates,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn reference_bundle_sorts_into_ca_and_ra() {
        let bundle = CaBundle::from_get_ca_cert(include_bytes!(
            "../testdata/rust-getcacert-ra-ca-certsonly.der"
        ))
        .unwrap();
        assert_eq!(bundle.certificates.len(), 2);
        let ca = scep::parse_certificate_lenient(&bundle.ca).unwrap();
        assert_eq!(ca.issuer_der, ca.subject_der);
        let ra = scep::parse_certificate_lenient(&bundle.ra_encryption).unwrap();
        assert_ne!(ra.issuer_der, ra.subject_der);
    }

    #[test]
    fn a_single_certificate_is_everything() {
        let pem = include_str!("../testdata/rust-ra.pem");
        let der = pem_to_der(pem);
        // Not self-signed: refused, there is no CA to anchor to.
        assert!(CaBundle::from_get_ca_cert(&der).is_err());
    }

    pub(crate) fn pem_to_der(pem: &str) -> Vec<u8> {
        use base64::Engine as _;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }
}
