//! Administrator accounts: users, their template grants, and how they authenticate (password
//! hash, API tokens, client certificates, login sessions).
//!
//! Only hashes are stored (see `migrations/*/0004_accounts.sql`): the caller hashes tokens,
//! session ids and certificates with SHA-256 and passwords with argon2id (crate `accounts`).
//! The role is stored as its name and not interpreted here. Every lookup returns disabled users
//! with `disabled = true`: refusing them is the caller's decision, made in one place, and
//! [`Store::set_user_disabled`] also ends their sessions and deletes their API tokens.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::backend::{is_unique_violation, with_retry};

/// Ends every page session of the user `name`, inside the caller's transaction (disabling an
/// account or changing its password must not leave a session opened before).
async fn end_sessions_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes every API token of the user `name` inside the caller's transaction; returns how
/// many there were.
async fn delete_tokens_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE name = $1)",
    )
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(deleted.rows_affected())
}

use crate::codec::hex32;
use crate::{Store, StoreError};

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Checked by the caller (`accounts::validate_user_name`); unique.
    pub name: String,
    /// A role name (`pki-admin`, `device-admin`, `cert-manager`, `auditor`).
    pub role: String,
    /// argon2id PHC string; `None`: no password login.
    pub password_hash: Option<String>,
    /// May authenticate with HTTP Basic (a machine account of an MDM connector). Which roles
    /// may be marked is the caller's rule (`accounts::Role::may_use_basic_auth`).
    pub basic_auth: bool,
    pub created_at: i64,
}

/// What [`Store::revoke_template`] found: the caller answers each case differently (and
/// audits only a grant that was really withdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRevocation {
    /// The user had the grant; it is gone.
    Revoked,
    /// The user exists but had no grant for the template: nothing changed.
    NotGranted,
    /// No user of that name.
    NoSuchUser,
}

/// A stored user with its granted templates (sorted).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    /// Marked for HTTP Basic (see [`NewUser::basic_auth`]).
    pub basic_auth: bool,
    pub created_at: i64,
    pub templates: Vec<String>,
}

// The password hash stays out of logs, even though it is not the password.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("has_password", &self.password_hash.is_some())
            .field("disabled", &self.disabled)
            .field("basic_auth", &self.basic_auth)
            .field("created_at", &self.created_at)
            .field("templates", &self.templates)
            .finish()
    }
}

const USER_COLUMNS: &str =
    "u.id, u.name, u.role, u.password_hash, u.disabled, u.basic_auth, u.created_at";

/// A 0/1 flag column of `users`; anything else is a corrupt row.
fn flag(row: &AnyRow, column: &'static str) -> Result<bool, StoreError> {
    match row.try_get::<i64, _>(column)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(StoreError::CorruptRow("users")),
    }
}

fn decode_user(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        disabled: flag(row, "disabled")?,
        basic_auth: flag(row, "basic_auth")?,
        created_at: row.try_get("created_at")?,
        templates: Vec::new(),
    })
}

