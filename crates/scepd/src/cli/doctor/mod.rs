//! `scepd doctor`: checks a data directory against the practices scepd is built on and says,
//! line by line, what passes, what is a risk and what is wrong. Exit status 1 on any failure.

pub mod admin;
pub mod split;

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Args;

use der::Decode;
use x509_cert::Certificate;

use crate::config::{Config, KeyBackend};
use crate::keystore;
use crate::pem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        })
    }
}

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long, env = "SCEPD_DATA_DIR")]
    data_dir: PathBuf,
}

/// Prints every finding; an error when any check failed (the exit status is 1).
pub async fn command(args: DoctorArgs) -> Result<(), String> {
    let findings = run(&args.data_dir, crate::clock::unix_now()).await;
    for f in &findings {
        println!("{:4}  {}", f.severity, f.message);
    }
    let failures = findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count();
    if failures > 0 {
        return Err(format!("doctor: {failures} check(s) failed"));
    }
    Ok(())
}

pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

pub fn finding(severity: Severity, message: impl Into<String>) -> Finding {
    Finding {
        severity,
        message: message.into(),
    }
}

/// Runs every check; never stops at the first problem.
pub async fn run(dir: &Path, now: i64) -> Vec<Finding> {
    let mut findings = Vec::new();
    let config = match Config::load(dir) {
        Ok(c) => c,
        Err(e) => {
            findings.push(finding(Severity::Fail, format!("configuration: {e}")));
            return findings;
        }
    };
    findings.push(finding(
        Severity::Pass,
        "configuration parses, no unknown keys",
    ));

    let insecure = config.insecure_settings();
    if insecure.is_empty() {
        findings.push(finding(
            Severity::Pass,
            "no insecure opt-in (legacy crypto, NDES insecure challenge modes) is enabled",
        ));
    }
    for warning in insecure {
        findings.push(finding(Severity::Fail, warning));
    }
    if config.deployment.mode != crate::config::deployment::Mode::AllInOne {
        findings.extend(crate::cli::doctor::split::run(dir, &config, now).await);
        return findings;
    }

    let keys = &config.keys;
    match keys.backend {
        KeyBackend::Software => {
            for (what, path) in [
                ("CA signing key", &keys.ca_key),
                ("RA signing key", &keys.ra_signing_key),
                ("RA decryption key", &keys.ra_encryption_key),
            ] {
                findings.push(key_file(what, &dir.join(path)));
            }
            findings.push(software_protection(dir, &config));
        }
        KeyBackend::Pkcs11 => findings.push(finding(
            Severity::Pass,
            format!(
                "keys in PKCS#11 token {:?} ({}); sensitivity and extractability are checked at every start",
                config.pkcs11.token_label,
                config.pkcs11.module.display()
            ),
        )),
    }
    if let Err(e) = keystore::check_distinct_locations(&config) {
        findings.push(finding(Severity::Fail, e));
    }
    findings.extend(agent_findings(dir, &config, now));
    findings.push(finding(
        Severity::Warn,
        "RA and CA share a host (all-in-one `scepd serve`): NDES practice is a separate CA host",
    ));

    for (what, path, min_days) in [
        ("CA certificate", &keys.ca_certificate, 365),
        ("RA signing certificate", &keys.ra_signing_certificate, 30),
        (
            "RA encryption certificate",
            &keys.ra_encryption_certificate,
            30,
        ),
    ] {
        findings.push(certificate_lifetime(what, &dir.join(path), now, min_days));
    }

    if let Some(warning) = ca_key_strength(&dir.join(&keys.ca_certificate)) {
        findings.push(warning);
    }

    findings.extend(crate::cli::doctor::admin::findings(dir, &config));

    match store::Store::open(&config.database_url(dir)).await {
        Ok(store) => {
            findings.push(finding(
                Severity::Pass,
                "database opens and its schema is current",
            ));
            findings.extend(crate::cli::doctor::admin::account_findings(&store).await);
            match store.verify_audit_chain().await {
                Ok(n) => findings.push(finding(
                    Severity::Pass,
                    format!("audit chain intact ({n} entries)"),
                )),
                Err(e) => findings.push(finding(Severity::Fail, format!("audit chain: {e}"))),
            }
        }
        Err(e) => findings.push(finding(Severity::Fail, format!("database: {e}"))),
    }
    findings
}

