//! Key files: mode checks, PEM/DER reading, and writing with mode 0600 from the first instant.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use der::asn1::{AnyRef, OctetStringRef};
use der::pem::LineEnding;
use der::{Decode, SecretDocument};
use pkcs8::PrivateKeyInfoRef;
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::oids;

/// Key files larger than this are not keys (an RSA-8192 PKCS#8 PEM is about 6.5 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

const PKCS8_LABEL: &str = "PRIVATE KEY";
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const PKCS1_LABEL: &str = "RSA PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";

/// Read a private key file and return its PKCS#8 DER.
///
/// The mode is checked on the opened file (fstat), not on the path, so the file that is
/// checked is the file that is read.
pub(super) fn read_pkcs8(path: &Path) -> Result<SecretDocument, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    if !meta.is_file() || meta.len() > MAX_KEY_FILE {
        return Err(KeyError::Format("not a regular file of a plausible size"));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::Read::by_ref(&mut file)
        .take(MAX_KEY_FILE)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    decode_pkcs8(&bytes)
}

/// PKCS#8 DER from PEM (`PRIVATE KEY`, or `RSA PRIVATE KEY` which is wrapped) or raw DER.
pub(super) fn decode_pkcs8(bytes: &[u8]) -> Result<SecretDocument, KeyError> {
    let trimmed = bytes.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN ") {
        return SecretDocument::try_from(bytes).map_err(|_| KeyError::Format("invalid DER"));
    }
    let text = std::str::from_utf8(trimmed).map_err(|_| KeyError::Format("PEM is not UTF-8"))?;
    let (label, doc) =
        SecretDocument::from_pem(text).map_err(|_| KeyError::Format("invalid PEM"))?;
    match label {
        PKCS8_LABEL => Ok(doc),
        PKCS1_LABEL => wrap_pkcs1(doc.as_bytes()),
        ENCRYPTED_PKCS8_LABEL => Err(KeyError::EncryptedKey),
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
///
/// `create_new` refuses to follow or replace an existing file (or symlink) and the mode is
/// given to open(2), so the key is never readable by others, not even before a chmod.
pub(super) fn write_pkcs8_pem(path: &Path, pkcs8_der: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pem = Zeroizing::new(
        der::pem::encode_string(PKCS8_LABEL, LineEnding::LF, pkcs8_der)
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
