//! Behaviour of the store against real SQLite files (the production backend for one node).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use sqlx::Row;
use tempfile::TempDir;

use crate::*;

pub(super) const NOW: i64 = 1_700_000_000;

async fn file_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    let store = Store::open(&url).await.unwrap();
    (dir, store)
}

fn url_of(dir: &TempDir) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    )
}

pub(super) fn challenge(hash_byte: u8, expires_at: i64) -> NewChallenge {
    NewChallenge {
        hash: [hash_byte; 32],
        template: "device".into(),
        binding_subject: Some("CN=dev1".into()),
        binding_sans: vec!["dns:dev1.example".into(), "dns:dev1.lan".into()],
        created_at: NOW - 10,
        expires_at,
        created_by: "admin".into(),
    }
}

pub(super) fn issuance(txid: &str, serial: &str, challenge_hash: Option<[u8; 32]>) -> Issuance {
    Issuance {
        transaction_id: txid.into(),
        signer_key_sha256: [7; 32],
        request_sha256: [8; 32],
        challenge_hash,
        voucher: None,
        serial_hex: serial.into(),
        certificate_der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        subject_key_sha256: [9; 32],
        subject: "CN=dev1".into(),
        not_before: NOW,
        not_after: NOW + 365 * 86_400,
        template: "device".into(),
        now: NOW,
        delivered_at: None,
        audit: AuditEvent {
            at: NOW,
            kind: AuditKind::CertificateIssued,
            actor: "ra".into(),
            detail: format!("transaction {txid}"),
        },
    }
}

fn event(i: u32) -> AuditEvent {
    AuditEvent {
        at: NOW + i64::from(i),
        kind: AuditKind::EnrollmentRefused,
        actor: format!("client-{i}"),
        detail: "challenge expired".into(),
    }
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn cert_of(i: &Issuance) -> CertificateRecord {
    CertificateRecord {
        serial_hex: crate::codec::normalize_serial(&i.serial_hex).unwrap(),
        certificate_der: i.certificate_der.clone(),
        subject: i.subject.clone(),
        not_before: i.not_before,
        not_after: i.not_after,
        template: i.template.clone(),
        transaction_id: i.transaction_id.clone(),
        issued_at: i.now,
    }
}

/// What an attacker with DDL rights does first: the append-only triggers go.
async fn disable_audit_guards(store: &Store) {
    let sql = match store.backend {
        crate::backend::Backend::Sqlite => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
        }
        crate::backend::Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER USER",
    };
    sqlx::raw_sql(sql).execute(&store.pool).await.unwrap();
}

#[tokio::test]
async fn sqlite_connections_use_wal_full_sync_and_foreign_keys() {
    let (_dir, store) = file_store().await;
    let mut conn = store.pool.acquire().await.unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(fk, 1);
}

