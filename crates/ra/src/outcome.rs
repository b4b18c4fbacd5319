//! What became of one PKIOperation, for metrics. Every field is from a closed set or from the
//! configuration (template names), never text a client sent: metric labels must not carry
//! client-chosen strings (cardinality) or secrets.

use scep::{FailInfo, MessageType};

use crate::error::{ChallengeFailure, EnrollError};

/// The result a CertRep carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeResult {
    Success,
    Pending,
    Failure(FailInfo),
}

impl OutcomeResult {
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Failure(_) => "failure",
        }
    }

    /// The failInfo by its RFC 8894 name; `""` unless a failure.
    pub fn fail_info_label(self) -> &'static str {
        match self {
            Self::Failure(FailInfo::BadAlg) => "badAlg",
            Self::Failure(FailInfo::BadMessageCheck) => "badMessageCheck",
            Self::Failure(FailInfo::BadRequest) => "badRequest",
            Self::Failure(FailInfo::BadTime) => "badTime",
            Self::Failure(FailInfo::BadCertId) => "badCertId",
            Self::Success | Self::Pending => "",
        }
    }
}

/// How the challenge of a PKCSReq fared (nothing for requests that need none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// A one-time challenge, usable and within its binding.
    Accepted,
    /// The reusable password of `insecure_static_challenge_file`.
    AcceptedInsecureStatic,
    /// No challenge, let through by `insecure_no_challenge`.
    AcceptedInsecureNone,
    /// A named endpoint's outside verifier (Intune, a webhook, a signed challenge) vouched.
    AcceptedByVerifier,
    /// The outside verifier refused, or the signed challenge's id was spent before.
    RefusedByVerifier,
    /// The outside verifier could not be asked (network, timeout, an answer off its contract).
    VerifierUnavailable,
    Missing,
    Unknown,
    Expired,
    Used,
    /// A usable challenge, presented for names or a template it was not minted for.
    BindingViolated,
}

impl ChallengeOutcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::AcceptedInsecureStatic => "accepted_insecure_static",
            Self::AcceptedInsecureNone => "accepted_insecure_none",
            Self::AcceptedByVerifier => "accepted_by_verifier",
            Self::RefusedByVerifier => "refused_by_verifier",
            Self::VerifierUnavailable => "verifier_unavailable",
            Self::Missing => "missing",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::Used => "used",
            Self::BindingViolated => "binding_violated",
        }
    }

    /// The challenge outcome an error stands for, if it is a challenge error.
    pub(crate) fn of_error(error: &EnrollError) -> Option<Self> {
        match error {
            EnrollError::Challenge(ChallengeFailure::Missing) => Some(Self::Missing),
            EnrollError::Challenge(ChallengeFailure::Unknown) => Some(Self::Unknown),
            EnrollError::Challenge(ChallengeFailure::Expired) => Some(Self::Expired),
            EnrollError::Challenge(ChallengeFailure::Used) => Some(Self::Used),
            EnrollError::BindingViolated(_) => Some(Self::BindingViolated),
            EnrollError::Vouching { refusal, .. } => Some(match refusal {
                vouch::VerifierRefusal::Unavailable(_) => Self::VerifierUnavailable,
                vouch::VerifierRefusal::Refused { .. } | vouch::VerifierRefusal::Replayed(_) => {
                    Self::RefusedByVerifier
                }
            }),
            _ => None,
        }
    }
}

/// What a named endpoint's outside verifier decided about one request: the endpoint and
/// verifier as configured, the decision from a closed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierDecision {
    pub endpoint: String,
    /// `intune`, `webhook`, `signed`.
    pub verifier: &'static str,
    /// `vouched`, `refused`, `replayed`, `unavailable`, or `not_acknowledged` (it vouched,
    /// the CA signed, and the verifier did not acknowledge the certificate).
    pub decision: &'static str,
}

impl VerifierDecision {
    pub(crate) fn of(
        endpoint: &str,
        verifier: &'static str,
        result: Result<(), &EnrollError>,
    ) -> Self {
        let decision = match result {
            Ok(()) => "vouched",
            Err(EnrollError::Vouching { refusal, .. }) => match refusal {
                vouch::VerifierRefusal::Refused { .. } => "refused",
                vouch::VerifierRefusal::Replayed(_) => "replayed",
                vouch::VerifierRefusal::Unavailable(_) => "unavailable",
            },
            Err(EnrollError::NotAcknowledged { .. }) => "not_acknowledged",
            Err(_) => "error",
        };
        Self {
            endpoint: endpoint.to_owned(),
            verifier,
            decision,
        }
    }
}

/// What became of one PKIOperation that was answered with a CertRep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The message type, when it was one we implement.
    pub message_type: Option<MessageType>,
    /// The configured template the request was decided under, once known.
    pub template: Option<String>,
    pub result: OutcomeResult,
    pub challenge: Option<ChallengeOutcome>,
    /// What a named endpoint's verifier decided, when one was asked.
    pub verifier: Option<VerifierDecision>,
}

impl Outcome {
    /// PKCSReq, RenewalReq and CertPoll: the messages that end in a certificate (or not).
    pub fn is_enrollment(&self) -> bool {
        matches!(
            self.message_type,
            Some(MessageType::PkcsReq | MessageType::RenewalReq | MessageType::CertPoll)
        )
    }
}

/// Notes the pipeline takes while it works, turned into an [`Outcome`] at the end.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub template: Option<String>,
    pub challenge: Option<ChallengeOutcome>,
    pub verifier: Option<VerifierDecision>,
    /// The serial of the certificate issued by this request, when it was.
    pub issued_serial: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_errors_map_to_their_outcome() {
        assert_eq!(
            ChallengeOutcome::of_error(&EnrollError::Challenge(ChallengeFailure::Used)),
            Some(ChallengeOutcome::Used)
        );
        assert_eq!(
            ChallengeOutcome::of_error(&EnrollError::BindingViolated("x".into())),
            Some(ChallengeOutcome::BindingViolated)
        );
        assert_eq!(
            ChallengeOutcome::of_error(&EnrollError::Undecipherable),
            None
        );
        assert_eq!(
            OutcomeResult::Failure(FailInfo::BadRequest).fail_info_label(),
            "badRequest"
        );
        assert_eq!(OutcomeResult::Success.fail_info_label(), "");
    }
}
