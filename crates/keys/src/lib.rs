//! Key roles, the `Signer` / `Decrypter` traits, the software key backend, signature
//! verification and the envelope ciphers. The only crate of the workspace that touches private
//! keys.
//!
//! It also loads a data directory's role keys and certificates ([`keystore`], from the
//! [`locations`] the service reads from its configuration), the retired and prepared ones
//! ([`key_history`]), and reads and writes certificate files ([`pem`]).
//!
//! Private keys stay behind [`Signer`] and [`Decrypter`]: callers hand in bytes and get a
//! signature or a plaintext back, never the key. That is what lets a PKCS#11 token (blocking
//! calls, a session pool, non-exportable keys) implement the same traits later: both take
//! `&self`, are `Send + Sync`, and are fallible.
#![forbid(unsafe_code)]

mod algorithm;
mod algorithm_id;
pub mod cipher;
mod envelope;
mod error;
pub mod io_context;
pub mod key_history;
pub mod keymaker;
pub mod keystore;
pub mod locations;
pub mod oids;
pub mod pem;
pub mod pkcs11;
pub mod random;
mod role;
pub mod role_fit;
pub mod secret;
pub mod software;
pub mod verify;

use std::fmt::Debug;

use zeroize::Zeroizing;

pub use algorithm::{DigestAlgorithm, SignatureAlgorithm};
pub use cipher::{ContentCipher, decrypt_cbc, encrypt_cbc, encrypt_rsa_pkcs1v15};
pub use envelope::unwrap_content_key;
pub use error::{CipherError, KeyError, VerifyError};
pub use role::KeyRole;

/// A private key that signs: the CA signing key, or the RA (enrollment agent) signing key.
///
/// Implementations must be cheap to share (`Arc<dyn Signer>`) and safe to call from several
/// threads; a backend whose calls block (an HSM) is called off the async workers by the caller.
pub trait Signer: Send + Sync + Debug {
    /// The one job this key was loaded for.
    fn role(&self) -> KeyRole;

    /// The public key as DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    fn public_key_spki_der(&self) -> &[u8];

    /// What to sign with when nothing else is asked for: SHA-256 (RSA) or the curve's hash.
    fn default_algorithm(&self) -> SignatureAlgorithm;

    /// Sign `msg` (the whole message; the backend hashes it). Refuses an algorithm that does
    /// not fit the key type. RSA signatures are PKCS#1 v1.5; ECDSA signatures are the DER
    /// `Ecdsa-Sig-Value` used by X.509 and CMS (RFC 5480 §2.2 / RFC 5753), not the fixed form.
    fn sign(&self, alg: SignatureAlgorithm, msg: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Whether [`Signer::sign`] can produce `alg` with this key. The default looks at the
    /// public key type only; a backend lacking some algorithm overrides it.
    fn supports(&self, alg: SignatureAlgorithm) -> bool {
        verify::describe_public_key(self.public_key_spki_der())
            .map(|kind| kind.can_sign(alg))
            .unwrap_or(false)
    }
}

/// A private RSA key that decrypts SCEP envelopes (the RA's "CEP encryption" key).
pub trait Decrypter: Send + Sync + Debug {
    /// The one job this key was loaded for (always [`KeyRole::RaDecryption`] for a key that
    /// actually decrypts).
    fn role(&self) -> KeyRole;

    /// The public key as DER `SubjectPublicKeyInfo`.
    fn public_key_spki_der(&self) -> &[u8];

    /// RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2) of a key-transport `encryptedKey`.
    ///
    /// Callers that decrypt attacker-supplied ciphertexts must not branch on the result
    /// themselves: use [`unwrap_content_key`], which turns every failure into a random key.
    fn decrypt_rsa_pkcs1v15(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}