pub(super) async fn challenge_lifecycle_usable_then_used(store: Store) {
    let c = challenge(1, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();

    match store.challenge_status(&c.hash, NOW).await.unwrap() {
        ChallengeStatus::Usable(rec) => {
            assert_eq!(rec.hash, c.hash);
            assert_eq!(rec.template, "device");
            assert_eq!(rec.binding_subject.as_deref(), Some("CN=dev1"));
            assert_eq!(rec.binding_sans, c.binding_sans);
            assert_eq!(rec.created_by, "admin");
            assert_eq!(rec.expires_at, NOW + 3600);
        }
        other => panic!("expected usable, got {other:?}"),
    }

    store
        .record_issuance(issuance("tx-1", "01ab", Some(c.hash)))
        .await
        .unwrap();
    assert_eq!(
        store.challenge_status(&c.hash, NOW).await.unwrap(),
        ChallengeStatus::Used
    );
    // Used wins over expired.
    assert_eq!(
        store.challenge_status(&c.hash, NOW + 7200).await.unwrap(),
        ChallengeStatus::Used
    );
    assert_eq!(store.count_challenges_used().await.unwrap(), 1);

    // A second use fails and writes nothing.
    let again = store
        .record_issuance(issuance("tx-2", "02ab", Some(c.hash)))
        .await;
    assert!(matches!(again, Err(StoreError::ChallengeUnavailable)));
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert!(store.find_transactions("tx-2").await.unwrap().is_empty());
}

#[tokio::test]
async fn unbound_challenge_round_trips_without_bindings() {
    let store = Store::open_in_memory().await.unwrap();
    let mut c = challenge(9, NOW + 60);
    c.binding_subject = None;
    c.binding_sans.clear();
    store.insert_challenge(c.clone()).await.unwrap();
    let ChallengeStatus::Usable(rec) = store.challenge_status(&c.hash, NOW).await.unwrap() else {
        panic!("not usable");
    };
    assert_eq!(rec.binding_subject, None);
    assert!(rec.binding_sans.is_empty());
    assert!(matches!(
        store.insert_challenge(c).await,
        Err(StoreError::ChallengeConflict)
    ));
}

pub(super) async fn expired_and_unknown_challenges_are_not_usable(store: Store) {
    let c = challenge(2, NOW);
    store.insert_challenge(c.clone()).await.unwrap();
    assert_eq!(
        store.challenge_status(&c.hash, NOW - 1).await.unwrap(),
        ChallengeStatus::Usable(ChallengeRecord {
            hash: c.hash,
            template: c.template.clone(),
            binding_subject: c.binding_subject.clone(),
            binding_sans: c.binding_sans.clone(),
            created_at: c.created_at,
            expires_at: c.expires_at,
            created_by: c.created_by.clone(),
        })
    );
    // expires_at is exclusive.
    assert_eq!(
        store.challenge_status(&c.hash, NOW).await.unwrap(),
        ChallengeStatus::Expired
    );
    assert!(matches!(
        store
            .record_issuance(issuance("tx-e", "0e", Some(c.hash)))
            .await,
        Err(StoreError::ChallengeUnavailable)
    ));
    assert_eq!(
        store.challenge_status(&[0xee; 32], NOW).await.unwrap(),
        ChallengeStatus::Unknown
    );
    assert!(matches!(
        store
            .record_issuance(issuance("tx-u", "0f", Some([0xee; 32])))
            .await,
        Err(StoreError::ChallengeUnavailable)
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 0);
    assert_eq!(store.count_challenges_used().await.unwrap(), 0);
    assert!(matches!(
        store.insert_challenge(challenge(3, NOW - 10)).await,
        Err(StoreError::InvalidInput(_))
    ));
}

pub(super) async fn fifty_concurrent_issuances_consume_a_challenge_exactly_once(store: Store) {
    let c = challenge(4, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();

    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for n in 0..50u32 {
        let store = store.clone();
        let barrier = barrier.clone();
        let hash = c.hash;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .record_issuance(issuance(
                    &format!("tx-{n}"),
                    &format!("{n:04x}"),
                    Some(hash),
                ))
                .await
        }));
    }
    let mut ok = 0;
    let mut unavailable = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::ChallengeUnavailable) => unavailable += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, unavailable), (1, 49));
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM transactions").await, 1);
    assert_eq!(store.count_challenges_used().await.unwrap(), 1);
    // One certificate-issued event; the losers' transactions left no trace.
    assert_eq!(store.verify_audit_chain().await.unwrap(), 1);
}

