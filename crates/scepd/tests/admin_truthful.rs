//! The admin surface tells the truth about what it did: withdrawing a grant the account does
//! not have is 404 and not audited, disabling an account deletes its API tokens for good, and
//! a body over the limit is 413 (here and on the SCEP and CA listeners), not 400.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::admin::{Https, Reply};
use common::{SCEPD, Server};
use serde_json::json;

/// The `device` template plus `vpn`; a lockout threshold the deliberate 401s stay under.
const CONFIG: &str = "[admin]\nmax_failed_logins = 50\n\n[[templates]]\nname = \"vpn\"\nextended_key_usages = [\"clientAuth\"]\n";

fn token_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("scepd_"))
        .unwrap_or_else(|| panic!("no token in {text:?}"))
        .to_owned()
}

struct Api<'a> {
    client: &'a Https,
    authorization: String,
}

impl Api<'_> {
    fn new<'a>(client: &'a Https, token: &str) -> Api<'a> {
        Api {
            client,
            authorization: format!("Bearer {token}"),
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.client.get(
            &format!("/admin/api/v1{path}"),
            &[("Authorization", &self.authorization)],
        )
    }

    fn post(&self, path: &str, body: serde_json::Value) -> Reply {
        self.client.post_json(
            &format!("/admin/api/v1{path}"),
            &[("Authorization", &self.authorization)],
            &body,
        )
    }

    fn post_raw(&self, path: &str, body: &[u8]) -> Reply {
        self.client.request(
            "POST",
            &format!("/admin/api/v1{path}"),
            &[("Authorization", &self.authorization)],
            Some(("application/json", body)),
        )
    }

    fn delete(&self, path: &str) -> Reply {
        self.client.request(
            "DELETE",
            &format!("/admin/api/v1{path}"),
            &[("Authorization", &self.authorization)],
            None,
        )
    }
}

