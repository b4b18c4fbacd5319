//! The administration listener: the mscep_admin page, the JSON API and /metrics, over TLS
//! only, with least-privilege accounts (the `accounts` crate) instead of Windows
//! authentication.

pub mod api;
pub mod auth;
pub mod csrf;
pub mod error;
pub mod page;
pub mod password_gate;
pub mod tls;
pub mod users;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use accounts::{Action, Principal};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{delete, get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::services::scep_http::ScepService;
use error::AdminError;

/// The OpenAPI 3.1 description of `/admin/api/v1/`, checked in and served as is.
pub const OPENAPI: &str = include_str!("openapi.json");

/// SHA-256 fingerprints of the certificates a device administrator pins.
pub struct Fingerprints {
    pub ca: String,
    pub ra_signing: String,
    pub ra_encryption: String,
}

/// Everything the admin handlers need, built once at start.
pub struct AdminState {
    pub store: store::Store,
    pub config: Arc<Config>,
    pub scep: Arc<ScepService>,
    pub trusted_proxies: Vec<policy::IpRange>,
    pub login_limiter: crate::services::limiter::FailureLimiter,
    /// Bounds the password verifications running at once (a login flood).
    pub password_gate: crate::services::admin::password_gate::PasswordGate,
    pub fingerprints: Fingerprints,
    pub template_names: Vec<String>,
    /// An argon2id hash of a random password, checked when a login names an unknown user so
    /// that the answer takes as long as for a known one.
    pub decoy_password_hash: String,
}

impl AdminState {
    pub fn new(config: Arc<Config>, scep: Arc<ScepService>) -> Result<AdminState, String> {
        let identity = scep.ra.identity();
        let fingerprints = Fingerprints {
            ca: ca::fingerprint_sha256(&identity.ca_certificate),
            ra_signing: ca::fingerprint_sha256(&identity.signing_certificate),
            ra_encryption: ca::fingerprint_sha256(&identity.encryption_certificate),
        };
        let template_names = crate::config::templates::build(&config.templates)?
            .iter()
            .map(|t| t.name().to_owned())
            .collect();
        let decoy = accounts::generate_password().map_err(|e| format!("random source: {e}"))?;
        let decoy_password_hash =
            accounts::hash_password(&decoy).map_err(|e| format!("password hashing: {e}"))?;
        Ok(AdminState {
            store: scep.ra.store().clone(),
            trusted_proxies: config.admin.proxy_ranges()?,
            login_limiter: crate::services::limiter::FailureLimiter::new(
                crate::services::limiter::Limits {
                    max_failures: config.admin.max_failed_logins,
                    window: config.admin.login_failure_window,
                    lockout: config.admin.login_lockout,
                    // Password spraying from many addresses trips this instead.
                    global_max_failures: config.admin.max_failed_logins.saturating_mul(20),
                },
            ),
            password_gate: crate::services::admin::password_gate::PasswordGate::new(
                config.admin.max_concurrent_password_checks,
            ),
            fingerprints,
            template_names,
            decoy_password_hash,
            config,
            scep,
        })
    }

    /// Appends an audit entry; a failure to do so is logged loudly (the action already happened).
    pub async fn audit(&self, kind: store::AuditKind, actor: &str, detail: String) {
        crate::audit_trail::append_or_log(&self.store, kind, actor, detail).await;
    }

    pub fn known_template(&self, template: &str) -> Result<(), AdminError> {
        if self.template_names.iter().any(|t| t == template) {
            Ok(())
        } else {
            Err(AdminError::BadRequest(format!(
                "template: unknown template {template:?} (known: {})",
                self.template_names.join(", ")
            )))
        }
    }

    pub async fn user(&self, name: &str) -> Result<store::UserRecord, AdminError> {
        self.store
            .user_by_name(name)
            .await
            .map_err(AdminError::store)?
            .ok_or_else(|| AdminError::NotFound(format!("no user {name}")))
    }