pub(super) async fn duplicate_serial_rolls_back_the_challenge_consumption(store: Store) {
    store
        .record_issuance(issuance("tx-a", "00c0ffee", None))
        .await
        .unwrap();
    let c = challenge(5, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();
    let audit_before = store.verify_audit_chain().await.unwrap();

    // Same serial in another case and without the sign octet: still the same serial.
    let r = store
        .record_issuance(issuance("tx-b", "C0FFEE", Some(c.hash)))
        .await;
    assert!(matches!(r, Err(StoreError::SerialConflict)), "{r:?}");

    assert!(matches!(
        store.challenge_status(&c.hash, NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));
    assert_eq!(store.count_challenges_used().await.unwrap(), 0);
    assert!(store.find_transactions("tx-b").await.unwrap().is_empty());
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert_eq!(store.verify_audit_chain().await.unwrap(), audit_before);

    // And the challenge still works for a good request.
    store
        .record_issuance(issuance("tx-b", "00c0ffef", Some(c.hash)))
        .await
        .unwrap();
    assert_eq!(store.count_challenges_used().await.unwrap(), 1);
}

pub(super) async fn duplicate_transaction_id_is_refused_and_writes_nothing(store: Store) {
    store
        .record_issuance(issuance("tx-dup", "11", None))
        .await
        .unwrap();
    let c = challenge(6, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();

    // The same transaction id from another key, and the same (id, request) again: refused,
    // nothing written, the challenge still usable.
    let mut other_key = issuance("tx-dup", "22", Some(c.hash));
    other_key.signer_key_sha256 = [9; 32];
    other_key.request_sha256 = [10; 32];
    let same_request = issuance("tx-dup", "33", Some(c.hash));
    for attempt in [other_key, same_request] {
        let r = store.record_issuance(attempt).await;
        assert!(matches!(r, Err(StoreError::TransactionConflict)), "{r:?}");
    }
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert!(store.find_certificate("22").await.unwrap().is_none());
    assert!(store.find_certificate("33").await.unwrap().is_none());
    assert!(matches!(
        store.challenge_status(&c.hash, NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));
    // The first transaction is untouched.
    let t = store.find_transactions("tx-dup").await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].serial, "11");

    // The same key with a new request under the same id (a renewal by a client that derives
    // the id from its key) is a second transaction.
    let mut renewal = issuance("tx-dup", "44", None);
    renewal.request_sha256 = [11; 32];
    store.record_issuance(renewal).await.unwrap();
    let t = store.find_transactions("tx-dup").await.unwrap();
    assert_eq!(
        t.iter().map(|r| r.serial.as_str()).collect::<Vec<_>>(),
        ["11", "44"]
    );
}

#[tokio::test]
async fn transactions_and_certificates_are_found_again() {
    let (dir, store) = file_store().await;
    let c = challenge(7, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();
    let i = issuance("tx-find", "00Ff01", Some(c.hash));
    store.record_issuance(i.clone()).await.unwrap();
    store.close().await;

    // Durable across a reopen (and migrations are idempotent).
    let store = Store::open(&url_of(&dir)).await.unwrap();
    let t = store.find_transactions("tx-find").await.unwrap().remove(0);
    assert_eq!(
        t,
        TransactionRecord {
            transaction_id: "tx-find".into(),
            signer_key_sha256: [7; 32],
            request_sha256: [8; 32],
            status: TransactionStatus::Issued,
            serial: "ff01".into(),
            certificate_der: i.certificate_der.clone(),
        }
    );
    // GetCert decodes the INTEGER and may strip the sign octet: found either way.
    assert_eq!(
        store.find_certificate("ff01").await.unwrap().as_ref(),
        Some(&cert_of(&i))
    );
    let cert = store.find_certificate("00FF01").await.unwrap().unwrap();
    assert_eq!(
        cert,
        CertificateRecord {
            serial_hex: "ff01".into(),
            certificate_der: i.certificate_der.clone(),
            subject: "CN=dev1".into(),
            not_before: NOW,
            not_after: NOW + 365 * 86_400,
            template: "device".into(),
            transaction_id: "tx-find".into(),
            issued_at: NOW,
        }
    );
    assert!(store.find_certificate("00ff02").await.unwrap().is_none());
    assert!(store.find_certificate("not hex").await.unwrap().is_none());
    assert!(store.find_transactions("nope").await.unwrap().is_empty());
    assert!(matches!(
        store.record_issuance(issuance("tx-x", "xyz", None)).await,
        Err(StoreError::InvalidInput(_))
    ));

    store.append_audit(event(1)).await.unwrap();
    let events = store.audit_events(10).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["certificate-issued", "enrollment-refused"]);
    assert_eq!(events[0].subject, "ff01");
    assert_eq!(events[0].actor, "ra");
    assert_eq!(events[0].detail, "transaction tx-find");
    assert_eq!(events[0].prev_hash, [0; 32]);
    assert_eq!(events[1].seq, 2);
    assert_eq!(events[1].subject, "");
    assert_eq!(events[1].prev_hash, events[0].hash);
}

pub(super) async fn audit_chain_detects_an_edited_row(store: Store) {
    for i in 1..=5 {
        assert_eq!(store.append_audit(event(i)).await.unwrap(), u64::from(i));
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), 5);

    // The triggers refuse edits from ordinary clients...
    assert!(
        sqlx::query("UPDATE audit_log SET detail = 'ok' WHERE seq = 3")
            .execute(&store.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&store.pool)
            .await
            .is_err()
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), 5);

    // ...and the chain catches one who can drop them.
    disable_audit_guards(&store).await;
    sqlx::query("UPDATE audit_log SET detail = 'challenge accepted' WHERE seq = 3")
        .execute(&store.pool)
        .await
        .unwrap();
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken(e)) => {
            assert_eq!(
                e,
                AuditChainError {
                    seq: 3,
                    reason: ChainBreak::HashMismatch
                }
            );
        }
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

