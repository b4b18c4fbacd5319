//! End-to-end refusals against a real `scepd serve`: every broken or hostile PKIOperation gets
//! its precise answer — an HTTP status with a plain-text body before the message can be
//! trusted, afterwards a CertRep signed by the RA with pkiStatus FAILURE and the failInfo of
//! `ra::EnrollError::wire` — and nothing is issued and no challenge is spent.
//!
//! Each test starts its own server (they run in parallel; the counts they assert are their
//! own), so scenarios that need the same setup share one test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Server, block_on};
use scep_client::csr::oids;
use scep_client::{
    CaBundle, CertRepOutcome, ClientKey, ContentCipher, CsrBuilder, FailInfo, HttpReply,
    PkcsReqBuilder, PkiStatus, SanEntry, Tamper, get_ca_caps, get_ca_cert, pki_operation_get,
    pki_operation_post, read_cert_rep, self_signed_certificate,
};
use sha2::{Digest, Sha256};
use store::ChallengeStatus;

/// A server and what GetCACert told us about it.
struct Scep {
    server: Server,
    url: String,
    bundle: CaBundle,
}

impl Scep {
    fn start() -> Scep {
        Self::start_with("")
    }

    fn start_with(extra_toml: &str) -> Scep {
        let server = Server::start(extra_toml);
        let url = server.url();
        let bundle = get_ca_cert(&url).unwrap();
        assert!(
            bundle.ra_signing.is_some(),
            "GetCACert has no RA signing certificate"
        );
        assert_ne!(
            bundle.ra_encryption, bundle.ca,
            "GetCACert has no RA encryption certificate"
        );
        Scep {
            server,
            url,
            bundle,
        }
    }

    /// A fresh unbound challenge.
    fn challenge(&self) -> String {
        self.server.challenge(&[])
    }

    fn challenge_status(&self, secret: &str) -> ChallengeStatus {
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        block_on(self.server.store().challenge_status(&hash, unix_now())).unwrap()
    }

    fn assert_challenge_usable(&self, secret: &str, what: &str) {
        let status = self.challenge_status(secret);
        assert!(
            matches!(status, ChallengeStatus::Usable(_)),
            "{what}: challenge is {status:?}"
        );
    }

    fn certificate_count(&self) -> i64 {
        self.server.certificate_count()
    }

    fn request<'a>(&'a self, device: &'a Device, csr: Vec<u8>) -> PkcsReqBuilder<'a> {
        PkcsReqBuilder::new(&device.key, &device.cert, &self.bundle.ra_encryption, csr).unwrap()
    }

    /// POSTs the request; the answer must be a CertRep signed by the RA signing certificate
    /// that echoes our transactionID and senderNonce.
    fn send(&self, signer: &Device, builder: &PkcsReqBuilder<'_>) -> CertRepOutcome {
        let body = builder.build().unwrap();
        self.send_bytes(signer, builder, &body)
    }

    fn send_bytes(
        &self,
        signer: &Device,
        builder: &PkcsReqBuilder<'_>,
        body: &[u8],
    ) -> CertRepOutcome {
        let reply = pki_operation_post(&self.url, body).unwrap();
        self.read(signer, builder, &reply)
    }

    /// Sends the request, expects FAILURE with `fail_info`, and checks the audit log gives
    /// the reason we meant to provoke (the client only sees the failInfo and a generic text).
    #[track_caller]
    fn refused(
        &self,
        signer: &Device,
        builder: &PkcsReqBuilder<'_>,
        fail_info: FailInfo,
        reason: &str,
    ) -> CertRepOutcome {
        let outcome = self.send(signer, builder);
        assert_failure(&outcome, fail_info, reason);
        let detail = self.audit_detail(builder.get_transaction_id());
        assert!(
            detail.contains(reason),
            "audit says {detail:?}, expected {reason:?}"
        );
        outcome
    }

