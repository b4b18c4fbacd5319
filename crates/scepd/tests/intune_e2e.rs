//! Issue 14's Intune acceptance, end to end: `scepd serve` with an endpoint whose challenges
//! Intune judges, against the mock Intune over TLS on 127.0.0.1. A device enrolls only when
//! Intune validated its very CSR and acknowledged the certificate; every refusal, unknown
//! code, 500, timeout, unacknowledged certificate or credential Entra ID refuses issues
//! nothing; a retried transaction is answered from the record; Intune hears when issuing
//! fails after its yes; its revocation requests end in the CRL and in its results; no
//! challenge, client secret or token reaches a log. Each case is driven by the in-repo
//! client, and the main ones by certmonger too.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::intune::{
    Device, GENEROUS_LIMITS, Intune, Issued, base64, csr, enroll, send, thumbprint_sha1,
};
use common::{Server, openssl_text, openssl_verify, write_pem};
use intune_mock::{MockAnswer, MockRevocationRequest, Route};
use scep_client::FailInfo;

const INTUNE_ENDPOINT: &str = r#"
[[templates]]
name = "intune-device"
extended_key_usages = ["clientAuth"]
dns_domains = ["corp.example"]

[[endpoints]]
name = "intune"
template = "intune-device"
challenge = "intune"
"#;

fn start(intune_section: &str) -> Server {
    Server::start(&format!(
        "{INTUNE_ENDPOINT}\n{GENEROUS_LIMITS}\n{intune_section}"
    ))
}

fn intune_url(server: &Server) -> String {
    format!("{}/intune", server.url())
}

/// A device's CSR for `name` under corp.example, with an Intune challenge.
fn device_csr(device: &Device, name: &str) -> Vec<u8> {
    csr(device, &format!("CN={name}"), |b| {
        b.dns(&format!("{name}.corp.example"))
    })
}

fn audit_export(server: &Server) -> String {
    server.cli(&["audit", "export"])
}

