//! `keys.protection`: software keys at rest. Encrypted under a passphrase they are tolerated
//! (the seed asks for an HSM: a warning); in clear only as the development default.
//!
//! The development default is what `scepd serve` makes in an empty directory and plain `scepd
//! init` makes: the CA `CN=scepd development CA` and every listener on loopback. Its keys are in
//! clear so that a first start needs no secret. Anything that marks a real deployment — a CA
//! named for an organisation or imported with its chain, a listener another host can reach —
//! makes unencrypted keys a failure: they end up in every backup and VM snapshot (the seed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::deployment::Mode;
use config::{Config, KeyBackend};
use keys::keystore;
use keys::software::SoftwareKey;
use zeroize::Zeroizing;

use super::finding::{Finding, Severity, finding};
use super::host_keys;
use crate::ceremony::init::DEVELOPMENT_CA_SUBJECT;

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    if config.keys.backend != KeyBackend::Software {
        return Vec::new();
    }
    let mode = config.deployment.mode;
    let mut clear = Vec::new();
    let mut encrypted = 0;
    for role in host_keys::roles(mode) {
        let Some(file) = host_keys::key_file(config, *role) else {
            continue;
        };
        match at_rest(&dir.join(&file), *role) {
            Some(AtRest::Encrypted) => encrypted += 1,
            Some(AtRest::Clear) => clear.push(file),
            // keys.file_mode and keys.load say why it cannot be read.
            None => {}
        }
    }
    let mut found = vec![protection(&clear, &production_marks(dir, config))];
    if mode == Mode::AllInOne {
        found.push(load(dir, config, encrypted > 0));
    }
    found
}

enum AtRest {
    Encrypted,
    Clear,
}

/// How a key file is kept, told by its PEM label, or for DER by trying to open it without a
/// passphrase; `None` when it cannot be read at all.
fn at_rest(path: &Path, role: keystore::Role) -> Option<AtRest> {
    let bytes = Zeroizing::new(std::fs::read(path).ok()?);
    let text = bytes.trim_ascii_start();
    if text.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Some(AtRest::Encrypted);
    }
    if text.starts_with(b"-----BEGIN ") {
        return Some(AtRest::Clear);
    }
    match SoftwareKey::load(role.key_role(), path) {
        Ok(_) => Some(AtRest::Clear),
        Err(keys::KeyError::PassphraseNeeded { .. }) => Some(AtRest::Encrypted),
        Err(_) => None,
    }
}

fn protection(clear: &[PathBuf], marks: &[String]) -> Finding {
    let id = "keys.protection";
    if clear.is_empty() {
        return finding(
            id,
            Severity::Warn,
            "software keys, PKCS#8 encrypted at rest (scrypt, AES-256): an HSM is strongly recommended (NDES practice: keys in hardware, never in backups or VM snapshots)",
        );
    }
    let files = clear
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if marks.is_empty() {
        finding(
            id,
            Severity::Warn,
            format!(
                "{files} UNENCRYPTED: tolerated only as the development default (the development CA, every listener on loopback); re-run the ceremony with --passphrase-file or an HSM before anything else reaches this service"
            ),
        )
    } else {
        finding(
            id,
            Severity::Fail,
            format!(
                "{files} UNENCRYPTED outside the development default ({}): keys in clear end up in every backup and snapshot; re-run the ceremony with --passphrase-file or an HSM",
                marks.join("; ")
            ),
        )
    }
}

/// What makes this data directory more than the development default.
fn production_marks(dir: &Path, config: &Config) -> Vec<String> {
    let mut marks = Vec::new();
    if let Ok(der) = keys::pem::read_certificate(&dir.join(&config.keys.ca_certificate)) {
        let subject = crate::x509::subject_of(&der);
        if subject != DEVELOPMENT_CA_SUBJECT {
            marks.push(format!(
                "the CA is {subject:?}, not the development CA {DEVELOPMENT_CA_SUBJECT:?}"
            ));
        }
    }
    if config.keys.ca_chain.is_some() {
        marks.push("keys.ca_chain is set: an imported intermediate CA".into());
    }
    for (setting, address) in listeners(config) {
        if !address.ip().is_loopback() {
            marks.push(format!(
                "{setting} = {address} can be reached from other hosts"
            ));
        }
    }
    marks
}

/// The listeners this host opens, by the setting that places them.
fn listeners(config: &Config) -> Vec<(&'static str, SocketAddr)> {
    let mut out = Vec::new();
    match config.deployment.mode {
        Mode::AllInOne | Mode::Ra => {
            out.push(("scep.listen", config.scep.listen));
            if config.admin.enabled {
                out.push(("admin.listen", config.admin.listen));
            }
        }
        Mode::Ca => {
            out.push(("ca_service.listen", config.ca_service.listen));
            if let Some(address) = config.ca_service.registration_listen {
                out.push(("ca_service.registration_listen", address));
            }
        }
    }
    out
}

