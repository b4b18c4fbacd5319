//! Issue 5: `scepd ca` and `scepd ra` as two processes on 127.0.0.1. A device enrolls
//! through the RA; every attack of security-catalogue section F is refused at the CA with
//! nothing issued; a client without a registered RA TLS certificate cannot finish a handshake.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::SCEPD;
use keys::{KeyRole, Signer};

/// Templates on both sides: device (clientAuth, names under example.net) and vpn.
const TEMPLATES: &str = "[[templates]]\nname = \"device\"\nextended_key_usages = [\"clientAuth\"]\nvalidity_days = 30\ndns_domains = [\"example.net\"]\n\n[[templates]]\nname = \"vpn\"\nextended_key_usages = [\"clientAuth\"]\nvalidity_days = 30\ndns_domains = [\"vpn.example.net\"]\n";

struct Process {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts scepd with `args` and waits for a stdout line starting with `ready`.
fn spawn(args: &[&str], ready: &str, log: &Path) -> Process {
    spawn_env(args, ready, log, &[])
}

/// `spawn` with extra environment (a SoftHSM configuration).
fn spawn_env(args: &[&str], ready: &str, log: &Path, env: &[(&str, &str)]) -> Process {
    let mut child = Command::new(SCEPD)
        .args(args)
        .env("SCEPD_LOG", "info,sqlx=warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => {
                let done = line.starts_with(ready);
                lines.push(line);
                if done {
                    return Process { child, lines };
                }
            }
            Err(_) => panic!(
                "scepd {args:?} did not start: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
}

fn address(line: &str, scheme: &str) -> SocketAddr {
    line.split(scheme)
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line}"))
}

fn run(args: &[&str]) -> String {
    run_env(args, &[])
}

/// `run` with extra environment.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(SCEPD)
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
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Replaces each commented default line with its setting.
fn set(path: &Path, settings: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (commented, setting) in settings {
        assert!(
            text.contains(commented),
            "{commented} not in {}",
            path.display()
        );
        text = text.replacen(commented, setting, 1);
    }
    std::fs::write(path, text).unwrap();
}

struct Split {
    dir: tempfile::TempDir,
    ca_dir: PathBuf,
    ra_dir: PathBuf,
    _ca: Process,
    ra: Process,
    ca_addr: SocketAddr,
    registration_addr: SocketAddr,
    scep_url: String,
}

impl Split {
    fn start() -> Split {
        Split::start_with(&[])
    }

    /// Both sides with each (commented default, setting) of `settings` switched on in their
    /// configuration files.
    fn start_with(settings: &[(&str, &str)]) -> Split {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let ra_dir = dir.path().join("ra");
        let ca_s = ca_dir.to_str().unwrap();
        run(&["init", "--mode", "ca", "--data-dir", ca_s]);
        append(&ca_dir.join("scepd.toml"), TEMPLATES);
        set(&ca_dir.join("scepd.toml"), settings);
        let code = run(&[
            "ca",
            "register-ra",
            "--data-dir",
            ca_s,
            "--name",
            "ra1",
            "--templates",
            "device",
        ]);
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
        let out = Command::new(SCEPD)
            .args(["init", "--mode", "ra", "--data-dir"])
            .arg(&ra_dir)
            .args(["--ca-url", &format!("https://{ca_addr}")])
            .args(["--ca-registration-url", &format!("https://{registration}")])
            .args(["--ca-fingerprint", &fingerprint])
            .env("SCEPD_REGISTRATION_CODE", code.trim())
            .env("SCEPD_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        append(&ra_dir.join("scepd.toml"), TEMPLATES);
        set(&ra_dir.join("scepd.toml"), settings);
        // A revocation made on the CA host reaches the RA's CRL within this.
        let ra_toml = ra_dir.join("scepd.toml");
        let text = std::fs::read_to_string(&ra_toml).unwrap();
        assert!(text.contains("# crl_max_age = \"60s\""), "{text}");
        std::fs::write(
            &ra_toml,
            text.replace("# crl_max_age = \"60s\"", "crl_max_age = \"1s\""),
        )
        .unwrap();
        let ra = spawn(
            &[
                "ra",
                "--data-dir",
                ra_dir.to_str().unwrap(),
                "--scep-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ],
            "scepd listening",
            &dir.path().join("ra.stderr"),
        );
        let scep = address(ra.lines.last().unwrap(), "http://");
        Split {
            dir,
            ca_dir,
            ra_dir,
            _ca: ca,
            ra,
            ca_addr,
            registration_addr: registration,
            scep_url: format!("http://{scep}/scep"),
        }
    }

    fn challenge(&self) -> String {
        run(&[
            "challenge",
            "issue",
            "--data-dir",
            self.ra_dir.to_str().unwrap(),
        ])
        .trim()
        .to_owned()
    }

    fn ca_store(&self) -> store::Store {
        let url = format!(
            "sqlite://{}?mode=rw",
            self.ca_dir.join("scepd.db").display()
        );
        common::block_on(store::Store::open(&url)).unwrap()
    }

    fn issued_at_ca(&self) -> i64 {
        common::block_on(self.ca_store().count_issued_statements()).unwrap()
    }

    /// The RA's enrollment agent, as a compromised RA host would use it: the one key whose
    /// statements the CA accepts from this RA.
    fn ra_signer(&self) -> (keys::software::SoftwareKey, Vec<u8>) {
        self.ra_key(KeyRole::RaAgent, "ra-agent")
    }

    /// The RA's CertRep signing key, which devices see and which must not counter-sign.
    fn ra_reply_signer(&self) -> (keys::software::SoftwareKey, Vec<u8>) {
        self.ra_key(KeyRole::RaSigning, "ra-signing")
    }

    fn ra_key(&self, role: KeyRole, name: &str) -> (keys::software::SoftwareKey, Vec<u8>) {
        let key_file = self.ra_dir.join(format!("keys/{name}.key"));
        let key = keys::software::SoftwareKey::load(role, key_file).unwrap();
        let certificate = self.ra_dir.join(format!("certs/{name}.pem"));
        (key, common::certificate_der(&certificate))
    }

    /// A TLS client with the RA's TLS certificate (or another identity).
    fn tls(&self, identity: Option<(&Path, &Path)>) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                common::certificate_der(&self.ca_dir.join("certs/ca.pem")),
            ))
            .unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        match identity {
            Some((cert, key)) => {
                use rustls::pki_types::pem::PemObject;
                let chain = vec![rustls::pki_types::CertificateDer::from(
                    common::certificate_der(cert),
                )];
                let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        }
    }

