//! Administrator accounts through the binary: the initial administrator made by the ceremony,
//! `scepd user ...`, and that no password or token ever reaches the audit log or the database
//! in clear.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{SCEPD, Server, block_on};

fn scepd(args: &[&str], data: &Path) -> Output {
    Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed; returns its stdout.
fn ok(args: &[&str], data: &Path) -> String {
    let out = scepd(args, data);
    assert!(
        out.status.success(),
        "scepd {args:?} failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Runs a command that must fail; returns its stderr.
fn refused(args: &[&str], data: &Path) -> String {
    let out = scepd(args, data);
    assert!(
        !out.status.success(),
        "scepd {args:?} should have failed:\n{}",
        stdout(&out)
    );
    stderr(&out)
}

/// `scepd init`; returns its stdout.
fn init(data: &Path) -> String {
    let out = Command::new(SCEPD)
        .args(["init", "--data-dir"])
        .arg(data)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn store(data: &Path) -> store::Store {
    block_on(store::Store::open(&format!(
        "sqlite://{}?mode=rw",
        data.join("scepd.db").display()
    )))
    .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The one line a secret-printing command writes on stdout.
fn single_line(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line expected: {out:?}");
    lines[0].to_owned()
}

fn write_secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Every byte the database holds on disk (main file and WAL).
fn database_bytes(data: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["scepd.db", "scepd.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn init_creates_one_pki_admin_and_a_0600_password_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = init(&data);
    let file = data.join("initial-admin-password");
    assert!(
        out.contains(&format!(
            "initial administrator: admin, password in {}",
            file.display()
        )),
        "{out}"
    );
    let printed = out
        .lines()
        .find_map(|l| l.strip_prefix("admin password: "))
        .unwrap_or_else(|| panic!("no password line in:\n{out}"))
        .to_owned();
    assert_eq!(printed.len(), 24);
    assert!(printed.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(mode(&file), 0o600);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim_end(), printed);

    let store = store(&data);
    let users = block_on(store.list_users()).unwrap();
    assert_eq!(users.len(), 1);
    let admin = &users[0];
    assert_eq!(
        (admin.name.as_str(), admin.role.as_str()),
        ("admin", "pki-admin")
    );
    assert!(!admin.disabled);
    let phc = admin.password_hash.as_deref().unwrap();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(accounts::verify_password(&printed, phc));
    assert!(!contains(&database_bytes(&data), &printed));

    // The ceremony and the account are both audited; the password is not.
    let events = block_on(store.audit_events(10)).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["config-changed", "account-changed"]);
    assert!(events[1].detail.contains("user admin created"));
    assert!(events.iter().all(|e| !e.detail.contains(&printed)));
}

#[test]
fn serve_on_an_empty_directory_creates_the_initial_admin_too() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let server = Server::serve(dir, data.clone());
    let file = data.join("initial-admin-password");
    assert_eq!(mode(&file), 0o600);
    let password = std::fs::read_to_string(&file).unwrap();
    let admin = block_on(server.store().user_by_name("admin"))
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, "pki-admin");
    assert!(accounts::verify_password(
        password.trim_end(),
        admin.password_hash.as_deref().unwrap()
    ));
    // A restart neither makes another administrator nor touches the file.
    let server = server.restart();
    assert_eq!(block_on(server.store().count_users()).unwrap(), 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), password);
}

#[test]
fn users_are_added_granted_listed_disabled_and_given_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);

    // A generated password, printed once and alone on stdout.
    let out = scepd(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "device-admin",
            "--template",
            "device",
        ],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let password = single_line(&stdout(&out));
    assert_eq!(password.len(), 24);
    let alice = block_on(store(&data).user_by_name("alice"))
        .unwrap()
        .unwrap();
    assert_eq!(alice.role, "device-admin");
    assert_eq!(alice.templates, ["device"]);
    assert!(accounts::verify_password(
        &password,
        alice.password_hash.as_deref().unwrap()
    ));

    // A password from a 0600 file, at least 12 characters; nothing printed on stdout.
    let file = dir.path().join("pw");
    write_secret(&file, "short\n");
    let e = refused(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "cert-manager",
            "--password-file",
            file.to_str().unwrap(),
        ],
        &data,
    );
    assert!(
        e.contains("--password-file") && e.contains("at least 12"),
        "{e}"
    );
    write_secret(&file, "a long enough passphrase\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = refused(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "cert-manager",
            "--password-file",
            file.to_str().unwrap(),
        ],
        &data,
    );
    assert!(
        e.contains("--password-file") && e.contains("chmod 600"),
        "{e}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = scepd(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "cert-manager",
            "--password-file",
            file.to_str().unwrap(),
        ],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // A template-bound role without a template is allowed, with a warning.
    assert!(
        stderr(&out).contains("can do nothing until granted"),
        "{}",
        stderr(&out)
    );
    let bob = block_on(store(&data).user_by_name("bob")).unwrap().unwrap();
    assert!(accounts::verify_password(
        "a long enough passphrase",
        bob.password_hash.as_deref().unwrap()
    ));

    let e = refused(&["user", "add", "alice", "--role", "auditor"], &data);
    assert!(e.contains("user \"alice\" already exists"), "{e}");
    let e = refused(&["user", "add", "Alice", "--role", "auditor"], &data);
    assert!(e.contains("NAME") && e.contains("\"Alice\""), "{e}");

    // Grants: idempotent, known templates only.
    ok(&["user", "grant", "bob", "--template", "device"], &data);
    ok(&["user", "grant", "bob", "--template", "device"], &data);
    let e = refused(&["user", "grant", "bob", "--template", "printer"], &data);
    assert_eq!(
        e.trim(),
        "scepd: --template: unknown template \"printer\" (known: device)"
    );
    let e = refused(&["user", "grant", "nobody", "--template", "device"], &data);
    assert!(e.contains("no user \"nobody\""), "{e}");

    ok(&["user", "disable", "alice"], &data);
    let list = ok(&["user", "list"], &data);
    let row = |name: &str| -> Vec<String> {
        list.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in:\n{list}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("admin"), ["admin", "pki-admin", "no", "-"]);
    assert_eq!(row("alice"), ["alice", "device-admin", "yes", "device"]);
    assert_eq!(row("bob"), ["bob", "cert-manager", "no", "device"]);
    assert!(list.contains("3 user(s)"), "{list}");
    assert!(!list.contains("argon2"), "no hash in the list:\n{list}");

    ok(
        &["user", "revoke-grant", "bob", "--template", "device"],
        &data,
    );
    assert!(
        block_on(store(&data).user_by_name("bob"))
            .unwrap()
            .unwrap()
            .templates
            .is_empty()
    );

    // A disabled account gets no API token: it would come to life with the account.
    let err = refused(&["user", "token", "alice", "--label", "intune"], &data);
    assert!(err.contains("\"alice\" is disabled"), "{err}");
    ok(&["user", "enable", "alice"], &data);
    // An API token, printed once; only its hash is stored.
    let token = single_line(&ok(&["user", "token", "alice", "--label", "intune"], &data));
    assert!(
        token.starts_with("scepd_") && token.len() == 6 + 43,
        "{token}"
    );
    let hash = accounts::secret_hash(&token);
    let owner = block_on(store(&data).user_by_token(&hash))
        .unwrap()
        .unwrap();
    assert_eq!(owner.name, "alice");
    assert!(!owner.disabled);
    let second = single_line(&ok(&["user", "token", "alice"], &data));
    assert_ne!(second, token);
    assert!(ok(&["user", "revoke-tokens", "alice"], &data).contains("2 API token(s)"));
    assert!(
        block_on(store(&data).user_by_token(&hash))
            .unwrap()
            .is_none()
    );

    // A new password replaces the old.
    let new_password = single_line(&ok(&["user", "passwd", "alice"], &data));
    let phc = block_on(store(&data).user_by_name("alice"))
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(accounts::verify_password(&new_password, &phc));
    assert!(!accounts::verify_password(&password, &phc));

    // Neither a password nor a token is anywhere in the database file.
    let db = database_bytes(&data);
    for secret in [&password, &new_password, &token, &second] {
        assert!(!contains(&db, secret), "secret found in the database");
    }
    assert!(!contains(&db, "a long enough passphrase"));
}

