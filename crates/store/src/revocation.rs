//! Revocation (SCEP has none; RFC 5280 §5.3.1 reasons) and what CRLs and OCSP read from it.

use sqlx::Row;

use crate::audit::append_in;
use crate::backend::{is_unique_violation, with_retry};
use crate::codec::normalize_serial;
use crate::{
    AuditEvent, AuditKind, RevocationReason, RevocationRecord, RevocationStatus, RevokedEntry,
};
use crate::{Store, StoreError};

/// Rows per query when reading the revoked list, so a million-entry CRL never holds one
/// query (and, on SQLite, one read snapshot) open for the whole scan.
const REVOKED_PAGE: u32 = 10_000;

pub(crate) fn parse_reason(s: &str) -> Result<RevocationReason, StoreError> {
    RevocationReason::ALL
        .iter()
        .copied()
        .find(|r| r.as_str() == s)
        .ok_or(StoreError::CorruptRow("revocations"))
}

impl Store {
    /// Revokes a certificate we issued, in ONE transaction with its `certificate-revoked`
    /// audit entry (row subject: the canonical serial) and the CRL bookkeeping, and returns
    /// only once that is committed (SQLite `synchronous=FULL`; PostgreSQL commit): acknowledge
    /// the operator only then.
    ///
    /// `reason` is parsed with [`RevocationReason::from_str`] ([`StoreError::InvalidInput`]
    /// if unknown). An unknown or malformed serial is [`StoreError::UnknownSerial`]; a second
    /// revocation is [`StoreError::AlreadyRevoked`] and leaves the first unchanged. Whether
    /// `actor` may revoke a certificate of this template (a restricted certificate manager)
    /// is the caller's check, e.g. on [`Store::find_certificate`]'s template, which never
    /// changes.
    pub async fn revoke(
        &self,
        serial_hex: &str,
        reason: &str,
        at: i64,
        actor: &str,
    ) -> Result<RevocationRecord, StoreError> {
        let reason: RevocationReason = reason
            .parse()
            .map_err(|_| StoreError::InvalidInput("unknown revocation reason"))?;
        let serial = normalize_serial(serial_hex).map_err(|_| StoreError::UnknownSerial)?;
        let record = RevocationRecord {
            serial_hex: serial,
            revoked_at: at,
            reason,
            revoked_by: actor.to_owned(),
        };
        with_retry(self.backend, || self.try_revoke(&record)).await?;
        Ok(record)
    }

    async fn try_revoke(&self, r: &RevocationRecord) -> Result<(), StoreError> {
        let mut tx = self.backend.begin_write(&self.pool).await?;
        let row = sqlx::query(
            "SELECT c.serial, r.serial AS revoked FROM certificates c \
             LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial = $1",
        )
        .bind(&r.serial_hex)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(StoreError::UnknownSerial);
        };
        if row.try_get::<Option<String>, _>("revoked")?.is_some() {
            tx.rollback().await?;
            return Err(StoreError::AlreadyRevoked);
        }
        let inserted = sqlx::query(
            "INSERT INTO revocations (serial, revoked_at, reason, revoked_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&r.serial_hex)
        .bind(r.revoked_at)
        .bind(r.reason.as_str())
        .bind(&r.revoked_by)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Only reachable without the write lock; the primary key still keeps the first.
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Err(StoreError::AlreadyRevoked);
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query("UPDATE crl_state SET revocation_count = revocation_count + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let audit = AuditEvent {
            at: r.revoked_at,
            kind: AuditKind::CertificateRevoked,
            actor: r.revoked_by.clone(),
            detail: format!("serial {} revoked: {}", r.serial_hex, r.reason),
        };
        append_in(&mut tx, &audit, &r.serial_hex).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Good, revoked (when, why) or not issued by us, for OCSP and for renewal checks. Any
    /// rendering of the serial is accepted, as in [`Store::find_certificate`]; a malformed
    /// one is [`RevocationStatus::NotIssued`].
    pub async fn revocation_status(
        &self,
        serial_hex: &str,
    ) -> Result<RevocationStatus, StoreError> {
        let Ok(serial) = normalize_serial(serial_hex) else {
            return Ok(RevocationStatus::NotIssued);
        };
        let row = sqlx::query(
            "SELECT r.revoked_at, r.reason FROM certificates c \
             LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial = $1",
        )
        .bind(&serial)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(RevocationStatus::NotIssued);
        };
        let at: Option<i64> = row.try_get("revoked_at")?;
        let reason: Option<String> = row.try_get("reason")?;
        Ok(match (at, reason) {
            (Some(at), Some(reason)) => RevocationStatus::Revoked {
                at,
                reason: parse_reason(&reason)?,
            },
            _ => RevocationStatus::Good,
        })
    }

    /// The revocation of one certificate, if any (for `scepd cert show`).
    pub async fn revocation(
        &self,
        serial_hex: &str,
    ) -> Result<Option<RevocationRecord>, StoreError> {
        let Ok(serial) = normalize_serial(serial_hex) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT serial, revoked_at, reason, revoked_by FROM revocations WHERE serial = $1",
        )
        .bind(&serial)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let reason: String = row.try_get("reason")?;
            Ok(RevocationRecord {
                serial_hex: row.try_get("serial")?,
                revoked_at: row.try_get("revoked_at")?,
                reason: parse_reason(&reason)?,
                revoked_by: row.try_get("revoked_by")?,
            })
        })
        .transpose()
    }

    /// Every revoked certificate, by serial, for the CRL. Read in pages of 10,000 (see
    /// [`Store::revoked_certificates_page`] to stream instead of collecting). To know whether
    /// a CRL covers every revocation, read [`Store::crl_state`] *before* calling this.
    pub async fn revoked_certificates(&self) -> Result<Vec<RevokedEntry>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .revoked_certificates_page(after.as_deref(), REVOKED_PAGE)
                .await?;
            let Some(last) = page.last() else {
                return Ok(out);
            };
            after = Some(last.serial_hex.clone());
            let full = page.len() == REVOKED_PAGE as usize;
            out.extend(page);
            if !full {
                return Ok(out);
            }
        }
    }

    /// At most `limit` revoked certificates whose canonical serial sorts after `after` (none:
    /// from the start), in serial order. Pass the last entry's serial to get the next page.
    pub async fn revoked_certificates_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RevokedEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.serial, r.revoked_at, r.reason, c.not_after FROM revocations r \
             JOIN certificates c ON c.serial = r.serial \
             WHERE r.serial > $1 ORDER BY r.serial LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let reason: String = row.try_get("reason")?;
                Ok(RevokedEntry {
                    serial_hex: row.try_get("serial")?,
                    revoked_at: row.try_get("revoked_at")?,
                    reason: parse_reason(&reason)?,
                    not_after: row.try_get("not_after")?,
                })
            })
            .collect()
    }
}