/// The `account-changed` audit details, oldest first.
fn account_changes(server: &Server) -> Vec<String> {
    server
        .cli(&["audit", "export"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == "account-changed")
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect()
}

/// `scepd ARGS --data-dir DATA`, expected to fail: its stderr.
fn cli_refused(server: &Server, args: &[&str]) -> String {
    let out = Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "scepd {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn withdrawing_a_grant_the_account_lacks_is_404_and_not_audited() {
    let server = Server::start(CONFIG);
    let client = server.admin();
    let admin = Api::new(&client, &token_in(&server.cli(&["user", "token", "admin"])));
    let created = admin.post(
        "/users",
        json!({ "name": "mdm", "role": "device-admin", "templates": ["device"] }),
    );
    assert_eq!(created.status, 201, "{}", created.body);

    let absent = admin.delete("/users/mdm/grants/vpn");
    assert_eq!(absent.status, 404, "{}", absent.body);
    assert_eq!(
        absent.json()["error"],
        "user mdm has no grant for template vpn"
    );
    let nobody = admin.delete("/users/nobody/grants/device");
    assert_eq!(nobody.status, 404, "{}", nobody.body);
    assert_eq!(nobody.json()["error"], "no user nobody");

    let withdrawn = admin.delete("/users/mdm/grants/device");
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    assert_eq!(withdrawn.json()["templates"], json!([]));
    // Once withdrawn, there is nothing left to withdraw.
    let again = admin.delete("/users/mdm/grants/device");
    assert_eq!(again.status, 404, "{}", again.body);

    // The same through the CLI: the grant that exists goes, the absent one fails the command.
    server.cli(&["user", "grant", "mdm", "--template", "device"]);
    let e = cli_refused(
        &server,
        &[
            "user",
            "revoke-grant",
            "mdm",
            "--template",
            "device",
            "--template",
            "vpn",
        ],
    );
    assert!(
        e.contains("user \"mdm\" had no grant for template \"vpn\""),
        "{e}"
    );
    assert_eq!(admin.get("/users").json()[1]["templates"], json!([]));
    let e = cli_refused(
        &server,
        &["user", "revoke-grant", "nobody", "--template", "vpn"],
    );
    assert!(e.contains("no user \"nobody\""), "{e}");

    // Only the two grants really withdrawn are in the audit log.
    let changes = account_changes(&server);
    let withdrawals: Vec<&String> = changes
        .iter()
        .filter(|d| d.contains("lost template") || d.contains("withdrawn"))
        .collect();
    assert_eq!(
        withdrawals,
        [
            "user mdm lost template device",
            "user mdm grant of template device withdrawn"
        ],
        "{changes:?}"
    );
}

#[test]
fn disabling_an_account_revokes_its_api_tokens_for_good() {
    let server = Server::start(CONFIG);
    let client = server.admin();
    let admin = Api::new(&client, &token_in(&server.cli(&["user", "token", "admin"])));
    let created = admin.post(
        "/users",
        json!({ "name": "mdm", "role": "device-admin", "templates": ["device"] }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let issued = admin.post("/users/mdm/tokens", json!({ "label": "intune" }));
    assert_eq!(issued.status, 201, "{}", issued.body);
    let old = issued.json()["token"].as_str().unwrap().to_owned();
    let mdm = Api::new(&client, &old);
    assert_eq!(mdm.get("/whoami").status, 200);

    assert_eq!(admin.post("/users/mdm/disable", json!({})).status, 200);
    assert_eq!(mdm.get("/whoami").status, 401);
    let enabled = admin.post("/users/mdm/enable", json!({}));
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.json()["disabled"], false);
    assert_eq!(mdm.get("/whoami").status, 401, "the old token came back");
    let issued = admin.post("/users/mdm/tokens", json!({ "label": "new" }));
    assert_eq!(issued.status, 201, "{}", issued.body);
    let fresh = Api::new(&client, issued.json()["token"].as_str().unwrap());
    assert_eq!(fresh.get("/whoami").json()["name"], "mdm");

    // `scepd user disable` goes through the same store function.
    let cli_token = token_in(&server.cli(&["user", "token", "mdm"]));
    let out = server.cli(&["user", "disable", "mdm"]);
    assert!(out.contains("2 API token(s) revoked"), "{out}");
    server.cli(&["user", "enable", "mdm"]);
    for token in [&fresh.authorization, &format!("Bearer {cli_token}")] {
        let reply = client.get("/admin/api/v1/whoami", &[("Authorization", token)]);
        assert_eq!(reply.status, 401, "a token survived the CLI's disable");
    }

    // A disabled account gets no new token either: it would come to life with the account.
    server.cli(&["user", "disable", "mdm"]);
    let refused = admin.post("/users/mdm/tokens", json!({ "label": "sneaked" }));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("disabled"), "{}", refused.body);
    let out = std::process::Command::new(common::SCEPD)
        .args(["user", "token", "mdm", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is disabled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.cli(&["user", "enable", "mdm"]);
    assert_eq!(
        admin.get("/whoami").status,
        200,
        "the administrator is unaffected"
    );
    let none_issued = account_changes(&server);
    assert!(
        !none_issued.iter().any(|d| d.contains("sneaked")),
        "{none_issued:?}"
    );

    let changes = account_changes(&server);
    for expected in [
        "user mdm disabled, its sessions ended and 1 API token(s) revoked",
        "user mdm disabled, its sessions ended and 2 API token(s) revoked",
    ] {
        assert!(
            changes.iter().any(|d| d == expected),
            "{expected:?} not in {changes:?}"
        );
    }
}

/// A JSON document of more than 64 KiB (valid, so only its size can be refused).
fn oversized_json() -> Vec<u8> {
    json!({ "reason": "x".repeat(64 * 1024) })
        .to_string()
        .into_bytes()
}

#[test]
fn an_oversized_body_is_413_on_every_admin_extractor_and_the_scep_listener() {
    let server = Server::start(CONFIG);
    let client = server.admin();
    let admin = Api::new(&client, &token_in(&server.cli(&["user", "token", "admin"])));
    let body = oversized_json();
    for path in [
        "/challenges",
        "/users",
        "/users/admin/grants",
        "/users/admin/tokens",
        "/certificates/01/revoke",
        "/requests/1/deny",
    ] {
        let reply = admin.post_raw(path, &body);
        assert_eq!(reply.status, 413, "POST {path}: {}", reply.body);
        assert_eq!(
            reply.json()["error"],
            "request body too large: the limit is 65536 bytes",
            "POST {path}"
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "POST {path}");
    }
    // Malformed but small is still 400.
    let malformed = admin.post_raw("/users", b"{\"name\":");
    assert_eq!(malformed.status, 400, "{}", malformed.body);

    let mut form = b"username=admin&password=".to_vec();
    form.resize(65 * 1024, b'a');
    let login = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", &form)),
    );
    assert_eq!(login.status, 413, "{}", login.body);
    assert!(
        login
            .body
            .contains("request body too large: the limit is 65536 bytes"),
        "{}",
        login.body
    );
    assert!(login.header("set-cookie").is_none());
    // A form without its fields is still 400.
    let empty = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", b"username=admin")),
    );
    assert_eq!(empty.status, 400, "{}", empty.body);

    // The SCEP listener has its own 64 KiB limit, and says 413 too.
    let scep =
        scep_client::http::pki_operation_post(&server.url(), &vec![0x30; 64 * 1024 + 1]).unwrap();
    assert_eq!(scep.status, 413, "{}", scep.text());
}

/// `scepd ca` until dropped.
struct Ca(std::process::Child);

impl Drop for Ca {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `scepd ARGS` (with the registration code in the environment when given), which must succeed.
fn scepd(args: &[&str], code: Option<&str>) -> String {
    let mut command = Command::new(SCEPD);
    command.args(args).env("SCEPD_LOG", "warn");
    if let Some(code) = code {
        command.env("SCEPD_REGISTRATION_CODE", code);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "scepd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One HTTPS POST to the CA service; its status (the CA speaks TLS with the scepd CA's
/// certificate for 127.0.0.1).
fn post_to_ca(
    addr: std::net::SocketAddr,
    path: &str,
    tls: rustls::ClientConfig,
    body: &[u8],
) -> u16 {
    use std::io::{Read, Write};
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(tls), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: ca\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
}

#[test]
fn the_ca_service_answers_413_for_an_oversized_statement_or_registration() {
    use std::io::BufRead;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let ra_dir = dir.path().join("ra");
    let (ca_s, ra_s) = (ca_dir.to_str().unwrap(), ra_dir.to_str().unwrap());
    scepd(&["init", "--mode", "ca", "--data-dir", ca_s], None);
    let code = scepd(
        &[
            "ca",
            "register-ra",
            "--data-dir",
            ca_s,
            "--name",
            "ra1",
            "--templates",
            "device",
        ],
        None,
    );
    let mut child = Command::new(SCEPD)
        .args(["ca", "--data-dir", ca_s])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--registration-listen",
            "127.0.0.1:0",
        ])
        .env("SCEPD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _ca = Ca(child);
    let address = |line: &str| -> std::net::SocketAddr {
        line.split("https://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line}"))
    };
    // Read on to the end, so that a later line does not meet a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut registration = None;
    let mut statements = None;
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(120)) {
        if line.starts_with("scepd ca registration listening") {
            registration = Some(address(&line));
        } else if line.starts_with("scepd ca listening") {
            statements = Some(address(&line));
            break;
        }
    }
    let (registration, statements) = (registration.unwrap(), statements.unwrap());
    let fingerprint =
        ca::fingerprint_sha256(&common::certificate_der(&ca_dir.join("certs/ca.pem")));
    scepd(
        &[
            "init",
            "--mode",
            "ra",
            "--data-dir",
            ra_s,
            "--ca-url",
            &format!("https://{statements}"),
            "--ca-registration-url",
            &format!("https://{registration}"),
            "--ca-fingerprint",
            &fingerprint,
        ],
        Some(code.trim()),
    );

    use rustls::pki_types::pem::PemObject;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            common::certificate_der(&ca_dir.join("certs/ca.pem")),
        ))
        .unwrap();
    let client = || {
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
    };
    let ra_tls = client()
        .with_client_auth_cert(
            vec![rustls::pki_types::CertificateDer::from(
                common::certificate_der(&ra_dir.join("certs/ra-tls.pem")),
            )],
            rustls::pki_types::PrivateKeyDer::from_pem_file(ra_dir.join("keys/ra-tls.key"))
                .unwrap(),
        )
        .unwrap();
    // Statements are at most 64 KiB; registrations at most 16 KiB.
    let status = post_to_ca(
        statements,
        "/scepd-ca/v1/issue",
        ra_tls,
        &vec![0x30; 64 * 1024 + 1],
    );
    assert_eq!(status, 413, "an oversized statement");
    let status = post_to_ca(
        registration,
        "/scepd-ca/v1/register",
        client().with_no_client_auth(),
        &vec![b' '; 16 * 1024 + 1],
    );
    assert_eq!(status, 413, "an oversized registration");
}
