//! The RA statement: the RA's counter-signature over an approved request, which is all the CA
//! accepts (DESIGN.md §2; security-catalogue §3.F). It binds the exact CSR, the template, the
//! SCEP transaction, the names the challenge was bound to, a short validity and a nonce, and
//! whether something besides a challenge validated the whole CSR.
//!
//! ```text
//! RaStatement ::= SEQUENCE {
//!     version        INTEGER (1 | 2 | 3),
//!     csr            OCTET STRING,          -- the PKCS#10 DER, exactly as the device sent it
//!     template       UTF8String,
//!     transactionId  PrintableString,       -- RFC 8894 §3.2.1.1
//!     binding        [0] EXPLICIT StatementBinding OPTIONAL,
//!     requester      [1] EXPLICIT RequesterFacts OPTIONAL,  -- present iff version 2 or 3
//!     csrValidatedBy [2] EXPLICIT UTF8String OPTIONAL,      -- present iff version 3
//!     approvedAt     GeneralizedTime,
//!     notAfter       GeneralizedTime,
//!     nonce          OCTET STRING }
//! StatementBinding ::= SEQUENCE {
//!     subject        UTF8String OPTIONAL,   -- RFC 4514 form
//!     sans           SEQUENCE OF UTF8String }  -- "dns:NAME", "ip:ADDR", "email:ADDR",
//!                                              -- "upn:USER@SUFFIX", "uri:SID-URI"
//! RequesterFacts ::= SEQUENCE {
//!     certificateSha256  OCTET STRING (SIZE (32)),  -- the SCEP requester's signing certificate
//!     challengeId        [0] IMPLICIT UTF8String OPTIONAL,  -- the challenge's audit id
//!     source             [1] IMPLICIT UTF8String OPTIONAL } -- the network source the RA saw
//! ```
//!
//! Version 2 adds the requester facts the RA checked; version 1 (without them) is still
//! parsed, so a CA accepts an RA that has not been upgraded yet. Version 3 adds
//! `csrValidatedBy`: the kind of verifier that validated the whole CSR before the RA
//! counter-signed it (`intune`: Intune's validateRequest answered Success), or `renewal` (the
//! RA held the CSR to the certificate being renewed, whose names the binding lists). Only
//! then does the CA decide with `policy::Vouching::CsrValidated`, which lets a template's
//! `mdm_vouched` names and EKUs through. A CA that predates version 3 refuses such a
//! statement (unknown version) instead of issuing without the names.
//!
//! It travels as the eContent of a CMS SignedData (RFC 5652 §5) with eContentType
//! [`crate::oids::RA_STATEMENT`], signed attributes contentType + messageDigest, one
//! SignerInfo identified by issuerAndSerialNumber of the RA signing certificate, which is
//! included. Built in two phases (the bytes to sign, then the signature), so this crate holds
//! no key.

use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, PrintableString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use crate::oids;

/// The largest statement parsed: a 16 KiB CSR, a certificate and a signature fit easily.
pub const MAX_STATEMENT_LEN: usize = 64 * 1024;

/// The statement in Rust terms. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaStatement {
    /// The PKCS#10 DER as the device sent it (the CA re-inspects it).
    pub csr: Vec<u8>,
    pub template: String,
    pub transaction_id: String,
    /// The names the challenge was bound to, if it was.
    pub binding: Option<StatementBinding>,
    /// Who asked and with which challenge (version 2; `None` in a version 1 statement).
    pub requester: Option<RequesterFacts>,
    /// The kind of verifier that validated the whole CSR (`intune`, or `renewal`); version 3.
    /// `None`: only a challenge (or nothing) vouched for the request.
    pub csr_validated_by: Option<String>,
    pub approved_at: i64,
    pub not_after: i64,
    pub nonce: Vec<u8>,
}

