//! The software key backend: a PKCS#8 file per key (plain, or encrypted with a passphrase),
//! held by aws-lc-rs.
//!
//! Each loaded key has exactly one [`KeyRole`]: an RSA key loaded for
//! [`KeyRole::RaDecryption`] only decrypts, a key loaded for a signing role only signs.
//! Private key bytes only pass through zeroizing buffers on their way to aws-lc, which keeps
//! (and frees) them itself; `Debug` shows the role and the key type, nothing else.

mod encrypted;
mod file;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::{Decrypter, KeyRole, SignatureAlgorithm, Signer, oids};

/// A private key in process memory, loaded from or written to a PKCS#8 file.
pub struct SoftwareKey {
    role: KeyRole,
    key: Inner,
    spki_der: Vec<u8>,
}

enum Inner {
    /// RSA for a signing role.
    RsaSign(RsaKeyPair),
    /// RSA for [`KeyRole::RaDecryption`].
    RsaDecrypt(PrivateDecryptingKey),
    /// ECDSA; `alg` is the only algorithm the aws-lc key pair is bound to.
    Ec {
        pair: EcdsaKeyPair,
        alg: SignatureAlgorithm,
    },
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("role", &self.role)
            .field("type", &self.key_type())
            .finish_non_exhaustive()
    }
}

