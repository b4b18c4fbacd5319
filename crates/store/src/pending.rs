//! Manual approval (RFC 8894 §3.3.2 PENDING, §3.3.3 CertPoll): requests a template holds for
//! an officer, and their state machine
//!
//! ```text
//! pending ──approve──▶ approved ──complete──▶ issued
//!    │                    │
//!    └──deny──▶ denied ◀──┘ refuse_approved (the CA re-checked the template and refused)
//! ```
//!
//! Every transition is one database transaction with its audit entry, taken under the write
//! lock ([`crate::backend::Backend::begin_write`]), so of two officers racing on one request
//! exactly one wins and the other gets [`StoreError::RequestState`].
//!
//! The challenge is consumed by [`Store::record_pending`], not at issuance: a request accepted
//! for review has used its challenge, so nobody can replay it while the request waits, and a
//! denied device needs a new challenge.

use sqlx::{AnyConnection, Row};

use crate::audit::append_in;
use crate::backend::{is_unique_violation, with_retry};
use crate::codec::{hex32, normalize_serial, parse_hex32};
use crate::issuance::{
    NewCertificateRow, NewTransactionRow, insert_issued, spend_challenge_and_claim_transaction,
};
use crate::{AuditEvent, AuditKind, PendingIssuance, PendingRecord, PendingRequest, PendingState};
use crate::{CertificateRecord, Store, StoreError};

const COLUMNS: &str = "id, transaction_id, signer_key_sha256, request_sha256, csr_der, \
    template, subject, challenge_hash, requester_certificate_der, created_at, state, \
    decided_by, decided_at, reason, serial, issued_at, binding_recorded, binding_template, \
    binding_subject";

fn audit_subject(id: i64) -> String {
    format!("request {id}")
}

impl Store {
    /// Holds a request for approval, in ONE database transaction: consumes the challenge (if
    /// any; [`StoreError::ChallengeUnavailable`] if unknown, expired or used), refuses a
    /// transaction id that belongs to another signer key or a request already recorded
    /// (issued or held) with [`StoreError::TransactionConflict`], stores the request and
    /// appends its audit event (row subject `request ID`). Returns the request id.
    ///
    /// A retried PKCSReq must be answered from [`Store::find_pending`] before calling this.
    pub async fn record_pending(&self, request: PendingRequest) -> Result<i64, StoreError> {
        with_retry(self.backend, || self.try_record_pending(&request)).await
    }

