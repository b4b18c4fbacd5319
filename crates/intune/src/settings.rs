//! What the Intune client needs to know: the app registration (tenant, client id, its
//! secret or certificate), where Entra ID, Graph and Intune are, whom to trust for TLS and how
//! long to wait. Reading them from scepd.toml is the binary's job; [`IntuneSettings::new`]
//! fills in the public cloud's defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::IntuneError;

/// Entra ID in the public cloud.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph in the public cloud.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
/// Intune's resource (its App ID URI) in the public cloud, trailing slash included: the
/// token scope is this followed by `/.default`, as Microsoft's reference library asks for it.
pub const DEFAULT_INTUNE_RESOURCE: &str = "https://api.manage.microsoft.com/";
/// How long one request (token, discovery, one call) may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the app registration proves who it is to Entra ID.
#[derive(Clone)]
pub enum Credential {
    /// A client secret.
    Secret(Zeroizing<String>),
    /// A certificate registered with the app and its private key: the client signs a JWT
    /// client assertion (RS256) with it. The key must be RSA (what Entra ID accepts) and
    /// match the certificate.
    Certificate {
        certificate_der: Vec<u8>,
        key: Arc<dyn keys::Signer>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(<redacted>)"),
            Self::Certificate {
                certificate_der, ..
            } => f
                .debug_struct("Certificate")
                .field(
                    "sha1",
                    &hex::encode_upper(keys::DigestAlgorithm::Sha1.digest(certificate_der)),
                )
                .finish_non_exhaustive(),
        }
    }
}

/// The Intune client's settings.
#[derive(Debug, Clone)]
pub struct IntuneSettings {
    /// The Entra ID tenant: its id (a GUID) or a verified domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    pub credential: Credential,
    /// Entra ID's base URL (sovereign clouds and tests change it).
    pub login_url: String,
    /// Microsoft Graph's base URL, for discovery; its token scope is `{graph_url}/.default`.
    pub graph_url: String,
    /// Intune's resource, for the token scope `{intune_resource}/.default`.
    pub intune_resource: String,
    /// Trust roots besides (or instead of) the system's, DER (tests, TLS-inspecting proxies).
    pub extra_trust_roots: Vec<Vec<u8>>,
    /// Whether the operating system's trust store is trusted too.
    pub use_system_roots: bool,
    /// How long one request may take (each attempt of a retried one).
    pub timeout: Duration,
    /// Who is calling, as Intune's logs show it (`callerInfo` and the `UserAgent` header).
    pub provider_name_and_version: String,
}

impl IntuneSettings {
    /// Settings for the public cloud: Entra ID, Graph and Intune at their usual places, the
    /// system's trust roots, a 10 s timeout, and scepd (with its version) as the provider.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            credential,
            login_url: DEFAULT_LOGIN_URL.to_owned(),
            graph_url: DEFAULT_GRAPH_URL.to_owned(),
            intune_resource: DEFAULT_INTUNE_RESOURCE.to_owned(),
            extra_trust_roots: Vec::new(),
            use_system_roots: true,
            timeout: DEFAULT_TIMEOUT,
            provider_name_and_version: concat!("scepd/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Entra ID's token endpoint for the tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.login_url.trim_end_matches('/'),
            self.tenant
        )
    }

    /// Graph's list of Intune's service endpoints (Intune's app id is fixed).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints",
            self.graph_url.trim_end_matches('/')
        )
    }

    /// The token scope for Graph: `https://graph.microsoft.com/.default`.
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", self.graph_url.trim_end_matches('/'))
    }

    /// The token scope for Intune. Microsoft's reference library appends `/.default` to the
    /// resource with its trailing slash (`https://api.manage.microsoft.com//.default`): Entra ID
    /// then issues a token whose audience keeps the slash, which is what Intune expects.
    pub fn intune_scope(&self) -> String {
        format!("{}/.default", self.intune_resource)
    }

    /// Refuses settings that cannot work, before anything is sent.
    pub(crate) fn check(&self) -> Result<(), IntuneError> {
        let bad = |what: String| Err(IntuneError::Settings(what));
        if !is_url_segment(&self.tenant) {
            return bad(format!(
                "tenant {:?} is not a tenant id or domain (letters, digits, '.', '-')",
                self.tenant
            ));
        }
        if !is_url_segment(&self.client_id) {
            return bad(format!(
                "client_id {:?} is not an application id",
                self.client_id
            ));
        }
        for (name, url) in [
            ("login_url", &self.login_url),
            ("graph_url", &self.graph_url),
            ("intune_resource", &self.intune_resource),
        ] {
            if !url.starts_with("https://") || url.chars().any(|c| c.is_whitespace()) {
                return bad(format!("{name} {url:?} is not an https:// URL"));
            }
        }
        if self.timeout.is_zero() {
            return bad("the timeout is zero".to_owned());
        }
        let provider = &self.provider_name_and_version;
        if provider.is_empty()
            || provider.len() > 128
            || !provider.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        {
            return bad(format!(
                "provider_name_and_version {provider:?} must be 1 to 128 printable ASCII characters"
            ));
        }
        if !self.use_system_roots && self.extra_trust_roots.is_empty() {
            return bad("no trust roots: neither the system's nor extra ones".to_owned());
        }
        match &self.credential {
            Credential::Secret(secret) if secret.trim().is_empty() => {
                bad("the client secret is empty".to_owned())
            }
            Credential::Secret(_) => Ok(()),
            Credential::Certificate {
                certificate_der,
                key,
            } => check_certificate_key(certificate_der, key.as_ref()),
        }
    }
}

