//! RA and CA rollover (issue 3 §5): envelopes addressed to a replaced RA encryption
//! certificate, renewals of certificates issued by the previous CA, GetCert across a rollover,
//! and the GetNextCACert reply. Real keys and certificates made with `ca::dev` and
//! `ca::rollover`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use keys::software::SoftwareKey;
use keys::{KeyRole, SignatureAlgorithm};
use ra::{CaRefusal, CertificateAuthority, EnrollError, IssueFuture};
use ra::{Ra, RaConfig, RaIdentity, RequestContext};
use scep::{FailInfo, MessageData, MessageType, PkiStatus};

use common::device::{Device, now, pki_message};
use common::serial_hex;

const DAY: i64 = 86_400;

/// A CA key and its certificate.
struct TestCa {
    signer: Arc<dyn keys::Signer>,
    certificate: Vec<u8>,
}

fn ca_profile() -> ca::CaProfile {
    ca::CaProfile::new("CN=Rollover Test CA,O=scepd", 3650).unwrap()
}

fn new_ca() -> TestCa {
    let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let certificate = ca_profile().self_signed(signer.as_ref()).unwrap();
    TestCa {
        signer,
        certificate,
    }
}

/// The next CA of `current` (same subject DN, new key), RFC 4210 §4.4.
fn next_ca(current: &TestCa) -> (TestCa, ca::rollover::NextCa) {
    let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let next = ca::rollover::next_ca(
        current.signer.as_ref(),
        &current.certificate,
        signer.as_ref(),
        &ca_profile(),
    )
    .unwrap();
    (
        TestCa {
            signer,
            certificate: next.certificate.clone(),
        },
        next,
    )
}

struct RaSigning {
    signer: Arc<dyn keys::Signer>,
    certificate: Vec<u8>,
}

fn ra_signing(ca: &TestCa, cn: &str) -> RaSigning {
    let key = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let certificate = ca::dev::issue_ra_certificate(
        ca.signer.as_ref(),
        &ca.certificate,
        key.public_key_spki_der(),
        cn,
        ca::dev::RaCertPurpose::Signing,
        365,
    )
    .unwrap();
    RaSigning {
        signer: key.into_signer(KeyRole::RaSigning).unwrap(),
        certificate,
    }
}

/// An RA encryption key and its certificate, issued at `at`.
fn ra_encryption(ca: &TestCa, cn: &str, at: i64, days: u32) -> (Arc<dyn keys::Decrypter>, Vec<u8>) {
    let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
    let certificate = ca::dev::issue_ra_certificate_at(
        ca.signer.as_ref(),
        &ca.certificate,
        key.public_key_spki_der(),
        cn,
        ca::dev::RaCertPurpose::Encryption,
        days,
        at,
    )
    .unwrap();
    (key.into_decrypter().unwrap(), certificate)
}

/// The RA never gets a certificate from its CA in these tests: the CA refuses, and keeps the
/// statements it was handed (a renewal that reached it passed the RA's provenance check).
#[derive(Default)]
struct NoCa {
    statements: Mutex<Vec<Vec<u8>>>,
}

impl NoCa {
    /// The template of each statement the CA was handed, in order.
    fn templates(&self) -> Vec<String> {
        self.statements
            .lock()
            .unwrap()
            .iter()
            .map(|der| {
                request::statement::parse_statement(der)
                    .unwrap()
                    .statement
                    .template
            })
            .collect()
    }
}

impl CertificateAuthority for NoCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], _now: i64) -> IssueFuture<'a> {
        self.statements.lock().unwrap().push(statement_der.to_vec());
        Box::pin(async { Err(CaRefusal::Policy("not in these tests".into())) })
    }
}

/// The RA with an in-memory ledger, and that ledger.
async fn ra(identity: RaIdentity) -> (Ra, store::Store) {
    let (ra, store, _) = ra_and_ca(identity).await;
    (ra, store)
}

