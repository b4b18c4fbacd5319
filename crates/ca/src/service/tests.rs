//! The CA service's decisions, in-process over an in-memory ledger: which RA is asking, what
//! it may ask for, replays and nonces, registration, revocation for an RA, and the all-in-one
//! configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use ledger::ca::CaLedger;
use ledger::{
    AuditEvent, AuditKind, CertificateEntry, CertificateRecord, LedgerFuture, RaCertificates,
    RaRecord, RevocationReason, RevocationRecord, StatementClaim, StatementIssuance,
    StatementOutcome, StoreError,
};
use policy::{Template, TemplateSpec};
use request::answer::{CaRefusal, CertificateAuthority};
use request::statement::{RaStatement, prepare_statement};
use sha2::{Digest, Sha256};

use super::ca_service::CaService;
use super::connected::{Caller, ConnectedRa};
use super::registration::RaPublicKeys;
use super::revoke::{RevokeFailure, RevokeFuture, RevokeRequest, Revoker};
use super::settings::Settings;
use crate::authority::Ca;
use crate::dev::{RaCertPurpose, issue_ra_certificate, self_signed_ca};

fn now() -> i64 {
    crate::unix_now()
}

// ------------------------------------------------------------------ an in-memory ledger

#[derive(Default)]
struct Kept {
    /// (code hash, record).
    ras: Vec<([u8; 32], RaRecord)>,
    /// nonce hash → (statement hash, RA, outcome).
    statements: HashMap<[u8; 32], ([u8; 32], String, StatementOutcome)>,
    certificates: Vec<CertificateEntry>,
    audit: Vec<AuditEvent>,
}

#[derive(Default)]
struct MemoryLedger(Mutex<Kept>);

impl MemoryLedger {
    fn kept<T>(&self, f: impl FnOnce(&mut Kept) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    fn audit_kinds(&self) -> Vec<AuditKind> {
        self.kept(|k| k.audit.iter().map(|e| e.kind).collect())
    }

    fn writes(&self) -> usize {
        self.kept(|k| k.statements.len() + k.certificates.len() + k.audit.len())
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> LedgerFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl CaLedger for MemoryLedger {
    fn ra_by_tls_certificate<'a>(
        &'a self,
        tls_sha256: &'a [u8; 32],
    ) -> LedgerFuture<'a, Option<RaRecord>> {
        ready(Ok(self.kept(|k| {
            k.ras
                .iter()
                .map(|(_, ra)| ra)
                .find(|ra| {
                    ra.certificates
                        .as_ref()
                        .is_some_and(|c| c.tls_sha256 == *tls_sha256)
                })
                .cloned()
        })))
    }

    fn ra_registrations(&self) -> LedgerFuture<'_, Vec<RaRecord>> {
        ready(Ok(
            self.kept(|k| k.ras.iter().map(|(_, ra)| ra.clone()).collect())
        ))
    }