    fn ra_tls(&self) -> rustls::ClientConfig {
        self.tls(Some((
            &self.ra_dir.join("certs/ra-tls.pem"),
            &self.ra_dir.join("keys/ra-tls.key"),
        )))
    }

    /// POSTs a statement to the CA; the HTTP status and body, or the TLS/IO error.
    fn post(&self, tls: rustls::ClientConfig, statement: &[u8]) -> Result<(u16, String), String> {
        let issue = ("/scepd-ca/v1/issue", "application/vnd.scepd.ra-statement");
        post_to(self.ca_addr, issue, tls, statement)
    }

    /// A registration (JSON) to the CA's registration listener.
    fn register(&self, request: &serde_json::Value) -> (u16, String) {
        let register = ("/scepd-ca/v1/register", "application/json");
        let body = serde_json::to_vec(request).unwrap();
        post_to(self.registration_addr, register, self.tls(None), &body).unwrap()
    }
}

/// One HTTPS POST of `body` to `path` with `content_type`; the status and the whole answer.
fn post_to(
    addr: SocketAddr,
    (path, content_type): (&str, &str),
    tls: rustls::ClientConfig,
    body: &[u8],
) -> Result<(u16, String), String> {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(tls), name).unwrap();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: ca\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if !answer.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    Ok((status, body))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A device CSR made with scep-client (its builder can ask for cA=TRUE, EKUs...).
fn csr(
    subject: &str,
    build: impl FnOnce(scep_client::CsrBuilder) -> scep_client::CsrBuilder,
) -> Vec<u8> {
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    build(scep_client::CsrBuilder::new(subject))
        .build(&key)
        .unwrap()
}

/// Signs a statement with `signer` and `certificate`, as the RA does.
#[allow(clippy::too_many_arguments)]
fn statement_with(
    signer: &dyn Signer,
    certificate: &[u8],
    csr: Vec<u8>,
    template: &str,
    binding: Option<policy::Binding>,
    approved_at: i64,
    not_after: i64,
) -> Vec<u8> {
    let nonce = keys::random::bytes(16).unwrap();
    let statement = request::statement::RaStatement::new(
        csr,
        template.into(),
        "tx1".into(),
        binding,
        approved_at,
        not_after,
        nonce,
    )
    .unwrap();
    let alg = signer.default_algorithm();
    let unsigned = request::statement::prepare_statement(
        &statement,
        certificate,
        alg.digest().algorithm_identifier_der(),
        alg.algorithm_identifier_der(),
    )
    .unwrap();
    let signature = signer.sign(alg, unsigned.signed_attributes_der()).unwrap();
    unsigned.finish(signature).unwrap()
}

fn refused(answer: Result<(u16, String), String>, code: &str) {
    let (status, body) = answer.unwrap();
    assert!(status >= 400, "expected a refusal, got {status}: {body}");
    assert!(
        body.contains(&format!("\"code\":\"{code}\"")),
        "{code}: {body}"
    );
}

fn enroll(
    url: &str,
    challenge: &str,
    subject: &str,
    dns: &[&str],
) -> Result<Vec<u8>, scep::FailInfo> {
    use scep_client::{CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post};
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let bundle = get_ca_cert(url).unwrap();
    let self_signed = scep_client::self_signed_certificate(&key, subject).unwrap();
    let mut csr = CsrBuilder::new(subject).challenge(challenge);
    for name in dns {
        csr = csr.dns(name);
    }
    let builder = PkcsReqBuilder::new(
        &key,
        &self_signed,
        &bundle.ra_encryption,
        csr.build(&key).unwrap(),
    )
    .unwrap();
    let reply = pki_operation_post(url, &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let outcome =
        scep_client::read_cert_rep(&reply.body, &key, &self_signed, builder.get_sender_nonce())
            .unwrap();
    match outcome.status {
        scep::PkiStatus::Success => Ok(outcome.certificate.unwrap()),
        scep::PkiStatus::Failure(info) => Err(info),
        other => panic!("unexpected status {other:?}"),
    }
}

#[test]
fn split_deployment_enrolls_and_the_ca_refuses_every_catalogue_f_attack() {
    let split = Split::start();

    // End to end: device -> scepd ra -> (mTLS, signed statement) -> scepd ca.
    let cert = enroll(
        &split.scep_url,
        &split.challenge(),
        "CN=dev1",
        &["dev1.example.net"],
    )
    .unwrap_or_else(|f| {
        panic!(
            "enrollment failed: {f:?}\nRA: {}\nCA: {}",
            std::fs::read_to_string(split.dir.path().join("ra.stderr")).unwrap_or_default(),
            std::fs::read_to_string(split.dir.path().join("ca.stderr")).unwrap_or_default()
        )
    });
    let pem_path = split.dir.path().join("dev1.pem");
    std::fs::write(
        &pem_path,
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(&cert)
            }
        ),
    )
    .unwrap();
    if common::require_tool("openssl") {
        let verdict = common::openssl_verify(&split.ca_dir.join("certs/ca.pem"), &pem_path);
        assert!(verdict.contains("OK"), "{verdict}");
    }
    assert_eq!(split.issued_at_ca(), 1);
    // The RA host holds no CA key; the CA host holds no RA key.
    assert!(!split.ra_dir.join("keys/ca-signing.key").exists());
    assert!(!split.ca_dir.join("keys/ra-signing.key").exists());
    assert!(!split.ca_dir.join("keys/ra-agent.key").exists());
    assert!(!split.ca_dir.join("keys/ra-encryption.key").exists());