/// `keys.load` for software keys: encrypted keys need the passphrase the service gets.
fn load(dir: &Path, config: &Config, any_encrypted: bool) -> Finding {
    let locations = config.key_locations();
    if any_encrypted && matches!(keystore::passphrase(dir, &locations), Ok(None)) {
        return finding(
            "keys.load",
            Severity::Warn,
            format!(
                "the encrypted keys cannot be opened here to check them against their certificates: neither keys.passphrase_file nor {} is set for doctor",
                keystore::PASSPHRASE_ENV
            ),
        );
    }
    host_keys::load_finding(dir, config, None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use keys::KeyRole;

    use super::*;

    const CLEAR: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    const ENCRYPTED: &str =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";

    /// A data directory with the default layout: a CA certificate with `subject`, and every
    /// key file with `key_text`.
    fn directory(subject: &str, key_text: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        let certificate = ca::CaProfile::new(subject, 30)
            .unwrap()
            .self_signed(&signer)
            .unwrap();
        keys::pem::write_certificate(&dir.path().join(&config.keys.ca_certificate), &certificate)
            .unwrap();
        for file in [
            &config.keys.ca_key,
            &config.keys.ra_signing_key,
            &config.keys.ra_encryption_key,
        ] {
            let path = dir.path().join(file);
            std::fs::write(&path, key_text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        (dir, config)
    }

    fn protection_of(dir: &Path, config: &Config) -> Finding {
        findings(dir, config)
            .into_iter()
            .find(|f| f.id == "keys.protection")
            .unwrap()
    }

    #[test]
    fn clear_keys_are_a_warning_only_as_the_development_default() {
        let (dir, config) = directory(DEVELOPMENT_CA_SUBJECT, CLEAR);
        let found = protection_of(dir.path(), &config);
        assert_eq!(found.severity, Severity::Warn, "{}", found.message);
        assert!(found.message.contains("UNENCRYPTED"), "{}", found.message);
    }

    #[test]
    fn clear_keys_fail_under_a_named_ca() {
        let (dir, config) = directory("CN=Example SCEP CA,O=Example", CLEAR);
        let found = protection_of(dir.path(), &config);
        assert_eq!(found.severity, Severity::Fail, "{}", found.message);
        assert!(
            found.message.contains("CN=Example SCEP CA"),
            "{}",
            found.message
        );
    }

    #[test]
    fn clear_keys_fail_behind_a_listener_other_hosts_reach() {
        let (dir, mut config) = directory(DEVELOPMENT_CA_SUBJECT, CLEAR);
        config.scep.listen = "0.0.0.0:8080".parse().unwrap();
        let found = protection_of(dir.path(), &config);
        assert_eq!(found.severity, Severity::Fail, "{}", found.message);
        assert!(found.message.contains("scep.listen"), "{}", found.message);

        // The CA host of a split deployment: its own listeners count.
        let (dir, mut config) = directory(DEVELOPMENT_CA_SUBJECT, CLEAR);
        config.deployment.mode = Mode::Ca;
        config.ca_service.registration_listen = Some("192.0.2.1:8445".parse().unwrap());
        let found = protection_of(dir.path(), &config);
        assert_eq!(found.severity, Severity::Fail, "{}", found.message);
        assert!(
            found.message.contains("ca_service.registration_listen"),
            "{}",
            found.message
        );
    }

    #[test]
    fn encrypted_keys_pass_with_the_hsm_recommendation_anywhere() {
        let (dir, mut config) = directory("CN=Example SCEP CA,O=Example", ENCRYPTED);
        config.scep.listen = "0.0.0.0:8080".parse().unwrap();
        let found = protection_of(dir.path(), &config);
        assert_eq!(found.severity, Severity::Warn, "{}", found.message);
        assert!(found.message.contains("HSM"), "{}", found.message);
    }

    #[test]
    fn encrypted_keys_without_a_passphrase_cannot_be_loaded_here_and_say_so() {
        if std::env::var_os(keystore::PASSPHRASE_ENV).is_some() {
            return;
        }
        let (dir, config) = directory(DEVELOPMENT_CA_SUBJECT, ENCRYPTED);
        let load = findings(dir.path(), &config)
            .into_iter()
            .find(|f| f.id == "keys.load")
            .unwrap();
        assert_eq!(load.severity, Severity::Warn, "{}", load.message);
        assert!(load.message.contains("passphrase"), "{}", load.message);

        // Garbage in clear is no key at all: the load fails, naming the file.
        let (dir, config) = directory(DEVELOPMENT_CA_SUBJECT, CLEAR);
        let load = findings(dir.path(), &config)
            .into_iter()
            .find(|f| f.id == "keys.load")
            .unwrap();
        assert_eq!(load.severity, Severity::Fail, "{}", load.message);
    }
}
