//! `scepd.toml`: every setting has a safe default; unknown keys are refused so a typo never
//! silently turns a protection off.
#![forbid(unsafe_code)]

pub mod deployment;
mod key_locations;
pub mod mdm;
pub mod templates;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const CONFIG_FILE: &str = "scepd.toml";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub scep: ScepSection,
    /// Connection limits of every listener of this process.
    pub connections: ConnectionsSection,
    pub database: DatabaseSection,
    pub keys: KeysSection,
    pub pkcs11: Pkcs11Section,
    pub challenges: ChallengeSection,
    pub crypto: CryptoSection,
    pub limits: LimitsSection,
    pub admin: AdminSection,
    /// Split deployment (issue 5): which service this directory is for, and its links.
    pub deployment: crate::deployment::DeploymentSection,
    pub ca_service: crate::deployment::CaServiceSection,
    pub remote_ca: crate::deployment::RemoteCaSection,
    /// Templates besides (or replacing) the built-in `device`.
    pub templates: Vec<crate::templates::TemplateConfig>,
    /// Named SCEP endpoints (`/scep/NAME`), each with its template and challenge check.
    pub endpoints: Vec<crate::mdm::EndpointConfig>,
    /// The Intune tenant, for endpoints with `challenge = "intune"`.
    pub intune: Option<crate::mdm::IntuneSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScepSection {
    /// Where SCEP is served over plain HTTP (SCEP content is signed and encrypted, but the
    /// seed wants TLS toward devices: keep it on loopback behind a TLS proxy, or serve
    /// `tls_listen`).
    pub listen: SocketAddr,
    /// Serve plain HTTP on `listen` at all. `false` needs `tls_listen`.
    pub plain_http: bool,
    /// Where SCEP is served over HTTPS (TLS 1.2/1.3, the admin listener's cipher policy).
    pub tls_listen: Option<SocketAddr>,
    /// The HTTPS listener's certificate chain (PEM) and private key (PEM, mode 0600).
    pub tls_certificate: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A TLS reverse proxy fronts `listen`: `scepd doctor` then accepts plain HTTP on a
    /// non-loopback address.
    pub behind_tls_proxy: bool,
}

impl Default for ScepSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            plain_http: true,
            tls_listen: None,
            tls_certificate: None,
            tls_key: None,
            behind_tls_proxy: false,
        }
    }
}

