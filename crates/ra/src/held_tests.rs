//! Requests held for manual approval, in process: a real CA behind a capturing
//! `CertificateAuthority`, the RA with an in-memory store, a device that enrolls with a bound
//! challenge, is told PENDING, is approved by an officer and polls for its certificate. What the
//! CA is handed on that poll is checked, because the poll is where a held request's challenge is
//! no longer in sight: only what was recorded when it was held can reach the CA.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use keys::KeyRole;
use keys::software::SoftwareKey;
use scep::{MessageData, MessageType, PkiStatus};
use sha2::{Digest as _, Sha256};

use crate::authority::{CaRefusal, CertificateAuthority, IssueFuture};
use crate::test_support::{Device, csr, device, name_der, now, pki_message};
use crate::{Ra, RaConfig, RaIdentity, RequestContext};

const SUBJECT: &str = "CN=held-device";
const DNS: &str = "held.example";
const CHALLENGE: &str = "HeldChallenge0123456789abcdefXYZ";

/// The real CA, and every statement the RA handed it.
struct CapturingCa {
    ca: ca::Ca,
    statements: Mutex<Vec<Vec<u8>>>,
}

impl CapturingCa {
    fn bindings(&self) -> Vec<Option<request::statement::StatementBinding>> {
        self.statements
            .lock()
            .unwrap()
            .iter()
            .map(|der| {
                request::statement::parse_statement(der)
                    .unwrap()
                    .statement
                    .binding
            })
            .collect()
    }
}

impl CertificateAuthority for CapturingCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        self.statements.lock().unwrap().push(statement_der.to_vec());
        let issued = self
            .ca
            .verify_statement(statement_der, now)
            .and_then(|verified| self.ca.issue(verified, now));
        Box::pin(async move { issued.map_err(CaRefusal::from) })
    }
}

fn manual_device_template() -> policy::Template {
    let mut spec = policy::TemplateSpec::device();
    spec.manual_approval = true;
    policy::Template::new(spec).unwrap()
}

/// A CA, the RA's three keys under it, and the RA in front of a capturing CA.
struct Setup {
    ra: Ra,
    ca: Arc<CapturingCa>,
    ca_subject_der: Vec<u8>,
    encryption_certificate: Vec<u8>,
}

async fn setup() -> Setup {
    let ca_signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let ca_certificate = ca::CaProfile::new("CN=Held Test CA,O=scepd", 3650)
        .unwrap()
        .self_signed(ca_signer.as_ref())
        .unwrap();
    let ra_certificate = |role, purpose, cn: &str| {
        let key = SoftwareKey::generate_rsa(role, 2048).unwrap();
        let certificate = ca::dev::issue_ra_certificate(
            ca_signer.as_ref(),
            &ca_certificate,
            key.public_key_spki_der(),
            cn,
            purpose,
            365,
        )
        .unwrap();
        (key, certificate)
    };
    let (signing, signing_certificate) = ra_certificate(
        KeyRole::RaSigning,
        ca::dev::RaCertPurpose::Signing,
        "RA signing",
    );
    let (agent, agent_certificate) = ra_certificate(
        KeyRole::RaSigning,
        ca::dev::RaCertPurpose::Agent,
        "RA agent",
    );
    let (encryption, encryption_certificate) = ra_certificate(
        KeyRole::RaDecryption,
        ca::dev::RaCertPurpose::Encryption,
        "RA encryption",
    );
    let templates = vec![manual_device_template()];
    let ca = Arc::new(CapturingCa {
        ca: ca::Ca::new(
            Arc::clone(&ca_signer),
            ca_certificate.clone(),
            templates.clone(),
            vec![agent_certificate.clone()],
        )
        .unwrap(),
        statements: Mutex::new(Vec::new()),
    });
    let identity = RaIdentity {
        signer: signing.into_signer(KeyRole::RaSigning).unwrap(),
        signing_certificate,
        agent: agent.into_signer(KeyRole::RaSigning).unwrap(),
        agent_certificate,
        decrypter: encryption.into_decrypter().unwrap(),
        encryption_certificate: encryption_certificate.clone(),
        ca_certificate: ca_certificate.clone(),
        previous_encryption: Vec::new(),
        previous_ca_certificates: Vec::new(),
    };
    let config = RaConfig {
        templates,
        ..RaConfig::default()
    };
    let store = store::Store::open_in_memory().await.unwrap();
    let authority: Arc<dyn CertificateAuthority> = ca.clone();
    Setup {
        ra: Ra::new(config, identity, store, authority).unwrap(),
        ca,
        ca_subject_der: scep::parse_certificate_lenient(&ca_certificate)
            .unwrap()
            .subject_der,
        encryption_certificate,
    }
}

async fn status_of(ra: &Ra, message: &[u8]) -> PkiStatus {
    let context = RequestContext {
        now: now(),
        peer: "192.0.2.44".into(),
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

async fn approve_the_only_held_request(ra: &Ra) {
    let held = ra.store().list_pending().await.unwrap();
    assert_eq!(held.len(), 1);
    ra.store()
        .approve_pending(held[0].id, "officer", now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_held_request_reaches_the_ca_with_its_challenge_binding_once_approved() {
    let setup = setup().await;
    let at = now();
    setup
        .ra
        .store()
        .insert_challenge(store::NewChallenge {
            hash: crate::challenge::hash(CHALLENGE.as_bytes()),
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

    approve_the_only_held_request(&setup.ra).await;
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
    let setup = setup().await;
    let device = device();
    let csr = csr(&device, SUBJECT, DNS, Some(CHALLENGE));
    // As a store before schema 6 loads it: no binding recorded.
    setup
        .ra
        .store()
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
    approve_the_only_held_request(&setup.ra).await;
    assert_eq!(
        poll(&setup, &device, "held-tx-old").await,
        PkiStatus::Success
    );
    assert_eq!(setup.ca.bindings(), [None]);
}
