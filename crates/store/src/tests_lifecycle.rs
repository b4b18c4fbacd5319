//! Manual approval, revocation, CRL state, listing and delivery: shared scenarios run on
//! SQLite files here and on PostgreSQL in `tests_pg.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use sqlx::Row;
use tempfile::TempDir;

use crate::tests::{NOW, challenge, issuance};
use crate::*;

async fn file_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url_of(&dir)).await.unwrap();
    (dir, store)
}

fn url_of(dir: &TempDir) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    )
}

fn held(txid: &str, request_byte: u8, challenge_hash: Option<[u8; 32]>) -> PendingRequest {
    PendingRequest {
        transaction_id: txid.into(),
        signer_key_sha256: [7; 32],
        request_sha256: [request_byte; 32],
        csr_der: vec![0x30, 0x00],
        template: "device".into(),
        subject: "CN=dev1".into(),
        sans: vec!["dns:dev1.example".into(), "ip:192.0.2.1".into()],
        challenge_hash,
        binding: Some(bound()),
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

/// The binding [`held`] requests were accepted under: a template, a subject and two SANs,
/// in an order that is not sorted (it must come back as recorded).
fn bound() -> policy::Binding {
    policy::Binding {
        template: Some("device".into()),
        subject: Some("CN=dev1".into()),
        sans: vec!["ip:192.0.2.1".into(), "dns:dev1.example".into()],
    }
}

fn signed(serial: &str) -> PendingIssuance {
    PendingIssuance {
        serial_hex: serial.into(),
        certificate_der: vec![0x30, 0x03, 0x02, 0x01, 0x02],
        subject_key_sha256: [9; 32],
        subject: "CN=dev1".into(),
        not_before: NOW + 100,
        not_after: NOW + 100 + 86_400,
        now: NOW + 100,
        audit: AuditEvent {
            at: NOW + 100,
            kind: AuditKind::CertificateIssued,
            actor: "ca".into(),
            detail: "approved request".into(),
        },
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

async fn audit_kinds(store: &Store) -> Vec<(String, String, String)> {
    store
        .audit_events(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.actor, e.subject))
        .collect()
}

fn state_name(r: &PendingRecord) -> &'static str {
    r.state.as_str()
}

/// Issues `serial` directly (no challenge) under its own transaction id and template.
async fn issue(store: &Store, serial: &str, template: &str) {
    let mut i = issuance(&format!("tx-{serial}"), serial, None);
    i.template = template.into();
    store.record_issuance(i).await.unwrap();
}

pub(super) async fn pending_request_is_approved_then_issued(store: Store) {
    let c = challenge(0x21, NOW + 3600);
    store.insert_challenge(c.clone()).await.unwrap();
    let id = store
        .record_pending(held("tx-p", 1, Some(c.hash)))
        .await
        .unwrap();

    // The challenge is spent as soon as the request is held.
    assert_eq!(
        store.challenge_status(&c.hash, NOW).await.unwrap(),
        ChallengeStatus::Used
    );
    let listed = store.list_pending().await.unwrap();
    assert_eq!(listed.len(), 1);
    let r = &listed[0];
    assert_eq!(r.id, id);
    assert_eq!(r.state, PendingState::Pending);
    assert_eq!(r.transaction_id, "tx-p");
    assert_eq!(r.signer_key_sha256, [7; 32]);
    assert_eq!(r.request_sha256, [1; 32]);
    assert_eq!(r.csr_der, vec![0x30, 0x00]);
    assert_eq!(r.sans, ["dns:dev1.example", "ip:192.0.2.1"]);
    assert_eq!(r.challenge_hash, Some(c.hash));
    assert_eq!(r.binding, Some(bound()));
    assert_eq!(r.requester_certificate_der, vec![0x30, 0x01, 0x05]);
    assert_eq!(r.created_at, NOW);

    // A poll needs the transaction id AND the key that signed it.
    assert_eq!(store.find_pending("tx-p", &[7; 32]).await.unwrap(), listed);
    assert!(
        store
            .find_pending("tx-p", &[9; 32])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_pending("tx-q", &[7; 32])
            .await
            .unwrap()
            .is_empty()
    );

    // The same request again, or the id from another key, held or issued: refused.
    let mut other_key = held("tx-p", 2, None);
    other_key.signer_key_sha256 = [9; 32];
    for again in [held("tx-p", 1, None), other_key] {
        assert!(matches!(
            store.record_pending(again).await,
            Err(StoreError::TransactionConflict)
        ));
    }
    let mut direct = issuance("tx-p", "5a", None);
    direct.signer_key_sha256 = [9; 32];
    assert!(matches!(
        store.record_issuance(direct).await,
        Err(StoreError::TransactionConflict)
    ));
    let mut same_request = issuance("tx-p", "5b", None);
    same_request.request_sha256 = [1; 32];
    assert!(matches!(
        store.record_issuance(same_request).await,
        Err(StoreError::TransactionConflict)
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 0);

    // Not approved yet: cannot be completed.
    assert!(matches!(
        store.complete_pending(id, signed("0a01")).await,
        Err(StoreError::RequestState {
            found: "pending",
            expected: "approved"
        })
    ));

    let approved = store
        .approve_pending(id, "officer-ann", NOW + 50)
        .await
        .unwrap();
    assert_eq!(
        approved.state,
        PendingState::Approved {
            by: "officer-ann".into(),
            at: NOW + 50
        }
    );
    assert_eq!(approved.csr_der, vec![0x30, 0x00]);
    // What the RA hands to the CA once approved: the binding it was held under.
    assert_eq!(approved.binding, Some(bound()));
    for r in [
        store.approve_pending(id, "officer-bob", NOW + 51).await,
        store.deny_pending(id, "officer-bob", "no", NOW + 51).await,
    ] {
        assert!(
            matches!(
                r,
                Err(StoreError::RequestState {
                    found: "approved",
                    expected: "pending"
                })
            ),
            "{r:?}"
        );
    }
    // Approved but not issued: still listed, a poll still sees it waiting.
    assert_eq!(
        state_name(&store.list_pending().await.unwrap()[0]),
        "approved"
    );

    let cert = store.complete_pending(id, signed("000A01")).await.unwrap();
    assert_eq!(cert.serial_hex, "0a01");
    assert_eq!(cert.template, "device");
    assert_eq!(cert.transaction_id, "tx-p");
    assert_eq!(
        store.find_certificate("a01").await.unwrap().as_ref(),
        Some(&cert)
    );
    let polled = store.find_pending("tx-p", &[7; 32]).await.unwrap();
    assert_eq!(
        polled[0].state,
        PendingState::Issued {
            approved_by: "officer-ann".into(),
            approved_at: NOW + 50,
            serial_hex: "0a01".into(),
            issued_at: NOW + 100,
        }
    );
    // Issued like any other: a retried PKCSReq finds it among the transactions.
    let t = store.find_transactions("tx-p").await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].request_sha256, t[0].serial.as_str()),
        ([1; 32], "0a01")
    );
    assert!(store.list_pending().await.unwrap().is_empty());
    assert!(matches!(
        store.complete_pending(id, signed("0a02")).await,
        Err(StoreError::RequestState {
            found: "issued",
            ..
        })
    ));
    assert_eq!(store.count_certificates().await.unwrap(), 1);

    assert_eq!(
        audit_kinds(&store).await,
        [
            (
                "enrollment-pending".into(),
                "192.0.2.7".into(),
                format!("request {id}")
            ),
            (
                "request-approved".into(),
                "officer-ann".into(),
                format!("request {id}")
            ),
            ("certificate-issued".into(), "ca".into(), "0a01".into()),
        ]
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), 3);
}

