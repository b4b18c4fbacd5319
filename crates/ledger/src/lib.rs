//! The ledger: what scepd keeps, as plain records with no database in them, and the error of
//! keeping it. The RA and the CA name these types and the traits of [`ra`] and [`ca`] (what
//! each of them needs from storage); the `store` crate implements those traits on SQLite and
//! PostgreSQL, and tests may implement them in memory.
//!
//! Timestamps are unix seconds from the caller's clock: a ledger has no clock.
#![forbid(unsafe_code)]

mod audit;
pub mod ca;
mod challenge;
mod crl;
mod enrollment;
mod error;
mod issuance;
mod listing;
mod pending;
pub mod ra;
mod ra_registry;
mod revocation;
pub mod revoking;

pub use audit::{AuditEvent, AuditKind, AuditRecord, UnknownAuditKind};
pub use challenge::{ChallengeRecord, ChallengeStatus, NewChallenge, challenge_audit_id};
pub use crl::{CrlState, PublishedCrl};
pub use enrollment::{EnrollmentFacts, EnrollmentQuery};
pub use error::{AuditChainError, ChainBreak, StoreError};
pub use issuance::{CertificateRecord, Issuance, TransactionRecord, TransactionStatus};
pub use listing::{CertificateEntry, CertificateFilter};
pub use pending::{PendingIssuance, PendingRecord, PendingRequest, PendingState};
pub use ra_registry::{
    NewRaRegistration, RaCertificates, RaRecord, StatementClaim, StatementIssuance,
    StatementOutcome,
};
pub use revocation::{
    RevocationReason, RevocationRecord, RevocationStatus, RevokedEntry, UnknownRevocationReason,
};

use std::future::Future;
use std::pin::Pin;

/// What a storage trait's method returns: a boxed future, so the RA and the CA can hold their
/// ledger as `Arc<dyn …>` (an `async fn` in a trait cannot be called through `dyn`). One
/// allocation per call, beside a database round trip.
pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;
