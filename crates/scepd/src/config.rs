//! `scepd.toml`: every setting has a safe default; unknown keys are refused so a typo never
//! silently turns a protection off.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const CONFIG_FILE: &str = "scepd.toml";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub scep: ScepSection,
    pub database: DatabaseSection,
    pub keys: KeysSection,
    pub pkcs11: Pkcs11Section,
    pub challenges: ChallengeSection,
    pub crypto: CryptoSection,
    pub limits: LimitsSection,
    /// Templates besides (or replacing) the built-in `device`.
    pub templates: Vec<crate::templates::TemplateConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScepSection {
    /// Where SCEP is served (plain HTTP: devices need it; SCEP content is signed and encrypted).
    pub listen: SocketAddr,
}

impl Default for ScepSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `sqlite://…` or `postgres://…`; empty means `scepd.db` in the data directory.
    pub url: String,
}

/// Where the three private keys live.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KeyBackend {
    /// PKCS#8 files: encrypted with a passphrase, or (embedded dev default only) in clear.
    #[default]
    Software,
    /// A PKCS#11 token (an HSM); the keys never leave it.
    Pkcs11,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    pub backend: KeyBackend,
    /// File holding the passphrase of encrypted key files (else `SCEPD_KEY_PASSPHRASE`).
    pub passphrase_file: Option<PathBuf>,
    pub ca_key: PathBuf,
    pub ca_certificate: PathBuf,
    /// Issuers above an imported CA (PEM bundle, nearest first), served by GetCACert.
    pub ca_chain: Option<PathBuf>,
    pub ra_signing_key: PathBuf,
    pub ra_signing_certificate: PathBuf,
    pub ra_encryption_key: PathBuf,
    pub ra_encryption_certificate: PathBuf,
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            backend: KeyBackend::Software,
            passphrase_file: None,
            ca_key: "keys/ca-signing.key".into(),
            ca_certificate: "certs/ca.pem".into(),
            ca_chain: None,
            ra_signing_key: "keys/ra-signing.key".into(),
            ra_signing_certificate: "certs/ra-signing.pem".into(),
            ra_encryption_key: "keys/ra-encryption.key".into(),
            ra_encryption_certificate: "certs/ra-encryption.pem".into(),
        }
    }
}

/// The PKCS#11 token holding the keys when `keys.backend = "pkcs11"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Section {
    pub module: PathBuf,
    pub token_label: String,
    /// File holding the user PIN (else `SCEPD_PKCS11_PIN`); never on the command line.
    pub pin_file: Option<PathBuf>,
    pub ca_key_label: String,
    pub ra_signing_key_label: String,
    pub ra_encryption_key_label: String,
}