pub(super) async fn pending_request_is_denied_or_refused(store: Store) {
    let id = store.record_pending(held("tx-d", 1, None)).await.unwrap();
    let denied = store
        .deny_pending(id, "officer-ann", "unknown device", NOW + 5)
        .await
        .unwrap();
    let expected = PendingState::Denied {
        by: "officer-ann".into(),
        at: NOW + 5,
        reason: "unknown device".into(),
    };
    assert_eq!(denied.state, expected);
    assert_eq!(
        store.pending_request(id).await.unwrap().unwrap().state,
        expected
    );
    assert_eq!(
        store.find_pending("tx-d", &[7; 32]).await.unwrap()[0].state,
        expected
    );
    assert!(matches!(
        store.approve_pending(id, "officer-bob", NOW + 6).await,
        Err(StoreError::RequestState {
            found: "denied",
            expected: "pending"
        })
    ));
    assert!(matches!(
        store.complete_pending(id, signed("0d")).await,
        Err(StoreError::RequestState {
            found: "denied",
            ..
        })
    ));
    assert!(store.list_pending().await.unwrap().is_empty());

    // Approved, then the CA refuses it: the poll gets FAILURE, not PENDING forever.
    let id2 = store.record_pending(held("tx-d", 2, None)).await.unwrap();
    assert!(matches!(
        store.refuse_approved(id2, "ca", "template", NOW).await,
        Err(StoreError::RequestState {
            found: "pending",
            ..
        })
    ));
    store
        .approve_pending(id2, "officer-ann", NOW + 7)
        .await
        .unwrap();
    let refused = store
        .refuse_approved(id2, "ca", "CA:TRUE requested", NOW + 8)
        .await
        .unwrap();
    assert!(matches!(refused.state, PendingState::Denied { ref by, .. } if by == "ca"));
    let both = store.find_pending("tx-d", &[7; 32]).await.unwrap();
    assert_eq!(both.iter().map(|r| r.id).collect::<Vec<_>>(), [id, id2]);

    for r in [
        store.approve_pending(9999, "x", NOW).await.map(|_| ()),
        store.deny_pending(9999, "x", "y", NOW).await.map(|_| ()),
        store.complete_pending(9999, signed("0e")).await.map(|_| ()),
    ] {
        assert!(matches!(r, Err(StoreError::UnknownRequest)), "{r:?}");
    }
    assert!(store.pending_request(9999).await.unwrap().is_none());
    let kinds: Vec<String> = audit_kinds(&store).await.into_iter().map(|k| k.0).collect();
    assert_eq!(
        kinds,
        [
            "enrollment-pending",
            "request-denied",
            "enrollment-pending",
            "request-approved",
            "request-denied"
        ]
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), 5);
}