    /// The newest audit entry about `transaction_id`.
    fn audit_detail(&self, transaction_id: &str) -> String {
        let prefix = format!("transaction {transaction_id}: ");
        block_on(self.server.store().audit_events(5000))
            .unwrap()
            .into_iter()
            .rev()
            .find(|e| e.detail.starts_with(&prefix))
            .map(|e| e.detail)
            .unwrap_or_else(|| panic!("no audit entry for transaction {transaction_id}"))
    }

    pub(crate) fn read(
        &self,
        signer: &Device,
        builder: &PkcsReqBuilder<'_>,
        reply: &HttpReply,
    ) -> CertRepOutcome {
        assert_eq!(
            reply.status,
            200,
            "expected a CertRep, got: {}",
            reply.text()
        );
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/x-pki-message")
        );
        common::openssl_cms_verify(&self.server.ca_pem(), &reply.body);
        let outcome = read_cert_rep(
            &reply.body,
            &signer.key,
            &signer.cert,
            builder.get_sender_nonce(),
        )
        .unwrap();
        assert_eq!(
            Some(&outcome.signer_certificate),
            self.bundle.ra_signing.as_ref(),
            "the CertRep must be signed by the RA signing certificate"
        );
        assert_eq!(
            outcome.transaction_id.as_deref(),
            Some(builder.get_transaction_id())
        );
        outcome
    }
}

/// A device: its key and the self-signed certificate it signs its first request with.
struct Device {
    key: ClientKey,
    cert: Vec<u8>,
}

impl Device {
    fn rsa(cn: &str) -> Device {
        let key = ClientKey::generate_rsa(2048).unwrap();
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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[track_caller]
fn assert_failure(outcome: &CertRepOutcome, fail_info: FailInfo, what: &str) {
    assert_eq!(
        outcome.status,
        PkiStatus::Failure(fail_info),
        "{what}: {outcome:?}"
    );
    assert!(
        outcome.certificate.is_none(),
        "{what}: a FAILURE carries no certificate"
    );
    assert!(
        outcome
            .fail_info_text
            .as_deref()
            .is_some_and(|t| !t.is_empty()),
        "{what}: failInfoText missing"
    );
}

#[track_caller]
fn assert_plain_400(reply: &HttpReply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.text());
    assert!(
        reply
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/plain")),
        "{what}: content type {:?}",
        reply.content_type
    );
    assert!(!reply.text().trim().is_empty(), "{what}: empty body");
}

fn serial_of(der: &[u8]) -> Vec<u8> {
    scep::parse_certificate_lenient(der).unwrap().serial
}

#[test]
fn valid_pkcs_req_is_issued_and_the_certificate_verifies() {
    let scep = Scep::start();
    let device = Device::rsa("device-1.example");
    let challenge = scep.challenge();
    let builder = scep.request(&device, device.csr("device-1.example", &challenge));
    let outcome = scep.send(&device, &builder);
    assert_eq!(outcome.status, PkiStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.recipient_nonce.as_deref(),
        Some(builder.get_sender_nonce())
    );
    let certificate = outcome
        .certificate
        .expect("SUCCESS carries the certificate");
    let issued = scep::parse_certificate_lenient(&certificate).unwrap();
    assert_eq!(issued.spki_der, device.key.spki_der());

    let path = scep.server.dir.path().join("issued.der");
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_lines(&certificate)
    );
    std::fs::write(&path, pem).unwrap();
    common::openssl_verify(&scep.server.ca_pem(), &path);
    common::assert_device_template(&common::openssl_text(&path));

