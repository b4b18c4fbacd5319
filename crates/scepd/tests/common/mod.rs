//! Shared harness for the end-to-end tests: a real `scepd serve` process on 127.0.0.1 with its
//! own data directory, and helpers to mint challenges and inspect what was recorded.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod admin;
pub mod browser;
pub mod certmonger;
pub mod intune;
pub mod recording_proxy;

pub const SCEPD: &str = env!("CARGO_BIN_EXE_scepd");

/// The device template with a renewal window as long as its validity, so tests can renew a
/// certificate right after enrolling (the default window opens 30 days before expiry).
pub const RENEW_ANY_TIME: &str = "[[templates]]\nname = \"device\"\nextended_key_usages = [\"clientAuth\"]\nrenewal_window_days = 365\n";

/// A running `scepd serve`, killed when dropped.
pub struct Server {
    pub dir: tempfile::TempDir,
    data: PathBuf,
    pub addr: SocketAddr,
    /// The admin listener (TLS), unless `admin.enabled = false`.
    pub admin_addr: Option<SocketAddr>,
    /// SCEP over HTTPS (`[scep] tls_listen`), when configured.
    pub tls_addr: Option<SocketAddr>,
    child: Child,
    stderr_log: PathBuf,
}

impl Server {
    /// `scepd init`, then `extra_config` appended to scepd.toml, then `scepd serve`.
    pub fn start(extra_config: &str) -> Server {
        Self::start_with_env(extra_config, &[])
    }

    /// `start` with extra environment for `scepd serve` (SCEPD_LOG, say).
    pub fn start_with_env(extra_config: &str, env: &[(&str, &str)]) -> Server {
        let (dir, data) = initialised_data_dir();
        if !extra_config.is_empty() {
            let path = data.join("scepd.toml");
            let mut text = std::fs::read_to_string(&path).unwrap();
            text = merge_config(&text, extra_config);
            std::fs::write(&path, text).unwrap();
        }
        Self::serve_with_env(dir, data, env)
    }

    /// Starts `scepd serve` on a data directory that may not exist yet (the embedded default).
    pub fn serve(dir: tempfile::TempDir, data: PathBuf) -> Server {
        Self::serve_with_env(dir, data, &[])
    }