    // A name outside the template, through the RA: refused (the RA's own policy or the CA's).
    assert!(
        enroll(
            &split.scep_url,
            &split.challenge(),
            "CN=evil",
            &["evil.example.com"]
        )
        .is_err()
    );

    let (signer, ra_cert) = split.ra_signer();
    let t = now();
    let good_csr = || csr("CN=dev2", |b| b.dns("dev2.example.net"));

    // F4: a valid statement, then the same bytes again: the same certificate, not a second.
    let valid = statement_with(&signer, &ra_cert, good_csr(), "device", None, t, t + 300);
    let (status, first) = split.post(split.ra_tls(), &valid).unwrap();
    assert_eq!(status, 200, "{first}");
    assert_eq!(split.issued_at_ca(), 2);
    let (status, again) = split.post(split.ra_tls(), &valid).unwrap();
    assert_eq!(status, 200, "{again}");
    let cert_of = |body: &str| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["certificate"].as_str().unwrap().to_owned()
    };
    assert_eq!(cert_of(&first), cert_of(&again));
    assert!(again.contains("\"replayed\":true"));
    assert_eq!(split.issued_at_ca(), 2);

    // F1: garbage, and a statement with its signature replaced.
    refused(
        split.post(split.ra_tls(), b"not a statement"),
        "statement-rejected",
    );
    let mut forged = statement_with(&signer, &ra_cert, good_csr(), "device", None, t, t + 300);
    let n = forged.len();
    forged[n - 5] ^= 0xff;
    refused(split.post(split.ra_tls(), &forged), "statement-rejected");
    // One key, one job: the RA's own CertRep signing key (issued by this CA, with NDES's
    // Certificate Request Agent profile) is not its enrollment agent, so the CA refuses it.
    let (reply_signer, reply_cert) = split.ra_reply_signer();
    assert_ne!(reply_cert, ra_cert);
    let by_reply_key = statement_with(
        &reply_signer,
        &reply_cert,
        good_csr(),
        "device",
        None,
        t,
        t + 300,
    );
    let (status, body) = split.post(split.ra_tls(), &by_reply_key).unwrap();
    assert!(
        status >= 400 && body.contains("not an allow-listed RA certificate"),
        "{status}: {body}"
    );
    assert_eq!(split.issued_at_ca(), 2);
    // F1: signed by a key the CA never certified (a self-made "enrollment agent").
    let rogue = keys::software::SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap();
    let rogue_ca = ca::dev::self_signed_ca(&rogue, "rogue", 10).unwrap();
    let rogue_ra = keys::software::SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let rogue_cert = ca::dev::issue_ra_certificate(
        &rogue,
        &rogue_ca,
        rogue_ra.public_key_spki_der(),
        "rogue RA",
        ca::dev::RaCertPurpose::Agent,
        10,
    )
    .unwrap();
    let s = statement_with(
        &rogue_ra,
        &rogue_cert,
        good_csr(),
        "device",
        None,
        t,
        t + 300,
    );
    refused(split.post(split.ra_tls(), &s), "statement-rejected");
    // F2: signed with a key of the RA whose certificate lacks the Certificate Request Agent EKU
    // (the RA's TLS client key and certificate).
    let tls_key =
        keys::software::SoftwareKey::load(KeyRole::RaSigning, split.ra_dir.join("keys/ra-tls.key"));
    if let Ok(tls_key) = tls_key {
        let tls_cert = common::certificate_der(&split.ra_dir.join("certs/ra-tls.pem"));
        let s = statement_with(&tls_key, &tls_cert, good_csr(), "device", None, t, t + 300);
        refused(split.post(split.ra_tls(), &s), "statement-rejected");
    }
    // F2: the RA is not authorised for template vpn (which the CA has).
    let s = statement_with(
        &signer,
        &ra_cert,
        csr("CN=gw", |b| b.dns("gw.vpn.example.net")),
        "vpn",
        None,
        t,
        t + 300,
    );
    refused(split.post(split.ra_tls(), &s), "template-not-authorized");

    // F3: the CSR swapped after approval (the signature of the approved one kept).
    let approved = request::statement::RaStatement::new(
        good_csr(),
        "device".into(),
        "tx9".into(),
        None,
        t,
        t + 300,
        vec![9; 16],
    )
    .unwrap();
    let swapped = request::statement::RaStatement::new(
        csr("CN=dev3", |b| b.dns("dev3.example.net")),
        "device".into(),
        "tx9".into(),
        None,
        t,
        t + 300,
        vec![9; 16],
    )
    .unwrap();
    let alg = signer.default_algorithm();
    let digest = alg.digest().algorithm_identifier_der();
    let sig_alg = alg.algorithm_identifier_der();
    let signed =
        request::statement::prepare_statement(&approved, &ra_cert, digest, sig_alg).unwrap();
    let signature = signer.sign(alg, signed.signed_attributes_der()).unwrap();
    let tampered = request::statement::prepare_statement(&swapped, &ra_cert, digest, sig_alg)
        .unwrap()
        .finish(signature)
        .unwrap();
    refused(split.post(split.ra_tls(), &tampered), "statement-rejected");

    // F4: expired, and living longer than the CA allows.
    let s = statement_with(
        &signer,
        &ra_cert,
        good_csr(),
        "device",
        None,
        t - 900,
        t - 600,
    );
    refused(split.post(split.ra_tls(), &s), "statement-rejected");
    let s = statement_with(
        &signer,
        &ra_cert,
        good_csr(),
        "device",
        None,
        t,
        t + 365 * 86_400,
    );
    refused(split.post(split.ra_tls(), &s), "statement-rejected");

    // F5: a valid RA key asking for more than the template gives.
    let ca_true = csr("CN=sub", |b| {
        b.dns("sub.example.net").basic_constraints(true, true)
    });
    let any_eku = csr("CN=any", |b| {
        b.dns("any.example.net")
            .extended_key_usage(&[der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37.0")])
    });
    let outside = csr("CN=dc", |b| b.dns("dc.corp.example.com"));
    let bound_outside = Some(policy::Binding {
        template: Some("device".into()),
        subject: Some("CN=dc".into()),
        sans: vec!["dns:dc.corp.example.com".into()],
    });
    for (what, csr, binding) in [
        ("cA=TRUE", ca_true, None),
        ("anyExtendedKeyUsage", any_eku, None),
        ("names outside the template", outside, bound_outside),
    ] {
        let s = statement_with(&signer, &ra_cert, csr, "device", binding, t, t + 300);
        let (status, body) = split.post(split.ra_tls(), &s).unwrap();
        assert!(
            status >= 400 && body.contains("policy-refused"),
            "{what}: {status} {body}"
        );
    }
    // Validity comes from the template: the certificate issued above has 30 days.
    let issued: serde_json::Value = serde_json::from_str(&first).unwrap();
    let days =
        (issued["not_after"].as_i64().unwrap() - issued["not_before"].as_i64().unwrap()) / 86_400;
    assert!(days <= 31, "{days} days");
    assert_eq!(split.issued_at_ca(), 2, "nothing issued by any attack");

    // Handshake allow-list: no certificate, or a foreign self-signed one (same CN as the RA).
    assert!(split.post(split.tls(None), &valid).is_err());
    let foreign = rcgen::generate_simple_self_signed(vec!["ra1".into()]).unwrap();
    let foreign_cert = split.dir.path().join("foreign.pem");
    let foreign_key = split.dir.path().join("foreign.key");
    std::fs::write(&foreign_cert, foreign.cert.pem()).unwrap();
    std::fs::write(&foreign_key, foreign.signing_key.serialize_pem()).unwrap();
    assert!(
        split
            .post(split.tls(Some((&foreign_cert, &foreign_key))), &valid)
            .is_err()
    );
    if common::require_tool("openssl") {
        let out = Command::new("openssl")
            .args([
                "s_client",
                // With TLS 1.3 the server's "certificate required" alert comes after the
                // client's Finished: wait for it instead of quitting at stdin's end.
                "-ign_eof",
                "-connect",
                &split.ca_addr.to_string(),
                "-CAfile",
            ])
            .arg(split.ca_dir.join("certs/ca.pem"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("certificate required") || text.contains("alert"),
            "{text}"
        );
        assert!(!text.contains("HTTP/1.1"), "{text}");
    }

    // F2: the RA revoked at the CA: its TLS certificate leaves the allow-list, enrollment fails.
    run(&[
        "ca",
        "revoke-ra",
        "--data-dir",
        split.ca_dir.to_str().unwrap(),
        "--name",
        "ra1",
    ]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        split.post(split.ra_tls(), &valid).is_err(),
        "revoked RA completed a handshake"
    );
    assert!(
        enroll(
            &split.scep_url,
            &split.challenge(),
            "CN=dev4",
            &["dev4.example.net"]
        )
        .is_err()
    );
    assert_eq!(split.issued_at_ca(), 2);
    drop(split.ra);
}

fn write_pem(path: &Path, der: &[u8]) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    std::fs::write(
        path,
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
    )
    .unwrap();
}

fn serial_of(der: &[u8]) -> String {
    let serial = scep::parse_certificate_lenient(der).unwrap().serial;
    let start = serial.iter().position(|b| *b != 0).unwrap_or(0);
    hex::encode(&serial[start..])
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn scepd_output(args: &[&str]) -> (bool, String) {
    let out = Command::new(SCEPD)
        .args(args)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

impl Split {
    fn base_url(&self) -> String {
        self.scep_url.trim_end_matches("/scep").to_owned()
    }

    fn logs(&self) -> String {
        format!(
            "RA: {}\nCA: {}",
            std::fs::read_to_string(self.dir.path().join("ra.stderr")).unwrap_or_default(),
            std::fs::read_to_string(self.dir.path().join("ca.stderr")).unwrap_or_default()
        )
    }

    /// Enrolls `name` through the RA; the certificate DER, a PEM file of it and the
    /// challenge spent.
    fn enrolled(&self, name: &str) -> (Vec<u8>, PathBuf, String) {
        let challenge = self.challenge();
        let der = enroll(
            &self.scep_url,
            &challenge,
            &format!("CN={name}"),
            &[&format!("{name}.example.net")],
        )
        .unwrap_or_else(|f| panic!("enrollment failed: {f:?}\n{}", self.logs()));
        let pem = self.dir.path().join(format!("{name}.pem"));
        write_pem(&pem, &der);
        (der, pem, challenge)
    }

    /// The CRL the RA serves at /crl, checked against the CA certificate with openssl; its
    /// text.
    fn crl_text(&self) -> String {
        let reply = scep_client::http::http_get(&format!("{}/crl", self.base_url())).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        let path = self.dir.path().join("ra.crl");
        std::fs::write(&path, &reply.body).unwrap();
        let ca = self.ca_dir.join("certs/ca.pem");
        let (ok, text) = openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            path.to_str().unwrap(),
            "-CAfile",
            ca.to_str().unwrap(),
            "-noout",
            "-text",
        ]);
        assert!(ok && text.contains("verify OK"), "{text}");
        text
    }

    /// `openssl ocsp` against the RA's /ocsp for `leaf`, the answer verified with the CA
    /// certificate.
    fn ocsp(&self, leaf: &Path) -> String {
        let ca = self.ca_dir.join("certs/ca.pem");
        let (_, out) = openssl(&[
            "ocsp",
            "-issuer",
            ca.to_str().unwrap(),
            "-cert",
            leaf.to_str().unwrap(),
            "-url",
            &format!("{}/ocsp", self.base_url()),
            "-CAfile",
            ca.to_str().unwrap(),
            "-VAfile",
            ca.to_str().unwrap(),
        ]);
        assert!(out.contains("Response verify OK"), "{out}");
        out
    }
}

/// The CRL shows the serial (openssl prints it in upper case).
fn crl_lists(crl_text: &str, serial: &str) -> bool {
    crl_text
        .to_ascii_lowercase()
        .contains(&format!("serial number: {serial}"))
}

#[test]
fn split_deployment_revocation_is_decided_at_the_ca_and_served_by_the_ra() {
    if !common::require_tool("openssl") {
        return;
    }
    let split = Split::start();
    let ra_s = split.ra_dir.to_str().unwrap();
    let ca_s = split.ca_dir.to_str().unwrap();
    let (lost, lost_pem, lost_challenge) = split.enrolled("lost");
    let (kept, kept_pem, _) = split.enrolled("kept");
    let lost_serial = serial_of(&lost);
    let kept_serial = serial_of(&kept);

    // Statement version 2: the CA's audit entry records what the RA checked - the
    // challenge's audit id (never the challenge), the bound names, the requester.
    let audit = common::block_on(split.ca_store().audit_events(1000)).unwrap();
    let issued = audit
        .iter()
        .find(|r| r.kind == "certificate-issued" && r.subject == lost_serial)
        .unwrap_or_else(|| panic!("{audit:?}"));
    let challenge_id = {
        use sha2::Digest;
        store::challenge_audit_id(&sha2::Sha256::digest(lost_challenge.as_bytes()).into())
    };
    assert!(
        issued.detail.contains(&format!("challenge {challenge_id}"))
            && issued.detail.contains("requester certificate SHA-256 ")
            && issued.detail.contains("source \"127.0.0.1")
            && issued.actor == "ra:ra1",
        "{issued:?}"
    );
    assert!(
        !audit.iter().any(|r| r.detail.contains(&lost_challenge)),
        "the challenge itself never reaches the CA's audit"
    );

    // The CA recorded what it issued: the CA host lists and shows it.
    let list = run(&["cert", "list", "--data-dir", ca_s]);
    assert!(
        list.contains(&lost_serial) && list.contains(&kept_serial),
        "{list}"
    );
    let show = run(&["cert", "show", "--data-dir", ca_s, &lost_serial]);
    assert!(show.contains("CN=lost") && show.contains("valid"), "{show}");

    // Before any revocation: an empty CRL from the CA, served by the RA; OCSP says good.
    assert!(!crl_lists(&split.crl_text(), &lost_serial));
    assert!(split.ocsp(&lost_pem).contains(": good"));

    // Revoked on the RA host: the CA commits it first (its audit names the RA and who asked).
    let out = run(&[
        "cert",
        "revoke",
        "--data-dir",
        ra_s,
        &lost_serial,
        "--reason",
        "keyCompromise",
    ]);
    assert!(out.contains("revoked"), "{out}");
    let show = run(&["cert", "show", "--data-dir", ca_s, &lost_serial]);
    assert!(show.contains("revoked (keyCompromise)"), "CA: {show}");
    let show = run(&["cert", "show", "--data-dir", ra_s, &lost_serial]);
    assert!(show.contains("revoked (keyCompromise)"), "RA: {show}");
    let audit = common::block_on(split.ca_store().audit_events(1000)).unwrap();
    assert!(
        audit.iter().any(|r| r.kind == "certificate-revoked"
            && r.actor.starts_with("ra:ra1 (")
            && r.subject == lost_serial),
        "{audit:?}"
    );
    // At once in the RA's CRL (fetched from the CA after the revocation) and in OCSP.
    let crl = split.crl_text();
    assert!(crl_lists(&crl, &lost_serial), "{crl}");
    assert!(crl.to_lowercase().contains("key compromise"), "{crl}");
    assert!(!crl_lists(&crl, &kept_serial), "{crl}");
    let out = split.ocsp(&lost_pem);
    assert!(out.contains(": revoked"), "{out}");
    assert!(split.ocsp(&kept_pem).contains(": good"));
    // A second revocation is refused, the first stands.
    let (ok, out) = scepd_output(&[
        "cert",
        "revoke",
        "--data-dir",
        ra_s,
        &lost_serial,
        "--reason",
        "superseded",
    ]);
    assert!(!ok && out.contains("already revoked"), "{out}");

    // GetCRL over SCEP on the RA carries the CA's current CRL.
    let served = scep_client::http::http_get(&format!("{}/crl", split.base_url()))
        .unwrap()
        .body;
    let inner = get_crl(&split.scep_url);
    assert!(
        inner.windows(served.len()).any(|w| w == served.as_slice()),
        "GetCRL must carry the CA's current CRL"
    );

    // Revoked on the CA host with its own CLI: OCSP through the RA knows at once, the RA's
    // CRL within remote_ca.crl_max_age (1 s here).
    run(&[
        "cert",
        "revoke",
        "--data-dir",
        ca_s,
        &kept_serial,
        "--reason",
        "cessationOfOperation",
    ]);
    assert!(split.ocsp(&kept_pem).contains(": revoked"));
    std::thread::sleep(Duration::from_secs(2));
    let crl = split.crl_text();
    assert!(
        crl_lists(&crl, &kept_serial) && crl_lists(&crl, &lost_serial),
        "{crl}"
    );

    // An RA may not revoke a certificate of a template it is not authorised for: ra1 has
    // "device"; a "vpn" certificate (issued through another RA) stays valid.
    let vpn_serial = "7e57000000000000000000000000abcd";
    let ca_store = split.ca_store();
    common::block_on(async {
        ca_store
            .create_ra_registration(store::NewRaRegistration {
                name: "ra2".into(),
                templates: vec!["vpn".into()],
                code_sha256: [2; 32],
                code_expires_at: now() + 3600,
                created_at: now(),
            })
            .await
            .unwrap();
        ca_store
            .claim_statement(&[0x5a; 32], &[0x5b; 32], "ra2", now())
            .await
            .unwrap();
        ca_store
            .finish_statement_issued(
                &[0x5a; 32],
                &store::StatementIssuance {
                    serial_hex: vpn_serial.into(),
                    certificate_der: lost.clone(),
                    subject_key_sha256: [9; 32],
                    subject: "CN=vpn1".into(),
                    not_before: now() - 60,
                    not_after: now() + 86_400,
                    template: "vpn".into(),
                    transaction_id: "vpn-tx".into(),
                    issued_at: now(),
                    audit: store::AuditEvent {
                        at: now(),
                        kind: store::AuditKind::CertificateIssued,
                        actor: "ra:ra2".into(),
                        detail: "a vpn certificate".into(),
                    },
                },
            )
            .await
            .unwrap();
    });
    let (ok, out) = scepd_output(&[
        "cert",
        "revoke",
        "--data-dir",
        ra_s,
        vpn_serial,
        "--reason",
        "keyCompromise",
    ]);
    assert!(
        !ok && out.contains("template-not-authorized"),
        "{out}\n{}",
        split.logs()
    );
    let show = run(&["cert", "show", "--data-dir", ca_s, vpn_serial]);
    assert!(show.contains("status:       valid"), "{show}");
    // An unknown serial is reported as such.
    let (ok, out) = scepd_output(&[
        "cert",
        "revoke",
        "--data-dir",
        ra_s,
        "0bad",
        "--reason",
        "keyCompromise",
    ]);
    assert!(!ok && out.contains("no certificate with serial"), "{out}");
}

/// GetCRL (messageType 22) through the RA: the decrypted content.
fn get_crl(url: &str) -> Vec<u8> {
    use scep_client::{ClientKey, PkcsReqBuilder, get_ca_cert, pki_operation_post};
    let bundle = get_ca_cert(url).unwrap();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = scep_client::self_signed_certificate(&key, "CN=crl-reader").unwrap();
    let ca_subject = scep::parse_certificate_lenient(&bundle.ca)
        .unwrap()
        .subject_der;
    let query = scep::build_message_data(&scep::MessageData::IssuerAndSerial {
        issuer_der: ca_subject,
        serial: vec![1],
    })
    .unwrap();
    let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, query)
        .unwrap()
        .message_type(Some("22"));
    let reply = pki_operation_post(url, &builder.build().unwrap()).unwrap();
    let rep = scep::parse_cert_rep(&reply.body).unwrap();
    assert_eq!(
        rep.pki_status,
        Some(scep::PkiStatus::Success),
        "{:?}",
        rep.fail_info_text
    );
    scep_client::decrypt_envelope(rep.content.as_deref().unwrap(), &key, &cert).unwrap()
}