    assert_eq!(scep.certificate_count(), 1);
    assert!(matches!(
        scep.challenge_status(&challenge),
        ChallengeStatus::Used
    ));
}

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    text.as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Wrong, reused, expired and mis-bound challenges, a missing one and an undecipherable
/// envelope all get the same badRequest and the same text: the answer must not tell an
/// attacker which check failed (or what a stolen challenge is bound to).
#[test]
fn challenge_failures_are_indistinguishable_bad_requests() {
    let scep = Scep::start();
    let expiring = scep.server.challenge(&["--ttl", "1s"]);
    let minted_at = std::time::Instant::now();
    let bound_subject = scep.server.challenge(&["--subject", "CN=a"]);
    let bound_san = scep.server.challenge(&["--san", "dns:a.example"]);

    // A used challenge: enroll once for real.
    let first = Device::rsa("first.example");
    let used = scep.challenge();
    let ok = scep.send(
        &first,
        &scep.request(&first, first.csr("first.example", &used)),
    );
    assert_eq!(ok.status, PkiStatus::Success, "{ok:?}");
    assert_eq!(scep.certificate_count(), 1);

    let mut answers = Vec::new();
    let mut refuse = |what: &str, device: &Device, builder: PkcsReqBuilder<'_>| {
        let outcome = scep.refused(device, &builder, FailInfo::BadRequest, what);
        answers.push((what.to_owned(), outcome.fail_info_text.unwrap()));
    };

    let d = Device::rsa("wrong.example");
    refuse(
        "challenge unknown",
        &d,
        scep.request(
            &d,
            d.csr("wrong.example", "WrongChallenge0123456789abcdefgh"),
        ),
    );

    let d = Device::rsa("second.example");
    refuse(
        "challenge already used",
        &d,
        scep.request(&d, d.csr("second.example", &used)),
    );

    let d = Device::rsa("b");
    let csr = CsrBuilder::new("CN=b")
        .challenge(&bound_subject)
        .build(&d.key)
        .unwrap();
    refuse("challenge bound to other names", &d, scep.request(&d, csr));

    let d = Device::rsa("a.example");
    let csr = CsrBuilder::new("CN=a.example")
        .dns("evil.example")
        .challenge(&bound_san)
        .build(&d.key)
        .unwrap();
    refuse(
        "name not authorized by challenge: \"dns:evil.example\"",
        &d,
        scep.request(&d, csr),
    );

    let d = Device::rsa("none.example");
    let csr = CsrBuilder::new("CN=none.example")
        .dns("none.example")
        .build(&d.key)
        .unwrap();
    refuse("challenge missing", &d, scep.request(&d, csr));

    let d = Device::rsa("key.example");
    let fresh = scep.challenge();
    let builder = scep
        .request(&d, d.csr("key.example", &fresh))
        .tamper(Tamper {
            encrypted_key: true,
            ..Tamper::default()
        });
    refuse("could not be decrypted or parsed", &d, builder);

    std::thread::sleep(Duration::from_millis(2100).saturating_sub(minted_at.elapsed()));
    let d = Device::rsa("late.example");
    refuse(
        "challenge expired",
        &d,
        scep.request(&d, d.csr("late.example", &expiring)),
    );

    let (first_what, text) = &answers[0];
    for (what, other) in &answers {
        assert_eq!(
            other, text,
            "{what} and {first_what} must give the same failInfoText"
        );
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .collect();
    for leak in [
        "expired", "used", "bound", "unknown", "missing", "decrypt", "binding",
    ] {
        assert!(
            !words.iter().any(|w| w == leak),
            "failInfoText {text:?} says {leak:?}"
        );
    }

    assert_eq!(
        scep.certificate_count(),
        1,
        "nothing issued beyond the first enrollment"
    );
    scep.assert_challenge_usable(&bound_subject, "mis-bound subject");
    scep.assert_challenge_usable(&bound_san, "mis-bound SAN");
    scep.assert_challenge_usable(&fresh, "undecipherable request");
    assert!(matches!(
        scep.challenge_status(&expiring),
        ChallengeStatus::Expired
    ));
    assert_eq!(
        block_on(scep.server.store().count_challenges_used()).unwrap(),
        1
    );
}

