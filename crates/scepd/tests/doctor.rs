//! `scepd doctor` as an operator and a monitoring system run it: the JSON document and its exit
//! status, and the checks of the seed's practices against real data directories — a bad
//! template, unencrypted keys under a named CA, constrained and imported CAs, a CRL past its
//! nextUpdate, keys in a PKCS#11 token (SoftHSM2).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{SCEPD, SOFTHSM_MODULE, Server, require_tool, secret_file, softhsm_token};
use serde_json::Value;

fn init(data: &Path, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(SCEPD)
        .arg("init")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn doctor(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(SCEPD)
        .arg("doctor")
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .envs(env.iter().copied())
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `scepd doctor --format json`: the document and whether the exit status was success.
fn doctor_json(data: &Path, env: &[(&str, &str)]) -> (bool, Value) {
    let out = doctor(data, &["--format", "json"], env);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one document: {stdout}");
    let document: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", text(&out)));
    for check in document["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        assert!(
            scepd::cli::doctor::finding::IDS.contains(&id),
            "{id} is not registered (finding::IDS) and documented"
        );
    }
    (out.status.success(), document)
}

/// The checks of a document with this id, as (severity, message).
fn checks<'a>(document: &'a Value, id: &str) -> Vec<(&'a str, &'a str)> {
    document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .map(|c| {
            (
                c["severity"].as_str().unwrap(),
                c["message"].as_str().unwrap(),
            )
        })
        .collect()
}

/// The one check with this id.
fn check<'a>(document: &'a Value, id: &str) -> (&'a str, &'a str) {
    match checks(document, id).as_slice() {
        [one] => *one,
        other => panic!("{id}: {other:?} in {document}"),
    }
}