impl ScepSection {
    fn check(&self) -> Result<(), InvalidSetting> {
        let tls_files = (self.tls_certificate.is_some(), self.tls_key.is_some());
        match (self.tls_listen, tls_files) {
            (Some(_), (true, true)) | (None, (false, false)) => {}
            (Some(_), _) => {
                return Err(InvalidSetting(
                    "scep.tls_listen needs scep.tls_certificate and scep.tls_key".into(),
                ));
            }
            (None, _) => {
                return Err(InvalidSetting(
                    "scep.tls_certificate and scep.tls_key are used only with scep.tls_listen"
                        .into(),
                ));
            }
        }
        if !self.plain_http && self.tls_listen.is_none() {
            return Err(InvalidSetting(
                "scep.plain_http = false needs scep.tls_listen: SCEP would be served nowhere"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Plain HTTP on an address other hosts reach, without a TLS proxy in front: what the
    /// seed's "communication with the device must be via TLS" forbids.
    pub fn plain_http_exposed(&self) -> bool {
        self.plain_http && !self.listen.ip().is_loopback() && !self.behind_tls_proxy
    }
}

/// Connection limits and timeouts of every listener of this process: SCEP and admin
/// (`scepd serve`, `scepd ra`), statements and registration (`scepd ca`). Each listener has
/// its own caps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsSection {
    /// Open connections of one listener, from all sources together (503 beyond).
    pub max_connections: usize,
    /// Open connections of one listener from one source address (429 beyond).
    pub max_connections_per_source: usize,
    /// Longest wait for a request head, which is also the idle wait between keep-alive
    /// requests.
    #[serde(with = "humantime_serde_compat")]
    pub header_read_timeout: Duration,
    /// Longest TLS handshake (admin and CA service listeners).
    #[serde(with = "humantime_serde_compat")]
    pub tls_handshake_timeout: Duration,
}

/// Beyond this a timeout no longer bounds what an idle or trickling client holds.
const MAX_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);

impl Default for ConnectionsSection {
    fn default() -> Self {
        Self {
            // Two listeners per process at 256 each, plus the refusals in progress, stay
            // well inside the common open-file limit of 1024 (database, logs and an HSM
            // need some too).
            max_connections: 256,
            // The load benchmark drives 64 connections from one address, and a NAT or a
            // reverse proxy puts many devices behind one.
            max_connections_per_source: 128,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionsSection {
    fn check(&self) -> Result<(), InvalidSetting> {
        if self.max_connections == 0 || self.max_connections_per_source == 0 {
            return Err(InvalidSetting("connections.max_connections and connections.max_connections_per_source must be above zero".into()));
        }
        if self.max_connections_per_source > self.max_connections {
            return Err(InvalidSetting(format!(
                "connections.max_connections_per_source = {} is above connections.max_connections = {}: one source can never have more than the listener",
                self.max_connections_per_source, self.max_connections
            )));
        }
        for (key, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("tls_handshake_timeout", self.tls_handshake_timeout),
        ] {
            if value.is_zero() || value > MAX_CONNECTION_TIMEOUT {
                return Err(InvalidSetting(format!(
                    "connections.{key} = {value:?}: must be above zero and at most {MAX_CONNECTION_TIMEOUT:?}"
                )));
            }
        }
        Ok(())
    }
}

/// Each listener applies the limits of `[connections]`.
impl From<&ConnectionsSection> for edge::listener::Limits {
    fn from(section: &ConnectionsSection) -> Self {
        Self {
            max_connections: section.max_connections,
            max_connections_per_source: section.max_connections_per_source,
            header_read_timeout: section.header_read_timeout,
            tls_handshake_timeout: section.tls_handshake_timeout,
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
    /// The enrollment-agent key (software backend) and its certificate. Unset in data
    /// directories made before it existed: the RA signing key then counter-signs as well.
    pub ra_agent_key: Option<PathBuf>,
    pub ra_agent_certificate: Option<PathBuf>,
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
            ra_agent_key: None,
            ra_agent_certificate: None,
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
    /// The enrollment-agent key in the token (with `keys.ra_agent_certificate`).
    pub ra_agent_key_label: Option<String>,
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
            ra_agent_key_label: None,
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
    /// Characters in a challenge (62-symbol alphabet): 24 (≈143 bits) to 64.
    pub length: usize,
    /// Unused, unexpired challenges one administrator (or MDM account) may hold at once
    /// (NDES PasswordMax): bounds what a stolen admin credential can stockpile.
    pub max_outstanding_per_admin: u32,
    /// NDES EnforcePassword=0: accept a PKCSReq without a challenge. INSECURE.
    pub insecure_no_challenge: bool,
    /// The template such requests are decided under.
    pub insecure_no_challenge_template: String,
    /// NDES UseSinglePassword=1: one reusable password, read from this file (mode 0600,
    /// relative to the data directory). INSECURE.
    pub insecure_static_challenge_file: Option<PathBuf>,
    /// The template requests with the static password are decided under.
    pub insecure_static_challenge_template: String,
}

/// The default per-administrator limit. NDES ships 5, sized for one person at a console; an
/// MDM account enrolling a batch needs more, and 50 still bounds a stolen credential.
pub const DEFAULT_MAX_OUTSTANDING_PER_ADMIN: u32 = 50;

impl Default for ChallengeSection {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(60 * 60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            length: ra::challenge::CHALLENGE_LEN,
            max_outstanding_per_admin: DEFAULT_MAX_OUTSTANDING_PER_ADMIN,
            insecure_no_challenge: false,
            insecure_no_challenge_template: "device".into(),
            insecure_static_challenge_file: None,
            insecure_static_challenge_template: "device".into(),
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
    /// Secret-dependent failures from all sources together within `failure_window`: beyond
    /// it (a distributed guess), every source with a failure in the window is locked out.
    pub global_max_failed_attempts: u32,
    /// PKIOperations processed at once, from all sources; more wait briefly, then get 503.
    pub max_concurrent_operations: usize,
}

/// Two cores finish a PKIOperation's private-key work in a few milliseconds; more than this
/// many at once only adds latency and memory, never throughput.
pub const DEFAULT_MAX_CONCURRENT_OPERATIONS: usize = 32;

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_failed_attempts: 10,
            failure_window: Duration::from_secs(10 * 60),
            lockout: Duration::from_secs(15 * 60),
            global_max_failed_attempts: 100,
            max_concurrent_operations: DEFAULT_MAX_CONCURRENT_OPERATIONS,
        }
    }
}

/// The administration listener: the mscep_admin page, the JSON API and /metrics, over TLS only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// PEM certificate chain of the admin listener; empty: a development certificate made on
    /// first start in `admin-tls/` of the data directory.
    pub certificate: Option<PathBuf>,
    /// Its PEM (PKCS#8) private key, mode 0600.
    pub private_key: Option<PathBuf>,
    /// CAs whose client certificates may authenticate administrators (each certificate must
    /// also be bound to a user with `scepd user bind-cert`); empty: the scepd CA.
    pub client_ca: Option<PathBuf>,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` is believed; from anyone else it is ignored.
    pub trusted_proxies: Vec<String>,
    /// Lifetime of a login session of the mscep_admin page.
    #[serde(with = "humantime_serde_compat")]
    pub session_ttl: Duration,
    /// Failed logins a source may have within `login_failure_window` before `login_lockout`.
    pub max_failed_logins: u32,
    #[serde(with = "humantime_serde_compat")]
    pub login_failure_window: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub login_lockout: Duration,
    /// Password verifications (argon2id, 19 MiB each) running at once, from all sources:
    /// the bound on what a login flood can take before anyone is authenticated.
    pub max_concurrent_password_checks: usize,
}

/// Two argon2id verifications at once keep both cores of a small host busy and cost 38 MiB.
pub const DEFAULT_MAX_CONCURRENT_PASSWORD_CHECKS: usize = 2;

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            certificate: None,
            private_key: None,
            client_ca: None,
            trusted_proxies: Vec::new(),
            session_ttl: Duration::from_secs(30 * 60),
            max_failed_logins: 5,
            login_failure_window: Duration::from_secs(15 * 60),
            login_lockout: Duration::from_secs(15 * 60),
            max_concurrent_password_checks: DEFAULT_MAX_CONCURRENT_PASSWORD_CHECKS,
        }
    }
}

impl AdminSection {
    /// The trusted proxies, parsed; the error names the entry.
    pub fn proxy_ranges(&self) -> Result<Vec<policy::IpRange>, InvalidSetting> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                policy::IpRange::parse(text).ok_or_else(|| {
                    InvalidSetting(format!("admin.trusted_proxies: {text:?} is not a CIDR range (ADDRESS/PREFIX, host bits zero)"))
                })
            })
            .collect()
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
    #[error("opening the database: {0}")]
    Database(#[source] store::StoreError),
}

/// A setting out of its range, or settings that contradict each other; the message names
/// them and says what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSetting(pub String);

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
        if let Err(InvalidSetting(message)) = config.connections.check() {
            return Err(ConfigError::Invalid { path, message });
        }
        if let Err(InvalidSetting(message)) = config.scep.check() {
            return Err(ConfigError::Invalid { path, message });
        }
        if config.limits.max_failed_attempts == 0
            || config.limits.lockout.is_zero()
            || config.limits.global_max_failed_attempts == 0
        {
            return Err(ConfigError::Invalid {
                path,
                message: "limits.max_failed_attempts, limits.global_max_failed_attempts and limits.lockout must be above zero: the lockout cannot be turned off".into(),
            });
        }
        if config.limits.max_concurrent_operations == 0
            || config.admin.max_concurrent_password_checks == 0
        {
            return Err(ConfigError::Invalid {
                path,
                message: "limits.max_concurrent_operations and admin.max_concurrent_password_checks must be above zero".into(),
            });
        }
        if let Err(InvalidSetting(message)) = config.challenges.check() {
            return Err(ConfigError::Invalid { path, message });
        }
        if config.admin.max_failed_logins == 0 || config.admin.login_lockout.is_zero() {
            return Err(ConfigError::Invalid {
                path,
                message: "admin.max_failed_logins and admin.login_lockout must be above zero: the login lockout cannot be turned off".into(),
            });
        }
        if config.admin.certificate.is_some() != config.admin.private_key.is_some() {
            return Err(ConfigError::Invalid {
                path,
                message: "admin.certificate and admin.private_key go together: set both or neither"
                    .into(),
            });
        }
        if let Err(InvalidSetting(message)) = config.admin.proxy_ranges() {
            return Err(ConfigError::Invalid { path, message });
        }
        if let Err(InvalidSetting(message)) =
            crate::mdm::check(&config.endpoints, config.intune.as_ref())
        {
            return Err(ConfigError::Invalid { path, message });
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
    pub async fn open_store(&self, data_dir: &Path) -> Result<store::Store, ConfigError> {
        store::Store::open(&self.database_url(data_dir))
            .await
            .map_err(ConfigError::Database)
    }

    /// Warnings an operator must see at every start: each insecure opt-in that is on.
    pub fn insecure_settings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.challenges.insecure_no_challenge {
            warnings.push(
                "challenges.insecure_no_challenge = true: PKCSReqs WITHOUT a challenge are accepted (NDES EnforcePassword=0) for template challenges.insecure_no_challenge_template; anyone who reaches the SCEP port gets a certificate",
            );
        }
        if self.challenges.insecure_static_challenge_file.is_some() {
            warnings.push(
                "challenges.insecure_static_challenge_file is set: one reusable password enrolls any number of devices (NDES UseSinglePassword=1); whoever learns it gets certificates",
            );
        }
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

impl ChallengeSection {
    fn check(&self) -> Result<(), InvalidSetting> {
        if self.default_ttl > self.max_ttl {
            return Err(InvalidSetting(
                "challenges.default_ttl is longer than challenges.max_ttl".into(),
            ));
        }
        let (min, max) = (
            ra::challenge::MIN_CHALLENGE_LEN,
            ra::challenge::MAX_CHALLENGE_LEN,
        );
        if !(min..=max).contains(&self.length) {
            return Err(InvalidSetting(format!(
                "challenges.length = {}: must be {min} to {max} characters ({min} is about 143 bits)",
                self.length
            )));
        }
        if self.max_outstanding_per_admin == 0 {
            return Err(InvalidSetting(
                "challenges.max_outstanding_per_admin must be above zero".into(),
            ));
        }
        Ok(())
    }

    /// The RA's view of the insecure modes. The static password is read here (from a file
    /// only its owner can read) and only its SHA-256 is kept.
    pub fn insecure_modes(
        &self,
        data_dir: &Path,
    ) -> Result<ra::InsecureChallenges, InvalidSetting> {
        let static_challenge = match &self.insecure_static_challenge_file {
            Some(file) => {
                let path = data_dir.join(file);
                let secret = keys::secret::read_secret(Some(&path), "").map_err(|e| {
                    InvalidSetting(format!("challenges.insecure_static_challenge_file: {e}"))
                })?;
                if secret.chars().count() < MIN_STATIC_CHALLENGE_CHARS {
                    return Err(InvalidSetting(format!(
                        "challenges.insecure_static_challenge_file {}: the password must have at least {MIN_STATIC_CHALLENGE_CHARS} characters",
                        path.display()
                    )));
                }
                Some(ra::StaticChallenge {
                    hash: ra::challenge::hash(secret.as_bytes()),
                    template: self.insecure_static_challenge_template.clone(),
                })
            }
            None => None,
        };
        Ok(ra::InsecureChallenges {
            no_challenge_template: self
                .insecure_no_challenge
                .then(|| self.insecure_no_challenge_template.clone()),
            static_challenge,
        })
    }
}

/// A reusable password is guessed over and over; at least this long keeps the lockout
/// meaningful even so.
const MIN_STATIC_CHALLENGE_CHARS: usize = 16;

/// The database of a data directory, for commands that need nothing else.
pub async fn open_store(data_dir: &Path) -> Result<store::Store, ConfigError> {
    Config::load(data_dir)?.open_store(data_dir).await
}

/// The file `scepd init` writes: every key, commented, at its default.
pub const DEFAULT_CONFIG_TEXT: &str = r#"# scepd configuration. Every key is shown at its default, commented out.
# Unknown keys are refused at start, so a typo never silently disables a protection.

[scep]
# Address for SCEP (GetCACaps, GetCACert, PKIOperation) at /scep and
# /certsrv/mscep/mscep.dll, over plain HTTP. SCEP messages are themselves signed and
# encrypted, but devices should reach SCEP over TLS: keep this on loopback behind a TLS
# reverse proxy (then say so with behind_tls_proxy = true if it listens beyond loopback),
# or serve HTTPS with tls_listen. `scepd doctor` fails plain HTTP on a non-loopback address
# without a proxy.
# listen = "127.0.0.1:8080"
# plain_http = true
# behind_tls_proxy = false
# SCEP over HTTPS (TLS 1.2/1.3 with the admin listener's cipher suites):
# tls_listen = "0.0.0.0:8443"
# tls_certificate = "certs/scep-tls.pem"
# tls_key = "keys/scep-tls.key"

[connections]
# Every listener of this process (SCEP and admin; for scepd ca its statement and
# registration listeners) holds at most max_connections open connections, of which at most
# max_connections_per_source from one source address (the TCP peer; X-Forwarded-For is not
# considered). Beyond, a connection gets 429 Too Many Requests (its source is over) or 503
# Service Unavailable (the listener is full) with Retry-After, and is closed; when a flood
# keeps more than a few such answers in progress, further connections are closed at once.
# 256 per listener keeps both listeners inside the common open-file limit of 1024; raise it
# with the limit (LimitNOFILE). The load benchmark drives 64 connections from one address;
# behind a reverse proxy or a NAT every device is the same source: set
# max_connections_per_source up to max_connections there.
# max_connections = 256
# max_connections_per_source = 128
# Longest wait for a request head; also how long an idle keep-alive connection is kept.
# A slow request body is cut off (408) after 30 s whatever this says.
# header_read_timeout = "10s"
# Longest TLS handshake on the admin and CA service listeners.
# tls_handshake_timeout = "10s"

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
# Paths are relative to the data directory. One key per job: no key does two.
# ca_key = "keys/ca-signing.key"
# ca_certificate = "certs/ca.pem"
# ca_chain = "certs/ca-chain.pem"                       # only for a CA imported under an existing PKI
# ra_signing_key = "keys/ra-signing.key"                # signs CertReps to devices (RSA)
# ra_signing_certificate = "certs/ra-signing.pem"
# ra_agent_key = "keys/ra-agent.key"                    # enrollment agent: counter-signs approved
# ra_agent_certificate = "certs/ra-agent.pem"           # requests for the CA (P-256). Unset in data
#                                                       # directories made before it existed: the
#                                                       # RA signing key then counter-signs too
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
# ra_agent_key_label = "scepd-ra-agent"
# ra_encryption_key_label = "scepd-ra-encryption"

[challenges]
# One-time challenge passwords: lifetime when `scepd challenge issue --ttl` is not given,
# and the longest lifetime that may be asked for (NDES PasswordValidity).
# default_ttl = "60m"
# max_ttl = "24h"
# Characters per challenge, 24 (about 143 bits) to 64; alphanumeric.
# length = 32
# Unused, unexpired challenges one administrator or MDM account may hold at once (NDES
# PasswordMax, which defaults to 5); more is refused (HTTP 429 from the API).
# max_outstanding_per_admin = 50
#
# NDES's insecure modes, for migrations only. Each logs a warning at every start, fails
# `scepd doctor`, and is named in the audit entry of every certificate it lets through.
# A request that carries a challenge is still checked as usual.
# insecure_no_challenge = false                     # EnforcePassword=0: no challenge needed
# insecure_no_challenge_template = "device"         # the template such requests get
# insecure_static_challenge_file = "static-challenge"  # UseSinglePassword=1: one reusable password (file mode 0600, >= 16 characters)
# insecure_static_challenge_template = "device"

[limits]
# A source (TCP peer address; X-Forwarded-For is never trusted) that gets this many wrong,
# used or expired challenges, or envelopes that do not decrypt, within failure_window is
# answered HTTP 429 for lockout. Other sources are unaffected.
# max_failed_attempts = 10
# failure_window = "10m"
# lockout = "15m"
# Failures from all sources together within failure_window (a distributed guess). Beyond it
# an audit alert is raised and every source with a failure in the window is locked out at
# once; sources without failures are still served.
# global_max_failed_attempts = 100
# A source's attempts still being checked count as failures until they are settled, so a
# burst of concurrent guesses is never evaluated past the limit: further attempts from that
# source wait (up to 10 s) for one to finish, then get HTTP 429.
# PKIOperations processed at once from all sources; more wait up to 10 s, then get HTTP 503
# with Retry-After.
# max_concurrent_operations = 32

[admin]
# The administration listener: the mscep_admin page (/certsrv/mscep_admin/), the JSON API
# (/admin/api/v1/, described by /admin/api/v1/openapi.json) and Prometheus /metrics. TLS only
# (TLS 1.2 and 1.3, ECDHE with AEAD ciphers). Administrators log in with a password (page), an
# API token (Authorization: Bearer) or a client certificate bound to their account.
# enabled = true
# listen = "127.0.0.1:8443"
# certificate = "/etc/scepd/admin.pem"     # PEM chain; unset: a development certificate in admin-tls/
# private_key = "/etc/scepd/admin.key"     # PKCS#8 PEM, mode 0600
# client_ca = "/etc/scepd/admin-client-ca.pem"  # unset: the scepd CA
# trusted_proxies = []                     # CIDR ranges whose X-Forwarded-For is believed
# session_ttl = "30m"
# max_failed_logins = 5
# login_failure_window = "15m"
# login_lockout = "15m"
# Password verifications at once, from all sources (argon2id, 19 MiB of memory each, reused):
# more wait up to 5 s, then get HTTP 503 with Retry-After. Bounds what a login flood costs.
# max_concurrent_password_checks = 2

# Templates decide what a certificate may contain; requests only propose. The built-in
# template "device" (clientAuth, 365 days, dNSName SANs, RSA >= 2048 or P-256/P-384) is always
# there unless a [[templates]] entry named "device" replaces it. A challenge is bound to one
# template (`scepd challenge issue --template NAME`). Every key below is optional except name
# and extended_key_usages; the defaults are the safe ones.
#
# [[templates]]
# name = "vpn"
# extended_key_usages = ["clientAuth"]        # clientAuth, serverAuth, emailProtection, ipsecIKE,
#                                             # ipsecTunnel or dotted OIDs; never anyExtendedKeyUsage
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
#
# What only an MDM that validated the whole CSR against its profile (Intune's validateRequest,
# on an endpoint with challenge = "intune") may vouch for. A request with a local one-time
# challenge, a webhook's yes or a signed challenge never gets these (ESC1), on this template
# or any other; a renewal keeps them only if the old certificate has them.
# [templates.mdm_vouched]
# upn = false               # otherName UPN SAN (user certificates), at most one
# sid_uri = false           # the strong-mapping SAN tag:microsoft.com,2022-09-14:sid:S-1-...
# email = false             # rfc822Name SANs at any domain (email_domains still bind the rest)
# ipsec_tunnel_eku = false  # ipsecTunnel, which extended_key_usages must list; issued only
#                           # when a validated request asks for it

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
            "max_connections",
            "max_connections_per_source",
            "header_read_timeout",
            "tls_handshake_timeout",
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
            "ra_agent_key",
            "ra_agent_certificate",
            "ra_agent_key_label",
            "ra_encryption_key",
            "ra_encryption_certificate",
            "default_ttl",
            "max_ttl",
            "legacy_crypto",
            "max_failed_attempts",
            "failure_window",
            "lockout",
            "insecure_single_des",
            "length",
            "max_outstanding_per_admin",
            "insecure_no_challenge",
            "insecure_no_challenge_template",
            "insecure_static_challenge_file",
            "insecure_static_challenge_template",
            "global_max_failed_attempts",
            "enabled",
            "certificate",
            "private_key",
            "client_ca",
            "trusted_proxies",
            "session_ttl",
            "max_failed_logins",
            "login_failure_window",
            "login_lockout",
            "max_concurrent_operations",
            "max_concurrent_password_checks",
        ] {
            assert!(
                DEFAULT_CONFIG_TEXT.contains(&format!("# {key} = ")),
                "{key} missing"
            );
        }
    }

    #[test]
    fn connection_limits_default_to_the_documented_values_and_refuse_nonsense() {
        let config: Config = toml::from_str(DEFAULT_CONFIG_TEXT).unwrap_or_else(|e| panic!("{e}"));
        let c = &config.connections;
        assert_eq!(
            (
                c.max_connections,
                c.max_connections_per_source,
                c.header_read_timeout,
                c.tls_handshake_timeout
            ),
            (256, 128, Duration::from_secs(10), Duration::from_secs(10))
        );
        assert!(config.connections.check().is_ok());
        for (setting, key) in [
            ("max_connections = 0", "max_connections"),
            (
                "max_connections_per_source = 0",
                "max_connections_per_source",
            ),
            (
                "max_connections = 10\nmax_connections_per_source = 11",
                "max_connections_per_source",
            ),
            ("header_read_timeout = \"0s\"", "header_read_timeout"),
            ("tls_handshake_timeout = \"1h\"", "tls_handshake_timeout"),
        ] {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(
                dir.path().join(CONFIG_FILE),
                format!("[connections]\n{setting}\n"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let err = Config::load(dir.path()).err().map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains(&format!("connections.{key}"))),
                "{setting}: {err:?}"
            );
        }
        let err = toml::from_str::<Config>("[connections]\nheader_read_timeout = \"soon\"\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("header_read_timeout")));
    }

    #[test]
    fn the_limits_are_those_of_the_connections_section() {
        let section = ConnectionsSection {
            max_connections: 7,
            max_connections_per_source: 5,
            header_read_timeout: Duration::from_secs(3),
            tls_handshake_timeout: Duration::from_secs(4),
        };
        assert_eq!(
            edge::listener::Limits::from(&section),
            edge::listener::Limits {
                max_connections: 7,
                max_connections_per_source: 5,
                header_read_timeout: Duration::from_secs(3),
                tls_handshake_timeout: Duration::from_secs(4),
            }
        );
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
        let config: Config = toml::from_str(
            "[challenges]\ninsecure_no_challenge = true\ninsecure_static_challenge_file = \"pw\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let warnings = config.insecure_settings();
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("insecure_no_challenge"));
        assert!(warnings[1].contains("insecure_static_challenge_file"));
    }

    #[test]
    fn the_default_challenge_policy_is_the_safe_one() {
        let config = Config::default();
        assert_eq!(config.challenges.length, 32);
        assert_eq!(config.challenges.max_outstanding_per_admin, 50);
        assert!(!config.challenges.insecure_no_challenge);
        assert!(config.challenges.insecure_static_challenge_file.is_none());
        assert_eq!(config.limits.global_max_failed_attempts, 100);
        let modes = config
            .challenges
            .insecure_modes(Path::new("/nonexistent"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(modes, ra::InsecureChallenges::default());
    }

    #[test]
    fn challenge_lengths_outside_the_safe_range_are_refused() {
        for (length, ok) in [(23, false), (24, true), (64, true), (65, false)] {
            let section = ChallengeSection {
                length,
                ..ChallengeSection::default()
            };
            assert_eq!(section.check().is_ok(), ok, "length {length}");
        }
        let zero = ChallengeSection {
            max_outstanding_per_admin: 0,
            ..ChallengeSection::default()
        };
        assert!(zero.check().is_err());
    }

    #[test]
    fn the_static_password_is_read_from_a_private_file_and_kept_as_a_hash() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("pw");
        std::fs::write(&file, "correct-horse-battery\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let section = ChallengeSection {
            insecure_static_challenge_file: Some("pw".into()),
            ..ChallengeSection::default()
        };
        let err = section
            .insecure_modes(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let modes = section
            .insecure_modes(dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let fixed = modes
            .static_challenge
            .unwrap_or_else(|| panic!("no static"));
        assert_eq!(fixed.hash, ra::challenge::hash(b"correct-horse-battery"));
        assert_eq!(fixed.template, "device");
        std::fs::write(&file, "short\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(section.insecure_modes(dir.path()).is_err());
    }
}