/// [`ra`], and the CA behind it.
async fn ra_and_ca(identity: RaIdentity) -> (Ra, store::Store, Arc<NoCa>) {
    let store = store::Store::open_in_memory().await.unwrap();
    let ca = Arc::new(NoCa::default());
    let authority: Arc<dyn CertificateAuthority> = ca.clone();
    let ra = Ra::new(
        RaConfig::default(),
        identity,
        Arc::new(store.clone()),
        authority,
    )
    .unwrap();
    (ra, store, ca)
}

/// A certificate for a device key, issued by `ca` and recorded as ours.
async fn record_device_certificate(store: &store::Store, ca: &TestCa, cn: &str) -> Vec<u8> {
    record_device(store, ca, cn).await.certificate
}

/// A device key and its certificate, issued by `ca` and recorded as ours (subject
/// `CN=device`, template `device`, no SAN).
async fn record_device(store: &store::Store, ca: &TestCa, cn: &str) -> Device {
    let key = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let certificate = ca::dev::issue_ra_certificate(
        ca.signer.as_ref(),
        &ca.certificate,
        key.public_key_spki_der(),
        cn,
        ca::dev::RaCertPurpose::Signing,
        30,
    )
    .unwrap();
    record(store, &certificate).await;
    Device {
        signer: key.into_signer(KeyRole::RaSigning).unwrap(),
        certificate,
    }
}

async fn record(store: &store::Store, certificate: &[u8]) {
    let parsed = scep::parse_certificate_lenient(certificate).unwrap();
    let at = now();
    let serial_hex = serial_hex(&parsed.serial);
    store
        .record_issuance(store::Issuance {
            challenge_hash: None,
            voucher: None,
            transaction_id: format!("tid-{serial_hex}"),
            signer_key_sha256: [1; 32],
            request_sha256: [2; 32],
            serial_hex,
            certificate_der: certificate.to_vec(),
            subject_key_sha256: [7; 32],
            subject: "CN=device".into(),
            not_before: at - DAY,
            not_after: at + 30 * DAY,
            template: "device".into(),
            now: at,
            delivered_at: None,
            audit: store::AuditEvent {
                at,
                kind: store::AuditKind::CertificateIssued,
                actor: "test".into(),
                detail: String::new(),
            },
        })
        .await
        .unwrap();
}

/// A GetCert request for (`issuer_der`, `serial`), encrypted to `recipient_der`.
fn get_cert_request(
    client: &Device,
    recipient_der: &[u8],
    issuer_der: &[u8],
    serial: &[u8],
) -> Vec<u8> {
    pki_message(
        client,
        recipient_der,
        scep::MessageType::GetCert,
        "rollover-get-cert",
        &scep::MessageData::IssuerAndSerial {
            issuer_der: issuer_der.to_vec(),
            serial: serial.to_vec(),
        },
    )
}

async fn status_of(ra: &Ra, request: &[u8]) -> PkiStatus {
    let context = RequestContext {
        now: now(),
        peer: "test".into(),
        endpoint: None,
    };
    let reply = ra
        .handle_pki_operation(request, &context)
        .await
        .unwrap()
        .bytes;
    scep::parse_cert_rep(&reply).unwrap().pki_status.unwrap()
}

/// The CA after a rollover, the RA renewed under it, and the RA's previous encryption key.
struct AfterRollover {
    previous_ca: TestCa,
    current_ca: TestCa,
    previous_encryption: (Arc<dyn keys::Decrypter>, Vec<u8>),
    identity: RaIdentity,
}

fn after_rollover() -> AfterRollover {
    let previous_ca = new_ca();
    let previous_encryption = ra_encryption(&previous_ca, "RA encryption 1", now(), 365);
    let (current_ca, _) = next_ca(&previous_ca);
    let signing = ra_signing(&current_ca, "RA signing 2");
    let (decrypter, encryption_certificate) =
        ra_encryption(&current_ca, "RA encryption 2", now(), 365);
    let identity = RaIdentity {
        agent: Arc::clone(&signing.signer),
        agent_certificate: signing.certificate.clone(),
        signer: signing.signer,
        signing_certificate: signing.certificate,
        decrypter,
        encryption_certificate,
        ca_certificate: current_ca.certificate.clone(),
        previous_encryption: vec![previous_encryption.clone()],
        previous_ca_certificates: vec![previous_ca.certificate.clone()],
    };
    AfterRollover {
        previous_ca,
        current_ca,
        previous_encryption,
        identity,
    }
}

