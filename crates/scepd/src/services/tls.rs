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
}