/// Software keys: encrypted at rest is acceptable, in clear is the development default only.
fn software_protection(dir: &Path, config: &Config) -> Finding {
    let encrypted = std::fs::read_to_string(dir.join(&config.keys.ca_key))
        .is_ok_and(|pem| pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    if encrypted {
        finding(
            Severity::Warn,
            "keys are software keys encrypted at rest: an HSM is strongly recommended (NDES practice)",
        )
    } else {
        finding(
            Severity::Warn,
            "keys are UNENCRYPTED software keys (development default): re-run the ceremony with --passphrase-file or an HSM",
        )
    }
}

/// The enrollment agent (RA host or all-in-one): a separate key counter-signs, or the data
/// directory predates it and the reply-signing key does that job too.
pub(crate) fn agent_findings(dir: &Path, config: &Config, now: i64) -> Vec<Finding> {
    let keys = &config.keys;
    match keystore::agent_location(config) {
        Err(e) => vec![finding(Severity::Fail, e)],
        Ok(None) => vec![finding(
            Severity::Warn,
            "no separate enrollment-agent key: the RA signing key that signs replies to devices also counter-signs requests for the CA (a data directory made before scepd had one; `scepd ra renew` adds one)",
        )],
        Ok(Some(_)) => {
            let mut found = vec![finding(
                Severity::Pass,
                "a separate enrollment-agent key counter-signs requests for the CA; the RA signing key only signs replies",
            )];
            if let (KeyBackend::Software, Some(path)) = (keys.backend, &keys.ra_agent_key) {
                found.push(key_file("RA enrollment-agent key", &dir.join(path)));
            }
            if let Some(path) = &keys.ra_agent_certificate {
                found.push(certificate_lifetime(
                    "RA enrollment-agent certificate",
                    &dir.join(path),
                    now,
                    30,
                ));
            }
            found
        }
    }
}

pub(crate) fn key_file(what: &str, path: &Path) -> Finding {
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => finding(
            Severity::Fail,
            format!(
                "{what} {}: mode {:o}, group or others can read it",
                path.display(),
                meta.permissions().mode() & 0o777
            ),
        ),
        Ok(_) => finding(
            Severity::Pass,
            format!("{what} {}: mode 0600 or stricter", path.display()),
        ),
        Err(e) => finding(Severity::Fail, format!("{what} {}: {e}", path.display())),
    }
}

pub(crate) fn certificate_lifetime(what: &str, path: &Path, now: i64, min_days: i64) -> Finding {
    let der = match pem::read_certificate(path) {
        Ok(d) => d,
        Err(e) => return finding(Severity::Fail, format!("{what}: {e}")),
    };
    let certificate = match Certificate::from_der(&der) {
        Ok(c) => c,
        Err(e) => return finding(Severity::Fail, format!("{what} {}: {e}", path.display())),
    };
    let not_after = certificate
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs();
    let left_days = (i64::try_from(not_after).unwrap_or(i64::MAX) - now) / 86_400;
    if left_days < 0 {
        finding(
            Severity::Fail,
            format!("{what} {}: expired", path.display()),
        )
    } else if left_days < min_days {
        finding(
            Severity::Warn,
            format!(
                "{what} {}: expires in {left_days} days; renew it",
                path.display()
            ),
        )
    } else {
        finding(
            Severity::Pass,
            format!("{what} {}: valid for {left_days} more days", path.display()),
        )
    }
}

/// An RSA CA key below the recommended size is allowed (`scepd init --ca-key rsa-2048`, for
/// throughput) but never silently.
fn ca_key_strength(path: &Path) -> Option<Finding> {
    use der::Encode as _;
    let der = pem::read_certificate(path).ok()?;
    let certificate = Certificate::from_der(&der).ok()?;
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    ca::ca_key_strength_warning(&spki).map(|w| finding(Severity::Warn, w))
}
