//! `endpoints.build`: the named endpoints built as the service builds them at start — each
//! verifier from its settings and the files they name (`services::endpoints::build`), each name
//! valid and given once (what `ra::Ra::with_endpoints` refuses) — so that an endpoint the
//! service would refuse fails doctor. Templates and secrets of endpoints are
//! `endpoints.template`'s and `secrets.file_mode`'s.

use std::path::Path;

use config::Config;
use config::deployment::Mode;

use super::finding::{Finding, Severity, finding};

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    // The CA host of a split deployment serves no SCEP endpoint.
    if config.endpoints.is_empty() || config.deployment.mode == Mode::Ca {
        return Vec::new();
    }
    let id = "endpoints.build";
    let mut found = Vec::new();
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        if !ra::endpoint::is_valid_endpoint_name(&endpoint.name) {
            found.push(finding(
                id,
                Severity::Fail,
                format!(
                    "endpoint {:?}: a name is 1 to {} of a-z, 0-9, '-', '_', not starting with '-'; the service does not start",
                    endpoint.name,
                    ra::endpoint::MAX_ENDPOINT_NAME_LEN
                ),
            ));
        }
        if config.endpoints[..i]
            .iter()
            .any(|e| e.name == endpoint.name)
        {
            found.push(finding(
                id,
                Severity::Fail,
                format!(
                    "endpoint {:?} is configured twice; the service does not start",
                    endpoint.name
                ),
            ));
        }
    }
    match crate::services::endpoints::build(config, dir) {
        Ok(built) if found.is_empty() => found.push(finding(
            id,
            Severity::Pass,
            format!(
                "{} endpoint(s) build as the service builds them, each with its challenge check",
                built.endpoints.len()
            ),
        )),
        Ok(_) => {}
        Err(e) => found.push(finding(
            id,
            Severity::Fail,
            format!("{e}; the service does not start"),
        )),
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use config::mdm::{ChallengeKind, EndpointConfig, WebhookConfig};

    use super::*;

    fn endpoint(name: &str) -> EndpointConfig {
        EndpointConfig {
            name: name.into(),
            template: "device".into(),
            challenge: ChallengeKind::OneTime,
            webhook: None,
            signed: None,
        }
    }

    fn webhook(secret_file: &str) -> EndpointConfig {
        let mut e = endpoint("portal");
        e.challenge = ChallengeKind::Webhook;
        e.webhook = Some(WebhookConfig {
            url: "https://portal.example/decide".into(),
            secret_file: secret_file.into(),
            notify_url: None,
            tls_ca_file: None,
            client_certificate: None,
            client_key: None,
            timeout: std::time::Duration::from_secs(5),
        });
        e
    }

    fn severities(dir: &Path, endpoints: Vec<EndpointConfig>) -> Vec<Severity> {
        let config = Config {
            endpoints,
            ..Config::default()
        };
        findings(dir, &config).iter().map(|f| f.severity).collect()
    }

    #[test]
    fn endpoints_the_service_builds_pass() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("portal.secret");
        std::fs::write(&secret, "s".repeat(48)).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            severities(dir.path(), vec![endpoint("wifi"), webhook("portal.secret")]),
            [Severity::Pass]
        );
        assert!(severities(dir.path(), Vec::new()).is_empty());
    }

    #[test]
    fn endpoints_the_service_refuses_fail() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            severities(dir.path(), vec![webhook("missing.secret")]),
            [Severity::Fail],
            "a secret file that is not there"
        );
        assert_eq!(
            severities(dir.path(), vec![endpoint("Wi Fi")]),
            [Severity::Fail]
        );
        assert_eq!(
            severities(dir.path(), vec![endpoint("wifi"), endpoint("wifi")]),
            [Severity::Fail]
        );
    }
}
