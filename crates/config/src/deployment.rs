//! The settings of the split deployment (`scepd ca` and `scepd ra` on separate hosts): which
//! service a data directory is for, the CA service's listeners, and how the RA reaches the CA.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Which service a data directory belongs to.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `scepd serve`: RA and CA in one process (the statement is still signed and verified).
    #[default]
    AllInOne,
    /// `scepd ca`: holds only the CA key; answers registered RAs over mutual TLS.
    Ca,
    /// `scepd ra`: holds only the RA keys; serves SCEP and asks the remote CA.
    Ra,
}

impl Mode {
    /// The command that serves a data directory of this mode.
    pub fn command(self) -> &'static str {
        match self {
            Mode::AllInOne => "scepd serve",
            Mode::Ca => "scepd ca",
            Mode::Ra => "scepd ra",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentSection {
    pub mode: Mode,
}

/// `scepd ca`: the statement listener (mutual TLS, registered RAs only) and the registration
/// listener (server-authenticated TLS, one-time codes only).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaServiceSection {
    pub listen: SocketAddr,
    /// Where RAs register with their one-time code; absent: no registration listener.
    pub registration_listen: Option<SocketAddr>,
    /// The CA service's TLS server certificate (issued by the CA key at `scepd init --mode ca`).
    pub tls_certificate: PathBuf,
    /// Its private key (PKCS#8 PEM, mode 0600). A TLS key, not the CA key.
    pub tls_key: PathBuf,
    /// How long a registration code of `scepd ca register-ra` is valid.
    #[serde(with = "humantime_compat")]
    pub registration_code_ttl: Duration,
    /// Lifetime of the certificates issued to a registering RA.
    pub ra_validity_days: u32,
}

impl Default for CaServiceSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            registration_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8445))),
            tls_certificate: "certs/ca-tls.pem".into(),
            tls_key: "keys/ca-tls.key".into(),
            registration_code_ttl: Duration::from_secs(24 * 3600),
            ra_validity_days: 365,
        }
    }
}

/// `scepd ra`: the CA it sends statements to, and its TLS client identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteCaSection {
    /// The CA service's statement listener, `https://HOST:PORT`.
    pub url: String,
    /// The RA's TLS client certificate, issued by the CA at registration.
    pub tls_certificate: PathBuf,
    /// Its private key (PKCS#8 PEM, mode 0600): only for TLS toward the CA.
    pub tls_key: PathBuf,
    /// Longest wait for the CA's answer.
    #[serde(with = "humantime_compat")]
    pub timeout: Duration,
    /// How long the RA serves a CRL fetched from the CA before fetching it again: a
    /// revocation made on the CA host reaches the RA's `/crl` and GetCRL within this (one
    /// made through the RA, at once).
    #[serde(with = "humantime_compat")]
    pub crl_max_age: Duration,
}

impl Default for RemoteCaSection {
    fn default() -> Self {
        Self {
            url: "https://127.0.0.1:8444".into(),
            tls_certificate: "certs/ra-tls.pem".into(),
            tls_key: "keys/ra-tls.key".into(),
            timeout: Duration::from_secs(30),
            crl_max_age: Duration::from_secs(60),
        }
    }
}

pub(crate) mod humantime_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// The commented sections appended to the default configuration file.
pub const DEFAULT_TEXT: &str = r#"
[deployment]
# "all-in-one": scepd serve runs RA and CA in one process. "ca" or "ra": this directory is
# one side of a split deployment (scepd ca / scepd ra; see docs/deployment.md).
# mode = "all-in-one"

[ca_service]
# scepd ca only. Statements from registered RAs, over mutual TLS: a client without a
# registered, unrevoked RA TLS certificate cannot complete the handshake.
# listen = "127.0.0.1:8444"
# Where RAs register with a one-time code (server-authenticated TLS). Remove to disable.
# registration_listen = "127.0.0.1:8445"
# tls_certificate = "certs/ca-tls.pem"
# tls_key = "keys/ca-tls.key"
# registration_code_ttl = "24h"
# ra_validity_days = 365

[remote_ca]
# scepd ra only. The CA service, and this RA's TLS client identity toward it.
# url = "https://127.0.0.1:8444"
# tls_certificate = "certs/ra-tls.pem"
# tls_key = "keys/ra-tls.key"
# timeout = "30s"
# How long a CRL fetched from the CA is served before it is fetched again.
# crl_max_age = "60s"
"#;
