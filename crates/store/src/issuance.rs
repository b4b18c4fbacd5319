//! Recording an issued certificate: challenge consumption, transaction, certificate and audit
//! event in one database transaction.

use sqlx::{AnyConnection, Row};

use crate::audit::{ChainHead, head_in, insert_in};
use crate::backend::{is_unique_violation, with_retry};
use crate::codec::{hex32, normalize_serial, parse_hex32};
use crate::{CertificateRecord, Issuance, TransactionRecord, TransactionStatus};
use crate::{Store, StoreError};

impl Store {
    /// Commits, in ONE database transaction, or not at all:
    /// (a) consumption of `challenge_hash` if any — exactly one unused, unexpired row must be
    ///     updated, else [`StoreError::ChallengeUnavailable`];
    /// (b) the transaction row — the transaction id recorded (issued or held for approval)
    ///     for another signer key, or the same (transaction id, request) recorded already,
    ///     gives [`StoreError::TransactionConflict`];
    /// (c) the certificate (delivered if [`Issuance::delivered_at`] says so) — a recorded
    ///     serial gives [`StoreError::SerialConflict`];
    /// (d) the audit event.
    ///
    /// The conditional UPDATE is what makes consumption exactly-once: of any number of
    /// concurrent callers with the same challenge, one updates the row and the others find
    /// `used_at` set (SQLite: writers are serialized by `BEGIN IMMEDIATE`; PostgreSQL: the
    /// row lock makes the losers re-check the condition after the winner commits). Lock
    /// timeouts are retried a few times and then reported as [`StoreError::Busy`]; a retry
    /// re-runs the whole transaction, so it can never spend a challenge twice.
    ///
    /// SQLite: issuances are group-committed — one writer task takes every issuance waiting
    /// and commits them in one transaction and one fsync (see `group_commit`). Each is
    /// still all-or-nothing, and one refused issuance (challenge spent, transaction id taken)
    /// never holds back or loses the others.
    ///
    /// On return `Ok`, the commit is durable (SQLite `synchronous=FULL`): reply only then.
    pub async fn record_issuance(&self, issuance: Issuance) -> Result<(), StoreError> {
        let serial = normalize_serial(&issuance.serial_hex)?;
        match &self.writer {
            Some(writer) => writer.submit(self, issuance, serial).await,
            None => self.record_issuance_alone(&issuance, &serial).await,
        }
    }

    /// One issuance in a transaction of its own.
    pub(crate) async fn record_issuance_alone(
        &self,
        issuance: &Issuance,
        serial: &str,
    ) -> Result<(), StoreError> {
        with_retry(self.backend, || self.try_record_issuance(issuance, serial)).await
    }

