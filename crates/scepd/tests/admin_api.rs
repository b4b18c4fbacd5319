//! The admin listener end to end: role boundaries of the JSON API (device-admin, cert-manager,
//! auditor), the challenge quota, authentication failures and lockout, the mscep_admin page
//! over plain HTTPS, client-certificate login, and the headers every admin answer carries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::admin::{Https, Reply};
use common::{Server, enroll_with, write_pem};
use serde_json::json;

/// The built-in `device` template plus `vpn`, and a quota of two outstanding challenges.
const CONFIG: &str = "[challenges]\nmax_outstanding_per_admin = 2\n\n[[templates]]\nname = \"vpn\"\nextended_key_usages = [\"clientAuth\"]\n";

/// The API token scepd prints (`scepd_…`) in some command's output.
fn token_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("scepd_"))
        .unwrap_or_else(|| panic!("no token in {text:?}"))
        .to_owned()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

struct Api<'a> {
    client: &'a Https,
    authorization: String,
}

impl Api<'_> {
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
}

fn api<'a>(client: &'a Https, token: &str) -> Api<'a> {
    Api {
        client,
        authorization: bearer(token),
    }
}

/// Creates a user through the API and returns an API token for it.
fn user_with_token(admin: &Api<'_>, name: &str, role: &str, templates: &[&str]) -> String {
    let created = admin.post(
        "/users",
        json!({ "name": name, "role": role, "templates": templates }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.json()["password"].is_string(),
        "a generated password is shown once"
    );
    let token = admin.post(&format!("/users/{name}/tokens"), json!({ "label": "test" }));
    assert_eq!(token.status, 201, "{}", token.body);
    token.json()["token"].as_str().unwrap().to_owned()
}

fn challenge(api: &Api<'_>, body: serde_json::Value) -> Reply {
    api.post("/challenges", body)
}

fn serial_of(server: &Server, der: &[u8]) -> String {
    let pem = write_pem(server, "serial.pem", der);
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(&pem)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
}

#[test]
fn each_role_gets_exactly_what_it_is_granted() {
    let server = Server::start(CONFIG);
    let client = server.admin();
    let admin_token = token_in(&server.cli(&["user", "token", "admin"]));
    let admin = api(&client, &admin_token);
    assert_eq!(admin.get("/whoami").json()["role"], "pki-admin");

    let device_admin = user_with_token(&admin, "mdm", "device-admin", &["device"]);
    let manager = user_with_token(&admin, "vpn-manager", "cert-manager", &["vpn"]);
    let auditor = user_with_token(&admin, "auditor", "auditor", &[]);
    let (device_admin, manager, auditor) = (
        api(&client, &device_admin),
        api(&client, &manager),
        api(&client, &auditor),
    );

    // device-admin: challenges for its template only (NDES's Enroll permission), within quota.
    let first = challenge(&device_admin, json!({}));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["template"], "device");
    let refused = challenge(&device_admin, json!({ "template": "vpn" }));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("vpn"), "{}", refused.body);
    let second = challenge(&device_admin, json!({ "template": "device" }));
    assert_eq!(second.status, 201, "{}", second.body);
    let over_quota = challenge(&device_admin, json!({}));
    assert_eq!(over_quota.status, 429, "{}", over_quota.body);
    for path in ["/certificates", "/users", "/requests"] {
        assert_eq!(
            device_admin.get(path).status,
            403,
            "device-admin GET {path}"
        );
    }

    // The device-admin's challenge enrolls a device; a pki-admin's vpn challenge another.
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let device_secret = first.json()["challenge"].as_str().unwrap().to_owned();
    let device_cert = enroll_with(&server, &device_secret, &key, "CN=laptop-1", &[]).unwrap();
    let vpn = challenge(&admin, json!({ "template": "vpn" }));
    assert_eq!(vpn.status, 201, "{}", vpn.body);
    let vpn_secret = vpn.json()["challenge"].as_str().unwrap().to_owned();
    // A key is certified to one subject only (RFC 8894 §8.6): the second device has its own.
    let vpn_key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let vpn_cert = enroll_with(&server, &vpn_secret, &vpn_key, "CN=vpn-user-1", &[]).unwrap();
    let (device_serial, vpn_serial) = (
        serial_of(&server, &device_cert),
        serial_of(&server, &vpn_cert),
    );

    // cert-manager: revokes inside its templates only (the Restricted Certificate Manager).
    let outside = manager.post(
        &format!("/certificates/{device_serial}/revoke"),
        json!({ "reason": "keyCompromise" }),
    );
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert!(outside.body.contains("device"), "{}", outside.body);
    let inside = manager.post(
        &format!("/certificates/{vpn_serial}/revoke"),
        json!({ "reason": "keyCompromise" }),
    );
    assert_eq!(inside.status, 200, "{}", inside.body);
    assert_eq!(inside.json()["status"], "revoked");
    assert_eq!(
        inside.json()["revocation"]["revoked_by"],
        "user:vpn-manager"
    );
    let twice = manager.post(
        &format!("/certificates/{vpn_serial}/revoke"),
        json!({ "reason": "superseded" }),
    );
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(
        challenge(&manager, json!({ "template": "vpn" })).status,
        403
    );
    assert_eq!(manager.get("/users").status, 403);
    let listed = manager.get("/certificates");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json().as_array().unwrap().len(), 2);
    // Still valid: the manager's refusal changed nothing.
    let device = admin.get(&format!("/certificates/{device_serial}"));
    assert_eq!(device.json()["status"], "valid", "{}", device.body);
    assert!(
        device.json()["pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // auditor: reads, changes nothing.
    assert_eq!(auditor.get("/certificates").status, 200);
    assert_eq!(auditor.get("/requests").status, 200);
    assert_eq!(challenge(&auditor, json!({})).status, 403);
    let revoke = auditor.post(
        &format!("/certificates/{device_serial}/revoke"),
        json!({ "reason": "keyCompromise" }),
    );
    assert_eq!(revoke.status, 403, "{}", revoke.body);
    assert_eq!(auditor.get("/users").status, 403);
    let metrics = client.get("/metrics", &[("Authorization", &auditor.authorization)]);
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics.body.contains("scepd_enrollments_total"),
        "{}",
        metrics.body
    );
    assert_eq!(
        client
            .get(
                "/metrics",
                &[("Authorization", &device_admin.authorization)]
            )
            .status,
        403
    );

    // A disabled account's token stops working at once.
    assert_eq!(admin.post("/users/mdm/disable", json!({})).status, 200);
    assert_eq!(challenge(&device_admin, json!({})).status, 401);
    // Nobody disables themselves by accident.
    assert_eq!(admin.post("/users/admin/disable", json!({})).status, 409);

    // The audit log names who did what, and links the challenge issued to its use by the
    // challenge's audit id (never the challenge itself).
    let audit = server.cli(&["audit", "export"]);
    let challenge_id = {
        use sha2::Digest;
        store::challenge_audit_id(&sha2::Sha256::digest(device_secret.as_bytes()).into())
    };
    assert!(
        audit
            .lines()
            .any(|l| l.contains("challenge-issued") && l.contains(&challenge_id)),
        "{audit}"
    );
    assert!(
        audit.lines().any(|l| l.contains("certificate-issued")
            && l.contains(&format!("challenge {challenge_id} used"))),
        "{audit}"
    );
    assert!(!audit.contains(&device_secret));
    assert!(audit.contains("user:vpn-manager"), "{audit}");
    assert!(audit.contains("user:mdm"), "{audit}");
}