pub(super) async fn audit_chain_detects_a_deleted_middle_row(store: Store) {
    for i in 1..=5 {
        store.append_audit(event(i)).await.unwrap();
    }
    disable_audit_guards(&store).await;
    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&store.pool)
        .await
        .unwrap();
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken(e)) => {
            assert_eq!(e.seq, 3);
            assert_eq!(e.reason, ChainBreak::Gap { found: 4 });
        }
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[tokio::test]
async fn audit_chain_detects_renumbering_and_reordering() {
    // Delete row 3 and renumber 4,5 down: no gap, but the links and hashes break.
    let (_dir, store) = file_store().await;
    for i in 1..=5 {
        store.append_audit(event(i)).await.unwrap();
    }
    sqlx::raw_sql(
        "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update; \
         DELETE FROM audit_log WHERE seq = 3; \
         UPDATE audit_log SET seq = seq - 1 WHERE seq > 3",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let Err(StoreError::AuditChainBroken(e)) = store.verify_audit_chain().await else {
        panic!("renumbering not detected");
    };
    assert_eq!(e.seq, 3);
    assert_eq!(e.reason, ChainBreak::PrevHashMismatch);

    // Swap the contents of rows 2 and 4 (seq kept): detected at 2.
    let (_dir2, store) = file_store().await;
    for i in 1..=5 {
        store.append_audit(event(i)).await.unwrap();
    }
    sqlx::raw_sql(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET seq = -2 WHERE seq = 2; \
         UPDATE audit_log SET seq = 2 WHERE seq = 4; \
         UPDATE audit_log SET seq = 4 WHERE seq = -2",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let Err(StoreError::AuditChainBroken(e)) = store.verify_audit_chain().await else {
        panic!("reordering not detected");
    };
    assert_eq!(e.seq, 2);
}

#[tokio::test]
async fn audit_chain_detects_a_deleted_first_row() {
    let (_dir, store) = file_store().await;
    for i in 1..=3 {
        store.append_audit(event(i)).await.unwrap();
    }
    sqlx::raw_sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 1")
        .execute(&store.pool)
        .await
        .unwrap();
    let Err(StoreError::AuditChainBroken(e)) = store.verify_audit_chain().await else {
        panic!("not detected");
    };
    assert_eq!((e.seq, e.reason), (1, ChainBreak::Gap { found: 2 }));
}

pub(super) async fn concurrent_appends_keep_one_valid_chain(store: Store) {
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(
            async move { store.append_audit(event(i)).await },
        ));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
    assert_eq!(store.verify_audit_chain().await.unwrap(), 50);
    assert_eq!(store.audit_events(100).await.unwrap().len(), 50);
    assert_eq!(store.audit_events(3).await.unwrap()[2].seq, 50);
}

#[tokio::test]
async fn empty_chain_verifies() {
    let store = Store::open_in_memory().await.unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), 0);
    assert!(store.audit_events(5).await.unwrap().is_empty());
}