    fn ra_registration_by_code<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        now: i64,
    ) -> LedgerFuture<'a, Option<RaRecord>> {
        ready(Ok(self.kept(|k| {
            k.ras
                .iter()
                .find(|(code, ra)| {
                    code == code_sha256
                        && ra.registered_at.is_none()
                        && ra.revoked_at.is_none()
                        && ra.code_expires_at > now
                })
                .map(|(_, ra)| ra.clone())
        })))
    }

    fn complete_ra_registration<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        certificates: &'a RaCertificates,
        now: i64,
    ) -> LedgerFuture<'a, bool> {
        ready(Ok(self.kept(|k| {
            match k.ras.iter_mut().find(|(code, ra)| {
                code == code_sha256 && ra.registered_at.is_none() && ra.code_expires_at > now
            }) {
                Some((_, ra)) => {
                    ra.registered_at = Some(now);
                    ra.certificates = Some(certificates.clone());
                    true
                }
                None => false,
            }
        })))
    }

    fn claim_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        statement_sha256: &'a [u8; 32],
        ra_name: &'a str,
        _now: i64,
    ) -> LedgerFuture<'a, StatementClaim> {
        ready(Ok(self.kept(|k| match k.statements.get(nonce_sha256) {
            Some((stored, name, outcome)) => StatementClaim::Seen {
                same_statement: stored == statement_sha256,
                ra_name: name.clone(),
                outcome: outcome.clone(),
            },
            None => {
                k.statements.insert(
                    *nonce_sha256,
                    (
                        *statement_sha256,
                        ra_name.to_owned(),
                        StatementOutcome::Pending,
                    ),
                );
                StatementClaim::Claimed
            }
        })))
    }

    fn finish_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        outcome: &'a StatementOutcome,
    ) -> LedgerFuture<'a, ()> {
        ready(self.kept(|k| match k.statements.get_mut(nonce_sha256) {
            Some(entry) if entry.2 == StatementOutcome::Pending => {
                entry.2 = outcome.clone();
                Ok(())
            }
            _ => Err(StoreError::InvalidInput("the statement is not pending")),
        }))
    }

    fn finish_statement_issued<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        issued: &'a StatementIssuance,
    ) -> LedgerFuture<'a, ()> {
        ready(self.kept(|k| match k.statements.get_mut(nonce_sha256) {
            Some(entry) if entry.2 == StatementOutcome::Pending => {
                entry.2 = StatementOutcome::Issued {
                    certificate: issued.certificate_der.clone(),
                };
                k.certificates.push(CertificateEntry {
                    certificate: CertificateRecord {
                        serial_hex: issued.serial_hex.clone(),
                        certificate_der: issued.certificate_der.clone(),
                        subject: issued.subject.clone(),
                        not_before: issued.not_before,
                        not_after: issued.not_after,
                        template: issued.template.clone(),
                        transaction_id: issued.transaction_id.clone(),
                        issued_at: issued.issued_at,
                    },
                    revocation: None,
                    delivered_at: None,
                });
                k.audit.push(issued.audit.clone());
                Ok(())
            }
            _ => Err(StoreError::InvalidInput("the statement is not pending")),
        }))
    }

    fn append_audit(&self, event: AuditEvent) -> LedgerFuture<'_, u64> {
        ready(Ok(self.kept(|k| {
            k.audit.push(event);
            k.audit.len() as u64
        })))
    }

    fn certificate_entry<'a>(
        &'a self,
        serial_hex: &'a str,
    ) -> LedgerFuture<'a, Option<CertificateEntry>> {
        ready(Ok(self.kept(|k| {
            k.certificates
                .iter()
                .find(|e| e.certificate.serial_hex.eq_ignore_ascii_case(serial_hex))
                .cloned()
        })))
    }
}

// ------------------------------------------------------------------ keys and certificates

struct Pki {
    ca_key: Arc<dyn Signer>,
    ca_cert: Vec<u8>,
    /// The enrollment agents of RAs ra1 and ra2 (and of the revoked ra3).
    agents: Vec<(Arc<dyn Signer>, Vec<u8>)>,
    device: Arc<dyn Signer>,
}

fn ec(role: KeyRole) -> Arc<dyn Signer> {
    Arc::new(SoftwareKey::generate_ec_p256(role).unwrap())
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca_key = ec(KeyRole::CaSigning);
        let ca_cert = self_signed_ca(ca_key.as_ref(), "scepd service test CA", 30).unwrap();
        let agents = (1..=3)
            .map(|i| {
                let key = ec(KeyRole::RaAgent);
                let cert = issue_ra_certificate(
                    ca_key.as_ref(),
                    &ca_cert,
                    key.public_key_spki_der(),
                    &format!("scepd RA ra{i} enrollment agent"),
                    RaCertPurpose::Agent,
                    30,
                )
                .unwrap();
                (key, cert)
            })
            .collect();
        Pki {
            ca_key,
            ca_cert,
            agents,
            device: ec(KeyRole::RaSigning),
        }
    })
}

fn ca() -> Arc<Ca> {
    let p = pki();
    let vpn = Template::new(TemplateSpec::named("vpn", &[policy::oid::EKU_CLIENT_AUTH])).unwrap();
    Arc::new(
        Ca::new(
            Arc::clone(&p.ca_key),
            p.ca_cert.clone(),
            vec![Template::device(), vpn],
            Vec::new(),
        )
        .unwrap(),
    )
}

/// A PKCS#10 request of the test device for `subject` with one dNSName.
fn csr(subject: &str, dns: &str) -> Vec<u8> {
    crate::tests::csr(
        pki().device.as_ref(),
        subject,
        vec![crate::tests::dns_san(&[dns])],
    )
}

