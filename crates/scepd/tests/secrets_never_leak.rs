//! A whole enrollment session — the first administrator logs in to the mscep_admin page, takes
//! a challenge, a device enrolls with it, an API token issues and uses another, a wrong
//! password and a wrong challenge are tried, metrics are scraped — and then the logs (at debug
//! level), the audit export, the metrics and every byte of the database are searched for each
//! secret of the session. Zero hits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, enroll_with};
use serde_json::json;

fn between<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
    let end = html[start..].find('<').unwrap();
    &html[start..start + end]
}

#[test]
fn no_secret_reaches_a_log_the_audit_log_a_metric_or_the_database() {
    let server = Server::start_with_env("", &[("SCEPD_LOG", "debug")]);
    let client = server.admin();
    let password = server.initial_admin_password();

    // A wrong password first, then the right one.
    let wrong_password = format!("{password}-wrong");
    let form = format!("username=admin&password={wrong_password}");
    let refused = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    );
    assert_eq!(refused.status, 401);
    let form = format!("username=admin&password={password}");
    let login = client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    );
    assert_eq!(login.status, 303);
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = cookie.split_once('=').unwrap().1.to_owned();
    let page = client.get("/certsrv/mscep_admin/", &[("Cookie", &cookie)]);
    let page_challenge = between(&page.body, "challenge").to_owned();

    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    enroll_with(&server, &page_challenge, &key, "CN=leak-test-1", &[]).unwrap();
    // A guess is not a secret, but an attacker's wrong guess must not be logged either.
    let guess = "GuessedChallenge0123456789abcdef";
    let other = scep_client::ClientKey::generate_rsa(2048).unwrap();
    assert!(enroll_with(&server, guess, &other, "CN=leak-test-2", &[]).is_err());

    let token_output = server.cli(&["user", "token", "admin"]);
    let token = token_output
        .split_whitespace()
        .find(|w| w.starts_with("scepd_"))
        .unwrap()
        .to_owned();
    let issued = client.post_json(
        "/admin/api/v1/challenges",
        &[("Authorization", &format!("Bearer {token}"))],
        &json!({ "subject": "CN=leak-test-3" }),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let api_challenge = issued.json()["challenge"].as_str().unwrap().to_owned();
    let third = scep_client::ClientKey::generate_rsa(2048).unwrap();
    enroll_with(&server, &api_challenge, &third, "CN=leak-test-3", &[]).unwrap();
    let user = client.post_json(
        "/admin/api/v1/users",
        &[("Authorization", &format!("Bearer {token}"))],
        &json!({ "name": "ops", "role": "auditor" }),
    );
    let ops_password = user.json()["password"].as_str().unwrap().to_owned();
    let metrics = client.get("/metrics", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("scepd_enrollments_total"));

    let audit = server.cli(&["audit", "export"]);
    assert!(
        audit.contains("certificate-issued"),
        "the session was audited: {audit}"
    );
    let logs = server.stderr();
    assert!(
        logs.contains("DEBUG") || logs.contains("debug"),
        "debug logging was on"
    );
    let mut database = Vec::new();
    for file in ["scepd.db", "scepd.db-wal", "scepd.db-shm"] {
        if let Ok(bytes) = std::fs::read(server.data_dir().join(file)) {
            database.extend(bytes);
        }
    }
    assert!(database.len() > 4096);

    let secrets = [
        ("initial admin password", password.as_str()),
        ("wrong admin password", wrong_password.as_str()),
        ("generated user password", ops_password.as_str()),
        ("page challenge", page_challenge.as_str()),
        ("API challenge", api_challenge.as_str()),
        ("guessed challenge", guess),
        ("API token", token.as_str()),
        ("session id", session.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(
            secret.len() >= 20,
            "{what} too short to search for: {secret:?}"
        );
        for (place, haystack) in [
            ("the log", logs.as_bytes()),
            ("the audit export", audit.as_bytes()),
            ("the metrics", metrics.body.as_bytes()),
            ("the database", database.as_slice()),
        ] {
            assert!(
                !haystack
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "the {what} appears in {place}"
            );
        }
    }
}
