//! TLS between the split services (the shared versions and suites of
//! [`edge::tls`]): the CA's statement listener requires a client certificate that chains to the CA
//! *and* is a registered, unrevoked RA TLS certificate, checked inside the handshake, so an
//! unlisted client never gets to send a byte of HTTP; the RA pins the CA (both mechanisms are
//! [`edge::pinning`]'s; the configurations are the split deployment's).

use std::path::Path;
use std::sync::Arc;

use edge::pinning::AllowListVerifier;
pub use edge::pinning::{AllowList, fingerprint, parse_fingerprint, pinned_client_config};
use edge::tls::{VERSIONS, provider, write_private_key};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::services::tls::TlsError;

/// Makes a P-256 TLS key, writes it as PKCS#8 PEM with mode 0600 (never over an existing
/// file) and returns its SubjectPublicKeyInfo DER.
pub fn generate_key(path: &Path) -> Result<Vec<u8>, TlsError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| {
        TlsError::Generate {
            what: "making a TLS key",
            source,
        }
    })?;
    let pem = zeroize::Zeroizing::new(key.serialize_pem());
    write_private_key(path, pem.as_bytes())?;
    Ok(rcgen::PublicKeyData::subject_public_key_info(&key))
}

fn rustls_error(what: &'static str) -> impl Fn(rustls::Error) -> TlsError {
    move |source| TlsError::Rustls {
        what: what.to_owned(),
        source,
    }
}

fn roots(certificates: &[Vec<u8>]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for der in certificates {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(rustls_error("trust anchor"))?;
    }
    Ok(roots)
}

fn server_config_with(
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(rustls_error("CA service TLS"))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain.into_iter().map(CertificateDer::from).collect(), key)
        .map_err(rustls_error(
            "CA service TLS certificate and key do not go together",
        ))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The statement listener: client certificate mandatory, chained to `client_roots` and on
/// `allow`.
pub fn statement_server_config(
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
    client_roots: &[Vec<u8>],
    allow: Arc<AllowList>,
) -> Result<ServerConfig, TlsError> {
    let inner =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_roots)?), provider())
            .build()
            .map_err(|source| TlsError::Verifier {
                what: "CA service client verifier".into(),
                source,
            })?;
    let verifier: Arc<dyn ClientCertVerifier> = Arc::new(AllowListVerifier::new(inner, allow));
    server_config_with(chain, key, Some(verifier))
}

/// The registration listener: server authentication only (the one-time code authenticates).
pub fn registration_server_config(
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TlsError> {
    server_config_with(chain, key, None)
}

/// The RA toward the CA: the server must chain to the CA certificate; the RA presents its
/// TLS client certificate.
pub fn ra_client_config(
    ca_certificates: &[Vec<u8>],
    client_chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(rustls_error("RA TLS"))?
        .with_root_certificates(roots(ca_certificates)?)
        .with_client_auth_cert(
            client_chain.into_iter().map(CertificateDer::from).collect(),
            key,
        )
        .map_err(rustls_error(
            "RA TLS client certificate and key do not go together",
        ))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
