#![allow(clippy::unwrap_used, clippy::panic)]

use crate::{
    NewRaRegistration, RaCertificates, StatementClaim, StatementOutcome, Store, StoreError,
};

const NOW: i64 = 1_750_000_000;

fn announce(name: &str, code: u8) -> NewRaRegistration {
    NewRaRegistration {
        name: name.into(),
        templates: vec!["device".into(), "vpn".into()],
        code_sha256: [code; 32],
        code_expires_at: NOW + 3600,
        created_at: NOW,
    }
}

fn certificates(tls: u8) -> RaCertificates {
    RaCertificates {
        signing: vec![1, 2],
        encryption: vec![3],
        tls: vec![tls],
        tls_sha256: [tls; 32],
    }
}

pub(super) async fn a_code_registers_once_and_only_before_it_expires(store: Store) {
    store
        .create_ra_registration(announce("ra1", 1))
        .await
        .unwrap();
    assert!(matches!(
        store.create_ra_registration(announce("ra1", 2)).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(
        store
            .ra_registration_by_code(&[1; 32], NOW + 3600)
            .await
            .unwrap()
            .is_none()
    );
    let open = store
        .ra_registration_by_code(&[1; 32], NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.templates, ["device", "vpn"]);
    assert!(!open.is_active());
    assert!(
        !store
            .complete_ra_registration(&[1; 32], &certificates(9), NOW + 4000)
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_ra_registration(&[1; 32], &certificates(9), NOW + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_ra_registration(&[1; 32], &certificates(8), NOW + 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .ra_registration_by_code(&[1; 32], NOW)
            .await
            .unwrap()
            .is_none()
    );
    let ra = store
        .ra_by_tls_certificate(&[9; 32])
        .await
        .unwrap()
        .unwrap();
    assert!(ra.is_active());
    assert_eq!(ra.certificates.unwrap().signing, vec![1, 2]);
    assert!(store.revoke_ra("ra1", NOW + 5).await.unwrap());
    assert!(!store.revoke_ra("ra1", NOW + 6).await.unwrap());
    let all = store.ra_registrations().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(!all[0].is_active());
}

pub(super) async fn a_nonce_is_answered_once_and_replays_get_the_same_answer(store: Store) {
    store
        .create_ra_registration(announce("ra1", 1))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_statement(&[5; 32], &[6; 32], "ra1", NOW)
            .await
            .unwrap(),
        StatementClaim::Claimed
    );
    assert_eq!(
        store
            .claim_statement(&[5; 32], &[6; 32], "ra1", NOW)
            .await
            .unwrap(),
        StatementClaim::Seen {
            same_statement: true,
            ra_name: "ra1".into(),
            outcome: StatementOutcome::Pending
        }
    );
    let issued = StatementOutcome::Issued {
        certificate: vec![7, 7],
    };
    store.finish_statement(&[5; 32], &issued).await.unwrap();
    assert_eq!(
        store
            .claim_statement(&[5; 32], &[4; 32], "ra1", NOW)
            .await
            .unwrap(),
        StatementClaim::Seen {
            same_statement: false,
            ra_name: "ra1".into(),
            outcome: issued
        }
    );
    store
        .claim_statement(&[6; 32], &[6; 32], "ra1", NOW)
        .await
        .unwrap();
    let refused = StatementOutcome::Refused {
        refusal: "no".into(),
        bad_alg: true,
    };
    store.finish_statement(&[6; 32], &refused).await.unwrap();
    let StatementClaim::Seen { outcome, .. } = store
        .claim_statement(&[6; 32], &[6; 32], "ra1", NOW)
        .await
        .unwrap()
    else {
        panic!("seen expected");
    };
    assert_eq!(outcome, refused);
}

pub(super) async fn an_issued_statement_records_the_certificate_at_the_ca(store: Store) {
    store
        .create_ra_registration(announce("ra1", 1))
        .await
        .unwrap();
    store
        .claim_statement(&[5; 32], &[6; 32], "ra1", NOW)
        .await
        .unwrap();
    let issued = crate::StatementIssuance {
        serial_hex: "00ABCDEF".into(),
        certificate_der: vec![7, 7],
        subject_key_sha256: [3; 32],
        subject: "CN=dev1".into(),
        not_before: NOW,
        not_after: NOW + 86_400,
        template: "device".into(),
        transaction_id: "tx1".into(),
        issued_at: NOW,
        audit: crate::AuditEvent {
            at: NOW,
            kind: crate::AuditKind::CertificateIssued,
            actor: "ra:ra1".into(),
            detail: "issued".into(),
        },
    };
    store
        .finish_statement_issued(&[5; 32], &issued)
        .await
        .unwrap();
    // The replay log answers with it, the certificate is the CA's own (revocable, listed)...
    assert!(matches!(
        store.claim_statement(&[5; 32], &[6; 32], "ra1", NOW).await.unwrap(),
        StatementClaim::Seen { outcome: StatementOutcome::Issued { ref certificate }, .. }
            if certificate == &[7, 7]
    ));
    let entry = store.certificate_entry("abcdef").await.unwrap().unwrap();
    assert_eq!(entry.certificate.template, "device");
    assert_eq!(entry.certificate.transaction_id, "tx1");
    store
        .revoke("abcdef", "keyCompromise", NOW + 1, "admin")
        .await
        .unwrap();
    // ...and the audit entry names the serial.
    let audit = store.audit_events(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.kind == "certificate-issued" && r.subject == "abcdef")
    );
    // A statement that is not pending is not answered twice.
    assert!(matches!(
        store.finish_statement_issued(&[5; 32], &issued).await,
        Err(StoreError::InvalidInput(_))
    ));
}

pub(super) async fn a_mirrored_crl_is_served_and_only_a_newer_one_replaces_it(store: Store) {
    let crl = |number, der: u8| crate::PublishedCrl {
        number,
        this_update: NOW,
        next_update: NOW + 3600,
        covered_revocations: 0,
        der: vec![der],
    };
    assert!(store.record_mirrored_crl(crl(7, 1)).await.unwrap());
    assert!(!store.record_mirrored_crl(crl(5, 2)).await.unwrap());
    assert!(!store.record_mirrored_crl(crl(7, 3)).await.unwrap());
    assert_eq!(store.crl_state().await.unwrap().published.unwrap().der, [1]);
    assert!(store.record_mirrored_crl(crl(8, 4)).await.unwrap());
    let state = store.crl_state().await.unwrap();
    assert_eq!(state.published.unwrap().der, [4]);
    assert_eq!(state.last_number, 8);
    assert!(store.record_mirrored_crl(crl(0, 5)).await.is_err());
}

/// The scenarios on SQLite; `tests_pg` runs them on PostgreSQL.
mod sqlite {
    use crate::Store;

    #[tokio::test]
    async fn a_code_registers_once_and_only_before_it_expires() {
        super::a_code_registers_once_and_only_before_it_expires(
            Store::open_in_memory().await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_nonce_is_answered_once_and_replays_get_the_same_answer() {
        super::a_nonce_is_answered_once_and_replays_get_the_same_answer(
            Store::open_in_memory().await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn an_issued_statement_records_the_certificate_at_the_ca() {
        super::an_issued_statement_records_the_certificate_at_the_ca(
            Store::open_in_memory().await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_mirrored_crl_is_served_and_only_a_newer_one_replaces_it() {
        super::a_mirrored_crl_is_served_and_only_a_newer_one_replaces_it(
            Store::open_in_memory().await.unwrap(),
        )
        .await;
    }
}
