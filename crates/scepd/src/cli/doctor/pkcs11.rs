//! `pkcs11.token` and `pkcs11.key`: the configured token opened with the configured PIN source
//! (`pkcs11.pin_file`, else `SCEPD_PKCS11_PIN`), exactly as the service opens it, and each of
//! this host's role keys found in it, sensitive and not extractable (CKA_SENSITIVE,
//! CKA_EXTRACTABLE), usable for its job only. A key that was imported or once extractable
//! passes the service's check but may have a copy outside the HSM: a warning.

use std::path::Path;

use config::deployment::Mode;
use config::{Config, KeyBackend};
use keys::keystore::{KeySource, RoleKey};

use super::finding::{Finding, Severity, finding};
use super::host_keys;

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    if config.keys.backend != KeyBackend::Pkcs11 {
        return Vec::new();
    }
    let token = format!(
        "PKCS#11 token {:?} ({})",
        config.pkcs11.token_label,
        config.pkcs11.module.display()
    );
    let locations = config.key_locations();
    let source = match KeySource::open(dir, &locations, None) {
        Ok(source) => source,
        Err(e) => {
            return vec![finding(
                "pkcs11.token",
                Severity::Fail,
                format!("{token} does not open with the configured PIN source: {e}"),
            )];
        }
    };
    let mut found = vec![finding(
        "pkcs11.token",
        Severity::Pass,
        format!("{token} opens and accepts the configured PIN"),
    )];
    for role in host_keys::roles(config.deployment.mode) {
        match source.key(*role) {
            Ok(Some(RoleKey::Token(key))) => {
                let attributes = key.attributes();
                found.push(key_finding(
                    role.name(),
                    key.label(),
                    Attributes {
                        sensitive: attributes.sensitive,
                        extractable: attributes.extractable,
                        always_sensitive: attributes.always_sensitive,
                        never_extractable: attributes.never_extractable,
                    },
                ));
            }
            // A software key in a token source cannot happen; an absent agent is keys.agent's.
            Ok(Some(RoleKey::Software(_)) | None) => {}
            Err(e) => found.push(finding(
                "pkcs11.key",
                Severity::Fail,
                format!("{} key: {e}", role.name()),
            )),
        }
    }
    if config.deployment.mode == Mode::AllInOne {
        found.push(host_keys::load_finding(dir, config, source.token()));
    }
    found
}

/// What the token says about a key object's confidentiality.
#[derive(Debug, Clone, Copy)]
struct Attributes {
    sensitive: bool,
    extractable: bool,
    always_sensitive: Option<bool>,
    never_extractable: Option<bool>,
}

fn key_finding(role: &str, label: &str, a: Attributes) -> Finding {
    let what = format!("{role} key {label:?}");
    if !a.sensitive || a.extractable {
        // The service refuses such a key when it loads it; said here in case a token reports
        // the attributes differently on a second read.
        return finding(
            "pkcs11.key",
            Severity::Fail,
            format!(
                "{what}: CKA_SENSITIVE={}, CKA_EXTRACTABLE={}: the key can leave the token",
                a.sensitive, a.extractable
            ),
        );
    }
    if a.always_sensitive == Some(false) || a.never_extractable == Some(false) {
        return finding(
            "pkcs11.key",
            Severity::Warn,
            format!(
                "{what}: sensitive and not extractable now, but imported or once extractable (CKA_ALWAYS_SENSITIVE or CKA_NEVER_EXTRACTABLE false): a copy may exist outside the HSM"
            ),
        );
    }
    finding(
        "pkcs11.key",
        Severity::Pass,
        format!("{what}: CKA_SENSITIVE=true, CKA_EXTRACTABLE=false, generated inside the token"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    const GENERATED_INSIDE: Attributes = Attributes {
        sensitive: true,
        extractable: false,
        always_sensitive: Some(true),
        never_extractable: Some(true),
    };

    #[test]
    fn a_key_generated_inside_the_token_passes() {
        let found = key_finding("CA signing", "scepd-ca", GENERATED_INSIDE);
        assert_eq!(found.severity, Severity::Pass, "{}", found.message);
    }

    #[test]
    fn a_key_that_can_leave_the_token_fails() {
        for attributes in [
            Attributes {
                extractable: true,
                ..GENERATED_INSIDE
            },
            Attributes {
                sensitive: false,
                ..GENERATED_INSIDE
            },
        ] {
            let found = key_finding("CA signing", "scepd-ca", attributes);
            assert_eq!(found.severity, Severity::Fail, "{}", found.message);
            assert!(found.message.contains("\"scepd-ca\""), "{}", found.message);
        }
    }

    #[test]
    fn an_imported_key_is_a_warning() {
        let found = key_finding(
            "CA signing",
            "imported-ca",
            Attributes {
                never_extractable: Some(false),
                ..GENERATED_INSIDE
            },
        );
        assert_eq!(found.severity, Severity::Warn, "{}", found.message);
    }

    #[test]
    fn a_token_that_does_not_open_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pin"), "730452918").unwrap();
        std::fs::set_permissions(
            dir.path().join("pin"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let mut config = Config::default();
        config.keys.backend = KeyBackend::Pkcs11;
        config.pkcs11.module = dir.path().join("no-such-module.so");
        config.pkcs11.token_label = "missing-token".into();
        config.pkcs11.pin_file = Some("pin".into());
        let found = findings(dir.path(), &config);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "pkcs11.token");
        assert_eq!(found[0].severity, Severity::Fail, "{}", found[0].message);
        assert!(
            found[0].message.contains("missing-token"),
            "{}",
            found[0].message
        );
    }
}
