//! CRL bookkeeping shared by every CA node: the CRL number allocator (RFC 5280 §5.2.3), the
//! newest CRL (served over HTTP and GetCRL by any node), and whether it is out of date.

use sqlx::Row;

use crate::backend::with_retry;
use crate::{CrlState, PublishedCrl, Store, StoreError};

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::CorruptRow("crl_state"))
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::InvalidInput("CRL number out of range"))
}

impl Store {
    /// Allocates the next CRL number: 1, 2, 3... Persisted and atomic: concurrent callers,
    /// on any node, each get a distinct number, and a number is never handed out twice
    /// (a CRL that is then not published leaves a gap, which RFC 5280 allows).
    pub async fn next_crl_number(&self) -> Result<u64, StoreError> {
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let row = sqlx::query(
                "UPDATE crl_state SET last_number = last_number + 1 WHERE id = 1 \
                 RETURNING last_number",
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::CorruptRow("crl_state"))?;
            let n: i64 = row.try_get("last_number")?;
            tx.commit().await?;
            to_u64(n)
        })
        .await
    }

    /// The allocator, the revocation count and the newest recorded CRL.
    pub async fn crl_state(&self) -> Result<CrlState, StoreError> {
        let row = sqlx::query(
            "SELECT last_number, revocation_count, published_number, this_update, next_update, \
             covered_revocations, der FROM crl_state WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::CorruptRow("crl_state"))?;
        let published_number: Option<i64> = row.try_get("published_number")?;
        let published = match published_number {
            None => None,
            Some(n) => {
                let this_update: Option<i64> = row.try_get("this_update")?;
                let next_update: Option<i64> = row.try_get("next_update")?;
                let covered: Option<i64> = row.try_get("covered_revocations")?;
                let der: Option<Vec<u8>> = row.try_get("der")?;
                let (Some(this_update), Some(next_update), Some(covered), Some(der)) =
                    (this_update, next_update, covered, der)
                else {
                    return Err(StoreError::CorruptRow("crl_state"));
                };
                Some(PublishedCrl {
                    number: to_u64(n)?,
                    this_update,
                    next_update,
                    covered_revocations: to_u64(covered)?,
                    der,
                })
            }
        };
        Ok(CrlState {
            last_number: to_u64(row.try_get("last_number")?)?,
            revocation_count: to_u64(row.try_get("revocation_count")?)?,
            published,
        })
    }

    /// Records a signed CRL as the one to serve, unless a CRL with a higher number is already
    /// recorded (two nodes regenerating at once: the newer wins). `Ok(true)`: recorded;
    /// `Ok(false)`: a newer one was already there. A number never allocated is
    /// [`StoreError::InvalidInput`].
    pub async fn record_crl(&self, crl: PublishedCrl) -> Result<bool, StoreError> {
        let number = to_i64(crl.number)?;
        let covered = to_i64(crl.covered_revocations)?;
        if crl.next_update <= crl.this_update {
            return Err(StoreError::InvalidInput(
                "CRL nextUpdate is not after thisUpdate",
            ));
        }
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let row = sqlx::query("SELECT last_number FROM crl_state WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::CorruptRow("crl_state"))?;
            let last: i64 = row.try_get("last_number")?;
            if number < 1 || number > last {
                tx.rollback().await?;
                return Err(StoreError::InvalidInput("CRL number was never allocated"));
            }
            let updated = sqlx::query(
                "UPDATE crl_state SET published_number = $1, this_update = $2, \
                 next_update = $3, covered_revocations = $4, der = $5 \
                 WHERE id = 1 AND (published_number IS NULL OR published_number < $1)",
            )
            .bind(number)
            .bind(crl.this_update)
            .bind(crl.next_update)
            .bind(covered)
            .bind(crl.der.as_slice())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(updated.rows_affected() == 1)
        })
        .await
    }

    /// Records a CRL signed elsewhere (an RA of a split deployment mirrors its CA's CRL, so
    /// GetCRL and `/crl` serve it from this database). Its number comes from the CA's
    /// allocator: the local one is raised to it, so the newest CRL still wins. `Ok(false)`: a
    /// CRL with this number or a higher one is already recorded.
    pub async fn record_mirrored_crl(&self, crl: PublishedCrl) -> Result<bool, StoreError> {
        let number = to_i64(crl.number)?;
        if number < 1 {
            return Err(StoreError::InvalidInput("CRL number must be positive"));
        }
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            sqlx::query("UPDATE crl_state SET last_number = $1 WHERE id = 1 AND last_number < $1")
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await?;
        self.record_crl(crl).await
    }
}