    async fn try_record_issuance(&self, i: &Issuance, serial: &str) -> Result<(), StoreError> {
        let mut tx = self.backend.begin_write(&self.pool).await?;
        if let Some(refusal) = claim_in(&mut tx, i).await? {
            tx.rollback().await?;
            return Err(refusal);
        }
        let mut head = head_in(&mut tx).await?;
        if let Err(e) = insert_issuance_in(&mut tx, i, serial, &mut head).await {
            tx.rollback().await?;
            return Err(e);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether this voucher id was spent (see [`Issuance::voucher`]).
    pub async fn voucher_spent(&self, voucher: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS hit FROM spent_vouchers WHERE id = $1")
            .bind(voucher)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Every request recorded under this transaction id, oldest first, each with its
    /// certificate. All of them have the same signer key (see [`Store::record_issuance`]).
    pub async fn find_transactions(
        &self,
        transaction_id: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.transaction_id, t.signer_key_sha256, t.request_sha256, t.status, \
             t.serial, c.der FROM transactions t \
             LEFT JOIN certificates c ON c.serial = t.serial \
             WHERE t.transaction_id = $1 ORDER BY t.created_at, t.serial",
        )
        .bind(transaction_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(transaction_record).collect()
    }

    /// The subjects already certified for this public key (SHA-256 of its SPKI DER): RFC 8894
    /// §8.6 — a key certified to one subject must not be certified to another.
    pub async fn subjects_for_key(
        &self,
        subject_key_sha256: &[u8; 32],
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT subject FROM certificates WHERE subject_key_sha256 = $1 ORDER BY subject",
        )
        .bind(hex32(subject_key_sha256))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("subject").map_err(StoreError::from))
            .collect()
    }

    /// The certificate with this serial: hex, any case, leading zero octets or not (a serial
    /// decoded from GetCert's IssuerAndSerialNumber matches however it is rendered).
    pub async fn find_certificate(
        &self,
        serial_hex: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let Ok(serial) = normalize_serial(serial_hex) else {
            return Ok(None);
        };
        let Some(row) = sqlx::query(
            "SELECT serial, der, subject, not_before, not_after, template, transaction_id, \
             issued_at FROM certificates WHERE serial = $1",
        )
        .bind(&serial)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        certificate_record(&row).map(Some)
    }

    /// How many certificates are recorded.
    pub async fn count_certificates(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM certificates")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Spends an unused, unexpired challenge; `false` if there is none to spend. The conditional
/// UPDATE is the exactly-once point (see [`Store::record_issuance`]).
/// A `certificates` row (the columns `serial, der, subject, not_before, not_after, template,
/// transaction_id, issued_at`) as a record.
pub(crate) fn certificate_record(row: &sqlx::any::AnyRow) -> Result<CertificateRecord, StoreError> {
    Ok(CertificateRecord {
        serial_hex: row.try_get("serial")?,
        certificate_der: row.try_get("der")?,
        subject: row.try_get("subject")?,
        not_before: row.try_get("not_before")?,
        not_after: row.try_get("not_after")?,
        template: row.try_get("template")?,
        transaction_id: row.try_get("transaction_id")?,
        issued_at: row.try_get("issued_at")?,
    })
}

/// The two checks every write that starts a certificate's life makes, in this order: spend
/// the challenge (if the request needed one; exactly once, unexpired), then claim the
/// transactionID for this signer key and request. The caller rolls back on `Err`.
pub(crate) async fn spend_challenge_and_claim_transaction(
    conn: &mut AnyConnection,
    challenge_hex: Option<&str>,
    transaction_id: &str,
    signer_hex: &str,
    request_hex: &str,
    now: i64,
) -> Result<(), StoreError> {
    if let Some(hash) = challenge_hex
        && !consume_challenge(conn, hash, transaction_id, now).await?
    {
        return Err(StoreError::ChallengeUnavailable);
    }
    if transaction_id_taken(conn, transaction_id, signer_hex, request_hex).await? {
        return Err(StoreError::TransactionConflict);
    }
    Ok(())
}

async fn consume_challenge(
    conn: &mut AnyConnection,
    hash_hex: &str,
    transaction_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE challenges SET used_at = $1, used_by_transaction = $2 \
         WHERE hash = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(transaction_id)
    .bind(hash_hex)
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Whether a new request may not use this transaction id: it belongs to another signer key
/// (RFC 8894 §3.2.1.1; Dogtag does the same), or this very request is already recorded —
/// issued, or waiting for / decided by an officer.
async fn transaction_id_taken(
    conn: &mut AnyConnection,
    transaction_id: &str,
    signer_hex: &str,
    request_hex: &str,
) -> Result<bool, StoreError> {
    let hit = sqlx::query(
        "SELECT 1 AS hit FROM transactions WHERE transaction_id = $1 \
           AND (signer_key_sha256 <> $2 OR request_sha256 = $3) \
         UNION ALL \
         SELECT 1 AS hit FROM pending_requests WHERE transaction_id = $1 \
           AND (signer_key_sha256 <> $2 OR request_sha256 = $3)",
    )
    .bind(transaction_id)
    .bind(signer_hex)
    .bind(request_hex)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hit.is_some())
}

/// Spends the issuance's challenge (if any) and checks its transaction id is free, in one
/// statement when there is a challenge. `Ok(Some(refusal))`: the issuance is refused and
/// nothing was written, so a group commit carries on with the others; `Err`: a database
/// error, the caller rolls back.
pub(crate) async fn claim_in(
    conn: &mut AnyConnection,
    i: &Issuance,
) -> Result<Option<StoreError>, StoreError> {
    let signer_hex = hex32(&i.signer_key_sha256);
    let request_hex = hex32(&i.request_sha256);
    let Some(challenge) = &i.challenge_hash else {
        // A refusal must leave nothing written (a group commit goes on with the batch), so
        // the voucher is spent last, once nothing else can refuse.
        let taken =
            transaction_id_taken(conn, &i.transaction_id, &signer_hex, &request_hex).await?;
        if taken {
            return Ok(Some(StoreError::TransactionConflict));
        }
        if let Some(voucher) = &i.voucher
            && !spend_voucher_in(conn, voucher, &i.transaction_id, i.now).await?
        {
            return Ok(Some(StoreError::ChallengeUnavailable));
        }
        return Ok(None);
    };
    if i.voucher.is_some() {
        // Nothing vouches twice: a request is authorised by a stored challenge or by a
        // verifier, never both.
        return Err(StoreError::InvalidInput(
            "an issuance spends a challenge or a voucher, not both",
        ));
    }
    let challenge_hex = hex32(challenge);
    // The same conditions as `spend_challenge_and_claim_transaction`, in one round trip.
    let updated = sqlx::query(
        "UPDATE challenges SET used_at = $1, used_by_transaction = $2 \
         WHERE hash = $3 AND used_at IS NULL AND expires_at > $1 \
           AND NOT EXISTS (SELECT 1 FROM transactions WHERE transaction_id = $2 \
             AND (signer_key_sha256 <> $4 OR request_sha256 = $5)) \
           AND NOT EXISTS (SELECT 1 FROM pending_requests WHERE transaction_id = $2 \
             AND (signer_key_sha256 <> $4 OR request_sha256 = $5))",
    )
    .bind(i.now)
    .bind(&i.transaction_id)
    .bind(&challenge_hex)
    .bind(&signer_hex)
    .bind(&request_hex)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(None);
    }
    // Refused: say why with the precedence of the two-step check (the challenge first).
    let spendable = sqlx::query(
        "SELECT 1 AS hit FROM challenges WHERE hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(&challenge_hex)
    .bind(i.now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Some(if spendable.is_some() {
        StoreError::TransactionConflict
    } else {
        StoreError::ChallengeUnavailable
    }))
}

/// Spends a voucher id (see [`Issuance::voucher`]); false when it was spent before. The
/// caller's transaction is rolled back on any refusal, which unspends it again.
async fn spend_voucher_in(
    conn: &mut AnyConnection,
    voucher: &str,
    transaction_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO spent_vouchers (id, transaction_id, spent_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(voucher)
    .bind(transaction_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Writes a claimed issuance: certificate, transaction and audit event after `head`. Any
/// `Err` leaves the transaction half-written: the caller rolls it back.
pub(crate) async fn insert_issuance_in(
    conn: &mut AnyConnection,
    i: &Issuance,
    serial: &str,
    head: &mut ChainHead,
) -> Result<(), StoreError> {
    let subject_key_hex = hex32(&i.subject_key_sha256);
    let signer_hex = hex32(&i.signer_key_sha256);
    let request_hex = hex32(&i.request_sha256);
    let challenge_hex = i.challenge_hash.as_ref().map(hex32);
    let cert = NewCertificateRow {
        serial,
        der: &i.certificate_der,
        subject_key_hex: &subject_key_hex,
        subject: &i.subject,
        not_before: i.not_before,
        not_after: i.not_after,
        template: &i.template,
        transaction_id: &i.transaction_id,
        issued_at: i.now,
    };
    let txn = NewTransactionRow {
        transaction_id: &i.transaction_id,
        signer_hex: &signer_hex,
        request_hex: &request_hex,
        challenge_hex: challenge_hex.as_deref(),
        created_at: i.now,
    };
    insert_issued_delivered(conn, &cert, &txn, i.delivered_at).await?;
    insert_in(conn, head, &i.audit, serial).await?;
    Ok(())
}

pub(crate) struct NewCertificateRow<'a> {
    pub serial: &'a str,
    pub der: &'a [u8],
    pub subject_key_hex: &'a str,
    pub subject: &'a str,
    pub not_before: i64,
    pub not_after: i64,
    pub template: &'a str,
    pub transaction_id: &'a str,
    pub issued_at: i64,
}

pub(crate) struct NewTransactionRow<'a> {
    pub transaction_id: &'a str,
    pub signer_hex: &'a str,
    pub request_hex: &'a str,
    pub challenge_hex: Option<&'a str>,
    pub created_at: i64,
}

/// Inserts the certificate and its issued transaction. The caller rolls back on `Err`.
pub(crate) async fn insert_issued(
    conn: &mut AnyConnection,
    c: &NewCertificateRow<'_>,
    t: &NewTransactionRow<'_>,
) -> Result<(), StoreError> {
    insert_issued_delivered(conn, c, t, None).await
}

/// [`insert_issued`], the certificate already delivered at `delivered_at` if `Some`.
async fn insert_issued_delivered(
    conn: &mut AnyConnection,
    c: &NewCertificateRow<'_>,
    t: &NewTransactionRow<'_>,
    delivered_at: Option<i64>,
) -> Result<(), StoreError> {
    // The certificate first: a serial collision is reported as such, not as a transaction
    // conflict through transactions.serial.
    let inserted = sqlx::query(
        "INSERT INTO certificates (serial, der, subject, not_before, not_after, template, \
         transaction_id, issued_at, subject_key_sha256, delivered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.serial)
    .bind(c.der)
    .bind(c.subject)
    .bind(c.not_before)
    .bind(c.not_after)
    .bind(c.template)
    .bind(c.transaction_id)
    .bind(c.issued_at)
    .bind(c.subject_key_hex)
    .bind(delivered_at)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(StoreError::SerialConflict),
        Err(e) => return Err(e.into()),
    }

    let inserted = sqlx::query(
        "INSERT INTO transactions (transaction_id, signer_key_sha256, request_sha256, \
         status, serial, challenge_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.transaction_id)
    .bind(t.signer_hex)
    .bind(t.request_hex)
    .bind(TransactionStatus::Issued.as_str())
    .bind(c.serial)
    .bind(t.challenge_hex)
    .bind(t.created_at)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::TransactionConflict),
        Err(e) => Err(e.into()),
    }
}

fn transaction_record(row: &sqlx::any::AnyRow) -> Result<TransactionRecord, StoreError> {
    let signer: String = row.try_get("signer_key_sha256")?;
    let request: String = row.try_get("request_sha256")?;
    let status: String = row.try_get("status")?;
    // Every recorded transaction has its certificate (they are written together); a
    // missing one means the row was tampered with.
    let serial: Option<String> = row.try_get("serial")?;
    let der: Option<Vec<u8>> = row.try_get("der")?;
    let (Some(serial), Some(certificate_der)) = (serial, der) else {
        return Err(StoreError::CorruptRow("transactions"));
    };
    Ok(TransactionRecord {
        transaction_id: row.try_get("transaction_id")?,
        signer_key_sha256: parse_hex32(&signer, "transactions")?,
        request_sha256: parse_hex32(&request, "transactions")?,
        status: TransactionStatus::parse(&status)?,
        serial,
        certificate_der,
    })
}
