//! Requests held for manual approval, in process: a real CA behind a capturing
//! `CertificateAuthority`, the RA with an in-memory store, a device that enrolls with a bound
//! challenge, is told PENDING, is approved by an officer and polls for its certificate. What the
//! CA is handed on that poll is checked, because the poll is where a held request's challenge is
//! no longer in sight: only what was recorded when it was held can reach the CA.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use ra::{Ra, RaConfig, RequestContext};
use scep::{MessageData, MessageType, PkiStatus};
use sha2::{Digest as _, Sha256};

use common::device::{Device, csr, device, name_der, now, pki_message};
use common::{Setup, setup};

const SUBJECT: &str = "CN=held-device";
const DNS: &str = "held.example";
const CHALLENGE: &str = "HeldChallenge0123456789abcdefXYZ";

fn manual_device_template() -> policy::Template {
    let mut spec = policy::TemplateSpec::device();
    spec.manual_approval = true;
    policy::Template::new(spec).unwrap()
}

/// The RA and the CA with the device template under manual approval.
async fn held_setup() -> Setup {
    setup(RaConfig {
        templates: vec![manual_device_template()],
        ..RaConfig::default()
    })
    .await
}

async fn status_of(ra: &Ra, message: &[u8]) -> PkiStatus {
    let context = RequestContext {
        now: now(),
        peer: "192.0.2.44".into(),
        endpoint: None,
    };
    let reply = ra.handle_pki_operation(message, &context).await.unwrap();
    scep::parse_cert_rep(&reply.bytes)
        .unwrap()
        .pki_status
        .unwrap()
}

/// CertPoll (GetCertInitial) for the device's subject under `transaction_id`.
async fn poll(setup: &Setup, device: &Device, transaction_id: &str) -> PkiStatus {
    let poll = pki_message(
        device,
        &setup.encryption_certificate,
        MessageType::CertPoll,
        transaction_id,
        &MessageData::IssuerAndSubject {
            issuer_der: setup.ca_subject_der.clone(),
            subject_der: name_der(SUBJECT),
        },
    );
    status_of(&setup.ra, &poll).await
}

async fn approve_the_only_held_request(store: &store::Store) {
    let held = store.list_pending().await.unwrap();
    assert_eq!(held.len(), 1);
    store
        .approve_pending(held[0].id, "officer", now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_held_request_reaches_the_ca_with_its_challenge_binding_once_approved() {
    let setup = held_setup().await;
    let at = now();
    setup
        .store
        .insert_challenge(store::NewChallenge {
            hash: ra::challenge::hash(CHALLENGE.as_bytes()),
            template: policy::Template::DEVICE.into(),
            binding_subject: Some(SUBJECT.into()),
            binding_sans: vec![format!("dns:{DNS}")],
            created_at: at,
            expires_at: at + 3600,
            created_by: "mdm".into(),
        })
        .await
        .unwrap();
    let device = device();
    let enroll = pki_message(
        &device,
        &setup.encryption_certificate,
        MessageType::PkcsReq,
        "held-tx-1",
        &MessageData::CertificationRequest(csr(&device, SUBJECT, DNS, Some(CHALLENGE))),
    );
    assert_eq!(status_of(&setup.ra, &enroll).await, PkiStatus::Pending);
    // Held: nothing went to the CA yet, and polling changes nothing until approved.
    assert!(setup.ca.bindings().is_empty());
    assert_eq!(poll(&setup, &device, "held-tx-1").await, PkiStatus::Pending);

    approve_the_only_held_request(&setup.store).await;
    assert_eq!(poll(&setup, &device, "held-tx-1").await, PkiStatus::Success);

    // The CA decided the request within the names the challenge was minted for, exactly as
    // it does for a request issued at once.
    assert_eq!(
        setup.ca.bindings(),
        [Some(request::statement::StatementBinding {
            subject: Some(SUBJECT.into()),
            sans: vec![format!("dns:{DNS}")],
        })]
    );
    // Issued once: a further poll is answered from the store, not by the CA again.
    assert_eq!(poll(&setup, &device, "held-tx-1").await, PkiStatus::Success);
    assert_eq!(setup.ca.bindings().len(), 1);
}

#[tokio::test]
async fn a_request_held_before_bindings_were_recorded_reaches_the_ca_without_one() {
    let setup = held_setup().await;
    let device = device();
    let csr = csr(&device, SUBJECT, DNS, Some(CHALLENGE));
    // As a store before schema 6 loads it: no binding recorded.
    setup
        .store
        .record_pending(store::PendingRequest {
            transaction_id: "held-tx-old".into(),
            signer_key_sha256: Sha256::digest(device.signer.public_key_spki_der()).into(),
            request_sha256: Sha256::digest(&csr).into(),
            csr_der: csr,
            template: policy::Template::DEVICE.into(),
            subject: SUBJECT.into(),
            sans: vec![format!("dns:{DNS}")],
            challenge_hash: None,
            binding: None,
            requester_certificate_der: device.certificate.clone(),
            created_at: now(),
            audit: store::AuditEvent {
                at: now(),
                kind: store::AuditKind::EnrollmentPending,
                actor: "test".into(),
                detail: "held before schema 6".into(),
            },
        })
        .await
        .unwrap();
    approve_the_only_held_request(&setup.store).await;
    assert_eq!(
        poll(&setup, &device, "held-tx-old").await,
        PkiStatus::Success
    );
    assert_eq!(setup.ca.bindings(), [None]);
}