#[test]
fn a_device_intune_vouches_for_is_issued_after_intune_saw_its_csr_and_its_certificate() {
    let intune = Intune::start();
    let server = start(&intune.config());
    let url = intune_url(&server);
    let device = Device::rsa(2048);
    let csr = device_csr(&device, "laptop-17");
    let answer = enroll(&url, &device, csr.clone());
    let certificate = answer.certificate();
    let issued = Issued::new(&certificate);

    // A token for Graph, discovery, a token for Intune, then the two ScepActions.
    assert_eq!(
        intune.scep_routes(),
        [
            Route::Token,
            Route::Discovery,
            Route::Token,
            Route::ValidateRequest,
            Route::SuccessNotification
        ]
    );
    assert_eq!(intune.mock.violations(), []);
    let validate = &intune.bodies(Route::ValidateRequest)[0]["request"];
    assert_eq!(validate["transactionId"], answer.transaction_id.as_str());
    assert_eq!(validate["certificateRequest"], base64(&csr).as_str());
    let told = &intune.bodies(Route::SuccessNotification)[0]["notification"];
    assert_eq!(told["transactionId"], answer.transaction_id.as_str());
    assert_eq!(told["certificateRequest"], base64(&csr).as_str());
    assert_eq!(
        told["certificateThumbprint"],
        thumbprint_sha1(&certificate).as_str()
    );
    let serial = told["certificateSerialNumber"].as_str().unwrap();
    assert_eq!(
        serial.trim_start_matches('0').to_uppercase(),
        issued.serial_hex().trim_start_matches('0'),
    );
    let expires = told["certificateExpirationDateUtc"].as_str().unwrap();
    let expires = humantime::parse_rfc3339(expires).unwrap();
    let expires = expires.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(expires.as_secs(), issued.not_after_unix());
    assert!(
        !told["issuingCertificateAuthority"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    let pem = write_pem(&server, "laptop-17.pem", &certificate);
    openssl_verify(&server.ca_pem(), &pem);
    assert!(openssl_text(&pem).contains("DNS:laptop-17.corp.example"));
    assert_eq!(server.certificate_count(), 1);
    let audit = audit_export(&server);
    assert!(audit.contains("vouched by intune"), "{audit}");

    // The device retries the transaction (a lost reply): the same certificate, from the
    // record, without asking Intune again or signing again.
    let again = send(
        &url,
        &device.key,
        &device.self_signed,
        csr,
        "19",
        Some(&answer.transaction_id),
    );
    assert_eq!(again.certificate(), certificate);
    assert_eq!(intune.mock.calls_to(Route::ValidateRequest).len(), 1);
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification).len(), 1);
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn every_refusal_unknown_code_error_status_and_timeout_of_validation_issues_nothing() {
    let intune = Intune::start();
    let server = start(&intune.config());
    let url = intune_url(&server);
    let device = Device::rsa(2048);
    let mut answers: Vec<MockAnswer> = common::intune::rejection_codes()
        .map(|code| MockAnswer::Code(code.to_owned()))
        .collect();
    answers.extend([
        MockAnswer::Code("SomeCodeIntuneAddsNextYear".into()),
        MockAnswer::Status(500),
        MockAnswer::Status(503),
        MockAnswer::Status(302),
        MockAnswer::NotJson,
        // Longer than the 2 s timeout: Intune answers Success, too late.
        MockAnswer::Slow(Duration::from_secs(3)),
    ]);
    for (n, refusal) in answers.iter().enumerate() {
        intune
            .mock
            .set_answer(Route::ValidateRequest, refusal.clone());
        let answer = enroll(&url, &device, device_csr(&device, "refused"));
        assert_eq!(
            answer.outcome,
            Err(FailInfo::BadRequest),
            "{refusal:?}: {answer:?}"
        );
        // Asked once per request: a validation is never retried.
        assert_eq!(
            intune.mock.calls_to(Route::ValidateRequest).len(),
            n + 1,
            "{refusal:?}"
        );
    }
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification), []);
    assert_eq!(intune.mock.violations(), []);
    assert_eq!(server.certificate_count(), 0);
    // Intune's own code is in the audit log of each refusal.
    let audit = audit_export(&server);
    for code in [
        "ChallengeExpired",
        "SubjectAltNameMismatch",
        "SomeCodeIntuneAddsNextYear",
    ] {
        assert!(audit.contains(code), "{code} not audited:\n{audit}");
    }
}

#[test]
fn a_certificate_intune_does_not_acknowledge_never_leaves() {
    let intune = Intune::start();
    let server = start(&intune.config());
    let url = intune_url(&server);
    let device = Device::rsa(2048);
    let csr = device_csr(&device, "unacknowledged");
    let transaction_id = "intune-unacknowledged-1";
    for (n, answer) in [
        MockAnswer::Code("Unknown".into()),
        MockAnswer::Status(500),
        MockAnswer::Slow(Duration::from_secs(3)),
    ]
    .into_iter()
    .enumerate()
    {
        intune
            .mock
            .set_answer(Route::SuccessNotification, answer.clone());
        let got = send(
            &url,
            &device.key,
            &device.self_signed,
            csr.clone(),
            "19",
            Some(transaction_id),
        );
        assert_eq!(got.outcome, Err(FailInfo::BadRequest), "{answer:?}");
        // The CA signed (Intune was told of a certificate), but none was recorded.
        assert_eq!(
            intune.mock.calls_to(Route::SuccessNotification).len(),
            n + 1
        );
        assert_eq!(server.certificate_count(), 0, "{answer:?}");
        // ...and Intune hears that the device got nothing.
        assert_eq!(
            intune.mock.calls_to(Route::FailureNotification).len(),
            n + 1,
            "{answer:?}"
        );
    }
    let audit = audit_export(&server);
    assert!(audit.contains("withheld"), "{audit}");
    assert_eq!(intune.mock.violations(), []);

    // Once Intune acknowledges, the device's retry of the same transaction is issued.
    intune
        .mock
        .set_answer(Route::SuccessNotification, MockAnswer::Success);
    let issued = send(
        &url,
        &device.key,
        &device.self_signed,
        csr,
        "19",
        Some(transaction_id),
    );
    let certificate = issued.certificate();
    let told = intune.bodies(Route::SuccessNotification);
    assert_eq!(
        told.last().unwrap()["notification"]["certificateThumbprint"],
        thumbprint_sha1(&certificate).as_str()
    );
    assert_eq!(server.certificate_count(), 1);
}