/// A statement for `csr` and `template`, with `nonce`, signed by RA number `agent` (0-based).
fn statement(agent: usize, csr: Vec<u8>, template: &str, nonce: u8) -> Vec<u8> {
    let (key, cert) = &pki().agents[agent];
    let t = now();
    let s = RaStatement::new(
        csr,
        template.into(),
        format!("tx-{nonce}"),
        None,
        t,
        t + 300,
        vec![nonce; 16],
    )
    .unwrap();
    let alg = key.default_algorithm();
    let unsigned = prepare_statement(
        &s,
        cert,
        alg.digest().algorithm_identifier_der(),
        alg.algorithm_identifier_der(),
    )
    .unwrap();
    let signature = key.sign(alg, unsigned.signed_attributes_der()).unwrap();
    unsigned.finish(signature).unwrap()
}

fn device_statement(agent: usize, nonce: u8) -> Vec<u8> {
    statement(agent, csr("CN=dev1", "dev1.example.net"), "device", nonce)
}

/// The TLS client certificate fingerprint of RA number `agent`.
fn tls(agent: usize) -> [u8; 32] {
    [u8::try_from(agent).unwrap() + 1; 32]
}

fn registered(agent: usize, templates: &[&str], revoked: bool) -> RaRecord {
    RaRecord {
        name: format!("ra{}", agent + 1),
        templates: templates.iter().map(|t| (*t).to_owned()).collect(),
        code_expires_at: now() + 3600,
        created_at: now(),
        registered_at: Some(now()),
        certificates: Some(RaCertificates {
            signing: pki().agents[agent].1.clone(),
            encryption: Vec::new(),
            tls: Vec::new(),
            tls_sha256: tls(agent),
        }),
        revoked_at: revoked.then(now),
    }
}

/// A split CA service whose registry holds ra1 and ra2 (templates `device`) and ra3
/// (revoked).
fn split() -> (CaService, Arc<MemoryLedger>) {
    let ledger = Arc::new(MemoryLedger::default());
    ledger.kept(|k| {
        k.ras.push(([0xa1; 32], registered(0, &["device"], false)));
        k.ras.push(([0xa2; 32], registered(1, &["device"], false)));
        k.ras.push(([0xa3; 32], registered(2, &["device"], true)));
    });
    let service = CaService::new(ca(), ledger.clone(), Settings::split(30));
    (service, ledger)
}

async fn ra(service: &CaService, agent: usize) -> ConnectedRa {
    service
        .connected(Caller::Tls(Some(tls(agent))))
        .await
        .unwrap()
}

fn is<T: std::fmt::Debug>(
    result: Result<T, CaRefusal>,
    expected: fn(&CaRefusal) -> bool,
) -> CaRefusal {
    match result {
        Err(refusal) if expected(&refusal) => refusal,
        other => panic!("unexpected {other:?}"),
    }
}

// ------------------------------------------------------------------ who is asking

#[tokio::test]
async fn unknown_absent_and_in_process_callers_are_not_registered_ras() {
    let (service, _) = split();
    for caller in [
        Caller::Tls(Some([0x99; 32])),
        Caller::Tls(None),
        Caller::InProcess,
    ] {
        is(service.connected(caller).await, |r| {
            matches!(r, CaRefusal::RaNotRegistered(_))
        });
    }
    assert_eq!(ra(&service, 0).await.name(), "ra1");
}

#[tokio::test]
async fn a_revoked_ra_is_refused_and_leaves_the_allow_list() {
    let (service, _) = split();
    is(service.connected(Caller::Tls(Some(tls(2)))).await, |r| {
        matches!(r, CaRefusal::RaNotRegistered(_))
    });
    let allowed = service.active_ra_tls_certificates().await.unwrap();
    assert!(allowed.contains(&tls(0)) && allowed.contains(&tls(1)));
    assert!(!allowed.contains(&tls(2)));
}

// ------------------------------------------------------------------ statements

#[tokio::test]
async fn a_statement_is_answered_recorded_and_audited_with_what_the_ra_stated() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    let answer = service
        .answer_statement(&ra1, device_statement(0, 1), now())
        .await
        .unwrap();
    assert!(!answer.replayed);
    let issued = answer.certificate;
    assert_eq!(issued.template, "device");
    assert_eq!(issued.subject, "CN=dev1");
    assert_eq!(
        issued.subject_key_sha256,
        <[u8; 32]>::from(Sha256::digest(pki().device.public_key_spki_der()))
    );
    let recorded = ledger.kept(|k| k.certificates.clone());
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].certificate.serial_hex, issued.serial_hex);
    assert_eq!(recorded[0].certificate.transaction_id, "tx-1");
    let audit = ledger.kept(|k| k.audit.clone());
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].kind, AuditKind::CertificateIssued);
    assert_eq!(audit[0].actor, "ra:ra1");
    assert!(
        audit[0].detail.contains("transaction tx-1"),
        "{}",
        audit[0].detail
    );
}