impl Default for Pkcs11Section {
    fn default() -> Self {
        Self {
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "scepd".into(),
            pin_file: None,
            ca_key_label: "scepd-ca-signing".into(),
            ra_signing_key_label: "scepd-ra-signing".into(),
            ra_encryption_key_label: "scepd-ra-encryption".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengeSection {
    /// Lifetime of a challenge when `--ttl` is not given.
    #[serde(with = "humantime_serde_compat")]
    pub default_ttl: Duration,
    /// The longest lifetime anyone may ask for.
    #[serde(with = "humantime_serde_compat")]
    pub max_ttl: Duration,
}

impl Default for ChallengeSection {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(60 * 60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Lockout of sources that guess challenges or probe the envelope encryption.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Secret-dependent failures a source may have within `failure_window`.
    pub max_failed_attempts: u32,
    #[serde(with = "humantime_serde_compat")]
    pub failure_window: Duration,
    /// How long a source that reached the limit is answered HTTP 429.
    #[serde(with = "humantime_serde_compat")]
    pub lockout: Duration,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_failed_attempts: 10,
            failure_window: Duration::from_secs(10 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CryptoSection {
    pub legacy_crypto: bool,
    pub insecure_single_des: bool,
}

/// Durations written as "60m", "1h 30m".
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if config.limits.max_failed_attempts == 0 || config.limits.lockout.is_zero() {
            return Err(ConfigError::Invalid {
                path,
                message: "limits.max_failed_attempts and limits.lockout must be above zero: the lockout cannot be turned off".into(),
            });
        }
        if config.challenges.default_ttl > config.challenges.max_ttl {
            return Err(ConfigError::Invalid {
                path,
                message: "challenges.default_ttl is longer than challenges.max_ttl".into(),
            });
        }
        Ok(config)
    }

    pub fn database_url(&self, data_dir: &Path) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", data_dir.join("scepd.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// Opens (and migrates) the configured database.
    pub async fn open_store(&self, data_dir: &Path) -> Result<store::Store, String> {
        store::Store::open(&self.database_url(data_dir))
            .await
            .map_err(|e| format!("opening the database: {e}"))
    }

    /// Warnings an operator must see at every start: each insecure opt-in that is on.
    pub fn insecure_settings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.crypto.legacy_crypto {
            warnings.push("crypto.legacy_crypto = true: 3DES and SHA-1 are accepted");
        }
        if self.crypto.insecure_single_des {
            warnings.push(
                "crypto.insecure_single_des = true: single DES (56-bit, broken), 3DES and SHA-1 are accepted; challenges in such requests can be recovered by anyone who captures them",
            );
        }
        warnings
    }
}

/// The database of a data directory, for commands that need nothing else.
pub async fn open_store(data_dir: &Path) -> Result<store::Store, String> {
    Config::load(data_dir)
        .map_err(|e| e.to_string())?
        .open_store(data_dir)
        .await
}

/// The file `scepd init` writes: every key, commented, at its default.
pub const DEFAULT_CONFIG_TEXT: &str = r#"# scepd configuration. Every key is shown at its default, commented out.
# Unknown keys are refused at start, so a typo never silently disables a protection.

[scep]
# Address for SCEP (GetCACaps, GetCACert, PKIOperation) at /scep and
# /certsrv/mscep/mscep.dll. Plain HTTP: devices need it, and SCEP messages are
# themselves signed and encrypted. Put a reverse proxy with TLS in front for the internet.
# listen = "127.0.0.1:8080"

[database]
# sqlite://PATH?mode=rwc or postgres://USER@HOST/DB. Empty: scepd.db in the data directory.
# url = ""

[keys]
# "software": PKCS#8 files, mode 0600 (refused otherwise), encrypted with a passphrase read
# from passphrase_file or the SCEPD_KEY_PASSPHRASE environment variable. Unencrypted files
# are accepted only as the embedded development default, with a warning at every start.
# "pkcs11": the keys live in the token of the [pkcs11] section and never leave it.
# backend = "software"
# passphrase_file = "/etc/scepd/key-passphrase"
# Paths are relative to the data directory. Three keys, three jobs: no key does two.
# ca_key = "keys/ca-signing.key"
# ca_certificate = "certs/ca.pem"
# ca_chain = "certs/ca-chain.pem"                       # only for a CA imported under an existing PKI
# ra_signing_key = "keys/ra-signing.key"                # enrollment agent (Certificate Request Agent EKU)
# ra_signing_certificate = "certs/ra-signing.pem"
# ra_encryption_key = "keys/ra-encryption.key"          # CEP encryption: decrypts SCEP envelopes
# ra_encryption_certificate = "certs/ra-encryption.pem"

[pkcs11]
# Used when keys.backend = "pkcs11". The PIN comes from pin_file or SCEPD_PKCS11_PIN, never
# from the command line. Keys must be CKA_SENSITIVE and not CKA_EXTRACTABLE.
# module = "/usr/lib/softhsm/libsofthsm2.so"
# token_label = "scepd"
# pin_file = "/etc/scepd/pkcs11-pin"
# ca_key_label = "scepd-ca-signing"
# ra_signing_key_label = "scepd-ra-signing"
# ra_encryption_key_label = "scepd-ra-encryption"

[challenges]
# One-time challenge passwords: lifetime when `scepd challenge issue --ttl` is not given,
# and the longest lifetime that may be asked for.
# default_ttl = "60m"
# max_ttl = "24h"

[limits]
# A source (TCP peer address; X-Forwarded-For is never trusted) that gets this many wrong,
# used or expired challenges, or envelopes that do not decrypt, within failure_window is
# answered HTTP 429 for lockout. Other sources are unaffected.
# max_failed_attempts = 10
# failure_window = "10m"
# lockout = "15m"

# Templates decide what a certificate may contain; requests only propose. The built-in
# template "device" (clientAuth, 365 days, dNSName SANs, RSA >= 2048 or P-256/P-384) is always
# there unless a [[templates]] entry named "device" replaces it. A challenge is bound to one
# template (`scepd challenge issue --template NAME`). Every key below is optional except name
# and extended_key_usages; the defaults are the safe ones.
#
# [[templates]]
# name = "vpn"
# extended_key_usages = ["clientAuth"]        # names or dotted OIDs; never anyExtendedKeyUsage
# validity_days = 365                         # from the template only, never from the request
# san_dns = true
# san_ip = false
# san_email = false
# dns_domains = ["vpn.example.net"]           # DNS SANs must be in these domains
# allow_wildcards = false
# ip_ranges = []                              # CIDR, when san_ip = true
# email_domains = []                          # when san_email = true
# subject_attributes = ["CN", "O", "OU", "C", "L", "ST", "serialNumber"]
# require_common_name = false
# subject_patterns = { CN = ["*.vpn.example.net"] }
# common_name_domains = []
# rsa_min_bits = 2048
# rsa_max_bits = 8192
# ec_p256 = true
# ec_p384 = true
# tolerated_request_extensions = []          # accepted in a CSR but never copied
# renewal_window_days = 30
# renewal_grace_days = 0
# renewal_requires_new_key = true
# manual_approval = false                     # requests wait (PENDING) for `scepd request approve`
# aia_ca_issuers_url = "http://pki.example.net/ca.crt"
# ocsp_url = "http://pki.example.net/ocsp"
# crl_distribution_url = "http://pki.example.net/crl"

[crypto]
# Off by default; each logs a warning at every start and fails `scepd doctor`.
# legacy_crypto = false          # also accept 3DES and SHA-1
# insecure_single_des = false    # also accept single DES, and with it 3DES and SHA-1 (micromdm scepclient needs it)
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn the_commented_default_file_parses_to_the_defaults() {
        let config: Config = toml::from_str(DEFAULT_CONFIG_TEXT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.scep.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.challenges.default_ttl, Duration::from_secs(3600));
        assert!(!config.crypto.legacy_crypto && !config.crypto.insecure_single_des);
        assert!(config.insecure_settings().is_empty());
    }

    #[test]
    fn every_default_key_appears_commented_in_the_file() {
        for key in [
            "listen",
            "url",
            "backend",
            "passphrase_file",
            "module",
            "token_label",
            "pin_file",
            "ca_key_label",
            "ca_chain",
            "ra_signing_key_label",
            "ra_encryption_key_label",
            "ca_key",
            "ca_certificate",
            "ra_signing_key",
            "ra_signing_certificate",
            "ra_encryption_key",
            "ra_encryption_certificate",
            "default_ttl",
            "max_ttl",
            "legacy_crypto",
            "max_failed_attempts",
            "failure_window",
            "lockout",
            "insecure_single_des",
        ] {
            assert!(
                DEFAULT_CONFIG_TEXT.contains(&format!("# {key} = ")),
                "{key} missing"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("[crypto]\nlegacy_crypt = true\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("legacy_crypt")));
    }

    #[test]
    fn insecure_options_are_reported() {
        let config: Config =
            toml::from_str("[crypto]\ninsecure_single_des = true\nlegacy_crypto = true\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.insecure_settings().len(), 2);
    }
}