/// The partner matrix's "Communication Failure" (scepd cannot authenticate to Entra ID):
/// nothing is issued, and Intune is never asked.
#[test]
fn a_client_secret_entra_id_refuses_issues_nothing() {
    let intune = Intune::start();
    let server = start(&intune.section("not-the-registered-secret", "1h"));
    let device = Device::rsa(2048);
    let answer = enroll(
        &intune_url(&server),
        &device,
        device_csr(&device, "no-token"),
    );
    assert_eq!(answer.outcome, Err(FailInfo::BadRequest));
    // A credential Entra ID refuses is final: asked once, not retried.
    assert_eq!(intune.mock.calls_to(Route::Token).len(), 1);
    assert_eq!(intune.mock.calls_to(Route::ValidateRequest), []);
    assert!(
        intune.mock.violations()[0]
            .what
            .contains("Invalid client secret"),
        "{:?}",
        intune.mock.violations()
    );
    assert_eq!(server.certificate_count(), 0);
}

/// A request Intune validated but the template then refuses (a name outside its domains):
/// issuing failed after Intune's yes, and Intune is told so.
#[test]
fn intune_hears_of_a_request_refused_after_it_validated_it() {
    let intune = Intune::start();
    let server = start(&intune.config());
    let device = Device::rsa(2048);
    let csr = csr(&device, "CN=outside", |b| {
        b.dns("outside.elsewhere.example")
    });
    let answer = enroll(&intune_url(&server), &device, csr.clone());
    assert_eq!(answer.outcome, Err(FailInfo::BadRequest));
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification), []);
    let failures = intune.bodies(Route::FailureNotification);
    assert_eq!(
        failures.len(),
        1,
        "{:?}\n{}",
        intune.mock.calls(),
        server.stderr()
    );
    let failure = &failures[0]["notification"];
    assert_eq!(failure["transactionId"], answer.transaction_id.as_str());
    assert_eq!(failure["certificateRequest"], base64(&csr).as_str());
    // E_FAIL as a signed 32-bit number.
    assert_eq!(failure["hResult"], -2_147_467_259_i64);
    let description = failure["errorDescription"].as_str().unwrap();
    assert!(
        description.contains("outside.elsewhere.example"),
        "{description}"
    );
    assert_eq!(intune.mock.violations(), []);
    assert_eq!(server.certificate_count(), 0);
}

