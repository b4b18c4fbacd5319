//! Client key pairs: what a device holds before it has a certificate.
//!
//! RSA and P-256 keys live in aws-lc-rs. aws-lc-rs refuses RSA keys below 2048 bits, which
//! is exactly what the refusal tests need to send, so [`ClientKey::generate_rsa_with_openssl`]
//! keeps such a key in a 0600 file and signs through the `openssl` command line instead.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;
use keys::SignatureAlgorithm;

use crate::error::ClientError;

/// A client private key (test material: nothing here is zeroized or protected).
pub struct ClientKey {
    inner: Inner,
    spki_der: Vec<u8>,
}

enum Inner {
    /// One PKCS#8 key loaded twice: aws-lc-rs separates signing and decrypting key types.
    Rsa {
        sign: RsaKeyPair,
        decrypt: PrivateDecryptingKey,
    },
    EcP256(EcdsaKeyPair),
    /// A key aws-lc-rs will not hold (RSA < 2048 bits), used through the openssl CLI.
    Openssl(OpensslKey),
}

struct OpensslKey {
    path: PathBuf,
    bits: usize,
}

impl Drop for OpensslKey {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("type", &self.key_type())
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A fresh RSA key of 2048, 3072 or 4096 bits.
    pub fn generate_rsa(bits: usize) -> Result<Self, ClientError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(ClientError::Unsupported("RSA size (2048, 3072, 4096)")),
        };
        let pair = RsaKeyPair::generate(size).map_err(|_| keys::KeyError::Sign)?;
        let der = pair
            .as_der()
            .map_err(|_| keys::KeyError::Rejected("cannot encode the key"))?;
        Self::from_pkcs8_der(der.as_ref())
    }

    /// A fresh P-256 key.
    pub fn generate_ec_p256() -> Result<Self, ClientError> {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| keys::KeyError::Sign)?;
        let spki_der = spki_of(pair.public_key().as_der())?;
        Ok(Self {
            inner: Inner::EcP256(pair),
            spki_der,
        })
    }

    /// An RSA key of any size the local `openssl` accepts (1024 for weak-key tests), kept in a
    /// 0600 file under the temporary directory and removed on drop.
    pub fn generate_rsa_with_openssl(bits: usize) -> Result<Self, ClientError> {
        let name = format!("scep-client-{}.pem", hex(&keys::random::bytes(12)?));
        let path = std::env::temp_dir().join(name);
        let key = OpensslKey { path, bits };
        run_openssl(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
                .arg(format!("rsa_keygen_bits:{bits}"))
                .arg("-out")
                .arg(&key.path),
            None,
        )?;
        let spki_der = run_openssl(
            Command::new("openssl")
                .args(["pkey", "-pubout", "-outform", "DER", "-in"])
                .arg(&key.path),
            None,
        )?;
        Ok(Self {
            inner: Inner::Openssl(key),
            spki_der,
        })
    }

    /// A key from PKCS#8 PEM (`PRIVATE KEY`) or DER: RSA 2048..=8192 or P-256.
    pub fn from_pkcs8(pem_or_der: &[u8]) -> Result<Self, ClientError> {
        if pem_or_der.starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(pem_or_der).map_err(|_| ClientError::Invalid("PEM"))?;
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .concat();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .map_err(|_| ClientError::Invalid("PEM base64"))?;
            Self::from_pkcs8_der(&der)
        } else {
            Self::from_pkcs8_der(pem_or_der)
        }
    }

    /// A key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, ClientError> {
        let rejected =
            |e: aws_lc_rs::error::KeyRejected| keys::KeyError::Rejected(e.description_());
        if let Ok(sign) = RsaKeyPair::from_pkcs8(der) {
            let decrypt = PrivateDecryptingKey::from_pkcs8(der).map_err(rejected)?;
            let spki_der = spki_of(sign.public_key().as_der())?;
            return Ok(Self {
                inner: Inner::Rsa { sign, decrypt },
                spki_der,
            });
        }
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(rejected)?;
        let spki_der = spki_of(pair.public_key().as_der())?;
        Ok(Self {
            inner: Inner::EcP256(pair),
            spki_der,
        })
    }

    /// The public key, DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// "RSA-2048", "RSA-1024 (openssl)", "P-256".
    #[must_use]
    pub fn key_type(&self) -> String {
        match &self.inner {
            Inner::Rsa { sign, .. } => {
                format!("RSA-{}", sign.public_modulus_len().saturating_mul(8))
            }
            Inner::EcP256(_) => "P-256".to_owned(),
            Inner::Openssl(k) => format!("RSA-{} (openssl)", k.bits),
        }
    }

    /// Whether this is an RSA key (it can then receive a reply envelope).
    #[must_use]
    pub fn is_rsa(&self) -> bool {
        !matches!(self.inner, Inner::EcP256(_))
    }

    /// The signature algorithm for `digest` with this key: PKCS#1 v1.5 for RSA, ECDSA for EC
    /// (only SHA-256 on P-256: the aws-lc key pair is bound to one hash).
    pub fn signature_algorithm(
        &self,
        digest: scep::DigestAlgorithm,
    ) -> Result<SignatureAlgorithm, ClientError> {
        use scep::DigestAlgorithm as D;
        Ok(match (&self.inner, digest) {
            (Inner::EcP256(_), D::Sha256) => SignatureAlgorithm::EcdsaP256Sha256,
            (Inner::EcP256(_), _) => {
                return Err(ClientError::Unsupported(
                    "P-256 keys sign with SHA-256 only",
                ));
            }
            (_, D::Sha1) => SignatureAlgorithm::RsaPkcs1Sha1,
            (_, D::Sha384) => SignatureAlgorithm::RsaPkcs1Sha384,
            (_, D::Sha512) => SignatureAlgorithm::RsaPkcs1Sha512,
            (_, _) => SignatureAlgorithm::RsaPkcs1Sha256,
        })
    }

    /// Signs `msg` (hashed inside). aws-lc-rs cannot make SHA-1 RSA signatures: those are
    /// only available for openssl-held keys.
    pub fn sign(&self, alg: SignatureAlgorithm, msg: &[u8]) -> Result<Vec<u8>, ClientError> {
        match &self.inner {
            Inner::Rsa { sign, .. } => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    SignatureAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => return Err(ClientError::Unsupported("this algorithm with an RSA key")),
                };
                let mut sig = vec![0u8; sign.public_modulus_len()];
                sign.sign(encoding, &SystemRandom::new(), msg, &mut sig)
                    .map_err(|_| keys::KeyError::Sign)?;
                Ok(sig)
            }
            Inner::EcP256(pair) => {
                if alg != SignatureAlgorithm::EcdsaP256Sha256 {
                    return Err(ClientError::Unsupported("this algorithm with a P-256 key"));
                }
                let sig = pair
                    .sign(&SystemRandom::new(), msg)
                    .map_err(|_| keys::KeyError::Sign)?;
                Ok(sig.as_ref().to_vec())
            }
            Inner::Openssl(key) => {
                let digest = match alg {
                    SignatureAlgorithm::RsaPkcs1Sha1 => "-sha1",
                    SignatureAlgorithm::RsaPkcs1Sha256 => "-sha256",
                    SignatureAlgorithm::RsaPkcs1Sha384 => "-sha384",
                    SignatureAlgorithm::RsaPkcs1Sha512 => "-sha512",
                    _ => return Err(ClientError::Unsupported("this algorithm with an RSA key")),
                };
                run_openssl(
                    Command::new("openssl")
                        .args(["dgst", digest, "-sign"])
                        .arg(&key.path),
                    Some(msg),
                )
            }
        }
    }

    /// RSAES-PKCS1-v1_5 decryption of a reply's content-encryption key.
    pub fn decrypt_rsa_pkcs1v15(&self, ciphertext: &[u8]) -> Result<Vec<u8>, ClientError> {
        match &self.inner {
            Inner::Rsa { decrypt, .. } => {
                let key = Pkcs1PrivateDecryptingKey::new(decrypt.clone())
                    .map_err(|_| keys::KeyError::Decrypt)?;
                let mut out = vec![0u8; key.min_output_size()];
                let len = key
                    .decrypt(ciphertext, &mut out)
                    .map_err(|_| keys::KeyError::Decrypt)?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            Inner::Openssl(key) => run_openssl(
                Command::new("openssl")
                    .args(["pkeyutl", "-decrypt", "-inkey"])
                    .arg(&key.path),
                Some(ciphertext),
            ),
            Inner::EcP256(_) => Err(ClientError::Unsupported("decryption with an EC key")),
        }
    }
}

