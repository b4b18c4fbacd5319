//! `scepd init --ca-key rsa-2048` (issue 7's benchmark configuration): allowed, issues
//! certificates that chain to it, and `scepd doctor` warns about the key size instead of
//! refusing it; the default RSA-3072 CA gets no such warning.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{SCEPD, Server, enroll, openssl_text, openssl_verify, write_pem};

fn run(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn an_rsa_2048_ca_issues_and_doctor_warns_about_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, text) = run(&["init", "--ca-key", "rsa-2048"], &data);
    assert!(ok, "{text}");
    let ca_text = openssl_text(&data.join("certs/ca.pem"));
    assert!(ca_text.contains("Public-Key: (2048 bit)"), "{ca_text}");

    let (_, doctor) = run(&["doctor"], &data);
    let warning = doctor
        .lines()
        .find(|l| l.contains("RSA-2048"))
        .unwrap_or_else(|| panic!("no key size warning:\n{doctor}"));
    assert!(warning.contains("WARN"), "{warning}");

    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data, &[]);
    let issued = enroll(&server, "CN=device-1", &[]).unwrap();
    openssl_verify(&server.ca_pem(), &write_pem(&server, "issued.pem", &issued));
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn the_default_rsa_3072_ca_gets_no_key_size_warning() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, text) = run(&["init"], &data);
    assert!(ok, "{text}");
    let (_, doctor) = run(&["doctor"], &data);
    assert!(!doctor.contains("the CA key is RSA-"), "{doctor}");
}