#[test]
fn intune_s_revocation_requests_end_in_the_crl_and_in_its_results() {
    let intune = Intune::start();
    let server = start(&intune.section(intune_mock::CLIENT_SECRET, "1s"));
    let device = Device::rsa(2048);
    let answer = enroll(&intune_url(&server), &device, device_csr(&device, "wiped"));
    let issued = Issued::new(&answer.certificate());
    let told = &intune.bodies(Route::SuccessNotification)[0]["notification"];
    // Intune asks by the serial it was told, in its own case.
    let serial = told["certificateSerialNumber"]
        .as_str()
        .unwrap()
        .to_uppercase();
    assert!(!crl_lists(&server, &issued.serial_hex()));

    intune.mock.queue_revocation(MockRevocationRequest {
        request_context: "wipe-of-laptop".into(),
        serial_number: serial,
        issuer_name: None,
        ca_configuration: None,
    });
    intune.mock.queue_revocation(MockRevocationRequest {
        request_context: "someone-else-s-certificate".into(),
        serial_number: "0BADC0FFEE".into(),
        issuer_name: None,
        ca_configuration: None,
    });
    intune.wait_for("both results uploaded", Duration::from_secs(15), |mock| {
        mock.uploaded_results().len() >= 2
    });
    let results = intune.mock.uploaded_results();
    let result = |context: &str| {
        results
            .iter()
            .find(|r| r.request_context == context)
            .unwrap_or_else(|| panic!("no result for {context}: {results:?}"))
    };
    let wiped = result("wipe-of-laptop");
    assert!(wiped.succeeded && wiped.error_code == 0, "{wiped:?}");
    let unknown = result("someone-else-s-certificate");
    assert!(
        !unknown.succeeded && unknown.error_code == 4004,
        "{unknown:?}"
    );
    assert!(crl_lists(&server, &issued.serial_hex()));
    let audit = audit_export(&server);
    assert!(audit.contains("intune"), "{audit}");
    assert_eq!(intune.mock.violations(), []);
}

/// Whether the published CRL (checked against the CA by openssl) lists `serial_hex`.
fn crl_lists(server: &Server, serial_hex: &str) -> bool {
    let text = common::intune::crl_text(server);
    let wanted = serial_hex.trim_start_matches('0');
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number:"))
        .any(|s| {
            s.trim()
                .trim_start_matches('0')
                .eq_ignore_ascii_case(wanted)
        })
}

