//! The one error type of the CA. The RA maps it to a failInfo: `Refused` carries policy's own
//! code (badRequest / badAlg); a rejected statement or a bad CSR is badRequest (or
//! badMessageCheck for signatures); `Signing` / `Encoding` / `Certificate` are internal
//! failures.

use keys::{KeyError, KeyRole, VerifyError};
use request::{CsrError, StatementError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The template refuses the request (the RA's approval does not change that).
    #[error("refused by policy: {0}")]
    Refused(policy::Refusal),
    /// The RA statement is not one this CA accepts.
    #[error("RA statement rejected: {0}")]
    StatementRejected(StatementRejection),
    /// The statement names a template this CA does not have.
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    /// The CSR inside the statement does not parse.
    #[error("CSR: {0}")]
    Csr(#[from] CsrError),
    /// The CSR's self-signature does not verify (or uses a refused algorithm).
    #[error("CSR self-signature: {0}")]
    CsrSignature(VerifyError),
    /// The signing key failed.
    #[error("signing: {0}")]
    Signing(#[from] KeyError),
    /// A certificate could not be encoded (an internal error).
    #[error("encoding: {0}")]
    Encoding(#[from] der::Error),
    /// The CA certificate or key does not fit (at construction) or has expired (at issuance).
    #[error("CA certificate: {0}")]
    Certificate(&'static str),
    /// The signer is not a CA signing key.
    #[error("a {0} key cannot sign certificates")]
    WrongRole(KeyRole),
    /// Two templates share a name.
    #[error("template {0:?} is configured twice")]
    DuplicateTemplate(String),
    /// The CA profile of a key ceremony or rollover is not usable (subject DN, constraint
    /// name, key algorithm or size).
    #[error("CA profile: {0}")]
    Profile(String),
    /// An existing CA certificate and key cannot be imported.
    #[error("cannot import the CA: {0}")]
    Import(#[from] ImportRejection),
    /// Issuing would produce a certificate that the CA's own constraints (nameConstraints or
    /// an EKU constraint, in its certificate or its chain) forbid, so verifiers would reject
    /// it. Refused before signing; the client sees badRequest.
    #[error("outside the CA's constraints: {0}")]
    OutsideCaConstraints(String),
    /// The next CA of a rollover cannot be made as asked.
    #[error("rollover: {0}")]
    Rollover(&'static str),
    /// A CRL cannot be built from what was given (a serial that is not positive hex of at
    /// most 20 octets, nextUpdate not after thisUpdate, a time before 1970).
    #[error("revocation: {0}")]
    Revocation(String),
}

/// Why an existing CA certificate (with its key) is refused by `ca::import::check_ca`. Each
/// reason says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportRejection {
    #[error("the certificate does not decode as an X.509 certificate (DER or PEM expected)")]
    DoesNotDecode,
    #[error("not a CA certificate: basicConstraints is missing or cA is FALSE (RFC 5280 §4.2.1.9)")]
    NotCa,
    #[error(
        "the certificate's keyUsage does not include keyCertSign (RFC 5280 §4.2.1.3); it cannot \
         sign certificates"
    )]
    NoKeyCertSign,
    #[error(
        "the key does not belong to the certificate: its public key differs from the \
         certificate's subjectPublicKeyInfo"
    )]
    KeyMismatch,
    #[error(
        "the certificate has no subjectKeyIdentifier (RFC 5280 §4.2.1.2); issued certificates \
         copy it into their authorityKeyIdentifier, so reissue the CA certificate with one"
    )]
    NoSubjectKeyIdentifier,
    #[error("the certificate is not valid yet (notBefore {not_before}, Unix time)")]
    NotYetValid { not_before: i64 },
    #[error("the certificate has expired (notAfter {not_after}, Unix time)")]
    Expired { not_after: i64 },
    #[error("the certificate claims to be self-signed but its signature does not verify")]
    BadSelfSignature,
    #[error("chain certificate {index}: {reason}")]
    Chain { index: usize, reason: &'static str },
    #[error("the key is a {0} key, not a CA signing key")]
    WrongRole(KeyRole),
    /// The certificate's nameConstraints or extKeyUsage (its EKU constraint) cannot be read
    /// or evaluated the way verifiers do.
    #[error("CA constraints (nameConstraints / extKeyUsage): {0}")]
    Constraints(&'static str),
}

/// Why a CRL made elsewhere is not taken (`ca::crl::inspect_crl`): an RA mirrors only a CRL
/// its CA signed, with a number and a nextUpdate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlRejection {
    #[error("CRL: {0}")]
    DoesNotDecode(der::Error),
    #[error("CRL: {0}")]
    Encoding(der::Error),
    #[error("CRL signature algorithm: {0}")]
    Algorithm(VerifyError),
    #[error("CRL signature is not octet-aligned")]
    UnalignedSignature,
    #[error("the CRL is not signed by the CA key: {0}")]
    NotSignedByCa(VerifyError),
    #[error("the CRL has no usable cRLNumber")]
    NoNumber,
    #[error("the CRL has no nextUpdate")]
    NoNextUpdate,
}

/// Why a statement is rejected. Detail for the audit log; the client sees badRequest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementRejection {
    #[error("malformed: {0}")]
    Malformed(#[from] StatementError),
    #[error("signer certificate is not an allow-listed RA certificate")]
    NotAllowListed,
    #[error("RA certificate was not issued by this CA")]
    NotIssuedByCa,
    #[error("RA certificate is outside its validity")]
    RaCertificateValidity,
    #[error("RA certificate lacks the Certificate Request Agent EKU")]
    NotEnrollmentAgent,
    #[error("RA certificate lacks digitalSignature key usage")]
    KeyUsage,
    #[error("RA certificate does not decode")]
    RaCertificate,
    #[error("signature: {0}")]
    Signature(VerifyError),
    #[error("SHA-1 is not accepted on statements")]
    LegacyAlgorithm,
    #[error("messageDigest does not match the content")]
    MessageDigest,
    #[error("approved in the future")]
    NotYetValid,
    #[error("expired")]
    Expired,
    #[error("valid for longer than the maximum statement lifetime")]
    LifetimeTooLong,
}

impl CaError {
    /// True when the client should get failInfo badAlg (RFC 8894 §3.2.1.4.5): policy refused
    /// the key algorithm or curve, or the CSR is signed with an algorithm that is not
    /// accepted. Everything else is badRequest (or an internal failure).
    pub fn is_bad_alg(&self) -> bool {
        match self {
            CaError::Refused(r) => r.code == policy::RefusalCode::BadAlg,
            CaError::CsrSignature(e) => matches!(
                e,
                VerifyError::UnsupportedAlgorithm(_)
                    | VerifyError::UnsupportedKeyAlgorithm(_)
                    | VerifyError::DigestMismatch { .. }
            ),
            _ => false,
        }
    }
}

/// The refusal the RA is told: a rejected statement, a bad algorithm (failInfo badAlg), or
/// else a policy refusal; the detail is this error's text.
impl From<CaError> for request::answer::CaRefusal {
    fn from(error: CaError) -> Self {
        use request::answer::CaRefusal;
        let reason = error.to_string();
        if error.is_bad_alg() {
            CaRefusal::BadAlgorithm(reason)
        } else if matches!(error, CaError::StatementRejected(_)) {
            CaRefusal::StatementRejected(reason)
        } else {
            CaRefusal::Policy(reason)
        }
    }
}

impl From<StatementRejection> for CaError {
    fn from(r: StatementRejection) -> Self {
        CaError::StatementRejected(r)
    }
}
