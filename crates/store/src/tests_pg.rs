//! The shared scenarios of `tests.rs` against PostgreSQL, when `SCEPD_TEST_POSTGRES_URL`
//! names a server where the user may `CREATE DATABASE` (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without it these tests are skipped and say
//! so on stderr, except under `CI=true`, where `.ci/run` starts a server and they must run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Store;

const ENV: &str = "SCEPD_TEST_POSTGRES_URL";

/// A fresh database on the test server, so the tests run in parallel without sharing rows.
/// Returns the store and the database's name for [`drop_db`].
async fn pg_store() -> Option<(Store, String)> {
    let Ok(admin_url) = std::env::var(ENV) else {
        // CI provides a server (.ci/run); there a missing URL is a failure, not a skip.
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{ENV} must be set in CI (.ci/run starts PostgreSQL)"
        );
        eprintln!("SKIPPED: {ENV} not set: PostgreSQL test skipped");
        return None;
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "scepd_store_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    Some((store, name))
}

/// Drops a test database (not reached when the test failed: left for inspection).
async fn drop_db(name: &str) {
    let admin = sqlx::AnyPool::connect(&std::env::var(ENV).unwrap())
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
}

macro_rules! pg_scenarios {
    ($module:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            if let Some((store, db)) = pg_store().await {
                crate::$module::$name(store).await;
                drop_db(&db).await;
            }
        }
    )*};
}

pg_scenarios!(
    tests:
    challenge_lifecycle_usable_then_used,
    expired_and_unknown_challenges_are_not_usable,
    fifty_concurrent_issuances_consume_a_challenge_exactly_once,
    duplicate_serial_rolls_back_the_challenge_consumption,
    duplicate_transaction_id_is_refused_and_writes_nothing,
    audit_chain_detects_an_edited_row,
    audit_chain_detects_a_deleted_middle_row,
    concurrent_appends_keep_one_valid_chain,
);

pg_scenarios!(
    tests_lifecycle:
    pending_request_is_approved_then_issued,
    held_bindings_round_trip_and_old_rows_have_none,
    pending_request_is_denied_or_refused,
    failed_pending_writes_roll_back,
    approve_and_deny_races_have_one_winner,
    revocation_is_recorded_once_and_reported,
    twenty_concurrent_revocations_commit_one,
    crl_numbers_are_monotonic_and_distinct,
    certificates_are_listed_and_delivery_tracked,
    a_hundred_thousand_revoked_entries_are_read,
);

pg_scenarios!(
    tests_enrollment:
    enrollment_facts_match_the_separate_lookups,
);

pg_scenarios!(
    tests_accounts:
    users_are_created_once_and_looked_up,
    grants_are_idempotent_and_listed,
    tokens_and_client_certificates_find_their_user,
    sessions_expire_and_end,
    disabling_ends_sessions_and_marks_every_lookup,
    revoking_a_grant_tells_the_three_cases_apart,
    disabling_deletes_api_tokens_for_good,
    basic_auth_is_marked_unmarked_and_seen_by_every_lookup,
);

#[tokio::test]
async fn migrations_are_idempotent_on_reopen() {
    let Some((store, db)) = pg_store().await else {
        return;
    };
    let url = store.pool.connect_options().database_url.to_string();
    store.close().await;
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.verify_audit_chain().await.unwrap(), 0);
    again.close().await;
    drop_db(&db).await;
}

pg_scenarios!(
    tests_ra_registry:
    a_code_registers_once_and_only_before_it_expires,
    a_nonce_is_answered_once_and_replays_get_the_same_answer,
    an_issued_statement_records_the_certificate_at_the_ca,
    a_mirrored_crl_is_served_and_only_a_newer_one_replaces_it,
);