#[test]
fn no_challenge_client_secret_or_token_reaches_a_log_or_the_database() {
    let intune = Intune::start();
    let server = Server::start_with_env(
        &format!("{INTUNE_ENDPOINT}\n{GENEROUS_LIMITS}\n{}", intune.config()),
        &[("SCEPD_LOG", "debug")],
    );
    let url = intune_url(&server);
    let device = Device::rsa(2048);
    let accepted = common::intune::intune_challenge();
    let csr_with = |challenge: &str, name: &str| {
        scep_client::CsrBuilder::new(&format!("CN={name}"))
            .dns(&format!("{name}.corp.example"))
            .challenge(challenge)
            .build(&device.key)
            .unwrap()
    };
    enroll(&url, &device, csr_with(&accepted, "secret-1")).certificate();
    let refused = common::intune::intune_challenge();
    intune.mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Code("ChallengeExpired".into()),
    );
    let answer = enroll(&url, &device, csr_with(&refused, "secret-2"));
    assert_eq!(answer.outcome, Err(FailInfo::BadRequest));

    let logs = server.stderr();
    assert!(logs.contains("DEBUG"), "debug logging was on");
    let audit = audit_export(&server);
    assert!(audit.contains("ChallengeExpired"), "{audit}");
    let mut database = Vec::new();
    for file in ["scepd.db", "scepd.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_dir().join(file)) {
            database.extend(bytes);
        }
    }
    let tokens = intune.mock.issued_tokens();
    assert_eq!(tokens.len(), 2, "a Graph and an Intune token");
    let mut secrets = vec![
        ("accepted challenge", accepted),
        ("refused challenge", refused),
        ("client secret", intune_mock::CLIENT_SECRET.to_owned()),
    ];
    secrets.extend(tokens.into_iter().map(|t| ("bearer token", t)));
    for (what, secret) in &secrets {
        for (place, haystack) in [
            ("the log", logs.as_bytes()),
            ("the audit export", audit.as_bytes()),
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

fn getcert_script(url: &str, work: &Path, name: &str, challenge: &str) -> String {
    format!(
        "getcert add-scep-ca -s -c scepd -u {url}\n\
         getcert request -s -c scepd -k {key} -f {cert} -N CN={name} -D {name}.corp.example -L {challenge} -w -v\n\
         getcert list -s\n",
        key = work.join(format!("{name}.key")).display(),
        cert = work.join(format!("{name}.pem")).display(),
    )
}

/// The SubjectPublicKeyInfo of a PEM private key, by openssl.
fn spki_of_key(key: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn certmonger_enrolls_on_an_intune_endpoint_and_is_refused_when_intune_refuses() {
    if !common::certmonger::available() {
        return;
    }
    let intune = Intune::start();
    let server = start(&intune.config());
    let url = intune_url(&server);
    let work = tempfile::tempdir().unwrap();

    let challenge = common::intune::intune_challenge();
    let log = common::certmonger::run_certmonger(
        work.path(),
        &getcert_script(&url, work.path(), "cm-laptop", &challenge),
    );
    let cert = work.path().join("cm-laptop.pem");
    assert!(
        cert.exists(),
        "certmonger got no certificate:\n{log}\nserver:\n{}",
        server.stderr()
    );
    openssl_verify(&server.ca_pem(), &cert);
    let certificate = common::certificate_der(&cert);
    let issued = Issued::new(&certificate);
    // Intune validated certmonger's own CSR: for this key, with this challenge.
    let validate = &intune.bodies(Route::ValidateRequest)[0]["request"];
    let csr = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        validate["certificateRequest"].as_str().unwrap(),
    )
    .unwrap();
    let request = <x509_cert::request::CertReq as der::Decode>::from_der(&csr).unwrap();
    let requested_key = der::Encode::to_der(&request.info.public_key).unwrap();
    assert_eq!(requested_key, issued.spki_der());
    assert_eq!(
        requested_key,
        spki_of_key(&work.path().join("cm-laptop.key"))
    );
    assert!(
        csr.windows(challenge.len())
            .any(|w| w == challenge.as_bytes()),
        "the challenge is in the CSR Intune saw"
    );
    let told = &intune.bodies(Route::SuccessNotification)[0]["notification"];
    assert_eq!(told["transactionId"], validate["transactionId"]);
    assert_eq!(
        told["certificateThumbprint"],
        thumbprint_sha1(&certificate).as_str()
    );
    assert_eq!(server.certificate_count(), 1);

    // Intune refuses the next device: certmonger is rejected, nothing is issued.
    intune.mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Code("ChallengeExpired".into()),
    );
    let challenge = common::intune::intune_challenge();
    let log = common::certmonger::run_certmonger(
        work.path(),
        &getcert_script(&url, work.path(), "cm-refused", &challenge),
    );
    assert!(
        !work.path().join("cm-refused.pem").exists(),
        "a certificate Intune refused:\n{log}"
    );
    assert!(
        log.contains("CA_REJECTED") || log.contains("rejected"),
        "{log}"
    );
    assert_eq!(intune.mock.calls_to(Route::ValidateRequest).len(), 2);
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification).len(), 1);
    assert_eq!(server.certificate_count(), 1);
    assert_eq!(intune.mock.violations(), []);
}

