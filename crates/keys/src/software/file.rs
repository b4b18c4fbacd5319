//! Key files: mode checks, PEM/DER reading, and writing with mode 0600 from the first instant.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use der::asn1::{AnyRef, OctetStringRef};
use der::pem::LineEnding;
use der::{Decode, SecretDocument};
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::oids;
use crate::secret::{PrivateFileError, read_private_file};

/// Key files larger than this are not keys (an RSA-8192 PKCS#8 PEM is about 6.5 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

const PKCS8_LABEL: &str = "PRIVATE KEY";
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const PKCS1_LABEL: &str = "RSA PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";

/// What a key file holds once its PEM armour (if any) is removed.
pub(super) enum KeyBytes {
    /// PKCS#8 `PrivateKeyInfo` DER, ready to use.
    Plain(SecretDocument),
    /// PKCS#8 `EncryptedPrivateKeyInfo` DER (RFC 5208 §6), to decrypt with a passphrase.
    Encrypted(Zeroizing<Vec<u8>>),
}

/// Read a private key file (plain or encrypted).
///
/// The mode is checked on the opened file (fstat), not on the path, so the file that is
/// checked is the file that is read.
pub(super) fn read_key_file(path: &Path) -> Result<KeyBytes, KeyError> {
    let bytes = read_private_file(path, MAX_KEY_FILE).map_err(|e| match e {
        PrivateFileError::Io(source) => KeyError::Io {
            path: path.to_path_buf(),
            source,
        },
        PrivateFileError::Mode(mode) => KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        },
        PrivateFileError::NotRegularOrTooLarge => {
            KeyError::Format("not a regular file of a plausible size")
        }
    })?;
    decode(&bytes)
}

/// PKCS#8 DER from PEM (`PRIVATE KEY`, or `RSA PRIVATE KEY` which is wrapped) or raw DER;
/// refuses an encrypted key (use [`decode`] where a passphrase may be at hand).
pub(super) fn decode_pkcs8(bytes: &[u8]) -> Result<SecretDocument, KeyError> {
    match decode(bytes)? {
        KeyBytes::Plain(doc) => Ok(doc),
        KeyBytes::Encrypted(_) => Err(KeyError::EncryptedKey),
    }
}

/// Plain or encrypted PKCS#8 from PEM or raw DER.
pub(super) fn decode(bytes: &[u8]) -> Result<KeyBytes, KeyError> {
    let trimmed = bytes.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN ") {
        // Raw DER: an EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier SEQUENCE, a
        // PrivateKeyInfo with an INTEGER version, so at most one of the two parses.
        if EncryptedPrivateKeyInfoRef::from_der(bytes).is_ok() {
            return Ok(KeyBytes::Encrypted(Zeroizing::new(bytes.to_vec())));
        }
        return SecretDocument::try_from(bytes)
            .map(KeyBytes::Plain)
            .map_err(|_| KeyError::Format("invalid DER"));
    }
    let text = std::str::from_utf8(trimmed).map_err(|_| KeyError::Format("PEM is not UTF-8"))?;
    let (label, doc) =
        SecretDocument::from_pem(text).map_err(|_| KeyError::Format("invalid PEM"))?;
    match label {
        PKCS8_LABEL => Ok(KeyBytes::Plain(doc)),
        PKCS1_LABEL => wrap_pkcs1(doc.as_bytes()).map(KeyBytes::Plain),
        ENCRYPTED_PKCS8_LABEL => Ok(KeyBytes::Encrypted(Zeroizing::new(doc.as_bytes().to_vec()))),
        SEC1_LABEL => Err(KeyError::Format(
            "SEC1 EC key: convert it with `openssl pkcs8 -topk8 -nocrypt`",
        )),
        _ => Err(KeyError::Format("unexpected PEM label")),
    }
}

/// ```asn1
/// PrivateKeyInfo ::= SEQUENCE {
///     version                   Version,
///     privateKeyAlgorithm       AlgorithmIdentifier,  -- rsaEncryption, NULL
///     privateKey                OCTET STRING }        -- the RSAPrivateKey
/// ```
/// RFC 5208 §5: lets operators bring an OpenSSL "traditional" RSA key unchanged.
fn wrap_pkcs1(pkcs1_der: &[u8]) -> Result<SecretDocument, KeyError> {
    let private_key =
        OctetStringRef::new(pkcs1_der).map_err(|_| KeyError::Format("invalid RSA key"))?;
    let info = PrivateKeyInfoRef::new(
        AlgorithmIdentifierRef {
            oid: oids::RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        private_key,
    );
    SecretDocument::encode_msg(&info).map_err(|_| KeyError::Format("invalid RSA key"))
}

/// The key algorithm OID and, for EC keys, the named curve.
pub(super) fn key_algorithm(
    pkcs8_der: &[u8],
) -> Result<
    (
        der::asn1::ObjectIdentifier,
        Option<der::asn1::ObjectIdentifier>,
    ),
    KeyError,
> {
    let info = PrivateKeyInfoRef::from_der(pkcs8_der)
        .map_err(|_| KeyError::Format("invalid PrivateKeyInfo"))?;
    let curve = info
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
    Ok((info.algorithm.oid, curve))
}

/// Write `pkcs8_der` as PEM to a new file created with mode 0600.
pub(super) fn write_pkcs8_pem(path: &Path, pkcs8_der: &[u8]) -> Result<(), KeyError> {
    write_pem(path, PKCS8_LABEL, pkcs8_der)
}

/// Write an `EncryptedPrivateKeyInfo` as `ENCRYPTED PRIVATE KEY` PEM, mode 0600.
pub(super) fn write_encrypted_pkcs8_pem(path: &Path, encrypted_der: &[u8]) -> Result<(), KeyError> {
    write_pem(path, ENCRYPTED_PKCS8_LABEL, encrypted_der)
}

/// `create_new` refuses to follow or replace an existing file (or symlink) and the mode is
/// given to open(2), so the key is never readable by others, not even before a chmod.
fn write_pem(path: &Path, label: &str, der: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pem = Zeroizing::new(
        der::pem::encode_string(label, LineEnding::LF, der)
            .map_err(|_| KeyError::Format("PEM encoding failed"))?,
    );
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}
