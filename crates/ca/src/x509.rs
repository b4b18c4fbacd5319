//! Certificates as the CA writes and reads them.
//!
//! Writing uses our own mirror of RFC 5280 §4.1 (x509-cert keeps its TBSCertificate fields
//! private unless its `builder` feature, built on the `signature` traits, is enabled; our keys
//! sign through `keys::Signer` instead):
//!
//! ```text
//! Certificate  ::=  SEQUENCE  {
//!      tbsCertificate       TBSCertificate,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//! TBSCertificate  ::=  SEQUENCE  {
//!      version         [0]  EXPLICIT Version DEFAULT v1,   -- always v3 (2) here
//!      serialNumber         CertificateSerialNumber,
//!      signature            AlgorithmIdentifier,
//!      issuer               Name,
//!      validity             Validity,
//!      subject              Name,
//!      subjectPublicKeyInfo SubjectPublicKeyInfo,
//!      extensions      [3]  EXPLICIT Extensions OPTIONAL }
//! ```

use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, UintRef, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use keys::{SignatureAlgorithm, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::time::Time;

use crate::error::CaError;

#[derive(Sequence)]
struct TbsCertificateAsn1<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: UintRef<'a>,
    signature: AlgorithmIdentifierOwned,
    issuer: Any,
    validity: ValidityAsn1,
    subject: Any,
    subject_public_key_info: Any,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

#[derive(Sequence)]
struct ValidityAsn1 {
    not_before: Time,
    not_after: Time,
}

/// Certificate with the TBS kept as raw bytes: what is signed is exactly what is sent, and
/// what is verified is exactly what was received.
#[derive(Sequence)]
struct CertificateAsn1 {
    tbs_certificate: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What goes into a certificate; names and key as DER.
pub(crate) struct CertificateDraft<'a> {
    pub serial: &'a [u8],
    pub issuer_der: &'a [u8],
    pub subject_der: &'a [u8],
    pub spki_der: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    pub extensions: Vec<Extension>,
}

impl CertificateDraft<'_> {
    /// Builds the TBSCertificate, signs it with the signer's default algorithm, returns the
    /// Certificate DER.
    pub(crate) fn sign(self, signer: &dyn Signer) -> Result<Vec<u8>, CaError> {
        let alg: SignatureAlgorithm = signer.default_algorithm();
        let tbs = TbsCertificateAsn1 {
            version: 2,
            serial_number: UintRef::new(self.serial)?,
            signature: AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der())?,
            issuer: Any::from_der(self.issuer_der)?,
            validity: ValidityAsn1 {
                not_before: time(self.not_before)?,
                not_after: time(self.not_after)?,
            },
            subject: Any::from_der(self.subject_der)?,
            subject_public_key_info: Any::from_der(self.spki_der)?,
            extensions: Some(self.extensions),
        }
        .to_der()?;
        let signature = signer.sign(alg, &tbs)?;
        let cert = CertificateAsn1 {
            tbs_certificate: Any::from_der(&tbs)?,
            signature_algorithm: AlgorithmIdentifierOwned::from_der(
                alg.algorithm_identifier_der(),
            )?,
            signature: BitString::from_bytes(&signature)?,
        };
        Ok(cert.to_der()?)
    }
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn time(unix: i64) -> Result<Time, CaError> {
    const Y2050: i64 = 2_524_608_000;
    let secs = u64::try_from(unix).map_err(|_| CaError::Certificate("time before 1970"))?;
    let d = Duration::from_secs(secs);
    Ok(if unix < Y2050 {
        Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

/// A certificate read back: the parsed form plus the exact signed bytes.
pub(crate) struct ParsedCertificate {
    pub cert: Certificate,
    pub tbs_der: Vec<u8>,
    pub signature_algorithm_der: Vec<u8>,
    pub signature: Vec<u8>,
}

impl ParsedCertificate {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        let raw = CertificateAsn1::from_der(der)?;
        Ok(ParsedCertificate {
            cert: Certificate::from_der(der)?,
            tbs_der: raw.tbs_certificate.to_der()?,
            signature_algorithm_der: raw.signature_algorithm.to_der()?,
            signature: raw
                .signature
                .as_bytes()
                .ok_or(der::Tag::BitString.value_error())?
                .to_vec(),
        })
    }

    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, der::Error> {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
    }

    pub(crate) fn subject_der(&self) -> Result<Vec<u8>, der::Error> {
        self.cert.tbs_certificate().subject().to_der()
    }

    pub(crate) fn issuer_der(&self) -> Result<Vec<u8>, der::Error> {
        self.cert.tbs_certificate().issuer().to_der()
    }

    pub(crate) fn not_before(&self) -> i64 {
        unix(self.cert.tbs_certificate().validity().not_before)
    }

    pub(crate) fn not_after(&self) -> i64 {
        unix(self.cert.tbs_certificate().validity().not_after)
    }

    /// The value (inner DER) of the one extension `oid`; `None` if absent, an error if
    /// repeated.
    pub(crate) fn extension(&self, oid: &str) -> Result<Option<(bool, &[u8])>, der::Error> {
        let mut found = self
            .cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .filter(|e| e.extn_id.to_string() == oid);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(e), None) => Ok(Some((e.critical, e.extn_value.as_bytes()))),
            (Some(_), Some(_)) => Err(der::ErrorKind::Failed.into()),
        }
    }

    /// basicConstraints present with cA=TRUE.
    pub(crate) fn is_ca(&self) -> bool {
        match self.extension(policy::oid::EXT_BASIC_CONSTRAINTS) {
            Ok(Some((_, v))) => {
                x509_cert::ext::pkix::BasicConstraints::from_der(v).is_ok_and(|bc| bc.ca)
            }
            _ => false,
        }
    }

    /// keyUsage present with keyCertSign (RFC 5280 §4.2.1.3: a CA certificate must have it).
    pub(crate) fn can_sign_certificates(&self) -> bool {
        match self.extension(policy::oid::EXT_KEY_USAGE) {
            Ok(Some((_, v))) => crate::extensions::read_key_usage(v)
                .is_ok_and(|bits| bits & policy::key_usage::KEY_CERT_SIGN != 0),
            _ => false,
        }
    }

    /// The subjectKeyIdentifier's key identifier.
    pub(crate) fn subject_key_identifier(&self) -> Option<Vec<u8>> {
        match self.extension(policy::oid::EXT_SUBJECT_KEY_IDENTIFIER) {
            Ok(Some((_, v))) => crate::extensions::read_subject_key_identifier(v).ok(),
            _ => None,
        }
    }

    /// The raw extension `oid`, to carry it unchanged into a cross certificate.
    pub(crate) fn raw_extension(&self, oid: &str) -> Option<Extension> {
        self.cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id.to_string() == oid)
            .cloned()
    }

    /// Verifies this certificate's signature with `issuer_spki_der` (SHA-1 refused).
    pub(crate) fn verify_signed_by(&self, issuer_spki_der: &[u8]) -> Result<(), keys::VerifyError> {
        let alg = SignatureAlgorithm::from_x509(&self.signature_algorithm_der)?;
        if alg.is_legacy() {
            return Err(keys::VerifyError::UnsupportedAlgorithm(
                alg.oid().to_string(),
            ));
        }
        keys::verify::verify_signature(issuer_spki_der, alg, &self.tbs_der, &self.signature)
    }
}

fn unix(t: Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
