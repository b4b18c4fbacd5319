//! User management over the JSON API (pki-admin only): the same operations as `scepd user`.
//! Generated passwords and tokens are in the answer once and stored only as hashes.

use std::sync::Arc;

use accounts::{Action, Principal};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edge::listener::Peer as Connection;
use serde::{Deserialize, Serialize};

use super::auth::{self, Accept};
use super::error::AdminError;
use super::state::{AdminState, actor};
use crate::clock::unix_now;

type Shared = State<Arc<AdminState>>;

async fn user_manager(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
) -> Result<Principal, AdminError> {
    let p = auth::authenticate(state, connection, headers, Accept::ApiCredentials).await?;
    p.authorize(Action::ManageUsers)?;
    Ok(p)
}

#[derive(Serialize)]
pub struct UserJson {
    name: String,
    role: String,
    disabled: bool,
    /// May authenticate with HTTP Basic (mscep_admin page, Jamf webhook).
    basic_auth: bool,
    templates: Vec<String>,
    created_at: i64,
}

fn user_json(u: store::UserRecord) -> UserJson {
    UserJson {
        name: u.name,
        role: u.role,
        disabled: u.disabled,
        basic_auth: u.basic_auth,
        templates: u.templates,
        created_at: u.created_at,
    }
}

pub async fn list(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserJson>>, AdminError> {
    user_manager(&state, &connection, &headers).await?;
    let users = state.store.list_users().await.map_err(AdminError::store)?;
    Ok(Json(users.into_iter().map(user_json).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    name: String,
    role: String,
    #[serde(default)]
    templates: Vec<String>,
    password: Option<String>,
    #[serde(default)]
    basic_auth: bool,
}

/// 400 for HTTP Basic on a role that may not use it (`Role::may_use_basic_auth`).
fn check_basic_auth_role(name: &str, role: accounts::Role) -> Result<(), AdminError> {
    if role.may_use_basic_auth() {
        Ok(())
    } else {
        Err(AdminError::BadRequest(format!(
            "basic_auth: user {name} has role {role}; only device-admin accounts may use HTTP Basic"
        )))
    }
}

#[derive(Serialize)]
pub struct CreatedUser {
    #[serde(flatten)]
    user: UserJson,
    /// Present only when scepd generated the password: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

pub async fn create(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    body: Result<Json<NewUserRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    let p = user_manager(&state, &connection, &headers).await?;
    let Json(request) = body?;
    accounts::validate_user_name(&request.name)
        .map_err(|e| AdminError::BadRequest(format!("name: {e}")))?;
    let role: accounts::Role = request.role.parse().map_err(|_| {
        AdminError::BadRequest(format!(
            "role: unknown role {:?} (known: pki-admin, device-admin, cert-manager, auditor)",
            request.role
        ))
    })?;
    if request.basic_auth {
        check_basic_auth_role(&request.name, role)?;
    }
    for template in &request.templates {
        state.known_template(template)?;
    }
    let (password, generated) = match request.password {
        Some(given) if given.chars().count() < accounts::MIN_PASSWORD_LEN => {
            return Err(AdminError::BadRequest(format!(
                "password: at least {} characters",
                accounts::MIN_PASSWORD_LEN
            )));
        }
        Some(given) => (zeroize::Zeroizing::new(given), false),
        None => (
            accounts::generate_password().map_err(|e| AdminError::Internal(e.to_string()))?,
            true,
        ),
    };
    let hash =
        accounts::hash_password(&password).map_err(|e| AdminError::Internal(e.to_string()))?;
    let now = unix_now();
    match state
        .store
        .create_user(store::NewUser {
            name: request.name.clone(),
            role: role.to_string(),
            password_hash: Some(hash),
            basic_auth: request.basic_auth,
            created_at: now,
        })
        .await
    {
        Ok(_) => {}
        Err(store::StoreError::Duplicate(_)) => {
            return Err(AdminError::Conflict(format!(
                "user {} already exists",
                request.name
            )));
        }
        Err(e) => return Err(AdminError::store(e)),
    }
    for template in &request.templates {
        state
            .store
            .grant_template(&request.name, template)
            .await
            .map_err(AdminError::store)?;
    }
    state
        .audit(
            store::AuditKind::AccountChanged,
            &actor(&p),
            format!(
                "user {} created with role {role}, templates {:?}, HTTP Basic {}",
                request.name,
                request.templates,
                if request.basic_auth {
                    "allowed"
                } else {
                    "not allowed"
                }
            ),
        )
        .await;
    let user = state.user(&request.name).await?;
    let body = CreatedUser {
        user: user_json(user),
        password: generated.then(|| password.to_string()),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn set_disabled(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
    name: &str,
    disabled: bool,
) -> Result<Json<UserJson>, AdminError> {
    let p = user_manager(state, connection, headers).await?;
    if disabled && p.name == name {
        return Err(AdminError::Conflict(
            "an administrator cannot disable their own account".into(),
        ));
    }
    let tokens = state
        .store
        .set_user_disabled(name, disabled)
        .await
        .map_err(AdminError::store)?
        .ok_or_else(|| AdminError::NotFound(format!("no user {name}")))?;
    let detail = if disabled {
        format!("user {name} disabled, its sessions ended and {tokens} API token(s) revoked")
    } else {
        format!("user {name} enabled")
    };
    state
        .audit(store::AuditKind::AccountChanged, &actor(&p), detail)
        .await;
    Ok(Json(user_json(state.user(name).await?)))
}

pub async fn disable(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, AdminError> {
    set_disabled(&state, &connection, &headers, &name, true).await
}

pub async fn enable(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, AdminError> {
    set_disabled(&state, &connection, &headers, &name, false).await
}

async fn set_basic_auth(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
    name: &str,
    allowed: bool,
) -> Result<Json<UserJson>, AdminError> {
    let p = user_manager(state, connection, headers).await?;
    let user = state.user(name).await?;
    if allowed {
        match user.role.parse::<accounts::Role>() {
            Ok(role) => check_basic_auth_role(name, role)?,
            Err(e) => return Err(AdminError::BadRequest(format!("user {name}: {e}"))),
        }
    }
    if !state
        .store
        .set_user_basic_auth(name, allowed)
        .await
        .map_err(AdminError::store)?
    {
        return Err(AdminError::NotFound(format!("no user {name}")));
    }
    let detail = if allowed {
        format!("user {name} marked for HTTP Basic (mscep_admin page, Jamf webhook)")
    } else {
        format!("user {name} unmarked for HTTP Basic")
    };
    state
        .audit(store::AuditKind::AccountChanged, &actor(&p), detail)
        .await;
    Ok(Json(user_json(state.user(name).await?)))
}

/// Lets a device-admin account authenticate with HTTP Basic.
pub async fn allow_basic_auth(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, AdminError> {
    set_basic_auth(&state, &connection, &headers, &name, true).await
}

pub async fn forbid_basic_auth(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, AdminError> {
    set_basic_auth(&state, &connection, &headers, &name, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    template: String,
}

pub async fn grant(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<GrantRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<UserJson>, AdminError> {
    let p = user_manager(&state, &connection, &headers).await?;
    let Json(request) = body?;
    state.known_template(&request.template)?;
    let found = state
        .store
        .grant_template(&name, &request.template)
        .await
        .map_err(AdminError::store)?;
    if !found {
        return Err(AdminError::NotFound(format!("no user {name}")));
    }
    state
        .audit(
            store::AuditKind::AccountChanged,
            &actor(&p),
            format!("user {name} granted template {}", request.template),
        )
        .await;
    Ok(Json(user_json(state.user(&name).await?)))
}

pub async fn revoke_grant(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path((name, template)): Path<(String, String)>,
) -> Result<Json<UserJson>, AdminError> {
    let p = user_manager(&state, &connection, &headers).await?;
    match state
        .store
        .revoke_template(&name, &template)
        .await
        .map_err(AdminError::store)?
    {
        store::GrantRevocation::Revoked => {}
        store::GrantRevocation::NotGranted => {
            return Err(AdminError::NotFound(format!(
                "user {name} has no grant for template {template}"
            )));
        }
        store::GrantRevocation::NoSuchUser => {
            return Err(AdminError::NotFound(format!("no user {name}")));
        }
    }
    state
        .audit(
            store::AuditKind::AccountChanged,
            &actor(&p),
            format!("user {name} lost template {template}"),
        )
        .await;
    Ok(Json(user_json(state.user(&name).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(default)]
    label: String,
}

#[derive(Serialize)]
pub struct TokenIssued {
    token: String,
    user: String,
    label: String,
}

pub async fn issue_token(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Json<TokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    let p = user_manager(&state, &connection, &headers).await?;
    let Json(request) = body?;
    let token = accounts::generate_token().map_err(|e| AdminError::Internal(e.to_string()))?;
    let found = state
        .store
        .add_api_token(&name, &token.hash, &request.label, unix_now())
        .await
        .map_err(AdminError::store)?;
    if !found {
        // Not issued: say whether the account is missing or disabled.
        state.user(&name).await?;
        return Err(AdminError::Conflict(format!(
            "user {name} is disabled: enable the account before issuing it a token"
        )));
    }
    state
        .audit(
            store::AuditKind::AccountChanged,
            &actor(&p),
            format!("API token {:?} issued for user {name}", request.label),
        )
        .await;
    let body = TokenIssued {
        token: token.secret.to_string(),
        user: name,
        label: request.label,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
