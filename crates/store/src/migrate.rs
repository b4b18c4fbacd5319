//! Versioned schema migrations, embedded at compile time, one SQL file per backend.
//!
//! Not `sqlx::migrate!`: that needs the `macros` feature and a migrator per backend type,
//! while `Any` runs either. This is the small part of it we need: apply in order, once, under
//! a lock, and refuse to run on a database whose applied migrations were edited or that is
//! newer than this binary.

use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::StoreError;
use crate::backend::Backend;

pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "lifecycle",
        sqlite: include_str!("../migrations/sqlite/0002_lifecycle.sql"),
        postgres: include_str!("../migrations/postgres/0002_lifecycle.sql"),
    },
    Migration {
        version: 3,
        name: "certified_keys",
        sqlite: include_str!("../migrations/sqlite/0003_certified_keys.sql"),
        postgres: include_str!("../migrations/postgres/0003_certified_keys.sql"),
    },
    Migration {
        version: 4,
        name: "accounts",
        sqlite: include_str!("../migrations/sqlite/0004_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0004_accounts.sql"),
    },
    Migration {
        version: 5,
        name: "ra_registry",
        sqlite: include_str!("../migrations/sqlite/0005_ra_registry.sql"),
        postgres: include_str!("../migrations/postgres/0005_ra_registry.sql"),
    },
    Migration {
        version: 6,
        name: "pending_binding",
        sqlite: include_str!("../migrations/sqlite/0006_pending_binding.sql"),
        postgres: include_str!("../migrations/postgres/0006_pending_binding.sql"),
    },
    Migration {
        version: 7,
        name: "basic_auth",
        sqlite: include_str!("../migrations/sqlite/0007_basic_auth.sql"),
        postgres: include_str!("../migrations/postgres/0007_basic_auth.sql"),
    },
    Migration {
        version: 8,
        name: "spent_vouchers",
        sqlite: include_str!("../migrations/sqlite/0008_spent_vouchers.sql"),
        postgres: include_str!("../migrations/postgres/0008_spent_vouchers.sql"),
    },
];

/// Any 64-bit constant unique to scepd: PostgreSQL advisory locks are database-wide.
const PG_MIGRATION_LOCK: i64 = 0x7363_6570_6d69_6731; // "scepmig1"

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            // Released at commit/rollback; makes nodes starting together apply each file once.
            sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .fetch_one(&mut *tx)
                .await?;
            tx
        }
    };

    sqlx::query(
        "CREATE TABLE IF NOT EXISTS store_schema (\
            version BIGINT NOT NULL PRIMARY KEY, \
            name TEXT NOT NULL, \
            sha256 TEXT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;

    let applied = sqlx::query("SELECT version, sha256 FROM store_schema ORDER BY version")
        .fetch_all(&mut *tx)
        .await?;
    let mut applied_versions = Vec::with_capacity(applied.len());
    for row in &applied {
        let version: i64 = row.try_get("version")?;
        let sha: String = row.try_get("sha256")?;
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else {
            return Err(StoreError::Schema(format!(
                "database has migration {version}, unknown to this version of scepd"
            )));
        };
        if sha != checksum(m.sql(backend)) {
            return Err(StoreError::Schema(format!(
                "migration {version} ({}) was changed after it was applied",
                m.name
            )));
        }
        applied_versions.push(version);
    }

    for m in MIGRATIONS {
        if applied_versions.contains(&m.version) {
            continue;
        }
        tracing::info!(
            version = m.version,
            name = m.name,
            "applying store migration"
        );
        sqlx::raw_sql(m.sql(backend)).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO store_schema (version, name, sha256) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum(m.sql(backend)))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_increasing_and_both_backends_present() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last);
            last = m.version;
            // Every migration changes the schema on both backends.
            assert!(m.sqlite.contains("CREATE ") || m.sqlite.contains("ALTER TABLE"));
            assert!(m.postgres.contains("CREATE ") || m.postgres.contains("ALTER TABLE"));
        }
    }
}
