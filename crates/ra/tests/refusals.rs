//! What the RA refuses, in process: the RA with a real CA behind it and an in-memory ledger,
//! requests built by `scep-client` (hostile ones with its `Tamper` switches), and the clock in
//! the test's hands. Each refusal is checked three ways: the signed CertRep carries the exact
//! failInfo (`EnrollError::wire`) and a generic text, the audit log names the precise reason,
//! and nothing was issued or recorded — no certificate row, no statement handed to the CA
//! unless the CA itself refused, and a challenge still usable wherever it should be.
//!
//! The process-level tests of `scepd` (`crates/scepd/tests/refusals.rs`, `renewal.rs`,
//! `template_refusals.rs`, `approval.rs`, `lockout.rs`) keep the same cases end to end over
//! HTTP; these pin them to the RA.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use ra::{
    BadEnvelope, CaRefusal, ChallengeOutcome, ChallengePolicy, IssueRequest, OutcomeResult,
    RaConfig, Reply, RequestContext,
};
use scep_client::{
    CertRepOutcome, ClientKey, ContentCipher, CsrBuilder, FailInfo, PkcsReqBuilder, PkiStatus,
    SanEntry, Tamper, read_cert_rep, self_signed_certificate,
};
use sha2::{Digest as _, Sha256};
use store::ChallengeStatus;

use common::{Setup, serial_hex, setup};

const DAY: i64 = 86_400;
const PEER: &str = "192.0.2.7";

/// The RA under test, its ledger and CA, and the time the test says it is.
struct Scep {
    setup: Setup,
    now: i64,
}

/// A device: its key and the self-signed certificate it signs its first request with.
struct Device {
    key: ClientKey,
    cert: Vec<u8>,
}

impl Device {
    fn rsa(cn: &str) -> Device {
        Device::with_key(ClientKey::generate_rsa(2048).unwrap(), cn)
    }

    fn with_key(key: ClientKey, cn: &str) -> Device {
        let cert = self_signed_certificate(&key, &format!("CN={cn}")).unwrap();
        Device { key, cert }
    }

    /// `CN=cn`, `dns:cn`, and the challenge.
    fn csr(&self, cn: &str, challenge: &str) -> Vec<u8> {
        CsrBuilder::new(&format!("CN={cn}"))
            .dns(cn)
            .challenge(challenge)
            .build(&self.key)
            .unwrap()
    }
}

/// What the RA answered, read as a client reads it.
struct Answer {
    cert_rep: CertRepOutcome,
    reply: Reply,
}

impl Scep {
    async fn start() -> Scep {
        Scep::with(RaConfig::default()).await
    }

    async fn with(config: RaConfig) -> Scep {
        Scep {
            setup: setup(config).await,
            now: common::device::now(),
        }
    }

    /// A fresh unbound challenge for the default template.
    async fn challenge(&self) -> String {
        self.mint(IssueRequest {
            template: None,
            subject: None,
            sans: Vec::new(),
            ttl: None,
        })
        .await
    }

    /// A challenge minted as the command line and the admin API mint them.
    async fn mint(&self, request: IssueRequest) -> String {
        let policy = ChallengePolicy {
            default_ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(DAY as u64),
            length: ra::challenge::CHALLENGE_LEN,
            max_outstanding_per_admin: 1000,
            insecure_settings_on: Vec::new(),
        };
        let issued = ra::issue_challenge(
            &self.setup.store,
            &policy,
            &self.setup.config.templates,
            request,
            "test",
            self.now,
        )
        .await
        .unwrap();
        issued.secret.as_str().to_owned()
    }

    async fn challenge_status(&self, secret: &str) -> ChallengeStatus {
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        self.setup
            .store
            .challenge_status(&hash, self.now)
            .await
            .unwrap()
    }

    async fn assert_challenge_usable(&self, secret: &str, what: &str) {
        let status = self.challenge_status(secret).await;
        assert!(
            matches!(status, ChallengeStatus::Usable(_)),
            "{what}: challenge is {status:?}"
        );
    }

    async fn certificate_count(&self) -> i64 {
        self.setup.store.count_certificates().await.unwrap()
    }

    /// Certificates recorded, and statements the CA was handed.
    async fn issued(&self) -> (i64, usize) {
        (
            self.certificate_count().await,
            self.setup.ca.statement_count(),
        )
    }

    /// A request from `device`, encrypted to the RA encryption certificate.
    fn request<'a>(&'a self, device: &'a Device, data: Vec<u8>) -> PkcsReqBuilder<'a> {
        PkcsReqBuilder::new(
            &device.key,
            &device.cert,
            &self.setup.encryption_certificate,
            data,
        )
        .unwrap()
    }

    async fn handle(&self, body: &[u8], at: i64) -> Result<Reply, BadEnvelope> {
        let context = RequestContext {
            now: at,
            peer: PEER.into(),
            endpoint: None,
        };
        self.setup.ra.handle_pki_operation(body, &context).await
    }

    async fn send(&self, signer: &Device, builder: &PkcsReqBuilder<'_>) -> Answer {
        self.send_at(signer, builder, self.now).await
    }