/// Broken signatures at each layer: the outer SignerInfo, the signed messageDigest, the
/// proof of possession (signer ≠ CSR key) and the CSR's self-signature.
#[test]
fn broken_signatures_and_missing_proof_of_possession_are_bad_message_check() {
    let scep = Scep::start();

    let d = Device::rsa("sig.example");
    let c = scep.challenge();
    let b = scep.request(&d, d.csr("sig.example", &c)).tamper(Tamper {
        signature: true,
        ..Tamper::default()
    });
    scep.refused(
        &d,
        &b,
        FailInfo::BadMessageCheck,
        "outer signature invalid: ",
    );
    scep.assert_challenge_usable(&c, "tampered outer signature");

    let d = Device::rsa("content.example");
    let c = scep.challenge();
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
    );
    scep.assert_challenge_usable(&c, "messageDigest mismatch");

    // The PKCSReq is signed by a key other than the one in the CSR.
    let owner = Device::rsa("owner.example");
    let other = Device::rsa("other.example");
    let c = scep.challenge();
    let b = PkcsReqBuilder::new(
        &other.key,
        &other.cert,
        &scep.bundle.ra_encryption,
        owner.csr("owner.example", &c),
    )
    .unwrap();
    scep.refused(
        &other,
        &b,
        FailInfo::BadMessageCheck,
        "PKCSReq not signed by the key of its CSR",
    );
    scep.assert_challenge_usable(&c, "signed by another key");

    let d = Device::rsa("csr.example");
    let c = scep.challenge();
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
    );
    scep.assert_challenge_usable(&c, "CSR self-signature");

    assert_eq!(scep.certificate_count(), 0);
}

/// The allow-list of message types comes before everything else: a request with a usable
/// challenge and a valid CSR, sent as any type but the implemented ones, is refused without
/// touching the challenge (step-ca CVE-2026-30836 issued for type 18).
#[test]
fn unimplemented_message_types_get_bad_request_before_any_policy() {
    let scep = Scep::start();
    let d = Device::rsa("types.example");
    let c = scep.challenge();
    let csr = d.csr("types.example", &c);
    let mut types: Vec<String> = (0..=255u32)
        .filter(|t| ![17, 19, 20, 21, 22].contains(t))
        .map(|t| t.to_string())
        .collect();
    types.extend(["019", "+19", " 19", "19 ", "0x13", ""].map(str::to_owned));
    let mut text = None;
    for t in &types {
        let b = scep
            .request(&d, csr.clone())
            .message_type(Some(t))
            .transaction_id(&format!("type-{t}"));
        let outcome = scep.send(&d, &b);
        assert_failure(
            &outcome,
            FailInfo::BadRequest,
            &format!("messageType {t:?}"),
        );
        assert_eq!(
            text.get_or_insert_with(|| outcome.fail_info_text.clone()),
            &outcome.fail_info_text
        );
    }
    // Leaving the attribute out is no better.
    let b = scep
        .request(&d, csr.clone())
        .message_type(None)
        .transaction_id("type-absent");
    assert_failure(&scep.send(&d, &b), FailInfo::BadRequest, "no messageType");

    // RenewalReq is implemented but needs a certificate we issued, not a self-signed one.
    let b = scep
        .request(&d, csr.clone())
        .message_type(Some("17"))
        .transaction_id("renewal");
    scep.refused(
        &d,
        &b,
        FailInfo::BadRequest,
        "renewal refused: signer certificate not issued by our CA",
    );

    scep.assert_challenge_usable(&c, "unimplemented message types");
    assert_eq!(scep.certificate_count(), 0);
    let events = block_on(scep.server.store().audit_events(2000)).unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.kind != store::AuditKind::CertificateIssued.as_str()),
        "an unimplemented message type was issued"
    );
    let refused = events
        .iter()
        .filter(|e| e.detail.contains("unsupported messageType"))
        .count();
    assert!(
        refused > types.len(),
        "audit has {refused} unsupported-type refusals for {} requests",
        types.len() + 1
    );
}