/// A real third-party client through the split deployment: micromdm's scepclient (SHA-1 and
/// single DES only, hence the loud opt-in on both hosts: the RA decrypts its envelope, the CA
/// accepts its SHA-1 CSR signature) enrolls through `scepd ra`, the certificate is signed by
/// `scepd ca` and verifies with openssl.
#[test]
fn scepclient_enrolls_through_the_ra_and_the_ca() {
    if !common::require_tool("scepclient") || !common::require_tool("openssl") {
        return;
    }
    let split = Split::start_with(&[(
        "# insecure_single_des = false",
        "insecure_single_des = true",
    )]);
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("scepclient")
        .current_dir(work.path())
        .args([
            "-server-url",
            &split.scep_url,
            "-challenge",
            &split.challenge(),
        ])
        .args([
            "-private-key",
            "device.key",
            "-certificate",
            "device.pem",
            "-cn",
            "router1",
        ])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && log.contains("pkiStatus=SUCCESS"),
        "scepclient failed:\n{log}\n{}",
        split.logs()
    );
    let cert = work.path().join("device.pem");
    let verdict = common::openssl_verify(&split.ca_dir.join("certs/ca.pem"), &cert);
    assert!(verdict.contains("OK"), "{verdict}");
    let text = common::openssl_text(&cert);
    assert!(text.contains("CN = router1"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    // Signed by the CA process, recorded there, and the RA holds no CA key.
    assert_eq!(split.issued_at_ca(), 1);
    let list = run(&["cert", "list", "--data-dir", split.ca_dir.to_str().unwrap()]);
    assert!(
        list.contains("CN=router1") && list.contains("1 certificate(s)"),
        "{list}"
    );
    assert!(!split.ra_dir.join("keys/ca-signing.key").exists());
}

/// `scepd doctor` on each side: each host holds only its own keys, the registration listener
/// is flagged while open, the link's TLS identities are checked, the RA reaches the CA.
#[test]
fn doctor_checks_each_side_of_the_split_deployment() {
    let split = Split::start();
    let ca_s = split.ca_dir.to_str().unwrap();
    let ra_s = split.ra_dir.to_str().unwrap();

    let (ok, out) = scepd_output(&["doctor", "--data-dir", ca_s]);
    assert!(ok, "{out}");
    for expected in [
        "CA host (scepd ca)",
        "no RA signing key on the CA host",
        "no RA decryption key on the CA host",
        "CA service TLS key",
        "RA ra1 TLS client certificate: valid for",
        "audit chain intact",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert!(
        out.lines().any(|l| l.starts_with("WARN")
            && l.contains("registration listener open")
            && l.contains("no RA awaiting registration")),
        "{out}"
    );
    assert!(!out.contains("share a host"), "{out}");

    let (ok, out) = scepd_output(&["doctor", "--data-dir", ra_s]);
    assert!(ok, "{out}");
    for expected in [
        "RA host (scepd ra)",
        "no CA signing key on the RA host",
        "RA TLS client key",
        "RA TLS client certificate",
        "answers this RA over mutual TLS",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }

    // A CA key copied to the RA host, an RA key left on the CA host: failures.
    for (from, to, file, expected) in [
        (
            &split.ca_dir,
            &split.ra_dir,
            "keys/ca-signing.key",
            "CA signing key",
        ),
        (
            &split.ra_dir,
            &split.ca_dir,
            "keys/ra-signing.key",
            "RA signing key",
        ),
        (
            &split.ra_dir,
            &split.ca_dir,
            "keys/ra-agent.key",
            "RA enrollment-agent key",
        ),
    ] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
        let (ok, out) = scepd_output(&["doctor", "--data-dir", to.to_str().unwrap()]);
        assert!(
            !ok && out
                .lines()
                .any(|l| l.starts_with("FAIL") && l.contains(expected)),
            "{expected}: {out}"
        );
        std::fs::remove_file(to.join(file)).unwrap();
    }

    // A pending RA is named; with the CA down the RA's doctor warns instead of passing.
    run(&[
        "ca",
        "register-ra",
        "--data-dir",
        ca_s,
        "--name",
        "ra2",
        "--templates",
        "vpn",
    ]);
    let (_, out) = scepd_output(&["doctor", "--data-dir", ca_s]);
    assert!(out.contains("for 1 RA(s) awaiting registration"), "{out}");
    drop(split._ca);
    let (ok, out) = scepd_output(&["doctor", "--data-dir", ra_s]);
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with("WARN") && l.contains("could not be reached")),
        "{out}"
    );
}