    /// `serve` with extra environment (a SoftHSM configuration, a key passphrase).
    pub fn serve_with_env(dir: tempfile::TempDir, data: PathBuf, env: &[(&str, &str)]) -> Server {
        let stderr_log = dir.path().join("scepd.stderr");
        let mut child = Command::new(SCEPD)
            .args(["serve", "--data-dir"])
            .arg(&data)
            .args([
                "--scep-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .env("SCEPD_LOG", "info,sqlx=warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // `serve` may print the ceremony's fingerprints first; the listening line says where.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let mut admin_addr = None;
        let mut tls_addr = None;
        let line = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("scepd listening") => break line,
                Ok(line) if line.starts_with("scepd TLS listening") => {
                    tls_addr = line
                        .split("https://")
                        .nth(1)
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|a| a.parse().ok());
                }
                Ok(line) if line.starts_with("scepd admin listening") => {
                    admin_addr = line
                        .split("https://")
                        .nth(1)
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|a| a.parse().ok());
                }
                Ok(_) => continue,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "scepd did not report where it listens; stderr:\n{}",
                        std::fs::read_to_string(&stderr_log).unwrap_or_default()
                    );
                }
            }
        };
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        Server {
            dir,
            data,
            addr,
            admin_addr,
            tls_addr,
            child,
            stderr_log,
        }
    }

    /// Stops the server and serves the same data directory again (keys and certificates are
    /// read at start), keeping the temporary directory alive.
    pub fn restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let data = self.data.clone();
        drop(self);
        Server::serve(dir, data)
    }

    /// The server process, for what /proc says of it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (resident, peak resident) memory of the server in KiB, from /proc/PID/status.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {status}"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    pub fn url(&self) -> String {
        format!("http://{}/scep", self.addr)
    }

    pub fn ndes_url(&self) -> String {
        format!("http://{}/certsrv/mscep/mscep.dll", self.addr)
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.data_dir().join("certs/ca.pem")
    }

    /// An HTTPS client of the admin listener that trusts its development certificate.
    pub fn admin(&self) -> admin::Https {
        admin::Https::new(
            self.admin_addr.expect("admin listener"),
            &self.data.join("admin-tls/admin.pem"),
        )
    }

    /// The password `scepd init` generated for the first pki-admin, `admin`.
    pub fn initial_admin_password(&self) -> String {
        std::fs::read_to_string(self.data.join("initial-admin-password"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Runs `scepd ARGS --data-dir DATA` and returns stdout; panics with stderr on failure.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(SCEPD)
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scepd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit; its exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// `scepd challenge issue` with extra arguments; returns the printed challenge.
    pub fn challenge(&self, args: &[&str]) -> String {
        let out = Command::new(SCEPD)
            .args(["challenge", "issue", "--data-dir"])
            .arg(self.data_dir())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "challenge issue failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "challenge issue must print exactly one line: {text:?}"
        );
        lines[0].to_owned()
    }

    pub fn store(&self) -> store::Store {
        let url = format!(
            "sqlite://{}?mode=rw",
            self.data_dir().join("scepd.db").display()
        );
        block_on(store::Store::open(&url)).unwrap()
    }

    pub fn certificate_count(&self) -> i64 {
        block_on(self.store().count_certificates()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends `extra` (TOML) to the generated file, replacing a section header that already
/// exists so each section appears once.
/// A temporary directory holding `data`, a data directory `scepd init` made on the embedded
/// defaults.
pub fn initialised_data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = Command::new(SCEPD)
        .args(["init", "--data-dir"])
        .arg(&data)
        .env("SCEPD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "scepd init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    (dir, data)
}

fn merge_config(base: &str, extra: &str) -> String {
    let mut out = String::new();
    let mut current_extra_sections = Vec::new();
    for line in extra.lines() {
        if line.trim_start().starts_with('[') {
            current_extra_sections.push(line.trim().to_owned());
        }
    }
    for line in base.lines() {
        if current_extra_sections.iter().any(|s| s == line.trim()) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(extra);
    out.push('\n');
    out
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Whether an external tool exists; in CI (CI=true) a missing tool is a failure, not a skip.
pub fn require_tool(path: &str) -> bool {
    if Path::new(path).exists() || which(path) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{path} is required in CI (.ci/run installs it)");
    }
    eprintln!("SKIPPED: {path} is not installed (run .ci/run or apt install it)");
    false
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// `openssl verify -CAfile ca cert` succeeds, and pkilint's RFC 5280 linter reports nothing
/// at WARNING or above for the certificate: every certificate the suite verifies is linted.
pub fn openssl_verify(ca: &Path, cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl verify failed: {text}");
    pkilint(cert);
    text
}

/// `openssl cms -verify` accepts a CertRep (or any signed SCEP reply) with its default purpose,
/// S/MIME signing, and `ca_pem` as the only trust anchor: the chain from the signer's
/// certificate in the reply to the CA is verified, not skipped (no `-noverify`, no
/// `-purpose any`, no system store).
pub fn openssl_cms_verify(ca_pem: &Path, reply: &[u8]) {
    if let Err(refusal) = openssl_cms_verdict(ca_pem, reply) {
        panic!("openssl cms -verify refused the reply: {refusal}");
    }
}

/// [`openssl_cms_verify`] with the CA given as DER.
pub fn openssl_cms_verify_der(ca_der: &[u8], reply: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem_certificate(ca_der)).unwrap();
    openssl_cms_verify(&ca, reply);
}

/// What `openssl cms -verify` says of `reply` (see [`openssl_cms_verify`]): Ok, or its
/// error output.
pub fn openssl_cms_verdict(ca_pem: &Path, reply: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reply.der");
    std::fs::write(&path, reply).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-no-CApath",
            "-no-CAstore",
            "-in",
        ])
        .arg(&path)
        .arg("-CAfile")
        .arg(ca_pem)
        .arg("-out")
        .arg(dir.path().join("content.der"))
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Lints a PEM certificate with pkilint (`pip install pkilint`; .ci/run installs it).
pub fn pkilint(cert: &Path) {
    let probe = Command::new("python3")
        .args(["-c", "import pkilint"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("pkilint is required in CI (.ci/run installs it)");
        }
        eprintln!("SKIPPED: pkilint is not installed (pip install pkilint)");
        return;
    }
    let out = Command::new("python3")
        .args(["-m", "pkilint.bin.lint_pkix_cert", "lint", "-s", "WARNING"])
        .arg(cert)
        .output()
        .unwrap();
    let findings =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "pkilint findings for {}:\n{findings}",
        cert.display()
    );
}

/// `openssl x509 -text` of a certificate file.
pub fn openssl_text(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl x509 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts the template `device` shows in an issued certificate (checked with openssl).
pub fn assert_device_template(text: &str) {
    assert!(
        text.contains("TLS Web Client Authentication"),
        "no clientAuth EKU:\n{text}"
    );
    assert!(
        !text.contains("TLS Web Server Authentication"),
        "serverAuth present:\n{text}"
    );
    assert!(
        !text.contains("Any Extended Key Usage"),
        "anyEKU present:\n{text}"
    );
    assert!(text.contains("CA:FALSE"), "no CA:FALSE:\n{text}");
    assert!(
        text.contains("Digital Signature"),
        "no digitalSignature:\n{text}"
    );
    let not_before = field(text, "Not Before:");
    let not_after = field(text, "Not After :");
    let days = (parse_openssl_time(&not_after) - parse_openssl_time(&not_before)) / 86_400;
    // 365 days from now, with notBefore back-dated by the clock-skew allowance.
    assert!(
        (365..=366).contains(&days),
        "validity {days} days ({not_before} .. {not_after})"
    );
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("{name} not in:\n{text}"))
}

/// Parses openssl's "Nov 24 20:30:02 2026 GMT" into unix seconds.
fn parse_openssl_time(value: &str) -> i64 {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[0]).unwrap() as i64 + 1;
    let day: i64 = parts[1].parse().unwrap();
    let hms: Vec<i64> = parts[2].split(':').map(|x| x.parse().unwrap()).collect();
    let year: i64 = parts[3].parse().unwrap();
    days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A device enrolls with a fresh challenge through scep-client (POST, AES-256, SHA-256):
/// the issued certificate, or the failInfo of the refusal.
pub fn enroll(server: &Server, subject: &str, dns: &[&str]) -> Result<Vec<u8>, scep::FailInfo> {
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    enroll_with(server, &server.challenge(&[]), &key, subject, dns)
}

/// `enroll` with a given challenge and key.
pub fn enroll_with(
    server: &Server,
    challenge: &str,
    key: &scep_client::ClientKey,
    subject: &str,
    dns: &[&str],
) -> Result<Vec<u8>, scep::FailInfo> {
    enroll_at(&server.url(), challenge, key, subject, dns)
}

/// `enroll_with` at a SCEP URL of the server's (a named endpoint's, `…/scep/NAME`). The reply
/// must pass `openssl cms -verify` with its default purpose.
pub fn enroll_at(
    url: &str,
    challenge: &str,
    key: &scep_client::ClientKey,
    subject: &str,
    dns: &[&str],
) -> Result<Vec<u8>, scep::FailInfo> {
    enroll_checking(url, challenge, key, subject, dns, ReplySigner::Current)
}

/// `enroll_with` against a data directory whose RA signing certificate still has the profile
/// scepd gave it before the separate enrollment agent (Certificate Request Agent EKU): it
/// enrolls, and OpenSSL's S/MIME purpose refuses the reply, which is why doctor warns.
pub fn enroll_with_legacy_reply_signer(
    server: &Server,
    challenge: &str,
    key: &scep_client::ClientKey,
    subject: &str,
) -> Result<Vec<u8>, scep::FailInfo> {
    enroll_checking(
        &server.url(),
        challenge,
        key,
        subject,
        &[],
        ReplySigner::Legacy,
    )
}

/// Which verdict `openssl cms -verify` (default purpose) must give the reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplySigner {
    Current,
    Legacy,
}

fn enroll_checking(
    url: &str,
    challenge: &str,
    key: &scep_client::ClientKey,
    subject: &str,
    dns: &[&str],
    signer: ReplySigner,
) -> Result<Vec<u8>, scep::FailInfo> {
    use scep_client::{CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post};
    let bundle = get_ca_cert(url).unwrap();
    let self_signed = scep_client::self_signed_certificate(key, subject).unwrap();
    let mut csr = CsrBuilder::new(subject).challenge(challenge);
    for name in dns {
        csr = csr.dns(name);
    }
    let builder = PkcsReqBuilder::new(
        key,
        &self_signed,
        &bundle.ra_encryption,
        csr.build(key).unwrap(),
    )
    .unwrap();
    let reply = pki_operation_post(url, &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The CA GetCACert served is the CA of the data directory (tests check that elsewhere).
    match signer {
        ReplySigner::Current => openssl_cms_verify_der(&bundle.ca, &reply.body),
        ReplySigner::Legacy => {
            let dir = tempfile::tempdir().unwrap();
            let ca = dir.path().join("ca.pem");
            std::fs::write(&ca, pem_certificate(&bundle.ca)).unwrap();
            let refusal = openssl_cms_verdict(&ca, &reply.body).unwrap_err();
            assert!(
                refusal.contains("unsuitable certificate purpose"),
                "{refusal}"
            );
        }
    }
    let outcome =
        scep_client::read_cert_rep(&reply.body, key, &self_signed, builder.get_sender_nonce())
            .unwrap();
    match outcome.status {
        scep::PkiStatus::Success => Ok(outcome.certificate.unwrap()),
        scep::PkiStatus::Failure(info) => Err(info),
        other => panic!("unexpected status {other:?}"),
    }
}

/// Writes DER as PEM next to the server's data, for openssl.
/// The DER of the (first) certificate in a PEM file.
pub fn certificate_der(path: &Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_vec()
}

pub fn write_pem(server: &Server, name: &str, der: &[u8]) -> PathBuf {
    let path = server.dir.path().join(name);
    std::fs::write(&path, pem_certificate(der)).unwrap();
    path
}

fn pem_certificate(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_lines(der)
    )
}

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    b64.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A secret in a file of mode 0600.
pub fn secret_file(dir: &Path, name: &str, value: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A fresh SoftHSM2 token in `dir`; returns the SOFTHSM2_CONF path and the PIN file.
pub fn softhsm_token(dir: &Path, label: &str, pin: &str) -> (String, PathBuf) {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            "5647382910",
            "--pin",
            pin,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (conf.display().to_string(), secret_file(dir, "pin", pin))
}