impl Store {
    /// Creates a user; returns its id. [`StoreError::Duplicate`] if the name is taken.
    pub async fn create_user(&self, user: NewUser) -> Result<i64, StoreError> {
        with_retry(self.backend, || async {
            let inserted = sqlx::query(
                "INSERT INTO users (name, role, password_hash, disabled, basic_auth, created_at) \
                 VALUES ($1, $2, $3, 0, $4, $5) RETURNING id",
            )
            .bind(&user.name)
            .bind(&user.role)
            .bind(user.password_hash.as_deref())
            .bind(i64::from(user.basic_auth))
            .bind(user.created_at)
            .fetch_one(&self.pool)
            .await;
            match inserted {
                Ok(row) => Ok(row.try_get("id")?),
                Err(e) if is_unique_violation(&e) => {
                    Err(StoreError::Duplicate(format!("user {:?}", user.name)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// How many users exist, disabled ones included (zero: nobody can administer yet).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        self.with_templates(row).await
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        self.with_templates(row).await
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        )))
        .fetch_all(&self.pool)
        .await?;
        let grants = sqlx::query("SELECT user_id, template FROM user_templates ORDER BY template")
            .fetch_all(&self.pool)
            .await?;
        let mut by_user: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for g in &grants {
            by_user
                .entry(g.try_get("user_id")?)
                .or_default()
                .push(g.try_get("template")?);
        }
        rows.iter()
            .map(|r| {
                let mut user = decode_user(r)?;
                user.templates = by_user.remove(&user.id).unwrap_or_default();
                Ok(user)
            })
            .collect()
    }

    /// Disables or re-enables a user. Disabling also ends its sessions and deletes its API
    /// tokens, in the same transaction: enabling the account again must not bring back
    /// credentials an administrator may have disabled it to stop. Returns how many tokens were
    /// deleted (0 when enabling); `None`: no such user.
    pub async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<Option<u64>, StoreError> {
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let updated = sqlx::query("UPDATE users SET disabled = $1 WHERE name = $2")
                .bind(i64::from(disabled))
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let mut tokens = 0;
            if disabled {
                end_sessions_in(&mut tx, name).await?;
                tokens = delete_tokens_in(&mut tx, name).await?;
            }
            tx.commit().await?;
            Ok(Some(tokens))
        })
        .await
    }

    /// Marks or unmarks a user for HTTP Basic. False: no such user. Marking an account that is
    /// already marked (or unmarking an unmarked one) changes nothing and is not an error.
    pub async fn set_user_basic_auth(&self, name: &str, allowed: bool) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let updated = sqlx::query("UPDATE users SET basic_auth = $1 WHERE name = $2")
                .bind(i64::from(allowed))
                .bind(name)
                .execute(&self.pool)
                .await?;
            Ok(updated.rows_affected() == 1)
        })
        .await
    }

    /// Replaces the password hash (argon2id PHC) and ends the user's page sessions in the same
    /// transaction: a password changed because it leaked must not leave a session opened with
    /// it. API tokens are separate credentials (`revoke_api_tokens`). False: no such user.
    pub async fn set_password_hash(&self, name: &str, phc: &str) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
                .bind(phc)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            end_sessions_in(&mut tx, name).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    /// Grants a template; granting it again changes nothing. False: no such user.
    pub async fn grant_template(&self, name: &str, template: &str) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let Some(id) = self.user_id(name).await? else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO user_templates (user_id, template) VALUES ($1, $2) \
                 ON CONFLICT (user_id, template) DO NOTHING",
            )
            .bind(id)
            .bind(template)
            .execute(&self.pool)
            .await?;
            Ok(true)
        })
        .await
    }

    /// Withdraws a template grant, saying whether there was one to withdraw.
    pub async fn revoke_template(
        &self,
        name: &str,
        template: &str,
    ) -> Result<GrantRevocation, StoreError> {
        with_retry(self.backend, || async {
            let Some(id) = self.user_id(name).await? else {
                return Ok(GrantRevocation::NoSuchUser);
            };
            let deleted =
                sqlx::query("DELETE FROM user_templates WHERE user_id = $1 AND template = $2")
                    .bind(id)
                    .bind(template)
                    .execute(&self.pool)
                    .await?;
            Ok(if deleted.rows_affected() == 0 {
                GrantRevocation::NotGranted
            } else {
                GrantRevocation::Revoked
            })
        })
        .await
    }

    /// Records an API token by its SHA-256. False: no such user, or the account is disabled —
    /// a token made while it is disabled would come to life when it is enabled again, past
    /// the revocation that disabling it did.
    pub async fn add_api_token(
        &self,
        name: &str,
        token_hash: &[u8; 32],
        label: &str,
        created_at: i64,
    ) -> Result<bool, StoreError> {
        let hash = hex32(token_hash);
        self.insert_for_user(
            name,
            "INSERT INTO api_tokens (token_hash, user_id, label, created_at) \
             SELECT $1, id, $2, $3 FROM users WHERE name = $4 AND disabled = 0",
            &hash,
            Some(label),
            created_at,
            "API token",
        )
        .await
    }

    /// The user an API token (by its SHA-256) belongs to, disabled or not.
    pub async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_credential("api_tokens", "token_hash", token_hash)
            .await
    }

    /// Withdraws every API token of a user; returns how many there were.
    pub async fn revoke_api_tokens(&self, name: &str) -> Result<u64, StoreError> {
        with_retry(self.backend, || async {
            let mut tx = self.backend.begin_write(&self.pool).await?;
            let deleted = delete_tokens_in(&mut tx, name).await?;
            tx.commit().await?;
            Ok(deleted)
        })
        .await
    }

    /// Lets a client certificate (by the SHA-256 of its DER) authenticate as the user. False:
    /// no such user. [`StoreError::Duplicate`] if the certificate is already bound (to anyone).
    pub async fn bind_client_certificate(
        &self,
        name: &str,
        cert_sha256: &[u8; 32],
        created_at: i64,
    ) -> Result<bool, StoreError> {
        let hash = hex32(cert_sha256);
        self.insert_for_user(
            name,
            "INSERT INTO client_certificates (cert_sha256, user_id, created_at) \
             SELECT $1, id, $2 FROM users WHERE name = $3",
            &hash,
            None,
            created_at,
            "client certificate",
        )
        .await
    }

    /// The user a client certificate is bound to, disabled or not.
    pub async fn user_by_client_certificate(
        &self,
        cert_sha256: &[u8; 32],
    ) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_credential("client_certificates", "cert_sha256", cert_sha256)
            .await
    }

    /// The user a credential row (`table`, keyed by the hex SHA-256 in `column`) belongs to.
    /// Both names are constants of this module, never input.
    async fn user_by_credential(
        &self,
        table: &'static str,
        column: &'static str,
        sha256: &[u8; 32],
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN {table} c ON c.user_id = u.id \
             WHERE c.{column} = $1"
        )))
        .bind(hex32(sha256))
        .fetch_optional(&self.pool)
        .await?;
        self.with_templates(row).await
    }

    /// Records a login session by the SHA-256 of its id.
    pub async fn create_session(
        &self,
        session_hash: &[u8; 32],
        user_id: i64,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        if expires_at <= created_at {
            return Err(StoreError::InvalidInput(
                "session expires before it is created",
            ));
        }
        let hash = hex32(session_hash);
        with_retry(self.backend, || async {
            let inserted = sqlx::query(
                "INSERT INTO sessions (session_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&hash)
            .bind(user_id)
            .bind(created_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("session".into())),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The user of an unexpired session (`expires_at > now`), disabled or not.
    pub async fn user_by_session(
        &self,
        session_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN sessions s ON s.user_id = u.id \
             WHERE s.session_hash = $1 AND s.expires_at > $2"
        )))
        .bind(hex32(session_hash))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        self.with_templates(row).await
    }

    /// Ends a session (logout); an unknown one is not an error.
    pub async fn delete_session(&self, session_hash: &[u8; 32]) -> Result<(), StoreError> {
        let hash = hex32(session_hash);
        with_retry(self.backend, || async {
            sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
                .bind(&hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Deletes sessions expired at `now` (housekeeping; lookups ignore them anyway). Returns
    /// how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        with_retry(self.backend, || async {
            let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?;
            Ok(deleted.rows_affected())
        })
        .await
    }

    async fn user_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("id")?),
            None => None,
        })
    }

    /// Runs an `INSERT ... SELECT ... FROM users WHERE name = $last` that binds `hash`, then
    /// `label` if given, then `created_at`, then the user name. False when no row was
    /// inserted (no such user); a taken hash is [`StoreError::Duplicate`] naming `what`.
    async fn insert_for_user(
        &self,
        name: &str,
        sql: &'static str,
        hash: &str,
        label: Option<&str>,
        created_at: i64,
        what: &'static str,
    ) -> Result<bool, StoreError> {
        with_retry(self.backend, || async {
            let mut query = sqlx::query(sql).bind(hash);
            if let Some(label) = label {
                query = query.bind(label);
            }
            let inserted = query.bind(created_at).bind(name).execute(&self.pool).await;
            match inserted {
                Ok(done) => Ok(done.rows_affected() == 1),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate(what.into())),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn with_templates(&self, row: Option<AnyRow>) -> Result<Option<UserRecord>, StoreError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let mut user = decode_user(&row)?;
        let grants =
            sqlx::query("SELECT template FROM user_templates WHERE user_id = $1 ORDER BY template")
                .bind(user.id)
                .fetch_all(&self.pool)
                .await?;
        user.templates = grants
            .iter()
            .map(|g| g.try_get("template"))
            .collect::<Result<_, _>>()?;
        Ok(Some(user))
    }
}