#[tokio::test]
async fn a_template_the_ra_is_not_authorised_for_is_refused_and_audited() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    let vpn = statement(0, csr("CN=gw", "gw.example.net"), "vpn", 2);
    let refusal = is(service.answer_statement(&ra1, vpn, now()).await, |r| {
        matches!(r, CaRefusal::TemplateNotAuthorized(_))
    });
    assert_eq!(refusal.wire_code(), "template-not-authorized");
    assert!(ledger.kept(|k| k.certificates.is_empty() && k.statements.is_empty()));
    let audit = ledger.kept(|k| k.audit.clone());
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].kind, AuditKind::EnrollmentRefused);
    assert!(audit[0].detail.starts_with("template-not-authorized: "));
}

#[tokio::test]
async fn a_statement_signed_by_another_ras_agent_is_rejected_on_this_connection() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    // ra2's statement (a registered RA, a certificate of this CA) over ra1's connection.
    let refusal = is(
        service
            .answer_statement(&ra1, device_statement(1, 3), now())
            .await,
        |r| matches!(r, CaRefusal::StatementRejected(_)),
    );
    assert!(
        refusal
            .reason()
            .contains("not an allow-listed RA certificate"),
        "{refusal}"
    );
    assert!(ledger.kept(|k| k.certificates.is_empty()));
    // Garbage is rejected the same way.
    is(
        service
            .answer_statement(&ra1, b"not a statement".to_vec(), now())
            .await,
        |r| matches!(r, CaRefusal::StatementRejected(_)),
    );
}

#[tokio::test]
async fn a_replayed_statement_gets_the_same_certificate_and_no_second_issuance() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    let bytes = device_statement(0, 4);
    let first = service
        .answer_statement(&ra1, bytes.clone(), now())
        .await
        .unwrap();
    let again = service.answer_statement(&ra1, bytes, now()).await.unwrap();
    assert!(again.replayed);
    // Described again from the recorded DER: the same certificate, the same facts.
    assert_eq!(again.certificate, first.certificate);
    assert_eq!(ledger.kept(|k| k.certificates.len()), 1);
    assert_eq!(
        ledger.audit_kinds(),
        [AuditKind::CertificateIssued, AuditKind::CertificateResent]
    );
}

#[tokio::test]
async fn a_used_nonce_with_other_bytes_or_from_another_ra_is_refused() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    service
        .answer_statement(&ra1, device_statement(0, 5), now())
        .await
        .unwrap();
    // Same nonce, another request.
    let other = statement(0, csr("CN=dev2", "dev2.example.net"), "device", 5);
    is(service.answer_statement(&ra1, other, now()).await, |r| {
        matches!(r, CaRefusal::NonceReused(_))
    });
    // Same nonce from another RA (its own, validly signed statement).
    let ra2 = ra(&service, 1).await;
    is(
        service
            .answer_statement(&ra2, device_statement(1, 5), now())
            .await,
        |r| matches!(r, CaRefusal::NonceReused(_)),
    );
    assert_eq!(ledger.kept(|k| k.certificates.len()), 1);
}

#[tokio::test]
async fn a_policy_refusal_is_recorded_and_replayed_as_the_same_refusal() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    // domainComponent is not among the subject attributes the template allows.
    let bytes = statement(
        0,
        csr("CN=dev1,DC=example", "dev1.example.net"),
        "device",
        6,
    );
    let first = is(
        service.answer_statement(&ra1, bytes.clone(), now()).await,
        |r| matches!(r, CaRefusal::Policy(_)),
    );
    let again = is(service.answer_statement(&ra1, bytes, now()).await, |r| {
        matches!(r, CaRefusal::Policy(_))
    });
    assert_eq!(again, first);
    assert!(ledger.kept(|k| k.certificates.is_empty()));
    assert_eq!(
        ledger.audit_kinds(),
        [AuditKind::EnrollmentRefused, AuditKind::EnrollmentRefused]
    );
}

// ------------------------------------------------------------------ registration