#[test]
fn unparseable_bodies_get_http_400_with_a_text_body() {
    let scep = Scep::start();
    let d = Device::rsa("trunc.example");
    let c = scep.challenge();
    let valid = scep
        .request(&d, d.csr("trunc.example", &c))
        .build()
        .unwrap();

    let reply = pki_operation_post(&scep.url, b"").unwrap();
    assert_plain_400(&reply, "empty body");
    let reply = pki_operation_post(&scep.url, b"this is not a PKI message\n").unwrap();
    assert_plain_400(&reply, "garbage");
    let reply = pki_operation_post(&scep.url, &[0x30, 0x80, 0x30, 0x80, 0x00]).unwrap();
    assert_plain_400(&reply, "indefinite nonsense");
    for len in [
        1,
        2,
        16,
        100,
        valid.len() / 2,
        valid.len() - 100,
        valid.len() - 1,
    ] {
        let reply = pki_operation_post(&scep.url, &valid[..len]).unwrap();
        assert_plain_400(&reply, &format!("truncated to {len} of {}", valid.len()));
    }
    let reply = pki_operation_get(&scep.url, &valid[..valid.len() / 2]).unwrap();
    assert_plain_400(&reply, "truncated over GET");
    let reply = common_get(&scep, "operation=PKIOperation&message=%%%not-base64");
    assert_plain_400(&reply, "GET message that is not base64");
    let reply = common_get(&scep, "operation=PKIOperation");
    assert_plain_400(&reply, "GET without message");

    scep.assert_challenge_usable(&c, "truncated requests");
    assert_eq!(scep.certificate_count(), 0);
}

fn common_get(scep: &Scep, query: &str) -> HttpReply {
    scep_client::http::http_get(&format!("{}?{query}", scep.url)).unwrap()
}

#[test]
fn oversized_messages_get_http_413() {
    let scep = Scep::start();
    for size in [65 * 1024, 10 * 1024 * 1024] {
        let reply = pki_operation_post(&scep.url, &vec![0x30; size]).unwrap();
        assert_eq!(reply.status, 413, "POST of {size} bytes: {}", reply.text());
    }
    // hyper refuses request targets of 65 535 octets and more with 414 before the handler
    // sees them, so the handler's own 413 for `message=` above 64 KiB of DER (87 388 base64
    // characters) is never reached: a long GET is 414 URI Too Long.
    let message = "A".repeat(90_000);
    let reply = common_get(&scep, &format!("operation=PKIOperation&message={message}"));
    assert_eq!(
        reply.status,
        414,
        "GET with a {}-character message: {}",
        message.len(),
        reply.text()
    );
    // Under hyper's limit the message is read (and refused as garbage, not for its size).
    let message = "A".repeat(65_000);
    let reply = common_get(&scep, &format!("operation=PKIOperation&message={message}"));
    assert_plain_400(&reply, "GET with a 65 000-character message");
    // Just under the limit is read (and refused as garbage, not as too large).
    let reply = pki_operation_post(&scep.url, &vec![0x30; 60 * 1024]).unwrap();
    assert_plain_400(&reply, "60 KiB of garbage");
    assert_eq!(scep.certificate_count(), 0);
}

/// A 1024-bit RSA key, used consistently (CSR, self-signed certificate, PKCSReq signature),
/// is refused as an algorithm not allowed.
#[test]
fn rsa_1024_requester_is_bad_alg() {
    let scep = Scep::start();
    let key = ClientKey::generate_rsa_with_openssl(1024).unwrap();
    let device = Device {
        cert: self_signed_certificate(&key, "CN=weak.example").unwrap(),
        key,
    };
    let c = scep.challenge();
    let b = scep.request(&device, device.csr("weak.example", &c));
    scep.refused(
        &device,
        &b,
        FailInfo::BadAlg,
        "signature algorithm not allowed: ",
    );
    scep.assert_challenge_usable(&c, "RSA-1024");
    assert_eq!(scep.certificate_count(), 0);
}

