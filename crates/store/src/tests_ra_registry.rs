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

#[tokio::test]
async fn a_code_registers_once_and_only_before_it_expires() {
    let store = Store::open_in_memory().await.unwrap();
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

#[tokio::test]
async fn a_nonce_is_answered_once_and_replays_get_the_same_answer() {
    let store = Store::open_in_memory().await.unwrap();
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