/// Intune's application id in every tenant.
pub const INTUNE_APP_ID: &str = "0000000a-0000-0000-c000-000000000000";

/// A tenant or client id goes into a URL path or a form as it is: only characters that need
/// no escaping anywhere.
fn is_url_segment(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// The key must be the certificate's (else Entra ID refuses every assertion, at the first
/// enrollment rather than at start) and RSA (RS256 is what Entra ID verifies).
fn check_certificate_key(
    certificate_der: &[u8],
    key: &dyn keys::Signer,
) -> Result<(), IntuneError> {
    use der::{Decode, Encode};
    let bad = |what: String| Err(IntuneError::Settings(what));
    let certificate = match x509_cert::Certificate::from_der(certificate_der) {
        Ok(certificate) => certificate,
        Err(e) => return bad(format!("the client certificate is not DER X.509: {e}")),
    };
    let spki = match certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
    {
        Ok(spki) => spki,
        Err(e) => return bad(format!("the client certificate's public key: {e}")),
    };
    if spki != key.public_key_spki_der() {
        return bad("the client key is not the client certificate's key".to_owned());
    }
    if !key.supports(keys::SignatureAlgorithm::RsaPkcs1Sha256) {
        return bad(
            "the client certificate's key cannot sign RS256 (Entra ID takes RSA keys only)"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn secret() -> Credential {
        Credential::Secret(Zeroizing::new("s3cr3t-value".to_owned()))
    }

    #[test]
    fn the_defaults_are_the_public_cloud_and_check_out() {
        let settings = IntuneSettings::new("contoso.onmicrosoft.com", "1234-abcd", secret());
        settings.check().unwrap();
        assert_eq!(
            settings.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            settings.discovery_url(),
            "https://graph.microsoft.com/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints"
        );
        assert_eq!(
            settings.graph_scope(),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            settings.intune_scope(),
            "https://api.manage.microsoft.com//.default"
        );
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert!(settings.provider_name_and_version.starts_with("scepd/"));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let settings = IntuneSettings::new("t", "c", secret());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let refused = |change: fn(&mut IntuneSettings)| {
            let mut settings = IntuneSettings::new("tenant", "client", secret());
            change(&mut settings);
            settings.check().unwrap_err().to_string()
        };
        assert!(refused(|s| s.tenant = "a/b".into()).contains("tenant"));
        assert!(refused(|s| s.tenant = String::new()).contains("tenant"));
        assert!(refused(|s| s.client_id = "x y".into()).contains("client_id"));
        assert!(refused(|s| s.login_url = "http://login".into()).contains("login_url"));
        assert!(refused(|s| s.graph_url = "ftp://g".into()).contains("graph_url"));
        assert!(refused(|s| s.timeout = Duration::ZERO).contains("timeout"));
        assert!(refused(|s| s.provider_name_and_version = "a\nb".into()).contains("provider"));
        assert!(refused(|s| s.use_system_roots = false).contains("trust roots"));
        assert!(
            refused(|s| s.credential = Credential::Secret(Zeroizing::new(" ".into())))
                .contains("secret is empty")
        );
    }

    #[test]
    fn a_certificate_key_must_match_and_be_rsa() {
        let (certificate_der, key) = crate::test_support::rsa_certificate();
        let mut settings = IntuneSettings::new(
            "tenant",
            "client",
            Credential::Certificate {
                certificate_der: certificate_der.clone(),
                key,
            },
        );
        settings.check().unwrap();
        assert!(format!("{settings:?}").contains("sha1"));

        let other: Arc<dyn keys::Signer> = Arc::new(
            keys::software::SoftwareKey::generate_ec_p256(keys::KeyRole::RaSigning).unwrap(),
        );
        settings.credential = Credential::Certificate {
            certificate_der: certificate_der.clone(),
            key: other,
        };
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("not the client certificate's key"), "{err}");

        settings.credential = Credential::Certificate {
            certificate_der: b"junk".to_vec(),
            key: crate::test_support::rsa_certificate().1,
        };
        let err = settings.check().unwrap_err().to_string();
        assert!(err.contains("not DER X.509"), "{err}");
    }
}
