//! The RA's reads before it issues, as one statement: whether the transactionID was seen
//! (a retry or a conflict), whether a request of this signer is held under it, what the
//! presented challenge is, and whether the CSR's key is certified to another subject
//! (RFC 8894 §8.6). Each statement is a round trip to the connection's worker thread, and
//! on a fresh enrollment all four answers are "nothing": one statement answers them, and
//! only what it finds is then read in full. The four also come from one snapshot.

use sqlx::Row;

use crate::codec::{hex32, parse_hex32};
use crate::{
    ChallengeRecord, ChallengeStatus, EnrollmentFacts, EnrollmentQuery, Store, StoreError,
};

impl Store {
    /// Answers [`EnrollmentQuery`] with one statement (two when the challenge is usable and
    /// bound to SANs). The challenge answer is exactly [`Store::challenge_status`]'s.
    pub async fn enrollment_facts(
        &self,
        q: EnrollmentQuery<'_>,
    ) -> Result<EnrollmentFacts, StoreError> {
        // The challenge row joins a one-row derived table, so a missing challenge (or none
        // asked: the hash bound is NULL and matches nothing) still yields the row of counts.
        let challenge_hex = q.challenge_hash.map(hex32);
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM transactions WHERE transaction_id = $1) AS transactions_seen, \
             (SELECT COUNT(*) FROM pending_requests \
              WHERE transaction_id = $1 AND signer_key_sha256 = $2) AS held_seen, \
             (SELECT subject FROM certificates \
              WHERE subject_key_sha256 = $3 AND subject <> $4 ORDER BY subject LIMIT 1) \
              AS key_certified_to, \
             (SELECT COUNT(*) FROM challenge_binding_sans WHERE challenge_hash = $5) AS sans, \
             c.hash, c.template, c.binding_subject, c.created_at, c.expires_at, c.created_by, \
             c.used_at \
             FROM (SELECT 1 AS one) AS k LEFT JOIN challenges c ON c.hash = $5",
        )
        .bind(q.transaction_id)
        .bind(hex32(q.signer_key_sha256))
        .bind(hex32(q.subject_key_sha256))
        .bind(q.subject)
        .bind(challenge_hex.as_deref())
        .fetch_one(&self.pool)
        .await?;
        let transactions: i64 = row.try_get("transactions_seen")?;
        let held: i64 = row.try_get("held_seen")?;
        let challenge = match q.challenge_hash {
            None => None,
            Some(hash) => Some(self.challenge_from_row(&row, hash, q.now).await?),
        };
        Ok(EnrollmentFacts {
            transaction_seen: transactions > 0,
            held_seen: held > 0,
            challenge,
            key_certified_to: row.try_get("key_certified_to")?,
        })
    }

    /// The challenge columns of [`Store::enrollment_facts`]' row, judged as
    /// [`Store::challenge_status`] judges them: used wins over expired.
    async fn challenge_from_row(
        &self,
        row: &sqlx::any::AnyRow,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<ChallengeStatus, StoreError> {
        let Some(stored) = row.try_get::<Option<String>, _>("hash")? else {
            return Ok(ChallengeStatus::Unknown);
        };
        let used_at: Option<i64> = row.try_get("used_at")?;
        let expires_at: Option<i64> = row.try_get("expires_at")?;
        let expires_at = expires_at.ok_or(StoreError::CorruptRow("challenges"))?;
        if used_at.is_some() {
            return Ok(ChallengeStatus::Used);
        }
        if expires_at <= now {
            return Ok(ChallengeStatus::Expired);
        }
        let san_count: i64 = row.try_get("sans")?;
        let binding_sans = if san_count == 0 {
            Vec::new()
        } else {
            sqlx::query(
                "SELECT san FROM challenge_binding_sans WHERE challenge_hash = $1 \
                 ORDER BY position",
            )
            .bind(hex32(hash))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("san"))
            .collect::<Result<Vec<_>, _>>()?
        };
        let template: Option<String> = row.try_get("template")?;
        let created_at: Option<i64> = row.try_get("created_at")?;
        let created_by: Option<String> = row.try_get("created_by")?;
        let corrupt = || StoreError::CorruptRow("challenges");
        Ok(ChallengeStatus::Usable(ChallengeRecord {
            hash: parse_hex32(&stored, "challenges")?,
            template: template.ok_or_else(corrupt)?,
            binding_subject: row.try_get("binding_subject")?,
            binding_sans,
            created_at: created_at.ok_or_else(corrupt)?,
            expires_at,
            created_by: created_by.ok_or_else(corrupt)?,
        }))
    }
}
