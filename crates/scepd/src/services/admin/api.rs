//! The JSON API under `/admin/api/v1/` for MDMs and scripts (described by `openapi.json`).
//! Each handler authenticates, asks `accounts` whether the principal may do this, and then
//! calls the same store and challenge functions the command line uses.

use std::sync::Arc;
use std::time::Duration;

use accounts::{Action, Principal};
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use edge::listener::Peer as Connection;
use serde::{Deserialize, Serialize};

use super::auth::{self, Accept};
use super::error::AdminError;
use super::state::{AdminState, actor, default_template};
use crate::clock::unix_now;
use crate::services::revocation::RevokeError;

/// The OpenAPI 3.1 description of `/admin/api/v1/`, checked in and served as is.
pub const OPENAPI: &str = include_str!("openapi.json");

type Shared = State<Arc<AdminState>>;

async fn principal(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
) -> Result<Principal, AdminError> {
    auth::authenticate(state, connection, headers, Accept::ApiCredentials).await
}

#[derive(Serialize)]
pub struct WhoAmI {
    name: String,
    role: String,
    templates: Vec<String>,
}

pub async fn whoami(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
) -> Result<Json<WhoAmI>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    Ok(Json(WhoAmI {
        name: p.name,
        role: p.role.to_string(),
        templates: p.templates,
    }))
}

// ---------------------------------------------------------------------------------------------
// Challenges

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    template: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    sans: Vec<String>,
    ttl_seconds: Option<u64>,
}

#[derive(Serialize)]
pub struct ChallengeIssued {
    challenge: String,
    template: String,
    expires_at: i64,
}

