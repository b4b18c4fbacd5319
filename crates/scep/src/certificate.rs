//! Lenient reading of a certificate that may break RFC 5280's profile.
//!
//! ```text
//! Certificate ::= SEQUENCE {                      -- RFC 5280 §4.1
//!     tbsCertificate       TBSCertificate,
//!     signatureAlgorithm   AlgorithmIdentifier,
//!     signatureValue       BIT STRING }
//! TBSCertificate ::= SEQUENCE {
//!     version         [0] EXPLICIT Version DEFAULT v1,
//!     serialNumber         CertificateSerialNumber,
//!     signature            AlgorithmIdentifier,
//!     issuer               Name,
//!     validity             Validity,
//!     subject              Name,
//!     subjectPublicKeyInfo SubjectPublicKeyInfo,
//!     issuerUniqueID  [1] IMPLICIT UniqueIdentifier OPTIONAL,
//!     subjectUniqueID [2] IMPLICIT UniqueIdentifier OPTIONAL,
//!     extensions      [3] EXPLICIT Extensions OPTIONAL }
//! ```
//!
//! certmonger's self-signed signer certificate has a 33-octet serial and GeneralizedTime
//! validity; `x509-cert`'s default profile refuses it, so the structure is checked with the
//! `Raw` profile and the exact bytes are taken from the encoding itself.

use const_oid::ObjectIdentifier;
use der::Decode as _;
use x509_cert::certificate::{CertificateInner, Raw};

use crate::ber;
use crate::error::CodecError;
use crate::identifiers::{self, KeyId};

/// One certificate extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertExtension {
    /// extnID.
    pub oid: ObjectIdentifier,
    /// critical.
    pub critical: bool,
    /// Contents of extnValue (the DER of the extension's own type).
    pub value: Vec<u8>,
}

/// The parts of a certificate a SCEP peer needs, as exact DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LenientCertificate {
    /// DER of `tbsCertificate` (what the issuer signed).
    pub tbs_der: Vec<u8>,
    /// DER of the subject `Name`.
    pub subject_der: Vec<u8>,
    /// DER of the issuer `Name`.
    pub issuer_der: Vec<u8>,
    /// Contents octets of the serial INTEGER, as encoded (up to 64 octets).
    pub serial: Vec<u8>,
    /// DER of `subjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// The extensions, in order; empty when absent.
    pub extensions: Vec<CertExtension>,
    /// The subjectKeyIdentifier extension's key identifier, when present exactly once.
    pub subject_key_identifier: Option<Vec<u8>>,
    /// DER of the outer `signatureAlgorithm`.
    pub signature_algorithm_der: Vec<u8>,
    /// The signature bits (the BIT STRING without its unused-bits octet).
    pub signature: Vec<u8>,
}

impl LenientCertificate {
    /// The `issuerAndSerialNumber` identifier addressing this certificate.
    #[must_use]
    pub fn issuer_and_serial(&self) -> KeyId {
        KeyId::IssuerAndSerial {
            issuer_der: self.issuer_der.clone(),
            serial: self.serial.clone(),
        }
    }

    /// Whether `id` names this certificate (by issuer and serial, or by key identifier).
    #[must_use]
    pub fn matches(&self, id: &KeyId) -> bool {
        match id {
            KeyId::IssuerAndSerial { issuer_der, serial } => {
                *issuer_der == self.issuer_der && *serial == self.serial
            }
            KeyId::SubjectKeyId(ski) => self.subject_key_identifier.as_ref() == Some(ski),
        }
    }

    /// The extension with this OID, if present exactly once.
    #[must_use]
    pub fn extension(&self, oid: &ObjectIdentifier) -> Option<&CertExtension> {
        let mut found = self.extensions.iter().filter(|e| e.oid == *oid);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

/// Parses a DER certificate without RFC 5280's serial-length and time-encoding checks.
pub fn parse_certificate_lenient(der: &[u8]) -> Result<LenientCertificate, CodecError> {
    // Well-formedness (DER, every field of the right type) is checked by x509-cert.
    let parsed = CertificateInner::<Raw>::from_der(der)?;

    let outer = ber::read_single(der)?.expect(ber::TAG_SEQUENCE, "expected Certificate")?;
    let mut fields = outer.children()?;
    let tbs = fields.require("missing tbsCertificate")?;
    let signature_algorithm = fields.require("missing signatureAlgorithm")?;
    let signature = fields
        .require("missing signatureValue")?
        .expect(ber::TAG_BIT_STRING, "expected BIT STRING")?;
    fields.finish()?;

    let mut t = tbs.children()?;
    t.optional(ber::TAG_CTX0_CONSTRUCTED)?;
    let serial = identifiers::read_serial(t.require("missing serialNumber")?)?;
    t.require("missing signature")?;
    let issuer = t.require("missing issuer")?.raw.to_vec();
    t.require("missing validity")?;
    let subject = t.require("missing subject")?.raw.to_vec();
    let spki = t.require("missing subjectPublicKeyInfo")?.raw.to_vec();

    let extensions = parsed
        .tbs_certificate()
        .extensions()
        .map(|exts| {
            exts.iter()
                .map(|e| CertExtension {
                    oid: e.extn_id,
                    critical: e.critical,
                    value: e.extn_value.as_bytes().to_vec(),
                })
                .collect()
        })
        .unwrap_or_default();

    let mut certificate = LenientCertificate {
        tbs_der: tbs.raw.to_vec(),
        subject_der: subject,
        issuer_der: issuer,
        serial,
        spki_der: spki,
        extensions,
        subject_key_identifier: None,
        signature_algorithm_der: signature_algorithm.raw.to_vec(),
        signature: signature.value.get(1..).unwrap_or_default().to_vec(),
    };
    // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING (RFC 5280 §4.2.1.2).
    certificate.subject_key_identifier = certificate
        .extension(&SUBJECT_KEY_IDENTIFIER)
        .and_then(|ext| ber::read_single(&ext.value).ok())
        .filter(|tlv| tlv.tag == ber::TAG_OCTET_STRING && !tlv.value.is_empty())
        .map(|tlv| tlv.value.to_vec());
    Ok(certificate)
}

const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{fixture, pem_to_der};

    #[test]
    fn reads_the_33_octet_serial_of_certmonger() {
        let msg = crate::parse_pki_message(&fixture(
            "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
        ))
        .unwrap();
        let cert = parse_certificate_lenient(msg.certificates.first().unwrap()).unwrap();
        assert_eq!(cert.serial.len(), 33);
        assert!(x509_cert::Certificate::from_der(msg.certificates.first().unwrap()).is_err());
        assert_eq!(msg.signer_info.sid, cert.issuer_and_serial());
        assert!(cert.matches(&msg.signer_info.sid));
    }

    #[test]
    fn reads_an_ordinary_certificate() {
        let der = pem_to_der(&String::from_utf8(fixture("rust-ra.pem")).unwrap());
        let cert = parse_certificate_lenient(&der).unwrap();
        let strict = x509_cert::Certificate::from_der(&der).unwrap();
        assert_eq!(
            cert.serial,
            strict.tbs_certificate().serial_number().as_bytes()
        );
        assert!(!cert.extensions.is_empty());
        assert!(cert.spki_der.starts_with(&[0x30]));
        assert!(cert.subject_key_identifier.is_some());
        assert!(parse_certificate_lenient(&der[..der.len() - 1]).is_err());
    }
}