fn announce(ledger: &MemoryLedger, name: &str, code: &str) {
    let code_sha256: [u8; 32] = Sha256::digest(code.as_bytes()).into();
    let ra = RaRecord {
        name: name.into(),
        templates: vec!["device".into()],
        code_expires_at: now() + 3600,
        created_at: now(),
        registered_at: None,
        certificates: None,
        revoked_at: None,
    };
    ledger.kept(|k| k.ras.push((code_sha256, ra)));
}

fn public_keys() -> RaPublicKeys {
    let spki = |role| ec(role).public_key_spki_der().to_vec();
    RaPublicKeys {
        signing: spki(KeyRole::RaSigning),
        agent: Some(spki(KeyRole::RaAgent)),
        encryption: spki(KeyRole::RaSigning),
        tls: spki(KeyRole::RaSigning),
    }
}

#[tokio::test]
async fn registration_refuses_shared_keys_and_the_cas_key_and_keeps_the_code() {
    let (service, ledger) = split();
    announce(&ledger, "ra-new", "CODE1");
    let mut shared = public_keys();
    shared.agent = Some(shared.signing.clone());
    let mut with_ca_key = public_keys();
    with_ca_key.tls = pki().ca_key.public_key_spki_der().to_vec();
    for keys in [shared, with_ca_key] {
        let open = service.open_registration("CODE1", now()).await.unwrap();
        let refusal = is(
            service.complete_registration(open, keys, now()).await,
            |r| matches!(r, CaRefusal::RegistrationRefused(_)),
        );
        assert!(refusal.reason().contains("distinct"), "{refusal}");
    }
    // Nothing was registered; the code still opens the registration.
    let open = service.open_registration(" CODE1\n", now()).await.unwrap();
    assert_eq!(open.name(), "ra-new");
    assert!(ledger.writes() == 0);
}

#[tokio::test]
async fn registration_issues_the_ras_certificates_once_per_code() {
    let (service, ledger) = split();
    announce(&ledger, "ra-new", "CODE2");
    let keys = public_keys();
    let open = service.open_registration("CODE2", now()).await.unwrap();
    // Opened twice before either completes: only one completion spends the code.
    let racing = service.open_registration("CODE2", now()).await.unwrap();
    let done = service
        .complete_registration(open, keys.clone(), now())
        .await
        .unwrap();
    assert_eq!(done.name, "ra-new");
    assert_eq!(done.templates, ["device"]);
    let agent = done.agent_certificate.clone().unwrap();
    assert!(service.ca().issued_by_us(&agent));
    assert_eq!(
        done.tls_sha256,
        <[u8; 32]>::from(Sha256::digest(&done.tls_certificate))
    );
    is(
        service.complete_registration(racing, keys, now()).await,
        |r| matches!(r, CaRefusal::RegistrationRefused(_)),
    );
    // Used: the code opens nothing any more.
    is(service.open_registration("CODE2", now()).await, |r| {
        matches!(r, CaRefusal::RegistrationRefused(_))
    });
    // The agent's certificate is the one the registry trusts, and the RA is connected by its
    // TLS certificate.
    let ra = service
        .connected(Caller::Tls(Some(done.tls_sha256)))
        .await
        .unwrap();
    assert_eq!(ra.counter_signing_certificate(), agent.as_slice());
    assert_eq!(ledger.audit_kinds(), [AuditKind::ConfigChanged]);
    assert!(
        service
            .active_ra_tls_certificates()
            .await
            .unwrap()
            .contains(&done.tls_sha256)
    );
}

// ------------------------------------------------------------------ revocation for an RA

/// Records what it was asked to revoke.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String, String)>>);

impl Revoker for Recorder {
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: &'a str,
        now: i64,
        actor: &'a str,
    ) -> RevokeFuture<'a> {
        self.0
            .lock()
            .unwrap()
            .push((serial_hex.into(), reason.into(), actor.into()));
        let record = match reason.parse::<RevocationReason>() {
            Ok(reason) => Ok(RevocationRecord {
                serial_hex: serial_hex.into(),
                revoked_at: now,
                reason,
                revoked_by: actor.into(),
            }),
            Err(_) => Err(RevokeFailure::UnknownReason(reason.into())),
        };
        Box::pin(std::future::ready(record))
    }
}

fn revoke(serial: &str, reason: &str) -> RevokeRequest {
    RevokeRequest {
        serial: serial.into(),
        reason: reason.into(),
        requested_by: "admin:alice\n".into(),
    }
}