    /// Sends the request at `at`; the answer must be a CertRep signed by the RA signing
    /// certificate that echoes our transactionID and senderNonce.
    async fn send_at(&self, signer: &Device, builder: &PkcsReqBuilder<'_>, at: i64) -> Answer {
        let body = builder.build().unwrap();
        let reply = self.handle(&body, at).await.unwrap();
        let cert_rep = read_cert_rep(
            &reply.bytes,
            &signer.key,
            &signer.cert,
            builder.get_sender_nonce(),
        )
        .unwrap();
        assert_eq!(
            cert_rep.signer_certificate, self.setup.signing_certificate,
            "the CertRep must be signed by the RA signing certificate"
        );
        assert_eq!(
            cert_rep.transaction_id.as_deref(),
            Some(builder.get_transaction_id())
        );
        Answer { cert_rep, reply }
    }

    async fn refused(
        &self,
        signer: &Device,
        builder: &PkcsReqBuilder<'_>,
        fail_info: FailInfo,
        reason: &str,
    ) -> Answer {
        self.refused_at(signer, builder, fail_info, reason, self.now)
            .await
    }

    /// Sends the request at `at`, expects FAILURE with `fail_info`, and checks the audit log
    /// gives the reason we meant to provoke (the client only sees the failInfo and a generic
    /// text).
    async fn refused_at(
        &self,
        signer: &Device,
        builder: &PkcsReqBuilder<'_>,
        fail_info: FailInfo,
        reason: &str,
        at: i64,
    ) -> Answer {
        let answer = self.send_at(signer, builder, at).await;
        assert_failure(&answer, fail_info, reason);
        let detail = self.audit_detail(builder.get_transaction_id()).await;
        assert!(
            detail.contains(reason),
            "audit says {detail:?}, expected {reason:?}"
        );
        answer
    }

    /// The newest audit entry about `transaction_id`.
    async fn audit_detail(&self, transaction_id: &str) -> String {
        let prefix = format!("transaction {transaction_id}: ");
        self.setup
            .store
            .audit_events(5000)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .find(|e| e.detail.starts_with(&prefix))
            .map(|e| e.detail)
            .unwrap_or_else(|| panic!("no audit entry for transaction {transaction_id}"))
    }

    /// Enrolls `device` with a fresh challenge for `CN=cn`, `dns:cn`: the certificate.
    async fn enroll(&self, device: &Device, cn: &str) -> Vec<u8> {
        let challenge = self.challenge().await;
        let builder = self
            .request(device, device.csr(cn, &challenge))
            .transaction_id(&format!("enroll-{cn}"));
        let answer = self.send(device, &builder).await;
        assert_eq!(answer.cert_rep.status, PkiStatus::Success, "enroll {cn}");
        answer.cert_rep.certificate.unwrap()
    }

    /// GetCert (21) or GetCRL (22) for (`issuer_der`, `serial`), from `device`.
    fn lookup<'a>(
        &'a self,
        device: &'a Device,
        message_type: &str,
        issuer_der: &[u8],
        serial: &[u8],
    ) -> PkcsReqBuilder<'a> {
        let data = scep::build_message_data(&scep::MessageData::IssuerAndSerial {
            issuer_der: issuer_der.to_vec(),
            serial: serial.to_vec(),
        })
        .unwrap();
        self.request(device, data)
            .message_type(Some(message_type))
            .transaction_id(&format!("lookup-{message_type}-{}", hex::encode(serial)))
    }
}

#[track_caller]
fn assert_failure(answer: &Answer, fail_info: FailInfo, what: &str) {
    let outcome = &answer.cert_rep;
    assert_eq!(
        outcome.status,
        PkiStatus::Failure(fail_info),
        "{what}: {outcome:?}"
    );
    assert!(
        outcome.certificate.is_none() && outcome.certificates.is_empty(),
        "{what}: a FAILURE carries no certificate"
    );
    assert!(
        outcome
            .fail_info_text
            .as_deref()
            .is_some_and(|t| !t.is_empty()),
        "{what}: failInfoText missing"
    );
    assert_eq!(
        answer.reply.outcome.result,
        OutcomeResult::Failure(fail_info),
        "{what}: the metrics outcome"
    );
}

fn serial_of(der: &[u8]) -> Vec<u8> {
    scep::parse_certificate_lenient(der).unwrap().serial
}

/// A certificate for `key`'s public key issued by (`ca_signer`, `ca_certificate`), as an RA
/// certificate is: a certificate of someone's CA that the RA did not record.
fn certificate_from(
    ca_signer: &dyn keys::Signer,
    ca_certificate: &[u8],
    key: &ClientKey,
    cn: &str,
) -> Vec<u8> {
    ca::dev::issue_ra_certificate(
        ca_signer,
        ca_certificate,
        key.spki_der(),
        cn,
        ca::dev::RaCertPurpose::Signing,
        30,
    )
    .unwrap()
}

/// A CA key (P-256) and its self-signed certificate, named `name`.
fn other_ca(name: &str) -> (std::sync::Arc<dyn keys::Signer>, Vec<u8>) {
    use keys::KeyRole;
    let signer = keys::software::SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let certificate = ca::CaProfile::new(name, 3650)
        .unwrap()
        .self_signed(signer.as_ref())
        .unwrap();
    (signer, certificate)
}

// ---------------------------------------------------------------------------------------------
// The message: signature, possession, envelope