/// The admin API of the RA revokes through the CA; with the CA down, nothing is revoked and
/// the administrator is told so (503), never a success.
#[test]
fn the_ra_admin_api_revokes_through_the_ca_and_fails_closed_without_it() {
    let split = Split::start();
    let ra_s = split.ra_dir.to_str().unwrap();
    let (first, _, _) = split.enrolled("api-first");
    let (second, _, _) = split.enrolled("api-second");
    let (first, second) = (serial_of(&first), serial_of(&second));
    let admin_line = split
        .ra
        .lines
        .iter()
        .find(|l| l.starts_with("scepd admin listening"))
        .unwrap_or_else(|| panic!("{:?}", split.ra.lines));
    let client = common::admin::Https::new(
        address(admin_line, "https://"),
        &split.ra_dir.join("admin-tls/admin.pem"),
    );
    let token = run(&["user", "token", "admin", "--data-dir", ra_s]);
    let authorization = format!("Bearer {}", token.trim());
    let revoke = |serial: &str| {
        client.post_json(
            &format!("/admin/api/v1/certificates/{serial}/revoke"),
            &[("Authorization", &authorization)],
            &serde_json::json!({ "reason": "keyCompromise" }),
        )
    };
    let done = revoke(&first);
    assert_eq!(done.status, 200, "{}\n{}", done.body, split.logs());
    assert!(
        run(&[
            "cert",
            "list",
            "--revoked",
            "--data-dir",
            split.ca_dir.to_str().unwrap()
        ])
        .contains(&first)
    );

    // The CA host goes away.
    let mut split = split;
    let _ = split._ca.child.kill();
    let _ = split._ca.child.wait();
    let refused = revoke(&second);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused.body.contains("nothing was revoked"),
        "{}",
        refused.body
    );
    let shown = client.get(
        &format!("/admin/api/v1/certificates/{second}"),
        &[("Authorization", &authorization)],
    );
    assert_eq!(shown.json()["status"], "valid", "{}", shown.body);
}

