//! Why the TLS of a listener or link of scepd could not be set up. The shared policy —
//! versions, suites, key files — is [`edge::tls`]; the configurations built on it are the
//! admin listener's, [`super::admin::tls`], and the split deployment's link,
//! [`super::ca_link::tls`].

use std::path::PathBuf;

use keys::io_context::FileError;
use keys::pem::PemError;

/// Why a TLS key, certificate or configuration could not be set up. Every message names the
/// file or the listener it is about.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Certificates(#[from] PemError),
    /// A private key file written or read through [`edge::tls`].
    #[error(transparent)]
    Key(#[from] edge::tls::KeyFileError),
    /// A PEM file (certificate chain) that does not parse.
    #[error("{what}: {source}")]
    Pem {
        what: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no CERTIFICATE in the file", path.display())]
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
}

/// The SCEP listener's HTTPS configuration: the shared versions and suites
/// ([`edge::tls`]), the operator's certificate chain and key, no client certificates (devices
/// authenticate inside SCEP).
pub fn scep_server_config(
    certificate: &std::path::Path,
    private_key: &std::path::Path,
) -> Result<rustls::ServerConfig, TlsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Pem {
            what: format!("{}: scep.tls_certificate", certificate.display()),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: certificate.to_path_buf(),
        });
    }
    let key = edge::tls::read_key(private_key)?;
    let rustls = |source| TlsError::Rustls {
        what: format!(
            "SCEP TLS listener ({} with {})",
            certificate.display(),
            private_key.display()
        ),
        source,
    };
    let mut server = rustls::ServerConfig::builder_with_provider(edge::tls::provider())
        .with_protocol_versions(edge::tls::VERSIONS)
        .map_err(rustls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(rustls)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(server)
}