    async fn try_record_pending(&self, r: &PendingRequest) -> Result<i64, StoreError> {
        let mut tx = self.backend.begin_write(&self.pool).await?;
        let challenge_hex = r.challenge_hash.as_ref().map(hex32);
        let signer_hex = hex32(&r.signer_key_sha256);
        let request_hex = hex32(&r.request_sha256);
        let claim = spend_challenge_and_claim_transaction(
            &mut tx,
            challenge_hex.as_deref(),
            &r.transaction_id,
            &signer_hex,
            &request_hex,
            r.created_at,
        )
        .await;
        if let Err(e) = claim {
            tx.rollback().await?;
            return Err(e);
        }
        let binding = r.binding.as_ref();
        let inserted = sqlx::query(
            "INSERT INTO pending_requests (transaction_id, signer_key_sha256, request_sha256, \
             csr_der, template, subject, challenge_hash, requester_certificate_der, created_at, \
             state, binding_recorded, binding_template, binding_subject) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12) RETURNING id",
        )
        .bind(&r.transaction_id)
        .bind(&signer_hex)
        .bind(&request_hex)
        .bind(r.csr_der.as_slice())
        .bind(&r.template)
        .bind(&r.subject)
        .bind(challenge_hex.as_deref())
        .bind(r.requester_certificate_der.as_slice())
        .bind(r.created_at)
        .bind(i64::from(binding.is_some()))
        .bind(binding.and_then(|b| b.template.as_deref()))
        .bind(binding.and_then(|b| b.subject.as_deref()))
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Err(StoreError::TransactionConflict);
            }
            Err(e) => return Err(e.into()),
        };
        for (position, san) in (0i64..).zip(&r.sans) {
            sqlx::query(
                "INSERT INTO pending_request_sans (request_id, position, san) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position)
            .bind(san)
            .execute(&mut *tx)
            .await?;
        }
        for (position, san) in (0i64..).zip(binding.map(|b| b.sans.as_slice()).unwrap_or_default())
        {
            sqlx::query(
                "INSERT INTO pending_request_binding_sans (request_id, position, san) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position)
            .bind(san)
            .execute(&mut *tx)
            .await?;
        }
        append_in(&mut tx, &r.audit, &audit_subject(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests still waiting for a decision or for their certificate (`pending` and
    /// `approved`), oldest first: what `scepd request list` shows. An approved one left here
    /// means the CA was not reached after approval; complete or refuse it.
    pub async fn list_pending(&self) -> Result<Vec<PendingRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pending_requests \
             WHERE state IN ('pending', 'approved') ORDER BY id"
        )))
        .fetch_all(&mut *conn)
        .await?;
        decode_all(&mut conn, &rows).await
    }

    /// One held request by id, whatever its state (`scepd request show`).
    pub async fn pending_request(&self, id: i64) -> Result<Option<PendingRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await
    }

    /// The held requests of this transaction id *and* signer key, oldest first: what a
    /// CertPoll / GetCertInitial (RFC 8894 §3.3.3) or a retried PKCSReq is answered from.
    /// Keyed on both, so a poll signed by another key learns nothing about the transaction.
    /// Each record's state tells PENDING (pending, approved), FAILURE (denied) or SUCCESS
    /// (issued: fetch the certificate with [`Store::find_certificate`]).
    pub async fn find_pending(
        &self,
        transaction_id: &str,
        signer_key_sha256: &[u8; 32],
    ) -> Result<Vec<PendingRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pending_requests \
             WHERE transaction_id = $1 AND signer_key_sha256 = $2 ORDER BY id"
        )))
        .bind(transaction_id)
        .bind(hex32(signer_key_sha256))
        .fetch_all(&mut *conn)
        .await?;
        decode_all(&mut conn, &rows).await
    }

    /// pending → approved, with a `request-approved` audit entry naming `approver`. Returns
    /// the request, to be sent to the CA and then recorded with [`Store::complete_pending`].
    /// Approving a request that is not pending (approved twice, denied, issued) is
    /// [`StoreError::RequestState`]; an unknown id is [`StoreError::UnknownRequest`].
    pub async fn approve_pending(
        &self,
        id: i64,
        approver: &str,
        now: i64,
    ) -> Result<PendingRecord, StoreError> {
        let audit = AuditEvent {
            at: now,
            kind: AuditKind::RequestApproved,
            actor: approver.to_owned(),
            detail: format!("request {id} approved"),
        };
        self.transition(id, "pending", "approved", None, &audit)
            .await
    }

    /// pending → denied, with a `request-denied` audit entry naming `approver` and `reason`.
    /// The challenge stays spent. Same errors as [`Store::approve_pending`].
    pub async fn deny_pending(
        &self,
        id: i64,
        approver: &str,
        reason: &str,
        now: i64,
    ) -> Result<PendingRecord, StoreError> {
        let audit = AuditEvent {
            at: now,
            kind: AuditKind::RequestDenied,
            actor: approver.to_owned(),
            detail: format!("request {id} denied: {reason}"),
        };
        self.transition(id, "pending", "denied", Some(reason), &audit)
            .await
    }

    /// approved → denied: the CA refused an approved request (it enforces the template again
    /// whatever the officer decided), so the device's next poll gets FAILURE instead of
    /// PENDING forever. `actor` is who refused (e.g. `ca`).
    pub async fn refuse_approved(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<PendingRecord, StoreError> {
        let audit = AuditEvent {
            at: now,
            kind: AuditKind::RequestDenied,
            actor: actor.to_owned(),
            detail: format!("approved request {id} refused: {reason}"),
        };
        self.transition(id, "approved", "denied", Some(reason), &audit)
            .await
    }

    /// Moves request `id` from `from` to `to`; the decider and time are the audit event's.
    async fn transition(
        &self,
        id: i64,
        from: &'static str,
        to: &'static str,
        reason: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<PendingRecord, StoreError> {
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let found = state_of(&mut tx, id).await?;
            if found != from {
                tx.rollback().await?;
                return Err(StoreError::RequestState {
                    found,
                    expected: from,
                });
            }
            // The state condition again in the UPDATE: correct even without the write lock.
            let updated = sqlx::query(
                "UPDATE pending_requests SET state = $1, decided_by = $2, decided_at = $3, \
                 reason = $4 WHERE id = $5 AND state = $6",
            )
            .bind(to)
            .bind(&audit.actor)
            .bind(audit.at)
            .bind(reason)
            .bind(id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                tx.rollback().await?;
                return Err(StoreError::RequestState {
                    found: "changed",
                    expected: from,
                });
            }
            append_in(&mut tx, audit, &audit_subject(id)).await?;
            let record = load(&mut tx, id).await?.ok_or(StoreError::UnknownRequest)?;
            tx.commit().await?;
            Ok(record)
        })
        .await
    }

    /// approved → issued: records the certificate the CA signed for an approved request, in
    /// ONE transaction with its transaction row (so [`Store::find_transactions`] and retries
    /// see it like any issuance) and audit event. The same checks as
    /// [`Store::record_issuance`]: a recorded serial is [`StoreError::SerialConflict`]. The
    /// challenge is not consumed again (it was when the request was held). A request not
    /// approved is [`StoreError::RequestState`]. Durable on return.
    pub async fn complete_pending(
        &self,
        id: i64,
        issuance: PendingIssuance,
    ) -> Result<CertificateRecord, StoreError> {
        let serial = normalize_serial(&issuance.serial_hex)?;
        with_retry(self.backend, || self.try_complete(id, &issuance, &serial)).await
    }

    async fn try_complete(
        &self,
        id: i64,
        i: &PendingIssuance,
        serial: &str,
    ) -> Result<CertificateRecord, StoreError> {
        let mut tx = self.backend.begin_write(&self.pool).await?;
        let Some(request) = load(&mut tx, id).await? else {
            tx.rollback().await?;
            return Err(StoreError::UnknownRequest);
        };
        if !matches!(request.state, PendingState::Approved { .. }) {
            tx.rollback().await?;
            return Err(StoreError::RequestState {
                found: request.state.as_str(),
                expected: "approved",
            });
        }
        let signer_hex = hex32(&request.signer_key_sha256);
        let request_hex = hex32(&request.request_sha256);
        let challenge_hex = request.challenge_hash.as_ref().map(hex32);
        let subject_key_hex = crate::codec::hex32(&i.subject_key_sha256);
        let cert = NewCertificateRow {
            serial,
            der: &i.certificate_der,
            subject_key_hex: &subject_key_hex,
            subject: &i.subject,
            not_before: i.not_before,
            not_after: i.not_after,
            template: &request.template,
            transaction_id: &request.transaction_id,
            issued_at: i.now,
        };
        let txn = NewTransactionRow {
            transaction_id: &request.transaction_id,
            signer_hex: &signer_hex,
            request_hex: &request_hex,
            challenge_hex: challenge_hex.as_deref(),
            created_at: i.now,
        };
        if let Err(e) = insert_issued(&mut tx, &cert, &txn).await {
            tx.rollback().await?;
            return Err(e);
        }
        sqlx::query(
            "UPDATE pending_requests SET state = 'issued', serial = $1, issued_at = $2 \
             WHERE id = $3 AND state = 'approved'",
        )
        .bind(serial)
        .bind(i.now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, &i.audit, serial).await?;
        tx.commit().await?;
        Ok(CertificateRecord {
            serial_hex: serial.to_owned(),
            certificate_der: i.certificate_der.clone(),
            subject: i.subject.clone(),
            not_before: i.not_before,
            not_after: i.not_after,
            template: request.template,
            transaction_id: request.transaction_id,
            issued_at: i.now,
        })
    }
}

