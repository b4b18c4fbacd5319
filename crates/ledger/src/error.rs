//! The store's error type. Its `Display` never contains SQL, row contents or driver messages:
//! callers may log it, and the driver error stays reachable through `source()` for operators.

use std::fmt;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The challenge is unknown, expired or already used (`record_issuance` rolled back).
    #[error("challenge unavailable")]
    ChallengeUnavailable,
    /// A transaction with this transactionID is already recorded.
    #[error("transaction id already recorded")]
    TransactionConflict,
    /// A certificate with this serial number is already recorded.
    #[error("certificate serial already recorded")]
    SerialConflict,
    /// The administrator already holds as many unused, unexpired challenges as allowed.
    #[error("{outstanding} unused challenges outstanding: quota reached")]
    ChallengeQuota { outstanding: i64 },
    /// A challenge with this hash already exists (only possible with a broken RNG).
    #[error("challenge already exists")]
    ChallengeConflict,
    /// Another writer appended to the audit log between reading its head and inserting (the
    /// primary key on `seq` refused the fork). Retried internally; seen only if it persists.
    #[error("concurrent audit append")]
    AuditConflict,
    /// The database stayed locked or kept failing serialization after several retries.
    #[error("database busy")]
    Busy,
    /// The issuance writer stopped (shutdown) before saying whether the issuance's batch
    /// committed: the client's retry finds the certificate if it did.
    #[error("issuance writer stopped")]
    WriterStopped,
    /// No certificate with this serial was issued by us.
    #[error("unknown certificate serial")]
    UnknownSerial,
    /// The certificate is already revoked; the first revocation is kept unchanged.
    #[error("certificate already revoked")]
    AlreadyRevoked,
    /// A row with this unique key already exists: the text names it (`user "alice"`, `client
    /// certificate`), never a secret.
    #[error("{0} already exists")]
    Duplicate(String),
    /// No request with this id awaits or awaited approval.
    #[error("unknown request")]
    UnknownRequest,
    /// The request is not in the state the operation needs (approving twice, approving a
    /// denied request, completing one that was not approved...).
    #[error("request is {found}, not {expected}")]
    RequestState {
        found: &'static str,
        expected: &'static str,
    },
    /// The URL names a backend the store does not support (only `sqlite:` and `postgres:`).
    #[error("unsupported database url scheme {0:?}")]
    UnsupportedUrl(String),
    /// A caller-supplied value is not in the form the store requires.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The schema in the database does not match the migrations compiled in.
    #[error("database schema: {0}")]
    Schema(String),
    /// A stored row cannot be decoded (edited outside scepd, or a bug).
    #[error("corrupt row in {0}")]
    CorruptRow(&'static str),
    /// `verify_audit_chain` found a break in the audit log.
    #[error(transparent)]
    AuditChainBroken(#[from] AuditChainError),
    /// Any other database failure: the driver's error, reachable through `source()` for
    /// operators (the store downcasts it to decide whether a retry may help).
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The one conversion the SQL store needs for `?` on driver results; behind a feature so the
/// RA and the CA, which only name the error, never link the driver.
#[cfg(feature = "sqlx")]
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// The first place where the audit chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct AuditChainError {
    /// The sequence number at which verification failed (the expected one for a gap).
    pub seq: u64,
    pub reason: ChainBreak,
}

/// What was wrong at [`AuditChainError::seq`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainBreak {
    /// A row is missing here (deleted, or the sequence was renumbered): the next row found
    /// carries `found`.
    Gap { found: u64 },
    /// The row does not link to the hash of the row before it (reordered or re-linked).
    PrevHashMismatch,
    /// The row's fields do not hash to its stored hash (edited).
    HashMismatch,
    /// A hash column is not 64 lowercase hex digits, or seq is not positive.
    Malformed,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Gap { found } => write!(f, "missing row (next row found is {found})"),
            ChainBreak::PrevHashMismatch => f.write_str("previous-hash link does not match"),
            ChainBreak::HashMismatch => f.write_str("row hash does not match its contents"),
            ChainBreak::Malformed => f.write_str("malformed row"),
        }
    }
}
