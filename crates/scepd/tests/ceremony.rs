//! The key ceremony of `scepd init` end to end: keys encrypted at rest, keys in a PKCS#11
//! token (SoftHSM2), an imported existing CA, a constrained EC CA, and the fingerprints an
//! operator pins. Each case enrolls a device afterwards and checks the result with openssl.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{
    SCEPD, SOFTHSM_MODULE, Server, enroll, openssl_text, openssl_verify, require_tool, secret_file,
    softhsm_token, write_pem,
};

fn run_init(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(SCEPD)
        .arg("init")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn serve_fails(data: &Path, env: &[(&str, &str)]) -> String {
    let out = Command::new(SCEPD)
        .args(["serve", "--scep-listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve started: {}", text(&out));
    text(&out)
}

#[test]
fn encrypted_keys_serve_enroll_and_a_wrong_passphrase_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let passphrase = secret_file(dir.path(), "passphrase", "correct horse battery staple");
    let out = run_init(
        &data,
        &["--passphrase-file", passphrase.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("UNENCRYPTED"), "{}", text(&out));
    for key in ["ca-signing.key", "ra-signing.key", "ra-encryption.key"] {
        let pem = std::fs::read_to_string(data.join("keys").join(key)).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{key} is not encrypted"
        );
    }

    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data.clone(), &[]);
    assert!(
        !server.stderr().contains("UNENCRYPTED"),
        "{}",
        server.stderr()
    );
    let certificate = enroll(&server, "CN=enc1", &["enc1.example.net"]).unwrap();
    openssl_verify(
        &server.ca_pem(),
        &write_pem(&server, "enc1.pem", &certificate),
    );
    drop(server);

    std::fs::write(&passphrase, "wrong passphrase\n").unwrap();
    let report = serve_fails(&data, &[]);
    assert!(
        report.contains("ca-signing.key") && report.contains("passphrase"),
        "{report}"
    );
}

#[test]
fn the_development_default_says_its_keys_are_unencrypted_at_every_start() {
    let server = Server::start("");
    assert!(
        server.stderr().contains("UNENCRYPTED"),
        "{}",
        server.stderr()
    );
}

