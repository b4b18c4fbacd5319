//! Minting one-time challenges from the configuration: the rules and the storing are
//! `ra::challenge_issue`'s; this reads them out of `scepd.toml` for the command line and the
//! admin API.

use config::Config;

pub use ra::{ChallengeIssueError, IssueRequest, IssuedChallenge};

/// The configuration's challenge policy: lifetimes, length, quota, and which insecure modes
/// are on (named in every issuance's audit entry).
fn challenge_policy(config: &Config) -> ra::ChallengePolicy {
    let settings = &config.challenges;
    let mut insecure_settings_on = Vec::new();
    if settings.insecure_no_challenge {
        insecure_settings_on.push(ra::INSECURE_NO_CHALLENGE);
    }
    if settings.insecure_static_challenge_file.is_some() {
        insecure_settings_on.push(ra::INSECURE_STATIC_CHALLENGE);
    }
    ra::ChallengePolicy {
        default_ttl: settings.default_ttl,
        max_ttl: settings.max_ttl,
        length: settings.length,
        max_outstanding_per_admin: settings.max_outstanding_per_admin,
        insecure_settings_on,
    }
}

/// [`ra::issue_challenge`] under the configuration's templates and challenge policy.
pub async fn issue_challenge(
    store: &store::Store,
    config: &Config,
    request: IssueRequest,
    issued_by: &str,
    now: i64,
) -> Result<IssuedChallenge, ChallengeIssueError> {
    let templates = config::templates::build(&config.templates)
        .map_err(|e| ChallengeIssueError::Templates(Box::new(e)))?;
    ra::issue_challenge(
        store,
        &challenge_policy(config),
        &templates,
        request,
        issued_by,
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_policy_is_the_configured_one_with_its_insecure_modes_named() {
        let mut config = Config::default();
        config.challenges.length = 40;
        config.challenges.max_outstanding_per_admin = 7;
        let policy = challenge_policy(&config);
        assert_eq!(policy.length, 40);
        assert_eq!(policy.max_outstanding_per_admin, 7);
        assert_eq!(policy.default_ttl, config.challenges.default_ttl);
        assert!(policy.insecure_settings_on.is_empty());
        config.challenges.insecure_no_challenge = true;
        config.challenges.insecure_static_challenge_file = Some("static".into());
        assert_eq!(
            challenge_policy(&config).insecure_settings_on,
            [ra::INSECURE_NO_CHALLENGE, ra::INSECURE_STATIC_CHALLENGE]
        );
    }

    #[tokio::test]
    async fn a_challenge_is_minted_under_the_configured_templates() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = store::Store::open(&url).await.unwrap();
        let config = Config::default();
        let request = IssueRequest {
            template: Some("nope".into()),
            subject: None,
            sans: Vec::new(),
            ttl: None,
        };
        let err = issue_challenge(&store, &config, request, "alice", 1_800_000_000)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("(known: device)"), "{err}");
    }
}
