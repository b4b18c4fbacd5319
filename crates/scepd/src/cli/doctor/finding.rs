//! What a check found: the check's stable id, a severity and a sentence for the operator.
//!
//! Ids name the check, not the file or object it looked at: one check (`keys.file_mode`) may
//! report several findings. Monitoring keys on them, so an id, once released, keeps its meaning.

use std::fmt;

/// Every check id doctor reports, each documented in docs/security-practices.md ("Doctor
/// checks"). A new check adds its id here and there; an id is never reused for another meaning.
pub const IDS: &[&str] = &[
    "config.parse",
    "config.insecure_opt_in",
    "host.root",
    "host.data_dir_mode",
    "keys.file_mode",
    "secrets.file_mode",
    "keys.protection",
    "keys.load",
    "keys.distinct",
    "keys.agent",
    "pkcs11.token",
    "pkcs11.key",
    "ca.certificate",
    "ca.path_len",
    "ca.name_constraints",
    "ca.eku_constraint",
    "ca.key_strength",
    "templates.build",
    "templates.references",
    "templates.ca_eku",
    "endpoints.build",
    "endpoints.template",
    "endpoints.trust_roots",
    "endpoints.signed_key",
    "intune.client_secret",
    "certs.lifetime",
    "certs.profile",
    "scep.exposure",
    "scep.tls",
    "crl.freshness",
    "crl.coverage",
    "admin.listener",
    "admin.initial_password",
    "admin.accounts",
    "store.database",
    "store.audit_chain",
    "deployment.mode",
    "deployment.separate_ca",
    "deployment.key_placement",
    "deployment.ca_reachable",
    "ca_service.registration_listener",
    "ca_service.active_ras",
    "ca_service.registry",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Pass,
    Warn,
    Fail,
}

impl Severity {
    /// The name in `--format json`: `pass`, `warn`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
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

#[derive(Debug, Clone)]
pub struct Finding {
    /// The check's stable id, `area.check` (e.g. `ca.path_len`, `keys.file_mode`).
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
}

pub fn finding(id: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
    Finding {
        id,
        severity,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::IDS;

    #[test]
    fn every_id_is_documented_once_in_the_practices() {
        let practices = include_str!("../../../../../docs/security-practices.md");
        let (_, checks) = practices.split_once("## Doctor checks").unwrap_or(("", ""));
        for id in IDS {
            assert!(
                checks.contains(&format!("`{id}`")),
                "{id} is not in docs/security-practices.md, Doctor checks"
            );
            assert_eq!(IDS.iter().filter(|i| *i == id).count(), 1, "{id} twice");
        }
    }
}