fn spki_of(
    der: Result<aws_lc_rs::encoding::PublicKeyX509Der<'_>, aws_lc_rs::error::Unspecified>,
) -> Result<Vec<u8>, ClientError> {
    der.map(|d| d.as_ref().to_vec())
        .map_err(|_| ClientError::Key(keys::KeyError::Rejected("cannot encode the public key")))
}

/// Runs an openssl command with `input` on stdin; its stdout on success.
fn run_openssl(command: &mut Command, input: Option<&[u8]>) -> Result<Vec<u8>, ClientError> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ClientError::Openssl(format!("cannot run openssl: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.unwrap_or_default())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(ClientError::Openssl(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(out.stdout)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_sign_and_verify() {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, b"m").unwrap();
        keys::verify::verify_signature(
            key.spki_der(),
            SignatureAlgorithm::RsaPkcs1Sha256,
            b"m",
            &sig,
        )
        .unwrap();
        assert!(key.sign(SignatureAlgorithm::RsaPkcs1Sha1, b"m").is_err());
        assert_eq!(key.key_type(), "RSA-2048");
    }

    #[test]
    fn ec_keys_sign_and_verify() {
        let key = ClientKey::generate_ec_p256().unwrap();
        let sig = key.sign(SignatureAlgorithm::EcdsaP256Sha256, b"m").unwrap();
        keys::verify::verify_signature(
            key.spki_der(),
            SignatureAlgorithm::EcdsaP256Sha256,
            b"m",
            &sig,
        )
        .unwrap();
        assert!(!key.is_rsa());
    }

    #[test]
    fn rsa_round_trips_a_content_key() {
        let key = ClientKey::from_pkcs8(include_bytes!("../testdata/rust-ra.key")).unwrap();
        let ct = keys::encrypt_rsa_pkcs1v15(key.spki_der(), b"0123456789abcdef").unwrap();
        assert_eq!(key.decrypt_rsa_pkcs1v15(&ct).unwrap(), b"0123456789abcdef");
    }

    #[test]
    fn weak_rsa_keys_come_from_openssl() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: no openssl");
            return;
        }
        let key = ClientKey::generate_rsa_with_openssl(1024).unwrap();
        assert_eq!(
            keys::verify::rsa_modulus_bits(key.spki_der()).unwrap(),
            1024
        );
        let sig = key.sign(SignatureAlgorithm::RsaPkcs1Sha256, b"m").unwrap();
        assert_eq!(sig.len(), 128);
        // keys::verify refuses < 2048 bits: exactly what the RA will do with it.
        assert!(matches!(
            keys::verify::verify_signature(
                key.spki_der(),
                SignatureAlgorithm::RsaPkcs1Sha256,
                b"m",
                &sig
            ),
            Err(keys::VerifyError::RsaKeySize(1024))
        ));
    }
}
