//! Making new keys for a role where the data directory keeps them: as software key files
//! (PKCS#8, encrypted when a passphrase is given) or inside the PKCS#11 token, which then
//! never lets them out. The ceremonies (`scepd init`, rollovers) decide which roles get keys
//! and where their files go; this module only makes and stores them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::KeyRole;
use crate::keystore::{self, KeystoreError, RoleKeys};
use crate::locations::KeyLocations;
use crate::pkcs11::{EcCurve, Pkcs11Token};
use crate::software::SoftwareKey;

/// Why a key could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum KeymakerError {
    #[error("generating the {role} key: {source}")]
    Generate {
        role: KeyRole,
        source: crate::KeyError,
    },
    /// Writing a new software key file.
    #[error("{}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        source: crate::KeyError,
    },
}

/// How keys are created: as software files (encrypted when a passphrase is given) or inside
/// the token.
pub enum Keymaker {
    Software {
        passphrase: Option<Zeroizing<String>>,
    },
    Token(Arc<Pkcs11Token>),
}

impl Keymaker {
    /// The key maker for keys already loaded from a data directory (rollovers): the same
    /// token session, or software keys under the same passphrase.
    pub fn for_keys(
        dir: &Path,
        locations: &KeyLocations,
        keys: &RoleKeys,
    ) -> Result<Self, KeystoreError> {
        Ok(match &keys.token {
            Some(token) => Keymaker::Token(Arc::clone(token)),
            None => Keymaker::Software {
                passphrase: keystore::passphrase(dir, locations)?,
            },
        })
    }

    /// The token keys are made in, if any.
    pub fn token(&self) -> Option<&Arc<Pkcs11Token>> {
        match self {
            Keymaker::Token(token) => Some(token),
            Keymaker::Software { .. } => None,
        }
    }

    /// Makes a key for `role`: an RSA key of `rsa_bits` unless `ec` names a curve. A software
    /// key is written to `dir/file`; a token key gets `label`.
    pub fn make(
        &self,
        dir: &Path,
        role: KeyRole,
        file: &Path,
        label: &str,
        rsa_bits: usize,
        ec: Option<EcCurve>,
    ) -> Result<Arc<dyn crate::Signer>, KeymakerError> {
        let what = |source| KeymakerError::Generate { role, source };
        match self {
            Keymaker::Software { .. } => {
                let key = match ec {
                    Some(EcCurve::P256) => SoftwareKey::generate_ec_p256(role),
                    Some(_) => SoftwareKey::generate_ec_p384(role),
                    None => SoftwareKey::generate_rsa(role, rsa_bits),
                }
                .map_err(what)?;
                self.store_software(dir, &key, file)?;
                Ok(Arc::new(key))
            }
            Keymaker::Token(token) => {
                let key = match ec {
                    Some(curve) => token.generate_ec(role, label, curve),
                    None => token.generate_rsa(role, label, rsa_bits),
                }
                .map_err(what)?;
                Ok(Arc::new(key))
            }
        }
    }

    /// Writes a software key to `dir/file` under this key maker's passphrase (in clear without
    /// one: the development default only). A token key maker writes nothing.
    pub fn store_software(
        &self,
        dir: &Path,
        key: &SoftwareKey,
        file: &Path,
    ) -> Result<(), KeymakerError> {
        let Keymaker::Software { passphrase } = self else {
            return Ok(());
        };
        let path = dir.join(file);
        match passphrase {
            Some(p) => key.write_encrypted_pkcs8_pem(&path, p.as_bytes()),
            None => key.write_pkcs8_pem(&path),
        }
        .map_err(|source| KeymakerError::KeyFile { path, source })
    }
}