/// Broken signatures at each layer: the outer SignerInfo, the signed messageDigest, the
/// proof of possession (signer ≠ CSR key) and the CSR's self-signature. Each is
/// badMessageCheck, and none reaches the challenge or the CA.
#[tokio::test]
async fn broken_signatures_and_missing_proof_of_possession_are_bad_message_check() {
    let scep = Scep::start().await;

    let d = Device::rsa("sig.example");
    let c = scep.challenge().await;
    let b = scep.request(&d, d.csr("sig.example", &c)).tamper(Tamper {
        signature: true,
        ..Tamper::default()
    });
    scep.refused(
        &d,
        &b,
        FailInfo::BadMessageCheck,
        "outer signature invalid: ",
    )
    .await;
    scep.assert_challenge_usable(&c, "tampered outer signature")
        .await;

    let d = Device::rsa("content.example");
    let c = scep.challenge().await;
    let b = scep
        .request(&d, d.csr("content.example", &c))
        .tamper(Tamper {
            content: true,
            ..Tamper::default()
        });
    scep.refused(
        &d,
        &b,
        FailInfo::BadMessageCheck,
        "messageDigest does not match content",
    )
    .await;
    scep.assert_challenge_usable(&c, "messageDigest mismatch")
        .await;

    // The PKCSReq is signed by a key other than the one in the CSR: someone else's request
    // (and challenge) replayed under the sender's key.
    let owner = Device::rsa("owner.example");
    let other = Device::rsa("other.example");
    let c = scep.challenge().await;
    let b = scep.request(&other, owner.csr("owner.example", &c));
    scep.refused(
        &other,
        &b,
        FailInfo::BadMessageCheck,
        "PKCSReq not signed by the key of its CSR",
    )
    .await;
    scep.assert_challenge_usable(&c, "signed by another key")
        .await;

    let d = Device::rsa("csr.example");
    let c = scep.challenge().await;
    let csr = CsrBuilder::new("CN=csr.example")
        .dns("csr.example")
        .challenge(&c)
        .corrupt_signature()
        .build(&d.key)
        .unwrap();
    scep.refused(
        &d,
        &scep.request(&d, csr),
        FailInfo::BadMessageCheck,
        "CSR self-signature invalid",
    )
    .await;
    scep.assert_challenge_usable(&c, "CSR self-signature").await;

    assert_eq!(scep.issued().await, (0, 0));
}

/// An envelope the RA's key cannot open (a flipped content-encryption key) is the generic
/// badRequest of a wrong challenge — no decryption oracle — and counts as a secret-dependent
/// failure; one addressed to another certificate (here the RA's signing certificate, which
/// the GetCACert bundle also carries) is not ours to open at all.
#[tokio::test]
async fn undecipherable_or_misaddressed_envelopes_are_refused_before_the_challenge() {
    let scep = Scep::start().await;

    let d = Device::rsa("key.example");
    let c = scep.challenge().await;
    let b = scep.request(&d, d.csr("key.example", &c)).tamper(Tamper {
        encrypted_key: true,
        ..Tamper::default()
    });
    let answer = scep
        .refused(
            &d,
            &b,
            FailInfo::BadRequest,
            "request content could not be decrypted or parsed",
        )
        .await;
    assert!(answer.reply.secret_failure);
    assert_eq!(
        answer.cert_rep.fail_info_text.as_deref(),
        Some(ra::error::REFUSED_TEXT)
    );
    scep.assert_challenge_usable(&c, "undecipherable request")
        .await;

    let d = Device::rsa("misaddressed.example");
    let c = scep.challenge().await;
    let b = PkcsReqBuilder::new(
        &d.key,
        &d.cert,
        &scep.setup.signing_certificate,
        d.csr("misaddressed.example", &c),
    )
    .unwrap();
    let answer = scep
        .refused(
            &d,
            &b,
            FailInfo::BadMessageCheck,
            "envelope not addressed to our encryption certificate",
        )
        .await;
    assert!(!answer.reply.secret_failure);
    scep.assert_challenge_usable(&c, "envelope for the CA")
        .await;

    assert_eq!(scep.issued().await, (0, 0));
}

/// Bodies that cannot be read far enough to answer with a signed CertRep (nothing to echo):
/// `BadEnvelope` (HTTP 400 in scepd), each audited as malformed, nothing touched.
#[tokio::test]
async fn unreadable_messages_get_no_cert_rep() {
    let scep = Scep::start().await;
    let d = Device::rsa("trunc.example");
    let c = scep.challenge().await;
    let valid = scep
        .request(&d, d.csr("trunc.example", &c))
        .build()
        .unwrap();
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("garbage".into(), b"this is not a PKI message\n".to_vec()),
        (
            "indefinite nonsense".into(),
            vec![0x30, 0x80, 0x30, 0x80, 0x00],
        ),
    ];
    for len in [1, 16, valid.len() / 2, valid.len() - 1] {
        bodies.push((format!("truncated to {len}"), valid[..len].to_vec()));
    }
    for nonce in [Vec::new(), vec![1; 33]] {
        let body = scep
            .request(&d, d.csr("trunc.example", &c))
            .sender_nonce(nonce.clone())
            .build()
            .unwrap();
        bodies.push((format!("senderNonce of {} octets", nonce.len()), body));
    }
    for (what, body) in &bodies {
        assert!(
            scep.handle(body, scep.now).await.is_err(),
            "{what}: answered with a CertRep"
        );
    }
    let malformed = scep
        .setup
        .store
        .audit_events(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == ledger::AuditKind::RequestMalformed.as_str())
        .count();
    assert_eq!(malformed, bodies.len());
    scep.assert_challenge_usable(&c, "unreadable messages")
        .await;
    assert_eq!(scep.issued().await, (0, 0));
}