#[test]
fn an_imported_ca_issues_certificates_that_chain_to_it() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ca_cert, ca_key) = (dir.path().join("root.pem"), dir.path().join("root.key"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=Example Existing Root/O=Example"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .args(["-addext", "subjectKeyIdentifier=hash"])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca_cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::set_permissions(&ca_key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let data = dir.path().join("data");
    let args = [
        "--import-ca-cert",
        ca_cert.to_str().unwrap(),
        "--import-ca-key",
        ca_key.to_str().unwrap(),
    ];
    let out = run_init(&data, &args, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Example Existing Root"),
        "{}",
        text(&out)
    );

    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data, &[]);
    let certificate = enroll(&server, "CN=dev-under-root", &[]).unwrap();
    openssl_verify(&ca_cert, &write_pem(&server, "leaf.pem", &certificate));

    // A certificate that is not a CA is refused with the reason.
    let leaf = server.dir.path().join("leaf.pem");
    let out = run_init(
        &dir.path().join("data2"),
        &[
            "--import-ca-cert",
            leaf.to_str().unwrap(),
            "--import-ca-key",
            ca_key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--import-ca-cert"), "{}", text(&out));
}

#[test]
fn a_constrained_ec_ca_issues_inside_its_constraints_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_init(
        &data,
        &[
            "--ca-key",
            "p-256",
            "--ca-subject",
            "CN=Example SCEP CA,O=Example",
            "--ca-permit-dns",
            "example.net",
            "--ca-eku-constraint",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let ca_text = openssl_text(&data.join("certs/ca.pem"));
    for expected in [
        "Name Constraints: critical",
        "DNS:example.net",
        "TLS Web Client Authentication",
        // The reply signer's EKU: without it OpenSSL's S/MIME purpose refuses every CertRep.
        "E-mail Protection",
        "pathlen:0",
        "id-ecPublicKey",
    ] {
        assert!(ca_text.contains(expected), "{expected} missing:\n{ca_text}");
    }
    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data, &[]);
    let inside = enroll(&server, "CN=host.example.net", &["host.example.net"]).unwrap();
    openssl_verify(&server.ca_pem(), &write_pem(&server, "inside.pem", &inside));
    assert_eq!(
        enroll(&server, "CN=evil.com", &["evil.com"]),
        Err(scep::FailInfo::BadRequest)
    );
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn init_prints_the_sha256_fingerprints_openssl_computes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_init(&data, &[], &[]);
    assert!(out.status.success());
    let report = text(&out);
    for cert in ["ca.pem", "ra-signing.pem", "ra-encryption.pem"] {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(data.join("certs").join(cert))
            .output()
            .unwrap();
        let line = String::from_utf8(out.stdout).unwrap();
        let fingerprint = line.trim().rsplit('=').next().unwrap().to_owned();
        assert!(
            report.contains(&fingerprint),
            "{cert} {fingerprint} not in:\n{report}"
        );
    }
    assert!(!report.to_lowercase().contains("md5"));
    // The ceremony is in the audit log.
    let store = common::block_on(store::Store::open(&format!(
        "sqlite://{}?mode=rw",
        data.join("scepd.db").display()
    )))
    .unwrap();
    let events = common::block_on(store.audit_events(10)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail.starts_with("key ceremony") && e.detail.contains("SHA-256"))
    );
}

#[test]
fn keys_in_a_pkcs11_token_enroll_end_to_end_and_cannot_be_read_out() {
    if !require_tool(SOFTHSM_MODULE)
        || !require_tool("softhsm2-util")
        || !require_tool("pkcs11-tool")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (conf, pin_file) = softhsm_token(dir.path(), "scepd", "730452918");
    let env = [("SOFTHSM2_CONF", conf.as_str())];
    let data = dir.path().join("data");
    let out = run_init(
        &data,
        &[
            "--hsm-module",
            SOFTHSM_MODULE,
            "--hsm-token",
            "scepd",
            "--hsm-pin-file",
            pin_file.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out));
    let key_files: Vec<_> = std::fs::read_dir(data.join("keys")).unwrap().collect();
    assert!(
        key_files.is_empty(),
        "no key may be written outside the token: {key_files:?}"
    );

    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data.clone(), &env);
    let certificate = enroll(&server, "CN=hsm-device", &["hsm-device.example.net"]).unwrap();
    openssl_verify(
        &server.ca_pem(),
        &write_pem(&server, "hsm-device.pem", &certificate),
    );
    drop(server);

    // The private keys cannot be read out of the token.
    for label in [
        "scepd-ca-signing",
        "scepd-ra-signing",
        "scepd-ra-encryption",
    ] {
        let out = Command::new("pkcs11-tool")
            .args(["--module", SOFTHSM_MODULE, "--login", "--pin", "730452918"])
            .args(["--read-object", "--type", "privkey", "--label", label])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            !out.status.success() || out.stdout.is_empty(),
            "{label} was read out of the token"
        );
    }

    // A token key that could be exported is refused at start, naming it.
    let out = Command::new("pkcs11-tool")
        .args(["--module", SOFTHSM_MODULE, "--login", "--pin", "730452918"])
        .args([
            "--keypairgen",
            "--key-type",
            "rsa:3072",
            "--label",
            "exportable-ca",
            "--usage-sign",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let config = data.join("scepd.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        toml.replacen(
            "# ca_key_label = \"scepd-ca-signing\"",
            "ca_key_label = \"exportable-ca\"",
            1,
        ),
    )
    .unwrap();
    let report = serve_fails(&data, &env);
    assert!(report.contains("exportable-ca"), "{report}");
}