fn set_config(data: &Path, from: &str, to: &str) {
    let path = data.join("scepd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} not in scepd.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn json_is_one_document_for_monitoring_with_the_exit_status_of_the_text_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data, &[], &[]);

    let text_report = doctor(&data, &[], &[]);
    assert!(text_report.status.success(), "{}", text(&text_report));
    let lines = String::from_utf8(text_report.stdout).unwrap();
    assert!(
        lines.lines().all(|l| ["PASS  ", "WARN  ", "FAIL  "]
            .iter()
            .any(|p| l.starts_with(p))),
        "the text format keeps its shape:\n{lines}"
    );

    let (ok, document) = doctor_json(&data, &[]);
    assert!(ok, "{document}");
    assert_eq!(document["failures"], 0);
    let all = document["checks"].as_array().unwrap();
    assert_eq!(
        all.len(),
        lines.lines().count(),
        "one check per text line:\n{lines}\n{document:#}"
    );
    for c in all {
        let id = c["id"].as_str().unwrap();
        assert!(
            id.split_once('.').is_some_and(|(area, name)| {
                [area, name].iter().all(|p| {
                    !p.is_empty() && p.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')
                })
            }),
            "id {id:?}"
        );
        assert!(["pass", "warn", "fail"].contains(&c["severity"].as_str().unwrap()));
    }
    for id in [
        "config.parse",
        "host.root",
        "host.data_dir_mode",
        "templates.build",
        "ca.path_len",
        "ca.name_constraints",
        "ca.eku_constraint",
        "keys.protection",
        "keys.load",
        "store.audit_chain",
        "crl.freshness",
    ] {
        assert!(
            !checks(&document, id).is_empty(),
            "{id} missing: {document}"
        );
    }
    assert_eq!(check(&document, "ca.path_len").0, "pass");
    assert_eq!(check(&document, "keys.protection").0, "warn");

    // A retired key others can read and a data directory others can write: two failures, the
    // same exit status as the text report.
    let retired = data.join("keys/previous/ra-encryption-1700000000.key");
    std::fs::create_dir_all(retired.parent().unwrap()).unwrap();
    std::fs::write(&retired, "retired").unwrap();
    std::fs::set_permissions(&retired, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (ok, document) = doctor_json(&data, &[]);
    assert!(!ok);
    assert_eq!(document["failures"], 2, "{document}");
    assert_eq!(check(&document, "host.data_dir_mode").0, "fail");
    let keys = checks(&document, "keys.file_mode");
    assert!(
        keys.iter()
            .any(|(s, m)| *s == "fail" && m.contains("ra-encryption-1700000000.key")),
        "{keys:?}"
    );
    assert!(!doctor(&data, &[], &[]).status.success());
}

#[test]
fn an_invalid_template_fails_doctor_as_it_fails_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data, &[], &[]);
    let path = data.join("scepd.toml");
    let mut toml = std::fs::read_to_string(&path).unwrap();
    toml.push_str(
        "\n[[templates]]\nname = \"wifi\"\nextended_key_usages = [\"clientAuth\"]\n\
         \n[[templates]]\nname = \"agent\"\nextended_key_usages = [\"1.3.6.1.4.1.311.20.2.1\"]\n",
    );
    std::fs::write(&path, toml).unwrap();

    let (ok, document) = doctor_json(&data, &[]);
    assert!(!ok, "{document}");
    let built = checks(&document, "templates.build");
    assert!(
        built
            .iter()
            .any(|(s, m)| *s == "pass" && m.contains("\"wifi\"")),
        "{built:?}"
    );
    assert!(
        built
            .iter()
            .any(|(s, m)| *s == "fail" && m.contains("\"agent\"")),
        "{built:?}"
    );

    let out = Command::new(SCEPD)
        .args(["serve", "--scep-listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve started with the bad template");
    assert!(text(&out).contains("agent"), "{}", text(&out));
}

#[test]
fn unencrypted_keys_fail_under_a_named_ca_and_encrypted_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let named = ["--ca-subject", "CN=Example SCEP CA,O=Example"];

    let clear = dir.path().join("clear");
    init(&clear, &named, &[]);
    let (ok, document) = doctor_json(&clear, &[]);
    assert!(!ok, "{document}");
    let (severity, message) = check(&document, "keys.protection");
    assert_eq!(severity, "fail", "{message}");
    assert!(message.contains("CN=Example SCEP CA"), "{message}");

    let encrypted = dir.path().join("encrypted");
    let passphrase = secret_file(dir.path(), "passphrase", "correct horse battery staple");
    let mut args = named.to_vec();
    args.extend(["--passphrase-file", passphrase.to_str().unwrap()]);
    init(&encrypted, &args, &[]);
    let (ok, document) = doctor_json(&encrypted, &[]);
    assert!(ok, "{document}");
    assert_eq!(check(&document, "keys.protection").0, "warn");
    assert_eq!(check(&document, "keys.load").0, "pass", "{document}");
    assert!(
        checks(&document, "secrets.file_mode")
            .iter()
            .any(|(s, m)| *s == "pass" && m.contains("key passphrase file")),
        "{document}"
    );

    // The development default itself is a warning; a network listener makes it a failure.
    let development = dir.path().join("development");
    init(&development, &[], &[]);
    assert_eq!(
        check(&doctor_json(&development, &[]).1, "keys.protection").0,
        "warn"
    );
    set_config(
        &development,
        "# listen = \"127.0.0.1:8080\"",
        "listen = \"0.0.0.0:8080\"",
    );
    let (ok, document) = doctor_json(&development, &[]);
    assert!(!ok);
    let (severity, message) = check(&document, "keys.protection");
    assert_eq!(severity, "fail");
    assert!(message.contains("scep.listen = 0.0.0.0:8080"), "{message}");
}