/// The row a store before schema 6 wrote for a held request (no binding columns).
async fn insert_pre_binding_row(pool: &sqlx::AnyPool, txid: &str) -> i64 {
    sqlx::query(
        "INSERT INTO pending_requests (transaction_id, signer_key_sha256, request_sha256, \
         csr_der, template, subject, challenge_hash, requester_certificate_der, created_at, \
         state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING id",
    )
    .bind(txid)
    .bind(crate::codec::hex32(&[7; 32]))
    .bind(crate::codec::hex32(&[4; 32]))
    .bind(vec![0x30u8, 0x00])
    .bind("device")
    .bind("CN=old")
    .bind(None::<String>)
    .bind(vec![0x30u8, 0x01, 0x05])
    .bind(NOW)
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get("id")
    .unwrap()
}

pub(super) async fn held_bindings_round_trip_and_old_rows_have_none(store: Store) {
    // Bound to a template only: distinct from "no binding recorded".
    let template_only = policy::Binding {
        template: Some("device".into()),
        subject: None,
        sans: Vec::new(),
    };
    let mut first = held("tx-b", 1, None);
    first.binding = Some(template_only.clone());
    let mut second = held("tx-b", 2, None);
    second.binding = None;
    let third = held("tx-b", 3, None);
    for r in [first, second, third] {
        store.record_pending(r).await.unwrap();
    }
    let bindings: Vec<_> = store
        .find_pending("tx-b", &[7; 32])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.binding)
        .collect();
    assert_eq!(bindings, [Some(template_only), None, Some(bound())]);

    // A row held before schema 6 loads, without a binding, and moves on as before.
    let id = insert_pre_binding_row(&store.pool, "tx-old").await;
    let old = store.pending_request(id).await.unwrap().unwrap();
    assert_eq!((old.subject.as_str(), old.binding), ("CN=old", None));
    let approved = store.approve_pending(id, "officer", NOW + 1).await.unwrap();
    assert_eq!(approved.binding, None);
    store.complete_pending(id, signed("0c01")).await.unwrap();
}

