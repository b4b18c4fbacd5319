//! The TLS every listener and link of scepd shares (rustls, aws-lc-rs): TLS 1.2 and 1.3 only,
//! ECDHE key exchange with AEAD ciphers only (NIST SP 800-52r2), and private key files only
//! their owner can read. The configurations built on it (the admin listener's, the split
//! deployment's link) are the binary's.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::SupportedCipherSuite;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

/// Why a TLS private key file could not be written or read. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// An I/O error: "reading /path: No such file or directory".
    #[error("{doing} {}: {source}", path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: a TLS private key readable by group or others (mode {mode:o}); chmod 600 it",
        path.display()
    )]
    ReadableByOthers { path: PathBuf, mode: u32 },
    /// A key file that does not parse as PEM.
    #[error("{what}: {source}")]
    Pem {
        what: String,
        source: rustls::pki_types::pem::Error,
    },
}

/// Names the file and what was being done to it.
fn io(path: &Path, doing: &'static str) -> impl FnOnce(std::io::Error) -> KeyFileError {
    move |source| KeyFileError::Io {
        doing,
        path: path.to_owned(),
        source,
    }
}

/// The protocol versions every listener and link accepts.
pub const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Every suite here is ECDHE (TLS 1.2) or TLS 1.3, and AEAD. Nothing with CBC, RSA key
/// transport or SHA-1 MACs can be negotiated, whatever a client offers.
fn cipher_suites() -> Vec<SupportedCipherSuite> {
    use aws_lc_rs::cipher_suite as cs;
    vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
}

/// aws-lc-rs with only `cipher_suites`.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: cipher_suites(),
        ..aws_lc_rs::default_provider()
    })
}

/// Writes a new private key file (PEM), mode 0600 from its first byte, never over an
/// existing file.
pub fn write_private_key(path: &Path, pem: &[u8]) -> Result<(), KeyFileError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path, "creating"))?;
    file.write_all(pem).map_err(io(path, "writing"))?;
    Ok(())
}

/// Reads a TLS private key, refusing one that group or others can read.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, KeyFileError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path, "reading"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::ReadableByOthers {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    PrivateKeyDer::from_pem_file(path).map_err(|source| KeyFileError::Pem {
        what: format!("{}: TLS key", path.display()),
        source,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_ecdhe_aead_suites_are_offered() {
        for suite in cipher_suites() {
            let name = format!("{:?}", suite.suite());
            assert!(
                name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_"),
                "{name}"
            );
            assert!(
                name.contains("GCM") || name.contains("CHACHA20_POLY1305"),
                "{name}"
            );
        }
    }

    #[test]
    fn a_private_key_is_written_once_for_its_owner_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls.key");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        write_private_key(&path, key.serialize_pem().as_bytes()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(read_key(&path).is_ok());
        let again = write_private_key(&path, b"other").unwrap_err();
        assert!(again.to_string().starts_with("creating "), "{again}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("tls.key") && err.contains("644"), "{err}");
    }
}