#[tokio::test]
async fn an_envelope_to_the_previous_ra_encryption_certificate_opens() {
    let setup = after_rollover();
    let (ra, store) = ra(setup.identity.clone()).await;
    // A device enrolled under the previous CA asks for its certificate (GetCert).
    let device = record_device_certificate(&store, &setup.previous_ca, "device-1").await;
    let device = scep::parse_certificate_lenient(&device).unwrap();
    let client = common::device::device();
    for recipient in [
        &setup.identity.encryption_certificate,
        &setup.previous_encryption.1,
    ] {
        let request = get_cert_request(&client, recipient, &device.issuer_der, &device.serial);
        assert_eq!(status_of(&ra, &request).await, PkiStatus::Success);
    }
    // The same path, for a serial we never issued: the envelope opened, the lookup failed.
    let request = get_cert_request(
        &client,
        &setup.previous_encryption.1,
        &device.issuer_der,
        &[0x7F; 16],
    );
    assert_eq!(
        status_of(&ra, &request).await,
        PkiStatus::Failure(FailInfo::BadCertId)
    );
}

#[tokio::test]
async fn an_envelope_to_an_unknown_or_expired_certificate_is_not_ours() {
    let setup = after_rollover();
    // An encryption certificate of ours that expired yesterday stays a previous key.
    let expired = ra_encryption(&setup.current_ca, "RA encryption 0", now() - 3 * DAY, 2);
    let mut identity = setup.identity.clone();
    identity.previous_encryption.push(expired.clone());
    let (ra, store) = ra(identity).await;
    let device = record_device_certificate(&store, &setup.current_ca, "device-2").await;
    let device = scep::parse_certificate_lenient(&device).unwrap();
    let client = common::device::device();
    let unknown = ra_encryption(&setup.current_ca, "someone else", now(), 365);
    for recipient in [&unknown.1, &expired.1, &setup.identity.signing_certificate] {
        let request = get_cert_request(&client, recipient, &device.issuer_der, &device.serial);
        assert_eq!(
            status_of(&ra, &request).await,
            PkiStatus::Failure(FailInfo::BadMessageCheck)
        );
        // The envelope was not ours to open (`EnrollError::NotAddressedToUs`), rather than
        // opened and found wrong: no key was tried on it. (`verify::open_envelope`'s own test
        // makes the same choice one level down.)
        assert_eq!(
            newest_audit_detail(&store).await,
            format!(
                "transaction rollover-get-cert: {}",
                EnrollError::NotAddressedToUs
            )
        );
    }
}

/// The detail of the newest audit entry.
async fn newest_audit_detail(store: &store::Store) -> String {
    store.audit_events(1).await.unwrap().pop().unwrap().detail
}

#[tokio::test]
async fn a_previous_key_must_match_its_certificate() {
    let setup = after_rollover();
    let mut identity = setup.identity.clone();
    identity.previous_encryption = vec![(
        Arc::clone(&setup.identity.decrypter),
        setup.previous_encryption.1.clone(),
    )];
    let store = store::Store::open_in_memory().await.unwrap();
    let refused = Ra::new(
        RaConfig::default(),
        identity,
        Arc::new(store),
        Arc::new(NoCa::default()),
    );
    assert!(
        matches!(refused, Err(EnrollError::Internal(m)) if m.contains("previous RA encryption certificate #1"))
    );
}