pub(super) async fn failed_pending_writes_roll_back(store: Store) {
    // An expired or unknown challenge: nothing held, nothing audited.
    let c = challenge(0x22, NOW);
    store.insert_challenge(c.clone()).await.unwrap();
    for hash in [c.hash, [0xee; 32]] {
        assert!(matches!(
            store.record_pending(held("tx-f", 1, Some(hash))).await,
            Err(StoreError::ChallengeUnavailable)
        ));
    }
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM pending_requests").await,
        0
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM pending_request_sans").await,
        0
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM pending_request_binding_sans").await,
        0
    );

    // A conflict on the transaction id leaves the challenge usable.
    issue(&store, "0b01", "device").await; // tx-0b01 belongs to key [7; 32]
    let c2 = challenge(0x23, NOW + 3600);
    store.insert_challenge(c2.clone()).await.unwrap();
    let mut conflict = held("tx-0b01", 8, Some(c2.hash));
    conflict.signer_key_sha256 = [3; 32];
    assert!(matches!(
        store.record_pending(conflict).await,
        Err(StoreError::TransactionConflict)
    ));
    assert!(matches!(
        store.challenge_status(&c2.hash, NOW).await.unwrap(),
        ChallengeStatus::Usable(_)
    ));

    // A serial collision on completion: nothing recorded, still approved, can retry.
    let id = store
        .record_pending(held("tx-f", 1, Some(c2.hash)))
        .await
        .unwrap();
    store.approve_pending(id, "officer", NOW).await.unwrap();
    let audit_before = store.verify_audit_chain().await.unwrap();
    assert!(matches!(
        store.complete_pending(id, signed("0B01")).await,
        Err(StoreError::SerialConflict)
    ));
    assert_eq!(
        state_name(&store.pending_request(id).await.unwrap().unwrap()),
        "approved"
    );
    assert!(store.find_transactions("tx-f").await.unwrap().is_empty());
    assert_eq!(store.verify_audit_chain().await.unwrap(), audit_before);
    store.complete_pending(id, signed("0b02")).await.unwrap();
    assert_eq!(store.count_certificates().await.unwrap(), 2);
}

