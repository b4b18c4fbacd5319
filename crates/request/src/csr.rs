//! PKCS#10 (RFC 2986) inspection: everything policy needs to decide, and the exact bytes the
//! caller needs to check the self-signature with `keys::verify`.
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {
//!      certificationRequestInfo CertificationRequestInfo,
//!      signatureAlgorithm       AlgorithmIdentifier,
//!      signature                BIT STRING }
//! CertificationRequestInfo ::= SEQUENCE {
//!      version       INTEGER { v1(0) },
//!      subject       Name,
//!      subjectPKInfo SubjectPublicKeyInfo,
//!      attributes    [0] IMPLICIT SET OF Attribute }
//! ```
//!
//! DER only: the self-signature covers the request info exactly as received, and every
//! client we know of (openssl, Go, certmonger/NSS) emits DER.

mod attributes;
mod challenge;
pub(crate) mod extensions;
mod key;

use der::{Decode, Encode, Header, Reader, SliceReader};
use policy::{RequestFacts, SubjectAttribute};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

pub use challenge::ChallengePassword;

/// The largest CSR accepted: a CSR with an 8192-bit key and a few names is under 3 KiB.
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// Why a CSR could not be inspected. Each maps to failInfo badRequest at the RA.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    #[error("CSR of {0} bytes is larger than {MAX_CSR_LEN}")]
    TooLarge(usize),
    #[error("CSR is not DER PKCS#10: {0}")]
    Malformed(#[from] der::Error),
    #[error("CSR signature BIT STRING has unused bits")]
    SignatureBits,
    #[error("subject attribute {oid} is not a DirectoryString")]
    SubjectValue { oid: String },
    #[error("subject public key: {0}")]
    PublicKey(&'static str),
    #[error("challengePassword: {0}")]
    ChallengePassword(&'static str),
    #[error("attribute {oid} appears more than once or with several values")]
    RepeatedAttribute { oid: String },
    #[error("extensionRequest does not decode: {0}")]
    ExtensionRequest(der::Error),
}

/// A CSR taken apart. Nothing in it is verified: the caller checks the self-signature over
/// [`InspectedCsr::tbs_der`] before trusting anything else.
#[derive(Debug)]
pub struct InspectedCsr {
    pub facts: RequestFacts,
    pub challenge_password: Option<ChallengePassword>,
    /// The subject Name, DER.
    pub subject_der: Vec<u8>,
    /// The subject as an RFC 4514 string, safe to log.
    pub subject_display: String,
    /// The SubjectPublicKeyInfo, DER.
    pub public_key_spki_der: Vec<u8>,
    /// The signatureAlgorithm AlgorithmIdentifier, DER.
    pub signature_algorithm_der: Vec<u8>,
    /// The CertificationRequestInfo exactly as received: the bytes the signature covers.
    pub tbs_der: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Parses a DER PKCS#10 request into facts and the bytes to verify.
pub fn inspect(csr_der: &[u8]) -> Result<InspectedCsr, CsrError> {
    if csr_der.len() > MAX_CSR_LEN {
        return Err(CsrError::TooLarge(csr_der.len()));
    }
    let req = CertReq::from_der(csr_der)?;
    let tbs_der = raw_request_info(csr_der)?.to_vec();
    let signature = req
        .signature
        .as_bytes()
        .ok_or(CsrError::SignatureBits)?
        .to_vec();
    let info = &req.info;

    let subject = subject_attributes(&info.subject)?;
    let public_key = key::facts(&info.public_key)?;
    let parsed = attributes::read(&info.attributes)?;

    let facts = RequestFacts {
        subject,
        subject_alt_names: parsed.subject_alt_names,
        public_key,
        requested_extensions: parsed.requested_extensions,
        attributes: parsed.other_attributes,
    };
    Ok(InspectedCsr {
        subject_display: policy::subject_display(&facts.subject),
        facts,
        challenge_password: parsed.challenge_password,
        subject_der: info.subject.to_der()?,
        public_key_spki_der: info.public_key.to_der()?,
        signature_algorithm_der: req.algorithm.to_der()?,
        tbs_der,
        signature,
    })
}

/// The TLV of the first element of the outer SEQUENCE, as received.
fn raw_request_info(csr_der: &[u8]) -> Result<&[u8], der::Error> {
    let mut reader = SliceReader::new(csr_der)?;
    let _outer = Header::decode(&mut reader)?;
    reader.tlv_bytes()
}

fn subject_attributes(name: &Name) -> Result<Vec<SubjectAttribute>, CsrError> {
    let mut out = Vec::new();
    for rdn in name.iter_rdn() {
        let multi_valued_rdn = rdn.len() > 1;
        for atv in rdn.iter() {
            let oid = atv.oid.to_string();
            let value = crate::strings::directory_string(&atv.value)
                .ok_or_else(|| CsrError::SubjectValue { oid: oid.clone() })?;
            out.push(SubjectAttribute {
                oid,
                value,
                multi_valued_rdn,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
