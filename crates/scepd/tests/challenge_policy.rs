//! The challenge policy of `[challenges]` (issue 6, part 5): the per-administrator limit on
//! outstanding challenges (NDES PasswordMax) and the challenge length.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{SCEPD, Server};
use scep::PkiStatus;
use scep_client::{
    ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post, read_cert_rep,
    self_signed_certificate,
};

fn enroll_with(server: &Server, cn: &str, challenge: &str) -> PkiStatus {
    let bundle = get_ca_cert(&server.url()).unwrap();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let subject = format!("CN={cn}");
    let cert = self_signed_certificate(&key, &subject).unwrap();
    let csr = CsrBuilder::new(&subject)
        .dns(cn)
        .challenge(challenge)
        .build(&key)
        .unwrap();
    let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce())
        .unwrap()
        .status
}

#[test]
fn challenges_beyond_the_per_admin_limit_are_refused_until_one_is_used() {
    let server = Server::start("[challenges]\nmax_outstanding_per_admin = 2\nlength = 40\n");
    let first = server.challenge(&[]);
    assert_eq!(first.len(), 40, "challenges.length is honoured");
    assert!(first.bytes().all(|b| b.is_ascii_alphanumeric()));
    server.challenge(&[]);
    let over = Command::new(SCEPD)
        .args(["challenge", "issue", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!over.status.success(), "a third challenge was issued");
    assert!(over.stdout.is_empty(), "something printed on stdout");
    let message = String::from_utf8_lossy(&over.stderr);
    assert!(
        message.contains("the limit is 2") && message.contains("max_outstanding_per_admin"),
        "{message}"
    );
    // A used challenge is no longer outstanding: the administrator may mint another.
    assert_eq!(
        enroll_with(&server, "quota.example", &first),
        PkiStatus::Success
    );
    server.challenge(&[]);
}

#[test]
fn a_challenge_length_below_128_bits_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = Command::new(SCEPD)
        .args(["init", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let config = data.join("scepd.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[challenges]\n", "[challenges]\nlength = 16\n");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(SCEPD)
        .args(["challenge", "issue", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("challenges.length = 16"), "{message}");
}
