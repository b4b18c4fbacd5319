//! Audit events: what happened, by whom, why. The log itself is hash-chained by the store.

use std::fmt;
use std::str::FromStr;

/// What happened. Stored as its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditKind {
    ChallengeIssued,
    ChallengeRejected,
    EnrollmentRefused,
    EnrollmentPending,
    CertificateIssued,
    /// A retried transaction was answered with the certificate already issued.
    CertificateResent,
    CertificateRevoked,
    /// An officer approved a pending request (the certificate follows as certificate-issued).
    RequestApproved,
    /// An officer denied a pending request, or the CA refused an approved one.
    RequestDenied,
    RequestMalformed,
    ServiceStarted,
    ConfigChanged,
    AdminAuthFailed,
    /// An administrator authenticated (password login, API token or client certificate).
    AdminLogin,
    /// An account was created, disabled, enabled, granted or refused a template, given a
    /// password, an API token or a client certificate, had its tokens revoked, or was marked
    /// or unmarked for HTTP Basic.
    AccountChanged,
    /// A failure inside scepd (database, key, CA) that the client saw as a generic failure.
    InternalError,
}

impl AuditKind {
    /// Every kind, e.g. for a CLI filter or a metrics label list.
    pub const ALL: &'static [AuditKind] = &[
        AuditKind::ChallengeIssued,
        AuditKind::ChallengeRejected,
        AuditKind::EnrollmentRefused,
        AuditKind::EnrollmentPending,
        AuditKind::CertificateIssued,
        AuditKind::CertificateResent,
        AuditKind::CertificateRevoked,
        AuditKind::RequestApproved,
        AuditKind::RequestDenied,
        AuditKind::RequestMalformed,
        AuditKind::ServiceStarted,
        AuditKind::ConfigChanged,
        AuditKind::AdminAuthFailed,
        AuditKind::AdminLogin,
        AuditKind::AccountChanged,
        AuditKind::InternalError,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuditKind::ChallengeIssued => "challenge-issued",
            AuditKind::ChallengeRejected => "challenge-rejected",
            AuditKind::EnrollmentRefused => "enrollment-refused",
            AuditKind::EnrollmentPending => "enrollment-pending",
            AuditKind::CertificateIssued => "certificate-issued",
            AuditKind::CertificateResent => "certificate-resent",
            AuditKind::CertificateRevoked => "certificate-revoked",
            AuditKind::RequestApproved => "request-approved",
            AuditKind::RequestDenied => "request-denied",
            AuditKind::RequestMalformed => "request-malformed",
            AuditKind::ServiceStarted => "service-started",
            AuditKind::ConfigChanged => "config-changed",
            AuditKind::AdminAuthFailed => "admin-auth-failed",
            AuditKind::AdminLogin => "admin-login",
            AuditKind::AccountChanged => "account-changed",
            AuditKind::InternalError => "internal-error",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`AuditKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit kind")]
pub struct UnknownAuditKind;

impl FromStr for AuditKind {
    type Err = UnknownAuditKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or(UnknownAuditKind)
    }
}

/// An event to append. `at` is unix seconds from the caller's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: AuditKind,
    /// Who caused it: an administrator, `ra`, `ca`, a client address.
    pub actor: String,
    /// Why, in words for an auditor (a refusal's precise reason). Never a secret.
    pub detail: String,
}

/// A stored audit row. `subject` is what the store filled in (may be empty). `kind` is the
/// stored text (a newer scepd may have written kinds this one does not know); compare with
/// [`AuditKind::as_str`] or parse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}
