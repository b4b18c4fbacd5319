//! Webhook endpoints (`challenge = "webhook"`) on a running `scepd serve`, against an MDM's
//! receiver over TLS on 127.0.0.1 that checks every delivery with
//! `webhook::verify_signature`: an explicit allow enrolls a real SCEP client once and the
//! notify webhook hears of it; a deny, a forged delivery, an allow out of its binding's
//! scope and every bad answer (malformed, huge, wrongly typed, redirected, 500, too slow)
//! issue nothing; a captured delivery replayed to the receiver is refused by the receiver's
//! rules; scepd asks once per transaction; the challenge is in no log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod mdm;

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use common::Server;
use mdm::receiver::{BOUND_SAN, BOUND_SUBJECT, Receiver, SLOW, TestCa, Verdict};
use mdm::{Device, dns, new_transaction};
use sha2::Digest as _;

/// The secret scepd and the receiver share.
const SECRET: &str = "the MDM webhook secret, 32 bytes or more, for tests";
/// Another secret of the same length: deliveries signed with it are forgeries.
const FORGER_SECRET: &str = "a forger's webhook secret, 32 bytes or more, too!!";
/// Every challenge the devices present starts with this: it must be in no log.
const CHALLENGE_MARK: &str = "hook-challenge-";
/// scepd at debug, so that debug lines are searched for the challenge too.
const DEBUG_LOG: &str =
    "debug,sqlx=warn,hyper=warn,hyper_util=warn,rustls=warn,h2=warn,tower=warn,axum=warn";

/// One webhook endpoint named `name` asking `path` on `receiver`, signing with the secret in
/// `secret_file`, told of issuance at `/notify`, answers awaited for 1 s.
fn endpoint(name: &str, receiver: &Receiver, path: &str, secret_file: &str, extra: &str) -> String {
    format!(
        r#"
[[endpoints]]
name = "{name}"
template = "device"
challenge = "webhook"
[endpoints.webhook]
url = "{url}"
notify_url = "{notify}"
secret_file = "{secret_file}"
tls_ca_file = "certs/mdm-webhook-ca.pem"
timeout = "1s"
{extra}
"#,
        url = receiver.url(path),
        notify = receiver.url("/notify"),
    )
}

/// Writes the shared secret, the forger's secret and the receiver's CA into the data dir.
fn write_mdm_files(data: &std::path::Path, receiver: &Receiver) {
    mdm::write_file(data, "keys/webhook.secret", SECRET.as_bytes(), true);
    mdm::write_file(data, "keys/forger.secret", FORGER_SECRET.as_bytes(), true);
    mdm::write_file(
        data,
        "certs/mdm-webhook-ca.pem",
        receiver.ca.pem().as_bytes(),
        false,
    );
}

/// The challenge is in neither scepd's log nor its audit log (though the receiver got it).
fn assert_challenge_never_recorded(server: &Server, receiver: &Receiver) {
    assert!(
        receiver.deliveries().iter().any(|d| d.json()["challenge"]
            .as_str()
            .is_some_and(|c| c.starts_with(CHALLENGE_MARK))),
        "the receiver was never sent a challenge"
    );
    let log = server.stderr();
    assert!(!log.is_empty(), "scepd logged nothing at debug");
    assert!(
        !log.contains(CHALLENGE_MARK),
        "the challenge is in scepd's log"
    );
    let audit = mdm::audit(server);
    assert!(
        !audit.contains(CHALLENGE_MARK),
        "the challenge is in the audit log"
    );
}

fn accepted(receiver: &Receiver, path: &str) -> Vec<mdm::receiver::Delivery> {
    receiver
        .deliveries_to(path)
        .into_iter()
        .filter(|d| d.verdict == Verdict::Accepted)
        .collect()
}