impl SoftwareKey {
    /// Load an unencrypted PKCS#8 key (PEM `PRIVATE KEY`, PEM `RSA PRIVATE KEY`, or DER) for
    /// `role`. Refused if the file is accessible to group or others (`mode & 0o077 != 0`), and
    /// with [`KeyError::PassphraseNeeded`] if the file is encrypted.
    ///
    /// Unencrypted keys are meant for the embedded development default only; the service says
    /// so at every start.
    pub fn load(role: KeyRole, path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        match file::read_key_file(path)? {
            file::KeyBytes::Plain(doc) => Self::from_pkcs8_der(role, doc.as_bytes()),
            file::KeyBytes::Encrypted(_) => Err(KeyError::PassphraseNeeded {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Load a PKCS#8 key encrypted with PBES2 (PEM `ENCRYPTED PRIVATE KEY` or DER
    /// `EncryptedPrivateKeyInfo`, RFC 5208 §6) for `role`, with the same mode rule as
    /// [`SoftwareKey::load`].
    ///
    /// A wrong passphrase or a damaged file is [`KeyError::WrongPassphrase`] naming the file;
    /// an unencrypted file is refused ([`KeyError::NotEncrypted`]) rather than silently
    /// accepted. The decrypted DER lives in a zeroizing buffer dropped as soon as aws-lc holds
    /// the key. Read the passphrase with [`crate::secret::read_secret`].
    pub fn load_encrypted(
        role: KeyRole,
        path: impl AsRef<Path>,
        passphrase: &[u8],
    ) -> Result<Self, KeyError> {
        let path = path.as_ref();
        match file::read_key_file(path)? {
            file::KeyBytes::Encrypted(der) => {
                let plain = encrypted::decrypt(path, &der, passphrase)?;
                Self::from_pkcs8_der(role, &plain)
            }
            file::KeyBytes::Plain(_) => Err(KeyError::NotEncrypted {
                path: path.to_path_buf(),
            }),
        }
    }

    /// A key from PEM or DER bytes already in memory (same formats as [`SoftwareKey::load`]).
    pub fn from_pkcs8(role: KeyRole, pem_or_der: &[u8]) -> Result<Self, KeyError> {
        let doc = file::decode_pkcs8(pem_or_der)?;
        Self::from_pkcs8_der(role, doc.as_bytes())
    }

    /// A key from PKCS#8 `PrivateKeyInfo` DER (RFC 5208 §5): RSA 2048..=8192, P-256, P-384.
    /// EC keys cannot take [`KeyRole::RaDecryption`] (SCEP key transport is RSA).
    pub fn from_pkcs8_der(role: KeyRole, der: &[u8]) -> Result<Self, KeyError> {
        let (alg, curve) = file::key_algorithm(der)?;
        let rejected = |e: aws_lc_rs::error::KeyRejected| KeyError::Rejected(e.description_());
        let key = if alg == oids::RSA_ENCRYPTION {
            if role == KeyRole::RaDecryption {
                Inner::RsaDecrypt(PrivateDecryptingKey::from_pkcs8(der).map_err(rejected)?)
            } else {
                Inner::RsaSign(RsaKeyPair::from_pkcs8(der).map_err(rejected)?)
            }
        } else if alg == oids::EC_PUBLIC_KEY {
            let alg = match curve {
                Some(c) if c == oids::SECP256R1 => SignatureAlgorithm::EcdsaP256Sha256,
                Some(c) if c == oids::SECP384R1 => SignatureAlgorithm::EcdsaP384Sha384,
                Some(c) => return Err(KeyError::UnsupportedKeyType(format!("EC curve {c}"))),
                None => {
                    return Err(KeyError::UnsupportedKeyType(
                        "EC without named curve".into(),
                    ));
                }
            };
            if role == KeyRole::RaDecryption {
                return Err(KeyError::Unsupported(
                    "an EC key cannot be the RA decryption key: SCEP key transport is RSA",
                ));
            }
            let pair = EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), der).map_err(rejected)?;
            Inner::Ec { pair, alg }
        } else {
            return Err(KeyError::UnsupportedKeyType(alg.to_string()));
        };
        Self::new(role, key)
    }

    /// Generate an RSA key of 2048, 3072 or 4096 bits for `role`.
    pub fn generate_rsa(role: KeyRole, bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            other => return Err(KeyError::UnsupportedKeySize(other)),
        };
        let key = if role == KeyRole::RaDecryption {
            Inner::RsaDecrypt(PrivateDecryptingKey::generate(size).map_err(|_| KeyError::Sign)?)
        } else {
            Inner::RsaSign(RsaKeyPair::generate(size).map_err(|_| KeyError::Sign)?)
        };
        Self::new(role, key)
    }

    /// Generate a P-256 key for a signing `role`.
    pub fn generate_ec_p256(role: KeyRole) -> Result<Self, KeyError> {
        Self::generate_ec(role, SignatureAlgorithm::EcdsaP256Sha256)
    }

    /// Generate a P-384 key for a signing `role`.
    pub fn generate_ec_p384(role: KeyRole) -> Result<Self, KeyError> {
        Self::generate_ec(role, SignatureAlgorithm::EcdsaP384Sha384)
    }

    fn generate_ec(role: KeyRole, alg: SignatureAlgorithm) -> Result<Self, KeyError> {
        if !role.is_signing() {
            return Err(KeyError::Unsupported(
                "an EC key cannot be the RA decryption key: SCEP key transport is RSA",
            ));
        }
        let pair = EcdsaKeyPair::generate(ecdsa_signing(alg)).map_err(|_| KeyError::Sign)?;
        Self::new(role, Inner::Ec { pair, alg })
    }

    fn new(role: KeyRole, key: Inner) -> Result<Self, KeyError> {
        let spki = match &key {
            Inner::RsaSign(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::RsaDecrypt(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Inner::Ec { pair, .. } => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        let spki_der = spki.map_err(|_| KeyError::Rejected("cannot encode the public key"))?;
        Ok(Self {
            role,
            key,
            spki_der,
        })
    }

    /// Write the key as unencrypted PKCS#8 PEM to a new file with mode 0600 (refuses to
    /// overwrite an existing file).
    pub fn write_pkcs8_pem(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        let der = self.pkcs8_der()?;
        file::write_pkcs8_pem(path.as_ref(), &der)
    }

    /// Write the key as `ENCRYPTED PRIVATE KEY` PEM (PBES2: scrypt N = 2^14, r = 8, p = 1,
    /// AES-256-CBC) to a new file with mode 0600 (refuses to overwrite an existing file).
    /// What `scepd init` writes; readable by [`SoftwareKey::load_encrypted`] and by
    /// `openssl pkcs8`. An empty passphrase is refused.
    pub fn write_encrypted_pkcs8_pem(
        &self,
        path: impl AsRef<Path>,
        passphrase: &[u8],
    ) -> Result<(), KeyError> {
        let der = self.pkcs8_der()?;
        let encrypted = encrypted::encrypt(&der, passphrase)?;
        file::write_encrypted_pkcs8_pem(path.as_ref(), &encrypted)
    }

    /// Same as [`SoftwareKey::write_pkcs8_pem`].
    pub fn write_pkcs8(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        self.write_pkcs8_pem(path)
    }

    fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = match &self.key {
            Inner::RsaSign(k) => k.as_der().map(|d| Zeroizing::new(d.as_ref().to_vec())),
            Inner::RsaDecrypt(k) => k.as_der().map(|d| Zeroizing::new(d.as_ref().to_vec())),
            Inner::Ec { pair, .. } => pair
                .to_pkcs8v1()
                .map(|d| Zeroizing::new(d.as_ref().to_vec())),
        };
        der.map_err(|_| KeyError::Rejected("cannot encode the private key"))
    }

    /// The one job this key was loaded for.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// "RSA-2048", "P-256", ... for logs and `scepd doctor`.
    pub fn key_type(&self) -> String {
        match &self.key {
            Inner::RsaSign(k) => format!("RSA-{}", k.public_modulus_len().saturating_mul(8)),
            Inner::RsaDecrypt(k) => format!("RSA-{}", k.key_size_bits()),
            Inner::Ec {
                alg: SignatureAlgorithm::EcdsaP384Sha384,
                ..
            } => "P-384".to_owned(),
            Inner::Ec { .. } => "P-256".to_owned(),
        }
    }

    /// Fail unless this key was loaded for `expected` (wiring check at start-up).
    pub fn require_role(&self, expected: KeyRole) -> Result<(), KeyError> {
        self.role.require(expected)
    }

    /// This key as a shared [`Signer`] for `expected` (a signing role).
    pub fn into_signer(self, expected: KeyRole) -> Result<Arc<dyn Signer>, KeyError> {
        self.role.require_signer(expected)?;
        Ok(Arc::new(self))
    }

    /// This key as a shared [`Decrypter`]; it must have been loaded for
    /// [`KeyRole::RaDecryption`].
    pub fn into_decrypter(self) -> Result<Arc<dyn Decrypter>, KeyError> {
        self.role.require(KeyRole::RaDecryption)?;
        Ok(Arc::new(self))
    }
}

fn ecdsa_signing(alg: SignatureAlgorithm) -> &'static signature::EcdsaSigningAlgorithm {
    if alg == SignatureAlgorithm::EcdsaP384Sha384 {
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING
    }
}

impl Signer for SoftwareKey {
    fn role(&self) -> KeyRole {
        self.role
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn default_algorithm(&self) -> SignatureAlgorithm {
        match &self.key {
            Inner::Ec { alg, .. } => *alg,
            Inner::RsaSign(_) | Inner::RsaDecrypt(_) => SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// aws-lc-rs has no SHA-1 RSA *signing*, so [`SignatureAlgorithm::RsaPkcs1Sha1`] is
    /// refused with [`KeyError::UnsupportedAlgorithm`]; replies are signed with SHA-256
    /// (micromdm's SHA-1 client accepts them: vector `rust-certrep-to-micromdm-success.der`).
    fn sign(&self, alg: SignatureAlgorithm, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !self.role.is_signing() {
            return Err(KeyError::NotPermitted {
                operation: "sign",
                role: self.role,
            });
        }
        let rng = SystemRandom::new();
        match &self.key {
            Inner::RsaSign(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    SignatureAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    SignatureAlgorithm::RsaPkcs1Sha1 => {
                        return Err(KeyError::UnsupportedAlgorithm(alg));
                    }
                    _ => return Err(KeyError::AlgorithmMismatch { algorithm: alg }),
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(encoding, &rng, msg, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Inner::Ec { pair, alg: own } => {
                if alg != *own {
                    return Err(KeyError::AlgorithmMismatch { algorithm: alg });
                }
                let sig = pair.sign(&rng, msg).map_err(|_| KeyError::Sign)?;
                Ok(sig.as_ref().to_vec())
            }
            // Unreachable through the role check above; kept explicit rather than panicking.
            Inner::RsaDecrypt(_) => Err(KeyError::NotPermitted {
                operation: "sign",
                role: self.role,
            }),
        }
    }

    fn supports(&self, alg: SignatureAlgorithm) -> bool {
        match &self.key {
            Inner::RsaSign(_) => alg.is_rsa() && alg != SignatureAlgorithm::RsaPkcs1Sha1,
            Inner::Ec { alg: own, .. } => alg == *own,
            Inner::RsaDecrypt(_) => false,
        }
    }
}

impl Decrypter for SoftwareKey {
    fn role(&self) -> KeyRole {
        self.role
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn decrypt_rsa_pkcs1v15(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let Inner::RsaDecrypt(key) = &self.key else {
            return Err(KeyError::NotPermitted {
                operation: "decrypt",
                role: self.role,
            });
        };
        // A cheap reference-counted handle on the same aws-lc key.
        let key = Pkcs1PrivateDecryptingKey::new(key.clone()).map_err(|_| KeyError::Decrypt)?;
        let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let len = key
            .decrypt(ciphertext, &mut out)
            .map_err(|_| KeyError::Decrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
