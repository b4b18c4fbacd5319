//! The append-only, hash-chained audit log.
//!
//! Row `n` stores `hash_n = SHA-256(DOMAIN || hash_{n-1} || seq || at || kind || actor ||
//! subject || detail)`, integers as 8 big-endian octets and each string prefixed by its length
//! (8 big-endian octets) so no two different rows encode alike; `hash_0` is 32 zero octets.
//! Including `seq` makes a renumbered or reordered row fail, the link makes a deleted one fail.
//! Deleting the *newest* rows is not detectable from the table alone: that needs the signed
//! checkpoints of a later issue (catalogue G4).
//!
//! Secrets never go in: the API takes no challenge text. The row's `subject` column says what
//! the event is about where the store knows it (the canonical serial, for `record_issuance`);
//! free appends leave it empty and say everything in `detail`.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::codec::{hex32, parse_hex32};
use crate::{AuditChainError, AuditEvent, AuditRecord, ChainBreak};
use crate::{Store, StoreError};

const DOMAIN: &[u8] = b"scepd-audit-v1\0";
const GENESIS: [u8; 32] = [0; 32];
/// Rows read per query while verifying, so a long log is never loaded at once.
const VERIFY_PAGE: i64 = 1_000;

struct Fields<'a> {
    seq: u64,
    at: i64,
    kind: &'a str,
    actor: &'a str,
    subject: &'a str,
    detail: &'a str,
}

fn chain_hash(prev: &[u8; 32], f: &Fields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(f.seq.to_be_bytes());
    h.update(f.at.to_be_bytes());
    for s in [f.kind, f.actor, f.subject, f.detail] {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    h.finalize().into()
}

/// The newest row of the chain: what the next append links to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainHead {
    seq: u64,
    hash: [u8; 32],
}

/// Reads the chain's head inside the caller's writing transaction (opened with
/// [`crate::backend::Backend::begin_write`], which serializes appenders): a group commit
/// reads it once and appends several events with [`insert_in`].
pub(crate) async fn head_in(conn: &mut AnyConnection) -> Result<ChainHead, StoreError> {
    let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    match head {
        None => Ok(ChainHead {
            seq: 0,
            hash: GENESIS,
        }),
        Some(row) => {
            let seq: i64 = row.try_get("seq")?;
            let hash: String = row.try_get("hash")?;
            Ok(ChainHead {
                seq: u64::try_from(seq).map_err(|_| StoreError::CorruptRow("audit_log"))?,
                hash: parse_hex32(&hash, "audit_log")?,
            })
        }
    }
}

/// Appends `ev` after `head` and moves `head` to the new row. Returns its sequence number.
pub(crate) async fn insert_in(
    conn: &mut AnyConnection,
    head: &mut ChainHead,
    ev: &AuditEvent,
    subject: &str,
) -> Result<u64, StoreError> {
    let seq = head
        .seq
        .checked_add(1)
        .ok_or(StoreError::CorruptRow("audit_log"))?;
    let seq_i64 = i64::try_from(seq).map_err(|_| StoreError::CorruptRow("audit_log"))?;
    let fields = Fields {
        seq,
        at: ev.at,
        kind: ev.kind.as_str(),
        actor: &ev.actor,
        subject,
        detail: &ev.detail,
    };
    let hash = chain_hash(&head.hash, &fields);
    let inserted = sqlx::query(
        "INSERT INTO audit_log (seq, at, kind, actor, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq_i64)
    .bind(ev.at)
    .bind(ev.kind.as_str())
    .bind(&ev.actor)
    .bind(subject)
    .bind(&ev.detail)
    .bind(hex32(&head.hash))
    .bind(hex32(&hash))
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {
            *head = ChainHead { seq, hash };
            Ok(seq)
        }
        // Someone appended seq in between: the chain would fork. Refuse; the caller retries.
        Err(e) if crate::backend::is_unique_violation(&e) => Err(StoreError::AuditConflict),
        Err(e) => Err(e.into()),
    }
}