/// The events the notify webhook accepted, in order.
fn notified_events(receiver: &Receiver) -> Vec<String> {
    accepted(receiver, "/notify")
        .iter()
        .map(|d| {
            let event: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
            event["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[test]
fn an_allow_enrolls_once_the_mdm_hears_of_it_and_replays_get_nothing() {
    let receiver = Receiver::start(SECRET.as_bytes(), None);
    let config = endpoint("hook", &receiver, "/allow", "keys/webhook.secret", "");
    let server = mdm::start(
        &config,
        |data| write_mdm_files(data, &receiver),
        &[("SCEPD_LOG", DEBUG_LOG)],
    );
    let url = format!("{}/hook", server.url());
    let device = Device::new("CN=hook-dev1");
    let challenge = format!("{CHALLENGE_MARK}allow-1");
    let sans = [dns("hook-dev1.example")];
    let transaction = new_transaction();

    let certificate = device
        .enroll(&url, &challenge, &sans, &transaction)
        .unwrap();
    assert_eq!(server.certificate_count(), 1);
    let record = common::block_on(server.store().find_certificate(&mdm::serial(&certificate)))
        .unwrap()
        .unwrap();
    assert_eq!(record.template, "device");

    // The question: signed (the receiver checked), complete, the challenge the device sent.
    let [asked] = accepted(&receiver, "/allow").try_into().unwrap();
    let question = asked.json();
    assert_eq!(question["event"], "scep.challenge.verify");
    assert_eq!(question["endpoint"], "hook");
    assert_eq!(question["template"], "device");
    assert_eq!(question["transaction_id"], transaction.as_str());
    assert_eq!(question["challenge"], challenge.as_str());
    assert_eq!(question["subject"], "CN=hook-dev1");
    assert_eq!(
        question["sans"],
        serde_json::json!(["dns:hook-dev1.example"])
    );
    assert_eq!(question["delivery_id"], asked.delivery_id.as_str());
    // Dated now, under the MAC: the receiver can refuse it once it is stale.
    let sent = asked.timestamp.parse::<u64>().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(sent) < 60, "sent at {sent}, now {now}");

    // The notification: after signing, before the device had its certificate.
    let [told] = accepted(&receiver, "/notify").try_into().unwrap();
    let news = told.json();
    assert_eq!(news["event"], "scep.certificate.issued");
    assert_eq!(news["endpoint"], "hook");
    assert_eq!(news["transaction_id"], transaction.as_str());
    assert!(
        news["serial"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&mdm::serial(&certificate)),
        "{news}"
    );
    assert_eq!(
        news["certificate"],
        base64::engine::general_purpose::STANDARD.encode(&certificate)
    );
    assert_ne!(told.delivery_id, asked.delivery_id);

    // The receiver's side of a replay. The same delivery again, byte for byte, within the
    // tolerance: its signature is good, its delivery id is not new.
    let (status, answer) = receiver.resend(&asked);
    assert_eq!((status, answer.as_str()), (409, "replayed delivery"));
    let tolerance = webhook::DEFAULT_TOLERANCE;
    let at = |later: Duration| SystemTime::now() + later;
    let check = |timestamp: &str, body: &[u8], now: SystemTime| {
        webhook::verify_signature(
            SECRET.as_bytes(),
            timestamp,
            body,
            &asked.signature,
            now,
            tolerance,
        )
    };
    assert_eq!(
        check(&asked.timestamp, &asked.body, at(Duration::ZERO)),
        Ok(())
    );
    // Past the tolerance the timestamp refuses it, whatever the MAC: no id memory needed.
    assert!(matches!(
        check(
            &asked.timestamp,
            &asked.body,
            at(tolerance + Duration::from_secs(2))
        ),
        Err(webhook::SignatureError::Stale { .. })
    ));
    // Re-dated, or replayed for another transaction, the MAC no longer matches.
    let redated = (asked.timestamp.parse::<u64>().unwrap() + 60).to_string();
    assert_eq!(
        check(&redated, &asked.body, at(Duration::ZERO)),
        Err(webhook::SignatureError::Mismatch)
    );
    let other_body = String::from_utf8(asked.body.clone())
        .unwrap()
        .replace(&transaction, &new_transaction());
    assert_eq!(
        check(&asked.timestamp, other_body.as_bytes(), at(Duration::ZERO)),
        Err(webhook::SignatureError::Mismatch)
    );

    // scepd's side: the same transaction retried gets the same certificate without asking
    // again or issuing again.
    let again = device
        .enroll(&url, &challenge, &sans, &transaction)
        .unwrap();
    assert_eq!(again, certificate);
    assert_eq!(accepted(&receiver, "/allow").len(), 1);
    assert_eq!(accepted(&receiver, "/notify").len(), 1);
    assert_eq!(server.certificate_count(), 1);

    // A new transaction is a new request: the MDM is asked again, with a new delivery.
    let second_transaction = new_transaction();
    let second = device
        .enroll(&url, &challenge, &sans, &second_transaction)
        .unwrap();
    assert_ne!(second, certificate);
    let asked_twice = accepted(&receiver, "/allow");
    assert_eq!(asked_twice.len(), 2);
    assert_eq!(
        asked_twice[1].json()["transaction_id"],
        second_transaction.as_str()
    );
    assert_ne!(asked_twice[1].delivery_id, asked.delivery_id);
    assert_eq!(server.certificate_count(), 2);

    assert_challenge_never_recorded(&server, &receiver);
}

#[test]
fn refusals_forgeries_out_of_scope_allows_and_bad_answers_issue_nothing() {
    let receiver = Receiver::start(SECRET.as_bytes(), None);
    let secret = "keys/webhook.secret";
    let bad_answers = ["malformed", "huge", "text", "redirect", "500", "slow"];
    let mut config = endpoint("deny", &receiver, "/deny", secret, "");
    config += &endpoint("forged", &receiver, "/allow", "keys/forger.secret", "");
    config += &endpoint("bound", &receiver, "/bound", secret, "");
    for name in bad_answers {
        config += &endpoint(name, &receiver, &format!("/{name}"), secret, "");
    }
    let server = mdm::start(
        &config,
        |data| write_mdm_files(data, &receiver),
        &[("SCEPD_LOG", DEBUG_LOG)],
    );
    let at = |name: &str| format!("{}/{name}", server.url());
    let device = Device::new("CN=hook-refused");
    let sans = [dns("hook-refused.example")];
    let refuse = |name: &str| {
        let challenge = format!("{CHALLENGE_MARK}{name}");
        let started = Instant::now();
        let result = device.enroll(&at(name), &challenge, &sans, &new_transaction());
        assert_eq!(result, Err(scep::FailInfo::BadRequest), "{name}");
        started.elapsed()
    };

    // The MDM says no.
    refuse("deny");
    let [asked] = accepted(&receiver, "/deny").try_into().unwrap();
    assert_eq!(asked.json()["challenge"], format!("{CHALLENGE_MARK}deny"));

    // scepd signs with a secret the receiver does not hold: the receiver refuses the
    // delivery (401) and nothing is issued.
    refuse("forged");
    let [forged] = receiver.deliveries_to("/allow").try_into().unwrap();
    assert_eq!(forged.verdict, Verdict::BadSignature);

    // Every bad answer from the MDM side is a refusal. Each was asked (so each refusal is
    // the answer's doing), and the redirect was not followed to /allow.
    for name in bad_answers {
        let took = refuse(name);
        let path = format!("/{name}");
        assert_eq!(accepted(&receiver, &path).len(), 1, "{name}");
        if name == "slow" {
            assert!(took < SLOW, "scepd waited {took:?} for a slow webhook");
        }
    }
    assert_eq!(
        receiver.deliveries_to("/allow").len(),
        1,
        "a redirect was followed"
    );

    // An allow bound to one device's names lets that device through, no other and no
    // other name.
    let other = Device::new("CN=other-dev,O=Example");
    let challenge = format!("{CHALLENGE_MARK}bound");
    assert_eq!(
        other.enroll(
            &at("bound"),
            &challenge,
            &[dns(BOUND_SAN)],
            &new_transaction()
        ),
        Err(scep::FailInfo::BadRequest)
    );
    let bound = Device::new(BOUND_SUBJECT);
    assert_eq!(
        bound.enroll(
            &at("bound"),
            &challenge,
            &[dns(BOUND_SAN), dns("admin.example")],
            &new_transaction()
        ),
        Err(scep::FailInfo::BadRequest)
    );
    assert_eq!(server.certificate_count(), 0);
    // The webhook allowed both and the template (within the allow's binding) refused them:
    // it hears of each failure, and of no issuance.
    let events = notified_events(&receiver);
    assert_eq!(
        events,
        ["scep.certificate.failed", "scep.certificate.failed"],
        "{events:?}"
    );
    bound
        .enroll(
            &at("bound"),
            &challenge,
            &[dns(BOUND_SAN)],
            &new_transaction(),
        )
        .unwrap();
    assert_eq!(server.certificate_count(), 1);
    assert_eq!(
        notified_events(&receiver).last().map(String::as_str),
        Some("scep.certificate.issued")
    );

    // Each refusal is in the audit log with what the MDM side did, the deny's reason too.
    let audit = mdm::audit(&server);
    let rejected: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("\"kind\":\"challenge-rejected\""))
        .collect();
    assert_eq!(rejected.len(), 2 + bad_answers.len() + 2, "{audit}");
    for said in [
        "device wiped",
        "HTTP 401",
        "not JSON",
        "length limit",
        "text/plain",
        "HTTP 302",
        "HTTP 500",
        "no answer within 1s",
        "subject CN=other-dev,O=Example",
        "dns:admin.example",
    ] {
        assert!(rejected.iter().any(|l| l.contains(said)), "{said}: {audit}");
    }
    assert_challenge_never_recorded(&server, &receiver);
}

#[test]
fn over_mutual_tls_the_mdm_sees_scepds_client_certificate() {
    let client_ca = TestCa::new("scepd client CA");
    let receiver = Receiver::start(SECRET.as_bytes(), Some(&client_ca));
    let (client_der, client_pem, client_key) = client_ca.issue(&["scepd.test"]);
    let secret = "keys/webhook.secret";
    let mtls = "client_certificate = \"certs/webhook-client.pem\"\nclient_key = \"keys/webhook-client.key\"";
    let mut config = endpoint("mtls", &receiver, "/allow", secret, mtls);
    config += &endpoint("nocert", &receiver, "/allow", secret, "");
    let server = mdm::start(
        &config,
        |data| {
            write_mdm_files(data, &receiver);
            mdm::write_file(
                data,
                "certs/webhook-client.pem",
                client_pem.as_bytes(),
                false,
            );
            mdm::write_file(data, "keys/webhook-client.key", client_key.as_bytes(), true);
        },
        &[],
    );
    let device = Device::new("CN=hook-mtls");
    let sans = [dns("hook-mtls.example")];

    // Without a client certificate the receiver ends the handshake: nothing is asked.
    let refused = device.enroll(
        &format!("{}/nocert", server.url()),
        &format!("{CHALLENGE_MARK}nocert"),
        &sans,
        &new_transaction(),
    );
    assert_eq!(refused, Err(scep::FailInfo::BadRequest));
    assert!(receiver.deliveries().is_empty());
    assert_eq!(server.certificate_count(), 0);

    device
        .enroll(
            &format!("{}/mtls", server.url()),
            &format!("{CHALLENGE_MARK}mtls"),
            &sans,
            &new_transaction(),
        )
        .unwrap();
    let [asked] = accepted(&receiver, "/allow").try_into().unwrap();
    let presented: [u8; 32] = sha2::Sha256::digest(&client_der).into();
    assert_eq!(asked.client_certificate, Some(presented));
    assert_eq!(server.certificate_count(), 1);
}
