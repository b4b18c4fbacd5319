//! The command-line contract of DESIGN.md: `init`, `serve` on an empty directory, `challenge
//! issue`, `doctor`, and the clear refusals an operator gets for a bad setup.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{SCEPD, Server};

fn scepd(args: &[&str], data: &Path) -> Output {
    let mut command = Command::new(SCEPD);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("SCEPD_LOG", "warn");
    command.output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn init(dir: &Path) {
    let out = Command::new(SCEPD)
        .args(["init", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn serve_initialises_an_empty_directory_with_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let server = Server::serve(dir, data.clone());
    for file in [
        "scepd.toml",
        "scepd.db",
        "keys/ca-signing.key",
        "keys/ra-signing.key",
        "keys/ra-agent.key",
        "keys/ra-encryption.key",
        "certs/ca.pem",
        "certs/ra-signing.pem",
        "certs/ra-agent.pem",
        "certs/ra-encryption.pem",
    ] {
        assert!(data.join(file).exists(), "{file} missing");
    }
    for key in [
        "ca-signing.key",
        "ra-signing.key",
        "ra-agent.key",
        "ra-encryption.key",
    ] {
        let mode = std::fs::metadata(data.join("keys").join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let mode = std::fs::metadata(data.join("scepd.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the database is not readable by others");
    // One key per job: the signing, agent and encryption certificates certify three keys.
    let ra_sign = std::fs::read(data.join("certs/ra-signing.pem")).unwrap();
    let ra_enc = std::fs::read(data.join("certs/ra-encryption.pem")).unwrap();
    let ra_agent = std::fs::read(data.join("certs/ra-agent.pem")).unwrap();
    assert_ne!(ra_sign, ra_enc);
    assert_ne!(ra_sign, ra_agent);
    // The enrollment agent: P-256 (only the CA reads its statements), the agent EKU, and
    // not served to devices by GetCACert.
    let agent_text = common::openssl_text(&data.join("certs/ra-agent.pem"));
    assert!(
        agent_text.contains("1.3.6.1.4.1.311.20.2.1") && agent_text.contains("prime256v1"),
        "enrollment agent:\n{agent_text}"
    );
    common::openssl_verify(&data.join("certs/ca.pem"), &data.join("certs/ra-agent.pem"));
    let bundle = scep_client::get_ca_cert(&server.url()).unwrap();
    let agent_der = common::certificate_der(&data.join("certs/ra-agent.pem"));
    assert_eq!(bundle.certificates.len(), 3);
    assert!(!bundle.certificates.contains(&agent_der));
    assert_eq!(
        bundle.ra_signing.as_deref(),
        Some(common::certificate_der(&data.join("certs/ra-signing.pem")).as_slice())
    );
    // The reply signer: digitalSignature and emailProtection (OpenSSL's S/MIME purpose
    // accepts what it signs), no enrollment-agent power; encryption: keyEncipherment only.
    let signing_text = common::openssl_text(&data.join("certs/ra-signing.pem"));
    assert!(
        signing_text.contains("Digital Signature")
            && signing_text.contains("E-mail Protection")
            && !signing_text.contains("1.3.6.1.4.1.311.20.2.1"),
        "reply signer:\n{signing_text}"
    );
    let encryption_text = common::openssl_text(&data.join("certs/ra-encryption.pem"));
    assert!(
        encryption_text.contains("Key Encipherment")
            && !encryption_text.contains("Digital Signature")
            && !encryption_text.contains("Extended Key Usage"),
        "encryption:\n{encryption_text}"
    );
    common::openssl_verify(
        &data.join("certs/ca.pem"),
        &data.join("certs/ra-signing.pem"),
    );
    common::openssl_verify(
        &data.join("certs/ca.pem"),
        &data.join("certs/ra-encryption.pem"),
    );
    drop(server);
}

#[test]
fn init_never_overwrites_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let key_before = std::fs::read(dir.path().join("keys/ca-signing.key")).unwrap();
    let out = scepd(&["init"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("already holds scepd.toml"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(dir.path().join("keys/ca-signing.key")).unwrap(),
        key_before
    );
}

#[test]
fn challenge_issue_prints_one_alphanumeric_challenge_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = scepd(
        &[
            "challenge",
            "issue",
            "--subject",
            "CN=router1",
            "--san",
            "dns:router1.example",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let challenge = stdout.trim_end_matches('\n');
    assert!(!challenge.contains('\n'), "exactly one line: {stdout:?}");
    assert_eq!(challenge.len(), 32);
    assert!(
        challenge.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{challenge}"
    );
    // The clear text is nowhere on disk: not in the database, not in its WAL.
    for file in ["scepd.db", "scepd.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes
                .windows(challenge.len())
                .any(|w| w == challenge.as_bytes()),
            "challenge found in {file}"
        );
    }
}

#[test]
fn challenge_issue_refuses_bad_arguments_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    for (args, expected) in [
        (vec!["--san", "upn:admin@corp"], "--san"),
        (vec!["--san", "email:a@b"], "--san"),
        (vec!["--template", "subca"], "--template"),
        (vec!["--ttl", "48h"], "--ttl"),
    ] {
        let mut all = vec!["challenge", "issue"];
        all.extend(args.iter());
        let out = scepd(&all, dir.path());
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(
            out.stdout.is_empty(),
            "no challenge may be printed for {args:?}"
        );
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
}

#[test]
fn doctor_passes_the_default_and_fails_insecure_opt_ins_and_open_keys() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = scepd(&["doctor"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("FAIL"), "{}", text(&out));
    assert!(
        text(&out).contains("WARN  RA and CA share a host"),
        "{}",
        text(&out)
    );
    // CA, reply signer, enrollment agent, encryption: each with the profile of its job.
    let fitting = text(&out)
        .lines()
        .filter(|l| l.starts_with("PASS") && l.ends_with("its profile fits its job"))
        .count();
    assert_eq!(fitting, 4, "{}", text(&out));

    let config = dir.path().join("scepd.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        toml.replace("# legacy_crypto = false", "legacy_crypto = true"),
    )
    .unwrap();
    let key = dir.path().join("keys/ra-signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = scepd(&["doctor"], dir.path());
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains("FAIL  crypto.legacy_crypto = true"),
        "{report}"
    );
    assert!(
        report.contains("FAIL  RA signing key") && report.contains("mode 644"),
        "{report}"
    );
}

#[test]
fn serve_refuses_a_key_readable_by_others_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let key = dir.path().join("keys/ra-encryption.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = scepd(&["serve", "--scep-listen", "127.0.0.1:0"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out).contains("ra-encryption.key"), "{}", text(&out));
}

#[test]
fn serve_refuses_an_unknown_setting_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let config = dir.path().join("scepd.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        toml.replace("# legacy_crypto = false", "legacy_crypt = true"),
    )
    .unwrap();
    let out = scepd(&["serve", "--scep-listen", "127.0.0.1:0"], dir.path());
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains("scepd.toml") && report.contains("legacy_crypt"),
        "{report}"
    );
}

/// `serve` on `dir` must fail and say all of `expected`.
fn assert_serve_refuses(dir: &Path, expected: &[&str]) {
    let out = scepd(&["serve", "--scep-listen", "127.0.0.1:0"], dir);
    assert!(!out.status.success(), "serve started");
    let report = text(&out);
    for e in expected {
        assert!(report.contains(e), "{e:?} missing from: {report}");
    }
}

/// Runs `scepd doctor` and fails unless it printed a `severity` line containing `message`.
fn doctor_line(dir: &Path, severity: &str, message: &str) -> Output {
    let out = scepd(&["doctor"], dir);
    let report = text(&out);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with(severity) && l.contains(message)),
        "no {severity} line with {message:?} in:\n{report}"
    );
    out
}

/// A fresh `scepd init` directory with one edit of its scepd.toml.
fn initialised_with(from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    set_config(dir.path(), from, to);
    dir
}

fn set_config(dir: &Path, from: &str, to: &str) {
    let config = dir.join("scepd.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    assert!(toml.contains(from), "{from} not in scepd.toml");
    std::fs::write(&config, toml.replacen(from, to, 1)).unwrap();
}

#[test]
fn two_roles_on_one_key_are_refused_naming_both_roles() {
    // The same file for two roles.
    let dir = initialised_with(
        "# ra_encryption_key = \"keys/ra-encryption.key\"",
        "ra_encryption_key = \"keys/ra-signing.key\"",
    );
    assert_serve_refuses(
        dir.path(),
        &["RA signing", "RA encryption", "may not share a key"],
    );

    // The agent pointed at the signing key.
    let dir = initialised_with(
        "ra_agent_key = \"keys/ra-agent.key\"",
        "ra_agent_key = \"keys/ra-signing.key\"",
    );
    assert_serve_refuses(
        dir.path(),
        &[
            "keys.ra_signing_key",
            "keys.ra_agent_key",
            "may not share a key",
        ],
    );

    // The same key under two file names.
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let keys = dir.path().join("keys");
    std::fs::remove_file(keys.join("ca-signing.key")).unwrap();
    std::fs::copy(keys.join("ra-signing.key"), keys.join("ca-signing.key")).unwrap();
    std::fs::set_permissions(
        keys.join("ca-signing.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_serve_refuses(
        dir.path(),
        &["CA signing", "RA signing", "use the same key"],
    );
}

#[test]
fn a_certificate_that_does_not_fit_its_role_is_refused() {
    // The RA signing certificate swapped for the encryption one: wrong key for the role.
    let dir = initialised_with(
        "# ra_signing_certificate = \"certs/ra-signing.pem\"",
        "ra_signing_certificate = \"certs/ra-encryption.pem\"",
    );
    assert_serve_refuses(dir.path(), &["RA signing", "does not certify"]);

    // The CA certificate given as the RA encryption certificate, with the CA key behind it:
    // refused as the CA key doing a second job.
    let dir = initialised_with(
        "# ra_encryption_certificate = \"certs/ra-encryption.pem\"",
        "ra_encryption_certificate = \"certs/ca.pem\"",
    );
    set_config(
        dir.path(),
        "# ra_encryption_key = \"keys/ra-encryption.key\"",
        "ra_encryption_key = \"keys/ca-signing.key\"",
    );
    assert_serve_refuses(
        dir.path(),
        &["CA signing", "RA encryption", "may not share a key"],
    );
}

#[test]
fn audit_verify_and_export_cover_every_entry_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = scepd(&["challenge", "issue"], dir.path());
    let challenge = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = scepd(&["audit", "verify"], dir.path());
    assert!(
        out.status.success() && text(&out).contains("audit chain intact: 3 entries"),
        "{}",
        text(&out)
    );

    let export = dir.path().join("audit.jsonl");
    let out = scepd(
        &["audit", "export", "--output", export.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let mode = std::fs::metadata(&export).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let lines = std::fs::read_to_string(&export).unwrap();
    let kinds: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        ["config-changed", "account-changed", "challenge-issued"],
        "{lines}"
    );
    assert!(
        !lines.contains(&challenge),
        "the challenge must never be in the audit log"
    );
    // An existing file is never overwritten.
    let out = scepd(
        &["audit", "export", "--output", export.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
}

#[test]
fn health_and_readiness_answer() {
    let server = Server::start("");
    for path in ["healthz", "readyz"] {
        let reply = scep_client::http::http_get(&format!("http://{}/{path}", server.addr)).unwrap();
        assert_eq!(reply.status, 200, "{path}");
    }
}

#[test]
fn audit_verify_reports_an_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    assert!(scepd(&["challenge", "issue"], dir.path()).status.success());
    // Someone with write access to the database drops the append-only triggers and rewrites
    // history: the chain still exposes it.
    let db = dir.path().join("scepd.db");
    let tamper = format!(
        "import sqlite3; c = sqlite3.connect({:?}); \
         c.execute('DROP TRIGGER audit_log_no_update'); \
         c.execute(\"UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2\"); c.commit()",
        db.display().to_string()
    );
    let out = Command::new("python3")
        .args(["-c", &tamper])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = scepd(&["audit", "verify"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("BROKEN") && text(&out).contains('2'),
        "{}",
        text(&out)
    );
    let out = scepd(&["audit", "export"], dir.path());
    assert!(!out.status.success(), "a tampered log is not exported");
    let out = scepd(&["doctor"], dir.path());
    assert!(text(&out).contains("FAIL  audit chain"), "{}", text(&out));
}

#[test]
fn an_enrollment_agent_configured_by_halves_is_refused_naming_the_missing_setting() {
    let dir = initialised_with(
        "ra_agent_certificate = \"certs/ra-agent.pem\"",
        "# ra_agent_certificate = \"certs/ra-agent.pem\"",
    );
    assert_serve_refuses(
        dir.path(),
        &["keys.ra_agent_key is set but keys.ra_agent_certificate is not"],
    );
    let out = doctor_line(dir.path(), "FAIL", "keys.ra_agent_certificate");
    assert!(!out.status.success());

    // The agent certificate given for a key it does not certify.
    let dir = initialised_with(
        "ra_agent_certificate = \"certs/ra-agent.pem\"",
        "ra_agent_certificate = \"certs/ra-signing.pem\"",
    );
    assert_serve_refuses(dir.path(), &["RA enrollment agent", "does not certify"]);
}

/// The RA signing certificate as scepd made it before the separate enrollment agent: the
/// agent's profile (digitalSignature, Certificate Request Agent EKU), so it counter-signs.
fn reissue_signing_certificate_as_before_the_agent(data: &Path) {
    use keys::software::SoftwareKey;
    let ca_key =
        SoftwareKey::load(keys::KeyRole::CaSigning, data.join("keys/ca-signing.key")).unwrap();
    let signing =
        SoftwareKey::load(keys::KeyRole::RaSigning, data.join("keys/ra-signing.key")).unwrap();
    let certificate = ca::dev::issue_ra_certificate(
        &ca_key,
        &common::certificate_der(&data.join("certs/ca.pem")),
        signing.public_key_spki_der(),
        "scepd RA enrollment agent",
        ca::dev::RaCertPurpose::Agent,
        30,
    )
    .unwrap();
    keys::pem::write_certificate(&data.join("certs/ra-signing.pem"), &certificate).unwrap();
}

/// A data directory made before the separate enrollment-agent key still serves: its RA
/// signing key counter-signs as before, with a warning at every start and from doctor, until
/// `scepd ra renew` adds the agent.
#[test]
fn a_data_directory_without_an_enrollment_agent_key_still_enrolls_until_ra_renew_adds_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    // As an older scepd wrote it: no line for the agent at all.
    set_config(&data, "ra_agent_key = \"keys/ra-agent.key\"", "");
    set_config(&data, "ra_agent_certificate = \"certs/ra-agent.pem\"", "");
    let toml = std::fs::read_to_string(data.join("scepd.toml")).unwrap();
    assert!(!toml.contains("ra_agent_key ="), "{toml}");
    std::fs::remove_file(data.join("keys/ra-agent.key")).unwrap();
    std::fs::remove_file(data.join("certs/ra-agent.pem")).unwrap();
    reissue_signing_certificate_as_before_the_agent(&data);
    doctor_line(&data, "WARN", "no separate enrollment-agent key");
    doctor_line(&data, "WARN", "lacks emailProtection");

    let server = Server::serve(dir, data);
    let challenge = server.challenge(&[]);
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let cert =
        common::enroll_with_legacy_reply_signer(&server, challenge.trim(), &key, "CN=legacy-dev");
    assert!(cert.is_ok(), "{cert:?}\n{}", server.stderr());
    assert!(
        server
            .stderr()
            .contains("this data directory has no separate enrollment-agent key"),
        "{}",
        server.stderr()
    );

    let data = server.data_dir();
    let out = scepd(&["ra", "renew"], &data);
    assert!(out.status.success(), "{}", text(&out));
    let toml = std::fs::read_to_string(data.join("scepd.toml")).unwrap();
    assert!(
        toml.contains("\nra_agent_key = \"keys/ra-agent.key\"")
            && toml.contains("\nra_agent_certificate = \"certs/ra-agent.pem\""),
        "{toml}"
    );
    let agent_text = common::openssl_text(&data.join("certs/ra-agent.pem"));
    assert!(agent_text.contains("prime256v1"), "{agent_text}");
    doctor_line(
        &data,
        "PASS",
        "a separate enrollment-agent key counter-signs",
    );
    doctor_line(&data, "PASS", "RA signing certificate");
    let server = server.restart();
    let challenge = server.challenge(&[]);
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let cert = common::enroll_with(&server, challenge.trim(), &key, "CN=migrated-dev", &[]);
    assert!(cert.is_ok(), "{cert:?}\n{}", server.stderr());
    assert!(
        !server
            .stderr()
            .contains("this data directory has no separate enrollment-agent key"),
        "{}",
        server.stderr()
    );
}