/// The row that appends `ev` after `head` (seq, prev_hash hex, hash hex), and the new head;
/// for a multi-row INSERT of several events ([`insert_in`] writes one).
pub(crate) fn next_link(
    head: &ChainHead,
    ev: &AuditEvent,
    subject: &str,
) -> Result<(AuditLink, ChainHead), StoreError> {
    let seq = head
        .seq
        .checked_add(1)
        .ok_or(StoreError::CorruptRow("audit_log"))?;
    let seq_i64 = i64::try_from(seq).map_err(|_| StoreError::CorruptRow("audit_log"))?;
    let fields = Fields {
        seq,
        at: ev.at,
        kind: ev.kind.as_str(),
        actor: &ev.actor,
        subject,
        detail: &ev.detail,
    };
    let hash = chain_hash(&head.hash, &fields);
    let link = AuditLink {
        seq: seq_i64,
        prev_hex: hex32(&head.hash),
        hash_hex: hex32(&hash),
    };
    Ok((link, ChainHead { seq, hash }))
}

/// The chain columns of one audit row, computed by [`next_link`].
pub(crate) struct AuditLink {
    pub seq: i64,
    pub prev_hex: String,
    pub hash_hex: String,
}

/// Appends `ev` inside the caller's transaction, which must have been opened with
/// [`crate::backend::Backend::begin_write`] (that is what serializes appenders).
pub(crate) async fn append_in(
    conn: &mut AnyConnection,
    ev: &AuditEvent,
    subject: &str,
) -> Result<u64, StoreError> {
    let mut head = head_in(conn).await?;
    insert_in(conn, &mut head, ev, subject).await
}

fn decode_row(row: &sqlx::any::AnyRow) -> Result<(i64, AuditRecord), StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let prev_hash: String = row.try_get("prev_hash")?;
    let hash: String = row.try_get("hash")?;
    Ok((
        seq,
        AuditRecord {
            seq: u64::try_from(seq).unwrap_or(0),
            at: row.try_get("at")?,
            kind: row.try_get("kind")?,
            actor: row.try_get("actor")?,
            subject: row.try_get("subject")?,
            detail: row.try_get("detail")?,
            prev_hash: parse_hex32(&prev_hash, "audit_log")?,
            hash: parse_hex32(&hash, "audit_log")?,
        },
    ))
}

impl Store {
    /// Appends one event to the audit chain, in its own transaction (durable on return).
    /// Returns the event's sequence number.
    pub async fn append_audit(&self, ev: AuditEvent) -> Result<u64, StoreError> {
        crate::backend::with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let seq = append_in(&mut tx, &ev, "").await?;
            tx.commit().await?;
            Ok(seq)
        })
        .await
    }

    /// The newest `limit` events, oldest first.
    pub async fn audit_events(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, actor, subject, detail, prev_hash, hash FROM audit_log \
             ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| decode_row(r).map(|(_, rec)| rec))
            .collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }

    /// Recomputes the whole chain from the first row. `Ok(n)`: all `n` rows verify.
    /// `Err(StoreError::AuditChainBroken(e))`: the first row that does not, and why.
    pub async fn verify_audit_chain(&self) -> Result<u64, StoreError> {
        let mut expected_seq: u64 = 1;
        let mut prev = GENESIS;
        let mut after: i64 = 0;
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, kind, actor, subject, detail, prev_hash, hash FROM audit_log \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(expected_seq - 1);
            }
            for row in &rows {
                let broken = |reason| AuditChainError {
                    seq: expected_seq,
                    reason,
                };
                let (raw_seq, rec) = decode_row(row).map_err(|e| match e {
                    StoreError::CorruptRow(_) => StoreError::from(broken(ChainBreak::Malformed)),
                    other => other,
                })?;
                after = raw_seq;
                if raw_seq < 1 {
                    return Err(broken(ChainBreak::Malformed).into());
                }
                if rec.seq != expected_seq {
                    return Err(broken(ChainBreak::Gap { found: rec.seq }).into());
                }
                if rec.prev_hash != prev {
                    return Err(broken(ChainBreak::PrevHashMismatch).into());
                }
                let fields = Fields {
                    seq: rec.seq,
                    at: rec.at,
                    kind: &rec.kind,
                    actor: &rec.actor,
                    subject: &rec.subject,
                    detail: &rec.detail,
                };
                if chain_hash(&prev, &fields) != rec.hash {
                    return Err(broken(ChainBreak::HashMismatch).into());
                }
                prev = rec.hash;
                expected_seq += 1;
            }
        }
    }
}
