//! The TLS every listener and link of scepd shares (rustls, aws-lc-rs): TLS 1.2 and 1.3 only,
//! ECDHE key exchange with AEAD ciphers only (NIST SP 800-52r2), and private key files only
//! their owner can read. The admin listener's configuration is [`super::admin::tls`], the
//! split deployment's link [`super::ca_link::tls`].

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::SupportedCipherSuite;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use crate::io_context::{Context, FileError};
use crate::pem::PemError;

/// Why a TLS key, certificate or configuration could not be set up. Every message names the
/// file or the listener it is about.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error(
        "{}: a TLS private key readable by group or others (mode {mode:o}); chmod 600 it",
        path.display()
    )]
    KeyReadableByOthers { path: PathBuf, mode: u32 },
    /// A PEM file (key or certificate chain) that does not parse.
    #[error("{what}: {source}")]
    Pem {
        what: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: admin TLS certificate: no CERTIFICATE in the file", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
    /// rustls refused a part of the configuration: the protocol versions, a trust anchor, a
    /// certificate that does not go with its key.
    #[error("{what}: {source}")]
    Rustls { what: String, source: rustls::Error },
    #[error("{what}: {source}")]
    Verifier {
        what: String,
        source: rustls::server::VerifierBuilderError,
    },
    #[error("{text:?} is not a SHA-256 fingerprint (64 hex digits)")]
    Fingerprint { text: String },
}

/// For the callers whose errors are still messages.
impl From<TlsError> for String {
    fn from(error: TlsError) -> String {
        error.to_string()
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

/// aws-lc-rs with only [`cipher_suites`].
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: cipher_suites(),
        ..aws_lc_rs::default_provider()
    })
}

/// Writes a new private key file (PEM), mode 0600 from its first byte, never over an
/// existing file.
pub fn write_private_key(path: &Path, pem: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .context(path, "creating")?;
    file.write_all(pem).context(path, "writing")?;
    Ok(())
}

/// Reads a TLS private key, refusing one that group or others can read.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let mode = std::fs::metadata(path)
        .context(path, "reading")?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(TlsError::KeyReadableByOthers {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::Pem {
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