pub(super) async fn approve_and_deny_races_have_one_winner(store: Store) {
    let id = store
        .record_pending(held("tx-race", 1, None))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for n in 0..20u32 {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let who = format!("officer-{n}");
            if n % 2 == 0 {
                store.approve_pending(id, &who, NOW).await
            } else {
                store.deny_pending(id, &who, "race", NOW).await
            }
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => winners.push(r),
            Err(StoreError::RequestState {
                expected: "pending",
                ..
            }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        store.pending_request(id).await.unwrap().unwrap().state,
        winners[0].state
    );
    // One decision in the log, after the held request.
    assert_eq!(store.verify_audit_chain().await.unwrap(), 2);
}

pub(super) async fn revocation_is_recorded_once_and_reported(store: Store) {
    issue(&store, "00c001", "device").await;
    issue(&store, "c002", "vpn").await;
    assert_eq!(
        store.revocation_status("c001").await.unwrap(),
        RevocationStatus::Good
    );
    for never in ["c003", "00", "not hex", ""] {
        assert_eq!(
            store.revocation_status(never).await.unwrap(),
            RevocationStatus::NotIssued,
            "{never:?}"
        );
    }

    let r = store
        .revoke("00C001", "key-compromise", NOW + 10, "officer-ann")
        .await
        .unwrap();
    assert_eq!(
        r,
        RevocationRecord {
            serial_hex: "c001".into(),
            revoked_at: NOW + 10,
            reason: RevocationReason::KeyCompromise,
            revoked_by: "officer-ann".into(),
        }
    );
    let revoked = RevocationStatus::Revoked {
        at: NOW + 10,
        reason: RevocationReason::KeyCompromise,
    };
    assert_eq!(store.revocation_status("c001").await.unwrap(), revoked);
    assert_eq!(store.revocation("00c001").await.unwrap(), Some(r.clone()));
    assert_eq!(store.revocation("c002").await.unwrap(), None);

    // Twice: refused, the first kept.
    assert!(matches!(
        store.revoke("c001", "superseded", NOW + 20, "mdm").await,
        Err(StoreError::AlreadyRevoked)
    ));
    assert_eq!(store.revocation_status("c001").await.unwrap(), revoked);
    assert!(matches!(
        store.revoke("c003", "superseded", NOW, "mdm").await,
        Err(StoreError::UnknownSerial)
    ));
    assert!(matches!(
        store.revoke("zz", "superseded", NOW, "mdm").await,
        Err(StoreError::UnknownSerial)
    ));
    for bad in ["certificateHold", "removeFromCRL", "7", "because"] {
        assert!(matches!(
            store.revoke("c002", bad, NOW, "mdm").await,
            Err(StoreError::InvalidInput(_))
        ));
    }
    assert_eq!(
        store.revocation_status("c002").await.unwrap(),
        RevocationStatus::Good
    );

    store.revoke("c002", "4", NOW + 30, "mdm").await.unwrap();
    assert_eq!(
        store.revoked_certificates().await.unwrap(),
        [
            RevokedEntry {
                serial_hex: "c001".into(),
                revoked_at: NOW + 10,
                reason: RevocationReason::KeyCompromise,
                not_after: NOW + 365 * 86_400,
            },
            RevokedEntry {
                serial_hex: "c002".into(),
                revoked_at: NOW + 30,
                reason: RevocationReason::Superseded,
                not_after: NOW + 365 * 86_400,
            },
        ]
    );
    let page = store
        .revoked_certificates_page(Some("c001"), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].serial_hex, "c002");
    assert_eq!(store.crl_state().await.unwrap().revocation_count, 2);

    let events = store.audit_events(2).await.unwrap();
    assert_eq!(events[0].kind, "certificate-revoked");
    assert_eq!(events[0].subject, "c001");
    assert_eq!(events[0].actor, "officer-ann");
    assert!(events[0].detail.contains("keyCompromise"));
    assert_eq!(events[1].subject, "c002");
    assert_eq!(store.verify_audit_chain().await.unwrap(), 4);
}

pub(super) async fn twenty_concurrent_revocations_commit_one(store: Store) {
    issue(&store, "5e01", "device").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for n in 0..20i64 {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .revoke("5e01", "cessationOfOperation", NOW + n, &format!("mgr-{n}"))
                .await
        }));
    }
    let (mut ok, mut already) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => ok.push(r),
            Err(StoreError::AlreadyRevoked) => already += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok.len(), already), (1, 19));
    assert_eq!(
        store.revocation("5e01").await.unwrap().as_ref(),
        Some(&ok[0])
    );
    assert_eq!(store.crl_state().await.unwrap().revocation_count, 1);
    // The issuance and exactly one revocation.
    assert_eq!(store.verify_audit_chain().await.unwrap(), 2);
}

