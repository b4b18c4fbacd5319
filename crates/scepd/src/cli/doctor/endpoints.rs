//! The named SCEP endpoints and the MDMs behind them: each endpoint's template exists and
//! can be served by it, its secrets are private, its trust roots and client certificates
//! read and are current.

use std::path::Path;

use config::Config;
use config::mdm::{ChallengeKind, EndpointConfig, IntuneSection};

use super::files::{certificate_lifetime, key_file, secret_file};
use super::finding::{Finding, Severity, finding};

/// Client certificates toward an MDM should be renewed this many days before they expire.
const CLIENT_CERTIFICATE_MIN_DAYS: i64 = 30;

pub fn findings(dir: &Path, config: &Config, now: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    if config.endpoints.is_empty() {
        return found;
    }
    // A template set that does not build is `templates.build`'s failure; said once, there.
    let Ok(templates) = config::templates::build(&config.templates) else {
        return found;
    };
    for endpoint in &config.endpoints {
        found.push(template_finding(endpoint, &templates));
        match endpoint.challenge {
            ChallengeKind::OneTime => {}
            ChallengeKind::Intune => {}
            ChallengeKind::Webhook => {
                if let Some(webhook) = &endpoint.webhook {
                    let what = format!("endpoint {:?}: webhook", endpoint.name);
                    found.push(secret_file(
                        &format!("{what} secret"),
                        &dir.join(&webhook.secret_file),
                    ));
                    if let Some(roots) = &webhook.tls_ca_file {
                        found.push(trust_roots(&what, &dir.join(roots)));
                    }
                    if let (Some(certificate), Some(key)) =
                        (&webhook.client_certificate, &webhook.client_key)
                    {
                        found.push(key_file(&format!("{what} client key"), &dir.join(key)));
                        found.push(certificate_lifetime(
                            &format!("{what} client certificate"),
                            &dir.join(certificate),
                            now,
                            CLIENT_CERTIFICATE_MIN_DAYS,
                        ));
                    }
                }
            }
            ChallengeKind::Signed => {
                if let Some(signed) = &endpoint.signed {
                    for key in &signed.keys {
                        found.push(public_key(
                            &endpoint.name,
                            &key.kid,
                            &dir.join(&key.public_key_file),
                        ));
                    }
                }
            }
        }
    }
    if let Some(intune) = &config.intune {
        found.extend(intune_findings(dir, intune, now));
    }
    found
}

fn template_finding(endpoint: &EndpointConfig, templates: &[policy::Template]) -> Finding {
    let at = format!(
        "endpoint {:?} (/scep/{}, {} challenges)",
        endpoint.name,
        endpoint.name,
        endpoint.challenge.as_str()
    );
    match templates.iter().find(|t| t.name() == endpoint.template) {
        None => finding(
            "endpoints.template",
            Severity::Fail,
            format!("{at}: template {:?} is not configured", endpoint.template),
        ),
        Some(template)
            if endpoint.challenge != ChallengeKind::OneTime && template.manual_approval() =>
        {
            finding(
                "endpoints.template",
                Severity::Fail,
                format!(
                    "{at}: template {:?} wants manual approval, which an MDM-verified endpoint cannot offer",
                    endpoint.template
                ),
            )
        }
        Some(_) => finding(
            "endpoints.template",
            Severity::Pass,
            format!("{at}: issues template {:?}", endpoint.template),
        ),
    }
}

fn intune_findings(dir: &Path, intune: &IntuneSection, now: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    if let Some(secret) = &intune.client_secret_file {
        found.push(secret_file("[intune] client secret", &dir.join(secret)));
        found.push(finding(
            "intune.client_secret",
            Severity::Warn,
            "[intune] authenticates with a client secret: Microsoft recommends a certificate (client_certificate + client_key)",
        ));
    }
    if let (Some(certificate), Some(key)) = (&intune.client_certificate, &intune.client_key) {
        found.push(key_file("[intune] client key", &dir.join(key)));
        found.push(certificate_lifetime(
            "[intune] client certificate",
            &dir.join(certificate),
            now,
            CLIENT_CERTIFICATE_MIN_DAYS,
        ));
    }
    if let Some(roots) = &intune.tls_ca_file {
        found.push(trust_roots("[intune]", &dir.join(roots)));
    }
    found
}

