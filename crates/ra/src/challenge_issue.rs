//! Minting one-time challenges: [`issue_challenge`] is the one way, for the command line and
//! the admin API alike. Only the challenge's hash is stored; the clear text is in the answer
//! once.

use std::time::Duration;

pub struct IssueRequest {
    pub template: Option<String>,
    pub subject: Option<String>,
    pub sans: Vec<String>,
    pub ttl: Option<Duration>,
}

/// A freshly minted challenge. The clear text exists only here and in the caller's answer.
pub struct IssuedChallenge {
    pub secret: zeroize::Zeroizing<String>,
    pub template: String,
    /// Unix seconds; usable while `now < expires_at`.
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedChallenge")
            .field("secret", &"<redacted>")
            .field("template", &self.template)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a challenge was not minted. Every message may be shown to the administrator who asked:
/// none carries a secret.
#[derive(thiserror::Error, Debug)]
pub enum ChallengeIssueError {
    #[error("unknown template {template:?} (known: {})", known.join(", "))]
    UnknownTemplate {
        template: String,
        known: Vec<String>,
    },
    #[error("SAN {san:?}: template {template} allows only {allowed}")]
    SanNotAllowed {
        san: String,
        template: String,
        allowed: String,
    },
    #[error("SAN {san:?}: {problem}")]
    SanInvalid { san: String, problem: String },
    #[error("binding: {0}")]
    BindingInvalid(String),
    #[error(
        "ttl {}: must be between 1s and challenges.max_ttl ({})",
        humantime::format_duration(*requested),
        humantime::format_duration(*max)
    )]
    Ttl { requested: Duration, max: Duration },
    /// NDES PasswordMax: the admin API answers 429.
    #[error(
        "{outstanding} unused challenges are outstanding for this administrator; the limit is {limit} (challenges.max_outstanding_per_admin): use them or let them expire first"
    )]
    QuotaExceeded { limit: u32, outstanding: i64 },
    #[error("random source: {0}")]
    Random(#[source] keys::KeyError),
    /// The configured templates do not build (the configuration changed under a running
    /// service); nothing was stored. The source is the configuration's own error.
    #[error("storage: templates: {0}")]
    Templates(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storage: storing the challenge: {0}")]
    Store(#[source] ledger::StoreError),
    /// The challenge was stored but its audit entry was not appended.
    #[error("storage: audit log: {0}")]
    Audit(#[source] ledger::StoreError),
}

impl ChallengeIssueError {
    /// A failure of the service (storage, templates, audit log) rather than of the request.
    /// The text says what failed without the "storage: " of the message, for the log.
    pub fn internal_detail(&self) -> Option<String> {
        match self {
            Self::Templates(e) => Some(format!("templates: {e}")),
            Self::Store(e) => Some(format!("storing the challenge: {e}")),
            Self::Audit(e) => Some(format!("audit log: {e}")),
            _ => None,
        }
    }
}

/// How challenges are minted (the `[challenges]` section of the configuration).
#[derive(Debug, Clone)]
pub struct ChallengePolicy {
    /// Lifetime when the request names none.
    pub default_ttl: Duration,
    /// The longest lifetime anyone may ask for.
    pub max_ttl: Duration,
    /// Characters per challenge.
    pub length: usize,
    /// Unused, unexpired challenges one administrator may hold at once (NDES PasswordMax).
    pub max_outstanding_per_admin: u32,
    /// The insecure challenge settings that are on ([`crate::INSECURE_NO_CHALLENGE`],
    /// [`crate::INSECURE_STATIC_CHALLENGE`]): every issuance names them in its audit entry.
    pub insecure_settings_on: Vec<&'static str>,
}

/// Mints a challenge for `issued_by` (the audit actor, and whose quota it counts against):
/// checks the template, the binding and the lifetime against `policy` and the
/// per-administrator limit, stores the hash and appends the `challenge-issued` audit entry.
///
/// The quota is counted in the insert's write transaction, so concurrent requests of one
/// administrator never overshoot it.
pub async fn issue_challenge(
    ledger: &dyn ledger::ra::RaLedger,
    policy: &ChallengePolicy,
    templates: &[policy::Template],
    request: IssueRequest,
    issued_by: &str,
    now: i64,
) -> Result<IssuedChallenge, ChallengeIssueError> {
    let template = request.template.unwrap_or_else(|| "device".into());
    let Some(chosen) = templates.iter().find(|t| t.name() == template) else {
        return Err(ChallengeIssueError::UnknownTemplate {
            template,
            known: templates.iter().map(|t| t.name().to_owned()).collect(),
        });
    };
    check_sans(chosen, &request.sans)?;
    policy::Binding {
        template: Some(template.clone()),
        subject: request.subject.clone(),
        sans: request.sans.clone(),
    }
    .check()
    .map_err(|e| ChallengeIssueError::BindingInvalid(e.to_string()))?;
    let ttl = request.ttl.unwrap_or(policy.default_ttl);
    if ttl > policy.max_ttl || ttl.as_secs() == 0 {
        return Err(ChallengeIssueError::Ttl {
            requested: ttl,
            max: policy.max_ttl,
        });
    }
    let challenge = crate::challenge::generate_with_length(policy.length)
        .map_err(ChallengeIssueError::Random)?;
    let expires_at = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    // The quota is counted in the same write transaction as the insert (NDES PasswordMax).
    ledger
        .insert_challenge_within_quota(
            ledger::NewChallenge {
                hash: challenge.hash,
                template: template.clone(),
                binding_subject: request.subject.clone(),
                binding_sans: request.sans.clone(),
                created_at: now,
                expires_at,
                created_by: issued_by.to_owned(),
            },
            policy.max_outstanding_per_admin,
        )
        .await
        .map_err(|e| match e {
            ledger::StoreError::ChallengeQuota { outstanding } => {
                ChallengeIssueError::QuotaExceeded {
                    limit: policy.max_outstanding_per_admin,
                    outstanding,
                }
            }
            e => ChallengeIssueError::Store(e),
        })?;
    let detail = format!(
        "challenge {} for template {template}, subject {:?}, sans {:?}, expires {expires_at}{}",
        ledger::challenge_audit_id(&challenge.hash),
        request.subject,
        request.sans,
        insecure_modes_note(policy)
    );
    ledger
        .append_audit(ledger::AuditEvent {
            at: now,
            kind: ledger::AuditKind::ChallengeIssued,
            actor: issued_by.to_owned(),
            detail,
        })
        .await
        .map_err(ChallengeIssueError::Audit)?;
    Ok(IssuedChallenge {
        secret: challenge.secret,
        template,
        expires_at,
    })
}

/// While an insecure challenge mode is on, a one-time challenge is not the only way in: every
/// issuance says so, so the audit trail never suggests otherwise.
fn insecure_modes_note(policy: &ChallengePolicy) -> String {
    if policy.insecure_settings_on.is_empty() {
        String::new()
    } else {
        format!(
            "; INSECURE challenge settings on: {}",
            policy.insecure_settings_on.join(", ")
        )
    }
}

fn check_sans(template: &policy::Template, sans: &[String]) -> Result<(), ChallengeIssueError> {
    let kinds = template.san_kinds();
    for san in sans {
        let (kind, name) = san.split_once(':').unwrap_or(("", san));
        let allowed = match kind {
            "dns" => kinds.dns,
            "ip" => kinds.ip,
            "email" => kinds.email,
            _ => false,
        };
        if !allowed {
            return Err(ChallengeIssueError::SanNotAllowed {
                san: san.clone(),
                template: template.name().to_owned(),
                allowed: allowed_kinds(&kinds),
            });
        }
        if name.is_empty() {
            return Err(ChallengeIssueError::SanInvalid {
                san: san.clone(),
                problem: "empty name".into(),
            });
        }
    }
    Ok(())
}

fn allowed_kinds(kinds: &policy::SanKinds) -> String {
    let mut allowed = Vec::new();
    for (on, name) in [
        (kinds.dns, "dns:NAME"),
        (kinds.ip, "ip:ADDRESS"),
        (kinds.email, "email:ADDRESS"),
    ] {
        if on {
            allowed.push(name);
        }
    }
    if allowed.is_empty() {
        "no SANs".to_owned()
    } else {
        allowed.join(", ")
    }
}
