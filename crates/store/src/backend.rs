//! The few places where SQLite and PostgreSQL must be told apart: connection settings, how a
//! writing transaction takes its lock, and which error codes mean "try again".

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::error::ErrorKind;
use sqlx::{AnyPool, Transaction};

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A writer that still gets a transient error is retried this many times in total.
pub(crate) const MAX_ATTEMPTS: u32 = 6;

impl Backend {
    pub(crate) fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(StoreError::UnsupportedUrl(other.to_owned())),
        }
    }

    /// Pool options with the per-connection settings every connection must have.
    pub(crate) fn pool_options(self) -> AnyPoolOptions {
        match self {
            // All writers serialize on SQLite's single write lock; a few connections are
            // enough for concurrent readers while one writes (WAL).
            // No liveness ping before each use: the database is a local file, and the ping
            // was one more round trip to the connection's worker thread per query.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(5)
                .test_before_acquire(false)
                .after_connect(|conn: &mut AnyConnection, _meta| {
                    Box::pin(async move {
                        // synchronous is per connection: FULL makes every commit (an issued
                        // certificate) durable before the reply, also in WAL mode. A writer
                        // waits up to 5 s for the write lock before SQLITE_BUSY.
                        sqlx::raw_sql(
                            "PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 5000;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(10),
        }
    }

    /// Begins a transaction that may append to the audit log.
    ///
    /// SQLite: `BEGIN IMMEDIATE` takes the write lock up front (waiting up to the busy
    /// timeout), so a read-then-write transaction can never fail half-way on a stale WAL
    /// snapshot. PostgreSQL: appends are serialized by a table lock that conflicts only with
    /// itself and with writers of `audit_log`, never with readers; taking it first in every
    /// writing transaction gives one lock order, so no deadlock.
    pub(crate) async fn begin_write(
        self,
        pool: &AnyPool,
    ) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self {
            Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = pool.begin().await?;
                sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Whether `e` is a lock or serialization failure after which the whole transaction may
    /// simply be run again.
    pub(crate) fn is_transient(self, e: &sqlx::Error) -> bool {
        let sqlx::Error::Database(db) = e else {
            return false;
        };
        let Some(code) = db.code() else {
            return false;
        };
        match self {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with any extended code.
            Backend::Sqlite => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
            // serialization_failure, deadlock_detected, lock_not_available.
            Backend::Postgres => matches!(&*code, "40001" | "40P01" | "55P03"),
        }
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// Back-off before attempt `attempt` (1-based) of a transient failure: short, growing, and
/// jitter-free (the SQLite busy handler already spreads the waiters).
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(10u64 << attempt.min(6))
}

/// Runs `op` again while it fails with a transient database error, at most
/// [`MAX_ATTEMPTS`] times; then reports [`StoreError::Busy`].
pub(crate) async fn with_retry<T, F, Fut>(backend: Backend, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if is_retryable(backend, &e) => {
                if attempt >= MAX_ATTEMPTS {
                    tracing::warn!(error = ?e, "database still busy after retries");
                    return Err(StoreError::Busy);
                }
                tracing::debug!(attempt, "transient database error, retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn is_retryable(backend: Backend, e: &StoreError) -> bool {
    match e {
        StoreError::Database(e) => e
            .downcast_ref::<sqlx::Error>()
            .is_some_and(|e| backend.is_transient(e)),
        StoreError::AuditConflict => true,
        _ => false,
    }
}