/// What the RA knew about the requester when it approved: the CA records it in its audit
/// trail, so the CA host alone can tell which challenge and which device led to a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequesterFacts {
    /// SHA-256 of the certificate that signed the SCEP request (self-signed, or the
    /// certificate being renewed).
    pub certificate_sha256: [u8; 32],
    /// The audit id of the one-time challenge spent (`store::challenge_audit_id`), never the
    /// challenge itself; `None` for a renewal or an insecure mode without one.
    pub challenge_id: Option<String>,
    /// The network source of the request as the RA saw it.
    pub source: Option<String>,
}

/// The name part of a challenge binding (the template is the statement's own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementBinding {
    pub subject: Option<String>,
    pub sans: Vec<String>,
}

impl StatementBinding {
    /// The names of a challenge binding.
    pub fn from_policy(binding: &policy::Binding) -> Self {
        StatementBinding {
            subject: binding.subject.clone(),
            sans: binding.sans.clone(),
        }
    }

    /// The binding as policy checks it, for `template`.
    pub fn to_policy(&self, template: &str) -> policy::Binding {
        policy::Binding {
            template: Some(template.to_owned()),
            subject: self.subject.clone(),
            sans: self.sans.clone(),
        }
    }
}

#[derive(Sequence)]
struct RaStatementAsn1 {
    version: u8,
    csr: OctetString,
    template: String,
    transaction_id: PrintableString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    binding: Option<StatementBindingAsn1>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    requester: Option<RequesterFactsAsn1>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    csr_validated_by: Option<String>,
    approved_at: GeneralizedTime,
    not_after: GeneralizedTime,
    nonce: OctetString,
}

#[derive(Sequence)]
struct StatementBindingAsn1 {
    #[asn1(optional = "true")]
    subject: Option<String>,
    sans: Vec<String>,
}

#[derive(Sequence)]
struct RequesterFactsAsn1 {
    certificate_sha256: OctetString,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    challenge_id: Option<String>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    source: Option<String>,
}

/// Version 1: no requester facts. Version 2: with them. Version 3: with them and the CSR's
/// validator.
const STATEMENT_VERSION_1: u8 = 1;
const STATEMENT_VERSION_2: u8 = 2;
const STATEMENT_VERSION_3: u8 = 3;
/// The longest verifier kind a statement names.
const MAX_VERIFIER_KIND_LEN: usize = 32;

