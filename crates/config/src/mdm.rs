//! The MDM side of `scepd.toml`: named SCEP endpoints (`[[endpoints]]`) and how each checks
//! challenges, and the Intune tenant (`[intune]`). What is read here is plain settings; the
//! binary builds the verifiers from them (secrets are read from their files there).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::InvalidSetting;
use crate::deployment::humantime_compat;

/// How a named endpoint checks challenges (`challenge = "…"`).
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeKind {
    /// One-time challenges minted by scepd (admin page, API, CLI) for this endpoint's template.
    #[default]
    OneTime,
    /// Intune's SCEP validation API (`[intune]`).
    Intune,
    /// An HTTPS webhook that answers allow or deny (`[endpoints.webhook]`).
    Webhook,
    /// A JWS the MDM signed offline (`[endpoints.signed]`).
    Signed,
}

impl ChallengeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "one-time",
            Self::Intune => "intune",
            Self::Webhook => "webhook",
            Self::Signed => "signed",
        }
    }
}

/// One `[[endpoints]]` entry: `/scep/NAME` and `/certsrv/mscep/mscep.dll/NAME`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub name: String,
    /// The one template requests on this endpoint are decided under.
    pub template: String,
    #[serde(default)]
    pub challenge: ChallengeKind,
    /// `challenge = "webhook"`: where to ask.
    pub webhook: Option<WebhookConfig>,
    /// `challenge = "signed"`: whose signatures to accept.
    pub signed: Option<SignedConfig>,
}

/// `[endpoints.webhook]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `https://…`: asked for every request; only an explicit allow issues.
    pub url: String,
    /// The HMAC-SHA256 key both sides hold (mode 0600, relative to the data directory).
    pub secret_file: PathBuf,
    /// `https://…`: told of every certificate issued or failed after an allow (optional).
    pub notify_url: Option<String>,
    /// Trust roots for the webhook's TLS certificate (PEM), besides the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// Mutual TLS: scepd's client certificate and key (PEM) toward the webhook.
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    #[serde(default = "default_mdm_timeout", with = "humantime_compat")]
    pub timeout: Duration,
}

/// `[endpoints.signed]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedConfig {
    /// The MDM's public keys (P-256 or Ed25519, SPKI PEM), by key id.
    pub keys: Vec<SignedKeyConfig>,
    /// The longest lifetime (exp − iat) a signed challenge may have.
    #[serde(default = "default_signed_lifetime", with = "humantime_compat")]
    pub max_lifetime: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedKeyConfig {
    /// The JWS header's `kid`.
    pub kid: String,
    pub public_key_file: PathBuf,
}

/// `[intune]`: the Entra ID app registration scepd authenticates as, and where.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntuneSection {
    /// The tenant id (GUID) or domain.
    pub tenant: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// The client secret (mode 0600, relative to the data directory); or:
    pub client_secret_file: Option<PathBuf>,
    /// the app's certificate (PEM) and its private key (PKCS#8 PEM, mode 0600): a signed
    /// client assertion instead of a secret (Microsoft's recommendation).
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    #[serde(default = "default_login_url")]
    pub login_url: String,
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Intune's resource, whose `/.default` scope the Intune token is asked for (sovereign
    /// clouds have their own).
    #[serde(default = "default_intune_resource")]
    pub intune_resource: String,
    /// Extra trust roots (PEM) besides the system's: tests, TLS-inspecting proxies.
    pub tls_ca_file: Option<PathBuf>,
    /// How long one call to Entra ID or Intune may take before it fails (closed).
    #[serde(default = "default_mdm_timeout", with = "humantime_compat")]
    pub timeout: Duration,
    /// How often revocation requests are fetched from Intune (`0s`: never).
    #[serde(default = "default_revocation_poll", with = "humantime_compat")]
    pub revocation_poll_interval: Duration,
}

fn default_login_url() -> String {
    "https://login.microsoftonline.com".into()
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com".into()
}

fn default_intune_resource() -> String {
    "https://api.manage.microsoft.com/".into()
}

fn default_mdm_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_signed_lifetime() -> Duration {
    Duration::from_secs(7 * 24 * 60 * 60)
}

fn default_revocation_poll() -> Duration {
    Duration::from_secs(5 * 60)
}

