//! A PKCSReq's challenge: which stored challenge to look up, whether what the store found (or
//! an insecure mode the operator enabled) lets the request through, and the proof of it the
//! counter-signing gate needs, a [`ChallengeProof`] (see [`crate::proofs`]).
//!
//! A verifier that vouches for a challenge itself (Intune's validation API, a webhook, a
//! challenge the MDM signed) is asked by `vouching`; what it answered becomes a proof here
//! ([`vouched`]) like any other: the gate reads only a proof's template, binding and whether
//! the whole CSR was validated.

use ledger::ChallengeStatus;

use crate::config::{INSECURE_NO_CHALLENGE, INSECURE_STATIC_CHALLENGE, InsecureChallenges};
use crate::error::{ChallengeFailure, EnrollError};
use crate::outcome::ChallengeOutcome;
use crate::possession::CheckedCsr;

/// What vouched for a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChallengeKind {
    /// A stored one-time challenge, usable when checked. It is spent in the transaction that
    /// records what it leads to (the certificate, or the held request), so of two requests
    /// racing for it one wins.
    OneTime { hash: [u8; 32] },
    /// An NDES insecure mode the operator enabled: nothing to spend.
    Insecure(InsecureMode),
    /// An outside verifier of a named endpoint vouched for the request.
    Vouched(VouchedBy),
}

/// What an outside verifier said when it vouched (see `vouch::Vouched`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VouchedBy {
    /// The verifier kind (`intune`, `webhook`, `signed`), as the statement names it.
    pub kind: &'static str,
    /// As the audit log names it (`intune`, `webhook`, `signed kid=…`).
    pub by: String,
    /// The verifier validated the whole CSR against the MDM's record of the device.
    pub csr_validated: bool,
    /// The id to spend once, recorded with the certificate.
    pub spend_once: Option<String>,
}

/// NDES's insecure challenge modes (see [`InsecureChallenges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsecureMode {
    /// `insecure_no_challenge` (EnforcePassword=0): no challenge at all.
    NoChallenge,
    /// `insecure_static_challenge_file` (UseSinglePassword=1): the one reusable password.
    StaticChallenge,
}

impl InsecureMode {
    /// The setting's name as `scepd.toml` spells it: the audit entry of every request it let
    /// through names it.
    pub(crate) fn setting(self) -> &'static str {
        match self {
            Self::NoChallenge => INSECURE_NO_CHALLENGE,
            Self::StaticChallenge => INSECURE_STATIC_CHALLENGE,
        }
    }
}

impl ChallengeKind {
    /// The one-time challenge to spend, if this kind spends one.
    pub(crate) fn spent_hash(&self) -> Option<&[u8; 32]> {
        match self {
            Self::OneTime { hash } => Some(hash),
            Self::Insecure(_) | Self::Vouched(_) => None,
        }
    }

    /// The insecure setting that let the request through, if one did.
    pub(crate) fn insecure_setting(&self) -> Option<&'static str> {
        match self {
            Self::Insecure(mode) => Some(mode.setting()),
            Self::OneTime { .. } | Self::Vouched(_) => None,
        }
    }

    /// What an outside verifier said, if one vouched.
    pub(crate) fn vouched_by(&self) -> Option<&VouchedBy> {
        match self {
            Self::Vouched(by) => Some(by),
            Self::OneTime { .. } | Self::Insecure(_) => None,
        }
    }
}

/// A challenge the RA accepted for a request, with the template and binding (template,
/// subject, SANs) it was minted for. Only `challenge_check::check` makes one; the
/// counter-signing gate consumes it.
///
/// ```compile_fail
/// // Outside the RA an accepted challenge cannot be given another binding or template.
/// fn rebind(
///     accepted: ra::proofs::ChallengeProof,
///     binding: policy::Binding,
/// ) -> ra::proofs::ChallengeProof {
///     ra::proofs::ChallengeProof { binding, template: "vpn".to_owned(), ..accepted }
/// }
/// ```
#[derive(Debug)]
pub struct ChallengeProof {
    kind: ChallengeKind,
    /// The configured template the request is decided under.
    template: String,
    binding: policy::Binding,
}

impl ChallengeProof {
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// How the challenge fared, for metrics.
    pub(crate) fn outcome(&self) -> ChallengeOutcome {
        match self.kind {
            ChallengeKind::OneTime { .. } => ChallengeOutcome::Accepted,
            ChallengeKind::Insecure(InsecureMode::NoChallenge) => {
                ChallengeOutcome::AcceptedInsecureNone
            }
            ChallengeKind::Insecure(InsecureMode::StaticChallenge) => {
                ChallengeOutcome::AcceptedInsecureStatic
            }
            ChallengeKind::Vouched(_) => ChallengeOutcome::AcceptedByVerifier,
        }
    }

