//! Group commit of issuances (SQLite): concurrent issuances are all committed, each challenge
//! is spent once, a refused or failing issuance loses none of the others, and the delivery
//! mark travels in the issuance transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use sqlx::Row;
use tempfile::TempDir;

use crate::group_commit::commit_as_one_batch;
use crate::tests::{NOW, challenge, issuance};
use crate::*;

async fn file_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    (dir, Store::open(&url).await.unwrap())
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A device's issuance: its own transaction id, request, serial and (if given) challenge.
fn device(n: u32, challenge_hash: Option<[u8; 32]>) -> Issuance {
    let mut i = issuance(
        &format!("tx-{n}"),
        &format!("{:04x}", n + 1),
        challenge_hash,
    );
    i.request_sha256 = [u8::try_from(n % 251).unwrap(); 32];
    i
}

fn hash(n: u32) -> [u8; 32] {
    let mut h = [0xc0; 32];
    h[..4].copy_from_slice(&n.to_be_bytes());
    h
}

async fn insert_challenges(store: &Store, n: u32) {
    for k in 0..n {
        let mut c = challenge(0, NOW + 3600);
        c.hash = hash(k);
        store.insert_challenge(c).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_issuances_are_all_committed_and_each_challenge_is_spent_once() {
    let (_dir, store) = file_store().await;
    insert_challenges(&store, 40).await;
    // 40 devices with a challenge each, plus 40 more that reuse those challenges: the
    // writer takes them in batches of whatever is waiting.
    let barrier = Arc::new(tokio::sync::Barrier::new(80));
    let mut tasks = Vec::new();
    for n in 0..80u32 {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            (
                n,
                store.record_issuance(device(n, Some(hash(n % 40)))).await,
            )
        }));
    }
    let mut winners = [0u32; 40];
    for t in tasks {
        let (n, outcome) = t.await.unwrap();
        match outcome {
            Ok(()) => winners[usize::try_from(n % 40).unwrap()] += 1,
            Err(StoreError::ChallengeUnavailable) => {}
            Err(e) => panic!("device {n}: {e:?}"),
        }
    }
    assert!(winners.iter().all(|w| *w == 1), "{winners:?}");
    assert_eq!(store.count_certificates().await.unwrap(), 40);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM transactions").await, 40);
    assert_eq!(store.count_challenges_used().await.unwrap(), 40);
    // One certificate-issued event per certificate, in one unbroken chain.
    assert_eq!(store.verify_audit_chain().await.unwrap(), 40);
}