pub(super) async fn crl_numbers_are_monotonic_and_distinct(store: Store) {
    let fresh = store.crl_state().await.unwrap();
    assert_eq!(
        fresh,
        CrlState {
            last_number: 0,
            revocation_count: 0,
            published: None
        }
    );
    assert!(fresh.needs_new_crl(NOW, 0));
    assert_eq!(store.next_crl_number().await.unwrap(), 1);
    assert_eq!(store.next_crl_number().await.unwrap(), 2);

    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.next_crl_number().await
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap().unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, (3..=22).collect::<Vec<u64>>());
    assert_eq!(store.crl_state().await.unwrap().last_number, 22);

    let crl = |number, covered| PublishedCrl {
        number,
        this_update: NOW,
        next_update: NOW + 86_400,
        covered_revocations: covered,
        der: vec![0x30, 0x02, number as u8, 0],
    };
    assert!(store.record_crl(crl(21, 0)).await.unwrap());
    // Another node finishing an older CRL later does not replace the newer one.
    assert!(!store.record_crl(crl(20, 0)).await.unwrap());
    assert!(matches!(
        store.record_crl(crl(23, 0)).await,
        Err(StoreError::InvalidInput(_))
    ));
    let mut backwards = crl(22, 0);
    backwards.next_update = NOW;
    assert!(matches!(
        store.record_crl(backwards).await,
        Err(StoreError::InvalidInput(_))
    ));
    let state = store.crl_state().await.unwrap();
    assert_eq!(state.published, Some(crl(21, 0)));
    assert!(!state.needs_new_crl(NOW + 3600, 300));
    assert!(state.needs_new_crl(NOW + 86_400 - 300, 300));

    // A revocation makes the published CRL out of date until one covering it is recorded.
    issue(&store, "0c01", "device").await;
    store.revoke("0c01", "unspecified", NOW, "x").await.unwrap();
    let state = store.crl_state().await.unwrap();
    assert!(state.needs_new_crl(NOW + 1, 300));
    let n = store.next_crl_number().await.unwrap();
    assert_eq!(n, 23);
    assert!(
        store
            .record_crl(crl(n, state.revocation_count))
            .await
            .unwrap()
    );
    assert!(!store.crl_state().await.unwrap().needs_new_crl(NOW + 1, 300));
}

pub(super) async fn certificates_are_listed_and_delivery_tracked(store: Store) {
    for (serial, template) in [
        ("a1", "device"),
        ("a2", "vpn"),
        ("a3", "device"),
        ("a4", "device"),
    ] {
        issue(&store, serial, template).await;
    }
    store
        .revoke("a3", "superseded", NOW + 1, "x")
        .await
        .unwrap();
    store.mark_delivered("a1", NOW + 2).await.unwrap();
    store.mark_delivered("00A2", NOW + 3).await.unwrap();
    // A retry marks it again harmlessly: the first time is kept.
    store.mark_delivered("a1", NOW + 9).await.unwrap();
    assert!(matches!(
        store.mark_delivered("a9", NOW).await,
        Err(StoreError::UnknownSerial)
    ));
    assert!(matches!(
        store.mark_delivered("nope", NOW).await,
        Err(StoreError::UnknownSerial)
    ));

    let serials = |entries: Vec<CertificateEntry>| {
        entries
            .into_iter()
            .map(|e| e.certificate.serial_hex)
            .collect::<Vec<_>>()
    };
    let list = |f: CertificateFilter| {
        let store = store.clone();
        async move { serials(store.list_certificates(&f).await.unwrap()) }
    };
    assert_eq!(
        list(CertificateFilter::default()).await,
        ["a1", "a2", "a3", "a4"]
    );
    let uncollected = CertificateFilter {
        uncollected: Some(true),
        ..CertificateFilter::default()
    };
    assert_eq!(list(uncollected.clone()).await, ["a3", "a4"]);
    assert_eq!(
        list(CertificateFilter {
            uncollected: Some(false),
            ..CertificateFilter::default()
        })
        .await,
        ["a1", "a2"]
    );
    assert_eq!(
        list(CertificateFilter {
            revoked: Some(true),
            ..CertificateFilter::default()
        })
        .await,
        ["a3"]
    );
    assert_eq!(
        list(CertificateFilter {
            revoked: Some(false),
            template: Some("device".into()),
            ..CertificateFilter::default()
        })
        .await,
        ["a1", "a4"]
    );
    assert_eq!(
        list(CertificateFilter {
            revoked: Some(false),
            ..uncollected
        })
        .await,
        ["a4"]
    );
    // Pages.
    let first = CertificateFilter {
        limit: 3,
        ..CertificateFilter::default()
    };
    assert_eq!(list(first.clone()).await, ["a1", "a2", "a3"]);
    assert_eq!(
        list(CertificateFilter {
            after_serial: Some("A3".into()),
            ..first
        })
        .await,
        ["a4"]
    );
    assert!(matches!(
        store
            .list_certificates(&CertificateFilter {
                after_serial: Some("x".into()),
                ..CertificateFilter::default()
            })
            .await,
        Err(StoreError::InvalidInput(_))
    ));

    let shown = store.certificate_entry("0a3").await.unwrap().unwrap();
    assert_eq!(shown.certificate.template, "device");
    assert_eq!(shown.delivered_at, None);
    assert_eq!(
        shown.revocation.map(|r| (r.reason, r.revoked_at)),
        Some((RevocationReason::Superseded, NOW + 1))
    );
    let a1 = store.certificate_entry("a1").await.unwrap().unwrap();
    assert_eq!((a1.delivered_at, a1.revocation), (Some(NOW + 2), None));
    assert_eq!(
        Some(a1.certificate),
        store.find_certificate("a1").await.unwrap()
    );
    assert!(store.certificate_entry("ff").await.unwrap().is_none());
    assert!(store.certificate_entry("--").await.unwrap().is_none());
}