/// The allow-list of message types comes before everything else: a request with a usable
/// challenge and a valid CSR, sent as any type but the implemented ones, is refused without
/// touching the challenge (step-ca CVE-2026-30836 issued for type 18).
#[tokio::test]
async fn unimplemented_message_types_get_bad_request_before_any_check() {
    let scep = Scep::start().await;
    let d = Device::rsa("types.example");
    let c = scep.challenge().await;
    let csr = d.csr("types.example", &c);
    let mut types: Vec<Option<String>> = (0..=255u32)
        .filter(|t| ![17, 19, 20, 21, 22].contains(t))
        .map(|t| Some(t.to_string()))
        .collect();
    types.extend(["019", "+19", " 19", "19 ", "0x13", ""].map(|t| Some(t.to_owned())));
    types.push(None);
    for (i, t) in types.iter().enumerate() {
        let b = scep
            .request(&d, csr.clone())
            .message_type(t.as_deref())
            .transaction_id(&format!("type-{i}"));
        let answer = scep
            .refused(&d, &b, FailInfo::BadRequest, "unsupported messageType")
            .await;
        assert!(!answer.reply.secret_failure);
    }
    scep.assert_challenge_usable(&c, "unimplemented message types")
        .await;
    assert_eq!(scep.issued().await, (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Algorithms

/// DES and 3DES content encryption need their opt-ins; with `insecure_single_des` the same
/// request is issued (the refusal is the opt-in's doing, not the request's).
#[tokio::test]
async fn des_content_ciphers_without_the_opt_in_are_bad_alg() {
    let scep = Scep::start().await;
    for cipher in [ContentCipher::DesCbc, ContentCipher::DesEde3Cbc] {
        let d = Device::rsa("des.example");
        let c = scep.challenge().await;
        let b = scep
            .request(&d, d.csr("des.example", &c))
            .cipher(cipher)
            .transaction_id(&format!("{cipher:?}"));
        scep.refused(
            &d,
            &b,
            FailInfo::BadAlg,
            &format!("content encryption algorithm not allowed: {cipher:?}"),
        )
        .await;
        scep.assert_challenge_usable(&c, &format!("{cipher:?}"))
            .await;
    }
    assert_eq!(scep.issued().await, (0, 0));

    let mut config = RaConfig::default();
    config.crypto.insecure_single_des = true;
    let legacy = Scep::with(config).await;
    let d = Device::rsa("legacy.example");
    let c = legacy.challenge().await;
    let b = legacy
        .request(&d, d.csr("legacy.example", &c))
        .cipher(ContentCipher::DesCbc);
    let answer = legacy.send(&d, &b).await;
    assert_eq!(answer.cert_rep.status, PkiStatus::Success);
    assert_eq!(legacy.issued().await, (1, 1));
}

/// Keys and digests below the floor: a SHA-1 signature without the legacy opt-in, an RSA-1024
/// requester, and a requester whose key cannot receive the RSA-encrypted reply (P-256) are
/// badAlg before the challenge is spent or the CA asked. (aws-lc-rs makes neither SHA-1
/// signatures nor 1024-bit keys: openssl does.)
#[tokio::test]
async fn weak_or_unusable_requester_algorithms_are_bad_alg() {
    let scep = Scep::start().await;
    let cases: [(&str, ClientKey, scep_client::DigestAlgorithm, &str); 3] = [
        (
            "sha1.example",
            ClientKey::generate_rsa_with_openssl(2048).unwrap(),
            scep_client::DigestAlgorithm::Sha1,
            "signature algorithm not allowed: RsaPkcs1Sha1",
        ),
        (
            "weak.example",
            ClientKey::generate_rsa_with_openssl(1024).unwrap(),
            scep_client::DigestAlgorithm::Sha256,
            "signature algorithm not allowed: ",
        ),
        (
            "ec.example",
            ClientKey::generate_ec_p256().unwrap(),
            scep_client::DigestAlgorithm::Sha256,
            "requester key cannot receive an RSA-encrypted reply",
        ),
    ];
    for (cn, key, digest, reason) in cases {
        let d = Device::with_key(key, cn);
        let c = scep.challenge().await;
        let b = scep
            .request(&d, d.csr(cn, &c))
            .digest(digest)
            .transaction_id(cn);
        scep.refused(&d, &b, FailInfo::BadAlg, reason).await;
        scep.assert_challenge_usable(&c, cn).await;
    }
    assert_eq!(scep.issued().await, (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Challenges

/// Wrong, reused, expired and mis-bound challenges and a missing one all get the same
/// badRequest and the same text, and each counts as a secret-dependent failure: the answer
/// must not tell an attacker which check failed (or what a stolen challenge is bound to).
/// A mis-bound challenge stays usable for its own names.
#[tokio::test]
async fn challenge_failures_are_indistinguishable_bad_requests() {
    let scep = Scep::start().await;
    let expiring = scep
        .mint(IssueRequest {
            template: None,
            subject: None,
            sans: Vec::new(),
            ttl: Some(Duration::from_secs(60)),
        })
        .await;
    let bound_subject = scep
        .mint(IssueRequest {
            template: None,
            subject: Some("CN=a".into()),
            sans: Vec::new(),
            ttl: None,
        })
        .await;
    let bound_san = scep
        .mint(IssueRequest {
            template: None,
            subject: None,
            sans: vec!["dns:a.example".into()],
            ttl: None,
        })
        .await;

    // A used challenge: enroll once for real.
    let first = Device::rsa("first.example");
    let used = scep.challenge().await;
    let ok = scep
        .send(
            &first,
            &scep.request(&first, first.csr("first.example", &used)),
        )
        .await;
    assert_eq!(ok.cert_rep.status, PkiStatus::Success);
    assert_eq!(scep.issued().await, (1, 1));

    let mut answers = Vec::new();
    let cases: Vec<(&str, ChallengeOutcome, Device, Vec<u8>, i64)> = {
        let mut cases = Vec::new();
        let d = Device::rsa("wrong.example");
        let csr = d.csr("wrong.example", "WrongChallenge0123456789abcdefgh");
        cases.push((
            "challenge unknown",
            ChallengeOutcome::Unknown,
            d,
            csr,
            scep.now,
        ));
        let d = Device::rsa("second.example");
        let csr = d.csr("second.example", &used);
        cases.push((
            "challenge already used",
            ChallengeOutcome::Used,
            d,
            csr,
            scep.now,
        ));
        let d = Device::rsa("late.example");
        let csr = d.csr("late.example", &expiring);
        cases.push((
            "challenge expired",
            ChallengeOutcome::Expired,
            d,
            csr,
            scep.now + 61,
        ));
        let d = Device::rsa("b");
        let csr = CsrBuilder::new("CN=b")
            .challenge(&bound_subject)
            .build(&d.key)
            .unwrap();
        cases.push((
            "challenge bound to other names or template: name not authorized by challenge: \"subject CN=b\"",
            ChallengeOutcome::BindingViolated,
            d,
            csr,
            scep.now,
        ));
        let d = Device::rsa("a.example");
        let csr = CsrBuilder::new("CN=a.example")
            .dns("evil.example")
            .challenge(&bound_san)
            .build(&d.key)
            .unwrap();
        cases.push((
            "name not authorized by challenge: \"dns:evil.example\"",
            ChallengeOutcome::BindingViolated,
            d,
            csr,
            scep.now,
        ));
        let d = Device::rsa("none.example");
        let csr = CsrBuilder::new("CN=none.example")
            .dns("none.example")
            .build(&d.key)
            .unwrap();
        cases.push((
            "challenge missing",
            ChallengeOutcome::Missing,
            d,
            csr,
            scep.now,
        ));
        cases
    };
    for (i, (what, challenge, device, csr, at)) in cases.iter().enumerate() {
        let b = scep
            .request(device, csr.clone())
            .transaction_id(&format!("challenge-{i}"));
        let answer = scep
            .refused_at(device, &b, FailInfo::BadRequest, what, *at)
            .await;
        assert!(answer.reply.secret_failure, "{what}");
        assert_eq!(answer.reply.outcome.challenge, Some(*challenge), "{what}");
        answers.push(answer.cert_rep.fail_info_text.unwrap());
    }
    assert!(
        answers.iter().all(|t| t == ra::error::REFUSED_TEXT),
        "{answers:?}"
    );

    assert_eq!(
        scep.issued().await,
        (1, 1),
        "nothing issued beyond the first"
    );
    scep.assert_challenge_usable(&bound_subject, "mis-bound subject")
        .await;
    scep.assert_challenge_usable(&bound_san, "mis-bound SAN")
        .await;
    let hash: [u8; 32] = Sha256::digest(expiring.as_bytes()).into();
    assert!(matches!(
        scep.setup
            .store
            .challenge_status(&hash, scep.now + 61)
            .await
            .unwrap(),
        ChallengeStatus::Expired
    ));
    assert_eq!(scep.setup.store.count_challenges_used().await.unwrap(), 1);
}

/// A challenge decides the template a request is judged under: a challenge minted for the
/// `web` template does not carry a request its rules refuse (whatever `device` would allow),
/// and a request cannot name another template than its challenge's. Both leave the challenge
/// usable; the `web` challenge then issues under `web`.
#[tokio::test]
async fn a_challenge_binds_its_template() {
    let mut web = policy::TemplateSpec::named("web", &["1.3.6.1.5.5.7.3.1"]);
    web.san_rules.dns_domains = vec!["example.net".into()];
    let config = RaConfig {
        templates: vec![
            policy::Template::device(),
            policy::Template::new(web).unwrap(),
        ],
        ..RaConfig::default()
    };
    let scep = Scep::with(config).await;
    let for_web = scep
        .mint(IssueRequest {
            template: Some("web".into()),
            subject: None,
            sans: Vec::new(),
            ttl: None,
        })
        .await;

    // A device-shaped request (a name outside web's domains) under a web challenge.
    let d = Device::rsa("laptop.corp.example");
    let b = scep
        .request(&d, d.csr("laptop.corp.example", &for_web))
        .transaction_id("web-for-a-device");
    scep.refused(
        &d,
        &b,
        FailInfo::BadRequest,
        "policy refused: CN \"laptop.corp.example\" is not a host name under the template's domains",
    )
    .await;
    scep.assert_challenge_usable(&for_web, "device request under a web challenge")
        .await;

    // A device challenge whose request names the web template.
    let d = Device::rsa("www.example.net");
    let for_device = scep.challenge().await;
    let csr = CsrBuilder::new("CN=www.example.net")
        .dns("www.example.net")
        .challenge(&for_device)
        .ms_name_value_pair("CertificateTemplate", "web")
        .build(&d.key)
        .unwrap();
    let b = scep.request(&d, csr).transaction_id("device-naming-web");
    scep.refused(
        &d,
        &b,
        FailInfo::BadRequest,
        "policy refused: request attribute \"1.3.6.1.4.1.311.13.2.1\" (Microsoft enrollment name-value pair, ESC6) is not allowed",
    )
        .await;
    scep.assert_challenge_usable(&for_device, "a request naming another template")
        .await;
    assert_eq!(scep.issued().await, (0, 0));

    // The web challenge, for a request within web's rules: issued under web.
    let b = scep
        .request(&d, d.csr("www.example.net", &for_web))
        .transaction_id("web-for-web");
    let answer = scep.send(&d, &b).await;
    assert_eq!(answer.cert_rep.status, PkiStatus::Success);
    let templates: Vec<String> = scep
        .setup
        .ca
        .statements()
        .into_iter()
        .map(|s| s.template)
        .collect();
    assert_eq!(templates, ["web"]);
}

// ---------------------------------------------------------------------------------------------
// Transactions and keys

/// A transactionID belongs to the key that first used it: another key under it is refused
/// before the CA, its challenge unspent; the same request again gets the same certificate.
#[tokio::test]
async fn a_transaction_id_reused_by_another_key_is_refused() {
    let scep = Scep::start().await;
    let d = Device::rsa("tx.example");
    let c = scep.challenge().await;
    let b = scep
        .request(&d, d.csr("tx.example", &c))
        .transaction_id("fixed-transaction-1");
    let first = scep.send(&d, &b).await;
    assert_eq!(first.cert_rep.status, PkiStatus::Success);

    let thief = Device::rsa("thief.example");
    let c2 = scep.challenge().await;
    let b2 = scep
        .request(&thief, thief.csr("thief.example", &c2))
        .transaction_id("fixed-transaction-1");
    scep.refused(
        &thief,
        &b2,
        FailInfo::BadRequest,
        "transactionID already used by another key",
    )
    .await;
    scep.assert_challenge_usable(&c2, "transactionID reused with another key")
        .await;
    assert_eq!(scep.issued().await, (1, 1));

    // A client retrying after a lost reply: the same certificate, not a second one.
    let again = scep.send(&d, &b).await;
    assert_eq!(again.cert_rep.certificate, first.cert_rep.certificate);
    assert_eq!(scep.issued().await, (1, 1));
}

/// RFC 8894 §8.6: a key certified to one subject is never certified to another (a stolen or
/// shared device key must not move to a new identity), even with a fresh challenge.
#[tokio::test]
async fn a_key_certified_to_one_subject_is_refused_for_another() {
    let scep = Scep::start().await;
    let first = Device::rsa("printer9");
    scep.enroll(&first, "printer9").await;
    let c = scep.challenge().await;
    let csr = CsrBuilder::new("CN=administrator")
        .challenge(&c)
        .build(&first.key)
        .unwrap();
    let b = scep
        .request(&first, csr)
        .transaction_id("same-key-new-subject");
    scep.refused(
        &first,
        &b,
        FailInfo::BadRequest,
        "the public key is already certified to \"CN=printer9\"",
    )
    .await;
    scep.assert_challenge_usable(&c, "a certified key for another subject")
        .await;
    assert_eq!(scep.issued().await, (1, 1));
}

/// Requests for more than the template grants: the template decides, the request proposes.
#[tokio::test]
async fn requests_beyond_the_template_are_bad_request() {
    let scep = Scep::start().await;
    type Shape = fn(CsrBuilder) -> CsrBuilder;
    let cases: [(&str, Shape); 4] = [
        ("(serverAuth) is not in the template", |b| {
            b.extended_key_usage(&[scep_client::csr::oids::SERVER_AUTH])
        }),
        ("subjectAltName of kind", |b| {
            b.san(SanEntry::Upn("administrator@corp.example".into()))
        }),
        ("basicConstraints cA=TRUE requested", |b| {
            b.basic_constraints(true, true)
        }),
        ("ESC6", |b| {
            b.ms_name_value_pair("ExpirationDate", "2099-01-01")
        }),
    ];
    for (i, (what, shape)) in cases.into_iter().enumerate() {
        let d = Device::rsa("greedy.example");
        let c = scep.challenge().await;
        let csr = shape(
            CsrBuilder::new("CN=greedy.example")
                .dns("greedy.example")
                .challenge(&c),
        )
        .build(&d.key)
        .unwrap();
        let b = scep.request(&d, csr).transaction_id(&format!("greedy-{i}"));
        scep.refused(&d, &b, FailInfo::BadRequest, what).await;
        scep.assert_challenge_usable(&c, what).await;
    }
    assert_eq!(scep.issued().await, (0, 0));
}

// ---------------------------------------------------------------------------------------------
// The CA's word

/// The CA decides again: when it refuses, the request is refused with its failInfo, nothing
/// is recorded and the challenge stays unspent (it is spent only with the certificate).
#[tokio::test]
async fn a_ca_refusal_records_nothing_and_leaves_the_challenge_usable() {
    let scep = Scep::start().await;
    for (bad_alg, fail_info, reason) in [
        (
            false,
            FailInfo::BadRequest,
            "the CA refused: the CA is unwell",
        ),
        (
            true,
            FailInfo::BadAlg,
            "policy refused the algorithm: the CA is unwell",
        ),
    ] {
        scep.setup.ca.refuse_with(if bad_alg {
            CaRefusal::BadAlgorithm("the CA is unwell".into())
        } else {
            CaRefusal::Policy("the CA is unwell".into())
        });
        let d = Device::rsa("refused.example");
        let c = scep.challenge().await;
        let b = scep
            .request(&d, d.csr("refused.example", &c))
            .transaction_id(&format!("ca-refusal-{bad_alg}"));
        scep.refused(&d, &b, fail_info, reason).await;
        scep.assert_challenge_usable(&c, reason).await;
    }
    assert_eq!(scep.certificate_count().await, 0);
    assert_eq!(scep.setup.ca.statement_count(), 2, "the CA was asked");
}

// ---------------------------------------------------------------------------------------------
// Lookups: GetCert, GetCRL, CertPoll

/// GetCert answers for certificates we recorded, by our CA's name: an unknown serial or
/// another issuer is badCertId. GetCRL before any CRL is published, or for another issuer, is
/// refused too. None of it reaches the CA.
#[tokio::test]
async fn lookups_for_what_we_did_not_issue_are_refused() {
    let scep = Scep::start().await;
    let owner = Device::rsa("fetch-me");
    let issued = scep.enroll(&owner, "fetch-me").await;
    let fetcher = Device::rsa("fetcher");
    let ours = scep.setup.ca_subject_der.clone();
    let stranger = scep::parse_certificate_lenient(&fetcher.cert)
        .unwrap()
        .subject_der;

    let b = scep.lookup(&fetcher, "21", &ours, &serial_of(&issued));
    let found = scep.send(&fetcher, &b).await;
    assert_eq!(found.cert_rep.status, PkiStatus::Success);
    assert_eq!(found.cert_rep.certificate.as_ref(), Some(&issued));

    let b = scep.lookup(&fetcher, "21", &ours, &[0x01, 0x02, 0x03]);
    scep.refused(
        &fetcher,
        &b,
        FailInfo::BadCertId,
        "no certificate matches the query: serial 010203",
    )
    .await;
    let b = scep.lookup(&fetcher, "21", &stranger, &serial_of(&issued));
    scep.refused(
        &fetcher,
        &b,
        FailInfo::BadCertId,
        "no certificate matches the query: issuer is not our CA",
    )
    .await;

    let b = scep.lookup(&fetcher, "22", &ours, &serial_of(&issued));
    scep.refused(
        &fetcher,
        &b,
        FailInfo::BadRequest,
        "operation not available: no CRL has been published yet",
    )
    .await;
    let b = scep.lookup(&fetcher, "22", &stranger, &serial_of(&issued));
    scep.refused(
        &fetcher,
        &b,
        FailInfo::BadCertId,
        "GetCRL for an issuer that is not our current CA",
    )
    .await;

    assert_eq!(scep.issued().await, (1, 1));
}

/// A held request an officer denied: its poll and its retry get badRequest, a poll signed by
/// another key learns nothing (badCertId), and nothing is issued. The challenge stays spent
/// (it was when the request was held).
#[tokio::test]
async fn a_denied_held_request_is_refused_and_a_stranger_learns_nothing() {
    let mut manual = policy::TemplateSpec::device();
    manual.manual_approval = true;
    let scep = Scep::with(RaConfig {
        templates: vec![policy::Template::new(manual).unwrap()],
        ..RaConfig::default()
    })
    .await;
    let d = Device::rsa("held.example");
    let c = scep.challenge().await;
    let csr = d.csr("held.example", &c);
    let subject_der = request::csr::inspect(&csr).unwrap().subject_der;
    let b = scep.request(&d, csr).transaction_id("held-tx");
    assert_eq!(scep.send(&d, &b).await.cert_rep.status, PkiStatus::Pending);
    let held = scep.setup.store.list_pending().await.unwrap();
    assert_eq!(held.len(), 1);
    scep.setup
        .store
        .deny_pending(held[0].id, "officer", "not on the inventory", scep.now)
        .await
        .unwrap();

    let poll_from = |device| {
        let data = scep::build_message_data(&scep::MessageData::IssuerAndSubject {
            issuer_der: scep.setup.ca_subject_der.clone(),
            subject_der: subject_der.clone(),
        })
        .unwrap();
        scep.request(device, data)
            .message_type(Some("20"))
            .transaction_id("held-tx")
    };
    let denied = "request denied by an operator: not on the inventory";
    scep.refused(&d, &poll_from(&d), FailInfo::BadRequest, denied)
        .await;
    scep.refused(&d, &b, FailInfo::BadRequest, denied).await;

    let stranger = Device::rsa("held.example");
    scep.refused(
        &stranger,
        &poll_from(&stranger),
        FailInfo::BadCertId,
        "no certificate matches the query: poll for transaction held-tx",
    )
    .await;

    assert_eq!(scep.issued().await, (0, 0));
    assert!(matches!(
        scep.challenge_status(&c).await,
        ChallengeStatus::Used
    ));
}

// ---------------------------------------------------------------------------------------------
// Renewal

impl Scep {
    /// A RenewalReq signed by `holder` (its key and the certificate it renews), for `csr`.
    fn renewal<'a>(
        &'a self,
        holder: &'a Device,
        csr: Vec<u8>,
        transaction_id: &str,
    ) -> PkcsReqBuilder<'a> {
        self.request(holder, csr)
            .message_type(Some("17"))
            .transaction_id(transaction_id)
    }

    /// Inside the default template's renewal window (the last 30 of 365 days) of a
    /// certificate issued at `self.now`.
    fn renewal_time(&self) -> i64 {
        self.now + 340 * DAY
    }
}

/// A CSR for a fresh key with this subject and DNS names.
fn renewal_csr(subject: &str, dns: &[&str]) -> (ClientKey, Vec<u8>) {
    let key = ClientKey::generate_rsa(2048).unwrap();
    let mut csr = CsrBuilder::new(subject);
    for name in dns {
        csr = csr.dns(name);
    }
    let csr = csr.build(&key).unwrap();
    (key, csr)
}

/// The renewing certificate must be one we issued and recorded, under our CA's key, and not
/// revoked: a self-signed certificate, another CA's, a namesake CA's, or one signed by our
/// key but never recorded are all refused before the CA (micromdm #117); so is a revoked
/// one, while an unrevoked one renews at the same time.
#[tokio::test]
async fn renewal_with_a_foreign_or_revoked_certificate_is_refused() {
    let scep = Scep::start().await;
    let at = scep.renewal_time();
    let (_, csr) = renewal_csr("CN=laptop", &[]);

    let (other_signer, other_certificate) = other_ca("CN=Other CA");
    let (namesake_signer, namesake_certificate) = other_ca("CN=RA Test CA,O=scepd");
    type Issuer<'a> = Option<(&'a dyn keys::Signer, &'a [u8])>;
    let foreign: [(&str, Issuer<'_>, &str); 4] = [
        (
            "self-signed",
            None,
            "renewal refused: signer certificate not issued by our CA",
        ),
        (
            "another CA",
            Some((other_signer.as_ref(), &other_certificate)),
            "renewal refused: signer certificate not issued by our CA",
        ),
        (
            "a namesake CA",
            Some((namesake_signer.as_ref(), &namesake_certificate)),
            "renewal refused: signer certificate not signed by our CA key",
        ),
        (
            "our CA key, never recorded",
            Some((scep.setup.ca_signer.as_ref(), &scep.setup.ca_certificate)),
            "renewal refused: signer certificate not in our records",
        ),
    ];
    for (what, issuer, reason) in foreign {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let cert = match issuer {
            None => self_signed_certificate(&key, "CN=laptop").unwrap(),
            Some((signer, certificate)) => certificate_from(signer, certificate, &key, "laptop"),
        };
        let holder = Device { key, cert };
        let b = scep.renewal(&holder, csr.clone(), what);
        scep.refused_at(&holder, &b, FailInfo::BadRequest, reason, at)
            .await;
    }
    assert_eq!(scep.issued().await, (0, 0));

    // Two certificates we issued; one is revoked.
    let revoked = Device::rsa("laptop-r");
    let revoked_certificate = scep.enroll(&revoked, "laptop-r").await;
    let good = Device::rsa("laptop-g");
    let good_certificate = scep.enroll(&good, "laptop-g").await;
    scep.setup
        .store
        .revoke(
            &serial_hex(&serial_of(&revoked_certificate)),
            "keyCompromise",
            scep.now,
            "officer",
        )
        .await
        .unwrap();
    assert_eq!(scep.issued().await, (2, 2));

    let (_, csr) = renewal_csr("CN=laptop-r", &["laptop-r"]);
    let holder = Device {
        key: revoked.key,
        cert: revoked_certificate,
    };
    let b = scep.renewal(&holder, csr, "renew-revoked");
    scep.refused_at(
        &holder,
        &b,
        FailInfo::BadRequest,
        "renewal refused: signer certificate is revoked",
        at,
    )
    .await;
    assert_eq!(scep.issued().await, (2, 2));

    let (new_key, csr) = renewal_csr("CN=laptop-g", &["laptop-g"]);
    let holder = Device {
        key: good.key,
        cert: good_certificate,
    };
    let b = scep.renewal(&holder, csr, "renew-good");
    let renewed = scep.send_at(&holder, &b, at).await;
    assert_eq!(renewed.cert_rep.status, PkiStatus::Success);
    let renewed = scep::parse_certificate_lenient(&renewed.cert_rep.certificate.unwrap()).unwrap();
    assert_eq!(renewed.spki_der, new_key.spki_der());
    assert_eq!(scep.issued().await, (3, 3));
}

/// A renewal stays inside the certificate it renews: not before the template's window, with
/// a new key, the same subject and no added name. Each is refused by the RA, before the CA.
#[tokio::test]
async fn renewal_beyond_the_old_certificate_is_refused() {
    let scep = Scep::start().await;
    let old = Device::rsa("laptop2");
    let old_certificate = scep.enroll(&old, "laptop2").await;
    let holder = Device {
        key: old.key,
        cert: old_certificate,
    };
    let at = scep.renewal_time();

    let (_, early) = renewal_csr("CN=laptop2", &["laptop2"]);
    let same_key = CsrBuilder::new("CN=laptop2")
        .dns("laptop2")
        .build(&holder.key)
        .unwrap();
    let (_, other_subject) = renewal_csr("CN=administrator", &["laptop2"]);
    let (_, added_name) = renewal_csr("CN=laptop2", &["laptop2", "dc01.corp.example"]);
    let too_early = scep.now + DAY;
    let cases: [(&str, Vec<u8>, i64, String); 4] = [
        (
            "too-early",
            early,
            too_early,
            format!("renewal refused: renewal at {too_early} is before the window opening at"),
        ),
        (
            "same-key",
            same_key,
            at,
            "renewal refused: renewal reuses the old key; the template requires a new one".into(),
        ),
        (
            "other-subject",
            other_subject,
            at,
            "renewal refused: renewal subject \"CN=administrator\" differs from the old subject"
                .into(),
        ),
        (
            "added-name",
            added_name,
            at,
            "renewal refused: renewal adds the name \"dns:dc01.corp.example\"".into(),
        ),
    ];
    for (what, csr, when, reason) in cases {
        let b = scep.renewal(&holder, csr, what);
        scep.refused_at(&holder, &b, FailInfo::BadRequest, &reason, when)
            .await;
    }
    assert_eq!(scep.issued().await, (1, 1));
}