/// Longest an MDM call may take: a device's request waits for it.
const MAX_MDM_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks the endpoints and the Intune section together: valid, distinct names; the
/// settings each challenge kind needs and no settings of another kind; `[intune]` present
/// when an endpoint uses it, with exactly one credential; https URLs.
pub(crate) fn check(
    endpoints: &[EndpointConfig],
    intune: Option<&IntuneSection>,
) -> Result<(), InvalidSetting> {
    for (i, endpoint) in endpoints.iter().enumerate() {
        let at = format!("endpoints[{i}] ({:?})", endpoint.name);
        if !ra::endpoint::is_valid_endpoint_name(&endpoint.name) {
            return Err(InvalidSetting(format!(
                "{at}: name must be 1 to {} of a-z, 0-9, '-', '_' (it is a URL path segment)",
                ra::endpoint::MAX_ENDPOINT_NAME_LEN
            )));
        }
        if endpoints[..i].iter().any(|e| e.name == endpoint.name) {
            return Err(InvalidSetting(format!("{at}: the name is used twice")));
        }
        let kind = endpoint.challenge;
        let wrong = |table: &str| {
            Err(InvalidSetting(format!(
                "{at}: [endpoints.{table}] does not go with challenge = {:?}",
                kind.as_str()
            )))
        };
        let missing = |table: &str| {
            Err(InvalidSetting(format!(
                "{at}: challenge = {:?} needs an [endpoints.{table}] table",
                kind.as_str()
            )))
        };
        match (kind, &endpoint.webhook, &endpoint.signed) {
            (ChallengeKind::Webhook, None, _) => return missing("webhook"),
            (ChallengeKind::Signed, _, None) => return missing("signed"),
            (ChallengeKind::Webhook, Some(_), Some(_)) => return wrong("signed"),
            (ChallengeKind::Signed, Some(_), Some(_)) => return wrong("webhook"),
            (ChallengeKind::OneTime | ChallengeKind::Intune, Some(_), _) => {
                return wrong("webhook");
            }
            (ChallengeKind::OneTime | ChallengeKind::Intune, _, Some(_)) => return wrong("signed"),
            _ => {}
        }
        if kind == ChallengeKind::Intune && intune.is_none() {
            return Err(InvalidSetting(format!(
                "{at}: challenge = \"intune\" needs the [intune] section (tenant, client_id, a credential)"
            )));
        }
        if let Some(webhook) = &endpoint.webhook {
            https(&format!("{at}: webhook.url"), &webhook.url)?;
            if let Some(url) = &webhook.notify_url {
                https(&format!("{at}: webhook.notify_url"), url)?;
            }
            if webhook.client_certificate.is_some() != webhook.client_key.is_some() {
                return Err(InvalidSetting(format!(
                    "{at}: webhook.client_certificate and webhook.client_key go together"
                )));
            }
            timeout(&format!("{at}: webhook.timeout"), webhook.timeout)?;
        }
        if let Some(signed) = &endpoint.signed {
            if signed.keys.is_empty() {
                return Err(InvalidSetting(format!(
                    "{at}: signed.keys is empty: no signature could ever be accepted"
                )));
            }
            for (k, key) in signed.keys.iter().enumerate() {
                if key.kid.is_empty() || signed.keys[..k].iter().any(|o| o.kid == key.kid) {
                    return Err(InvalidSetting(format!(
                        "{at}: signed.keys[{k}]: kid {:?} is empty or used twice",
                        key.kid
                    )));
                }
            }
            if signed.max_lifetime.is_zero() {
                return Err(InvalidSetting(format!(
                    "{at}: signed.max_lifetime must be above zero"
                )));
            }
        }
    }
    if let Some(intune) = intune {
        check_intune(intune)?;
    }
    Ok(())
}

fn check_intune(intune: &IntuneSection) -> Result<(), InvalidSetting> {
    if intune.tenant.is_empty() || intune.client_id.is_empty() {
        return Err(InvalidSetting(
            "intune.tenant and intune.client_id must be set".into(),
        ));
    }
    let secret = intune.client_secret_file.is_some();
    let certificate = intune.client_certificate.is_some() || intune.client_key.is_some();
    if secret == certificate {
        return Err(InvalidSetting(
            "[intune]: set exactly one credential: client_secret_file, or client_certificate with client_key".into(),
        ));
    }
    if certificate && (intune.client_certificate.is_none() || intune.client_key.is_none()) {
        return Err(InvalidSetting(
            "intune.client_certificate and intune.client_key go together".into(),
        ));
    }
    https("intune.login_url", &intune.login_url)?;
    https("intune.graph_url", &intune.graph_url)?;
    https("intune.intune_resource", &intune.intune_resource)?;
    timeout("intune.timeout", intune.timeout)
}

fn https(what: &str, url: &str) -> Result<(), InvalidSetting> {
    if url.starts_with("https://") && url.len() > "https://".len() {
        Ok(())
    } else {
        Err(InvalidSetting(format!(
            "{what} = {url:?}: must be an https:// URL (what an MDM answers decides issuance)"
        )))
    }
}