#[test]
fn bad_requests_get_specific_answers() {
    let server = Server::start(CONFIG);
    let client = server.admin();
    let admin = api(&client, &token_in(&server.cli(&["user", "token", "admin"])));
    let unknown = challenge(&admin, json!({ "template": "nope" }));
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(unknown.body.contains("nope"), "{}", unknown.body);
    let field = challenge(&admin, json!({ "tempalte": "device" }));
    assert_eq!(field.status, 400, "{}", field.body);
    assert!(field.body.contains("tempalte"), "{}", field.body);
    let role = admin.post("/users", json!({ "name": "x1", "role": "root" }));
    assert_eq!(role.status, 400);
    assert!(role.json()["error"].as_str().unwrap().contains("root"));
    let short = admin.post(
        "/users",
        json!({ "name": "x2", "role": "auditor", "password": "short" }),
    );
    assert_eq!(short.status, 400, "{}", short.body);
    let missing = admin.get("/certificates/0abc");
    assert_eq!(missing.status, 404, "{}", missing.body);
    let reason = admin.post("/certificates/0abc/revoke", json!({ "reason": "because" }));
    assert_eq!(reason.status, 404, "{}", reason.body);
    let duplicate = admin.post("/users", json!({ "name": "admin", "role": "auditor" }));
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);
}

