//! Accounts in the store: users, grants, tokens, client certificates and sessions. The
//! scenarios run on SQLite files here and on PostgreSQL in `tests_pg.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlx::Row;
use tempfile::TempDir;

use crate::*;

const NOW: i64 = 1_700_000_000;

async fn file_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    let store = Store::open(&url).await.unwrap();
    (dir, store)
}

fn user(name: &str, role: &str) -> NewUser {
    NewUser {
        name: name.into(),
        role: role.into(),
        password_hash: Some(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$salt-of-{name}$hash"
        )),
        basic_auth: false,
        created_at: NOW,
    }
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

pub(super) async fn users_are_created_once_and_looked_up(store: Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let id = store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    let bob = store.create_user(user("bob", "auditor")).await.unwrap();
    assert_ne!(id, bob);
    assert!(matches!(
        store.create_user(user("alice", "pki-admin")).await,
        Err(StoreError::Duplicate(what)) if what == "user \"alice\""
    ));
    // A role the schema does not know is refused by the database itself.
    assert!(store.create_user(user("carol", "root")).await.is_err());
    assert_eq!(store.count_users().await.unwrap(), 2);

    let alice = store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.id, id);
    assert_eq!(alice.role, "device-admin");
    assert!(!alice.disabled);
    assert_eq!(alice.created_at, NOW);
    assert!(alice.templates.is_empty());
    assert_eq!(
        alice.password_hash.as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$salt-of-alice$hash")
    );
    assert!(!format!("{alice:?}").contains("argon2id"));
    assert_eq!(store.user_by_id(id).await.unwrap().unwrap(), alice);
    assert!(store.user_by_name("nobody").await.unwrap().is_none());
    assert!(store.user_by_id(9999).await.unwrap().is_none());

    let no_password = NewUser {
        password_hash: None,
        ..user("mdm", "device-admin")
    };
    store.create_user(no_password).await.unwrap();
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice", "bob", "mdm"]);
    assert!(
        store
            .user_by_name("mdm")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_none()
    );

    assert!(
        store
            .set_password_hash("bob", "$argon2id$new")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_password_hash("nobody", "$argon2id$x")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$argon2id$new")
    );
}

pub(super) async fn grants_are_idempotent_and_listed(store: Store) {
    store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    store
        .create_user(user("bob", "cert-manager"))
        .await
        .unwrap();
    for t in ["server", "device", "device"] {
        assert!(store.grant_template("alice", t).await.unwrap());
    }
    assert!(store.grant_template("bob", "device").await.unwrap());
    assert!(!store.grant_template("nobody", "device").await.unwrap());
    assert_eq!(
        store
            .user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .templates,
        ["device", "server"]
    );
    assert_eq!(
        store.revoke_template("alice", "server").await.unwrap(),
        GrantRevocation::Revoked
    );
    let listed = store.list_users().await.unwrap();
    let templates: Vec<(&str, Vec<String>)> = listed
        .iter()
        .map(|u| (u.name.as_str(), u.templates.clone()))
        .collect();
    assert_eq!(
        templates,
        [
            ("alice", vec!["device".to_owned()]),
            ("bob", vec!["device".to_owned()])
        ]
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM user_templates").await,
        2
    );
}