async fn state_of(conn: &mut AnyConnection, id: i64) -> Result<&'static str, StoreError> {
    let row = sqlx::query("SELECT state FROM pending_requests WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::UnknownRequest)?;
    let state: String = row.try_get("state")?;
    match state.as_str() {
        "pending" => Ok("pending"),
        "approved" => Ok("approved"),
        "denied" => Ok("denied"),
        "issued" => Ok("issued"),
        _ => Err(StoreError::CorruptRow("pending_requests")),
    }
}

async fn decode_all(
    conn: &mut AnyConnection,
    rows: &[sqlx::any::AnyRow],
) -> Result<Vec<PendingRecord>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(decode(conn, row).await?);
    }
    Ok(out)
}

async fn load(conn: &mut AnyConnection, id: i64) -> Result<Option<PendingRecord>, StoreError> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pending_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    decode(conn, &row).await.map(Some)
}

async fn decode(
    conn: &mut AnyConnection,
    row: &sqlx::any::AnyRow,
) -> Result<PendingRecord, StoreError> {
    const TABLE: &str = "pending_requests";
    let id: i64 = row.try_get("id")?;
    let signer: String = row.try_get("signer_key_sha256")?;
    let request: String = row.try_get("request_sha256")?;
    let challenge: Option<String> = row.try_get("challenge_hash")?;
    let state: String = row.try_get("state")?;
    let decided_by: Option<String> = row.try_get("decided_by")?;
    let decided_at: Option<i64> = row.try_get("decided_at")?;
    let reason: Option<String> = row.try_get("reason")?;
    let serial: Option<String> = row.try_get("serial")?;
    let issued_at: Option<i64> = row.try_get("issued_at")?;
    let corrupt = || StoreError::CorruptRow(TABLE);
    let state = match state.as_str() {
        "pending" => PendingState::Pending,
        "approved" => PendingState::Approved {
            by: decided_by.ok_or_else(corrupt)?,
            at: decided_at.ok_or_else(corrupt)?,
        },
        "denied" => PendingState::Denied {
            by: decided_by.ok_or_else(corrupt)?,
            at: decided_at.ok_or_else(corrupt)?,
            reason: reason.unwrap_or_default(),
        },
        "issued" => PendingState::Issued {
            approved_by: decided_by.ok_or_else(corrupt)?,
            approved_at: decided_at.ok_or_else(corrupt)?,
            serial_hex: serial.ok_or_else(corrupt)?,
            issued_at: issued_at.ok_or_else(corrupt)?,
        },
        _ => return Err(corrupt()),
    };
    let sans = sans_of(conn, "pending_request_sans", id).await?;
    let binding_recorded: i64 = row.try_get("binding_recorded")?;
    let binding = match binding_recorded {
        0 => None,
        1 => Some(policy::Binding {
            template: row.try_get("binding_template")?,
            subject: row.try_get("binding_subject")?,
            sans: sans_of(conn, "pending_request_binding_sans", id).await?,
        }),
        _ => return Err(corrupt()),
    };
    Ok(PendingRecord {
        id,
        transaction_id: row.try_get("transaction_id")?,
        signer_key_sha256: parse_hex32(&signer, TABLE)?,
        request_sha256: parse_hex32(&request, TABLE)?,
        csr_der: row.try_get("csr_der")?,
        template: row.try_get("template")?,
        subject: row.try_get("subject")?,
        sans,
        challenge_hash: challenge.map(|c| parse_hex32(&c, TABLE)).transpose()?,
        binding,
        requester_certificate_der: row.try_get("requester_certificate_der")?,
        created_at: row.try_get("created_at")?,
        state,
    })
}

/// The SANs of request `id` in `table` (the requested ones, or the bound ones), in order.
async fn sans_of(
    conn: &mut AnyConnection,
    table: &'static str,
    id: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT san FROM {table} WHERE request_id = $1 ORDER BY position"
    )))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("san").map_err(StoreError::from))
    .collect()
}
