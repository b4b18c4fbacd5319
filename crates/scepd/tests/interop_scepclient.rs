//! micromdm's `scepclient` (Debian package `scep`) enrolls against `scepd serve`.
//! It only speaks SHA-1 + single DES, so it needs the loud `insecure_single_des` opt-in; without
//! it, the same client is refused with badAlg and nothing is issued.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::recording_proxy::RecordingProxy;
use common::{Server, assert_device_template, openssl_text, openssl_verify, require_tool};

const SCEPCLIENT: &str = "scepclient";

/// Runs scepclient in a fresh directory (it keeps csr.pem/self.pem in its working directory
/// and would reuse them with a new key).
fn scepclient(server: &Server, challenge: &str, cn: &str) -> (bool, String, tempfile::TempDir) {
    scepclient_at(&server.url(), challenge, cn)
}

/// [`scepclient`] at a given SCEP URL.
fn scepclient_at(url: &str, challenge: &str, cn: &str) -> (bool, String, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(SCEPCLIENT)
        .current_dir(work.path())
        .args(["-server-url", url, "-challenge", challenge])
        .args([
            "-private-key",
            "device.key",
            "-certificate",
            "device.pem",
            "-cn",
            cn,
        ])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), log, work)
}

#[test]
fn scepclient_enrolls_with_the_single_des_opt_in() {
    if !require_tool(SCEPCLIENT) {
        return;
    }
    let server = Server::start("[crypto]\ninsecure_single_des = true\n");
    assert!(
        server.stderr().contains("INSECURE setting enabled"),
        "the opt-in must be logged at start:\n{}",
        server.stderr()
    );
    let challenge = server.challenge(&[]);
    let (ok, log, work) = scepclient(&server, &challenge, "router1");
    assert!(
        ok && log.contains("pkiStatus=SUCCESS"),
        "scepclient failed:\n{log}\nserver:\n{}",
        server.stderr()
    );
    let cert = work.path().join("device.pem");
    openssl_verify(&server.ca_pem(), &cert);
    let text = openssl_text(&cert);
    assert_device_template(&text);
    assert!(text.contains("CN = router1"), "{text}");
    assert!(
        text.contains("Key Encipherment"),
        "RSA keys get keyEncipherment:\n{text}"
    );
    assert_eq!(server.certificate_count(), 1);

    // The challenge is spent: a second device with the same challenge gets nothing.
    let (ok, log, _work) = scepclient(&server, &challenge, "router2");
    assert!(
        !ok && log.contains("failInfo: badRequest"),
        "reuse must fail:\n{log}"
    );
    assert_eq!(server.certificate_count(), 1);
}

/// At NDES's path, through a relay that keeps the CertReps: the success and the refusal of a
/// spent challenge both pass `openssl cms -verify` with its default purpose.
#[test]
fn scepclient_enrolls_at_the_ndes_path_and_its_replies_verify_with_openssl() {
    if !require_tool(SCEPCLIENT) {
        return;
    }
    let server = Server::start("[crypto]\ninsecure_single_des = true\n");
    let proxy = RecordingProxy::start(server.addr);
    let url = proxy.url("/certsrv/mscep/mscep.dll");
    let challenge = server.challenge(&[]);
    let (ok, log, work) = scepclient_at(&url, &challenge, "router3");
    assert!(
        ok && log.contains("pkiStatus=SUCCESS"),
        "scepclient failed:\n{log}\nserver:\n{}",
        server.stderr()
    );
    openssl_verify(&server.ca_pem(), &work.path().join("device.pem"));
    let (ok, log, _work) = scepclient_at(&url, &challenge, "router4");
    assert!(!ok && log.contains("failInfo: badRequest"), "{log}");
    let replies = proxy.pki_replies();
    assert_eq!(replies.len(), 2, "one CertRep per request");
    for reply in &replies {
        common::openssl_cms_verify(&server.ca_pem(), reply);
    }
}

#[test]
fn scepclient_is_refused_without_the_opt_in() {
    if !require_tool(SCEPCLIENT) {
        return;
    }
    let server = Server::start("");
    let challenge = server.challenge(&[]);
    let (ok, log, _work) = scepclient(&server, &challenge, "router1");
    assert!(
        !ok && log.contains("failInfo: badAlg"),
        "expected badAlg:\n{log}"
    );
    assert_eq!(server.certificate_count(), 0);
    // The refusal happened before the challenge was looked at: it is still usable.
    let used = common::block_on(server.store().count_challenges_used()).unwrap();
    assert_eq!(used, 0);
}

#[test]
fn scepclient_renews_with_its_certificate_and_the_same_key() {
    if !require_tool(SCEPCLIENT) {
        return;
    }
    // micromdm renews with the same key: the template must allow it (the default needs a
    // new key), and the window must be open right after enrollment.
    let config = format!(
        "[crypto]\ninsecure_single_des = true\n{}renewal_requires_new_key = false\n",
        common::RENEW_ANY_TIME
    );
    let server = Server::start(&config);
    let challenge = server.challenge(&[]);
    let (ok, log, work) = scepclient(&server, &challenge, "router9");
    assert!(ok, "{log}");
    let first = std::fs::read(work.path().join("device.pem")).unwrap();
    // micromdm keeps its CSR in csr.pem; without it, it makes a new CSR for the same key, signs
    // a RenewalReq with the certificate it holds and derives the same transactionID.
    std::fs::remove_file(work.path().join("csr.pem")).unwrap();
    let out = Command::new(SCEPCLIENT)
        .current_dir(work.path())
        .args(["-server-url", &server.url()])
        .args([
            "-private-key",
            "device.key",
            "-certificate",
            "device.pem",
            "-cn",
            "router9",
        ])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && log.contains("pkiStatus=SUCCESS"),
        "{log}\n{}",
        server.stderr()
    );
    let renewed = std::fs::read(work.path().join("device.pem")).unwrap();
    assert_ne!(renewed, first, "a renewal issues a new certificate");
    openssl_verify(&server.ca_pem(), &work.path().join("device.pem"));
    assert_eq!(server.certificate_count(), 2);
}
