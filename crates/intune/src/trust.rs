//! Whom the client trusts for TLS toward Entra ID, Graph and Intune: the operating system's
//! trust store (read with `rustls-native-certs`, so the distribution's CA updates and the
//! operator's own additions apply) and the configured extra roots, with the TLS versions and
//! suites every scepd link uses ([`edge::tls`]).

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::IntuneError;
use crate::settings::IntuneSettings;

/// The TLS client configuration for every request of the Intune client.
pub(crate) fn client_config(settings: &IntuneSettings) -> Result<ClientConfig, IntuneError> {
    let mut roots = RootCertStore::empty();
    if settings.use_system_roots {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "reading the system trust store for Intune");
        }
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        tracing::debug!(added, ignored, "system trust roots for Intune");
    }
    for (index, der) in settings.extra_trust_roots.iter().enumerate() {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| IntuneError::Settings(format!("extra trust root #{index}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(IntuneError::Settings(
            "no usable trust root (the system trust store is empty or unreadable)".to_owned(),
        ));
    }
    Ok(ClientConfig::builder_with_provider(edge::tls::provider())
        .with_protocol_versions(edge::tls::VERSIONS)
        .map_err(|e| IntuneError::Settings(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::settings::Credential;

    fn settings() -> IntuneSettings {
        let mut settings = IntuneSettings::new(
            "t",
            "c",
            Credential::Secret(zeroize::Zeroizing::new("s".to_owned())),
        );
        settings.use_system_roots = false;
        settings
    }

    #[test]
    fn extra_roots_alone_make_a_configuration() {
        let mut settings = settings();
        settings.extra_trust_roots = vec![crate::test_support::rsa_certificate().0];
        client_config(&settings).unwrap();
    }

    #[test]
    fn a_root_that_is_not_a_certificate_is_refused_by_position() {
        let mut settings = settings();
        settings.extra_trust_roots = vec![crate::test_support::rsa_certificate().0, b"no".to_vec()];
        let err = client_config(&settings).unwrap_err().to_string();
        assert!(err.contains("extra trust root #1"), "{err}");
    }

    #[test]
    fn no_roots_at_all_is_refused() {
        let err = client_config(&settings()).unwrap_err().to_string();
        assert!(err.contains("no usable trust root"), "{err}");
    }
}