/// A scepd process, killed when dropped; `lines` is its stdout up to its ready line.
struct Process {
    child: std::process::Child,
    lines: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scepd ARGS` and waits for a stdout line starting with `ready`.
fn spawn(args: &[&str], ready: &str, log: &Path) -> Process {
    use std::io::BufRead as _;
    let child = Command::new(common::SCEPD)
        .args(args)
        .env("SCEPD_LOG", "info,sqlx=warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    // Owned by a `Process` at once: killed and waited for even if it never gets ready.
    let mut process = Process {
        child,
        lines: Vec::new(),
    };
    let stdout = process.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "scepd {args:?} did not start: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        let done = line.starts_with(ready);
        process.lines.push(line);
        if done {
            return process;
        }
    }
}

fn address(line: &str, scheme: &str) -> String {
    line.split(scheme)
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line}"))
        .to_owned()
}

fn scepd(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(common::SCEPD)
        .args(args)
        .env("SCEPD_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scepd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn append(path: &Path, text: &str) {
    let mut config = std::fs::read_to_string(path).unwrap();
    config.push_str(text);
    std::fs::write(path, config).unwrap();
}

/// The CA that signs fails after Intune validated the request: in a split deployment the CA
/// host is gone. Intune is told (failureNotification), never told of a certificate, and the
/// device gets FAILURE. (In one process the CA cannot be made to fail from outside.)
#[test]
fn intune_hears_when_the_ca_fails_after_it_validated_the_request() {
    let intune = Intune::start();
    let dir = tempfile::tempdir().unwrap();
    let (ca_dir, ra_dir) = (dir.path().join("ca"), dir.path().join("ra"));
    let (ca_s, ra_s) = (ca_dir.to_str().unwrap(), ra_dir.to_str().unwrap());
    let template = "\n[[templates]]\nname = \"intune-device\"\nextended_key_usages = [\"clientAuth\"]\ndns_domains = [\"corp.example\"]\n";
    scepd(&["init", "--mode", "ca", "--data-dir", ca_s], &[]);
    append(&ca_dir.join("scepd.toml"), template);
    let code = scepd(
        &[
            "ca",
            "register-ra",
            "--data-dir",
            ca_s,
            "--name",
            "ra1",
            "--templates",
            "intune-device",
        ],
        &[],
    );
    let ca = spawn(
        &[
            "ca",
            "--data-dir",
            ca_s,
            "--listen",
            "127.0.0.1:0",
            "--registration-listen",
            "127.0.0.1:0",
        ],
        "scepd ca listening",
        &dir.path().join("ca.stderr"),
    );
    let registration = address(&ca.lines[0], "https://");
    let ca_addr = address(ca.lines.last().unwrap(), "https://");
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
            &format!("https://{ca_addr}"),
            "--ca-registration-url",
            &format!("https://{registration}"),
            "--ca-fingerprint",
            &fingerprint,
        ],
        &[("SCEPD_REGISTRATION_CODE", code.trim())],
    );
    append(
        &ra_dir.join("scepd.toml"),
        &format!("{INTUNE_ENDPOINT}\n{}", intune.config()),
    );
    let ra = spawn(
        &[
            "ra",
            "--data-dir",
            ra_s,
            "--scep-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        "scepd listening",
        &dir.path().join("ra.stderr"),
    );
    let url = format!(
        "http://{}/scep/intune",
        address(ra.lines.last().unwrap(), "http://")
    );

    // Through the CA while it runs...
    let device = Device::rsa(2048);
    enroll(&url, &device, device_csr(&device, "split-1")).certificate();
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification).len(), 1);
    // ...and with the CA host gone.
    drop(ca);
    let device = Device::rsa(2048);
    let csr = device_csr(&device, "split-2");
    let answer = enroll(&url, &device, csr.clone());
    assert!(answer.outcome.is_err(), "{answer:?}");
    assert_eq!(intune.mock.calls_to(Route::ValidateRequest).len(), 2);
    assert_eq!(intune.mock.calls_to(Route::SuccessNotification).len(), 1);
    let failures = intune.bodies(Route::FailureNotification);
    assert_eq!(
        failures.len(),
        1,
        "{:?}\n{}",
        intune.mock.calls(),
        std::fs::read_to_string(dir.path().join("ra.stderr")).unwrap_or_default()
    );
    let failure = &failures[0]["notification"];
    assert_eq!(failure["transactionId"], answer.transaction_id.as_str());
    assert_eq!(failure["certificateRequest"], base64(&csr).as_str());
    assert_eq!(failure["hResult"], -2_147_467_259_i64);
    let description = failure["errorDescription"].as_str().unwrap();
    assert!(description.contains("CA unreachable"), "{description}");
    assert_eq!(intune.mock.violations(), []);
}
