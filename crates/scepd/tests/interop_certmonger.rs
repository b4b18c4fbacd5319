//! certmonger (`getcert` + `/usr/lib/certmonger/scep-submit`) enrolls against `scepd serve` on
//! the secure defaults: AES-256, SHA-256, PKCSReq over GET, a 33-octet signer serial.
//! certmonger runs on a private D-Bus session with all its state in a temporary directory.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::recording_proxy::RecordingProxy;
use common::{Server, assert_device_template, openssl_cms_verify, openssl_text, openssl_verify};

/// certmonger enrolls at `path` (through a relay that keeps the CertReps, which must pass
/// `openssl cms -verify` with its default purpose and the CA as trust anchor).
fn certmonger_enrolls_at(path: &str) {
    if !common::certmonger::available() {
        return;
    }
    let server = Server::start("");
    let proxy = RecordingProxy::start(server.addr);
    let challenge = server.challenge(&[
        "--subject",
        "CN=vpn-gw1",
        "--san",
        "dns:vpn-gw1.example.net",
    ]);
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("device.key");
    let cert = work.path().join("device.pem");
    let script = format!(
        "set -e\n\
         getcert add-scep-ca -s -c scepd -u {url}\n\
         getcert request -s -c scepd -k {key} -f {cert} -N CN=vpn-gw1 -D vpn-gw1.example.net -L {challenge} -w -v\n\
         getcert list -s\n",
        url = proxy.url(path),
        key = key.display(),
        cert = cert.display(),
    );
    let log = common::certmonger::run_certmonger(work.path(), &script);
    assert!(
        cert.exists(),
        "certmonger got no certificate:\n{log}\nserver:\n{}",
        server.stderr()
    );
    assert!(log.contains("status: MONITORING"), "{log}");
    openssl_verify(&server.ca_pem(), &cert);
    let text = openssl_text(&cert);
    assert_device_template(&text);
    assert!(text.contains("DNS:vpn-gw1.example.net"), "{text}");
    assert_eq!(server.certificate_count(), 1);
    let replies = proxy.pki_replies();
    assert!(!replies.is_empty(), "no CertRep went through the relay");
    for reply in &replies {
        openssl_cms_verify(&server.ca_pem(), reply);
    }
}

#[test]
fn certmonger_enrolls_on_the_secure_defaults() {
    certmonger_enrolls_at("/scep");
}

#[test]
fn certmonger_enrolls_at_the_ndes_path() {
    certmonger_enrolls_at("/certsrv/mscep/mscep.dll");
}

#[test]
fn certmonger_request_for_names_outside_the_binding_is_refused() {
    if !common::certmonger::available() {
        return;
    }
    let server = Server::start("");
    let challenge = server.challenge(&["--subject", "CN=printer7"]);
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("device.key");
    let cert = work.path().join("device.pem");
    let script = format!(
        "getcert add-scep-ca -s -c scepd -u {url}\n\
         getcert request -s -c scepd -k {key} -f {cert} -N CN=dc01.corp.example -L {challenge} -w -v\n\
         getcert list -s\n",
        url = server.url(),
        key = key.display(),
        cert = cert.display(),
    );
    let log = common::certmonger::run_certmonger(work.path(), &script);
    assert!(
        !cert.exists(),
        "a certificate was issued for an unbound name:\n{log}"
    );
    assert!(
        log.contains("CA_REJECTED") || log.contains("rejected"),
        "{log}"
    );
    assert_eq!(server.certificate_count(), 0);
}