#[test]
fn the_constraints_of_a_constrained_and_of_an_imported_ca_are_read_from_their_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let constrained = dir.path().join("constrained");
    init(
        &constrained,
        &[
            "--ca-key",
            "p-256",
            "--ca-permit-dns",
            "devices.example.net",
            "--ca-eku-constraint",
        ],
        &[],
    );
    let (_, document) = doctor_json(&constrained, &[]);
    for id in ["ca.path_len", "ca.name_constraints", "ca.eku_constraint"] {
        assert_eq!(check(&document, id).0, "pass", "{id}: {document}");
    }
    assert!(
        check(&document, "ca.name_constraints")
            .1
            .contains("devices.example.net")
    );
    for (severity, message) in checks(&document, "templates.ca_eku") {
        assert_eq!(severity, "pass", "{message}");
    }

    if !require_tool("openssl") {
        return;
    }
    // An existing CA without pathLenConstraint, imported.
    let (ca_cert, ca_key) = (dir.path().join("root.pem"), dir.path().join("root.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=Example Existing Root/O=Example"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
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
    let imported = dir.path().join("imported");
    init(
        &imported,
        &[
            "--import-ca-cert",
            ca_cert.to_str().unwrap(),
            "--import-ca-key",
            ca_key.to_str().unwrap(),
        ],
        &[],
    );
    let (ok, document) = doctor_json(&imported, &[]);
    let (severity, message) = check(&document, "ca.path_len");
    assert_eq!(severity, "warn", "{message}");
    assert!(message.contains("imported"), "{message}");
    assert_eq!(check(&document, "ca.name_constraints").0, "warn");
    // Its key is in clear under a CA named for an organisation: not the development default.
    assert!(!ok);
    assert_eq!(check(&document, "keys.protection").0, "fail");
}

#[test]
fn a_crl_past_its_next_update_fails_and_one_close_to_it_warns() {
    let server = Server::start("");
    let store = server.store();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let crl = loop {
        if let Some(crl) = common::block_on(store.crl_state()).unwrap().published {
            break crl;
        }
        assert!(std::time::Instant::now() < deadline, "no CRL published");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let data = server.data_dir();
    let freshness = |now: i64| {
        common::block_on(scepd::cli::doctor::run(&data, now))
            .into_iter()
            .find(|f| f.id == "crl.freshness")
            .unwrap()
    };
    let now = crl.this_update + 60;
    assert_eq!(
        freshness(now).severity,
        scepd::cli::doctor::finding::Severity::Pass
    );
    // The service renews three days ahead: a CRL a day from its nextUpdate was not renewed.
    assert_eq!(
        freshness(crl.next_update - 86_400).severity,
        scepd::cli::doctor::finding::Severity::Warn
    );
    let expired = freshness(crl.next_update + 1);
    assert_eq!(
        expired.severity,
        scepd::cli::doctor::finding::Severity::Fail,
        "{}",
        expired.message
    );
    assert!(expired.message.contains("expired"), "{}", expired.message);
}

#[test]
fn doctor_opens_the_token_and_checks_every_key_in_it() {
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
    init(
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
    let (ok, document) = doctor_json(&data, &env);
    assert!(ok, "{document}");
    assert_eq!(check(&document, "pkcs11.token").0, "pass");
    let keys = checks(&document, "pkcs11.key");
    assert_eq!(keys.len(), 4, "{keys:?}");
    for (severity, message) in &keys {
        assert_eq!(*severity, "pass", "{message}");
        assert!(message.contains("CKA_EXTRACTABLE=false"), "{message}");
    }
    assert_eq!(check(&document, "keys.load").0, "pass");
    assert!(checks(&document, "keys.protection").is_empty());

    // A CA key made extractable by another tool: named, with the attribute.
    let out = Command::new("pkcs11-tool")
        .args(["--module", SOFTHSM_MODULE, "--token-label", "scepd"])
        .args(["--login", "--pin", "730452918"])
        .args(["--keypairgen", "--key-type", "EC:prime256v1"])
        .args(["--label", "extractable-ca", "--usage-sign"])
        .args(["--sensitive", "--private", "--extractable"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    set_config(
        &data,
        "# ca_key_label = \"scepd-ca-signing\"",
        "ca_key_label = \"extractable-ca\"",
    );
    let (ok, document) = doctor_json(&data, &env);
    assert!(!ok);
    let refused: Vec<_> = checks(&document, "pkcs11.key")
        .into_iter()
        .filter(|(s, _)| *s == "fail")
        .collect();
    assert_eq!(refused.len(), 1, "{document}");
    assert!(
        refused[0].1.contains("extractable-ca") && refused[0].1.contains("CKA_EXTRACTABLE"),
        "{}",
        refused[0].1
    );

    // The configured PIN source with a wrong PIN: the token does not open.
    std::fs::write(&pin_file, "111111999\n").unwrap();
    let (ok, document) = doctor_json(&data, &env);
    assert!(!ok);
    let (severity, message) = check(&document, "pkcs11.token");
    assert_eq!(severity, "fail");
    assert!(message.contains("\"scepd\""), "{message}");
    assert!(checks(&document, "pkcs11.key").is_empty());
}
