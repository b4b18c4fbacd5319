//! `scepd doctor`: checks a data directory against the practices scepd is built on and says,
//! line by line, what passes, what is a risk and what is wrong. Exit status 1 on any failure.

pub mod admin;
pub mod certificate_profiles;
pub mod endpoints;
pub mod files;
pub mod finding;
pub mod split;

use std::path::{Path, PathBuf};

use clap::Args;
use der::Decode;
use keys::keystore;
use keys::pem;
use x509_cert::Certificate;

use config::{Config, KeyBackend};
use files::{agent_findings, certificate_lifetime, key_file};
use finding::{Finding, Severity, finding};

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long, env = "SCEPD_DATA_DIR")]
    data_dir: PathBuf,
}

/// `scepd doctor` found problems: the number of checks that failed.
#[derive(Debug, thiserror::Error)]
#[error("doctor: {failures} check(s) failed")]
pub struct ChecksFailed {
    pub failures: usize,
}

/// Prints every finding; an error when any check failed (the exit status is 1).
pub async fn command(args: DoctorArgs) -> Result<(), ChecksFailed> {
    let findings = run(&args.data_dir, crate::clock::unix_now()).await;
    for f in &findings {
        println!("{:4}  {}", f.severity, f.message);
    }
    let failures = findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count();
    if failures > 0 {
        return Err(ChecksFailed { failures });
    }
    Ok(())
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
    findings.extend(endpoints::findings(dir, &config, now));
    findings.extend(certificate_profiles::findings(dir, &config));
    if config.deployment.mode != config::deployment::Mode::AllInOne {
        findings.extend(split::run(dir, &config, now).await);
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
    if let Err(e) = keystore::check_distinct_locations(&config.key_locations()) {
        findings.push(finding(Severity::Fail, e.to_string()));
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

    findings.extend(admin::findings(dir, &config));

    match store::Store::open(&config.database_url(dir)).await {
        Ok(store) => {
            findings.push(finding(
                Severity::Pass,
                "database opens and its schema is current",
            ));
            findings.extend(admin::account_findings(&store).await);
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
