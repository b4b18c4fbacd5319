//! One-time challenges: stored as SHA-256 hashes, looked up by hash, consumed only by
//! [`Store::record_issuance`](crate::Store::record_issuance).

use sqlx::Row;

use crate::backend::{is_unique_violation, with_retry};
use crate::codec::{hex32, parse_hex32};
use crate::{ChallengeRecord, ChallengeStatus, NewChallenge, Store, StoreError};

impl Store {
    /// Stores a new challenge. The caller appends the `challenge-issued` audit event (with
    /// [`challenge_audit_id`] rather than anything derived from the secret's text).
    pub async fn insert_challenge(&self, c: NewChallenge) -> Result<(), StoreError> {
        self.insert_challenge_checked(c, None).await
    }

    /// `insert_challenge`, refused with [`StoreError::ChallengeQuota`] when `created_by`
    /// already has `max_outstanding` unused, unexpired challenges. The count and the insert
    /// are one write transaction, and write transactions are serialized (SQLite `BEGIN
    /// IMMEDIATE`, the PostgreSQL table lock of `begin_write`), so concurrent requests of one
    /// administrator cannot together overshoot the quota.
    pub async fn insert_challenge_within_quota(
        &self,
        c: NewChallenge,
        max_outstanding: u32,
    ) -> Result<(), StoreError> {
        self.insert_challenge_checked(c, Some(max_outstanding))
            .await
    }

    async fn insert_challenge_checked(
        &self,
        c: NewChallenge,
        max_outstanding: Option<u32>,
    ) -> Result<(), StoreError> {
        if c.expires_at <= c.created_at {
            return Err(StoreError::InvalidInput(
                "challenge expires before it is created",
            ));
        }
        let hash = hex32(&c.hash);
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            if let Some(limit) = max_outstanding {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM challenges \
                     WHERE created_by = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(&c.created_by)
                .bind(c.created_at)
                .fetch_one(&mut *tx)
                .await?;
                let outstanding: i64 = row.try_get("n")?;
                if outstanding >= i64::from(limit) {
                    tx.rollback().await?;
                    return Err(StoreError::ChallengeQuota { outstanding });
                }
            }
            let inserted = sqlx::query(
                "INSERT INTO challenges \
                 (hash, template, binding_subject, created_at, expires_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&hash)
            .bind(&c.template)
            .bind(c.binding_subject.as_deref())
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(&c.created_by)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Err(StoreError::ChallengeConflict),
                Err(e) => return Err(e.into()),
            }
            for (position, san) in (0i64..).zip(&c.binding_sans) {
                sqlx::query(
                    "INSERT INTO challenge_binding_sans (challenge_hash, position, san) \
                     VALUES ($1, $2, $3)",
                )
                .bind(&hash)
                .bind(position)
                .bind(san)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Looks up a challenge by hash at time `now`. Used wins over expired: a spent challenge
    /// is reported as used whatever its age.
    pub async fn challenge_status(
        &self,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<ChallengeStatus, StoreError> {
        let hex = hex32(hash);
        let Some(row) = sqlx::query(
            "SELECT hash, template, binding_subject, created_at, expires_at, created_by, used_at \
             FROM challenges WHERE hash = $1",
        )
        .bind(&hex)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(ChallengeStatus::Unknown);
        };
        let used_at: Option<i64> = row.try_get("used_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if used_at.is_some() {
            return Ok(ChallengeStatus::Used);
        }
        if expires_at <= now {
            return Ok(ChallengeStatus::Expired);
        }
        let stored: String = row.try_get("hash")?;
        let sans = sqlx::query(
            "SELECT san FROM challenge_binding_sans WHERE challenge_hash = $1 ORDER BY position",
        )
        .bind(&hex)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("san"))
        .collect::<Result<Vec<_>, _>>()?;
        Ok(ChallengeStatus::Usable(ChallengeRecord {
            hash: parse_hex32(&stored, "challenges")?,
            template: row.try_get("template")?,
            binding_subject: row.try_get("binding_subject")?,
            binding_sans: sans,
            created_at: row.try_get("created_at")?,
            expires_at,
            created_by: row.try_get("created_by")?,
        }))
    }

    /// How many challenges `created_by` obtained that are still outstanding at `now` (neither
    /// used nor expired): what the per-administrator limit (NDES PasswordMax) counts.
    pub async fn count_outstanding_challenges(
        &self,
        created_by: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM challenges \
             WHERE created_by = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// How many challenges have been consumed (for tests and metrics).
    pub async fn count_challenges_used(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM challenges WHERE used_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