/// A RenewalReq signed by `holder` (the certificate renewed, as recorded by
/// [`record_device`]) for a new key with the recorded subject and no SAN, encrypted to
/// `recipient_der`.
fn renewal_request(holder: &Device, recipient_der: &[u8], transaction_id: &str) -> Vec<u8> {
    let new_key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let csr = scep_client::CsrBuilder::new("CN=device")
        .build(&new_key)
        .unwrap();
    pki_message(
        holder,
        recipient_der,
        MessageType::RenewalReq,
        transaction_id,
        &MessageData::CertificationRequest(csr),
    )
}

/// Renewal provenance after a rollover, through the whole pipeline: what the current or the
/// previous CA issued, recorded as ours, passes (the CA is handed a statement under the old
/// certificate's template); what a CA of the same name but another key issued is refused
/// before the CA, even when it sits in our records; and once the previous CA is no longer
/// configured, what it issued is no longer ours.
#[tokio::test]
async fn renewal_provenance_accepts_the_previous_ca_and_refuses_a_namesake() {
    let setup = after_rollover();
    let (ra, store, ca) = ra_and_ca(setup.identity.clone()).await;
    let recipient = &setup.identity.encryption_certificate;
    let cas: Vec<scep::LenientCertificate> = [
        &setup.current_ca.certificate,
        &setup.previous_ca.certificate,
    ]
    .into_iter()
    .map(|c| scep::parse_certificate_lenient(c).unwrap())
    .collect();
    // The rollover kept the name: only the keys tell the CAs apart.
    assert_eq!(cas[0].subject_der, cas[1].subject_der);

    for (i, issuer) in [&setup.current_ca, &setup.previous_ca]
        .into_iter()
        .enumerate()
    {
        let holder = record_device(&store, issuer, "device-3").await;
        let request = renewal_request(&holder, recipient, &format!("renew-{i}"));
        // Past the provenance check and the renewal policy: only the CA (which refuses
        // everything here) stops it.
        assert_eq!(
            status_of(&ra, &request).await,
            PkiStatus::Failure(FailInfo::BadRequest)
        );
        assert_eq!(
            newest_audit_detail(&store).await,
            format!("transaction renew-{i}: the CA refused: not in these tests")
        );
        assert_eq!(ca.templates(), vec!["device".to_owned(); i + 1]);
    }

    // A CA of the same name but another key; its certificate even sits in our records.
    let namesake = new_ca();
    let forged = record_device(&store, &namesake, "device-3").await;
    let request = renewal_request(&forged, recipient, "renew-forged");
    assert_eq!(
        status_of(&ra, &request).await,
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    assert_eq!(
        newest_audit_detail(&store).await,
        "transaction renew-forged: renewal refused: signer certificate not signed by our CA key"
    );
    assert_eq!(ca.templates().len(), 2, "the CA was handed the forgery");

    // Without the previous CA, what it issued is no longer ours.
    let mut identity = setup.identity.clone();
    identity.previous_ca_certificates.clear();
    let (ra, store, ca) = ra_and_ca(identity).await;
    let holder = record_device(&store, &setup.previous_ca, "device-4").await;
    let request = renewal_request(&holder, recipient, "renew-previous");
    assert_eq!(
        status_of(&ra, &request).await,
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    assert_eq!(
        newest_audit_detail(&store).await,
        "transaction renew-previous: renewal refused: signer certificate not signed by our CA key"
    );
    assert!(ca.templates().is_empty());
}

#[tokio::test]
async fn get_cert_finds_certificates_of_a_previous_ca_by_its_name() {
    // A previous CA of another name (imported before, or renamed by an operator): GetCert
    // answers for both names, and for no other.
    let setup = after_rollover();
    let other = {
        let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
            .unwrap()
            .into_signer(KeyRole::CaSigning)
            .unwrap();
        let certificate = ca::CaProfile::new("CN=Old Name CA", 3650)
            .unwrap()
            .self_signed(signer.as_ref())
            .unwrap();
        TestCa {
            signer,
            certificate,
        }
    };
    let mut identity = setup.identity.clone();
    identity
        .previous_ca_certificates
        .push(other.certificate.clone());
    let (ra, store) = ra(identity).await;
    let client = common::device::device();
    let device = record_device_certificate(&store, &other, "device-5").await;
    let device = scep::parse_certificate_lenient(&device).unwrap();
    let request = get_cert_request(
        &client,
        &setup.identity.encryption_certificate,
        &device.issuer_der,
        &device.serial,
    );
    assert_eq!(status_of(&ra, &request).await, PkiStatus::Success);

    let stranger = scep::parse_certificate_lenient(&client.certificate).unwrap();
    let request = get_cert_request(
        &client,
        &setup.identity.encryption_certificate,
        &stranger.subject_der,
        &device.serial,
    );
    assert_eq!(
        status_of(&ra, &request).await,
        PkiStatus::Failure(FailInfo::BadCertId)
    );
}

#[tokio::test]
async fn rfc8894_4_7_get_next_ca_cert_reply_is_signed_by_the_current_ra() {
    // Before the switch: the RA of the current CA announces the next CA and its RA.
    let current_ca = new_ca();
    let signing = ra_signing(&current_ca, "RA signing 1");
    let (decrypter, encryption_certificate) =
        ra_encryption(&current_ca, "RA encryption 1", now(), 365);
    let identity = RaIdentity {
        signer: Arc::clone(&signing.signer),
        signing_certificate: signing.certificate.clone(),
        agent: Arc::clone(&signing.signer),
        agent_certificate: signing.certificate.clone(),
        decrypter,
        encryption_certificate,
        ca_certificate: current_ca.certificate.clone(),
        previous_encryption: Vec::new(),
        previous_ca_certificates: Vec::new(),
    };
    let (ra, _store) = ra(identity).await;
    let (next_ca, rollover) = next_ca(&current_ca);
    let next_signing = ra_signing(&next_ca, "RA signing 2");
    let (_, next_encryption) = ra_encryption(&next_ca, "RA encryption 2", now(), 365);
    let next = vec![
        rollover.certificate.clone(),
        next_signing.certificate.clone(),
        next_encryption.clone(),
    ];
    let reply = ra.next_ca_certificates_reply(&next).unwrap();

    // The client side: parse, check the signer is the RA certificate it has, verify.
    let parsed = scep::parse_signed_certs(&reply).unwrap();
    let current_ra = scep::parse_certificate_lenient(&signing.certificate).unwrap();
    assert!(parsed.signed_by(&current_ra));
    let algorithm = SignatureAlgorithm::from_cms(
        &parsed.signer_info.digest_algorithm_der,
        &parsed.signer_info.signature_algorithm_der,
    )
    .unwrap();
    assert_eq!(algorithm, SignatureAlgorithm::RsaPkcs1Sha256);
    keys::verify::verify_signature(
        &current_ra.spki_der,
        algorithm,
        &parsed.signer_info.signed_attributes_der,
        &parsed.signer_info.signature,
    )
    .unwrap();
    let next_ra = scep::parse_certificate_lenient(&next_signing.certificate).unwrap();
    assert!(
        keys::verify::verify_signature(
            &next_ra.spki_der,
            algorithm,
            &parsed.signer_info.signed_attributes_der,
            &parsed.signer_info.signature,
        )
        .is_err()
    );
    let mut expected = next.clone();
    expected.sort();
    assert_eq!(parsed.certificates, expected);

    // After the switch, the client validates the new RA certificate with the next CA
    // certificate it fetched, and the new RA's replies with that RA certificate.
    let next_ca_cert = scep::parse_certificate_lenient(&rollover.certificate).unwrap();
    let next_ra_alg =
        SignatureAlgorithm::from_x509_algorithm(&next_ra.signature_algorithm_der).unwrap();
    keys::verify::verify_signature(
        &next_ca_cert.spki_der,
        next_ra_alg,
        &next_ra.tbs_der,
        &next_ra.signature,
    )
    .unwrap();

    assert!(ra.next_ca_certificates_reply(&[]).is_err());
}
