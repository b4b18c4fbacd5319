//! MDM connectors read the mscep_admin page the way they read NDES's: HTTP Basic over TLS, the
//! page in UTF-16, the challenge scraped with `(?i)The enrollment challenge password is: <B>
//! (\S*)`; and Jamf Pro's SCEPChallenge webhook gets the challenge as plain text. Only accounts
//! marked for Basic get anything, under the admin login lockout; plain HTTP serves none of it;
//! the challenge is an ordinary one-time challenge that a real client enrolls with once.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::process::Command;

use base64::Engine as _;
use common::admin::{Https, Reply};
use common::{Server, enroll_with, require_tool, secret_file};
use regex::Regex;
use scep_client::ClientKey;
use serde_json::json;

/// What Fleet, and the issue, scrape the page with.
const SCRAPER: &str = r"(?i)The enrollment challenge password is: <B> (\S*)";
const PASSWORD_CACHE_FULL: &str = "The password cache is full.";
const NO_PERMISSION: &str = "You do not have sufficient permission to enroll with SCEP.";
const MDM: &str = "mdm-fleet";
const MDM_PASSWORD: &str = "mdm-connector-secret-1";

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Creates a device-admin marked for HTTP Basic, granted `templates`.
fn add_machine_account(server: &Server, name: &str, templates: &[&str]) {
    let file = secret_file(server.dir.path(), &format!("{name}.password"), MDM_PASSWORD);
    let mut args = vec![
        "user",
        "add",
        name,
        "--role",
        "device-admin",
        "--basic-auth",
    ];
    for t in templates {
        args.extend(["--template", t]);
    }
    args.extend(["--password-file", file.to_str().unwrap()]);
    server.cli(&args);
}

/// The page as a connector decodes it: UTF-16LE after its byte-order mark.
fn ndes_text(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-16")
    );
    assert_eq!(
        &reply.bytes[..2],
        &[0xFF, 0xFE],
        "no UTF-16LE byte-order mark"
    );
    let units: Vec<u16> = reply.bytes[2..]
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

fn scrape(page: &str) -> Option<String> {
    Regex::new(SCRAPER)
        .unwrap()
        .captures(page)
        .map(|c| c[1].to_owned())
}

/// A scraped challenge from `path` with the machine account's credentials.
fn scraped(client: &Https, path: &str) -> String {
    let reply = client.get(path, &[("Authorization", &basic(MDM, MDM_PASSWORD))]);
    let page = ndes_text(&reply);
    scrape(&page).unwrap_or_else(|| panic!("no challenge in {page}"))
}

fn enroll(server: &Server, challenge: &str, cn: &str) -> Result<Vec<u8>, scep::FailInfo> {
    let key = ClientKey::generate_rsa(2048).unwrap();
    enroll_with(server, challenge, &key, &format!("CN={cn}"), &[])
}

fn audit_export(server: &Server) -> String {
    server.cli(&["audit", "export"])
}

/// The CA certificate's SHA-256 as NDES groups a thumbprint.
fn ca_thumbprint(server: &Server) -> String {
    use sha2::Digest;
    let der = common::certificate_der(&server.ca_pem());
    let hex = hex::encode_upper(sha2::Sha256::digest(der));
    hex.as_bytes()
        .chunks(8)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

fn offers_basic_only(reply: &Reply) {
    let offered: Vec<&str> = reply
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        offered,
        ["Basic realm=\"scepd mscep_admin\", charset=\"UTF-8\""],
        "{reply:?}"
    );
}