pub(super) async fn tokens_and_client_certificates_find_their_user(store: Store) {
    let alice = store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    store.create_user(user("bob", "auditor")).await.unwrap();
    store.grant_template("alice", "device").await.unwrap();
    let token = [0x11u8; 32];
    assert!(
        store
            .add_api_token("alice", &token, "intune", NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_api_token("nobody", &[0x12; 32], "x", NOW)
            .await
            .unwrap()
    );
    assert!(matches!(
        store.add_api_token("bob", &token, "again", NOW).await,
        Err(StoreError::Duplicate(_))
    ));
    let found = store.user_by_token(&token).await.unwrap().unwrap();
    assert_eq!((found.id, found.templates), (alice, vec!["device".into()]));
    assert!(store.user_by_token(&[0x12; 32]).await.unwrap().is_none());
    // Only the hash is stored.
    let stored: String = sqlx::query("SELECT token_hash FROM api_tokens")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(stored, "11".repeat(32));

    let cert = [0x22u8; 32];
    assert!(
        store
            .bind_client_certificate("bob", &cert, NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .bind_client_certificate("nobody", &[0x23; 32], NOW)
            .await
            .unwrap()
    );
    // One certificate authenticates one user.
    assert!(matches!(
        store.bind_client_certificate("alice", &cert, NOW).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store
            .user_by_client_certificate(&cert)
            .await
            .unwrap()
            .unwrap()
            .name,
        "bob"
    );
    assert!(
        store
            .user_by_client_certificate(&[0x23; 32])
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.revoke_api_tokens("alice").await.unwrap(), 1);
    assert!(store.user_by_token(&token).await.unwrap().is_none());
}

pub(super) async fn sessions_expire_and_end(store: Store) {
    let id = store.create_user(user("alice", "pki-admin")).await.unwrap();
    let session = [0x33u8; 32];
    store
        .create_session(&session, id, NOW, NOW + 600)
        .await
        .unwrap();
    assert!(matches!(
        store.create_session(&session, id, NOW, NOW + 600).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        store.create_session(&[0x34; 32], id, NOW, NOW).await,
        Err(StoreError::InvalidInput(_))
    ));
    // Unknown user: the foreign key refuses it.
    assert!(
        store
            .create_session(&[0x35; 32], 9999, NOW, NOW + 1)
            .await
            .is_err()
    );
    let u = store
        .user_by_session(&session, NOW + 599)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.name, "alice");
    // expires_at is exclusive.
    assert!(
        store
            .user_by_session(&session, NOW + 600)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .user_by_session(&[0x36; 32], NOW)
            .await
            .unwrap()
            .is_none()
    );

    let other = [0x37u8; 32];
    store
        .create_session(&other, id, NOW, NOW + 10)
        .await
        .unwrap();
    assert_eq!(store.delete_expired_sessions(NOW + 10).await.unwrap(), 1);
    assert!(
        store
            .user_by_session(&session, NOW)
            .await
            .unwrap()
            .is_some()
    );
    // A new password ends the sessions opened with the old one.
    let before = [0x38u8; 32];
    store
        .create_session(&before, id, NOW, NOW + 600)
        .await
        .unwrap();
    assert!(
        store
            .set_password_hash("alice", "$argon2id$changed")
            .await
            .unwrap()
    );
    assert!(store.user_by_session(&before, NOW).await.unwrap().is_none());
    store
        .create_session(&session, id, NOW, NOW + 600)
        .await
        .unwrap();
    store.delete_session(&session).await.unwrap();
    store.delete_session(&session).await.unwrap();
    assert!(
        store
            .user_by_session(&session, NOW)
            .await
            .unwrap()
            .is_none()
    );
}

pub(super) async fn disabling_ends_sessions_and_marks_every_lookup(store: Store) {
    let id = store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    let (token, cert, session) = ([0x41u8; 32], [0x42u8; 32], [0x43u8; 32]);
    store
        .add_api_token("alice", &token, "mdm", NOW)
        .await
        .unwrap();
    store
        .bind_client_certificate("alice", &cert, NOW)
        .await
        .unwrap();
    store
        .create_session(&session, id, NOW, NOW + 600)
        .await
        .unwrap();

    assert_eq!(
        store.set_user_disabled("alice", true).await.unwrap(),
        Some(1)
    );
    assert_eq!(store.set_user_disabled("nobody", true).await.unwrap(), None);
    assert!(store.user_by_name("alice").await.unwrap().unwrap().disabled);
    // The token is gone, and a disabled account gets no new one.
    assert!(store.user_by_token(&token).await.unwrap().is_none());
    let later = [0x44u8; 32];
    assert!(
        !store
            .add_api_token("alice", &later, "mdm", NOW)
            .await
            .unwrap()
    );
    assert!(store.user_by_token(&later).await.unwrap().is_none());
    assert!(
        store
            .user_by_client_certificate(&cert)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(
        store
            .user_by_session(&session, NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sessions").await, 0);

    // Re-enabling restores the certificate binding, not the ended session nor the token.
    assert_eq!(
        store.set_user_disabled("alice", false).await.unwrap(),
        Some(0)
    );
    assert!(
        !store
            .user_by_client_certificate(&cert)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(store.user_by_token(&token).await.unwrap().is_none());
    assert!(
        store
            .user_by_session(&session, NOW)
            .await
            .unwrap()
            .is_none()
    );
}

pub(super) async fn revoking_a_grant_tells_the_three_cases_apart(store: Store) {
    store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    store
        .create_user(user("bob", "device-admin"))
        .await
        .unwrap();
    store.grant_template("alice", "device").await.unwrap();
    store.grant_template("bob", "server").await.unwrap();
    // A template granted to someone else is not alice's to lose.
    assert_eq!(
        store.revoke_template("alice", "server").await.unwrap(),
        GrantRevocation::NotGranted
    );
    assert_eq!(
        store.revoke_template("nobody", "device").await.unwrap(),
        GrantRevocation::NoSuchUser
    );
    assert_eq!(
        store.revoke_template("alice", "device").await.unwrap(),
        GrantRevocation::Revoked
    );
    // The second time there is nothing left to withdraw.
    assert_eq!(
        store.revoke_template("alice", "device").await.unwrap(),
        GrantRevocation::NotGranted
    );
    assert!(
        store
            .user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .templates
            .is_empty()
    );
    assert_eq!(
        store.user_by_name("bob").await.unwrap().unwrap().templates,
        ["server"]
    );
}

pub(super) async fn disabling_deletes_api_tokens_for_good(store: Store) {
    store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    store
        .create_user(user("bob", "device-admin"))
        .await
        .unwrap();
    let (first, second, bobs) = ([0x51u8; 32], [0x52u8; 32], [0x53u8; 32]);
    for (name, token) in [("alice", &first), ("alice", &second), ("bob", &bobs)] {
        assert!(store.add_api_token(name, token, "mdm", NOW).await.unwrap());
    }
    assert_eq!(
        store.set_user_disabled("alice", true).await.unwrap(),
        Some(2)
    );
    assert!(store.user_by_token(&first).await.unwrap().is_none());
    assert!(store.user_by_token(&second).await.unwrap().is_none());
    // Disabling again finds nothing more to delete.
    assert_eq!(
        store.set_user_disabled("alice", true).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        store.set_user_disabled("alice", false).await.unwrap(),
        Some(0)
    );
    assert!(store.user_by_token(&first).await.unwrap().is_none());
    // Other users keep theirs; a token issued after re-enabling works.
    assert_eq!(
        store.user_by_token(&bobs).await.unwrap().unwrap().name,
        "bob"
    );
    let fresh = [0x54u8; 32];
    assert!(
        store
            .add_api_token("alice", &fresh, "new", NOW)
            .await
            .unwrap()
    );
    let found = store.user_by_token(&fresh).await.unwrap().unwrap();
    assert_eq!((found.name.as_str(), found.disabled), ("alice", false));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM api_tokens").await, 2);
}

#[tokio::test]
async fn accounts_survive_a_reopen() {
    let (dir, store) = file_store().await;
    store.create_user(user("alice", "auditor")).await.unwrap();
    store.close().await;
    let url = format!("sqlite://{}?mode=rw", dir.path().join("scepd.db").display());
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.count_users().await.unwrap(), 1);
}

pub(super) async fn basic_auth_is_marked_unmarked_and_seen_by_every_lookup(store: Store) {
    let marked = NewUser {
        basic_auth: true,
        ..user("mdm-jamf", "device-admin")
    };
    let id = store.create_user(marked).await.unwrap();
    store
        .create_user(user("alice", "device-admin"))
        .await
        .unwrap();
    let token = [3u8; 32];
    assert!(
        store
            .add_api_token("mdm-jamf", &token, "jamf", NOW)
            .await
            .unwrap()
    );
    let jamf = store.user_by_name("mdm-jamf").await.unwrap().unwrap();
    assert!(jamf.basic_auth);
    assert!(format!("{jamf:?}").contains("basic_auth: true"));
    assert_eq!(store.user_by_id(id).await.unwrap().unwrap(), jamf);
    assert_eq!(store.user_by_token(&token).await.unwrap().unwrap(), jamf);
    let marks: Vec<(String, bool)> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.basic_auth))
        .collect();
    assert_eq!(
        marks,
        [("alice".to_owned(), false), ("mdm-jamf".to_owned(), true)]
    );

    // Unmark, mark the other, and mark again: idempotent; the flag is per account.
    assert!(store.set_user_basic_auth("mdm-jamf", false).await.unwrap());
    assert!(store.set_user_basic_auth("mdm-jamf", false).await.unwrap());
    assert!(store.set_user_basic_auth("alice", true).await.unwrap());
    assert!(store.set_user_basic_auth("alice", true).await.unwrap());
    assert!(!store.set_user_basic_auth("nobody", true).await.unwrap());
    let jamf = store.user_by_name("mdm-jamf").await.unwrap().unwrap();
    let alice = store.user_by_name("alice").await.unwrap().unwrap();
    assert!(!jamf.basic_auth && alice.basic_auth);
    // Disabling keeps the mark (enabling again restores the same account), and nothing else
    // about the account moved.
    store.set_user_disabled("alice", true).await.unwrap();
    let disabled = store.user_by_name("alice").await.unwrap().unwrap();
    assert!(disabled.disabled && disabled.basic_auth);
    assert_eq!(disabled.password_hash, alice.password_hash);
    // The database itself refuses a flag other than 0 and 1.
    assert!(
        sqlx::query("UPDATE users SET basic_auth = 2 WHERE name = 'alice'")
            .execute(&store.pool)
            .await
            .is_err()
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM users WHERE basic_auth = 1").await,
        1
    );
}

#[tokio::test]
async fn accounts_of_a_schema_6_database_stay_unmarked_for_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("scepd.db").display()
    );
    sqlx::any::install_default_drivers();
    {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE store_schema (version BIGINT NOT NULL PRIMARY KEY, \
             name TEXT NOT NULL, sha256 TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .unwrap();
        for m in crate::migrate::MIGRATIONS.iter().filter(|m| m.version <= 6) {
            sqlx::raw_sql(m.sqlite).execute(&pool).await.unwrap();
            sqlx::query("INSERT INTO store_schema VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(crate::migrate::checksum(m.sqlite))
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO users (name, role, password_hash, disabled, created_at) \
             VALUES ('old-mdm', 'device-admin', 'x', 0, 1)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let store = Store::open(&url).await.unwrap();
    let old = store.user_by_name("old-mdm").await.unwrap().unwrap();
    assert!(
        !old.basic_auth,
        "an upgrade must not open HTTP Basic to anyone"
    );
    assert!(store.set_user_basic_auth("old-mdm", true).await.unwrap());
    assert!(
        store
            .user_by_name("old-mdm")
            .await
            .unwrap()
            .unwrap()
            .basic_auth
    );
}

macro_rules! sqlite_scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_dir, store) = super::file_store().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}

sqlite_scenarios!(
    users_are_created_once_and_looked_up,
    grants_are_idempotent_and_listed,
    tokens_and_client_certificates_find_their_user,
    sessions_expire_and_end,
    disabling_ends_sessions_and_marks_every_lookup,
    revoking_a_grant_tells_the_three_cases_apart,
    disabling_deletes_api_tokens_for_good,
    basic_auth_is_marked_unmarked_and_seen_by_every_lookup,
);
