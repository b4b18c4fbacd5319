//! Minting a signed challenge, as an MDM does (and `scepd challenge mint-signed`, and the
//! tests): the header and claims are checked as the verifier will check them, so nothing
//! is minted that scepd would refuse for its shape.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};

use crate::claims::Claims;
use crate::error::ChallengeError;
use crate::keys::{Algorithm, KeyError, check_kid};
use crate::token::{Header, TOKEN_TYPE, encode};

/// Why no challenge was minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    #[error(transparent)]
    Kid(#[from] KeyError),
    #[error("not an unencrypted PKCS#8 P-256 or Ed25519 private key")]
    NotASigningKey,
    #[error("claims scepd would refuse: {0}")]
    Claims(#[from] ChallengeError),
    #[error("signing failed")]
    Signing,
}

/// Signs `claims` with `signing_key_pkcs8_der` (PKCS#8 DER, P-256 → ES256 or Ed25519 →
/// EdDSA) under `kid`, and returns the compact JWS: the challenge password a device
/// presents.
pub fn mint(signing_key_pkcs8_der: &[u8], kid: &str, claims: &Claims) -> Result<String, MintError> {
    check_kid(kid)?;
    claims.check_shape()?;
    let key = SigningKey::from_pkcs8(signing_key_pkcs8_der)?;
    let header = Header {
        alg: key.algorithm().jws_name().to_owned(),
        kid: kid.to_owned(),
        typ: TOKEN_TYPE.to_owned(),
    };
    let header_json = serde_json::to_vec(&header).map_err(|_| MintError::Signing)?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| MintError::Signing)?;
    let signing_input = format!("{}.{}", encode(&header_json), encode(&claims_json));
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", encode(&signature)))
}

enum SigningKey {
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    fn from_pkcs8(der: &[u8]) -> Result<Self, MintError> {
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            return Ok(Self::P256(pair));
        }
        // v1 (what `openssl genpkey` writes) or v2 (with the public key, checked).
        Ed25519KeyPair::from_pkcs8(der)
            .map(Self::Ed25519)
            .map_err(|_| MintError::NotASigningKey)
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::P256(_) => Algorithm::Es256,
            Self::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, MintError> {
        match self {
            Self::P256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| MintError::Signing),
            Self::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}