#[test]
fn a_scraper_gets_a_challenge_over_tls_that_a_device_enrolls_with_once() {
    let server = Server::start("");
    add_machine_account(&server, MDM, &["device"]);
    let client = server.admin();

    let reply = client.get(
        "/certsrv/mscep_admin/",
        &[("Authorization", &basic(MDM, MDM_PASSWORD))],
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let page = ndes_text(&reply);
    let challenge = scrape(&page).unwrap_or_else(|| panic!("no challenge in {page}"));
    assert!(challenge.len() >= 24, "{challenge}");
    assert!(
        page.contains(&format!(
            "The thumbprint (hash value) for the CA certificate is: <B> {} </B>",
            ca_thumbprint(&server)
        )),
        "{page}"
    );
    assert!(page.contains(&format!(
        "The enrollment challenge password is: <B> {challenge} </B>"
    )));
    assert!(page.contains("will expire within 60 minutes"), "{page}");

    // A real client enrolls with it, once.
    let certificate = enroll(&server, &challenge, "scraped-1").unwrap();
    let pem = common::write_pem(&server, "scraped-1.pem", &certificate);
    common::openssl_verify(&server.ca_pem(), &pem);
    assert_eq!(
        enroll(&server, &challenge, "scraped-2"),
        Err(scep::FailInfo::BadRequest)
    );
    assert_eq!(server.certificate_count(), 1);

    // Without the slash NDES answers too (no redirect to lose the credentials on), and the
    // page for 401-first clients challenges for Basic, then answers the same.
    let second = scraped(&client, "/certsrv/mscep_admin");
    let anonymous = client.get("/certsrv/mscep_admin/basic/", &[]);
    assert_eq!(anonymous.status, 401);
    offers_basic_only(&anonymous);
    assert!(scrape(&anonymous.body).is_none());
    let third = scraped(&client, "/certsrv/mscep_admin/basic/");
    assert!(challenge != second && second != third && challenge != third);

    // Each challenge is audited under the account, and none is in the audit log or the log.
    let audit = audit_export(&server);
    let issued = audit
        .lines()
        .filter(|l| l.contains("challenge-issued") && l.contains(&format!("user:{MDM}")))
        .count();
    assert_eq!(issued, 3, "{audit}");
    for secret in [&challenge, &second, &third] {
        assert!(
            !audit.contains(secret.as_str()),
            "challenge in the audit log"
        );
        assert!(
            !server.stderr().contains(secret.as_str()),
            "challenge logged"
        );
    }
    assert!(!server.stderr().contains(MDM_PASSWORD));
}

#[test]
fn the_page_for_people_is_unchanged_and_ntlm_is_never_spoken() {
    let server = Server::start("");
    add_machine_account(&server, MDM, &["device"]);
    let client = server.admin();
    // No credentials: the login form, as before; no challenge for any scheme.
    let page = client.get("/certsrv/mscep_admin/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("id=\"login\""), "{}", page.body);
    assert!(page.header("www-authenticate").is_none());
    let redirect = client.get("/certsrv/mscep_admin", &[]);
    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.header("location"), Some("/certsrv/mscep_admin/"));
    for scheme in [
        "NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=",
        "Negotiate YII=",
    ] {
        for path in ["/certsrv/mscep_admin/", "/certsrv/mscep_admin/basic/"] {
            let reply = client.get(path, &[("Authorization", scheme)]);
            assert!(
                !reply
                    .headers
                    .iter()
                    .any(|(_, v)| v.contains("NTLM") || v.contains("Negotiate")),
                "{path}: {reply:?}"
            );
            assert!(!reply.body.contains("challenge password"), "{path}");
        }
    }
    // A person's login still reaches the person's page, in UTF-8, with the session.
    let password = server.initial_admin_password();
    let login = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            format!("username=admin&password={password}").as_bytes(),
        )),
    );
    assert_eq!(login.status, 303, "{}", login.body);
    let cookie = login.header("set-cookie").unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"challenge\""), "{}", page.body);
    assert!(
        !page
            .body
            .contains("The enrollment challenge password is: <B>")
    );
    // The API still refuses Basic, even from a marked account.
    let api = client.get(
        "/admin/api/v1/whoami",
        &[("Authorization", &basic(MDM, MDM_PASSWORD))],
    );
    assert_eq!(api.status, 401);
}