/// Requests for more than the template grants: the template decides, the request proposes.
#[test]
fn requests_beyond_the_template_are_bad_request() {
    let scep = Scep::start();
    type Shape = fn(CsrBuilder) -> CsrBuilder;
    let cases: [(&str, Shape); 6] = [
        ("(anyExtendedKeyUsage) is not in the template", |b| {
            b.extended_key_usage(&[oids::ANY_EKU])
        }),
        ("(serverAuth) is not in the template", |b| {
            b.extended_key_usage(&[oids::SERVER_AUTH])
        }),
        ("subjectAltName of kind", |b| {
            b.san(SanEntry::Upn("administrator@corp.example".into()))
        }),
        ("basicConstraints cA=TRUE requested", |b| {
            b.basic_constraints(true, true)
        }),
        ("ESC15", |b| {
            // ApplicationCertPolicies: SEQUENCE OF PolicyInformation { clientAuth }.
            let policy = der_seq(&der_seq(&scep_client::csr::oid_der(&oids::CLIENT_AUTH)));
            b.extension(oids::MS_APPLICATION_POLICIES, false, policy)
        }),
        ("ESC6", |b| {
            b.ms_name_value_pair("ExpirationDate", "2099-01-01")
        }),
    ];
    for (what, shape) in cases {
        let d = Device::rsa("greedy.example");
        let c = scep.challenge();
        let csr = shape(
            CsrBuilder::new("CN=greedy.example")
                .dns("greedy.example")
                .challenge(&c),
        )
        .build(&d.key)
        .unwrap();
        scep.refused(&d, &scep.request(&d, csr), FailInfo::BadRequest, what);
        scep.assert_challenge_usable(&c, what);
    }
    assert_eq!(scep.certificate_count(), 0);
}

fn der_seq(content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128);
    let mut out = vec![0x30, content.len() as u8];
    out.extend_from_slice(content);
    out
}

/// A transactionID names one request: another key under it is refused; the same request sent
/// again (a client retrying after a lost reply) gets the same certificate, not a second one.
#[test]
fn transaction_id_is_bound_to_its_request() {
    let scep = Scep::start();
    let d = Device::rsa("tx.example");
    let c = scep.challenge();
    let b = scep
        .request(&d, d.csr("tx.example", &c))
        .transaction_id("fixed-transaction-1");
    let body = b.build().unwrap();
    let first = scep.send_bytes(&d, &b, &body);
    assert_eq!(first.status, PkiStatus::Success, "{first:?}");
    let serial = serial_of(first.certificate.as_ref().unwrap());

    let thief = Device::rsa("thief.example");
    let c2 = scep.challenge();
    let b2 = scep
        .request(&thief, thief.csr("thief.example", &c2))
        .transaction_id("fixed-transaction-1");
    scep.refused(
        &thief,
        &b2,
        FailInfo::BadRequest,
        "transactionID already used by another key",
    );
    scep.assert_challenge_usable(&c2, "transactionID reused with another key");

    let again = scep.send_bytes(&d, &b, &body);
    assert_eq!(again.status, PkiStatus::Success, "{again:?}");
    assert_eq!(
        serial_of(again.certificate.as_ref().unwrap()),
        serial,
        "a retry gets the same certificate"
    );
    assert_eq!(again.certificate, first.certificate);

    // Rebuilt (new nonce, new envelope) but the same key and CSR: still the same answer.
    let rebuilt = scep.send(&d, &b.clone().sender_nonce(vec![7; 16]));
    assert_eq!(rebuilt.certificate, first.certificate);
    assert_eq!(scep.certificate_count(), 1);

    // The same key may send a new, separately authorised request for the same subject under
    // its transactionID (clients derive the ID from the key and renew with the same key): a
    // second transaction, a second certificate — and the first retry still answers as before.
    // (The same key for another subject is refused: RFC 8894 §8.6, tests/renewal.rs.)
    let c3 = scep.challenge();
    let other_csr = d.csr("tx.example", &c3);
    let b3 = scep
        .request(&d, other_csr)
        .transaction_id("fixed-transaction-1");
    let second = scep.send(&d, &b3);
    assert_eq!(second.status, PkiStatus::Success, "{second:?}");
    assert_ne!(second.certificate, first.certificate);
    assert_eq!(scep.certificate_count(), 2);
    let again = scep.send_bytes(&d, &b, &body);
    assert_eq!(again.certificate, first.certificate);
}

#[test]
fn des_content_ciphers_without_the_opt_in_are_bad_alg() {
    let scep = Scep::start();
    for cipher in [ContentCipher::DesCbc, ContentCipher::DesEde3Cbc] {
        let d = Device::rsa("des.example");
        let c = scep.challenge();
        let b = scep.request(&d, d.csr("des.example", &c)).cipher(cipher);
        scep.refused(
            &d,
            &b,
            FailInfo::BadAlg,
            &format!("content encryption algorithm not allowed: {cipher:?}"),
        );
        scep.assert_challenge_usable(&c, &format!("{cipher:?}"));
    }
    assert_eq!(scep.certificate_count(), 0);
}

