//! `scepd doctor`: checks a data directory against the practices scepd is built on and says,
//! line by line, what passes, what is a risk and what is wrong. Exit status 1 on any failure.
//! Every finding carries the stable id of its check (docs/security-practices.md maps them to
//! the seed's practices); `--format json` gives monitoring one document.

pub mod admin;
pub mod ca_constraints;
pub mod certificate_profiles;
pub mod crl;
pub mod endpoint_build;
pub mod endpoints;
pub mod files;
pub mod finding;
pub mod host;
pub mod host_keys;
pub mod json;
pub mod key_protection;
pub mod pkcs11;
pub mod scep_listener;
pub mod split;
pub mod templates;

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
    /// text: one line per finding; json: one document for monitoring,
    /// {"checks":[{"id","severity","message"}...],"failures":N}.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
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
    match args.format {
        Format::Text => {
            for f in &findings {
                println!("{:4}  {}", f.severity, f.message);
            }
        }
        Format::Json => println!("{}", json::document(&findings)),
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
            findings.push(finding(
                "config.parse",
                Severity::Fail,
                format!("configuration: {e}"),
            ));
            return findings;
        }
    };
    findings.push(finding(
        "config.parse",
        Severity::Pass,
        "configuration parses, no unknown keys",
    ));

    let insecure = config.insecure_settings();
    if insecure.is_empty() {
        findings.push(finding(
            "config.insecure_opt_in",
            Severity::Pass,
            "no insecure opt-in (legacy crypto, NDES insecure challenge modes) is enabled",
        ));
    }
    for warning in insecure {
        findings.push(finding("config.insecure_opt_in", Severity::Fail, warning));
    }
    findings.extend(host::findings(dir, &config));
    findings.extend(templates::findings(dir, &config));
    findings.extend(endpoints::findings(dir, &config, now));
    findings.extend(endpoint_build::findings(dir, &config));
    findings.extend(ca_constraints::findings(dir, &config));
    findings.extend(key_protection::findings(dir, &config));
    findings.extend(pkcs11::findings(dir, &config));
    if config.deployment.mode != config::deployment::Mode::Ca {
        findings.extend(scep_listener::findings(dir, &config, now));
    }
    findings.extend(certificate_profiles::findings(dir, &config));
    if config.deployment.mode != config::deployment::Mode::AllInOne {
        findings.extend(split::run(dir, &config, now).await);
        return findings;
    }

    let keys = &config.keys;
    if keys.backend == KeyBackend::Software {
        for (what, path) in [
            ("CA signing key", &keys.ca_key),
            ("RA signing key", &keys.ra_signing_key),
            ("RA decryption key", &keys.ra_encryption_key),
        ] {
            findings.push(key_file(what, &dir.join(path)));
        }
    }
    if let Err(e) = keystore::check_distinct_locations(&config.key_locations()) {
        findings.push(finding("keys.distinct", Severity::Fail, e.to_string()));
    }
    findings.extend(agent_findings(dir, &config, now));
    findings.push(finding(
        "deployment.separate_ca",
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
                "store.database",
                Severity::Pass,
                "database opens and its schema is current",
            ));
            findings.extend(admin::account_findings(&store).await);
            match store.verify_audit_chain().await {
                Ok(n) => findings.push(finding(
                    "store.audit_chain",
                    Severity::Pass,
                    format!("audit chain intact ({n} entries)"),
                )),
                Err(e) => findings.push(finding(
                    "store.audit_chain",
                    Severity::Fail,
                    format!("audit chain: {e}"),
                )),
            }
            findings.extend(crl::findings(&store, now).await);
        }
        Err(e) => findings.push(finding(
            "store.database",
            Severity::Fail,
            format!("database: {e}"),
        )),
    }
    findings
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
    ca::ca_key_strength_warning(&spki).map(|w| finding("ca.key_strength", Severity::Warn, w))
}
