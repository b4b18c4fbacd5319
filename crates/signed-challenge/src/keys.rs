//! The MDM's public keys scepd trusts, each named by its `kid` and bound to the one JWS
//! algorithm its type allows: a P-256 key verifies ES256 only, an Ed25519 key EdDSA only. The
//! binding is made when the key is loaded, so a token's `alg` can only select a key's own
//! algorithm, never reinterpret the key (the "alg confusion" class of JWT bugs).

use const_oid::ObjectIdentifier;
use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::pki_types::pem::PemObject;
use spki::SubjectPublicKeyInfoRef;
use spki::der::Decode;

/// id-ecPublicKey (RFC 5480 §2.1.1).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / P-256.
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// id-Ed25519 (RFC 8410 §3).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The longest `kid`, and the characters it may hold: the kid is part of the id the RA
/// spends (`signed:KID:JTI`), so it never contains `:`.
pub const MAX_KID_LEN: usize = 64;

/// The JWS algorithms a signed challenge may use (RFC 7518 §3.4, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256, the signature as fixed-size `r || s` (64 bytes).
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The name a JWS header carries.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub(crate) fn from_jws_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// Why a configured public key cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("kid {0:?}: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")]
    BadKid(String),
    #[error("kid {kid:?}: not a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo)")]
    NotPem { kid: String },
    #[error("kid {kid:?}: not a DER SubjectPublicKeyInfo")]
    NotSpki { kid: String },
    #[error("kid {kid:?}: a {algorithm} key; only P-256 (ES256) and Ed25519 (EdDSA) are accepted")]
    UnsupportedKey { kid: String, algorithm: String },
}

/// One trusted public key.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedKey {
    kid: String,
    algorithm: Algorithm,
    /// The raw public key: an uncompressed P-256 point (65 bytes) or an Ed25519 key (32).
    public_key: Vec<u8>,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TrustedKey {
    /// A key from a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(kid: &str, der: &[u8]) -> Result<Self, KeyError> {
        check_kid(kid)?;
        let not_spki = || KeyError::NotSpki {
            kid: kid.to_owned(),
        };
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| not_spki())?;
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(not_spki)?
            .to_vec();
        let unsupported = |algorithm: String| KeyError::UnsupportedKey {
            kid: kid.to_owned(),
            algorithm,
        };
        let oid = spki.algorithm.oid;
        let algorithm = if oid == EC_PUBLIC_KEY {
            let curve = spki.algorithm.parameters_oid().map_err(|_| not_spki())?;
            if curve != SECP256R1 {
                return Err(unsupported(format!("EC curve {curve}")));
            }
            // Only the uncompressed form (SEC 1 §2.3.3), as every SPKI writer emits it.
            if public_key.len() != 65 || public_key.first() != Some(&4) {
                return Err(not_spki());
            }
            Algorithm::Es256
        } else if oid == ED25519 {
            if spki.algorithm.parameters.is_some() || public_key.len() != 32 {
                return Err(not_spki());
            }
            Algorithm::EdDsa
        } else {
            return Err(unsupported(format!("OID {oid}")));
        };
        Ok(Self {
            kid: kid.to_owned(),
            algorithm,
            public_key,
        })
    }

    /// A key from a PEM `PUBLIC KEY` block (what `openssl pkey -pubout` writes).
    pub fn from_spki_pem(kid: &str, pem: &[u8]) -> Result<Self, KeyError> {
        check_kid(kid)?;
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|_| KeyError::NotPem {
            kid: kid.to_owned(),
        })?;
        Self::from_spki_der(kid, der.as_ref())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Checks `signature` over `message` with this key's own algorithm.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
        let algorithm: &dyn aws_lc_rs::signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Es256 => &ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDsa => &ED25519,
        };
        UnparsedPublicKey::new(algorithm, &self.public_key)
            .verify(message, signature)
            .is_ok()
    }
}

/// A kid is `[A-Za-z0-9._-]{1,64}`.
pub(crate) fn check_kid(kid: &str) -> Result<(), KeyError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if kid.is_empty() || kid.len() > MAX_KID_LEN || !kid.chars().all(allowed) {
        return Err(KeyError::BadKid(kid.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn p256_spki() -> Vec<u8> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        pair.public_key().as_der().unwrap().as_ref().to_vec()
    }

    #[test]
    fn a_p256_key_verifies_es256_only() {
        let key = TrustedKey::from_spki_der("mdm-1", &p256_spki()).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256);
        assert_eq!(key.kid(), "mdm-1");
    }

    #[test]
    fn an_ed25519_key_verifies_eddsa_only() {
        let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let spki = pair.public_key().as_der().unwrap();
        let key = TrustedKey::from_spki_der("ed", spki.as_ref()).unwrap();
        assert_eq!(key.algorithm(), Algorithm::EdDsa);
    }

    #[test]
    fn pem_keys_are_read() {
        let der = p256_spki();
        let text = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
        );
        let key = TrustedKey::from_spki_pem("k", text.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256);
        assert!(matches!(
            TrustedKey::from_spki_pem(
                "k",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            ),
            Err(KeyError::NotPem { .. })
        ));
    }

    #[test]
    fn other_keys_and_kids_are_refused() {
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let rsa_spki = rsa.public_key().as_der().unwrap();
        assert!(matches!(
            TrustedKey::from_spki_der("rsa", rsa_spki.as_ref()),
            Err(KeyError::UnsupportedKey { .. })
        ));
        let p384 =
            EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        assert!(matches!(
            TrustedKey::from_spki_der("p384", p384.public_key().as_der().unwrap().as_ref()),
            Err(KeyError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            TrustedKey::from_spki_der("x", b"\x30\x03\x02\x01\x00"),
            Err(KeyError::NotSpki { .. })
        ));
        for kid in ["", "a:b", "a b", &"k".repeat(65), "é"] {
            assert_eq!(
                TrustedKey::from_spki_der(kid, &p256_spki()),
                Err(KeyError::BadKid(kid.to_owned()))
            );
        }
    }
}
