//! PKCS#8 keys encrypted at rest with a passphrase.
//!
//! ```asn1
//! EncryptedPrivateKeyInfo ::= SEQUENCE {
//!     encryptionAlgorithm  EncryptionAlgorithmIdentifier,  -- PBES2 here
//!     encryptedData        EncryptedData }                 -- OCTET STRING
//!
//! PBES2-params ::= SEQUENCE {
//!     keyDerivationFunc    AlgorithmIdentifier {{PBES2-KDFs}},   -- scrypt or PBKDF2
//!     encryptionScheme     AlgorithmIdentifier {{PBES2-Encs}} }  -- aes256-CBC-PAD
//! ```
//! RFC 5208 §6, RFC 8018 §6.2 (PBES2), RFC 7914 §7 (scrypt in PBES2).
//!
//! Written with scrypt (N = 2^14, r = 8, p = 1: 16 MiB per guess, the parameters
//! `openssl pkcs8 -topk8 -v2 aes-256-cbc -scrypt` writes, so OpenSSL reads our files and we read
//! its) and AES-256-CBC. Read: any PBES2 with AES-CBC/GCM and scrypt or PBKDF2-HMAC-SHA2 (the
//! `pkcs5` crate with neither SHA-1 nor DES enabled), within cost limits so a tampered file
//! cannot make start-up allocate gigabytes.

use std::path::Path;

use der::Decode;
use pkcs8::pkcs5::pbes2;
use pkcs8::pkcs5::scrypt;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::random;

/// scrypt cost written by [`encrypt`]: log2(N).
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// Largest scrypt memory (128 · r · N bytes) accepted when reading: 1 GiB.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// Largest scrypt parallelisation accepted when reading.
const MAX_SCRYPT_P: u16 = 16;
/// Largest PBKDF2 iteration count accepted when reading (OWASP 2023 asks for 600 000).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// `EncryptedPrivateKeyInfo` DER of `pkcs8_der` under `passphrase`.
pub(super) fn encrypt(pkcs8_der: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, KeyError> {
    if passphrase.is_empty() {
        return Err(KeyError::Unsupported(
            "an empty passphrase does not protect a key",
        ));
    }
    let info = PrivateKeyInfoRef::from_der(pkcs8_der)
        .map_err(|_| KeyError::Format("invalid PrivateKeyInfo"))?;
    let mut salt = [0u8; 16];
    random::fill(&mut salt)?;
    let mut iv = [0u8; 16];
    random::fill(&mut iv)?;
    let invalid = |_| KeyError::Rejected("cannot build the PBES2 parameters");
    let cost = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P).map_err(invalid)?;
    let params = pbes2::Parameters::generate_scrypt_aes256cbc(cost, &salt, iv)
        .map_err(|_| KeyError::Rejected("cannot build the PBES2 parameters"))?;
    let doc = info
        .encrypt_with_params(params, passphrase)
        .map_err(|_| KeyError::Rejected("cannot encrypt the private key"))?;
    Ok(doc.as_bytes().to_vec())
}

/// The `PrivateKeyInfo` DER inside `encrypted_der`, in a zeroizing buffer.
///
/// Every failure after the cost check (PBES2 padding, a plaintext that is not a
/// `PrivateKeyInfo`) is [`KeyError::WrongPassphrase`]: a wrong passphrase shows up as either.
pub(super) fn decrypt(
    path: &Path,
    encrypted_der: &[u8],
    passphrase: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = EncryptedPrivateKeyInfoRef::from_der(encrypted_der)
        .map_err(|_| KeyError::Format("invalid EncryptedPrivateKeyInfo"))?;
    let Some(params) = info.encryption_algorithm.pbes2() else {
        return Err(KeyError::Unsupported(
            "encrypted key uses PBES1; re-encrypt it with PBES2 (openssl pkcs8 -topk8 -v2 aes-256-cbc -scrypt)",
        ));
    };
    check_cost(&params.kdf)?;
    let wrong = || KeyError::WrongPassphrase {
        path: path.to_path_buf(),
    };
    let mut buf = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let len = info
        .encryption_algorithm
        .decrypt_in_place(passphrase, &mut buf)
        .map_err(|_| wrong())?
        .len();
    buf.truncate(len);
    PrivateKeyInfoRef::from_der(&buf).map_err(|_| wrong())?;
    Ok(buf)
}

/// Refuse key derivation parameters that would take minutes or gigabytes.
fn check_cost(kdf: &pbes2::Kdf) -> Result<(), KeyError> {
    let too_costly = Err(KeyError::Unsupported(
        "encrypted key: key derivation parameters too costly",
    ));
    if let Some(s) = kdf.scrypt() {
        let memory = 128u64
            .saturating_mul(u64::from(s.block_size))
            .saturating_mul(s.cost_parameter);
        if memory > MAX_SCRYPT_MEMORY || s.parallelization > MAX_SCRYPT_P {
            return too_costly;
        }
    } else if let Some(p) = kdf.pbkdf2()
        && p.iteration_count > MAX_PBKDF2_ITERATIONS
    {
        return too_costly;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
