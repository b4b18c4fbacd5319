//! `scepd doctor` for the two sides of a split deployment: each host holds only its own keys,
//! the CA's registration listener is open only while an RA is expected, the TLS identities of
//! the link are not about to expire, and the RA reaches the CA.

use std::path::Path;
use std::time::Duration;

use super::files::{agent_findings, certificate_lifetime, key_file};
use super::finding::{Finding, Severity, finding};
use config::deployment::Mode;
use config::{Config, KeyBackend};

/// How long the RA waits for the CA when the doctor tries the link.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The checks of a `ca` or `ra` data directory (the caller has loaded `config`).
pub async fn run(dir: &Path, config: &Config, now: i64) -> Vec<Finding> {
    let mut findings = Vec::new();
    match config.deployment.mode {
        Mode::Ca => ca_host(dir, config, now, &mut findings).await,
        Mode::Ra => ra_host(dir, config, now, &mut findings).await,
        Mode::AllInOne => {}
    }
    findings
}

/// A key file that must not be on this host: one key, one host.
fn absent(what: &str, path: &Path, host: &str) -> Finding {
    if path.exists() {
        finding(
            "deployment.key_placement",
            Severity::Fail,
            format!(
                "{what} {} is on the {host} host: it belongs on the other host only; move it off",
                path.display()
            ),
        )
    } else {
        finding(
            "deployment.key_placement",
            Severity::Pass,
            format!("no {what} on the {host} host ({} absent)", path.display()),
        )
    }
}

async fn ca_host(dir: &Path, config: &Config, now: i64, findings: &mut Vec<Finding>) {
    let keys = &config.keys;
    findings.push(finding(
        "deployment.mode",
        Severity::Pass,
        "split deployment, CA host (scepd ca): the RA runs on another host",
    ));
    if keys.backend == KeyBackend::Software {
        findings.push(key_file("CA signing key", &dir.join(&keys.ca_key)));
    }
    findings.push(absent(
        "RA signing key",
        &dir.join(&keys.ra_signing_key),
        "CA",
    ));
    findings.push(absent(
        "RA decryption key",
        &dir.join(&keys.ra_encryption_key),
        "CA",
    ));
    let agent_key = keys
        .ra_agent_key
        .clone()
        .unwrap_or_else(|| crate::ceremony::init::DEFAULT_AGENT_KEY.into());
    findings.push(absent(
        "RA enrollment-agent key",
        &dir.join(agent_key),
        "CA",
    ));
    findings.push(key_file(
        "CA service TLS key",
        &dir.join(&config.ca_service.tls_key),
    ));
    findings.push(certificate_lifetime(
        "CA certificate",
        &dir.join(&keys.ca_certificate),
        now,
        365,
    ));
    findings.push(certificate_lifetime(
        "CA service TLS certificate",
        &dir.join(&config.ca_service.tls_certificate),
        now,
        30,
    ));
    let Some(store) = database(config, dir, findings).await else {
        return;
    };
    findings.extend(super::crl::findings(&store, now).await);
    let ras = match store.ra_registrations().await {
        Ok(ras) => ras,
        Err(e) => {
            findings.push(finding(
                "ca_service.registry",
                Severity::Fail,
                format!("RA registry: {e}"),
            ));
            return;
        }
    };
    let pending = ras
        .iter()
        .filter(|ra| ra.certificates.is_none() && ra.revoked_at.is_none())
        .filter(|ra| ra.code_expires_at > now)
        .count();
    match (config.ca_service.registration_listen, pending) {
        (None, _) => findings.push(finding(
            "ca_service.registration_listener",
            Severity::Pass,
            "RA registration listener disabled (ca_service.registration_listen absent)",
        )),
        (Some(addr), 0) => findings.push(finding(
            "ca_service.registration_listener",
            Severity::Warn,
            format!(
                "RA registration listener open on {addr} with no RA awaiting registration: remove ca_service.registration_listen until `scepd ca register-ra` announces the next one"
            ),
        )),
        (Some(addr), n) => findings.push(finding(
            "ca_service.registration_listener",
            Severity::Warn,
            format!(
                "RA registration listener open on {addr} for {n} RA(s) awaiting registration: disable it (remove ca_service.registration_listen) once they have registered"
            ),
        )),
    }
    let active: Vec<_> = ras.iter().filter(|ra| ra.is_active()).collect();
    if active.is_empty() {
        findings.push(finding(
            "ca_service.active_ras",
            Severity::Warn,
            "no active RA is registered: nothing can enroll through this CA",
        ));
    }
    for ra in active {
        if let Some(certificates) = &ra.certificates {
            findings.push(lifetime_of(
                &format!("RA {} TLS client certificate", ra.name),
                &certificates.tls,
                now,
                30,
            ));
        }
    }
}

