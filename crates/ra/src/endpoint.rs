//! SCEP endpoints: the default one (`/scep`, one-time challenges for any template) and the
//! named ones (`/scep/NAME`), each issuing under one template and with one way of checking
//! challenges. Every endpoint runs the same pipeline: a verifier replaces only the challenge
//! check, never the signature, decryption, possession or template checks around it.

use std::sync::Arc;

use crate::config::RaConfig;

/// An endpoint the RA cannot serve; the message names it and the setting.
#[derive(Debug, thiserror::Error)]
#[error("endpoint {endpoint:?}: {reason}")]
pub struct EndpointConfigError {
    pub endpoint: String,
    pub reason: String,
}

/// How a named endpoint checks the challenge of a PKCSReq.
#[derive(Clone)]
pub enum ChallengeCheck {
    /// A one-time challenge from the local store, minted for this endpoint's template.
    OneTime,
    /// An outside verifier (Intune, a webhook, a signed challenge) vouches for it.
    Verifier(Arc<dyn vouch::ChallengeVerifier>),
}

impl std::fmt::Debug for ChallengeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl ChallengeCheck {
    /// The `challenge = "…"` value of the configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OneTime => "one-time",
            Self::Verifier(verifier) => verifier.kind(),
        }
    }
}

/// A named SCEP endpoint (`[[endpoints]]` of scepd.toml).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `/scep/NAME` and `/certsrv/mscep/mscep.dll/NAME`.
    pub name: String,
    /// The one template requests on this endpoint are decided under.
    pub template: String,
    pub challenge: ChallengeCheck,
}

/// The longest endpoint name: it is a URL path segment and a metric label.
pub const MAX_ENDPOINT_NAME_LEN: usize = 32;

/// Whether `name` can be an endpoint's: 1 to 32 of `a-z`, `0-9`, `-`, `_`, not starting
/// with `-` (it is a URL segment, a metric label and an audit word; nothing to escape).
pub fn is_valid_endpoint_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ENDPOINT_NAME_LEN
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks the named endpoints against the RA's configuration: valid and distinct names,
/// configured templates, and no verifier in front of a template that holds requests for an
/// officer (the MDM decided already, and its acknowledgement must come before the
/// certificate leaves, which a later poll cannot promise).
pub(crate) fn check_endpoints(
    config: &RaConfig,
    endpoints: &[Endpoint],
) -> Result<(), EndpointConfigError> {
    for (i, endpoint) in endpoints.iter().enumerate() {
        let invalid = |reason: String| {
            Err(EndpointConfigError {
                endpoint: endpoint.name.clone(),
                reason,
            })
        };
        if !is_valid_endpoint_name(&endpoint.name) {
            return invalid(format!(
                "a name is 1 to {MAX_ENDPOINT_NAME_LEN} of a-z, 0-9, '-', '_'"
            ));
        }
        if endpoints[..i].iter().any(|e| e.name == endpoint.name) {
            return invalid("configured twice".into());
        }
        let Ok(template) = config.template(&endpoint.template) else {
            return invalid(format!(
                "template {:?} is not configured",
                endpoint.template
            ));
        };
        if matches!(endpoint.challenge, ChallengeCheck::Verifier(_)) && template.manual_approval() {
            return invalid(format!(
                "template {:?} wants manual approval, which an endpoint with {} challenges cannot offer (the MDM decided already)",
                endpoint.template,
                endpoint.challenge.kind()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_plain_url_segments() {
        for good in ["intune", "wifi-2", "a", "jamf_devices", &"x".repeat(32)] {
            assert!(is_valid_endpoint_name(good), "{good:?}");
        }
        for bad in ["", "-x", "Intune", "a/b", "a b", "..", "é", &"x".repeat(33)] {
            assert!(!is_valid_endpoint_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_need_distinct_names_and_configured_templates() {
        let config = RaConfig::default();
        let endpoint = |name: &str, template: &str| Endpoint {
            name: name.into(),
            template: template.into(),
            challenge: ChallengeCheck::OneTime,
        };
        assert!(check_endpoints(&config, &[endpoint("wifi", "device")]).is_ok());
        assert!(check_endpoints(&config, &[endpoint("wifi", "nosuch")]).is_err());
        assert!(
            check_endpoints(
                &config,
                &[endpoint("wifi", "device"), endpoint("wifi", "device")]
            )
            .is_err()
        );
        assert!(check_endpoints(&config, &[endpoint("Wi Fi", "device")]).is_err());
    }
}
