//! `scepd init`: the embedded default — a development CA, the RA's two certificates, the
//! SQLite database and a commented `scepd.toml`, all in one data directory.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keys::KeyRole;
use keys::software::SoftwareKey;

use crate::config::{CONFIG_FILE, Config, DEFAULT_CONFIG_TEXT};
use crate::io_context::Context;
use crate::pem;

/// What `init` may choose; defaults give the embedded default.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub ca_common_name: String,
    pub ca_validity_days: u32,
    pub ra_validity_days: u32,
    pub ca_rsa_bits: usize,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            ca_common_name: "scepd development CA".into(),
            ca_validity_days: 3650,
            ra_validity_days: 730,
            ca_rsa_bits: 3072,
        }
    }
}

/// Whether `dir` holds nothing yet (absent or empty), so `serve` may initialise it.
pub fn is_uninitialised(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Creates everything the embedded default needs. Refuses to touch a directory that already
/// holds a configuration, so keys are never overwritten.
pub async fn run(dir: &Path, options: &InitOptions) -> Result<(), String> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(format!(
            "{} already holds {CONFIG_FILE}; not overwriting",
            dir.display()
        ));
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    for sub in ["", "keys", "certs"] {
        builder
            .create(dir.join(sub))
            .context(&dir.join(sub), "creating directory")?;
    }
    fs::set_permissions(dir.join("keys"), fs::Permissions::from_mode(0o700))
        .context(&dir.join("keys"), "setting permissions")?;
    let paths = Config::default().keys;
    let at = |p: &PathBuf| dir.join(p);

    let ca_key = SoftwareKey::generate_rsa(KeyRole::CaSigning, options.ca_rsa_bits)
        .map_err(|e| format!("generating the CA key: {e}"))?;
    ca_key
        .write_pkcs8_pem(at(&paths.ca_key))
        .map_err(|e| e.to_string())?;
    let ca_key: Arc<dyn keys::Signer> = Arc::new(ca_key);
    let ca_cert = ca::dev::self_signed_ca(
        ca_key.as_ref(),
        &options.ca_common_name,
        options.ca_validity_days,
    )
    .map_err(|e| format!("making the CA certificate: {e}"))?;
    pem::write_certificate(&at(&paths.ca_certificate), &ca_cert)?;

    for (role, key_path, cert_path, purpose, cn) in [
        (
            KeyRole::RaSigning,
            &paths.ra_signing_key,
            &paths.ra_signing_certificate,
            ca::dev::RaCertPurpose::Signing,
            "scepd RA enrollment agent",
        ),
        (
            KeyRole::RaDecryption,
            &paths.ra_encryption_key,
            &paths.ra_encryption_certificate,
            ca::dev::RaCertPurpose::Encryption,
            "scepd RA CEP encryption",
        ),
    ] {
        let key = SoftwareKey::generate_rsa(role, 2048)
            .map_err(|e| format!("generating the {role} key: {e}"))?;
        key.write_pkcs8_pem(at(key_path))
            .map_err(|e| e.to_string())?;
        let cert = ca::dev::issue_ra_certificate(
            ca_key.as_ref(),
            &ca_cert,
            keys::Signer::public_key_spki_der(&key),
            cn,
            purpose,
            options.ra_validity_days,
        )
        .map_err(|e| format!("making the {role} certificate: {e}"))?;
        pem::write_certificate(&at(cert_path), &cert)?;
    }

    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, DEFAULT_CONFIG_TEXT).context(&config_path, "writing")?;
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    if config.database.url.is_empty() {
        // An empty file is a valid empty SQLite database; creating it here gives it (and the
        // -wal/-shm files SQLite derives from it) mode 0600 from the first byte.
        let db = dir.join("scepd.db");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&db)
            .context(&db, "creating")?;
    }
    store::Store::open(&config.database_url(dir))
        .await
        .map_err(|e| format!("creating the database: {e}"))?;
    Ok(())
}
