//! The admin surface tells the truth about what it did: withdrawing a grant the account does
//! not have is 404 and not audited, and disabling an account deletes its API tokens for good.
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