/// Bulk-inserts `n` revoked certificates (serials `ab` + 14 hex digits) in one statement per
/// table: going through `revoke` would time fsyncs, not the read.
async fn bulk_revoked(store: &Store, n: i64) {
    let sql = match store.backend {
        crate::backend::Backend::Sqlite => {
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $1) \
             INSERT INTO certificates (serial, der, subject, not_before, not_after, template, \
             transaction_id, issued_at) \
             SELECT 'ab' || printf('%014x', i), x'3000', 'CN=bulk', 0, 1, 'device', 'bulk', 0 \
             FROM k"
        }
        crate::backend::Backend::Postgres => {
            "INSERT INTO certificates (serial, der, subject, not_before, not_after, template, \
             transaction_id, issued_at) \
             SELECT 'ab' || lpad(to_hex(i), 14, '0'), '\\x3000'::bytea, 'CN=bulk', 0, 1, \
             'device', 'bulk', 0 FROM generate_series(1, $1::bigint) AS i"
        }
    };
    sqlx::query(sql).bind(n).execute(&store.pool).await.unwrap();
    sqlx::query(
        "INSERT INTO revocations (serial, revoked_at, reason, revoked_by) \
         SELECT serial, 5, 'keyCompromise', 'bulk' FROM certificates WHERE transaction_id = 'bulk'",
    )
    .execute(&store.pool)
    .await
    .unwrap();
}

pub(super) async fn a_hundred_thousand_revoked_entries_are_read(store: Store) {
    const N: i64 = 100_000;
    bulk_revoked(&store, N).await;
    let started = Instant::now();
    let all = store.revoked_certificates().await.unwrap();
    let took = started.elapsed();
    eprintln!(
        "revoked_certificates: {} entries in {took:?} ({:?} backend)",
        all.len(),
        store.backend
    );
    assert_eq!(all.len(), N as usize);
    assert!(all.windows(2).all(|w| w[0].serial_hex < w[1].serial_hex));
    assert_eq!(all[0].serial_hex, "ab00000000000001");
    assert_eq!(all[0].reason, RevocationReason::KeyCompromise);
}

