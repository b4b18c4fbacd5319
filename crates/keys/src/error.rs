//! Errors of the `keys` crate.
//!
//! No message ever carries key material, plaintext or a recovered content key: only paths,
//! modes, sizes, algorithm names and OIDs.

use std::path::PathBuf;

use crate::{KeyRole, SignatureAlgorithm};

/// Loading, generating, storing or using a private key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The key file can be read or written by the group or by others.
    #[error(
        "key file {path} has mode {mode:04o}: a private key must not be accessible to group or others (chmod 600)"
    )]
    InsecurePermissions {
        /// The file concerned.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key bytes are encrypted (`ENCRYPTED PRIVATE KEY`) and were given without a passphrase.
    #[error("the key is encrypted (ENCRYPTED PRIVATE KEY): load it with its passphrase")]
    EncryptedKey,
    /// The key file is encrypted and was loaded without a passphrase.
    #[error(
        "key file {path} is encrypted: give its passphrase in the environment variable SCEPD_KEY_PASSPHRASE or in a file named by `[keys] passphrase_file` (never on the command line)"
    )]
    PassphraseNeeded {
        /// The file concerned.
        path: PathBuf,
    },
    /// A passphrase was given for a key file that is not encrypted: refused so that an operator
    /// never believes a plaintext key is protected.
    #[error(
        "key file {path} is not encrypted although a passphrase was given: encrypt it (`openssl pkcs8 -topk8 -v2 aes-256-cbc -scrypt`) or remove the passphrase"
    )]
    NotEncrypted {
        /// The file concerned.
        path: PathBuf,
    },
    /// The encrypted key could not be decrypted (PBES2 padding or the decrypted PKCS#8 failed).
    #[error("cannot decrypt {path}: wrong passphrase or corrupted file")]
    WrongPassphrase {
        /// The file concerned.
        path: PathBuf,
    },
    /// A secret (passphrase, PIN) could not be read. Names where it was looked for, never the
    /// value.
    #[error("secret {origin}: {problem}")]
    Secret {
        /// `file PATH` or `environment variable NAME`.
        origin: String,
        /// What is wrong, without the value.
        problem: String,
    },
    /// The bytes are not a PKCS#8 private key this crate can read.
    #[error("not a PKCS#8 private key: {0}")]
    Format(&'static str),
    /// The key type or curve is not one of RSA, P-256, P-384.
    #[error("unsupported key type: {0}")]
    UnsupportedKeyType(String),
    /// RSA key size outside what this crate generates or accepts.
    #[error("unsupported RSA key size: {0} bits")]
    UnsupportedKeySize(usize),
    /// The cryptographic library refused the key (inconsistent or out-of-range parameters).
    #[error("key rejected: {0}")]
    Rejected(&'static str),
    /// The requested signature algorithm does not fit this key (e.g. ECDSA with an RSA key).
    #[error("signature algorithm {algorithm:?} does not match the key")]
    AlgorithmMismatch {
        /// The algorithm that was asked for.
        algorithm: SignatureAlgorithm,
    },
    /// The backend cannot produce this algorithm although it fits the key type.
    #[error("signature algorithm {0:?} is not supported by this key backend")]
    UnsupportedAlgorithm(SignatureAlgorithm),
    /// A key of one role was offered where another role is needed (DESIGN.md §2: no key
    /// does two jobs).
    #[error("a {actual} key was given where a {expected} key is needed")]
    WrongRole {
        /// The role needed.
        expected: KeyRole,
        /// The role the key was loaded for.
        actual: KeyRole,
    },
    /// The key's role does not permit this operation (e.g. signing with the RA decryption key).
    #[error("a {role} key may not {operation}")]
    NotPermitted {
        /// What was attempted ("sign", "decrypt").
        operation: &'static str,
        /// The role the key was loaded for.
        role: KeyRole,
    },
    /// The key cannot do this kind of operation at all (e.g. decrypt with an EC key).
    #[error("{0}")]
    Unsupported(&'static str),
    /// Signing failed inside the backend.
    #[error("signing failed")]
    Sign,
    /// RSA decryption failed. Deliberately carries no detail (padding, length): see
    /// [`crate::unwrap_content_key`].
    #[error("decryption failed")]
    Decrypt,
    /// The operating system's random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
    /// A hardware or remote backend failed (reserved for the PKCS#11 backend).
    #[error("key backend: {0}")]
    Backend(String),
}

/// A signature or public key did not verify or is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The SubjectPublicKeyInfo is not valid DER.
    #[error("malformed public key")]
    MalformedPublicKey,
    /// The public key algorithm is not RSA or EC.
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKeyAlgorithm(String),
    /// An EC key with explicit (specifiedCurve) parameters instead of a named curve
    /// (CVE-2022-0778 class; RFC 5480 §2.1.1 forbids them).
    #[error("EC public key with explicit curve parameters")]
    ExplicitCurveParameters,
    /// An EC named curve other than P-256 or P-384.
    #[error("unsupported elliptic curve {0}")]
    UnsupportedCurve(String),
    /// RSA modulus outside 2048..=8192 bits.
    #[error("RSA key size {0} bits outside 2048..=8192")]
    RsaKeySize(usize),
    /// An AlgorithmIdentifier that is not valid DER or has unexpected parameters.
    #[error("malformed algorithm identifier")]
    MalformedAlgorithm,
    /// A signature or digest algorithm this crate does not accept (MD5, DSA, RSASSA-PSS, ...).
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// CMS digestAlgorithm and signatureAlgorithm name different hashes.
    #[error("digest algorithm {digest} does not match signature algorithm {signature}")]
    DigestMismatch {
        /// The digest algorithm OID.
        digest: String,
        /// The signature algorithm OID.
        signature: String,
    },
    /// The signature algorithm does not fit the public key (e.g. ECDSA with an RSA key).
    #[error("signature algorithm {0:?} does not match the public key")]
    AlgorithmKeyMismatch(SignatureAlgorithm),
    /// The signature is not valid.
    #[error("invalid signature")]
    BadSignature,
}

/// Symmetric envelope encryption or RSA key transport failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CipherError {
    /// The key length does not match the cipher.
    #[error("content key length {actual} does not match the cipher ({expected} bytes)")]
    KeyLength {
        /// What the cipher needs.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// The IV length does not match the cipher's block size.
    #[error("IV length {actual} does not match the cipher ({expected} bytes)")]
    IvLength {
        /// What the cipher needs.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// The ciphertext length or its padding is wrong. One variant for both on purpose: the
    /// caller must not be able to tell them apart (CBC padding oracle, security-catalogue D4).
    #[error("content decryption failed")]
    Decrypt,
    /// The recipient public key is not an acceptable RSA key.
    #[error("recipient public key: {0}")]
    RecipientKey(&'static str),
    /// RSA encryption failed (e.g. plaintext too long for the key).
    #[error("RSA encryption failed")]
    Encrypt,
}