#[test]
fn unknown_roles_and_missing_users_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    let e = refused(&["user", "add", "carol", "--role", "root"], &data);
    assert_eq!(
        e.trim(),
        "scepd: --role: unknown role \"root\" (known: pki-admin, device-admin, cert-manager, auditor)"
    );
    let e = refused(
        &[
            "user",
            "add",
            "carol",
            "--role",
            "device-admin",
            "--template",
            "nope",
        ],
        &data,
    );
    assert!(
        e.contains("unknown template \"nope\" (known: device)"),
        "{e}"
    );
    // Nothing was created by the refused commands.
    assert_eq!(block_on(store(&data).count_users()).unwrap(), 1);
    for args in [
        &["user", "disable", "carol"][..],
        &["user", "enable", "carol"],
        &["user", "token", "carol"],
        &["user", "passwd", "carol"],
        &["user", "revoke-tokens", "carol"],
        &["user", "revoke-grant", "carol", "--template", "device"],
    ] {
        let e = refused(args, &data);
        assert!(e.contains("no user \"carol\""), "{args:?}: {e}");
    }
}

#[test]
fn a_client_certificate_is_bound_by_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    ok(&["user", "add", "ops", "--role", "auditor"], &data);
    let cert = data.join("certs/ra-signing.pem");
    let out = ok(
        &[
            "user",
            "bind-cert",
            "ops",
            "--certificate",
            cert.to_str().unwrap(),
        ],
        &data,
    );
    let openssl = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output();
    if let Some(o) = openssl.ok().filter(|o| o.status.success()) {
        let line = String::from_utf8(o.stdout).unwrap();
        let fingerprint = line.trim().rsplit('=').next().unwrap().to_owned();
        assert!(out.contains(&fingerprint), "{out} vs {fingerprint}");
    }
    let der = {
        let text = std::fs::read_to_string(&cert).unwrap();
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    let sha: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&der).into();
    let user = block_on(store(&data).user_by_client_certificate(&sha))
        .unwrap()
        .unwrap();
    assert_eq!(user.name, "ops");
    // One certificate, one user.
    ok(&["user", "add", "ops2", "--role", "auditor"], &data);
    let e = refused(
        &[
            "user",
            "bind-cert",
            "ops2",
            "--certificate",
            cert.to_str().unwrap(),
        ],
        &data,
    );
    assert!(e.contains("already bound"), "{e}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = refused(
        &[
            "user",
            "bind-cert",
            "ops",
            "--certificate",
            junk.to_str().unwrap(),
        ],
        &data,
    );
    assert!(e.contains("junk.pem"), "{e}");
}

