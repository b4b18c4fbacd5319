//! Why a ceremony (`scepd init`, the RA renewal, the CA rollover, the first administrator)
//! failed. The ceremonies share most of their failures (a key to make or load, a certificate
//! to issue or write, a file to move, the audit entry), so they share one error; each variant
//! names the argument, file, key or certificate at fault, and keeps the upstream error as its
//! source.

use std::path::PathBuf;

use keys::io_context::FileError;
use keys::keystore::KeystoreError;
use keys::pem::PemError;
use x509_cert::ext::pkix::name::GeneralName;

use crate::audit_trail::AuditLogError;
use crate::services::tls::TlsError;
use config::{CONFIG_FILE, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    // The data directory and its files.
    #[error("{} already holds {}; not overwriting", dir.display(), CONFIG_FILE)]
    AlreadyInitialised { dir: PathBuf },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("moving {} to {}: {source}", from.display(), to.display())]
    Move {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    /// `scepd.toml` has no line (set or commented) for a setting a rollover must change.
    #[error("{}: no line for {key} to update", path.display())]
    NoConfigLine { path: PathBuf, key: &'static str },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error("creating the database: {0}")]
    CreateDatabase(#[source] store::StoreError),
    #[error(transparent)]
    Audit(#[from] AuditLogError),

    // The configuration text the ceremony writes, from the commented defaults. These are
    // scepd's own mistakes, never the operator's.
    /// A commented default line to fill in is missing.
    #[error("internal: {commented:?} not in the default configuration")]
    NoDefaultLine { commented: String },
    #[error("internal: deployment.mode not in the default configuration")]
    NoDeploymentMode,
    /// `init::run` asked for the RA side of a split deployment, which `ra_init` prepares.
    #[error("internal: the RA side is prepared by split::ra_init")]
    RaModeHere,
    /// The configuration text the ceremony is about to write does not parse.
    #[error("internal: {0}")]
    ConfigText(#[source] toml::de::Error),
    /// The configuration text made to open the token does not parse.
    #[error(transparent)]
    TokenConfigText(toml::de::Error),

    // Keys.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The passphrase that encrypts new key files (file or `SCEPD_KEY_PASSPHRASE`).
    #[error("key passphrase: {0}")]
    Passphrase(#[source] keys::KeyError),
    #[error(transparent)]
    Keymaker(#[from] keys::keymaker::KeymakerError),
    #[error("--import-ca-key {}: {source}", path.display())]
    ImportKeyFile {
        path: PathBuf,
        source: keys::KeyError,
    },
    #[error("--import-ca-key-label {label:?}: {source}")]
    ImportKeyLabel {
        label: String,
        source: keys::KeyError,
    },
    #[error("--import-ca-key-label needs an HSM (--hsm-module, --hsm-token)")]
    ImportLabelWithoutHsm,
    #[error(
        "with an HSM, import the CA key into the token and give --import-ca-key-label; a key file would leave a copy outside it"
    )]
    ImportFileWithHsm,
    #[error("destroying the retired key {label:?}: {source}")]
    DestroyRetired {
        label: String,
        source: keys::KeyError,
    },
    /// The CA service's TLS key.
    #[error(transparent)]
    Tls(#[from] TlsError),

    // The CA and the certificates it issues.
    #[error("--ca-subject {subject:?}: {source}")]
    CaSubject {
        subject: String,
        source: ca::CaError,
    },
    #[error("--ca-permit-dns {name:?}: {source}")]
    CaPermitDns { name: String, source: ca::CaError },
    /// A CA profile (EKU constraint; in a rollover, the current CA's name and constraints)
    /// that the CA crate refuses.
    #[error(transparent)]
    CaProfile(ca::CaError),
    #[error("--import-ca-cert {}: {source}", path.display())]
    ImportCaCertificate { path: PathBuf, source: ca::CaError },
    /// Issuing the certificate `what` names ("CA", "RA signing", "CA service TLS"...).
    #[error("making the {what} certificate: {source}")]
    Certify {
        what: &'static str,
        source: ca::CaError,
    },

    // The CA rollover.
    #[error("a rollover is already prepared (certs/next/): activate it with --activate")]
    RolloverPrepared,
    #[error("no rollover is prepared: run `scepd ca rollover` first")]
    NoRolloverPrepared,
    #[error("current CA key: {0}")]
    CurrentCaKey(#[source] keys::VerifyError),
    #[error("current CA certificate: {0}")]
    CurrentCaCertificate(#[source] der::Error),
    #[error("current CA certificate extensions: {0}")]
    CurrentCaExtensions(#[source] der::Error),
    #[error("current CA has a name constraint scepd cannot carry over: {0:?}")]
    UnsupportedNameConstraint(GeneralName),
    #[error("making the next CA: {0}")]
    NextCa(#[source] ca::CaError),

    // The first administrator.
    #[error("counting users: {0}")]
    CountUsers(#[source] store::StoreError),
    /// Generating or hashing the initial administrator's password.
    #[error(transparent)]
    AdminPassword(accounts::AccountError),
    #[error("creating the initial administrator: {0}")]
    CreateAdmin(#[source] store::StoreError),
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn io_error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "gone")
    }

    /// The messages are the ones the ceremonies printed when their errors were strings.
    #[test]
    fn messages_are_unchanged() {
        let (a, b) = (Path::new("/data/a"), Path::new("/data/b"));
        let cases = [
            (
                CeremonyError::AlreadyInitialised { dir: a.to_owned() },
                format!(
                    "{} already holds {CONFIG_FILE}; not overwriting",
                    a.display()
                ),
            ),
            (
                CeremonyError::Move {
                    from: a.to_owned(),
                    to: b.to_owned(),
                    source: io_error(),
                },
                format!("moving {} to {}: {}", a.display(), b.display(), io_error()),
            ),
            (
                CeremonyError::NoConfigLine {
                    path: a.to_owned(),
                    key: "ca_key_label",
                },
                format!("{}: no line for ca_key_label to update", a.display()),
            ),
            (
                CeremonyError::NoDefaultLine {
                    commented: "# x = 1".into(),
                },
                format!("internal: {:?} not in the default configuration", "# x = 1"),
            ),
            (
                CeremonyError::DestroyRetired {
                    label: "scepd-ra-signing-1".into(),
                    source: keys::KeyError::Backend("refused".into()),
                },
                format!(
                    "destroying the retired key {:?}: {}",
                    "scepd-ra-signing-1",
                    keys::KeyError::Backend("refused".into())
                ),
            ),
            (
                CeremonyError::CreateAdmin(store::StoreError::Busy),
                format!(
                    "creating the initial administrator: {}",
                    store::StoreError::Busy
                ),
            ),
            (
                CeremonyError::NoRolloverPrepared,
                "no rollover is prepared: run `scepd ca rollover` first".into(),
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
