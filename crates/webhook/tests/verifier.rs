//! The webhook verifier against a mock receiver over TLS on 127.0.0.1: an explicit allow is
//! the only yes; forged, replayed and stale deliveries, refusals, bad answers, redirects,
//! timeouts and oversize answers never vouch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mock;

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use mock::{Receiver, SECRET, TestCa};
use vouch::{ChallengeQuestion, ChallengeVerifier, IssuedFacts, VerifierRefusal};
use webhook::{SettingsError, SignatureError, WebhookVerifier, verify_signature};
use zeroize::Zeroizing;

fn question(challenge: &str) -> ChallengeQuestion {
    ChallengeQuestion {
        endpoint: "portal".into(),
        template: "device".into(),
        transaction_id: "5E2A9C".into(),
        challenge: Zeroizing::new(challenge.into()),
        csr_der: vec![0x30, 0x03, 0x02, 0x01, 0x00],
        subject: "CN=dev1,O=Example".into(),
        sans: vec!["dns:dev1.example".into()],
        extended_key_usages: vec!["1.3.6.1.5.5.7.3.2".into()],
        key: "ec-p256".into(),
        key_sha256: "ab".repeat(32),
        source: "192.0.2.7".into(),
    }
}

async fn ask(receiver: &Receiver, path: &str) -> Result<vouch::Vouched, VerifierRefusal> {
    let verifier = WebhookVerifier::new(receiver.settings(path)).unwrap();
    verifier.verify(&question("let-me-in")).await
}

