//! NDES's insecure challenge modes exist only as loud opt-ins (issue 6, part 5):
//! `insecure_no_challenge` (EnforcePassword=0) and `insecure_static_challenge_file`
//! (UseSinglePassword=1). Each works as NDES's does, warns at every start, fails `scepd
//! doctor`, and is named in the audit entry of every certificate it lets through. Without the
//! opt-in, a request without a challenge is refused.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{SCEPD, Server};
use scep::{FailInfo, PkiStatus};
use scep_client::{
    ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post, read_cert_rep,
    self_signed_certificate,
};

/// A PKCSReq for `CN=cn` (dNSName `cn`) with `challenge`, or none; the pkiStatus it got.
fn enroll_with(server: &Server, cn: &str, challenge: Option<&str>) -> PkiStatus {
    let bundle = get_ca_cert(&server.url()).unwrap();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let subject = format!("CN={cn}");
    let cert = self_signed_certificate(&key, &subject).unwrap();
    let mut csr = CsrBuilder::new(&subject).dns(cn);
    if let Some(challenge) = challenge {
        csr = csr.challenge(challenge);
    }
    let builder =
        PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr.build(&key).unwrap()).unwrap();
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce())
        .unwrap()
        .status
}

/// `scepd doctor`: (success, stdout).
fn doctor(server: &Server) -> (bool, String) {
    let out = Command::new(SCEPD)
        .args(["doctor", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `scepd audit export` to standard output: the JSON lines.
fn audit_export(server: &Server) -> Vec<serde_json::Value> {
    let out = Command::new(SCEPD)
        .args(["audit", "export", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The export's certificate-issued entries.
fn issuance_details(server: &Server) -> Vec<String> {
    audit_export(server)
        .iter()
        .filter(|e| e["kind"] == "certificate-issued")
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Start-up warnings, doctor and the audit log all name `setting`.
fn assert_named_loudly(server: &Server, setting: &str) {
    let stderr = server.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("INSECURE") && l.contains(setting)),
        "no start-up warning naming {setting}:\n{stderr}"
    );
    let (ok, report) = doctor(server);
    assert!(!ok, "doctor passed with {setting}:\n{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(setting)),
        "doctor does not name {setting}:\n{report}"
    );
}

#[test]
fn insecure_no_challenge_enrolls_without_a_challenge_and_says_so() {
    let server = Server::start("[challenges]\ninsecure_no_challenge = true\n");
    assert_eq!(
        enroll_with(&server, "nochallenge.example", None),
        PkiStatus::Success
    );
    // A challenge that is presented is still checked: a wrong one is refused.
    assert_eq!(
        enroll_with(
            &server,
            "wrong.example",
            Some("WrongWrongWrongWrongWrongWrong12")
        ),
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    // The template's rules still apply: it allows no email SAN.
    {
        let bundle = get_ca_cert(&server.url()).unwrap();
        let key = ClientKey::generate_rsa(2048).unwrap();
        let cert = self_signed_certificate(&key, "CN=greedy").unwrap();
        let csr = CsrBuilder::new("CN=greedy")
            .san(scep_client::csr::SanEntry::Email("ceo@example.net".into()))
            .build(&key)
            .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
        let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
        let status = read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce())
            .unwrap()
            .status;
        assert_eq!(status, PkiStatus::Failure(FailInfo::BadRequest));
    }
    assert_eq!(server.certificate_count(), 1);
    assert_named_loudly(&server, "insecure_no_challenge");
    let issued = issuance_details(&server);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert!(
        issued[0].contains("insecure_no_challenge"),
        "issuance does not name the setting: {}",
        issued[0]
    );
    // A one-time challenge minted meanwhile says the insecure mode is on.
    server.challenge(&[]);
    assert!(
        audit_export(&server)
            .iter()
            .any(|e| e["kind"] == "challenge-issued"
                && e["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("insecure_no_challenge")),
        "challenge issuance does not name the setting"
    );
}

#[test]
fn insecure_static_challenge_is_reusable_and_never_consumed() {
    let secrets = tempfile::tempdir().unwrap();
    const PASSWORD: &str = "Static-Shared-Password-2024";
    let file = common::secret_file(secrets.path(), "static-challenge", PASSWORD);
    let server = Server::start(&format!(
        "[challenges]\ninsecure_static_challenge_file = \"{}\"\n",
        file.display()
    ));
    for cn in ["static-1.example", "static-2.example"] {
        assert_eq!(
            enroll_with(&server, cn, Some(PASSWORD)),
            PkiStatus::Success,
            "{cn}"
        );
    }
    // A wrong password is refused like any wrong challenge; no password at all, too.
    assert_eq!(
        enroll_with(
            &server,
            "guess.example",
            Some("Static-Shared-Password-2025")
        ),
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    assert_eq!(
        enroll_with(&server, "none.example", None),
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    // One-time challenges still work beside it.
    assert!(common::enroll(&server, "CN=onetime.example", &["onetime.example"]).is_ok());
    assert_eq!(server.certificate_count(), 3);
    assert_eq!(
        common::block_on(server.store().count_challenges_used()).unwrap(),
        1
    );
    assert_named_loudly(&server, "insecure_static_challenge_file");
    let issued = issuance_details(&server);
    assert_eq!(issued.len(), 3, "{issued:?}");
    let named = issued
        .iter()
        .filter(|d| d.contains("insecure_static_challenge_file"))
        .count();
    assert_eq!(named, 2, "{issued:?}");
    // The password itself is nowhere: not in the log, not in the audit trail.
    assert!(!server.stderr().contains(PASSWORD));
    assert!(
        !audit_export(&server)
            .iter()
            .any(|e| e.to_string().contains(PASSWORD))
    );
}

#[test]
fn a_static_challenge_file_readable_by_others_is_refused_at_start() {
    let secrets = tempfile::tempdir().unwrap();
    let file = common::secret_file(
        secrets.path(),
        "static-challenge",
        "Static-Shared-Password-2024",
    );
    std::fs::set_permissions(
        &file,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = Command::new(SCEPD)
        .args(["init", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let config = data.join("scepd.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "[challenges]\n",
        &format!(
            "[challenges]\ninsecure_static_challenge_file = \"{}\"\n",
            file.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(SCEPD)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args(["--scep-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("insecure_static_challenge_file") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

#[test]
fn without_the_opt_in_a_request_without_a_challenge_is_refused() {
    let server = Server::start("");
    assert_eq!(
        enroll_with(&server, "nochallenge.example", None),
        PkiStatus::Failure(FailInfo::BadRequest)
    );
    assert_eq!(server.certificate_count(), 0);
    let events = common::block_on(server.store().audit_events(50)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("challenge missing")),
        "{events:?}"
    );
    let (_, report) = doctor(&server);
    assert!(
        !report.contains("insecure_no_challenge") && !report.contains("insecure_static"),
        "{report}"
    );
}