/// Why a statement could not be built or parsed. The CA maps every one to a rejected
/// statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    #[error("statement of {0} bytes is larger than {MAX_STATEMENT_LEN}")]
    TooLarge(usize),
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    #[error("not a SignedData")]
    NotSignedData,
    #[error("eContentType is not an RA statement")]
    WrongContentType,
    #[error("statement version {0} is not supported")]
    Version(u8),
    #[error("statement version {0} with requester facts {1}")]
    VersionMismatch(u8, &'static str),
    #[error("requester certificate hash is not 32 octets")]
    RequesterHash,
    #[error("CSR validator kind {0:?} is not 1 to 32 lower-case letters, digits or '-'")]
    VerifierKind(String),
    #[error("time {0} cannot be a GeneralizedTime")]
    Time(i64),
    #[error("digest algorithm is not SHA-256/384/512")]
    DigestAlgorithm,
    #[error("expected exactly one SignerInfo")]
    SignerCount,
    #[error("signer is not identified by issuer and serial number")]
    SignerIdentifier,
    #[error("no certificate in the statement matches the signer")]
    SignerCertificate,
    #[error("signed attributes are missing or malformed: {0}")]
    SignedAttributes(&'static str),
    #[error("no eContent")]
    NoContent,
}

impl RaStatement {
    /// A statement for an approved request, checked to be encodable (transaction id a
    /// PrintableString, times after 1970, `not_after` not before `approved_at`). The binding's
    /// template is dropped: the statement's own `template` is the one that counts.
    pub fn new(
        csr: Vec<u8>,
        template: String,
        transaction_id: String,
        binding: Option<policy::Binding>,
        approved_at: i64,
        not_after: i64,
        nonce: Vec<u8>,
    ) -> Result<Self, StatementError> {
        if not_after < approved_at {
            return Err(StatementError::Time(not_after));
        }
        let statement = RaStatement {
            csr,
            template,
            transaction_id,
            binding: binding.as_ref().map(StatementBinding::from_policy),
            requester: None,
            csr_validated_by: None,
            approved_at,
            not_after,
            nonce,
        };
        statement.to_der()?;
        Ok(statement)
    }

    /// The same statement with the requester facts: a version 2 statement.
    pub fn with_requester(self, requester: RequesterFacts) -> Result<Self, StatementError> {
        let statement = RaStatement {
            requester: Some(requester),
            ..self
        };
        statement.to_der()?;
        Ok(statement)
    }

    /// The same statement saying that a verifier of kind `kind` (`intune`, `renewal`)
    /// validated the whole CSR: a version 3 statement. Call it after
    /// [`RaStatement::with_requester`]: version 3 carries the requester facts too.
    pub fn with_csr_validated_by(self, kind: &str) -> Result<Self, StatementError> {
        check_verifier_kind(kind)?;
        if self.requester.is_none() {
            return Err(StatementError::VersionMismatch(
                STATEMENT_VERSION_3,
                "absent",
            ));
        }
        let statement = RaStatement {
            csr_validated_by: Some(kind.to_owned()),
            ..self
        };
        statement.to_der()?;
        Ok(statement)
    }

    /// 3 when a CSR validator is named, 2 when the requester facts are present, else 1.
    pub fn version(&self) -> u8 {
        if self.csr_validated_by.is_some() {
            STATEMENT_VERSION_3
        } else if self.requester.is_some() {
            STATEMENT_VERSION_2
        } else {
            STATEMENT_VERSION_1
        }
    }

    /// The DER `RaStatement`.
    pub fn to_der(&self) -> Result<Vec<u8>, StatementError> {
        let requester = match &self.requester {
            Some(r) => Some(RequesterFactsAsn1 {
                certificate_sha256: OctetString::new(r.certificate_sha256.as_slice())?,
                challenge_id: r.challenge_id.clone(),
                source: r.source.clone(),
            }),
            None => None,
        };
        let asn1 = RaStatementAsn1 {
            version: self.version(),
            csr: OctetString::new(self.csr.as_slice())?,
            template: self.template.clone(),
            transaction_id: PrintableString::new(&self.transaction_id)?,
            binding: self.binding.as_ref().map(|b| StatementBindingAsn1 {
                subject: b.subject.clone(),
                sans: b.sans.clone(),
            }),
            requester,
            csr_validated_by: self.csr_validated_by.clone(),
            approved_at: generalized_time(self.approved_at)?,
            not_after: generalized_time(self.not_after)?,
            nonce: OctetString::new(self.nonce.as_slice())?,
        };
        Ok(asn1.to_der()?)
    }

    /// Parses a DER `RaStatement`.
    pub fn from_der(der: &[u8]) -> Result<Self, StatementError> {
        let asn1 = RaStatementAsn1::from_der(der)?;
        let validated = asn1.csr_validated_by.is_some();
        match (asn1.version, asn1.requester.is_some()) {
            (STATEMENT_VERSION_1, false)
            | (STATEMENT_VERSION_2, true)
            | (STATEMENT_VERSION_3, true) => {}
            (STATEMENT_VERSION_1, true) => {
                return Err(StatementError::VersionMismatch(1, "present"));
            }
            (v @ (STATEMENT_VERSION_2 | STATEMENT_VERSION_3), false) => {
                return Err(StatementError::VersionMismatch(v, "absent"));
            }
            (v, _) => return Err(StatementError::Version(v)),
        }
        // The validator is there exactly in version 3: an older version naming one, or a
        // version 3 without it, is a statement no RA wrote.
        if validated != (asn1.version == STATEMENT_VERSION_3) {
            return Err(StatementError::Version(asn1.version));
        }
        if let Some(kind) = &asn1.csr_validated_by {
            check_verifier_kind(kind)?;
        }
        let requester = match asn1.requester {
            Some(r) => Some(RequesterFacts {
                certificate_sha256: r
                    .certificate_sha256
                    .as_bytes()
                    .try_into()
                    .map_err(|_| StatementError::RequesterHash)?,
                challenge_id: r.challenge_id,
                source: r.source,
            }),
            None => None,
        };
        Ok(RaStatement {
            csr: asn1.csr.as_bytes().to_vec(),
            template: asn1.template,
            transaction_id: asn1.transaction_id.as_str().to_owned(),
            binding: asn1.binding.map(|b| StatementBinding {
                subject: b.subject,
                sans: b.sans,
            }),
            requester,
            csr_validated_by: asn1.csr_validated_by,
            approved_at: unix_seconds(&asn1.approved_at)?,
            not_after: unix_seconds(&asn1.not_after)?,
            nonce: asn1.nonce.as_bytes().to_vec(),
        })
    }
}

/// A verifier kind as configuration names it: short, lower-case, safe to log.
fn check_verifier_kind(kind: &str) -> Result<(), StatementError> {
    let plain = !kind.is_empty()
        && kind.len() <= MAX_VERIFIER_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if plain {
        Ok(())
    } else {
        Err(StatementError::VerifierKind(kind.to_owned()))
    }
}

fn generalized_time(unix: i64) -> Result<GeneralizedTime, StatementError> {
    let secs = u64::try_from(unix).map_err(|_| StatementError::Time(unix))?;
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| StatementError::Time(unix))
}

