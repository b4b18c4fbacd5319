//! `Store::enrollment_facts` answers what the separate lookups answer, in every state the RA
//! distinguishes (run on SQLite here and on PostgreSQL by `tests_pg`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::tests::{NOW, challenge, issuance};
use crate::*;

fn query<'a>(
    txid: &'a str,
    challenge_hash: Option<&'a [u8; 32]>,
    subject_key: &'a [u8; 32],
    subject: &'a str,
) -> EnrollmentQuery<'a> {
    EnrollmentQuery {
        transaction_id: txid,
        signer_key_sha256: &[7; 32],
        challenge_hash,
        subject_key_sha256: subject_key,
        subject,
        now: NOW,
    }
}

fn held(txid: &str) -> PendingRequest {
    PendingRequest {
        transaction_id: txid.into(),
        signer_key_sha256: [7; 32],
        request_sha256: [3; 32],
        csr_der: vec![0x30, 0x00],
        template: "device".into(),
        subject: "CN=held".into(),
        sans: Vec::new(),
        challenge_hash: None,
        binding: None,
        requester_certificate_der: vec![0x30, 0x01, 0x05],
        created_at: NOW,
        audit: AuditEvent {
            at: NOW,
            kind: AuditKind::EnrollmentPending,
            actor: "192.0.2.7".into(),
            detail: format!("transaction {txid} held for approval"),
        },
    }
}

/// Asserts the combined answer equals the separate lookups' for this query.
async fn agrees(store: &Store, q: EnrollmentQuery<'_>) -> EnrollmentFacts {
    let facts = store.enrollment_facts(q).await.unwrap();
    let transactions = store.find_transactions(q.transaction_id).await.unwrap();
    assert_eq!(facts.transaction_seen, !transactions.is_empty());
    let pending = store
        .find_pending(q.transaction_id, q.signer_key_sha256)
        .await
        .unwrap();
    assert_eq!(facts.held_seen, !pending.is_empty());
    let separate = match q.challenge_hash {
        Some(h) => Some(store.challenge_status(h, q.now).await.unwrap()),
        None => None,
    };
    assert_eq!(facts.challenge, separate);
    let subjects = store.subjects_for_key(q.subject_key_sha256).await.unwrap();
    let other = subjects.into_iter().find(|s| s != q.subject);
    assert_eq!(facts.key_certified_to, other);
    facts
}

pub(super) async fn enrollment_facts_match_the_separate_lookups(store: Store) {
    let bound = challenge(1, NOW + 60);
    let unbound = NewChallenge {
        binding_subject: None,
        binding_sans: Vec::new(),
        ..challenge(2, NOW + 60)
    };
    let expired = challenge(3, NOW);
    for c in [&bound, &unbound, &expired] {
        store.insert_challenge(c.clone()).await.unwrap();
    }
    let key = [9u8; 32];
    let fresh_key = [4u8; 32];

    // A fresh enrollment: nothing seen, the challenge usable with its binding.
    let facts = agrees(
        &store,
        query("tx-new", Some(&bound.hash), &fresh_key, "CN=a"),
    )
    .await;
    assert!(!facts.transaction_seen && !facts.held_seen);
    assert!(facts.key_certified_to.is_none());
    match facts.challenge {
        Some(ChallengeStatus::Usable(r)) => {
            assert_eq!(r.binding_sans, bound.binding_sans);
            assert_eq!(r.binding_subject, bound.binding_subject);
            assert_eq!(r.template, "device");
        }
        other => panic!("{other:?}"),
    }
    let facts = agrees(
        &store,
        query("tx-new", Some(&unbound.hash), &fresh_key, "CN=a"),
    )
    .await;
    assert!(
        matches!(facts.challenge, Some(ChallengeStatus::Usable(r)) if r.binding_sans.is_empty())
    );
    let facts = agrees(
        &store,
        query("tx-new", Some(&expired.hash), &fresh_key, "CN=a"),
    )
    .await;
    assert_eq!(facts.challenge, Some(ChallengeStatus::Expired));
    let facts = agrees(
        &store,
        query("tx-new", Some(&[0xee; 32]), &fresh_key, "CN=a"),
    )
    .await;
    assert_eq!(facts.challenge, Some(ChallengeStatus::Unknown));
    let facts = agrees(&store, query("tx-new", None, &fresh_key, "CN=a")).await;
    assert_eq!(facts.challenge, None);

    // An issuance spends the bound challenge and certifies `key` to CN=dev1.
    store
        .record_issuance(issuance("tx-1", "0a", Some(bound.hash)))
        .await
        .unwrap();
    let facts = agrees(&store, query("tx-1", Some(&bound.hash), &key, "CN=dev1")).await;
    assert!(facts.transaction_seen);
    assert_eq!(facts.challenge, Some(ChallengeStatus::Used));
    assert!(
        facts.key_certified_to.is_none(),
        "same subject: no conflict"
    );
    let facts = agrees(&store, query("tx-2", None, &key, "CN=other")).await;
    assert!(!facts.transaction_seen);
    assert_eq!(facts.key_certified_to.as_deref(), Some("CN=dev1"));

    // A held request is seen by its own signer key only.
    store.record_pending(held("tx-h")).await.unwrap();
    let facts = agrees(&store, query("tx-h", None, &fresh_key, "CN=a")).await;
    assert!(facts.held_seen && !facts.transaction_seen);
    let stranger = EnrollmentQuery {
        signer_key_sha256: &[6; 32],
        ..query("tx-h", None, &fresh_key, "CN=a")
    };
    assert!(!agrees(&store, stranger).await.held_seen);
}

#[tokio::test]
async fn enrollment_facts_match_the_separate_lookups_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    let store = Store::open(&url).await.unwrap();
    enrollment_facts_match_the_separate_lookups(store).await;
}