/// Sends `request` over plain TCP to `addr` and returns whatever comes back.
fn plain_exchange(addr: std::net::SocketAddr, request: &str) -> Vec<u8> {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[test]
fn the_same_credentials_over_plain_http_get_nothing() {
    let server = Server::start("");
    add_machine_account(&server, MDM, &["device"]);
    let credentials = basic(MDM, MDM_PASSWORD);
    // The SCEP listener is plain HTTP: it serves no mscep_admin path and no webhook.
    for (method, path) in [
        ("GET", "/certsrv/mscep_admin/"),
        ("GET", "/certsrv/mscep_admin"),
        ("GET", "/certsrv/mscep_admin/basic/"),
        ("POST", "/certsrv/mscep_admin/jamf"),
    ] {
        let answer = plain_exchange(
            server.addr,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {credentials}\r\n\
Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            ),
        );
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 404"), "{method} {path}: {text}");
    }
    // The admin listener speaks only TLS: plain HTTP gets no HTTP answer at all.
    let answer = plain_exchange(
        server.admin_addr.unwrap(),
        &format!(
            "GET /certsrv/mscep_admin/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: {credentials}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    // Nothing was minted.
    let audit = audit_export(&server);
    assert!(!audit.contains("challenge-issued"), "{audit}");
}

#[test]
fn wrong_passwords_lock_the_source_out_even_for_the_right_one() {
    let server = Server::start("[admin]\nmax_failed_logins = 3\n");
    add_machine_account(&server, MDM, &["device"]);
    let client = server.admin();
    for _ in 0..3 {
        let reply = client.get(
            "/certsrv/mscep_admin/",
            &[("Authorization", &basic(MDM, "not-the-password"))],
        );
        assert_eq!(reply.status, 401);
        offers_basic_only(&reply);
        assert!(scrape(&reply.body).is_none());
    }
    // Past the lockout the right password gets nothing either, on every MDM path.
    let right = basic(MDM, MDM_PASSWORD);
    let locked = client.get("/certsrv/mscep_admin/", &[("Authorization", &right)]);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.header("retry-after").is_some());
    assert!(scrape(&locked.body).is_none());
    let jamf = client.request(
        "POST",
        "/certsrv/mscep_admin/jamf",
        &[("Authorization", &right)],
        Some(("application/json", jamf_event("SCEPChallenge").as_bytes())),
    );
    assert_eq!(jamf.status, 429, "{}", jamf.body);
    let audit = audit_export(&server);
    assert!(!audit.contains("challenge-issued"), "{audit}");
    // The export is JSON lines: the quotes around the name are escaped.
    assert!(
        audit.contains(r#"HTTP Basic as \"mdm-fleet\" refused: wrong password"#),
        "{audit}"
    );
    assert!(audit.contains("locked out"), "{audit}");
    assert!(!audit.contains(MDM_PASSWORD) && !audit.contains("not-the-password"));
    // The lockout is the source's: another address with the right password is served.
    let elsewhere = client.connecting_from("127.0.0.7".parse().unwrap());
    scraped(&elsewhere, "/certsrv/mscep_admin/");
}

#[test]
fn only_marked_device_admins_get_anything_and_marking_is_audited() {
    let server = Server::start("");
    let file = secret_file(server.dir.path(), "alice.password", MDM_PASSWORD);
    server.cli(&[
        "user",
        "add",
        "alice",
        "--role",
        "device-admin",
        "--template",
        "device",
        "--password-file",
        file.to_str().unwrap(),
    ]);
    let client = server.admin();
    let alice = basic("alice", MDM_PASSWORD);
    // Unmarked: the right password gets the same 401 as a wrong one.
    let refused = client.get("/certsrv/mscep_admin/", &[("Authorization", &alice)]);
    assert_eq!(refused.status, 401);
    offers_basic_only(&refused);
    assert!(audit_export(&server).contains("not marked for HTTP Basic"));
    // A pki-admin can be neither created nor marked for Basic, and its password gets nothing.
    let admin = basic("admin", &server.initial_admin_password());
    let reply = client.get("/certsrv/mscep_admin/", &[("Authorization", &admin)]);
    assert_eq!(reply.status, 401);
    let marked = Command::new(common::SCEPD)
        .args(["user", "basic-auth", "admin", "--on", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&marked.stderr);
    assert!(!marked.status.success());
    assert!(
        stderr.contains("--on: user \"admin\" has role pki-admin; only device-admin"),
        "{stderr}"
    );
    let created = Command::new(common::SCEPD)
        .args([
            "user",
            "add",
            "reader",
            "--role",
            "auditor",
            "--basic-auth",
            "--data-dir",
        ])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!created.status.success());
    assert!(
        String::from_utf8_lossy(&created.stderr).contains("--basic-auth: user \"reader\""),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let missing = Command::new(common::SCEPD)
        .args(["user", "basic-auth", "alice", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!missing.status.success(), "neither --on nor --off");

    // Marked, alice gets a challenge; unmarked again, nothing.
    let out = server.cli(&["user", "basic-auth", "alice", "--on"]);
    assert!(out.contains("may authenticate with HTTP Basic"), "{out}");
    assert!(
        server
            .cli(&["user", "list"])
            .contains("HTTP Basic allowed (mscep_admin, Jamf webhook): alice")
    );
    let page = ndes_text(&client.get("/certsrv/mscep_admin/", &[("Authorization", &alice)]));
    assert!(scrape(&page).is_some(), "{page}");
    server.cli(&["user", "basic-auth", "alice", "--off"]);
    let after = client.get("/certsrv/mscep_admin/", &[("Authorization", &alice)]);
    assert_eq!(after.status, 401);
    assert!(!server.cli(&["user", "list"]).contains("HTTP Basic allowed"));
    // A disabled account gets nothing even when marked.
    server.cli(&["user", "basic-auth", "alice", "--on"]);
    server.cli(&["user", "disable", "alice"]);
    let disabled = client.get("/certsrv/mscep_admin/", &[("Authorization", &alice)]);
    assert_eq!(disabled.status, 401);

    // The same over the API, for a pki-admin's token.
    let token = server.cli(&["user", "token", "admin"]).trim().to_owned();
    let bearer = format!("Bearer {token}");
    let api = |method: &str, name: &str| {
        client.request(
            method,
            &format!("/admin/api/v1/users/{name}/basic-auth"),
            &[("Authorization", &bearer)],
            None,
        )
    };
    let off = api("DELETE", "alice");
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.json()["basic_auth"], false);
    let on = api("POST", "alice");
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(on.json()["basic_auth"], true);
    let refused = api("POST", "admin");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("only device-admin"),
        "{}",
        refused.body
    );
    assert_eq!(api("POST", "nobody").status, 404);

    let audit = audit_export(&server);
    assert!(
        audit.contains("user alice marked for HTTP Basic"),
        "{audit}"
    );
    assert!(
        audit.contains("user alice unmarked for HTTP Basic"),
        "{audit}"
    );
    assert!(audit.contains("the account is disabled"), "{audit}");
}

#[test]
fn quota_and_missing_rights_answer_in_ndes_words() {
    let server = Server::start("[challenges]\nmax_outstanding_per_admin = 2\n");
    add_machine_account(&server, MDM, &["device"]);
    add_machine_account(&server, "mdm-nothing", &[]);
    let client = server.admin();
    let first = scraped(&client, "/certsrv/mscep_admin/");
    scraped(&client, "/certsrv/mscep_admin/");
    // Over the quota: NDES's sentence, with 200 as NDES answers it, and no challenge.
    let full = ndes_text(&client.get(
        "/certsrv/mscep_admin/",
        &[("Authorization", &basic(MDM, MDM_PASSWORD))],
    ));
    assert!(full.contains(PASSWORD_CACHE_FULL), "{full}");
    assert!(scrape(&full).is_none(), "{full}");
    // Using one frees a place.
    enroll(&server, &first, "quota-1").unwrap();
    scraped(&client, "/certsrv/mscep_admin/");

    // No right on the template: NDES's other sentence.
    let nothing = ndes_text(&client.get(
        "/certsrv/mscep_admin/",
        &[("Authorization", &basic("mdm-nothing", MDM_PASSWORD))],
    ));
    assert!(nothing.contains(NO_PERMISSION), "{nothing}");
    assert!(scrape(&nothing).is_none());
    let other_template = ndes_text(&client.get(
        "/certsrv/mscep_admin/?template=vpn",
        &[("Authorization", &basic(MDM, MDM_PASSWORD))],
    ));
    assert!(other_template.contains(NO_PERMISSION), "{other_template}");
}

#[test]
fn micromdm_scepclient_enrolls_with_a_scraped_challenge() {
    if !require_tool("scepclient") {
        return;
    }
    // micromdm's client only speaks single DES: the loud opt-in its own test uses.
    let server = Server::start("[crypto]\ninsecure_single_des = true\n");
    add_machine_account(&server, MDM, &["device"]);
    let challenge = scraped(&server.admin(), "/certsrv/mscep_admin/");
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("scepclient")
        .current_dir(work.path())
        .args(["-server-url", &server.url(), "-challenge", &challenge])
        .args([
            "-private-key",
            "device.key",
            "-certificate",
            "device.pem",
            "-cn",
            "scraped-router",
        ])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && log.contains("pkiStatus=SUCCESS"),
        "{log}"
    );
    common::openssl_verify(&server.ca_pem(), &work.path().join("device.pem"));
    assert_eq!(server.certificate_count(), 1);
}

/// A Jamf Pro webhook event as Jamf documents it.
fn jamf_event(name: &str) -> String {
    json!({
        "webhook": {
            "id": 3,
            "name": "scepd challenge",
            "webhookEvent": name,
            "eventTimestamp": 1_757_435_578_000_i64
        },
        "event": {
            "scepServerUrl": "https://scepd.example.net/scep",
            "payloadIdentifier": "CDB0BC64-F3EB-4B1A-AA5E-9A5D994CA593",
            "payloadTypes": ["com.apple.security.scep"]
        }
    })
    .to_string()
}

fn jamf(client: &Https, credentials: &str, content_type: &str, body: &[u8]) -> Reply {
    client.request(
        "POST",
        "/certsrv/mscep_admin/jamf",
        &[("Authorization", credentials)],
        Some((content_type, body)),
    )
}

#[test]
fn jamf_gets_a_one_time_challenge_that_enrolls_once() {
    let server = Server::start("");
    add_machine_account(&server, "mdm-jamf", &["device"]);
    let client = server.admin();
    let credentials = basic("mdm-jamf", MDM_PASSWORD);
    let reply = jamf(
        &client,
        &credentials,
        "application/json; charset=UTF-8",
        jamf_event("SCEPChallenge").as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let challenge = reply.body.clone();
    assert!(
        challenge.len() >= 24 && challenge.chars().all(|c| c.is_ascii_alphanumeric()),
        "{challenge:?}"
    );
    enroll(&server, &challenge, "jamf-mac-1").unwrap();
    // Replayed: the challenge was spent by the first enrollment.
    assert_eq!(
        enroll(&server, &challenge, "jamf-mac-2"),
        Err(scep::FailInfo::BadRequest)
    );
    assert_eq!(server.certificate_count(), 1);
    // Each event gets its own challenge.
    let again = jamf(
        &client,
        &credentials,
        "application/json",
        jamf_event("SCEPChallenge").as_bytes(),
    );
    assert_eq!(again.status, 200);
    assert_ne!(again.body, challenge);
    let audit = audit_export(&server);
    assert!(audit.contains("user:mdm-jamf"), "{audit}");
    assert!(!audit.contains(&challenge) && !server.stderr().contains(&challenge));
}

#[test]
fn bad_jamf_requests_are_refused_with_nothing_minted() {
    let server = Server::start("");
    add_machine_account(&server, "mdm-jamf", &["device"]);
    let file = secret_file(server.dir.path(), "unmarked.password", MDM_PASSWORD);
    server.cli(&[
        "user",
        "add",
        "unmarked",
        "--role",
        "device-admin",
        "--template",
        "device",
        "--password-file",
        file.to_str().unwrap(),
    ]);
    let client = server.admin();
    let good = basic("mdm-jamf", MDM_PASSWORD);
    let event = jamf_event("SCEPChallenge");
    let json = "application/json";
    let mut huge = event.clone().into_bytes();
    huge.resize(17 * 1024, b' ');
    let cases: Vec<(&str, String, &str, Vec<u8>, u16)> = vec![
        (
            "forged password",
            basic("mdm-jamf", "guessed-password"),
            json,
            event.clone().into_bytes(),
            401,
        ),
        (
            "unmarked account",
            basic("unmarked", MDM_PASSWORD),
            json,
            event.clone().into_bytes(),
            401,
        ),
        (
            "wrong event",
            good.clone(),
            json,
            jamf_event("ComputerAdded").into_bytes(),
            400,
        ),
        (
            "malformed JSON",
            good.clone(),
            json,
            b"{\"webhook\": {\"webhookEvent\": \"SCEPCh".to_vec(),
            400,
        ),
        ("huge body", good.clone(), json, huge, 413),
        (
            "wrong content type",
            good.clone(),
            "application/x-www-form-urlencoded",
            event.clone().into_bytes(),
            415,
        ),
        (
            "text instead of JSON",
            good.clone(),
            "text/plain",
            event.clone().into_bytes(),
            415,
        ),
    ];
    for (what, credentials, content_type, body, status) in cases {
        let reply = jamf(&client, &credentials, content_type, &body);
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        if status == 401 {
            offers_basic_only(&reply);
        }
        assert!(!reply.body.trim().is_empty(), "{what}: no reason given");
    }
    let anonymous = client.request(
        "POST",
        "/certsrv/mscep_admin/jamf",
        &[],
        Some((json, event.as_bytes())),
    );
    assert_eq!(anonymous.status, 401);
    offers_basic_only(&anonymous);
    let wrong_event = jamf(&client, &good, json, jamf_event("ComputerAdded").as_bytes());
    assert!(
        wrong_event.body.contains("ComputerAdded"),
        "{}",
        wrong_event.body
    );
    let get = client.get("/certsrv/mscep_admin/jamf", &[("Authorization", &good)]);
    assert_eq!(get.status, 405);
    let audit = audit_export(&server);
    assert!(!audit.contains("challenge-issued"), "{audit}");
}