/// Both hosts keep their keys in PKCS#11 tokens (SoftHSM): the CA key in the CA's token, the
/// enrollment-agent and CEP-encryption keys in the RA's; no such key file exists on either
/// host, and a device enrolls through them.
#[test]
fn both_hosts_keep_their_keys_in_pkcs11_tokens() {
    if !common::require_tool(common::SOFTHSM_MODULE) || !common::require_tool("softhsm2-util") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (conf, pin_file) = common::softhsm_token(dir.path(), "scepd-ca", "730452918");
    let (_, _) = common::softhsm_token(dir.path(), "scepd-ra", "730452918");
    let env = [("SOFTHSM2_CONF", conf.as_str())];
    let pin = pin_file.to_str().unwrap();
    let hsm = |token: &'static str| {
        vec![
            "--hsm-module",
            common::SOFTHSM_MODULE,
            "--hsm-token",
            token,
            "--hsm-pin-file",
            pin,
        ]
    };
    let ca_dir = dir.path().join("ca");
    let ra_dir = dir.path().join("ra");
    let (ca_s, ra_s) = (ca_dir.to_str().unwrap(), ra_dir.to_str().unwrap());
    let mut init_ca = vec!["init", "--mode", "ca", "--data-dir", ca_s];
    init_ca.extend(hsm("scepd-ca"));
    run_env(&init_ca, &env);
    append(&ca_dir.join("scepd.toml"), TEMPLATES);
    let code = run_env(
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
        &env,
    );
    let _ca = spawn_env(
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
        &env,
    );
    let registration = address(&_ca.lines[0], "https://");
    let ca_addr = address(_ca.lines.last().unwrap(), "https://");
    let fingerprint =
        ca::fingerprint_sha256(&common::certificate_der(&ca_dir.join("certs/ca.pem")));
    let ca_url = format!("https://{ca_addr}");
    let registration_url = format!("https://{registration}");
    let mut init_ra = vec![
        "init",
        "--mode",
        "ra",
        "--data-dir",
        ra_s,
        "--ca-url",
        &ca_url,
        "--ca-registration-url",
        &registration_url,
        "--ca-fingerprint",
        &fingerprint,
    ];
    init_ra.extend(hsm("scepd-ra"));
    let code = code.trim().to_owned();
    run_env(
        &init_ra,
        &[env[0], ("SCEPD_REGISTRATION_CODE", code.as_str())],
    );
    append(&ra_dir.join("scepd.toml"), TEMPLATES);
    let ra = spawn_env(
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
        &env,
    );
    let scep_url = format!(
        "http://{}/scep",
        address(ra.lines.last().unwrap(), "http://")
    );

    for (host, key) in [
        (&ca_dir, "keys/ca-signing.key"),
        (&ra_dir, "keys/ra-signing.key"),
        (&ra_dir, "keys/ra-agent.key"),
        (&ra_dir, "keys/ra-encryption.key"),
    ] {
        assert!(!host.join(key).exists(), "{key} exists as a file");
    }
    let challenge = run_env(&["challenge", "issue", "--data-dir", ra_s], &env);
    let der = enroll(
        &scep_url,
        challenge.trim(),
        "CN=hsm-split",
        &["hsm-split.example.net"],
    )
    .unwrap_or_else(|f| {
        panic!(
            "{f:?}\nRA: {}\nCA: {}",
            std::fs::read_to_string(dir.path().join("ra.stderr")).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("ca.stderr")).unwrap_or_default()
        )
    });
    let pem = dir.path().join("hsm-split.pem");
    write_pem(&pem, &der);
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &format!("{ca_s}/certs/ca.pem"),
        pem.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
}