#[tokio::test]
async fn a_refused_issuance_in_a_batch_writes_nothing_and_the_others_commit() {
    let (_dir, store) = file_store().await;
    insert_challenges(&store, 4).await;
    let first = device(0, Some(hash(0)));
    // Same transaction id and request as `first`, another challenge: a retry that lost.
    let mut same_request = device(0, Some(hash(1)));
    same_request.serial_hex = "0b01".into();
    // Challenge 0 again: spent by `first` earlier in the same batch.
    let mut spent = device(2, Some(hash(0)));
    spent.serial_hex = "0b02".into();
    let renewal = device(3, None);
    let outcomes = commit_as_one_batch(
        &store,
        vec![
            first,
            same_request,
            spent,
            renewal,
            device(4, Some(hash(2))),
        ],
    )
    .await;
    assert!(matches!(
        outcomes.as_slice(),
        [
            Ok(()),
            Err(StoreError::TransactionConflict),
            Err(StoreError::ChallengeUnavailable),
            Ok(()),
            Ok(())
        ]
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 3);
    assert_eq!(store.find_certificate("0b01").await.unwrap(), None);
    // The losing retry's challenge is still usable; 0 and 2 are spent.
    assert_eq!(store.count_challenges_used().await.unwrap(), 2);
    assert!(matches!(
        store.challenge_status(&hash(1), NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));
    assert_eq!(store.verify_audit_chain().await.unwrap(), 3);
}

#[tokio::test]
async fn a_failing_issuance_splits_the_batch_and_loses_none_of_the_others() {
    let (_dir, store) = file_store().await;
    insert_challenges(&store, 3).await;
    store.record_issuance(device(100, None)).await.unwrap();
    // A serial already recorded: the INSERT fails after the challenge was spent, so the
    // batch is rolled back and every issuance of it is committed alone.
    let mut clash = device(1, Some(hash(1)));
    clash.serial_hex = device(100, None).serial_hex;
    let outcomes = commit_as_one_batch(
        &store,
        vec![device(0, Some(hash(0))), clash, device(2, Some(hash(2)))],
    )
    .await;
    assert!(matches!(
        outcomes.as_slice(),
        [Ok(()), Err(StoreError::SerialConflict), Ok(())]
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 3);
    // The clashing issuance's challenge was given back with its rollback.
    assert_eq!(store.count_challenges_used().await.unwrap(), 2);
    assert!(matches!(
        store.challenge_status(&hash(1), NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));
    assert_eq!(store.verify_audit_chain().await.unwrap(), 3);
}

#[tokio::test]
async fn the_delivery_mark_is_recorded_with_the_issuance() {
    let (_dir, store) = file_store().await;
    let mut delivered = device(0, None);
    delivered.delivered_at = Some(NOW + 1);
    store.record_issuance(delivered).await.unwrap();
    store.record_issuance(device(1, None)).await.unwrap();
    let entry = |serial: &'static str| {
        let store = store.clone();
        async move { store.certificate_entry(serial).await.unwrap().unwrap() }
    };
    assert_eq!(entry("0001").await.delivered_at, Some(NOW + 1));
    assert_eq!(entry("0002").await.delivered_at, None);
    // A later mark keeps the first delivery time.
    store.mark_delivered("0001", NOW + 9).await.unwrap();
    assert_eq!(entry("0001").await.delivered_at, Some(NOW + 1));
}

#[test]
fn a_store_whose_writer_runtime_is_gone_still_records_issuances() {
    // A store opened on one runtime and used on another (the writer task died with the
    // first): nothing was queued, so the issuance is committed directly.
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    let store = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(Store::open(&url)).unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        store.record_issuance(device(0, None)).await.unwrap();
        let fresh = Store::open(&url).await.unwrap();
        assert_eq!(fresh.count_certificates().await.unwrap(), 1);
        assert_eq!(fresh.verify_audit_chain().await.unwrap(), 1);
    });
}

#[tokio::test]
async fn a_batch_of_distinct_transactions_is_written_in_multi_row_runs() {
    let (_dir, store) = file_store().await;
    insert_challenges(&store, 12).await;
    // 11 issuances: runs of 8, 2 and 1 rows; one of them reuses a challenge spent earlier in
    // the batch and is refused without writing anything.
    let mut batch: Vec<Issuance> = (0..10).map(|n| device(n, Some(hash(n)))).collect();
    batch.insert(5, device(50, Some(hash(3))));
    let outcomes = commit_as_one_batch(&store, batch.clone()).await;
    for (n, outcome) in outcomes.iter().enumerate() {
        if n == 5 {
            assert!(matches!(outcome, Err(StoreError::ChallengeUnavailable)));
        } else {
            assert!(outcome.is_ok(), "{n}: {outcome:?}");
        }
    }
    assert_eq!(store.count_certificates().await.unwrap(), 10);
    assert_eq!(store.count_challenges_used().await.unwrap(), 10);
    assert!(store.find_transactions("tx-50").await.unwrap().is_empty());
    for i in batch.iter().filter(|i| i.transaction_id != "tx-50") {
        let found = store.find_transactions(&i.transaction_id).await.unwrap();
        let [t] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert_eq!(t.certificate_der, i.certificate_der);
        assert_eq!(t.request_sha256, i.request_sha256);
    }
    // One audit event per issuance, chained in batch order.
    assert_eq!(store.verify_audit_chain().await.unwrap(), 10);
    let subjects: Vec<String> = sqlx::query("SELECT subject FROM audit_log ORDER BY seq")
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("subject").unwrap())
        .collect();
    let expected: Vec<String> = batch
        .iter()
        .filter(|i| i.transaction_id != "tx-50")
        .map(|i| crate::codec::normalize_serial(&i.serial_hex).unwrap())
        .collect();
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn a_serial_repeated_inside_a_multi_row_run_splits_the_batch() {
    let (_dir, store) = file_store().await;
    insert_challenges(&store, 4).await;
    let mut twin = device(2, Some(hash(2)));
    twin.serial_hex = device(0, None).serial_hex;
    let outcomes = commit_as_one_batch(
        &store,
        vec![
            device(0, Some(hash(0))),
            device(1, Some(hash(1))),
            twin,
            device(3, Some(hash(3))),
        ],
    )
    .await;
    assert!(matches!(
        outcomes.as_slice(),
        [Ok(()), Ok(()), Err(StoreError::SerialConflict), Ok(())]
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 3);
    assert_eq!(store.count_challenges_used().await.unwrap(), 3);
    assert!(matches!(
        store.challenge_status(&hash(2), NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));
    assert_eq!(store.verify_audit_chain().await.unwrap(), 3);
}
