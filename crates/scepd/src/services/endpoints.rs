//! The named SCEP endpoints of `scepd.toml`, built into what the RA checks challenges with:
//! one-time challenges, or a verifier (Intune, a webhook, a signed challenge) made from its
//! settings and the files they name. Wiring only: what a verifier decides is its crate's.

use std::path::{Path, PathBuf};

use config::Config;
use config::mdm::{ChallengeKind, EndpointConfig};

/// Why an endpoint's verifier could not be built; each names the endpoint and the setting.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoints ({endpoint:?}): challenge = {kind:?} is not available in this build")]
    NotAvailable {
        endpoint: String,
        kind: &'static str,
    },
    #[error("endpoints ({endpoint:?}): {setting} = {path}: {reason}")]
    File {
        endpoint: String,
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("endpoints ({endpoint:?}): {reason}")]
    Verifier { endpoint: String, reason: String },
}

/// The RA's endpoints for `config`'s `[[endpoints]]`.
pub fn build(config: &Config, data_dir: &Path) -> Result<Vec<ra::Endpoint>, EndpointError> {
    config
        .endpoints
        .iter()
        .map(|endpoint| {
            Ok(ra::Endpoint {
                name: endpoint.name.clone(),
                template: endpoint.template.clone(),
                challenge: challenge_check(config, endpoint, data_dir)?,
            })
        })
        .collect()
}

fn challenge_check(
    _config: &Config,
    endpoint: &EndpointConfig,
    _data_dir: &Path,
) -> Result<ra::ChallengeCheck, EndpointError> {
    match endpoint.challenge {
        ChallengeKind::OneTime => Ok(ra::ChallengeCheck::OneTime),
        kind @ (ChallengeKind::Intune | ChallengeKind::Webhook | ChallengeKind::Signed) => {
            Err(EndpointError::NotAvailable {
                endpoint: endpoint.name.clone(),
                kind: kind.as_str(),
            })
        }
    }
}
