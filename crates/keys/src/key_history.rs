//! The keys and certificates of a data directory other than the current ones: those a
//! rollover retired (`keys/previous/`, `certs/previous/`), still needed to open requests from
//! clients that cached an old RA encryption certificate and to recognise what an old CA
//! issued, and those a prepared CA rollover made (`certs/next/`), which GetNextCACert serves.
//! The rollover ceremony writes them; the services read them at start.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::io_context::{Context, FileError};
use crate::keystore::{self, KeystoreError};
use crate::locations::KeyLocations;
use crate::pem::{self, PemError};
use crate::pkcs11::Pkcs11Token;
use crate::software::SoftwareKey;
use crate::{Decrypter, KeyError, KeyRole};

pub const PREVIOUS: &str = "previous";
pub const NEXT: &str = "next";

/// Why a retired RA encryption key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyHistoryError {
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{}: {source}", path.display())]
    KeyFile { path: PathBuf, source: KeyError },
    #[error("{}: a token key, but no PKCS#11 token is configured", path.display())]
    NoToken { path: PathBuf },
    #[error("previous RA key {label:?}: {source}")]
    TokenKey { label: String, source: KeyError },
}

/// A replaced RA encryption key with its certificate (DER).
pub type PreviousEncryption = (Arc<dyn Decrypter>, Vec<u8>);

pub fn previous_encryption_key(dir: &Path, stamp: i64) -> PathBuf {
    dir.join("keys")
        .join(PREVIOUS)
        .join(format!("ra-encryption-{stamp}.key"))
}

pub fn previous_encryption_label(dir: &Path, stamp: i64) -> PathBuf {
    dir.join("certs")
        .join(PREVIOUS)
        .join(format!("ra-encryption-{stamp}.label"))
}

pub fn previous_certificate(dir: &Path, name: String) -> PathBuf {
    dir.join("certs").join(PREVIOUS).join(name)
}

/// A token label recorded in a file (the key itself is in the token).
pub fn read_label(path: &Path) -> Result<String, FileError> {
    Ok(fs::read_to_string(path)
        .context(path, "reading")?
        .trim()
        .to_owned())
}

/// The stamps of files named `PREFIX-STAMP.EXT` in `dir`, newest first.
fn stamps(dir: &Path, prefix: &str, ext: &str) -> Vec<i64> {
    let mut found: Vec<i64> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?.strip_suffix(ext)?.parse().ok()
        })
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found
}

/// RA encryption keys a renewal or CA activation retired, newest first, with their
/// certificates. The RA ignores those whose certificate has expired.
pub fn previous_encryption(
    dir: &Path,
    locations: &KeyLocations,
    token: Option<&Arc<Pkcs11Token>>,
) -> Result<Vec<PreviousEncryption>, KeyHistoryError> {
    let found = stamps(&dir.join("certs").join(PREVIOUS), "ra-encryption-", ".pem");
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let passphrase = keystore::passphrase(dir, locations)?;
    let role = KeyRole::RaDecryption;
    let mut previous = Vec::new();
    for stamp in found {
        let cert = pem::read_certificate(&previous_certificate(
            dir,
            format!("ra-encryption-{stamp}.pem"),
        ))?;
        let key_path = previous_encryption_key(dir, stamp);
        let label_path = previous_encryption_label(dir, stamp);
        let decrypter: Arc<dyn Decrypter> = if key_path.exists() {
            let key = match &passphrase {
                Some(p) => SoftwareKey::load_encrypted(role, &key_path, p.as_bytes()),
                None => SoftwareKey::load(role, &key_path),
            };
            Arc::new(key.map_err(|source| KeyHistoryError::KeyFile {
                path: key_path.clone(),
                source,
            })?)
        } else {
            let label = read_label(&label_path)?;
            let token = token.ok_or_else(|| KeyHistoryError::NoToken {
                path: label_path.clone(),
            })?;
            let key = token
                .load_key(role, &label)
                .map_err(|source| KeyHistoryError::TokenKey {
                    label: label.clone(),
                    source,
                })?;
            Arc::new(key)
        };
        previous.push((decrypter, cert));
    }
    Ok(previous)
}

/// CA certificates replaced by an activated rollover, newest first.
pub fn previous_ca_certificates(dir: &Path) -> Result<Vec<Vec<u8>>, PemError> {
    let certs_dir = dir.join("certs").join(PREVIOUS);
    stamps(&certs_dir, "ca-", ".pem")
        .into_iter()
        .map(|stamp| pem::read_certificate(&certs_dir.join(format!("ca-{stamp}.pem"))))
        .collect()
}

/// What GetNextCACert serves once a rollover is prepared: the next CA certificate and the
/// RA certificates it issued.
pub fn next_certificates(dir: &Path) -> Result<Option<Vec<Vec<u8>>>, PemError> {
    let next = dir.join("certs").join(NEXT);
    if !next.join("ca.pem").exists() {
        return Ok(None);
    }
    let certificates = ["ca.pem", "ra-signing.pem", "ra-encryption.pem"]
        .iter()
        .map(|f| pem::read_certificate(&next.join(f)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(certificates))
}