/// One challenge, sixteen devices at once: the challenge is consumed in the same database
/// transaction that records the certificate, so exactly one wins. The devices share one
/// address here, and a source's attempts in flight count against its lockout limit, so the
/// limit is raised above sixteen for all of them to race inside the database.
#[test]
fn one_challenge_used_by_sixteen_concurrent_requests_issues_once() {
    let scep = Scep::start_with("[limits]\nmax_failed_attempts = 32\n");
    let c = scep.challenge();
    let devices: Vec<Device> = (0..16)
        .map(|i| Device::rsa(&format!("race-{i}.example")))
        .collect();
    let requests: Vec<(PkcsReqBuilder<'_>, Vec<u8>)> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let b = scep.request(d, d.csr(&format!("race-{i}.example"), &c));
            let body = b.build().unwrap();
            (b, body)
        })
        .collect();
    let barrier = std::sync::Barrier::new(requests.len());
    let outcomes: Vec<CertRepOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = requests
            .iter()
            .zip(&devices)
            .map(|((b, body), d)| {
                let (scep, barrier) = (&scep, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    scep.send_bytes(d, b, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let successes = outcomes
        .iter()
        .filter(|o| o.status == PkiStatus::Success)
        .count();
    assert_eq!(successes, 1, "{outcomes:#?}");
    for o in outcomes.iter().filter(|o| o.status != PkiStatus::Success) {
        assert_failure(o, FailInfo::BadRequest, "loser of the challenge race");
    }
    for (b, _) in &requests {
        let detail = scep.audit_detail(b.get_transaction_id());
        assert!(
            detail.contains("challenge already used") || detail.contains("serial"),
            "race: {detail}"
        );
    }
    assert_eq!(scep.certificate_count(), 1);
    assert!(matches!(scep.challenge_status(&c), ChallengeStatus::Used));
}

#[test]
fn get_ca_caps_and_operation_parsing() {
    let scep = Scep::start();
    let caps = get_ca_caps(&scep.url).unwrap();
    let lines: Vec<&str> = caps.lines().collect();
    assert_eq!(
        lines,
        [
            "AES",
            "POSTPKIOperation",
            "Renewal",
            "SCEPStandard",
            "SHA-256",
            "SHA-384",
            "SHA-512"
        ]
    );

    for query in [
        "operation=GetCACapz",
        "operation=getcacaps",
        "operation=",
        "",
        "message=abc",
        "operation=GetCACert&operation=PKIOperation",
        "operation=PKIOperation&message=a&message=b",
        "operation=%FF",
    ] {
        assert_plain_400(&common_get(&scep, query), &format!("query {query:?}"));
    }
}

/// Nonces the RA cannot echo (RFC 8894 §3.2.1.5 asks for 16 octets; we accept 1..=32) leave
/// nothing to answer with a valid CertRep: HTTP 400.
#[test]
fn sender_nonces_that_cannot_be_echoed_get_http_400() {
    let scep = Scep::start();
    let d = Device::rsa("nonce.example");
    let c = scep.challenge();
    for nonce in [Vec::new(), vec![1; 33], vec![1; 1024]] {
        let b = scep
            .request(&d, d.csr("nonce.example", &c))
            .sender_nonce(nonce.clone());
        let reply = pki_operation_post(&scep.url, &b.build().unwrap()).unwrap();
        assert_plain_400(&reply, &format!("senderNonce of {} octets", nonce.len()));
    }
    scep.assert_challenge_usable(&c, "unechoable nonces");
    assert_eq!(scep.certificate_count(), 0);
}

/// A request encrypted to another certificate of the bundle (the CA) cannot be opened by
/// the RA: a message check failure, not a decryption oracle.
#[test]
fn envelope_for_another_recipient_is_bad_message_check() {
    let scep = Scep::start();
    let d = Device::rsa("ca-recipient.example");
    let c = scep.challenge();
    let b = PkcsReqBuilder::new(
        &d.key,
        &d.cert,
        &scep.bundle.ca,
        d.csr("ca-recipient.example", &c),
    )
    .unwrap();
    scep.refused(
        &d,
        &b,
        FailInfo::BadMessageCheck,
        "envelope not addressed to our encryption certificate",
    );
    scep.assert_challenge_usable(&c, "envelope for the CA");
    assert_eq!(scep.certificate_count(), 0);
}

/// SHA-1 signatures need the legacy opt-in (aws-lc-rs cannot make them: openssl signs).
#[test]
fn sha1_signed_request_without_the_opt_in_is_bad_alg() {
    let scep = Scep::start();
    let key = ClientKey::generate_rsa_with_openssl(2048).unwrap();
    let device = Device {
        cert: self_signed_certificate(&key, "CN=sha1.example").unwrap(),
        key,
    };
    let c = scep.challenge();
    let b = scep
        .request(&device, device.csr("sha1.example", &c))
        .digest(scep_client::DigestAlgorithm::Sha1);
    scep.refused(
        &device,
        &b,
        FailInfo::BadAlg,
        "signature algorithm not allowed: RsaPkcs1Sha1",
    );
    scep.assert_challenge_usable(&c, "SHA-1");
    assert_eq!(scep.certificate_count(), 0);
}

/// The DES refusal is the opt-in's doing: with `insecure_single_des` the same request is
/// issued, and the reply comes back under DES too (micromdm's client reads nothing else).
#[test]
fn single_des_is_accepted_only_with_the_insecure_opt_in() {
    let scep = Scep::start_with("[crypto]\ninsecure_single_des = true\n");
    let d = Device::rsa("legacy.example");
    let c = scep.challenge();
    let b = scep
        .request(&d, d.csr("legacy.example", &c))
        .cipher(ContentCipher::DesCbc);
    let outcome = scep.send(&d, &b);
    assert_eq!(outcome.status, PkiStatus::Success, "{outcome:?}");
    assert_eq!(scep.certificate_count(), 1);
}

/// PKIOperation over GET (certmonger's way) reaches the same pipeline: issued, and a
/// refusal is the same signed FAILURE as over POST.
#[test]
fn pki_operation_over_get_is_issued_or_refused_like_post() {
    let scep = Scep::start();
    let d = Device::rsa("get.example");
    let c = scep.challenge();
    let b = scep.request(&d, d.csr("get.example", &c));
    let reply = pki_operation_get(&scep.url, &b.build().unwrap()).unwrap();
    assert_eq!(scep.read(&d, &b, &reply).status, PkiStatus::Success);

    let d2 = Device::rsa("get2.example");
    let b = scep.request(&d2, d2.csr("get2.example", &c));
    let reply = pki_operation_get(&scep.url, &b.build().unwrap()).unwrap();
    assert_failure(
        &scep.read(&d2, &b, &reply),
        FailInfo::BadRequest,
        "GET with a used challenge",
    );
    assert_eq!(scep.certificate_count(), 1);
}

/// A requester whose key cannot receive the reply envelope (SCEP key transport is RSA) must
/// be refused before anything is issued or spent.
///
/// Today the template accepts P-256, the CA issues and records the certificate and spends
/// the challenge, and only then does the reply envelope fail ("internal error: key
/// transport: recipient public key: WrongAlgorithm"): the client gets "temporary failure,
/// retry later", and every retry replays into the same failure.
#[test]
fn ec_requester_is_refused_before_issuance() {
    let scep = Scep::start();
    let key = ClientKey::generate_ec_p256().unwrap();
    let d = Device {
        cert: self_signed_certificate(&key, "CN=ec.example").unwrap(),
        key,
    };
    let c = scep.challenge();
    let b = scep.request(&d, d.csr("ec.example", &c));
    let outcome = scep.send(&d, &b);
    assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadAlg));
    assert_eq!(
        scep.certificate_count(),
        0,
        "a certificate was issued that the requester cannot receive"
    );
    scep.assert_challenge_usable(&c, "EC requester");
}