#[test]
fn every_documented_operation_requires_credentials_and_every_answer_is_hardened() {
    let server = Server::start("");
    let client = server.admin();
    let document = client.get("/admin/api/v1/openapi.json", &[]);
    assert_eq!(document.status, 200);
    let spec = document.json();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{serial}", "01")
                .replace("{id}", "1")
                .replace("{name}", "someone")
                .replace("{template}", "device");
            let reply = client.request(
                &method.to_ascii_uppercase(),
                &format!("/admin/api/v1{concrete}"),
                &[],
                None,
            );
            let public = item[method]["security"]
                .as_array()
                .is_some_and(Vec::is_empty);
            let expected = if public { 200 } else { 401 };
            assert_eq!(reply.status, expected, "{method} {path}: {}", reply.body);
            if !public {
                assert_eq!(
                    reply.header("www-authenticate"),
                    Some("Bearer realm=\"scepd\"")
                );
            }
            assert!(
                reply
                    .header("strict-transport-security")
                    .is_some_and(|v| v.starts_with("max-age=")),
                "{method} {path}"
            );
            assert_eq!(
                reply.header("cache-control"),
                Some("no-store"),
                "{method} {path}"
            );
            operations += 1;
        }
    }
    assert!(operations >= 15, "only {operations} documented operations");
    // No NTLM or Negotiate anywhere: such headers are not credentials here.
    for scheme in [
        "NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=",
        "Negotiate YII=",
        "Basic YWRtaW46YWRtaW4=",
    ] {
        let reply = client.get("/admin/api/v1/whoami", &[("Authorization", scheme)]);
        assert_eq!(reply.status, 401, "{scheme}");
        assert!(
            !reply
                .headers
                .iter()
                .any(|(_, v)| v.contains("NTLM") || v.contains("Negotiate"))
        );
    }
    let page = client.get("/certsrv/mscep_admin/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"login\""), "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
}

#[test]
fn wrong_credentials_lock_the_source_out_and_are_audited() {
    let server = Server::start("[admin]\nmax_failed_logins = 3\n");
    let client = server.admin();
    let good = token_in(&server.cli(&["user", "token", "admin"]));
    for _ in 0..3 {
        let reply = client.get(
            "/admin/api/v1/whoami",
            &[("Authorization", &bearer("scepd_wrong"))],
        );
        assert_eq!(reply.status, 401);
    }
    // Locked out: even the right token from this address waits.
    let locked = client.get("/admin/api/v1/whoami", &[("Authorization", &bearer(&good))]);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.header("retry-after").is_some());
    let login = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"username=admin&password=whatever",
        )),
    );
    assert_eq!(login.status, 429);
    let audit = server.cli(&["audit", "export"]);
    assert!(audit.contains("admin-auth-failed"), "{audit}");
    assert!(audit.contains("locked out"), "{audit}");
    assert!(!audit.contains(&good));
}

/// Reads `id="NAME">VALUE<` from the page.
fn element(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap();
    rest[open..open + close].to_owned()
}

fn openssl_fingerprint(path: &std::path::Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_ascii_lowercase()
}

