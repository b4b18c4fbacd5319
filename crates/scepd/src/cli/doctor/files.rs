//! Checks of the key and certificate files every kind of host runs: a key file's mode, a
//! certificate's remaining lifetime, the enrollment agent.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use der::Decode;
use keys::keystore;
use keys::pem;
use x509_cert::Certificate;

use super::finding::{Finding, Severity, finding};
use config::{Config, KeyBackend};

/// The enrollment agent (RA host or all-in-one): a separate key counter-signs, or the data
/// directory predates it and the reply-signing key does that job too.
pub fn agent_findings(dir: &Path, config: &Config, now: i64) -> Vec<Finding> {
    let keys = &config.keys;
    match keystore::agent_location(&config.key_locations()) {
        Err(e) => vec![finding("keys.agent", Severity::Fail, e.to_string())],
        Ok(None) => vec![finding(
            "keys.agent",
            Severity::Warn,
            "no separate enrollment-agent key: the RA signing key that signs replies to devices also counter-signs requests for the CA (a data directory made before scepd had one; `scepd ra renew` adds one)",
        )],
        Ok(Some(_)) => {
            let mut found = vec![finding(
                "keys.agent",
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

pub fn key_file(what: &str, path: &Path) -> Finding {
    private_file("keys.file_mode", what, path)
}

/// A file holding a secret that is not a key (passphrase, PIN, shared secret, password,
/// database): 0600 or stricter, as a key.
pub fn secret_file(what: &str, path: &Path) -> Finding {
    private_file("secrets.file_mode", what, path)
}

fn private_file(id: &'static str, what: &str, path: &Path) -> Finding {
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => finding(
            id,
            Severity::Fail,
            format!(
                "{what} {}: mode {:o}, group or others can read it",
                path.display(),
                meta.permissions().mode() & 0o777
            ),
        ),
        Ok(_) => finding(
            id,
            Severity::Pass,
            format!("{what} {}: mode 0600 or stricter", path.display()),
        ),
        Err(e) => finding(
            id,
            Severity::Fail,
            format!("{what} {}: {e}", path.display()),
        ),
    }
}

pub fn certificate_lifetime(what: &str, path: &Path, now: i64, min_days: i64) -> Finding {
    let der = match pem::read_certificate(path) {
        Ok(d) => d,
        Err(e) => return finding("certs.lifetime", Severity::Fail, format!("{what}: {e}")),
    };
    let certificate = match Certificate::from_der(&der) {
        Ok(c) => c,
        Err(e) => {
            return finding(
                "certs.lifetime",
                Severity::Fail,
                format!("{what} {}: {e}", path.display()),
            );
        }
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
            "certs.lifetime",
            Severity::Fail,
            format!("{what} {}: expired", path.display()),
        )
    } else if left_days < min_days {
        finding(
            "certs.lifetime",
            Severity::Warn,
            format!(
                "{what} {}: expires in {left_days} days; renew it",
                path.display()
            ),
        )
    } else {
        finding(
            "certs.lifetime",
            Severity::Pass,
            format!("{what} {}: valid for {left_days} more days", path.display()),
        )
    }
}