pub async fn issue_challenge(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    body: Result<Json<ChallengeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    let Json(request) = body?;
    let template = request.template.unwrap_or_else(|| default_template(&p));
    let issued = state
        .issue_challenge(
            &p,
            crate::services::challenges::IssueRequest {
                template: Some(template),
                subject: request.subject,
                sans: request.sans,
                ttl: request.ttl_seconds.map(Duration::from_secs),
            },
        )
        .await?;
    let body = ChallengeIssued {
        challenge: issued.secret.to_string(),
        template: issued.template,
        expires_at: issued.expires_at,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Certificates

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuery {
    template: Option<String>,
    revoked: Option<bool>,
    #[serde(default)]
    uncollected: bool,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct CertificateJson {
    serial: String,
    subject: String,
    template: String,
    not_before: i64,
    not_after: i64,
    issued_at: i64,
    transaction_id: String,
    delivered_at: Option<i64>,
    status: &'static str,
    revocation: Option<RevocationJson>,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pem: Option<String>,
}

#[derive(Serialize)]
pub struct RevocationJson {
    reason: &'static str,
    revoked_at: i64,
    revoked_by: String,
}

fn certificate_json(entry: &store::CertificateEntry, now: i64, with_pem: bool) -> CertificateJson {
    let c = &entry.certificate;
    let status = match &entry.revocation {
        Some(_) => "revoked",
        None if c.not_after <= now => "expired",
        None => "valid",
    };
    CertificateJson {
        serial: c.serial_hex.clone(),
        subject: c.subject.clone(),
        template: c.template.clone(),
        not_before: c.not_before,
        not_after: c.not_after,
        issued_at: c.issued_at,
        transaction_id: c.transaction_id.clone(),
        delivered_at: entry.delivered_at,
        status,
        revocation: entry.revocation.as_ref().map(|r| RevocationJson {
            reason: r.reason.as_str(),
            revoked_at: r.revoked_at,
            revoked_by: r.revoked_by.clone(),
        }),
        sha256: ca::fingerprint_sha256(&c.certificate_der),
        pem: with_pem
            .then(|| {
                der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &c.certificate_der)
                    .ok()
            })
            .flatten(),
    }
}

/// Most certificates one listing returns.
const MAX_LIST: u32 = 1000;

pub async fn list_certificates(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    query: Result<Query<CertificateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<CertificateJson>>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    p.authorize(Action::ReadCertificates)?;
    let Query(query) = query.map_err(|e| AdminError::BadRequest(e.body_text()))?;
    let filter = store::CertificateFilter {
        template: query.template,
        revoked: query.revoked,
        uncollected: query.uncollected.then_some(true),
        limit: query.limit.unwrap_or(100).clamp(1, MAX_LIST),
        ..store::CertificateFilter::default()
    };
    let entries = state
        .store
        .list_certificates(&filter)
        .await
        .map_err(AdminError::store)?;
    let now = unix_now();
    Ok(Json(
        entries
            .iter()
            .map(|e| certificate_json(e, now, false))
            .collect(),
    ))
}

async fn certificate(
    state: &AdminState,
    serial: &str,
) -> Result<store::CertificateEntry, AdminError> {
    state
        .store
        .certificate_entry(serial)
        .await
        .map_err(AdminError::store)?
        .ok_or_else(|| AdminError::NotFound(format!("no certificate with serial {serial}")))
}

pub async fn show_certificate(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(serial): Path<String>,
) -> Result<Json<CertificateJson>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    p.authorize(Action::ReadCertificates)?;
    let entry = certificate(&state, &serial).await?;
    Ok(Json(certificate_json(&entry, unix_now(), true)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    reason: String,
}

pub async fn revoke_certificate(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(serial): Path<String>,
    body: Result<Json<RevokeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<CertificateJson>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    let Json(request) = body?;
    let entry = certificate(&state, &serial).await?;
    // The restricted certificate manager: only certificates of its templates.
    p.authorize(Action::Revoke {
        template: &entry.certificate.template,
    })?;
    let now = unix_now();
    // Committed (at the CA first, in a split deployment) before the answer; the CRL follows.
    let revoked = state
        .scep
        .revocation
        .revoke(&serial, &request.reason, now, &actor(&p))
        .await;
    match revoked {
        Ok(_) => {}
        Err(e @ RevokeError::UnknownReason(_)) => {
            return Err(AdminError::BadRequest(format!("reason: {e}")));
        }
        Err(e @ RevokeError::AlreadyRevoked(_)) => return Err(AdminError::Conflict(e.to_string())),
        Err(e @ RevokeError::UnknownSerial(_)) => return Err(AdminError::NotFound(e.to_string())),
        Err(e @ RevokeError::Refused(_)) => return Err(AdminError::CaRefused(e.to_string())),
        Err(e @ RevokeError::Failed(_)) => {
            tracing::error!(error = %e, serial, "revocation not committed");
            return Err(AdminError::Unavailable(format!(
                "the revocation was not committed, nothing was revoked; retry later ({e})"
            )));
        }
    }
    let entry = certificate(&state, &serial).await?;
    Ok(Json(certificate_json(&entry, now, false)))
}

// ---------------------------------------------------------------------------------------------
// Requests held for approval

#[derive(Serialize)]
pub struct PendingJson {
    id: i64,
    state: &'static str,
    received_at: i64,
    template: String,
    subject: String,
    sans: Vec<String>,
}

fn pending_json(r: &store::PendingRecord) -> PendingJson {
    PendingJson {
        id: r.id,
        state: r.state.as_str(),
        received_at: r.created_at,
        template: r.template.clone(),
        subject: r.subject.clone(),
        sans: r.sans.clone(),
    }
}

pub async fn list_requests(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
) -> Result<Json<Vec<PendingJson>>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    p.authorize(Action::ReadCertificates)?;
    let held = state
        .store
        .list_pending()
        .await
        .map_err(AdminError::store)?;
    Ok(Json(held.iter().map(pending_json).collect()))
}

async fn held_request(state: &AdminState, id: i64) -> Result<store::PendingRecord, AdminError> {
    state
        .store
        .pending_request(id)
        .await
        .map_err(AdminError::store)?
        .ok_or_else(|| AdminError::NotFound(format!("no request with id {id}")))
}

fn decision_error(id: i64, error: store::StoreError) -> AdminError {
    match error {
        store::StoreError::UnknownRequest => {
            AdminError::NotFound(format!("no request with id {id}"))
        }
        e @ store::StoreError::RequestState { .. } => {
            AdminError::Conflict(format!("request {id}: {e}"))
        }
        e => AdminError::store(e),
    }
}

pub async fn approve_request(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<PendingJson>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    let held = held_request(&state, id).await?;
    p.authorize(Action::DecideRequest {
        template: &held.template,
    })?;
    state
        .store
        .approve_pending(id, &actor(&p), unix_now())
        .await
        .map_err(|e| decision_error(id, e))?;
    Ok(Json(pending_json(&held_request(&state, id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRequest {
    reason: String,
}

pub async fn deny_request(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Result<Json<DenyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<PendingJson>, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    let Json(request) = body?;
    let held = held_request(&state, id).await?;
    p.authorize(Action::DecideRequest {
        template: &held.template,
    })?;
    state
        .store
        .deny_pending(id, &actor(&p), &request.reason, unix_now())
        .await
        .map_err(|e| decision_error(id, e))?;
    Ok(Json(pending_json(&held_request(&state, id).await?)))
}

// ---------------------------------------------------------------------------------------------
// Metrics

pub async fn metrics(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let p = principal(&state, &connection, &headers).await?;
    p.authorize(Action::ReadMetrics)?;
    let scep = &state.scep;
    let text = scep.metrics.render(&scep.store, &scep.limiter).await;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The OpenAPI document of this API (public: it describes, it grants nothing).
pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}
