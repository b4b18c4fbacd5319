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
