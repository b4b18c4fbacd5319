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
use crate::identifiers::{self, IssuerAndSerial};

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
    pub subject: Vec<u8>,
    /// DER of the issuer `Name`.
    pub issuer: Vec<u8>,
    /// Contents octets of the serial INTEGER, as encoded (up to 64 octets).
    pub serial: Vec<u8>,
    /// DER of `subjectPublicKeyInfo`.
    pub spki: Vec<u8>,
    /// The extensions, in order; empty when absent.
    pub extensions: Vec<CertExtension>,
    /// DER of the outer `signatureAlgorithm`.
    pub signature_algorithm: Vec<u8>,
    /// The signature bits (the BIT STRING without its unused-bits octet).
    pub signature: Vec<u8>,
}

impl LenientCertificate {
    /// `IssuerAndSerialNumber` addressing this certificate.
    #[must_use]
    pub fn issuer_and_serial(&self) -> IssuerAndSerial {
        IssuerAndSerial {
            issuer: self.issuer.clone(),
            serial: self.serial.clone(),
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

    Ok(LenientCertificate {
        tbs_der: tbs.raw.to_vec(),
        subject,
        issuer,
        serial,
        spki,
        extensions,
        signature_algorithm: signature_algorithm.raw.to_vec(),
        signature: signature.value.get(1..).unwrap_or_default().to_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
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
        let crate::KeyId::IssuerAndSerial(sid) = &msg.signer.sid else {
            panic!("certmonger signs with issuerAndSerialNumber");
        };
        assert_eq!(sid, &cert.issuer_and_serial());
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
        assert!(cert.spki.starts_with(&[0x30]));
        assert!(parse_certificate_lenient(&der[..der.len() - 1]).is_err());
    }
}