fn timeout(what: &str, value: Duration) -> Result<(), InvalidSetting> {
    if value.is_zero() || value > MAX_MDM_TIMEOUT {
        return Err(InvalidSetting(format!(
            "{what} = {value:?}: must be above zero and at most {MAX_MDM_TIMEOUT:?}"
        )));
    }
    Ok(())
}

/// The commented example appended to the default configuration file.
pub const DEFAULT_TEXT: &str = r#"
# Named SCEP endpoints, besides the default /scep (see docs/mdm-integration.md). Each serves
# /scep/NAME and /certsrv/mscep/mscep.dll/NAME under one template, and checks challenges one
# way: "one-time" (minted by scepd), "intune", "webhook" or "signed".
# [[endpoints]]
# name = "intune"
# template = "intune-device"
# challenge = "intune"
#
# [[endpoints]]
# name = "portal"
# template = "device"
# challenge = "webhook"
# [endpoints.webhook]
# url = "https://portal.example/scep-decide"
# secret_file = "keys/portal-webhook.secret"
#
# [[endpoints]]
# name = "mdm"
# template = "device"
# challenge = "signed"
# [endpoints.signed]
# keys = [{ kid = "mdm-2026", public_key_file = "certs/mdm-2026.pub.pem" }]
# max_lifetime = "7d"

# [intune]
# tenant = "contoso.onmicrosoft.com"
# client_id = "00000000-0000-0000-0000-000000000000"
# client_secret_file = "keys/intune.secret"   # or client_certificate + client_key
# login_url = "https://login.microsoftonline.com"
# graph_url = "https://graph.microsoft.com"
# intune_resource = "https://api.manage.microsoft.com/"
# revocation_poll_interval = "5m"
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<(), InvalidSetting> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            endpoints: Vec<EndpointConfig>,
            intune: Option<IntuneSection>,
        }
        let file: File = toml::from_str(text).map_err(|e| InvalidSetting(e.to_string()))?;
        check(&file.endpoints, file.intune.as_ref())
    }

    const INTUNE: &str = r#"
[intune]
tenant = "t"
client_id = "c"
client_secret_file = "keys/intune.secret"
"#;

    #[test]
    fn the_contract_of_the_issue_parses() {
        let text = format!(
            "[[endpoints]]\nname = \"intune\"\ntemplate = \"intune-device\"\nchallenge = \"intune\"\n{INTUNE}"
        );
        parse(&text).unwrap();
        parse("[[endpoints]]\nname = \"wifi\"\ntemplate = \"device\"\n").unwrap();
        parse(
            "[[endpoints]]\nname = \"p\"\ntemplate = \"device\"\nchallenge = \"webhook\"\n[endpoints.webhook]\nurl = \"https://p.example/x\"\nsecret_file = \"s\"\n",
        )
        .unwrap();
        parse(
            "[[endpoints]]\nname = \"m\"\ntemplate = \"device\"\nchallenge = \"signed\"\n[endpoints.signed]\nkeys = [{ kid = \"k1\", public_key_file = \"k.pem\" }]\n",
        )
        .unwrap();
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            (
                "[[endpoints]]\nname = \"Bad Name\"\ntemplate = \"device\"\n",
                "name must be",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\n[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\n",
                "used twice",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\nchallenge = \"intune\"\n",
                "needs the [intune] section",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\nchallenge = \"webhook\"\n",
                "needs an [endpoints.webhook]",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\nchallenge = \"webhook\"\n[endpoints.webhook]\nurl = \"http://p.example/x\"\nsecret_file = \"s\"\n",
                "must be an https:// URL",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\n[endpoints.signed]\nkeys = []\n",
                "does not go with",
            ),
            (
                "[[endpoints]]\nname = \"a\"\ntemplate = \"device\"\nchallenge = \"magic\"\n",
                "unknown variant",
            ),
            (
                "[intune]\ntenant = \"t\"\nclient_id = \"c\"\n",
                "exactly one credential",
            ),
            (
                "[intune]\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\nclient_certificate = \"c.pem\"\nclient_key = \"c.key\"\n",
                "exactly one credential",
            ),
            (
                "[intune]\ntenant = \"t\"\nclient_id = \"c\"\nclient_certificate = \"c.pem\"\n",
                "go together",
            ),
            (
                "[intune]\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\nlogin_url = \"http://login\"\n",
                "intune.login_url",
            ),
            (
                "[intune]\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\nsecret = \"inline\"\n",
                "unknown field",
            ),
        ] {
            let error = parse(text).unwrap_err().0;
            assert!(error.contains(expected), "{text}\n→ {error}");
        }
    }
}