fn unix_seconds(t: &GeneralizedTime) -> Result<i64, StatementError> {
    i64::try_from(t.to_unix_duration().as_secs()).map_err(|_| StatementError::Time(i64::MAX))
}

/// The digest of a supported AlgorithmIdentifier (SHA-2 only).
fn digest(alg: &AlgorithmIdentifierOwned, data: &[u8]) -> Result<Vec<u8>, StatementError> {
    match alg.oid {
        o if o == oids::SHA256 => Ok(sha2::Sha256::digest(data).to_vec()),
        o if o == oids::SHA384 => Ok(sha2::Sha384::digest(data).to_vec()),
        o if o == oids::SHA512 => Ok(sha2::Sha512::digest(data).to_vec()),
        _ => Err(StatementError::DigestAlgorithm),
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// A statement waiting for its signature.
#[derive(Debug)]
pub struct UnsignedStatement {
    econtent: OctetString,
    ra_certificate: Certificate,
    digest_algorithm: AlgorithmIdentifierOwned,
    signature_algorithm: AlgorithmIdentifierOwned,
    signed_attributes: SignedAttributes,
    signed_attributes_der: Vec<u8>,
}

/// First phase of building: encodes the statement and the signed attributes. The RA signs
/// [`UnsignedStatement::signed_attributes_der`] with its signing key (the algorithm of
/// `signature_algorithm_der`, whose hash must be `digest_algorithm_der`'s) and calls
/// [`UnsignedStatement::finish`].
pub fn prepare_statement(
    statement: &RaStatement,
    ra_certificate_der: &[u8],
    digest_algorithm_der: &[u8],
    signature_algorithm_der: &[u8],
) -> Result<UnsignedStatement, StatementError> {
    let content = statement.to_der()?;
    let digest_algorithm = AlgorithmIdentifierOwned::from_der(digest_algorithm_der)?;
    let message_digest = digest(&digest_algorithm, &content)?;
    let mut signed_attributes = SetOfVec::new();
    signed_attributes.insert(attribute(
        oids::CONTENT_TYPE,
        Any::encode_from(&oids::RA_STATEMENT)?,
    )?)?;
    signed_attributes.insert(attribute(
        oids::MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(message_digest)?)?,
    )?)?;
    Ok(UnsignedStatement {
        econtent: OctetString::new(content)?,
        ra_certificate: Certificate::from_der(ra_certificate_der)?,
        digest_algorithm,
        signature_algorithm: AlgorithmIdentifierOwned::from_der(signature_algorithm_der)?,
        signed_attributes_der: signed_attributes.to_der()?,
        signed_attributes,
    })
}

impl UnsignedStatement {
    /// The DER `SET OF Attribute` the signature covers (RFC 5652 §5.4).
    pub fn signed_attributes_der(&self) -> &[u8] {
        &self.signed_attributes_der
    }

    /// Second phase: the ContentInfo DER with `signature` in place.
    pub fn finish(self, signature: Vec<u8>) -> Result<Vec<u8>, StatementError> {
        let tbs = self.ra_certificate.tbs_certificate();
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: self.digest_algorithm.clone(),
            signed_attrs: Some(self.signed_attributes),
            signature_algorithm: self.signature_algorithm,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let mut digest_algorithms = SetOfVec::new();
        digest_algorithms.insert(self.digest_algorithm)?;
        let mut certificates = SetOfVec::new();
        certificates.insert(CertificateChoices::Certificate(self.ra_certificate))?;
        let mut signer_infos = SetOfVec::new();
        signer_infos.insert(signer_info)?;
        let signed_data = SignedData {
            // v3: the eContentType is not id-data (RFC 5652 §5.1).
            version: CmsVersion::V3,
            digest_algorithms,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oids::RA_STATEMENT,
                econtent: Some(Any::encode_from(&self.econtent)?),
            },
            certificates: Some(CertificateSet(certificates)),
            crls: None,
            signer_infos: SignerInfos(signer_infos),
        };
        let content_info = ContentInfo {
            content_type: oids::SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(content_info.to_der()?)
    }
}

/// A statement taken apart, nothing verified except that messageDigest matches the content
/// (`message_digest_ok`). The CA checks the RA certificate and the signature.
#[derive(Clone, Debug)]
pub struct ParsedStatement {
    pub statement: RaStatement,
    /// The RA signing certificate named by the SignerInfo, DER.
    pub ra_certificate_der: Vec<u8>,
    /// The DER `SET OF Attribute` the signature covers.
    pub signed_attributes_der: Vec<u8>,
    pub signature: Vec<u8>,
    pub digest_algorithm_der: Vec<u8>,
    pub signature_algorithm_der: Vec<u8>,
    /// The messageDigest attribute equals the digest of the eContent.
    pub message_digest_ok: bool,
}

/// Parses a statement ContentInfo: exactly one SignerInfo by issuerAndSerialNumber, its
/// certificate included, signed attributes with exactly one contentType (= RA statement) and
/// one messageDigest, SHA-2 digest.
pub fn parse_statement(der: &[u8]) -> Result<ParsedStatement, StatementError> {
    if der.len() > MAX_STATEMENT_LEN {
        return Err(StatementError::TooLarge(der.len()));
    }
    let content_info = ContentInfo::from_der(der)?;
    if content_info.content_type != oids::SIGNED_DATA {
        return Err(StatementError::NotSignedData);
    }
    let signed_data = content_info.content.decode_as::<SignedData>()?;
    if signed_data.encap_content_info.econtent_type != oids::RA_STATEMENT {
        return Err(StatementError::WrongContentType);
    }
    let content = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(StatementError::NoContent)?
        .decode_as::<OctetString>()?;
    let content = content.as_bytes();

    let mut signers = signed_data.signer_infos.0.iter();
    let (Some(signer), None) = (signers.next(), signers.next()) else {
        return Err(StatementError::SignerCount);
    };
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(StatementError::SignerIdentifier);
    };
    let ra_certificate = signed_data
        .certificates
        .as_ref()
        .into_iter()
        .flat_map(|set| set.0.iter())
        .find_map(|choice| match choice {
            CertificateChoices::Certificate(cert)
                if cert.tbs_certificate().issuer() == &sid.issuer
                    && cert.tbs_certificate().serial_number() == &sid.serial_number =>
            {
                Some(cert)
            }
            _ => None,
        })
        .ok_or(StatementError::SignerCertificate)?;

    let signed_attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or(StatementError::SignedAttributes("absent"))?;
    let content_type = single_attribute(signed_attributes, oids::CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| StatementError::SignedAttributes("contentType"))?;
    if content_type != oids::RA_STATEMENT {
        return Err(StatementError::WrongContentType);
    }
    let message_digest = single_attribute(signed_attributes, oids::MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(|_| StatementError::SignedAttributes("messageDigest"))?;
    let expected = digest(&signer.digest_alg, content)?;

    Ok(ParsedStatement {
        statement: RaStatement::from_der(content)?,
        ra_certificate_der: ra_certificate.to_der()?,
        signed_attributes_der: signed_attributes.to_der()?,
        signature: signer.signature.as_bytes().to_vec(),
        digest_algorithm_der: signer.digest_alg.to_der()?,
        signature_algorithm_der: signer.signature_algorithm.to_der()?,
        message_digest_ok: message_digest.as_bytes() == expected.as_slice(),
    })
}

/// The one value of the one attribute `oid`.
fn single_attribute(
    attrs: &SignedAttributes,
    oid: ObjectIdentifier,
) -> Result<&Any, StatementError> {
    let mut matching = attrs.iter().filter(|a| a.oid == oid);
    let (Some(attr), None) = (matching.next(), matching.next()) else {
        return Err(StatementError::SignedAttributes(
            "attribute missing or repeated",
        ));
    };
    let mut values = attr.values.iter();
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(v),
        _ => Err(StatementError::SignedAttributes(
            "attribute with several values",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const RA_CERT: &[u8] = include_bytes!("../tests/fixtures/rust-ra.der");
    const CSR: &[u8] = include_bytes!("../tests/fixtures/certmonger-csr.der");
    /// AlgorithmIdentifier DERs: sha256 (absent parameters) and sha256WithRSAEncryption.
    const SHA256_DER: &[u8] = &[
        0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    const SHA256_RSA_DER: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];

    fn statement() -> RaStatement {
        RaStatement {
            csr: CSR.to_vec(),
            template: "device".into(),
            transaction_id: "ABCDEF0123456789+/=".into(),
            binding: Some(StatementBinding {
                subject: Some("CN=certmonger-client,O=Proto".into()),
                sans: vec!["dns:dev1.example".into()],
            }),
            requester: Some(RequesterFacts {
                certificate_sha256: [0x42; 32],
                challenge_id: Some("0123456789abcdef".into()),
                source: Some("192.0.2.7".into()),
            }),
            csr_validated_by: None,
            approved_at: 1_790_000_000,
            not_after: 1_790_000_300,
            nonce: vec![9; 16],
        }
    }

    fn build(s: &RaStatement, signature: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let unsigned = prepare_statement(s, RA_CERT, SHA256_DER, SHA256_RSA_DER).unwrap();
        let tbs = unsigned.signed_attributes_der().to_vec();
        (unsigned.finish(signature.to_vec()).unwrap(), tbs)
    }

    #[test]
    fn statement_der_round_trip() {
        let s = statement();
        assert_eq!(RaStatement::from_der(&s.to_der().unwrap()).unwrap(), s);
        let unbound = RaStatement {
            binding: None,
            ..statement()
        };
        assert_eq!(
            RaStatement::from_der(&unbound.to_der().unwrap()).unwrap(),
            unbound
        );
    }

    #[test]
    fn signed_statement_round_trip() {
        let (der, signed_attrs) = build(&statement(), &[0xab; 256]);
        let parsed = parse_statement(&der).unwrap();
        assert_eq!(parsed.statement, statement());
        assert_eq!(parsed.ra_certificate_der, RA_CERT);
        assert_eq!(parsed.signed_attributes_der, signed_attrs);
        assert_eq!(parsed.signature, [0xab; 256]);
        assert_eq!(parsed.digest_algorithm_der, SHA256_DER);
        assert_eq!(parsed.signature_algorithm_der, SHA256_RSA_DER);
        assert!(parsed.message_digest_ok);
        // The signed attributes are a DER SET (tag 0x31), as RFC 5652 §5.4 requires.
        assert_eq!(signed_attrs.first(), Some(&0x31));
    }

    #[test]
    fn tampered_content_fails_the_message_digest() {
        let (mut der, _) = build(&statement(), &[0xab; 256]);
        // Flip one byte of the nonce (inside the eContent).
        let pos = der
            .windows(16)
            .position(|w| w == [9; 16])
            .expect("nonce in output");
        der[pos] ^= 1;
        let parsed = parse_statement(&der).unwrap();
        assert!(!parsed.message_digest_ok);
    }

    #[test]
    fn bad_inputs_refused() {
        assert!(matches!(
            parse_statement(&vec![0; MAX_STATEMENT_LEN + 1]),
            Err(StatementError::TooLarge(_))
        ));
        assert!(parse_statement(b"junk").is_err());
        let (der, _) = build(&statement(), &[1; 256]);
        for cut in [10, der.len() / 2, der.len() - 1] {
            assert!(parse_statement(&der[..cut]).is_err());
        }
        // A bare statement (not wrapped) is not a SignedData.
        assert!(parse_statement(&statement().to_der().unwrap()).is_err());
        // SHA-1 is not accepted as the digest.
        let sha1 = [0x30, 0x07, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a];
        assert!(matches!(
            prepare_statement(&statement(), RA_CERT, &sha1, SHA256_RSA_DER),
            Err(StatementError::DigestAlgorithm)
        ));
        // A transaction id that is not a PrintableString cannot be encoded.
        let s = RaStatement {
            transaction_id: "a_b".into(),
            ..statement()
        };
        assert!(s.to_der().is_err());
        let s = RaStatement {
            approved_at: -1,
            ..statement()
        };
        assert!(matches!(s.to_der(), Err(StatementError::Time(-1))));
    }

    #[test]
    fn constructor_checks_encodability() {
        let binding = policy::Binding {
            template: Some("other".into()),
            subject: None,
            sans: vec!["dns:a.example".into()],
        };
        let s = RaStatement::new(
            CSR.to_vec(),
            "device".into(),
            "TX".into(),
            Some(binding),
            10,
            20,
            vec![1],
        )
        .unwrap();
        assert_eq!(s.binding.unwrap().sans, ["dns:a.example"]);
        let bad_tx = RaStatement::new(CSR.to_vec(), "d".into(), "a_b".into(), None, 1, 2, vec![]);
        assert!(bad_tx.is_err());
        let backwards = RaStatement::new(CSR.to_vec(), "d".into(), "a".into(), None, 5, 4, vec![]);
        assert!(matches!(backwards, Err(StatementError::Time(4))));
    }

    #[test]
    fn version_2_carries_the_requester_facts_and_version_1_still_parses() {
        let v2 = statement();
        assert_eq!(v2.version(), 2);
        let der = v2.to_der().unwrap();
        assert_eq!(&der[..2], [0x30, 0x82], "a long SEQUENCE");
        assert_eq!(&der[4..7], [0x02, 0x01, 0x02], "INTEGER 2 first");
        let parsed = RaStatement::from_der(&der).unwrap();
        assert_eq!(parsed.requester, v2.requester);
        // Facts without a challenge or source (a renewal) still round-trip.
        let renewal = RaStatement {
            requester: Some(RequesterFacts {
                certificate_sha256: [1; 32],
                challenge_id: None,
                source: None,
            }),
            ..statement()
        };
        assert_eq!(
            RaStatement::from_der(&renewal.to_der().unwrap()).unwrap(),
            renewal
        );
        // A version 1 statement (no facts) is what an older RA sends: parsed, no facts.
        let v1 = RaStatement {
            requester: None,
            ..statement()
        };
        assert_eq!(v1.version(), 1);
        let der = v1.to_der().unwrap();
        assert_eq!(&der[4..7], [0x02, 0x01, 0x01]);
        assert_eq!(RaStatement::from_der(&der).unwrap(), v1);
        // The constructor makes version 1; with_requester makes version 2.
        let built = RaStatement::new(CSR.to_vec(), "d".into(), "t".into(), None, 1, 2, vec![])
            .unwrap()
            .with_requester(v2.requester.clone().unwrap())
            .unwrap();
        assert_eq!(built.version(), 2);
    }

    #[test]
    fn version_and_facts_must_agree() {
        // Re-encode with a wrong version number: v1 with facts, v2 without, v4.
        let with_facts = statement().to_der().unwrap();
        let without = RaStatement {
            requester: None,
            ..statement()
        }
        .to_der()
        .unwrap();
        let set_version = |der: &[u8], v: u8| {
            let mut d = der.to_vec();
            d[6] = v;
            d
        };
        assert!(matches!(
            RaStatement::from_der(&set_version(&with_facts, 1)),
            Err(StatementError::VersionMismatch(1, _))
        ));
        assert!(matches!(
            RaStatement::from_der(&set_version(&without, 2)),
            Err(StatementError::VersionMismatch(2, _))
        ));
        assert!(matches!(
            RaStatement::from_der(&set_version(&with_facts, 4)),
            Err(StatementError::Version(4))
        ));
    }

    #[test]
    fn binding_converts_to_policy() {
        let b = statement().binding.unwrap().to_policy("device");
        assert_eq!(b.template.as_deref(), Some("device"));
        assert_eq!(b.sans, ["dns:dev1.example"]);
        assert_eq!(
            StatementBinding::from_policy(&b),
            statement().binding.unwrap()
        );
    }

    #[test]
    fn version_3_names_the_csr_validator() {
        let v3 = statement().with_csr_validated_by("intune").unwrap();
        assert_eq!(v3.version(), 3);
        assert_eq!(v3.csr_validated_by.as_deref(), Some("intune"));
        let der = v3.to_der().unwrap();
        assert_eq!(&der[4..7], [0x02, 0x01, 0x03], "INTEGER 3 first");
        // [2] EXPLICIT UTF8String "intune".
        let field = [0xa2, 0x08, 0x0c, 0x06, b'i', b'n', b't', b'u', b'n', b'e'];
        assert!(der.windows(field.len()).any(|w| w == field));
        assert_eq!(RaStatement::from_der(&der).unwrap(), v3);
        let (signed, _) = build(&v3, &[0xab; 256]);
        assert_eq!(parse_statement(&signed).unwrap().statement, v3);
        // A version 2 statement still parses, without a validator.
        let v2 = RaStatement::from_der(&statement().to_der().unwrap()).unwrap();
        assert_eq!(v2.csr_validated_by, None);
        assert!(
            statement()
                .with_csr_validated_by("renewal")
                .unwrap()
                .csr_validated_by
                .is_some()
        );
    }

    #[test]
    fn the_validator_needs_version_3_the_requester_facts_and_a_plain_kind() {
        for bad in ["", "Intune", "in tune", "intune\n", &"x".repeat(33)] {
            assert!(
                matches!(
                    statement().with_csr_validated_by(bad),
                    Err(StatementError::VerifierKind(_))
                ),
                "{bad:?}"
            );
        }
        let v1 = RaStatement {
            requester: None,
            ..statement()
        };
        assert!(matches!(
            v1.with_csr_validated_by("intune"),
            Err(StatementError::VersionMismatch(3, "absent"))
        ));
        // Re-encoded with a wrong version: a validator in version 2, none in version 3.
        let v3 = statement()
            .with_csr_validated_by("intune")
            .unwrap()
            .to_der()
            .unwrap();
        let v2 = statement().to_der().unwrap();
        let set_version = |der: &[u8], v: u8| {
            let mut d = der.to_vec();
            d[6] = v;
            d
        };
        assert!(matches!(
            RaStatement::from_der(&set_version(&v3, 2)),
            Err(StatementError::Version(2))
        ));
        assert!(matches!(
            RaStatement::from_der(&set_version(&v2, 3)),
            Err(StatementError::Version(3))
        ));
        assert!(matches!(
            RaStatement::from_der(&set_version(&v3, 4)),
            Err(StatementError::Version(4))
        ));
        // A kind no RA writes is refused when parsed.
        let mut odd = statement().with_csr_validated_by("intune").unwrap();
        odd.csr_validated_by = Some("INTUNE".into());
        assert!(matches!(
            RaStatement::from_der(&odd.to_der().unwrap()),
            Err(StatementError::VerifierKind(_))
        ));
    }
}
