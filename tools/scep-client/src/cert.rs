//! The self-signed certificate a SCEP client signs its first request with (RFC 8894 §2.3:
//! "the requester MUST use a self-signed certificate" until it has one).
//!
//! ```text
//! TBSCertificate  ::=  SEQUENCE  {                      -- RFC 5280 §4.1
//!      version         [0]  EXPLICIT Version DEFAULT v1,
//!      serialNumber         CertificateSerialNumber,
//!      signature            AlgorithmIdentifier,
//!      issuer               Name,
//!      validity             Validity,
//!      subject              Name,
//!      subjectPublicKeyInfo SubjectPublicKeyInfo,
//!      extensions      [3]  EXPLICIT Extensions OPTIONAL }
//! ```
//! x509-cert keeps its TBSCertificate fields private, so this is a small mirror of it.

use std::str::FromStr as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{BitString, UintRef, UtcTime};
use der::{Any, Decode as _, Encode as _, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use crate::error::ClientError;
use crate::key::ClientKey;

#[derive(Sequence)]
struct TbsCertificate<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: UintRef<'a>,
    signature: AlgorithmIdentifierOwned,
    issuer: Any,
    validity: Validity,
    subject: Any,
    subject_public_key_info: Any,
}

#[derive(Sequence)]
struct Validity {
    not_before: Time,
    not_after: Time,
}

#[derive(Sequence)]
struct Certificate {
    tbs_certificate: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A v3 self-signed certificate without extensions for `key`, valid from an hour ago for a
/// day, subject (and issuer) `subject` in RFC 4514 form, SHA-256 signature.
pub fn self_signed_certificate(key: &ClientKey, subject: &str) -> Result<Vec<u8>, ClientError> {
    let name = x509_cert::name::Name::from_str(subject)?.to_der()?;
    let mut serial = keys::random::bytes(16)?;
    if let Some(first) = serial.first_mut() {
        // Positive and of full length: 16 octets with the top bit clear and not zero.
        *first = (*first & 0x7F) | 0x40;
    }
    let alg = key.signature_algorithm(scep::DigestAlgorithm::Sha256)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ClientError::Invalid("clock before 1970"))?;
    let tbs = TbsCertificate {
        version: 2,
        serial_number: UintRef::new(&serial)?,
        signature: AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der())?,
        issuer: Any::from_der(&name)?,
        validity: Validity {
            not_before: utc(now.saturating_sub(Duration::from_secs(3600)))?,
            not_after: utc(now.saturating_add(Duration::from_secs(86_400)))?,
        },
        subject: Any::from_der(&name)?,
        subject_public_key_info: Any::from_der(key.spki_der())?,
    }
    .to_der()?;
    let signature = key.sign(alg, &tbs)?;
    Ok(Certificate {
        tbs_certificate: Any::from_der(&tbs)?,
        signature_algorithm: AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der())?,
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?)
}

fn utc(since_epoch: Duration) -> Result<Time, ClientError> {
    Ok(Time::UtcTime(UtcTime::from_unix_duration(since_epoch)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_verifies_with_its_own_key() {
        let key = ClientKey::generate_ec_p256().unwrap();
        let der = self_signed_certificate(&key, "CN=device-1,O=Test").unwrap();
        let cert = scep::parse_certificate_lenient(&der).unwrap();
        assert_eq!(cert.issuer_der, cert.subject_der);
        assert_eq!(cert.spki_der, key.spki_der());
        assert_eq!(cert.serial.len(), 16);
        let alg = keys::SignatureAlgorithm::from_x509(&cert.signature_algorithm_der).unwrap();
        keys::verify::verify_signature(key.spki_der(), alg, &cert.tbs_der, &cert.signature)
            .unwrap();
    }
}
