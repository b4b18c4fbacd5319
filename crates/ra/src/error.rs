//! The RA's one error enum and the one place that maps it to a SCEP failInfo.
//!
//! Clients see a failInfo and a generic text; the precise reason (`Display`) goes to the audit
//! log only. Every class of failure that could leak something about the envelope's content key
//! or the challenge (decryption, padding, CSR parsing, unknown/expired/used/wrong-binding
//! challenge) maps to the same failInfo *and* the same text, so the answers are identical.

use request::answer::{CaRefusal, FailInfoChoice};
use scep::FailInfo;

/// Why an enrollment was not granted. `Display` is for the audit log, never for the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    #[error("unsupported messageType {0:?}")]
    UnsupportedMessageType(String),
    #[error("signer certificate for the SignerInfo is missing or unreadable")]
    SignerCertificateMissing,
    #[error("signature algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    #[error("outer signature invalid: {0}")]
    BadSignature(String),
    #[error("envelope not addressed to our encryption certificate")]
    NotAddressedToUs,
    #[error("content encryption algorithm not allowed: {0}")]
    CipherNotAllowed(String),
    /// Decryption, padding and CSR parsing failures are one variant on purpose: the client
    /// must not be able to tell them apart (Bleichenbacher/Marvin, CBC padding oracle).
    #[error("request content could not be decrypted or parsed")]
    Undecipherable,
    #[error("CSR self-signature invalid")]
    BadCsrSignature,
    #[error("PKCSReq not signed by the key of its CSR")]
    NoProofOfPossession,
    #[error("challenge {0}")]
    Challenge(ChallengeFailure),
    /// The request asks for names or a template the challenge was not minted for.
    #[error("challenge bound to other names or template: {0}")]
    BindingViolated(String),
    /// A named endpoint's outside verifier did not vouch (refused, the id was spent, or it
    /// could not be asked).
    #[error("{verifier} did not vouch: {refusal}")]
    Vouching {
        verifier: &'static str,
        refusal: vouch::VerifierRefusal,
    },
    /// The CA signed a certificate but the verifier did not acknowledge it (Intune's
    /// successNotification): the certificate never leaves scepd.
    #[error("certificate {serial} withheld: {verifier} did not acknowledge it: {refusal}")]
    NotAcknowledged {
        verifier: &'static str,
        serial: String,
        refusal: vouch::VerifierRefusal,
    },
    /// No endpoint has this name.
    #[error("no SCEP endpoint {0:?}")]
    UnknownEndpoint(String),
    #[error("policy refused: {0}")]
    Policy(String),
    #[error("policy refused the algorithm: {0}")]
    PolicyAlgorithm(String),
    #[error("transactionID already used by another key")]
    TransactionConflict,
    #[error("renewal refused: {0}")]
    Renewal(String),
    #[error("request denied by an operator: {0}")]
    Denied(String),
    #[error("no certificate matches the query: {0}")]
    NotFound(String),
    #[error("operation not available: {0}")]
    Unavailable(&'static str),
    /// The CA refused the counter-signed request, or could not be asked.
    #[error("{}", ca_refusal_text(.0))]
    CaRefused(CaRefusal),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The audit text of a CA refusal, as the RA always wrote it: a policy refusal with the CA's
/// reason, a refused algorithm like the RA's own; the other refusals with their code.
fn ca_refusal_text(refusal: &CaRefusal) -> String {
    match refusal {
        CaRefusal::Policy(reason) => format!("the CA refused: {reason}"),
        CaRefusal::BadAlgorithm(reason) => format!("policy refused the algorithm: {reason}"),
        other => format!("the CA refused: {other}"),
    }
}

/// Which check a challenge failed. All of them give the client the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeFailure {
    Missing,
    Unknown,
    Expired,
    Used,
}

impl std::fmt::Display for ChallengeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Missing => "missing",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::Used => "already used",
        })
    }
}

/// The generic text sent with every failure whose cause must stay secret.
pub const REFUSED_TEXT: &str = "request refused";

impl EnrollError {
    /// Whether this failure is what guessing a challenge or probing the envelope's encryption
    /// produces: the front end counts these per source and locks a guessing source out.
    pub fn is_secret_failure(&self) -> bool {
        match self {
            Self::Undecipherable | Self::Challenge(_) | Self::BindingViolated(_) => true,
            // A verifier's no is a wrong challenge; its silence is not the device's doing.
            Self::Vouching { refusal, .. } => {
                !matches!(refusal, vouch::VerifierRefusal::Unavailable(_))
            }
            _ => false,
        }
    }

