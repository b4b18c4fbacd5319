//! TLS between the split services (the shared versions and suites of
//! [`edge::tls`]): the CA's statement listener requires a client certificate that chains to the CA
//! *and* is a registered, unrevoked RA TLS certificate, checked inside the handshake, so an
//! unlisted client never gets to send a byte of HTTP; the RA pins the CA.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, RwLock};

use edge::tls::{VERSIONS, provider, write_private_key};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
};
use sha2::{Digest, Sha256};

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

/// SHA-256 of a certificate's DER: how the allow-list names a TLS client certificate.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The SHA-256 of the TLS client certificates of registered, unrevoked RAs.
#[derive(Debug, Default)]
pub struct AllowList(RwLock<HashSet<[u8; 32]>>);

impl AllowList {
    pub fn replace(&self, entries: HashSet<[u8; 32]>) {
        if let Ok(mut set) = self.0.write() {
            *set = entries;
        }
    }

    pub fn insert(&self, entry: [u8; 32]) {
        if let Ok(mut set) = self.0.write() {
            set.insert(entry);
        }
    }

    /// False also when the lock is poisoned: fail closed.
    pub fn contains(&self, entry: &[u8; 32]) -> bool {
        self.0.read().is_ok_and(|set| set.contains(entry))
    }
}

/// WebPKI client verification against the CA certificate(s), then the allow-list: a
/// certificate the CA issued to something else (a device, a revoked RA) fails the handshake.
#[derive(Debug)]
pub struct AllowListVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allow: Arc<AllowList>,
}

impl ClientCertVerifier for AllowListVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if !self.allow.contains(&fingerprint(end_entity.as_ref())) {
            tracing::warn!(
                certificate_sha256 = %hex::encode(fingerprint(end_entity.as_ref())),
                "CA service: TLS client certificate is not a registered RA certificate"
            );
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
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
    let verifier: Arc<dyn ClientCertVerifier> = Arc::new(AllowListVerifier { inner, allow });
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

/// Registration, before the RA has the CA certificate: the server's chain must contain a
/// certificate with the pinned SHA-256, and the server certificate must verify under it.
#[derive(Debug)]
struct PinnedCaVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(ca) = intermediates
            .iter()
            .find(|c| fingerprint(c.as_ref()) == self.pin)
        else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        };
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&self.provider),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The RA's registration client: no client certificate; the CA is recognised by the
/// fingerprint of its CA certificate.
pub fn pinned_client_config(pin: [u8; 32]) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(VERSIONS)
        .map_err(rustls_error("registration TLS"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCaVerifier { pin, provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Parses a SHA-256 fingerprint written as 64 hex digits, with or without colons.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsError> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits.trim(), &mut out).map_err(|_| TlsError::Fingerprint {
        text: text.to_owned(),
    })?;
    Ok(out)
}