async fn ra_host(dir: &Path, config: &Config, now: i64, findings: &mut Vec<Finding>) {
    let keys = &config.keys;
    findings.push(finding(
        "deployment.mode",
        Severity::Pass,
        format!(
            "split deployment, RA host (scepd ra): statements go to {}",
            config.remote_ca.url
        ),
    ));
    if keys.backend == KeyBackend::Software {
        findings.push(key_file("RA signing key", &dir.join(&keys.ra_signing_key)));
        findings.push(key_file(
            "RA decryption key",
            &dir.join(&keys.ra_encryption_key),
        ));
    }
    findings.extend(agent_findings(dir, config, now));
    findings.push(absent("CA signing key", &dir.join(&keys.ca_key), "RA"));
    findings.push(key_file(
        "RA TLS client key",
        &dir.join(&config.remote_ca.tls_key),
    ));
    for (what, path, min_days) in [
        ("CA certificate", &keys.ca_certificate, 365),
        ("RA signing certificate", &keys.ra_signing_certificate, 30),
        (
            "RA encryption certificate",
            &keys.ra_encryption_certificate,
            30,
        ),
        (
            "RA TLS client certificate",
            &config.remote_ca.tls_certificate,
            30,
        ),
    ] {
        findings.push(certificate_lifetime(what, &dir.join(path), now, min_days));
    }
    findings.push(reach_ca(dir, config).await);
    // The RA serves the admin listener: the same checks as an all-in-one host.
    findings.extend(super::admin::findings(dir, config));
    if let Some(store) = database(config, dir, findings).await {
        findings.extend(super::admin::account_findings(&store).await);
    }
}

/// Why the CA could not be reached from the RA.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    #[error(transparent)]
    Certificates(#[from] keys::pem::PemError),
    #[error(transparent)]
    Client(#[from] crate::services::ra_service::RaServiceError),
    #[error(transparent)]
    Get(#[from] edge::https_client::ClientError),
    #[error("the CA answered HTTP {0}")]
    Status(u16),
}

/// Fetches the CA's CRL over the mutual-TLS link: the handshake proves the RA is still on the
/// CA's allow-list.
async fn reach_ca(dir: &Path, config: &Config) -> Finding {
    let attempt = async {
        let read = |p: &Path| keys::pem::read_certificate(&dir.join(p));
        let ca_certificate = read(&config.keys.ca_certificate)?;
        let tls_certificate = read(&config.remote_ca.tls_certificate)?;
        let mut config = config.clone();
        config.remote_ca.timeout = REACH_TIMEOUT;
        let client =
            crate::services::ra_service::ca_client(dir, &config, &ca_certificate, tls_certificate)?;
        let (status, _) = client
            .get(request::link::CRL_PATH, request::link::MAX_CRL_LEN)
            .await?;
        if status == 200 {
            Ok(())
        } else {
            Err(Unreachable::Status(status))
        }
    };
    match attempt.await {
        Ok(()) => finding(
            "deployment.ca_reachable",
            Severity::Pass,
            format!(
                "the CA at {} answers this RA over mutual TLS",
                config.remote_ca.url
            ),
        ),
        Err(e) => finding(
            "deployment.ca_reachable",
            Severity::Warn,
            format!(
                "the CA at {} could not be reached from here ({e}): enrollment fails until it can",
                config.remote_ca.url
            ),
        ),
    }
}

/// Opens the database and checks the audit chain; the store if it opened.
async fn database(
    config: &Config,
    dir: &Path,
    findings: &mut Vec<Finding>,
) -> Option<store::Store> {
    match store::Store::open(&config.database_url(dir)).await {
        Ok(store) => {
            findings.push(finding(
                "store.database",
                Severity::Pass,
                "database opens and its schema is current",
            ));
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
            Some(store)
        }
        Err(e) => {
            findings.push(finding(
                "store.database",
                Severity::Fail,
                format!("database: {e}"),
            ));
            None
        }
    }
}

fn lifetime_of(what: &str, der: &[u8], now: i64, min_days: i64) -> Finding {
    use der::Decode;
    let not_after = match x509_cert::Certificate::from_der(der) {
        Ok(c) => c
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs(),
        Err(e) => return finding("certs.lifetime", Severity::Fail, format!("{what}: {e}")),
    };
    let left_days = (i64::try_from(not_after).unwrap_or(i64::MAX) - now) / 86_400;
    match left_days {
        d if d < 0 => finding("certs.lifetime", Severity::Fail, format!("{what}: expired")),
        d if d < min_days => finding(
            "certs.lifetime",
            Severity::Warn,
            format!("{what}: expires in {d} days; register the RA again"),
        ),
        d => finding(
            "certs.lifetime",
            Severity::Pass,
            format!("{what}: valid for {d} more days"),
        ),
    }
}