fn unavailable(result: Result<vouch::Vouched, VerifierRefusal>) -> String {
    match result {
        Err(VerifierRefusal::Unavailable(detail)) => detail,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

fn refused(result: Result<vouch::Vouched, VerifierRefusal>) -> String {
    match result {
        Err(VerifierRefusal::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_allow_vouches_and_the_delivery_is_signed_and_complete() {
    let receiver = Receiver::start(SECRET, None).await;
    let vouched = ask(&receiver, "/allow").await.unwrap();
    assert_eq!(vouched.by, "webhook");
    assert_eq!(vouched.spend_once, None);
    assert!(!vouched.csr_validated);
    assert_eq!(
        vouched.binding,
        policy::Binding {
            template: Some("device".into()),
            subject: None,
            sans: Vec::new()
        }
    );

    let [delivery] = receiver.deliveries().try_into().unwrap();
    assert!(delivery.signature_ok);
    assert_eq!(delivery.content_type, "application/json");
    assert_eq!(delivery.delivery_id.len(), 36);
    let body = delivery.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["event"], "scep.challenge.verify");
    assert_eq!(body["delivery_id"], delivery.delivery_id.as_str());
    assert_eq!(body["endpoint"], "portal");
    assert_eq!(body["template"], "device");
    assert_eq!(body["transaction_id"], "5E2A9C");
    assert_eq!(body["challenge"], "let-me-in");
    assert_eq!(body["subject"], "CN=dev1,O=Example");
    assert_eq!(body["sans"], serde_json::json!(["dns:dev1.example"]));
    assert_eq!(
        body["extended_key_usages"],
        serde_json::json!(["1.3.6.1.5.5.7.3.2"])
    );
    assert_eq!(body["key"], "ec-p256");
    assert_eq!(body["key_sha256"], "ab".repeat(32));
    assert_eq!(body["source"], "192.0.2.7");
    let csr = base64::engine::general_purpose::STANDARD
        .decode(body["csr"].as_str().unwrap())
        .unwrap();
    assert_eq!(csr, question("").csr_der);

    // Each delivery has its own id.
    ask(&receiver, "/allow").await.unwrap();
    let ids: Vec<String> = receiver
        .deliveries()
        .into_iter()
        .map(|d| d.delivery_id)
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn an_allow_with_a_binding_narrows_the_names() {
    let receiver = Receiver::start(SECRET, None).await;
    let vouched = ask(&receiver, "/allow-bound").await.unwrap();
    assert_eq!(
        vouched.binding,
        policy::Binding {
            template: Some("device".into()),
            subject: Some("CN=dev1,O=Example".into()),
            sans: vec!["dns:dev1.example".into()],
        }
    );
}

#[tokio::test]
async fn a_deny_and_an_unknown_challenge_are_refused() {
    let receiver = Receiver::start(SECRET, None).await;
    assert_eq!(refused(ask(&receiver, "/deny").await), "denied");
    let verifier = WebhookVerifier::new(receiver.settings("/portal")).unwrap();
    assert!(verifier.verify(&question("let-me-in")).await.is_ok());
    assert_eq!(
        refused(verifier.verify(&question("guessed")).await),
        "denied"
    );
}

#[tokio::test]
async fn a_forged_delivery_is_refused_by_the_receiver_and_nothing_is_vouched() {
    // scepd signs with a secret the receiver does not share: the receiver's check fails and
    // it answers 401, which is not an allow.
    let receiver = Receiver::start(b"the receiver's own, different secret, 32+", None).await;
    let detail = unavailable(ask(&receiver, "/allow").await);
    assert!(detail.contains("401"), "{detail}");
    let [delivery] = receiver.deliveries().try_into().unwrap();
    assert!(!delivery.signature_ok);
}

#[tokio::test]
async fn a_replayed_or_altered_delivery_fails_the_receivers_check() {
    let receiver = Receiver::start(SECRET, None).await;
    ask(&receiver, "/allow").await.unwrap();
    let [delivery] = receiver.deliveries().try_into().unwrap();
    let sent: u64 = delivery.timestamp.parse().unwrap();
    let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let check = |body: &[u8], timestamp: &str, now: u64| {
        verify_signature(
            SECRET,
            timestamp,
            body,
            &delivery.signature,
            at(now),
            webhook::DEFAULT_TOLERANCE,
        )
    };
    assert_eq!(check(&delivery.body, &delivery.timestamp, sent + 1), Ok(()));
    // The same bytes, replayed six minutes later.
    assert_eq!(
        check(&delivery.body, &delivery.timestamp, sent + 360),
        Err(SignatureError::Stale { age_secs: 360 })
    );
    // Re-dated to look fresh: the timestamp is under the MAC.
    let redated = (sent + 360).to_string();
    assert_eq!(
        check(&delivery.body, &redated, sent + 360),
        Err(SignatureError::Mismatch)
    );
    // Another challenge spliced into the body.
    let altered = String::from_utf8(delivery.body.clone())
        .unwrap()
        .replace("let-me-in", "let-me-in-too");
    assert_eq!(
        check(altered.as_bytes(), &delivery.timestamp, sent + 1),
        Err(SignatureError::Mismatch)
    );
}

#[tokio::test]
async fn answers_scepd_does_not_understand_are_refused() {
    let receiver = Receiver::start(SECRET, None).await;
    assert_eq!(
        refused(ask(&receiver, "/unknown-decision").await),
        "unknown-decision"
    );
    assert_eq!(
        refused(ask(&receiver, "/extra-field").await),
        "malformed-answer"
    );
    // A UPN is not a name a webhook can bind (it saw the challenge, not the device record).
    assert_eq!(
        refused(ask(&receiver, "/out-of-scope-binding").await),
        "bad-binding"
    );
}

#[tokio::test]
async fn what_is_not_an_answer_fails_closed() {
    let receiver = Receiver::start(SECRET, None).await;
    for path in [
        "/garbage",
        "/html",
        "/allow-as-text",
        "/allow-untyped",
        "/500",
        "/201",
        "/nowhere",
    ] {
        unavailable(ask(&receiver, path).await);
    }
    let detail = unavailable(ask(&receiver, "/huge").await);
    assert!(detail.contains("answer"), "{detail}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = Receiver::start(SECRET, None).await;
    let detail = unavailable(ask(&receiver, "/redirect").await);
    assert!(detail.contains("302"), "{detail}");
    let paths: Vec<String> = receiver.deliveries().into_iter().map(|d| d.path).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn a_slow_receiver_times_out() {
    let receiver = Receiver::start(SECRET, None).await;
    let started = Instant::now();
    let detail = unavailable(ask(&receiver, "/slow").await);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(detail.contains("no answer within"), "{detail}");
}

#[tokio::test]
async fn mutual_tls_presents_the_configured_client_certificate() {
    let client_ca = TestCa::new("scepd client CA");
    let receiver = Receiver::start(SECRET, Some(&client_ca)).await;

    let mut settings = receiver.settings("/allow");
    settings.client_identity = Some(client_ca.client_identity());
    let verifier = WebhookVerifier::new(settings).unwrap();
    verifier.verify(&question("let-me-in")).await.unwrap();
    let [delivery] = receiver.deliveries().try_into().unwrap();
    assert!(delivery.client_certificate.is_some());

    // Without a certificate, or with one from another CA, the handshake fails.
    unavailable(ask(&receiver, "/allow").await);
    let mut settings = receiver.settings("/allow");
    settings.client_identity = Some(TestCa::new("someone else").client_identity());
    let verifier = WebhookVerifier::new(settings).unwrap();
    unavailable(verifier.verify(&question("let-me-in")).await);
    assert_eq!(receiver.deliveries().len(), 1);
}

#[tokio::test]
async fn a_receiver_scepd_does_not_trust_gets_nothing() {
    let receiver = Receiver::start(SECRET, None).await;
    let mut settings = receiver.settings("/allow");
    settings.extra_roots = vec![TestCa::new("another CA").der()];
    let verifier = WebhookVerifier::new(settings).unwrap();
    let detail = unavailable(verifier.verify(&question("let-me-in")).await);
    assert!(detail.contains("TLS handshake"), "{detail}");
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn settings_that_cannot_work_are_refused() {
    let receiver = Receiver::start(SECRET, None).await;
    let mut plain = receiver.settings("/allow");
    plain.url = format!("http://{}/allow", receiver.addr);
    assert!(matches!(
        WebhookVerifier::new(plain),
        Err(SettingsError::Url(_))
    ));
    let mut plain_notify = receiver.settings("/allow");
    plain_notify.notify_url = Some(format!("http://{}/notify", receiver.addr));
    assert!(matches!(
        WebhookVerifier::new(plain_notify),
        Err(SettingsError::Url(_))
    ));
    let mut short = receiver.settings("/allow");
    short.secret = Zeroizing::new(b"too short".to_vec());
    assert!(matches!(
        WebhookVerifier::new(short),
        Err(SettingsError::ShortSecret(9))
    ));
    let mut rootless = receiver.settings("/allow");
    rootless.extra_roots.clear();
    assert!(matches!(
        WebhookVerifier::new(rootless),
        Err(SettingsError::NoTrustRoot)
    ));
    let mut bad_root = receiver.settings("/allow");
    bad_root.extra_roots = vec![vec![0x30, 0x00].into()];
    assert!(matches!(
        WebhookVerifier::new(bad_root),
        Err(SettingsError::TrustRoot { index: 0, .. })
    ));
    let settings = receiver.settings("/allow");
    let debug = format!("{settings:?}");
    assert!(!debug.contains("shared secret"), "{debug}");
}

fn issued_facts() -> IssuedFacts {
    IssuedFacts {
        certificate_der: vec![0x30, 0x00],
        thumbprint_sha1: "A9".repeat(20),
        serial_hex: "7c1f".into(),
        not_after: 1_798_761_600,
        issuer: "CN=scepd CA".into(),
    }
}

#[tokio::test]
async fn issuance_and_failure_are_notified_signed() {
    let receiver = Receiver::start(SECRET, None).await;
    let mut settings = receiver.settings("/allow");
    settings.notify_url = Some(receiver.url("/notify"));
    let verifier = WebhookVerifier::new(settings).unwrap();
    let q = question("let-me-in");
    verifier.verify(&q).await.unwrap();
    verifier.issued(&q, &issued_facts()).await.unwrap();
    verifier.failed(&q, "the CA is unreachable").await;

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d.signature_ok));
    let issued = deliveries[1].json();
    assert_eq!(deliveries[1].path, "/notify");
    assert_eq!(issued["event"], "scep.certificate.issued");
    assert_eq!(issued["transaction_id"], "5E2A9C");
    assert_eq!(issued["endpoint"], "portal");
    assert_eq!(issued["template"], "device");
    assert_eq!(issued["serial"], "7c1f");
    assert_eq!(issued["thumbprint_sha1"], "A9".repeat(20));
    assert_eq!(issued["not_after"], 1_798_761_600);
    assert_eq!(issued["issuer"], "CN=scepd CA");
    assert_eq!(issued["certificate"], "MAA=");
    assert!(issued.get("challenge").is_none());
    let failed = deliveries[2].json();
    assert_eq!(failed["event"], "scep.certificate.failed");
    assert_eq!(failed["reason"], "the CA is unreachable");
}

#[tokio::test]
async fn a_failing_notification_does_not_hold_the_certificate_back() {
    let receiver = Receiver::start(SECRET, None).await;
    let q = question("let-me-in");
    for notify in [
        receiver.url("/500"),
        "https://127.0.0.1:9/notify".to_owned(),
    ] {
        let mut settings = receiver.settings("/allow");
        settings.notify_url = Some(notify);
        let verifier = WebhookVerifier::new(settings).unwrap();
        assert_eq!(verifier.issued(&q, &issued_facts()).await, Ok(()));
        verifier.failed(&q, "boom").await;
    }
    // Without a notify URL nothing is sent at all.
    let verifier = WebhookVerifier::new(receiver.settings("/allow")).unwrap();
    let before = receiver.deliveries().len();
    assert_eq!(verifier.issued(&q, &issued_facts()).await, Ok(()));
    verifier.failed(&q, "boom").await;
    assert_eq!(receiver.deliveries().len(), before);
}
