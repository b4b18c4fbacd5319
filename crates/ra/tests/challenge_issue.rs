//! Minting one-time challenges (`ra::issue_challenge`) over an in-memory ledger: only the
//! hash is kept, the issuer is audited, the per-administrator quota holds under concurrency,
//! and bad requests are refused with reasons an administrator may read.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use ra::{ChallengeIssueError, ChallengePolicy, IssueRequest, IssuedChallenge};

const NOW: i64 = 1_800_000_000;

async fn store() -> store::Store {
    store::Store::open_in_memory().await.unwrap()
}

fn default_policy() -> ChallengePolicy {
    ChallengePolicy {
        default_ttl: Duration::from_secs(3600),
        max_ttl: Duration::from_secs(24 * 3600),
        length: ra::challenge::CHALLENGE_LEN,
        max_outstanding_per_admin: 50,
        insecure_settings_on: Vec::new(),
    }
}

async fn issue_challenge(
    store: &store::Store,
    policy: &ChallengePolicy,
    request: IssueRequest,
    issued_by: &str,
    now: i64,
) -> Result<IssuedChallenge, ChallengeIssueError> {
    ra::issue_challenge(
        store,
        policy,
        &[policy::Template::device()],
        request,
        issued_by,
        now,
    )
    .await
}

fn request() -> IssueRequest {
    IssueRequest {
        template: None,
        subject: None,
        sans: Vec::new(),
        ttl: None,
    }
}

#[tokio::test]
async fn a_challenge_is_stored_as_a_hash_and_audited_under_its_issuer() {
    let store = store().await;
    let mut config = default_policy();
    config.length = 40;
    let issued = issue_challenge(&store, &config, request(), "api:alice", NOW)
        .await
        .unwrap();
    assert_eq!(issued.secret.len(), 40);
    assert_eq!(issued.template, "device");
    assert_eq!(issued.expires_at, NOW + 3600);
    let hash = ra::challenge::hash(issued.secret.as_bytes());
    let status = store.challenge_status(&hash, NOW).await.unwrap();
    let store::ChallengeStatus::Usable(record) = status else {
        panic!("{status:?}")
    };
    assert_eq!(record.created_by, "api:alice");
    let events = store.audit_events(10).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.kind == "challenge-issued")
        .unwrap();
    assert_eq!(event.actor, "api:alice");
    assert!(!event.detail.contains(issued.secret.as_str()));
    assert!(!event.detail.contains("INSECURE"), "{}", event.detail);
    assert!(!format!("{issued:?}").contains(issued.secret.as_str()));
}

#[tokio::test]
async fn the_per_administrator_limit_counts_only_outstanding_challenges() {
    let store = store().await;
    let mut config = default_policy();
    config.max_outstanding_per_admin = 2;
    let short = IssueRequest {
        ttl: Some(Duration::from_secs(60)),
        ..request()
    };
    issue_challenge(&store, &config, short, "alice", NOW)
        .await
        .unwrap();
    issue_challenge(&store, &config, request(), "alice", NOW)
        .await
        .unwrap();
    let err = issue_challenge(&store, &config, request(), "alice", NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChallengeIssueError::QuotaExceeded {
                limit: 2,
                outstanding: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_outstanding_per_admin"));
    // Another administrator has a quota of their own.
    issue_challenge(&store, &config, request(), "bob", NOW)
        .await
        .unwrap();
    // An expired challenge no longer counts.
    assert_eq!(
        store
            .count_outstanding_challenges("alice", NOW + 61)
            .await
            .unwrap(),
        1
    );
    issue_challenge(&store, &config, request(), "alice", NOW + 61)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_of_one_administrator_never_overshoot_the_quota() {
    let store = store().await;
    let mut config = default_policy();
    config.max_outstanding_per_admin = 5;
    let config = std::sync::Arc::new(config);
    let attempts: Vec<_> = (0..24)
        .map(|_| {
            let (store, config) = (store.clone(), std::sync::Arc::clone(&config));
            tokio::spawn(
                async move { issue_challenge(&store, &config, request(), "alice", NOW).await },
            )
        })
        .collect();
    let mut issued = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => issued += 1,
            Err(ChallengeIssueError::QuotaExceeded { limit: 5, .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(issued, 5);
    assert_eq!(
        store
            .count_outstanding_challenges("alice", NOW)
            .await
            .unwrap(),
        5
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_presentable_reasons() {
    let store = store().await;
    let config = default_policy();
    let cases: [(IssueRequest, &str); 4] = [
        (
            IssueRequest {
                template: Some("nope".into()),
                ..request()
            },
            "unknown template \"nope\" (known: device)",
        ),
        (
            IssueRequest {
                sans: vec!["email:a@example.net".into()],
                ..request()
            },
            "allows only dns:NAME",
        ),
        (
            IssueRequest {
                ttl: Some(Duration::from_secs(48 * 3600)),
                ..request()
            },
            "challenges.max_ttl (1day)",
        ),
        (
            IssueRequest {
                subject: Some("not a name".into()),
                ..request()
            },
            "binding:",
        ),
    ];
    for (bad, expected) in cases {
        let err = issue_challenge(&store, &config, bad, "alice", NOW)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert_eq!(
        store
            .count_outstanding_challenges("alice", NOW)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn issuance_names_an_insecure_mode_that_is_on() {
    let store = store().await;
    let mut config = default_policy();
    config.insecure_settings_on = vec![ra::INSECURE_NO_CHALLENGE];
    issue_challenge(&store, &config, request(), "alice", NOW)
        .await
        .unwrap();
    let events = store.audit_events(10).await.unwrap();
    assert!(
        events.iter().any(|e| e
            .detail
            .contains("INSECURE challenge settings on: insecure_no_challenge")),
        "{events:?}"
    );
}
