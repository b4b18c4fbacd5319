//! Certificates as operators see them (`scepd cert list|show`), and delivery tracking
//! (RFC 8894 §8.4: a certificate whose SUCCESS reply never reached the client is worth
//! knowing about, and revoking if the request was suspicious).

use sqlx::Row;

use crate::RevocationRecord;
use crate::backend::with_retry;
use crate::codec::normalize_serial;
use crate::revocation::parse_reason;
use crate::{CertificateEntry, CertificateFilter, Store, StoreError};

const SELECT: &str = "SELECT c.serial, c.der, c.subject, c.not_before, c.not_after, \
    c.template, c.transaction_id, c.issued_at, c.delivered_at, \
    r.revoked_at, r.reason, r.revoked_by \
    FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial";

fn flag(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

impl Store {
    /// A page of certificates in canonical-serial order, filtered.
    pub async fn list_certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateEntry>, StoreError> {
        let after = match &filter.after_serial {
            Some(s) => normalize_serial(s)?,
            None => String::new(),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE c.serial > $1 \
             AND ($2 IS NULL OR c.template = $2) \
             AND ($3 IS NULL OR (r.serial IS NOT NULL) = ($3 = 1)) \
             AND ($4 IS NULL OR (c.delivered_at IS NULL) = ($4 = 1)) \
             ORDER BY c.serial LIMIT $5"
        )))
        .bind(after)
        .bind(filter.template.as_deref())
        .bind(flag(filter.revoked))
        .bind(flag(filter.uncollected))
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }

    /// One certificate with its revocation and delivery state (`scepd cert show`); any
    /// rendering of the serial.
    pub async fn certificate_entry(
        &self,
        serial_hex: &str,
    ) -> Result<Option<CertificateEntry>, StoreError> {
        let Ok(serial) = normalize_serial(serial_hex) else {
            return Ok(None);
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.serial = $1")))
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry).transpose()
    }

    /// Records that a SUCCESS reply carrying this certificate was produced for its client
    /// (RFC 8894 §8.4); the RA calls it after building the reply, for a first answer, a
    /// retried PKCSReq, a CertPoll or a GetCert. Idempotent: the first time is kept. An
    /// unknown serial is [`StoreError::UnknownSerial`].
    pub async fn mark_delivered(&self, serial_hex: &str, at: i64) -> Result<(), StoreError> {
        let serial = normalize_serial(serial_hex).map_err(|_| StoreError::UnknownSerial)?;
        with_retry(self.backend, || async {
            let updated = sqlx::query(
                "UPDATE certificates SET delivered_at = COALESCE(delivered_at, $1) \
                 WHERE serial = $2",
            )
            .bind(at)
            .bind(&serial)
            .execute(&self.pool)
            .await?;
            if updated.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StoreError::UnknownSerial)
            }
        })
        .await
    }
}

fn entry(row: &sqlx::any::AnyRow) -> Result<CertificateEntry, StoreError> {
    let serial: String = row.try_get("serial")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let reason: Option<String> = row.try_get("reason")?;
    let revoked_by: Option<String> = row.try_get("revoked_by")?;
    let revocation = match (revoked_at, reason, revoked_by) {
        (Some(revoked_at), Some(reason), Some(revoked_by)) => Some(RevocationRecord {
            serial_hex: serial.clone(),
            revoked_at,
            reason: parse_reason(&reason)?,
            revoked_by,
        }),
        (None, None, None) => None,
        _ => return Err(StoreError::CorruptRow("revocations")),
    };
    Ok(CertificateEntry {
        certificate: crate::issuance::certificate_record(row)?,
        revocation,
        delivered_at: row.try_get("delivered_at")?,
    })
}