/// The registration protocol (docs/ra-ca-protocol.md): an RA sends an enrollment-agent key and
/// the CA then trusts only that key's certificate for its statements; an RA of an earlier
/// version sends none and its signing certificate counter-signs; an agent key that is also
/// another of the RA's keys is refused.
#[test]
fn registration_certifies_the_agent_key_and_refuses_one_shared_with_another_role() {
    use base64::Engine;
    let split = Split::start();
    let ca_s = split.ca_dir.to_str().unwrap();
    let code = |name: &str| {
        let args = ["ca", "register-ra", "--data-dir", ca_s, "--name", name];
        let mut args = args.to_vec();
        args.extend(["--templates", "device"]);
        run(&args).trim().to_owned()
    };
    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    let rsa = |role| keys::software::SoftwareKey::generate_rsa(role, 2048).unwrap();
    let signing = rsa(KeyRole::RaSigning);
    let encryption = rsa(KeyRole::RaDecryption);
    let tls = keys::software::SoftwareKey::generate_ec_p256(KeyRole::RaAgent).unwrap();
    let agent = keys::software::SoftwareKey::generate_ec_p256(KeyRole::RaAgent).unwrap();
    let request = |code: String, agent_spki: Option<&[u8]>| {
        let mut request = serde_json::json!({
            "version": 1,
            "code": code,
            "signing_spki": b64(signing.public_key_spki_der()),
            "encryption_spki": b64(encryption.public_key_spki_der()),
            "tls_spki": b64(tls.public_key_spki_der()),
        });
        if let Some(spki) = agent_spki {
            request["agent_spki"] = b64(spki).into();
        }
        request
    };
    let counter_signing = |name: &str| {
        let registry = common::block_on(split.ca_store().ra_registrations()).unwrap();
        let ra = registry.into_iter().find(|r| r.name == name).unwrap();
        ra.certificates.map(|c| c.signing)
    };
    let der_of = |answer: &serde_json::Value, field: &str| {
        let text = answer[field].as_str().unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    };

    // The agent key is the signing key: refused, nothing registered, the code still unused.
    let shared = request(code("ra-shared"), Some(signing.public_key_spki_der()));
    let (status, body) = split.register(&shared);
    assert!(
        status >= 400 && body.contains("distinct"),
        "{status}: {body}"
    );
    assert_eq!(counter_signing("ra-shared"), None);

    // With an agent key: its certificate is the one the registry trusts for statements.
    let (status, body) =
        split.register(&request(code("ra-new"), Some(agent.public_key_spki_der())));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let agent_certificate = der_of(&answer, "agent_certificate");
    assert_ne!(agent_certificate, der_of(&answer, "signing_certificate"));
    let parsed = scep::parse_certificate_lenient(&agent_certificate).unwrap();
    assert_eq!(parsed.spki_der, agent.public_key_spki_der());
    assert_eq!(counter_signing("ra-new"), Some(agent_certificate));

    // Without one (an RA of an earlier version): no agent certificate; the signing one counts.
    let (status, body) = split.register(&request(code("ra-old"), None));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(answer.get("agent_certificate").is_none(), "{body}");
    assert_eq!(
        counter_signing("ra-old"),
        Some(der_of(&answer, "signing_certificate"))
    );
}