#[test]
fn revocation_reasons_parse_in_the_usual_spellings() {
    for (text, reason) in [
        ("keyCompromise", RevocationReason::KeyCompromise),
        ("key-compromise", RevocationReason::KeyCompromise),
        ("KEY_COMPROMISE", RevocationReason::KeyCompromise),
        ("1", RevocationReason::KeyCompromise),
        ("ca-compromise", RevocationReason::CaCompromise),
        ("cACompromise", RevocationReason::CaCompromise),
        ("privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn),
        ("10", RevocationReason::AaCompromise),
    ] {
        assert_eq!(text.parse::<RevocationReason>(), Ok(reason), "{text}");
    }
    for bad in [
        "certificateHold",
        "6",
        "8",
        "removeFromCRL",
        "",
        "key compromise",
    ] {
        assert!(bad.parse::<RevocationReason>().is_err(), "{bad}");
    }
    for r in RevocationReason::ALL {
        assert_eq!(r.as_str().parse::<RevocationReason>(), Ok(r));
        assert_eq!(r.to_string(), r.as_str());
    }
}

#[tokio::test]
async fn a_revocation_survives_a_restart() {
    let (dir, store) = file_store().await;
    issue(&store, "d1", "device").await;
    store.revoke("d1", "keyCompromise", NOW, "x").await.unwrap();
    store.close().await;
    let store = Store::open(&url_of(&dir)).await.unwrap();
    assert!(matches!(
        store.revocation_status("d1").await.unwrap(),
        RevocationStatus::Revoked { .. }
    ));
    assert_eq!(store.revoked_certificates().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_schema_1_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    sqlx::any::install_default_drivers();
    let v1 = include_str!("../migrations/sqlite/0001_initial.sql");
    {
        let pool = sqlx::AnyPool::connect(&url_of(&dir)).await.unwrap();
        sqlx::raw_sql(v1).execute(&pool).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE store_schema (version BIGINT NOT NULL PRIMARY KEY, \
             name TEXT NOT NULL, sha256 TEXT NOT NULL); \
             INSERT INTO certificates VALUES ('01', x'30', 'CN=old', 0, 1, 'device', 't', 0);",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO store_schema VALUES (1, 'initial', $1)")
            .bind(crate::migrate::checksum(v1))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = Store::open(&url_of(&dir)).await.unwrap();
    let old = store.certificate_entry("01").await.unwrap().unwrap();
    assert_eq!((old.delivered_at, old.revocation), (None, None));
    store.revoke("01", "superseded", NOW, "x").await.unwrap();
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM store_schema").await,
        i64::try_from(crate::migrate::MIGRATIONS.len()).unwrap()
    );
}

#[tokio::test]
async fn a_schema_5_database_with_held_requests_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    sqlx::any::install_default_drivers();
    let files = [
        (
            1,
            "initial",
            include_str!("../migrations/sqlite/0001_initial.sql"),
        ),
        (
            2,
            "lifecycle",
            include_str!("../migrations/sqlite/0002_lifecycle.sql"),
        ),
        (
            3,
            "certified_keys",
            include_str!("../migrations/sqlite/0003_certified_keys.sql"),
        ),
        (
            4,
            "accounts",
            include_str!("../migrations/sqlite/0004_accounts.sql"),
        ),
        (
            5,
            "ra_registry",
            include_str!("../migrations/sqlite/0005_ra_registry.sql"),
        ),
    ];
    let id = {
        let pool = sqlx::AnyPool::connect(&url_of(&dir)).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE store_schema (version BIGINT NOT NULL PRIMARY KEY, \
             name TEXT NOT NULL, sha256 TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .unwrap();
        for (version, name, sql) in files {
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            sqlx::query("INSERT INTO store_schema VALUES ($1, $2, $3)")
                .bind(i64::from(version))
                .bind(name)
                .bind(crate::migrate::checksum(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
        let id = insert_pre_binding_row(&pool, "tx-v5").await;
        pool.close().await;
        id
    };
    let store = Store::open(&url_of(&dir)).await.unwrap();
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM store_schema").await,
        i64::try_from(crate::migrate::MIGRATIONS.len()).unwrap()
    );
    let old = store.find_pending("tx-v5", &[7; 32]).await.unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].id, old[0].binding.as_ref()), (id, None));
    assert_eq!(old[0].state, PendingState::Pending);
    // New requests held after the upgrade keep theirs.
    store.record_pending(held("tx-v6", 1, None)).await.unwrap();
    let fresh = store.find_pending("tx-v6", &[7; 32]).await.unwrap();
    assert_eq!(fresh[0].binding, Some(bound()));
}

macro_rules! sqlite_scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_dir, store) = super::file_store().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}

sqlite_scenarios!(
    pending_request_is_approved_then_issued,
    held_bindings_round_trip_and_old_rows_have_none,
    pending_request_is_denied_or_refused,
    failed_pending_writes_roll_back,
    approve_and_deny_races_have_one_winner,
    revocation_is_recorded_once_and_reported,
    twenty_concurrent_revocations_commit_one,
    crl_numbers_are_monotonic_and_distinct,
    certificates_are_listed_and_delivery_tracked,
    a_hundred_thousand_revoked_entries_are_read,
);
