//! One-time challenges as stored: only their SHA-256, never the secret.

/// A challenge to store. The secret itself never reaches the store: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    /// SHA-256 of the challenge text.
    pub hash: [u8; 32],
    /// The template it may be used for.
    pub template: String,
    /// The subject DN it was minted for, if bound.
    pub binding_subject: Option<String>,
    /// The SANs it was minted for (e.g. `dns:host.example`); empty if not bound.
    pub binding_sans: Vec<String>,
    pub created_at: i64,
    /// Unix seconds; the challenge is usable while `now < expires_at`.
    pub expires_at: i64,
    /// The administrator or MDM that obtained it (for the audit log and per-admin limits).
    pub created_by: String,
}

/// A stored, unused, unexpired challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub hash: [u8; 32],
    pub template: String,
    pub binding_subject: Option<String>,
    pub binding_sans: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub created_by: String,
}

/// What a presented challenge hash refers to. The RA gives the device the same answer for
/// every non-usable case; the audit log records which one it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeStatus {
    Usable(ChallengeRecord),
    Unknown,
    Expired,
    Used,
}

/// The first 16 hex digits of a challenge hash: enough for an auditor to correlate the
/// issue and use of one challenge, useless for guessing it (it is a hash of ≥128 random bits).
pub fn challenge_audit_id(hash: &[u8; 32]) -> String {
    let mut s = hex::encode(hash);
    s.truncate(16);
    s
}