#[test]
fn the_mscep_admin_page_logs_in_and_its_challenge_enrolls_a_device() {
    let server = Server::start("");
    let client = server.admin();
    let password = server.initial_admin_password();

    let wrong = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"username=admin&password=not-the-password",
        )),
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("wrong user name or password"));
    assert!(wrong.header("set-cookie").is_none());

    let form = format!("username=admin&password={password}");
    let login = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    );
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.header("location"), Some("/certsrv/mscep_admin/"));
    let cookie = login.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/certsrv/mscep_admin",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();

    let page = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert_eq!(page.status, 200);
    let secret = element(&page.body, "challenge");
    assert!(
        secret.len() >= 24 && secret.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{secret}"
    );
    assert!(element(&page.body, "expires").contains('T'));
    // SHA-256 fingerprints, the same as openssl computes.
    let shown = element(&page.body, "ca-fingerprint")
        .replace(':', "")
        .to_ascii_lowercase();
    assert_eq!(shown, openssl_fingerprint(&server.ca_pem()));
    let ra = element(&page.body, "ra-signing-fingerprint")
        .replace(':', "")
        .to_ascii_lowercase();
    assert_eq!(
        ra,
        openssl_fingerprint(&server.data_dir().join("certs/ra-signing.pem"))
    );

    // Each visit is a fresh challenge; the first still works once.
    let again = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert_ne!(element(&again.body, "challenge"), secret);
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    enroll_with(&server, &secret, &key, "CN=from-the-page", &[]).unwrap();
    let other = scep_client::ClientKey::generate_rsa(2048).unwrap();
    assert_eq!(
        enroll_with(&server, &secret, &other, "CN=from-the-page-again", &[]),
        Err(scep::FailInfo::BadRequest)
    );

    // Signing out ends the session on the server, not only in the browser.
    let out = client.request(
        "POST",
        "/certsrv/mscep_admin/logout",
        &[("Cookie", &session)],
        None,
    );
    assert_eq!(out.status, 303);
    let after = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert!(after.body.contains("id=\"login\""), "{}", after.body);

    let audit = server.cli(&["audit", "export"]);
    assert!(audit.contains("admin-login"), "{audit}");
    assert!(audit.contains("admin-auth-failed"), "{audit}");
}

#[test]
fn a_client_certificate_bound_to_an_account_logs_in() {
    let server = Server::start("");
    // A device certificate from our own CA (the default admin client CA), with a key openssl
    // wrote so that the TLS client can load it too.
    let key_path = server.dir.path().join("client.key");
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key_path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let key = scep_client::ClientKey::from_pkcs8(&std::fs::read(&key_path).unwrap()).unwrap();
    let challenge = server.challenge(&[]);
    let certificate = enroll_with(&server, &challenge, &key, "CN=auditor-laptop", &[]).unwrap();
    let pem = write_pem(&server, "client.pem", &certificate);
    let server_cert = server.data_dir().join("admin-tls/admin.pem");
    let admin_addr = server.admin_addr.unwrap();

    let unbound = Https::with_client_certificate(admin_addr, &server_cert, &certificate, &key_path);
    assert_eq!(unbound.get("/admin/api/v1/whoami", &[]).status, 401);

    server.cli(&["user", "add", "carol", "--role", "auditor"]);
    server.cli(&[
        "user",
        "bind-cert",
        "carol",
        "--certificate",
        pem.to_str().unwrap(),
    ]);
    let bound = Https::with_client_certificate(admin_addr, &server_cert, &certificate, &key_path);
    let me = bound.get("/admin/api/v1/whoami", &[]);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["name"], "carol");
    assert_eq!(bound.get("/admin/api/v1/certificates", &[]).status, 200);
    assert_eq!(
        bound
            .post_json("/admin/api/v1/challenges", &[], &json!({}))
            .status,
        403
    );
}

fn doctor(data: &std::path::Path) -> (bool, String) {
    let out = Command::new(common::SCEPD)
        .args(["doctor", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn doctor_reports_the_admin_surface() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = Command::new(common::SCEPD)
        .args(["init", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (_, text) = doctor(&data);
    assert!(text.contains("initial-admin-password"), "{text}");
    assert!(text.contains("enabled pki-admin"), "{text}");

    // The development certificate on a network-facing address is a failure, not a warning.
    let config = data.join("scepd.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml = toml.replace("[admin]\n", "[admin]\nlisten = \"0.0.0.0:8443\"\n");
    std::fs::write(&config, toml).unwrap();
    let (ok, text) = doctor(&data);
    assert!(!ok, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("development certificate")),
        "{text}"
    );
}
