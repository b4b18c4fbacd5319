//! The CA's registry of RA services (split deployment): who may connect (the SHA-256 of each
//! registered TLS client certificate), which signing certificate speaks for that connection,
//! which templates it may approve, and the statements already answered (replay protection:
//! one nonce, one answer).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::append_in;
use crate::backend::{is_unique_violation, with_retry};
use crate::codec::{hex32, normalize_serial, parse_hex32};
use crate::{
    NewRaRegistration, RaCertificates, RaRecord, StatementClaim, StatementIssuance,
    StatementOutcome, Store, StoreError,
};

const RA_COLUMNS: &str = "name, templates, code_expires_at, created_at, registered_at, \
     signing_cert, encryption_cert, tls_cert, tls_cert_sha256, revoked_at";

fn decode_ra(row: &AnyRow) -> Result<RaRecord, StoreError> {
    let templates: String = row.try_get("templates")?;
    let tls_sha256: Option<String> = row.try_get("tls_cert_sha256")?;
    let certificates = match (
        row.try_get::<Option<Vec<u8>>, _>("signing_cert")?,
        row.try_get::<Option<Vec<u8>>, _>("encryption_cert")?,
        row.try_get::<Option<Vec<u8>>, _>("tls_cert")?,
        tls_sha256,
    ) {
        (Some(signing), Some(encryption), Some(tls), Some(hash)) => Some(RaCertificates {
            signing,
            encryption,
            tls,
            tls_sha256: parse_hex32(&hash, "ra_registrations")?,
        }),
        (None, None, None, None) => None,
        _ => return Err(StoreError::CorruptRow("ra_registrations")),
    };
    Ok(RaRecord {
        name: row.try_get("name")?,
        templates: templates
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        code_expires_at: row.try_get("code_expires_at")?,
        created_at: row.try_get("created_at")?,
        registered_at: row.try_get("registered_at")?,
        certificates,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// Announces an RA. [`StoreError::Duplicate`] if the name is taken. Template names may not
    /// contain commas (they are stored comma-separated).
    pub async fn create_ra_registration(&self, ra: NewRaRegistration) -> Result<(), StoreError> {
        if ra.templates.iter().any(|t| t.is_empty() || t.contains(',')) || ra.name.is_empty() {
            return Err(StoreError::InvalidInput(
                "RA name and template names must be non-empty, without commas",
            ));
        }
        let templates = ra.templates.join(",");
        with_retry(self.backend, || async {
            let inserted = sqlx::query(
                "INSERT INTO ra_registrations (name, templates, code_sha256, code_expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&ra.name)
            .bind(&templates)
            .bind(hex32(&ra.code_sha256))
            .bind(ra.code_expires_at)
            .bind(ra.created_at)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => {
                    Err(StoreError::Duplicate(format!("RA {:?}", ra.name)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The registration a code opens: unspent and unexpired at `now`, else None.
    pub async fn ra_registration_by_code(
        &self,
        code_sha256: &[u8; 32],
        now: i64,
    ) -> Result<Option<RaRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RA_COLUMNS} FROM ra_registrations \
             WHERE code_sha256 = $1 AND registered_at IS NULL AND revoked_at IS NULL \
             AND code_expires_at > $2"
        )))
        .bind(hex32(code_sha256))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_ra).transpose()
    }

    /// Spends the code and records the RA's certificates, in one statement: of two
    /// registrations racing on one code exactly one succeeds. False: the code was spent,
    /// expired or revoked meanwhile (the certificates are then on no allow-list).
    pub async fn complete_ra_registration(
        &self,
        code_sha256: &[u8; 32],
        certificates: &RaCertificates,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let updated = sqlx::query(
                "UPDATE ra_registrations SET registered_at = $1, signing_cert = $2, \
                 encryption_cert = $3, tls_cert = $4, tls_cert_sha256 = $5 \
                 WHERE code_sha256 = $6 AND registered_at IS NULL AND revoked_at IS NULL \
                 AND code_expires_at > $1",
            )
            .bind(now)
            .bind(certificates.signing.as_slice())
            .bind(certificates.encryption.as_slice())
            .bind(certificates.tls.as_slice())
            .bind(hex32(&certificates.tls_sha256))
            .bind(hex32(code_sha256))
            .execute(&self.pool)
            .await;
            match updated {
                Ok(done) => Ok(done.rows_affected() == 1),
                Err(e) if is_unique_violation(&e) => {
                    Err(StoreError::Duplicate("RA TLS certificate".into()))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Every RA, by name.
    pub async fn ra_registrations(&self) -> Result<Vec<RaRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RA_COLUMNS} FROM ra_registrations ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_ra).collect()
    }

    /// The RA whose TLS client certificate has this SHA-256, revoked or not.
    pub async fn ra_by_tls_certificate(
        &self,
        tls_sha256: &[u8; 32],
    ) -> Result<Option<RaRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RA_COLUMNS} FROM ra_registrations WHERE tls_cert_sha256 = $1"
        )))
        .bind(hex32(tls_sha256))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_ra).transpose()
    }

    /// Revokes an RA (its code too, if unspent). False: no such RA, or already revoked.
    pub async fn revoke_ra(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let done = sqlx::query(
                "UPDATE ra_registrations SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(name)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Claims a statement nonce for `ra_name`, or reports what was already answered for it.
    pub async fn claim_statement(
        &self,
        nonce_sha256: &[u8; 32],
        statement_sha256: &[u8; 32],
        ra_name: &str,
        now: i64,
    ) -> Result<StatementClaim, StoreError> {
        with_retry(self.backend, || async {
            let inserted = sqlx::query(
                "INSERT INTO ra_statements (nonce_sha256, statement_sha256, ra_name, received_at, state) \
                 VALUES ($1, $2, $3, $4, 'pending')",
            )
            .bind(hex32(nonce_sha256))
            .bind(hex32(statement_sha256))
            .bind(ra_name)
            .bind(now)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => Ok(StatementClaim::Claimed),
                Err(e) if is_unique_violation(&e) => self.seen_statement(nonce_sha256, statement_sha256).await,
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn seen_statement(
        &self,
        nonce_sha256: &[u8; 32],
        statement_sha256: &[u8; 32],
    ) -> Result<StatementClaim, StoreError> {
        let row = sqlx::query(
            "SELECT statement_sha256, ra_name, state, certificate, refusal, bad_alg \
             FROM ra_statements WHERE nonce_sha256 = $1",
        )
        .bind(hex32(nonce_sha256))
        .fetch_one(&self.pool)
        .await?;
        let stored: String = row.try_get("statement_sha256")?;
        let state: String = row.try_get("state")?;
        let outcome = match state.as_str() {
            "pending" => StatementOutcome::Pending,
            "issued" => StatementOutcome::Issued {
                certificate: row
                    .try_get::<Option<Vec<u8>>, _>("certificate")?
                    .ok_or(StoreError::CorruptRow("ra_statements"))?,
            },
            "refused" => StatementOutcome::Refused {
                refusal: row
                    .try_get::<Option<String>, _>("refusal")?
                    .unwrap_or_default(),
                bad_alg: row.try_get::<i64, _>("bad_alg")? == 1,
            },
            _ => return Err(StoreError::CorruptRow("ra_statements")),
        };
        Ok(StatementClaim::Seen {
            same_statement: parse_hex32(&stored, "ra_statements")? == *statement_sha256,
            ra_name: row.try_get("ra_name")?,
            outcome,
        })
    }

    /// How many statements the CA answered with a certificate (first answers, not replays).
    pub async fn count_issued_statements(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM ra_statements WHERE state = 'issued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Records the answer to a claimed statement (before it is sent: a replay gets the same).
    pub async fn finish_statement(
        &self,
        nonce_sha256: &[u8; 32],
        outcome: &StatementOutcome,
    ) -> Result<(), StoreError> {
        let (state, certificate, refusal, bad_alg) = match outcome {
            StatementOutcome::Pending => {
                return Err(StoreError::InvalidInput(
                    "a statement cannot finish pending",
                ));
            }
            StatementOutcome::Issued { certificate } => {
                ("issued", Some(certificate.clone()), None, 0i64)
            }
            StatementOutcome::Refused { refusal, bad_alg } => {
                ("refused", None, Some(refusal.clone()), i64::from(*bad_alg))
            }
        };
        with_retry(self.backend, || async {
            sqlx::query(
                "UPDATE ra_statements SET state = $1, certificate = $2, refusal = $3, bad_alg = $4 \
                 WHERE nonce_sha256 = $5 AND state = 'pending'",
            )
            .bind(state)
            .bind(certificate.clone())
            .bind(refusal.clone())
            .bind(bad_alg)
            .bind(hex32(nonce_sha256))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Records a statement answered with a certificate: the certificate row, the statement's
    /// answer (a replay gets exactly this certificate) and the audit entry commit together.
    /// [`StoreError::InvalidInput`] if the statement was not pending (never claimed, or
    /// answered already).
    pub async fn finish_statement_issued(
        &self,
        nonce_sha256: &[u8; 32],
        issued: &StatementIssuance,
    ) -> Result<(), StoreError> {
        let serial = normalize_serial(&issued.serial_hex)?;
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let answered = sqlx::query(
                "UPDATE ra_statements SET state = 'issued', certificate = $1 \
                 WHERE nonce_sha256 = $2 AND state = 'pending'",
            )
            .bind(issued.certificate_der.as_slice())
            .bind(hex32(nonce_sha256))
            .execute(&mut *tx)
            .await?;
            if answered.rows_affected() != 1 {
                tx.rollback().await?;
                return Err(StoreError::InvalidInput("the statement is not pending"));
            }
            sqlx::query(
                "INSERT INTO certificates (serial, der, subject, not_before, not_after, template, \
                 transaction_id, issued_at, subject_key_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&serial)
            .bind(issued.certificate_der.as_slice())
            .bind(&issued.subject)
            .bind(issued.not_before)
            .bind(issued.not_after)
            .bind(&issued.template)
            .bind(&issued.transaction_id)
            .bind(issued.issued_at)
            .bind(hex32(&issued.subject_key_sha256))
            .execute(&mut *tx)
            .await?;
            append_in(&mut tx, &issued.audit, &serial).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
