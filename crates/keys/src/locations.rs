//! Where a data directory's role keys and certificates are: a plain description the service
//! builds from its configuration (scepd: `Config::key_locations`), so that this crate never
//! reads the configuration itself. Relative paths are relative to the data directory.
//!
//! The keystore's refusals name the settings these come from (`keys.ca_key`,
//! `pkcs11.ra_agent_key_label`, ...), as the operator wrote them.

use std::path::PathBuf;

/// Where the private keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PKCS#8 files ([`KeyLocations::key_files`]).
    Software,
    /// A PKCS#11 token ([`KeyLocations::token`]).
    Pkcs11,
}

/// Where the keys and certificates of the four roles are.
#[derive(Debug, Clone)]
pub struct KeyLocations {
    /// `keys.backend`: which of [`Self::key_files`] and [`Self::token`] holds the keys.
    pub backend: Backend,
    /// `keys.passphrase_file`: the passphrase of encrypted key files, else the environment
    /// variable [`crate::secret::KEY_PASSPHRASE_ENV`] (if set).
    pub passphrase_file: Option<PathBuf>,
    /// The key files of the software backend (`keys.*_key`).
    pub key_files: RoleFiles,
    /// The certificates of the roles (`keys.*_certificate`), whatever the backend.
    pub certificates: RoleFiles,
    /// The token of the PKCS#11 backend (`pkcs11.*`).
    pub token: TokenKeys,
}

/// One file per role. `ra_agent` is `None` in a data directory made before the separate
/// enrollment-agent key.
#[derive(Debug, Clone)]
pub struct RoleFiles {
    pub ca: PathBuf,
    pub ra_signing: PathBuf,
    pub ra_agent: Option<PathBuf>,
    pub ra_encryption: PathBuf,
}

/// The PKCS#11 token and the labels of the role keys in it.
#[derive(Debug, Clone)]
pub struct TokenKeys {
    /// The PKCS#11 module (shared library).
    pub module: PathBuf,
    pub token_label: String,
    /// The user PIN's file, else the environment variable [`crate::secret::PKCS11_PIN_ENV`].
    pub pin_file: Option<PathBuf>,
    pub ca_label: String,
    pub ra_signing_label: String,
    /// With [`RoleFiles::ra_agent`] of [`KeyLocations::certificates`].
    pub ra_agent_label: Option<String>,
    pub ra_encryption_label: String,
}