    /// The failInfo and client-visible text: the only mapping from errors to the wire.
    pub fn wire(&self) -> (FailInfo, &'static str) {
        match self {
            Self::UnsupportedMessageType(_) => (FailInfo::BadRequest, "unsupported message type"),
            Self::SignerCertificateMissing | Self::BadSignature(_) => {
                (FailInfo::BadMessageCheck, "message check failed")
            }
            Self::NotAddressedToUs => (FailInfo::BadMessageCheck, "message check failed"),
            Self::AlgorithmNotAllowed(_) | Self::CipherNotAllowed(_) | Self::PolicyAlgorithm(_) => {
                (FailInfo::BadAlg, "algorithm not allowed")
            }
            Self::BadCsrSignature | Self::NoProofOfPossession => {
                (FailInfo::BadMessageCheck, "proof of possession failed")
            }
            Self::Undecipherable | Self::Challenge(_) | Self::BindingViolated(_) => {
                (FailInfo::BadRequest, REFUSED_TEXT)
            }
            // Like a wrong challenge: the device learns nothing of what the MDM said.
            Self::Vouching {
                refusal:
                    vouch::VerifierRefusal::Refused { .. } | vouch::VerifierRefusal::Replayed(_),
                ..
            } => (FailInfo::BadRequest, REFUSED_TEXT),
            Self::Vouching { .. } | Self::NotAcknowledged { .. } => {
                (FailInfo::BadRequest, "temporary failure, retry later")
            }
            Self::UnknownEndpoint(_) => (FailInfo::BadRequest, "request not permitted by policy"),
            Self::CaRefused(refusal) => match refusal.fail_info() {
                FailInfoChoice::BadAlg => (FailInfo::BadAlg, "algorithm not allowed"),
                FailInfoChoice::BadRequest => {
                    (FailInfo::BadRequest, "request not permitted by policy")
                }
            },
            Self::Policy(_) | Self::TransactionConflict | Self::Renewal(_) => {
                (FailInfo::BadRequest, "request not permitted by policy")
            }
            Self::NotFound(_) => (FailInfo::BadCertId, "no matching certificate"),
            Self::Denied(_) => (FailInfo::BadRequest, "request denied"),
            Self::Unavailable(_) => (FailInfo::BadRequest, "operation not available"),
            Self::Internal(_) => (FailInfo::BadRequest, "temporary failure, retry later"),
        }
    }
}

/// The message could not be read far enough to answer with a signed CertRep
/// (no transactionID, no senderNonce, not a SignedData): the HTTP layer answers 400.
#[derive(Debug, thiserror::Error)]
#[error("malformed PKIOperation message: {0}")]
pub struct BadEnvelope(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_dependent_failure_gives_the_same_answer() {
        let answers: Vec<_> = [
            EnrollError::Undecipherable,
            EnrollError::Challenge(ChallengeFailure::Missing),
            EnrollError::Challenge(ChallengeFailure::Unknown),
            EnrollError::Challenge(ChallengeFailure::Expired),
            EnrollError::Challenge(ChallengeFailure::Used),
            EnrollError::BindingViolated("CN=other".into()),
            EnrollError::Vouching {
                verifier: "intune",
                refusal: vouch::VerifierRefusal::Refused {
                    code: "ChallengeExpired".into(),
                    detail: String::new(),
                },
            },
            EnrollError::Vouching {
                verifier: "signed",
                refusal: vouch::VerifierRefusal::Replayed("signed:k:1".into()),
            },
        ]
        .iter()
        .map(EnrollError::wire)
        .collect();
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        assert_eq!(answers[0], (FailInfo::BadRequest, REFUSED_TEXT));
    }

    #[test]
    fn a_ca_refusal_answers_as_the_ras_own_would() {
        let bad_alg = EnrollError::CaRefused(CaRefusal::BadAlgorithm("RSA 1024".into()));
        let own = EnrollError::PolicyAlgorithm("RSA 1024".into());
        assert_eq!(bad_alg.wire(), own.wire());
        assert_eq!(bad_alg.to_string(), own.to_string());
        assert_eq!(
            EnrollError::CaRefused(CaRefusal::Policy("cA=TRUE".into())).to_string(),
            "the CA refused: cA=TRUE"
        );
        assert_eq!(
            EnrollError::CaRefused(CaRefusal::NonceReused("used".into())).to_string(),
            "the CA refused: nonce-reused: used"
        );
        for refusal in [
            CaRefusal::Policy("cA=TRUE".into()),
            CaRefusal::StatementRejected("expired".into()),
            CaRefusal::Unavailable("connection refused".into()),
        ] {
            assert_eq!(
                EnrollError::CaRefused(refusal).wire(),
                EnrollError::Policy("x".into()).wire()
            );
        }
    }
}
