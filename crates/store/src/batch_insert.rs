//! The rows of a group commit's claimed issuances written with multi-row INSERTs: one
//! statement per table for a run of issuances instead of three per issuance, since every
//! statement is a round trip to the connection's worker thread. Runs have power-of-two
//! sizes (a batch of 11 is 8 + 2 + 1), so a handful of statement texts stay in the
//! connection's prepared-statement cache.

use sqlx::AnyConnection;

use crate::StoreError;
use crate::audit::{AuditLink, ChainHead, next_link};
use crate::backend::is_unique_violation;
use crate::codec::hex32;
use crate::{Issuance, TransactionStatus};

/// An issuance whose challenge is spent and transactionID claimed, with its normalized serial.
pub(crate) struct Claimed<'a> {
    pub issuance: &'a Issuance,
    pub serial: &'a str,
}

/// Writes certificates, transactions and audit events (chained after `head`) of `claimed`.
/// Any `Err` leaves the transaction half-written: the caller rolls it back. A serial that is
/// already taken (or repeated in `claimed`) is [`StoreError::SerialConflict`].
pub(crate) async fn insert_claimed_in(
    conn: &mut AnyConnection,
    claimed: &[Claimed<'_>],
    head: &mut ChainHead,
) -> Result<(), StoreError> {
    let mut rest = claimed;
    while !rest.is_empty() {
        let run = prev_power_of_two(rest.len());
        let (now, later) = rest.split_at(run);
        insert_run(conn, now, head).await?;
        rest = later;
    }
    Ok(())
}

fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// `($1, …, $k), ($k+1, …)`: `rows` tuples of `columns` placeholders.
fn placeholders(rows: usize, columns: usize) -> String {
    let mut s = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..columns {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * columns + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

async fn insert_run(
    conn: &mut AnyConnection,
    run: &[Claimed<'_>],
    head: &mut ChainHead,
) -> Result<(), StoreError> {
    // The certificates first: a serial collision is reported as such (as one issuance's
    // write reports it), not as a transaction conflict through transactions.serial.
    let sql = format!(
        "INSERT INTO certificates (serial, der, subject, not_before, not_after, template, \
         transaction_id, issued_at, subject_key_sha256, delivered_at) VALUES {}",
        placeholders(run.len(), 10)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for c in run {
        let i = c.issuance;
        q = q
            .bind(c.serial)
            .bind(i.certificate_der.as_slice())
            .bind(i.subject.as_str())
            .bind(i.not_before)
            .bind(i.not_after)
            .bind(i.template.as_str())
            .bind(i.transaction_id.as_str())
            .bind(i.now)
            .bind(hex32(&i.subject_key_sha256))
            .bind(i.delivered_at);
    }
    match q.execute(&mut *conn).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(StoreError::SerialConflict),
        Err(e) => return Err(e.into()),
    }

    let sql = format!(
        "INSERT INTO transactions (transaction_id, signer_key_sha256, request_sha256, \
         status, serial, challenge_hash, created_at) VALUES {}",
        placeholders(run.len(), 7)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for c in run {
        let i = c.issuance;
        q = q
            .bind(i.transaction_id.as_str())
            .bind(hex32(&i.signer_key_sha256))
            .bind(hex32(&i.request_sha256))
            .bind(TransactionStatus::Issued.as_str())
            .bind(c.serial)
            .bind(i.challenge_hash.as_ref().map(hex32))
            .bind(i.now);
    }
    match q.execute(&mut *conn).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(StoreError::TransactionConflict),
        Err(e) => return Err(e.into()),
    }

    // The chain is computed in memory and becomes the head only once its rows are in.
    let mut next = *head;
    let mut links: Vec<AuditLink> = Vec::with_capacity(run.len());
    for c in run {
        let (link, after) = next_link(&next, &c.issuance.audit, c.serial)?;
        links.push(link);
        next = after;
    }
    let sql = format!(
        "INSERT INTO audit_log (seq, at, kind, actor, subject, detail, prev_hash, hash) VALUES {}",
        placeholders(run.len(), 8)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (c, link) in run.iter().zip(&links) {
        let ev = &c.issuance.audit;
        q = q
            .bind(link.seq)
            .bind(ev.at)
            .bind(ev.kind.as_str())
            .bind(ev.actor.as_str())
            .bind(c.serial)
            .bind(ev.detail.as_str())
            .bind(link.prev_hex.as_str())
            .bind(link.hash_hex.as_str());
    }
    match q.execute(&mut *conn).await {
        Ok(_) => {
            *head = next;
            Ok(())
        }
        // Someone appended in between: the chain would fork. Refuse; the caller retries.
        Err(e) if is_unique_violation(&e) => Err(StoreError::AuditConflict),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_powers_of_two_and_placeholders_number_every_column() {
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(11), 8);
        assert_eq!(prev_power_of_two(64), 64);
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
