//! The admin listener's TLS, probed with `openssl s_client`: TLS 1.0/1.1 and every non-AEAD
//! suite are refused by the server (its handshake_failure alert, with the client allowed to
//! offer them), ECDHE with AES-GCM on TLS 1.2 and TLS 1.3 are accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};

use common::Server;

/// Runs `openssl s_client` with `args`; (handshake completed, all output).
fn s_client(server: &Server, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(server.admin_addr.unwrap().to_string())
        .args(["-servername", "localhost"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let completed = text.contains("New, TLSv1.");
    (completed, text)
}

#[test]
fn old_protocols_and_non_aead_suites_are_refused_by_the_server() {
    let server = Server::start("");
    // @SECLEVEL=0 lets this openssl offer what its own defaults forbid, so the refusal seen
    // is the server's (alert number 40), not the client declining to try.
    for (args, what) in [
        (
            &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"][..],
            "TLS 1.1",
        ),
        (&["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"][..], "TLS 1.0"),
        (
            &["-tls1_2", "-cipher", "AES128-SHA:AES256-SHA256:@SECLEVEL=0"][..],
            "RSA key transport, CBC",
        ),
        (
            &[
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA",
            ][..],
            "ECDHE with CBC",
        ),
        (
            &["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"][..],
            "finite-field DHE",
        ),
    ] {
        let (completed, text) = s_client(&server, args);
        assert!(!completed, "{what} was accepted:\n{text}");
        assert!(
            text.contains("alert handshake failure") || text.contains("alert protocol version"),
            "{what}: no server alert:\n{text}"
        );
    }
}

#[test]
fn tls_1_2_with_ecdhe_aead_and_tls_1_3_are_accepted() {
    let server = Server::start("");
    let (completed, text) = s_client(
        &server,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
    );
    assert!(
        completed && text.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{text}"
    );
    let (completed, text) = s_client(&server, &["-tls1_3"]);
    assert!(completed && text.contains("New, TLSv1.3"), "{text}");
    // The development certificate names localhost and says what it is.
    assert!(text.contains("development certificate"), "{text}");
}

#[test]
fn a_configured_certificate_replaces_the_development_one() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("admin.pem");
    let key = dir.path().join("admin.key");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
        ])
        .args([
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=pki-admin.example.net",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = Server::start(&format!(
        "[admin]\ncertificate = \"{}\"\nprivate_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    let (completed, text) = s_client(&server, &["-tls1_3"]);
    assert!(
        completed && text.contains("pki-admin.example.net"),
        "{text}"
    );
    assert!(!server.data_dir().join("admin-tls").exists());
}

#[test]
fn a_private_key_readable_by_others_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = Command::new(common::SCEPD)
        .args(["init", "--data-dir"])
        .arg(&data)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    assert!(init.status.success());
    let cert = dir.path().join("admin.pem");
    let key = dir.path().join("admin.key");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "30", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let config = data.join("scepd.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[admin]\n",
        &format!(
            "[admin]\ncertificate = \"{}\"\nprivate_key = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(common::SCEPD)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args([
            "--scep-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("admin.key") && stderr.contains("644"),
        "{stderr}"
    );
}
