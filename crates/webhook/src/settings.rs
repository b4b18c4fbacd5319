//! What a webhook endpoint is configured with, and the TLS client made from it. Reading the
//! configuration file and the secret and key files is the binary's; this takes their
//! contents.

use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

/// The shortest HMAC secret accepted: 256 bits, the hash's own size (RFC 2104 §3).
pub const MIN_SECRET_LEN: usize = 32;
/// How long a delivery may take, connection and answer included, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook endpoint's configuration.
pub struct WebhookSettings {
    /// Where `scep.challenge.verify` is POSTed; `https://` only.
    pub url: String,
    /// The HMAC-SHA256 key every delivery is signed with, the bytes as given (at least
    /// [`MIN_SECRET_LEN`]).
    pub secret: Zeroizing<Vec<u8>>,
    /// Where `scep.certificate.issued` and `scep.certificate.failed` are POSTed, if anywhere;
    /// `https://` only, signed with the same secret.
    pub notify_url: Option<String>,
    /// Trust the operating system's roots (besides `extra_roots`). Turn off to trust only
    /// `extra_roots`: an in-house portal under a private CA then cannot be impersonated by
    /// any public CA.
    pub trust_system_roots: bool,
    /// Further trust roots, DER (a private CA, a TLS-inspecting proxy).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// A client certificate for mutual TLS, if the receiver asks for one.
    pub client_identity: Option<ClientIdentity>,
    /// How long one delivery may take, connection and answer included.
    pub timeout: Duration,
}

impl WebhookSettings {
    /// `url` and `secret` with the defaults: system roots, no notification, no client
    /// certificate, [`DEFAULT_TIMEOUT`].
    pub fn new(url: impl Into<String>, secret: Zeroizing<Vec<u8>>) -> Self {
        Self {
            url: url.into(),
            secret,
            notify_url: None,
            trust_system_roots: true,
            extra_roots: Vec::new(),
            client_identity: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("notify_url", &self.notify_url)
            .field("trust_system_roots", &self.trust_system_roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("client_identity", &self.client_identity)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A client certificate (chain, leaf first) and its private key (PKCS#8 DER).
pub struct ClientIdentity {
    pub certificate_chain: Vec<CertificateDer<'static>>,
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificate_chain", &self.certificate_chain.len())
            .field("key_pkcs8_der", &"<redacted>")
            .finish()
    }
}

/// A configuration no webhook can be delivered with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error(
        "the webhook secret is {0} bytes; at least {MIN_SECRET_LEN} are needed (e.g. `openssl rand -hex 32`)"
    )]
    ShortSecret(usize),
    #[error("webhook URL: {0}")]
    Url(#[from] edge::https_client::ClientError),
    #[error("trust root {index}: {source}")]
    TrustRoot {
        index: usize,
        #[source]
        source: rustls::Error,
    },
    #[error("no trust root: the system store is off or empty and no extra root is configured")]
    NoTrustRoot,
    #[error("client certificate and key: {0}")]
    ClientIdentity(#[source] rustls::Error),
    #[error("TLS: {0}")]
    Tls(#[source] rustls::Error),
}

/// The TLS client every delivery of this webhook uses: scepd's TLS policy, the configured
/// roots, the client certificate if any.
pub(crate) fn client_config(
    settings: &WebhookSettings,
) -> Result<rustls::ClientConfig, SettingsError> {
    let mut roots = rustls::RootCertStore::empty();
    if settings.trust_system_roots {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "reading the system trust store");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "system trust roots for webhooks");
    }
    for (index, root) in settings.extra_roots.iter().enumerate() {
        roots
            .add(root.clone())
            .map_err(|source| SettingsError::TrustRoot { index, source })?;
    }
    if roots.is_empty() {
        return Err(SettingsError::NoTrustRoot);
    }
    let builder = rustls::ClientConfig::builder_with_provider(edge::tls::provider())
        .with_protocol_versions(edge::tls::VERSIONS)
        .map_err(SettingsError::Tls)?
        .with_root_certificates(roots);
    let mut config = match &settings.client_identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                identity.key_pkcs8_der.as_slice().to_vec(),
            ));
            builder
                .with_client_auth_cert(identity.certificate_chain.clone(), key)
                .map_err(SettingsError::ClientIdentity)?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Refuses a secret too short to be a MAC key.
pub(crate) fn check_secret(secret: &[u8]) -> Result<(), SettingsError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SettingsError::ShortSecret(secret.len()));
    }
    Ok(())
}