#[tokio::test]
async fn edited_migration_is_refused_at_open() {
    let (dir, store) = file_store().await;
    sqlx::query("UPDATE store_schema SET sha256 = 'x' WHERE version = 1")
        .execute(&store.pool)
        .await
        .unwrap();
    store.close().await;
    assert!(matches!(
        Store::open(&url_of(&dir)).await,
        Err(StoreError::Schema(_))
    ));
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    assert!(matches!(
        Store::open("mysql://localhost/db").await,
        Err(StoreError::UnsupportedUrl(s)) if s == "mysql"
    ));
    assert!(matches!(
        Store::open("no-scheme").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
}

#[test]
fn audit_kinds_display_as_kebab_case_and_parse_back() {
    assert_eq!(
        AuditKind::CertificateIssued.to_string(),
        "certificate-issued"
    );
    assert_eq!(
        AuditKind::ChallengeRejected.to_string(),
        "challenge-rejected"
    );
    for &k in AuditKind::ALL {
        assert_eq!(k.as_str().parse::<AuditKind>(), Ok(k));
    }
    assert!("Certificate-Issued".parse::<AuditKind>().is_err());
}

#[test]
fn errors_do_not_leak_database_detail() {
    let e = StoreError::from(sqlx::Error::Protocol("SELECT secret FROM x".into()));
    assert_eq!(e.to_string(), "database error");
}

#[tokio::test]
async fn sqlite_challenge_lifecycle_usable_then_used() {
    let (_dir, store) = file_store().await;
    challenge_lifecycle_usable_then_used(store).await;
}

#[tokio::test]
async fn sqlite_expired_and_unknown_challenges_are_not_usable() {
    let (_dir, store) = file_store().await;
    expired_and_unknown_challenges_are_not_usable(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_fifty_concurrent_issuances_consume_a_challenge_exactly_once() {
    let (_dir, store) = file_store().await;
    fifty_concurrent_issuances_consume_a_challenge_exactly_once(store).await;
}

#[tokio::test]
async fn sqlite_duplicate_serial_rolls_back_the_challenge_consumption() {
    let (_dir, store) = file_store().await;
    duplicate_serial_rolls_back_the_challenge_consumption(store).await;
}

#[tokio::test]
async fn sqlite_duplicate_transaction_id_is_refused_and_writes_nothing() {
    let (_dir, store) = file_store().await;
    duplicate_transaction_id_is_refused_and_writes_nothing(store).await;
}

#[tokio::test]
async fn sqlite_audit_chain_detects_an_edited_row() {
    let (_dir, store) = file_store().await;
    audit_chain_detects_an_edited_row(store).await;
}

#[tokio::test]
async fn sqlite_audit_chain_detects_a_deleted_middle_row() {
    let (_dir, store) = file_store().await;
    audit_chain_detects_a_deleted_middle_row(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_appends_keep_one_valid_chain() {
    let (_dir, store) = file_store().await;
    concurrent_appends_keep_one_valid_chain(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_handle_opens_the_same_file_while_the_first_writes() {
    // scepd's tests (and `scepd challenge issue`) open the database of a running server.
    let (dir, first) = file_store().await;
    let writer = {
        let first = first.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                first.append_audit(event(i)).await.unwrap();
            }
        })
    };
    let mut handles = Vec::new();
    for _ in 0..5 {
        handles.push(Store::open(&url_of(&dir)).await.unwrap());
    }
    for h in &handles {
        h.append_audit(event(1000)).await.unwrap();
    }
    writer.await.unwrap();
    assert_eq!(handles[0].verify_audit_chain().await.unwrap(), 105);
}

#[tokio::test]
async fn subjects_certified_for_a_key_are_found() {
    let (_dir, store) = file_store().await;
    let mut first = issuance("tx-k1", "0a01", None);
    first.subject_key_sha256 = [42; 32];
    store.record_issuance(first).await.unwrap();
    assert_eq!(
        store.subjects_for_key(&[42; 32]).await.unwrap(),
        ["CN=dev1"]
    );
    assert!(store.subjects_for_key(&[43; 32]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_voucher_is_spent_once_and_a_refused_issuance_writes_nothing() {
    let (_dir, store) = file_store().await;
    let mut first = issuance("tx-voucher-1", "0a01", None);
    first.voucher = Some("signed:mdm1:id-1".into());
    assert!(!store.voucher_spent("signed:mdm1:id-1").await.unwrap());
    store.record_issuance(first).await.unwrap();
    assert!(store.voucher_spent("signed:mdm1:id-1").await.unwrap());

    // Another device (another transaction, key and request) presents the same id.
    let mut second = issuance("tx-voucher-2", "0a02", None);
    second.voucher = Some("signed:mdm1:id-1".into());
    second.signer_key_sha256 = [9; 32];
    second.request_sha256 = [10; 32];
    assert!(matches!(
        store.record_issuance(second).await,
        Err(StoreError::ChallengeUnavailable)
    ));
    assert!(store.find_certificate("0a02").await.unwrap().is_none());
    assert!(
        store
            .find_transactions("tx-voucher-2")
            .await
            .unwrap()
            .is_empty()
    );

    // A refused claim (the transaction ID belongs to another key) spends nothing: the
    // voucher it carried is still good for its own device.
    let mut conflicting = issuance("tx-voucher-1", "0a03", None);
    conflicting.voucher = Some("signed:mdm1:id-2".into());
    conflicting.signer_key_sha256 = [11; 32];
    assert!(matches!(
        store.record_issuance(conflicting).await,
        Err(StoreError::TransactionConflict)
    ));
    let mut rightful = issuance("tx-voucher-3", "0a04", None);
    rightful.voucher = Some("signed:mdm1:id-2".into());
    rightful.request_sha256 = [12; 32];
    assert!(!store.voucher_spent("signed:mdm1:id-2").await.unwrap());
    store.record_issuance(rightful).await.unwrap();

    // A challenge and a voucher together is a caller's bug, refused outright.
    let mut both = issuance("tx-voucher-4", "0a05", Some([1; 32]));
    both.voucher = Some("signed:mdm1:id-3".into());
    assert!(matches!(
        store.record_issuance(both).await,
        Err(StoreError::InvalidInput(_))
    ));
}