#[tokio::test]
async fn an_ra_revokes_only_certificates_of_its_templates() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    let issued = service
        .answer_statement(&ra1, device_statement(0, 7), now())
        .await
        .unwrap()
        .certificate;
    // A certificate of another template, issued through another RA.
    ledger.kept(|k| {
        let mut vpn = k.certificates[0].clone();
        vpn.certificate.serial_hex = "7f01".into();
        vpn.certificate.template = "vpn".into();
        k.certificates.push(vpn);
    });
    let revoker = Recorder::default();
    is(
        service
            .revoke_for(&ra1, revoke("7F01", "keyCompromise"), &revoker, now())
            .await,
        |r| matches!(r, CaRefusal::TemplateNotAuthorized(_)),
    );
    is(
        service
            .revoke_for(&ra1, revoke("0badc0de", "keyCompromise"), &revoker, now())
            .await,
        |r| matches!(r, CaRefusal::UnknownSerial(_)),
    );
    is(
        service
            .revoke_for(&ra1, revoke(&issued.serial_hex, "bored"), &revoker, now())
            .await,
        |r| matches!(r, CaRefusal::BadRequest(_)),
    );
    let revoked = service
        .revoke_for(
            &ra1,
            revoke(&issued.serial_hex.to_uppercase(), "keyCompromise"),
            &revoker,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(revoked.serial_hex, issued.serial_hex);
    assert_eq!(revoked.reason, RevocationReason::KeyCompromise);
    assert!(!revoked.already_revoked);
    let asked = revoker.0.lock().unwrap().clone();
    assert_eq!(
        asked.len(),
        2,
        "nothing outside the RA's templates: {asked:?}"
    );
    assert_eq!(
        asked[1],
        (
            issued.serial_hex.clone(),
            "keyCompromise".into(),
            "ra:ra1 (admin:alice)".into()
        )
    );
    assert!(ledger.audit_kinds().contains(&AuditKind::EnrollmentRefused));
}

#[tokio::test]
async fn an_already_revoked_certificate_is_answered_with_its_first_revocation() {
    let (service, ledger) = split();
    let ra1 = ra(&service, 0).await;
    let issued = service
        .answer_statement(&ra1, device_statement(0, 8), now())
        .await
        .unwrap()
        .certificate;
    let first = RevocationRecord {
        serial_hex: issued.serial_hex.clone(),
        revoked_at: 1_700_000_000,
        reason: RevocationReason::Superseded,
        revoked_by: "cli:root".into(),
    };
    ledger.kept(|k| k.certificates[0].revocation = Some(first));
    let revoker = Recorder::default();
    let revoked = service
        .revoke_for(
            &ra1,
            revoke(&issued.serial_hex, "keyCompromise"),
            &revoker,
            now(),
        )
        .await
        .unwrap();
    assert!(revoked.already_revoked);
    assert_eq!(revoked.reason, RevocationReason::Superseded);
    assert_eq!(revoked.revoked_at, 1_700_000_000);
    assert!(revoker.0.lock().unwrap().is_empty());
}

// ------------------------------------------------------------------ all-in-one

#[tokio::test]
async fn all_in_one_issues_for_the_local_agent_on_every_template_and_writes_nothing() {
    let ledger = Arc::new(MemoryLedger::default());
    let service = CaService::new(
        ca(),
        ledger.clone(),
        Settings::all_in_one(pki().agents[0].1.clone()),
    );
    let authority: &dyn CertificateAuthority = &service;
    let device = authority
        .issue(&device_statement(0, 9), now())
        .await
        .unwrap();
    assert_eq!(device.template, "device");
    let vpn = statement(0, csr("CN=gw", "gw.example.net"), "vpn", 10);
    assert_eq!(authority.issue(&vpn, now()).await.unwrap().template, "vpn");
    // Another agent of this CA is not the local RA's.
    is(
        authority.issue(&device_statement(1, 11), now()).await,
        |r| matches!(r, CaRefusal::StatementRejected(_)),
    );
    // The RA records the certificate with its transaction; the CA wrote nothing.
    assert_eq!(ledger.writes(), 0);
    // The local RA is not reachable over TLS, and takes no registrations.
    is(service.connected(Caller::Tls(Some(tls(0)))).await, |r| {
        matches!(r, CaRefusal::RaNotRegistered(_))
    });
    is(service.open_registration("CODE", now()).await, |r| {
        matches!(r, CaRefusal::RegistrationRefused(_))
    });
}
