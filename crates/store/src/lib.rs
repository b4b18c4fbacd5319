//! Persistence: challenges (atomic consume-once), transactions, certificates, requests held
//! for approval, revocations and CRL state, delivery tracking, hash-chained audit log (sqlx;
//! SQLite and PostgreSQL).
//!
//! Every query is a runtime query with `$n` placeholders run through sqlx's `Any` driver, so
//! one code path serves the bundled SQLite (one node, the default) and PostgreSQL (many
//! nodes sharing one database). The schemas per backend are in `migrations/`, which explains
//! the column representations. Timestamps are unix seconds passed in by the caller: the
//! store has no clock.
#![forbid(unsafe_code)]

mod accounts;
mod audit;
mod backend;
mod batch_insert;
mod ca_ledger;
mod challenge;
mod codec;
mod crl;
mod enrollment;
mod group_commit;
mod issuance;
mod listing;
mod migrate;
mod pending;
mod ra_ledger;
mod ra_registry;
mod revocation;
mod revocation_ledger;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_accounts;
#[cfg(test)]
mod tests_enrollment;
#[cfg(test)]
mod tests_group_commit;
#[cfg(test)]
mod tests_lifecycle;
#[cfg(test)]
mod tests_pg;
#[cfg(test)]
mod tests_ra_registry;

use sqlx::AnyPool;
use sqlx::Row;

pub use accounts::{GrantRevocation, NewUser, UserRecord};
/// The records and the error are the ledger's: the RA and the CA name them without linking a
/// database driver.
pub use ledger::{
    AuditChainError, AuditEvent, AuditKind, AuditRecord, CertificateEntry, CertificateFilter,
    CertificateRecord, ChainBreak, ChallengeRecord, ChallengeStatus, CrlState, EnrollmentFacts,
    EnrollmentQuery, Issuance, NewChallenge, NewRaRegistration, PendingIssuance, PendingRecord,
    PendingRequest, PendingState, PublishedCrl, RaCertificates, RaRecord, RevocationReason,
    RevocationRecord, RevocationStatus, RevokedEntry, StatementClaim, StatementIssuance,
    StatementOutcome, StoreError, TransactionRecord, TransactionStatus, UnknownAuditKind,
    UnknownRevocationReason, challenge_audit_id,
};

use backend::Backend;

/// A handle on the database; cheap to clone (it is a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the task that group-commits issuances (see `group_commit`).
    writer: Option<group_commit::GroupCommit>,
}

impl Store {
    /// Connects to `url` and brings the schema up to date.
    ///
    /// - `sqlite://PATH?mode=rwc` (creates the file): WAL journal, `synchronous=FULL` (a
    ///   commit is on disk before `record_issuance` returns), foreign keys on, 5 s busy
    ///   timeout.
    /// - `postgres://user@host/db`: the same queries; appends to the audit log are
    ///   serialized by a table lock.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        sqlx::any::install_default_drivers();
        let pool = backend.pool_options().connect(url).await?;
        if backend == Backend::Sqlite {
            enable_wal(&pool).await?;
        }
        Self::finish_open(pool, backend).await
    }

    /// A private in-memory SQLite database, for tests. It lives as long as the store (one
    /// connection that is never closed, so concurrent callers queue for it).
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::Sqlite;
        let pool = backend
            .pool_options()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await?;
        Self::finish_open(pool, backend).await
    }

    async fn finish_open(pool: AnyPool, backend: Backend) -> Result<Store, StoreError> {
        migrate::run(&pool, backend).await?;
        let store = Store {
            pool,
            backend,
            writer: None,
        };
        // PostgreSQL is shared by several nodes and takes no single writer per node: each
        // issuance commits in its own transaction there.
        Ok(match backend {
            Backend::Sqlite => Store {
                writer: Some(group_commit::GroupCommit::spawn(store.clone())),
                ..store
            },
            Backend::Postgres => store,
        })
    }

    /// Waits for the connections to close (call at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// WAL lets readers (GetCert, status lookups) proceed while one writer commits. The mode is
/// stored in the database file, so setting it once here covers every later connection; it is
/// not done per connection because switching needs an exclusive lock that the busy timeout
/// does not wait for.
async fn enable_wal(pool: &AnyPool) -> Result<(), StoreError> {
    let row = sqlx::query("PRAGMA journal_mode = WAL")
        .fetch_one(pool)
        .await?;
    let mode: String = row.try_get(0)?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(StoreError::Schema(format!(
            "SQLite refused WAL journal mode (got {mode})"
        )))
    }
}