    /// A challenge for `principal`, if it may enroll devices for that template (NDES's Enroll
    /// permission) and is within its quota of outstanding challenges.
    pub async fn issue_challenge(
        &self,
        principal: &Principal,
        request: crate::services::challenges::IssueRequest,
    ) -> Result<crate::services::challenges::IssuedChallenge, AdminError> {
        let template = request.template.clone().unwrap_or_else(|| "device".into());
        principal.authorize(Action::IssueChallenge {
            template: &template,
        })?;
        crate::services::challenges::issue_challenge(
            &self.store,
            &self.config,
            request,
            &api::actor(principal),
            crate::clock::unix_now(),
        )
        .await
        .map_err(|e| match e {
            crate::services::challenges::ChallengeIssueError::QuotaExceeded { .. } => {
                AdminError::TooManyChallenges(e.to_string())
            }
            crate::services::challenges::ChallengeIssueError::Store(detail) => {
                AdminError::Internal(detail)
            }
            other => AdminError::BadRequest(other.to_string()),
        })
    }
}

/// 64 KiB: admin requests are small JSON documents and forms.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

fn header_layer(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

pub fn router(state: Arc<AdminState>) -> Router {
    let api = Router::new()
        .route("/whoami", get(api::whoami))
        .route("/challenges", post(api::issue_challenge))
        .route("/certificates", get(api::list_certificates))
        .route("/certificates/{serial}", get(api::show_certificate))
        .route(
            "/certificates/{serial}/revoke",
            post(api::revoke_certificate),
        )
        .route("/requests", get(api::list_requests))
        .route("/requests/{id}/approve", post(api::approve_request))
        .route("/requests/{id}/deny", post(api::deny_request))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{name}/disable", post(users::disable))
        .route("/users/{name}/enable", post(users::enable))
        .route("/users/{name}/grants", post(users::grant))
        .route(
            "/users/{name}/grants/{template}",
            delete(users::revoke_grant),
        )
        .route("/users/{name}/tokens", post(users::issue_token))
        .route("/openapi.json", get(api::openapi));
    Router::new()
        .route("/certsrv/mscep_admin", get(page::redirect))
        .route(page::PAGE_PATH, get(page::show))
        .route("/certsrv/mscep_admin/login", post(page::login))
        .route("/certsrv/mscep_admin/logout", post(page::logout))
        .route("/metrics", get(api::metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/admin/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outside every route, so that no handler runs for a refused request; inside the
        // header layers, so that the refusal is hardened like any other answer.
        .layer(axum::middleware::from_fn(csrf::refuse_cross_site))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            crate::services::scep_http::REQUEST_TIMEOUT,
        ))
        // On every answer, errors included: nothing of the admin surface is cached, framed or
        // sniffed, and browsers keep to HTTPS.
        .layer(header_layer(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ))
        .layer(header_layer("cache-control", "no-store"))
        .layer(header_layer("pragma", "no-cache"))
        .layer(header_layer("x-content-type-options", "nosniff"))
        .layer(header_layer("x-frame-options", "DENY"))
        // Not `no-referrer`: under it browsers send `Origin: null` even for the page's own
        // forms, which the cross-site check (csrf.rs) must refuse. `same-origin` still sends
        // nothing to other sites.
        .layer(header_layer("referrer-policy", "same-origin"))
        .layer(header_layer(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .with_state(state)
}

/// Binds the admin listener and serves it in the background; returns where it listens.
pub async fn start(
    dir: &Path,
    config: Arc<Config>,
    scep: Arc<ScepService>,
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, String> {
    let identity = tls::identity(dir, &config.admin)?;
    if identity.development {
        tracing::warn!(
            certificate = %identity.certificate.display(),
            "the admin listener uses its self-signed development certificate: set admin.certificate and admin.private_key in production"
        );
    }
    let tls = Arc::new(tls::server_config(dir, &config, &identity)?);
    let tracker =
        crate::services::listener::ConnectionTracker::new("admin", config.connections.limits());
    scep.metrics.watch_listener(Arc::clone(&tracker));
    let state = Arc::new(AdminState::new(config, scep)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (admin): {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(crate::services::listener::serve(
        listener,
        crate::services::listener::Transport::Tls(tls),
        router(state),
        tracker,
        shutdown,
    ));
    Ok(local)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    /// Every route of the API router is in the checked-in OpenAPI document with its method
    /// (the end-to-end test checks the other direction: every documented operation answers).
    #[test]
    fn every_api_route_is_documented() {
        let spec: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let source = include_str!("mod.rs");
        let start = source.find("let api = Router::new()").unwrap();
        let end = start + source[start..].find(';').unwrap();
        let mut routes = 0;
        for call in source[start..end].split(".route(").skip(1) {
            let path = call.split('"').nth(1).unwrap();
            let handlers = call.split_once(',').unwrap().1;
            for method in ["get", "post", "put", "delete", "patch"] {
                if handlers.contains(&format!("{method}("))
                    || handlers.contains(&format!(".{method}("))
                {
                    assert!(
                        spec["paths"][path][method].is_object(),
                        "{method} {path} is served but not in openapi.json"
                    );
                    routes += 1;
                }
            }
        }
        assert!(routes >= 15, "found only {routes} routes");
    }
}
