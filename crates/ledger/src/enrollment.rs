//! What an enrollment asks the ledger before it may issue, answered from one snapshot.

use crate::ChallengeStatus;

/// What an enrollment needs to know from the store before it may issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentFacts {
    /// Some request was recorded under this transactionID (by any key): read them with
    /// [`Store::find_transactions`].
    pub transaction_seen: bool,
    /// Some request of this signer key is held under this transactionID: read them with
    /// [`Store::find_pending`].
    pub held_seen: bool,
    /// The presented challenge, as [`Store::challenge_status`] reports it; `None` when no
    /// challenge hash was asked about.
    pub challenge: Option<ChallengeStatus>,
    /// A subject other than the CSR's to which its key is already certified (the first in
    /// subject order, as [`Store::subjects_for_key`] lists them).
    pub key_certified_to: Option<String>,
}

/// The questions, all keyed on what the request carries.
#[derive(Debug, Clone, Copy)]
pub struct EnrollmentQuery<'a> {
    pub transaction_id: &'a str,
    pub signer_key_sha256: &'a [u8; 32],
    pub challenge_hash: Option<&'a [u8; 32]>,
    /// SHA-256 of the CSR's SubjectPublicKeyInfo.
    pub subject_key_sha256: &'a [u8; 32],
    /// The CSR's subject as certificates record it.
    pub subject: &'a str,
    pub now: i64,
}