/// A PEM file of trust roots: readable, at least one certificate.
fn trust_roots(what: &str, path: &Path) -> Finding {
    match keys::pem::read_certificates(path) {
        Ok(roots) if !roots.is_empty() => finding(
            "endpoints.trust_roots",
            Severity::Pass,
            format!(
                "{what} trust roots {}: {} certificate(s)",
                path.display(),
                roots.len()
            ),
        ),
        Ok(_) => finding(
            "endpoints.trust_roots",
            Severity::Fail,
            format!(
                "{what} trust roots {}: no certificate in it",
                path.display()
            ),
        ),
        Err(e) => finding(
            "endpoints.trust_roots",
            Severity::Fail,
            format!("{what} trust roots: {e}"),
        ),
    }
}

/// A signed-challenge public key: a P-256 or Ed25519 SubjectPublicKeyInfo, as the verifier
/// loads it at start.
fn public_key(endpoint: &str, kid: &str, path: &Path) -> Finding {
    let what = format!(
        "endpoint {endpoint:?}: signed-challenge key {kid:?} {}",
        path.display()
    );
    let loaded = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|pem| {
            signed_challenge::TrustedKey::from_spki_pem(kid, &pem).map_err(|e| e.to_string())
        });
    match loaded {
        Ok(key) => finding(
            "endpoints.signed_key",
            Severity::Pass,
            format!("{what}: {:?} key, usable", key.algorithm()),
        ),
        Err(e) => finding(
            "endpoints.signed_key",
            Severity::Fail,
            format!("{what}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use config::mdm::{SignedKeyConfig, WebhookConfig};

    use super::*;

    fn endpoint(name: &str, challenge: ChallengeKind) -> EndpointConfig {
        EndpointConfig {
            name: name.into(),
            template: "device".into(),
            challenge,
            webhook: None,
            signed: None,
        }
    }

    fn severities(found: &[Finding], needle: &str) -> Vec<Severity> {
        found
            .iter()
            .filter(|f| f.message.contains(needle))
            .map(|f| f.severity)
            .collect()
    }

    #[test]
    fn each_endpoint_is_checked_for_its_template_its_secrets_and_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("portal.secret");
        std::fs::write(&secret, "x".repeat(40)).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(dir.path().join("garbage.pem"), "not a key").unwrap();

        let mut portal = endpoint("portal", ChallengeKind::Webhook);
        portal.webhook = Some(WebhookConfig {
            url: "https://portal.example/decide".into(),
            secret_file: "portal.secret".into(),
            notify_url: None,
            tls_ca_file: Some("missing-roots.pem".into()),
            client_certificate: None,
            client_key: None,
            timeout: std::time::Duration::from_secs(5),
        });
        let mut mdm = endpoint("mdm", ChallengeKind::Signed);
        mdm.signed = Some(config::mdm::SignedConfig {
            keys: vec![SignedKeyConfig {
                kid: "k1".into(),
                public_key_file: "garbage.pem".into(),
            }],
            max_lifetime: std::time::Duration::from_secs(3600),
        });
        let mut nowhere = endpoint("nowhere", ChallengeKind::OneTime);
        nowhere.template = "nosuch".into();
        let config = Config {
            endpoints: vec![
                endpoint("wifi", ChallengeKind::OneTime),
                portal,
                mdm,
                nowhere,
            ],
            ..Config::default()
        };
        let found = findings(dir.path(), &config, 0);
        assert_eq!(severities(&found, "endpoint \"wifi\""), [Severity::Pass]);
        assert_eq!(
            severities(&found, "webhook secret"),
            [Severity::Fail],
            "a secret others can read"
        );
        assert_eq!(severities(&found, "trust roots"), [Severity::Fail]);
        assert_eq!(
            severities(&found, "signed-challenge key \"k1\""),
            [Severity::Fail]
        );
        assert_eq!(severities(&found, "template \"nosuch\""), [Severity::Fail]);

        // Fixed: the secret private, the key a real Ed25519 public key.
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        std::fs::write(dir.path().join("garbage.pem"), key.public_key_pem()).unwrap();
        let found = findings(dir.path(), &config, 0);
        assert_eq!(severities(&found, "webhook secret"), [Severity::Pass]);
        assert_eq!(
            severities(&found, "signed-challenge key \"k1\""),
            [Severity::Pass]
        );
    }
}