#[test]
fn account_changes_are_audited_without_any_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init_out = init(&data);
    let admin_password = init_out
        .lines()
        .find_map(|l| l.strip_prefix("admin password: "))
        .unwrap()
        .to_owned();
    let password = single_line(&ok(
        &[
            "user",
            "add",
            "mdm",
            "--role",
            "device-admin",
            "--template",
            "device",
        ],
        &data,
    ));
    let token = single_line(&ok(&["user", "token", "mdm", "--label", "intune"], &data));
    ok(&["user", "disable", "mdm"], &data);
    ok(&["user", "enable", "mdm"], &data);
    ok(&["user", "grant", "mdm", "--template", "device"], &data);
    let new_password = single_line(&ok(&["user", "passwd", "mdm"], &data));

    let export = ok(&["audit", "export"], &data);
    let entries: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let details: Vec<&str> = entries
        .iter()
        .filter(|e| e["kind"] == "account-changed")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 7, "{export}");
    for expected in [
        "user admin created",
        "user mdm created",
        "user mdm API token issued, label \"intune\"",
        "user mdm disabled",
        "user mdm enabled",
        "user mdm granted template device",
        "user mdm password changed",
    ] {
        assert!(
            details.iter().any(|d| d.starts_with(expected)),
            "{expected:?} not in {details:?}"
        );
    }
    for secret in [&admin_password, &password, &token, &new_password] {
        assert!(
            !export.contains(secret.as_str()),
            "a secret is in the audit export"
        );
    }
    assert!(!export.contains("scepd_"), "token text in the audit export");
    assert!(
        !export.contains("$argon2"),
        "a password hash in the audit export"
    );
    assert!(
        ok(&["audit", "verify"], &data).contains("audit chain intact"),
        "chain must verify"
    );
}