    /// The kind, template and binding, for the gate that consumes the proof.
    pub(crate) fn into_parts(self) -> (ChallengeKind, String, policy::Binding) {
        (self.kind, self.template, self.binding)
    }
}

/// The hash of the CSR's challenge password when it is to be looked up in the store: there is
/// one, and it is not the operator's static insecure challenge.
pub(crate) fn stored_hash(insecure: &InsecureChallenges, csr: &CheckedCsr) -> Option<[u8; 32]> {
    let password = csr.inspected().challenge_password.as_ref()?;
    let hash = crate::challenge::hash(password.as_bytes());
    match static_challenge_template(insecure, &hash) {
        Some(_) => None,
        None => Some(hash),
    }
}

/// The template of the static insecure challenge, if one is configured and `hash` is its.
fn static_challenge_template<'a>(
    insecure: &'a InsecureChallenges,
    hash: &[u8; 32],
) -> Option<&'a str> {
    use subtle::ConstantTimeEq as _;
    let fixed = insecure.static_challenge.as_ref()?;
    bool::from(fixed.hash.ct_eq(hash)).then_some(fixed.template.as_str())
}

/// Checks the challenge is usable now, given what the store said about the hash
/// [`stored_hash`] chose (`stored`). A one-time challenge is consumed later, in the
/// transaction that records what it led to. The insecure modes, when the operator enabled
/// them, are tried only where the secure path has nothing: a request without a challenge
/// (`insecure_no_challenge`), or a password that is not a stored challenge and equals the
/// static one (`insecure_static_challenge_file`). Neither binds names: the template alone
/// decides them, as with an unbound one-time challenge.
pub(crate) fn check(
    insecure: &InsecureChallenges,
    csr: &CheckedCsr,
    stored: Option<ChallengeStatus>,
) -> Result<ChallengeProof, EnrollError> {
    let insecure_proof = |template: &str, mode| ChallengeProof {
        kind: ChallengeKind::Insecure(mode),
        template: template.to_owned(),
        binding: policy::Binding {
            template: Some(template.to_owned()),
            subject: None,
            sans: Vec::new(),
        },
    };
    let Some(password) = csr.inspected().challenge_password.as_ref() else {
        return match &insecure.no_challenge_template {
            Some(template) => Ok(insecure_proof(template, InsecureMode::NoChallenge)),
            None => Err(EnrollError::Challenge(ChallengeFailure::Missing)),
        };
    };
    let hash = crate::challenge::hash(password.as_bytes());
    if let Some(template) = static_challenge_template(insecure, &hash) {
        return Ok(insecure_proof(template, InsecureMode::StaticChallenge));
    }
    // `stored` is the answer for this very hash (see `stored_hash`); without one nothing was
    // looked up, which cannot happen here, and refuses like an unknown challenge.
    match stored {
        Some(ChallengeStatus::Usable(record)) if record.hash == hash => Ok(ChallengeProof {
            kind: ChallengeKind::OneTime { hash },
            template: record.template.clone(),
            binding: policy::Binding {
                template: Some(record.template),
                subject: record.binding_subject,
                sans: record.binding_sans,
            },
        }),
        Some(ChallengeStatus::Expired) => Err(EnrollError::Challenge(ChallengeFailure::Expired)),
        Some(ChallengeStatus::Used) => Err(EnrollError::Challenge(ChallengeFailure::Used)),
        _ => Err(EnrollError::Challenge(ChallengeFailure::Unknown)),
    }
}

/// The proof for a request an outside verifier vouched for, on an endpoint issuing under
/// `template`: the verifier's binding, but always the endpoint's template (a verifier
/// narrows names; it never picks another template).
pub(crate) fn vouched(
    kind: &'static str,
    template: &str,
    vouched: vouch::Vouched,
) -> ChallengeProof {
    let vouch::Vouched {
        binding,
        csr_validated,
        spend_once,
        by,
    } = vouched;
    ChallengeProof {
        kind: ChallengeKind::Vouched(VouchedBy {
            kind,
            by,
            csr_validated,
            spend_once,
        }),
        template: template.to_owned(),
        binding: policy::Binding {
            template: Some(template.to_owned()),
            ..binding
        },
    }
}
