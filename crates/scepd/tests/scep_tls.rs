//! SCEP over HTTPS (`[scep] tls_listen`): the same protocol as plain HTTP, TLS 1.2 and 1.3
//! only, and a real client (certmonger) enrolls over it trusting the listener's CA.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, require_tool};

/// The listener's certificate for 127.0.0.1, self-signed by `openssl req -x509` (clients are
/// given it as their trust anchor: certmonger's `-R` takes "the web server's certificate"),
/// written to `dir`: (the certificate PEM, its key PEM, mode 0600).
fn tls_identity(dir: &Path) -> (PathBuf, PathBuf) {
    let certificate = dir.join("scep-tls.pem");
    let key = dir.join("scep-tls.key");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=scepd SCEP listener (test)",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (certificate, key)
}

/// `scepd serve` with plain HTTP on loopback and HTTPS beside it.
fn start(files: &Path) -> (Server, PathBuf) {
    let (certificate, key) = tls_identity(files);
    let server = Server::start(&format!(
        "[scep]\ntls_listen = \"127.0.0.1:0\"\ntls_certificate = \"{}\"\ntls_key = \"{}\"\n",
        certificate.display(),
        key.display()
    ));
    assert!(server.tls_addr.is_some(), "no TLS listening line");
    (server, certificate)
}

fn https_url(server: &Server) -> String {
    format!("https://{}/scep", server.tls_addr.unwrap())
}

#[test]
fn scep_over_https_answers_as_plain_http_does_and_refuses_tls_1_1() {
    if !require_tool("/usr/bin/curl") || !require_tool("/usr/bin/openssl") {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let (server, ca) = start(files.path());
    for path in ["/scep", "/certsrv/mscep/mscep.dll"] {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&ca)
            .arg(format!(
                "https://{}{path}?operation=GetCACaps",
                server.tls_addr.unwrap()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            scep_client::get_ca_caps(&server.url()).unwrap()
        );
    }

    // TLS 1.2 completes a handshake; TLS 1.1, offered alone, gets none.
    let handshake = |version: &str| {
        let out = Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(server.tls_addr.unwrap().to_string())
            .args([version, "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile"])
            .arg(&ca)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = handshake("-tls1_2");
    assert!(ok && said.contains("TLSv1.2"), "{said}");
    // The client offers TLS 1.1 (SECLEVEL=0 lets OpenSSL 3 do so): the server answers with
    // an alert, and no cipher is agreed.
    let (ok, said) = handshake("-tls1_1");
    assert!(!ok, "TLS 1.1 was accepted: {said}");
    assert!(said.contains("alert"), "no alert from the server: {said}");
    assert!(said.contains("Cipher is (NONE)"), "{said}");
}

/// certmonger's SCEP helper (`scep-submit`, libcurl) fetches the capabilities and the CA/RA
/// certificates over HTTPS trusting the listener's certificate, and refuses the listener
/// without it: a real client's TLS, not only ours.
#[test]
fn certmonger_scep_submit_speaks_scep_over_https() {
    if !require_tool(common::certmonger::SCEP_SUBMIT) || !require_tool("/usr/bin/openssl") {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let (server, anchor) = start(files.path());
    let submit = |args: &[&str], trust: Option<&Path>| {
        let mut command = Command::new(common::certmonger::SCEP_SUBMIT);
        command.args(["-u", &https_url(&server)]).args(args);
        if let Some(anchor) = trust {
            command.arg("-R").arg(anchor);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, caps) = submit(&["-c"], Some(&anchor));
    assert!(
        ok && caps.contains("SHA-256") && caps.contains("AES"),
        "{caps}"
    );
    let (ok, certificates) = submit(&["-C"], Some(&anchor));
    assert!(
        ok && certificates.contains("BEGIN CERTIFICATE"),
        "{certificates}"
    );
    let ca = std::fs::read_to_string(server.ca_pem()).unwrap();
    let ca_body: String = ca.lines().filter(|l| !l.starts_with("-----")).collect();
    let answered: String = certificates
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        answered.contains(&ca_body[..64]),
        "the CA certificate is among them"
    );
    // Without the listener's certificate as a trust anchor, libcurl refuses the listener.
    let (_, refused) = submit(&["-c"], None);
    assert!(!refused.contains("SHA-256"), "{refused}");
}
