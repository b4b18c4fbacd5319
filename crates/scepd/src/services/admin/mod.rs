//! The administration listener: the mscep_admin page, the JSON API and /metrics, over TLS
//! only, with least-privilege accounts (the `accounts` crate) instead of Windows
//! authentication. MDM connectors read the page in NDES's format with HTTP Basic, and Jamf
//! Pro's SCEPChallenge webhook is answered here too (`basic`, `ndes`, `jamf`): this listener is
//! always TLS, and the plain-HTTP SCEP listener serves none of it.

pub mod api;
pub mod auth;
pub mod basic;
pub mod csrf;
pub mod error;
mod html;
pub mod jamf;
pub mod ndes;
pub mod page;
pub mod password_gate;
pub mod state;
pub mod tls;
pub mod users;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{delete, get, post};
use edge::listener::{self, ConnectionTracker, Limits, Transport};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::services::scep_http::ScepService;
use config::Config;
use error::{AdminStartError, MAX_BODY_BYTES};
use state::AdminState;

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
        .route(
            "/users/{name}/basic-auth",
            post(users::allow_basic_auth).delete(users::forbid_basic_auth),
        )
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
        // MDM connectors (HTTP Basic): NDES's page for those that send credentials only after
        // a 401, and Jamf Pro's SCEPChallenge webhook.
        .route(ndes::BASIC_PAGE_PATH, get(ndes::show))
        .route(
            ndes::BASIC_PAGE_PATH.trim_end_matches('/'),
            get(ndes::show),
        )
        .route(
            jamf::JAMF_PATH,
            post(jamf::scep_challenge).layer(DefaultBodyLimit::max(jamf::MAX_EVENT_BYTES)),
        )
        .route("/metrics", get(api::metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/admin/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outside every route, so that no handler runs for a refused request; inside the
        // header layers, so that the refusal is hardened like any other answer.
        .layer(axum::middleware::from_fn(csrf::refuse_cross_site))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            listener::REQUEST_TIMEOUT,
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
) -> Result<SocketAddr, AdminStartError> {
    let identity = tls::identity(dir, &config.admin)?;
    if identity.development {
        tracing::warn!(
            certificate = %identity.certificate.display(),
            "the admin listener uses its self-signed development certificate: set admin.certificate and admin.private_key in production"
        );
    }
    let tls = Arc::new(tls::server_config(dir, &config, &identity)?);
    let tracker = ConnectionTracker::new("admin", Limits::from(&config.connections));
    scep.metrics.watch_listener(Arc::clone(&tracker));
    let state = Arc::new(AdminState::new(config, scep)?);
    let (listener, local) = listener::bind(listen, Some("admin")).await?;
    tokio::spawn(listener::serve(
        listener,
        Transport::Tls(tls),
        router(state),
        tracker,
        shutdown,
    ));
    Ok(local)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use axum::body::{Body, to_bytes};
    use axum::http::{HeaderMap, Method, Request, header};
    use tower::ServiceExt;

    use super::*;
    use crate::services::test_support;
    use edge::listener::Peer;

    const HOST: &str = "scepd.example.net:8443";

    /// The hardening headers every answer of the admin listener carries.
    const HARDENING: [(&str, &str); 7] = [
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];

    async fn state() -> (tempfile::TempDir, Arc<AdminState>) {
        let (dir, loaded) = test_support::scep_service().await;
        let state = AdminState::new(Arc::new(loaded.config), loaded.service).unwrap();
        (dir, Arc::new(state))
    }

    async fn send(
        state: &Arc<AdminState>,
        method: Method,
        uri: &str,
        headers: &[(&'static str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Body::from(body)).unwrap();
        // What the TLS listener attaches to every request.
        request.extensions_mut().insert(Peer {
            addr: SocketAddr::from(([192, 0, 2, 9], 50_000)),
            client_certificate: None,
        });
        let response = router(Arc::clone(state)).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn failed_logins(state: &AdminState) -> usize {
        let events = state.store.audit_events(100).await.unwrap();
        events
            .iter()
            .filter(|e| e.kind == store::AuditKind::AdminAuthFailed.as_str())
            .count()
    }

    #[tokio::test]
    async fn every_answer_carries_the_hardening_headers_errors_included() {
        let (_dir, state) = state().await;
        let form = "application/x-www-form-urlencoded";
        for (method, uri, headers, status) in [
            (Method::GET, "/healthz", vec![], StatusCode::OK),
            (
                Method::GET,
                "/admin/api/v1/whoami",
                vec![],
                StatusCode::UNAUTHORIZED,
            ),
            (Method::GET, "/nothing-here", vec![], StatusCode::NOT_FOUND),
            (
                Method::GET,
                "/certsrv/mscep_admin",
                vec![],
                StatusCode::SEE_OTHER,
            ),
            (
                Method::POST,
                "/certsrv/mscep_admin/login",
                vec![("content-type", form), ("sec-fetch-site", "cross-site")],
                StatusCode::FORBIDDEN,
            ),
            (
                Method::GET,
                "/certsrv/mscep_admin/basic/",
                vec![],
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::GET,
                "/certsrv/mscep_admin/",
                vec![("authorization", "Basic bm9ib2R5Om5vdGhpbmc=")],
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::POST,
                "/certsrv/mscep_admin/jamf",
                vec![("content-type", "application/json")],
                StatusCode::UNAUTHORIZED,
            ),
        ] {
            let (got, answer, _) = send(&state, method.clone(), uri, &headers, Vec::new()).await;
            assert_eq!(got, status, "{method} {uri}");
            for (name, value) in HARDENING {
                assert_eq!(
                    answer.get(name).and_then(|v| v.to_str().ok()),
                    Some(value),
                    "{name} on {method} {uri}"
                );
            }
        }
    }

    #[tokio::test]
    async fn cross_site_state_changes_are_refused_before_any_handler_runs() {
        let (_dir, state) = state().await;
        let form = "application/x-www-form-urlencoded";
        let login = b"username=admin&password=not-the-password".to_vec();
        // A forged login form (login CSRF): 403 in text, and no login was even attempted.
        let (status, headers, body) = send(
            &state,
            Method::POST,
            "/certsrv/mscep_admin/login",
            &[
                ("host", HOST),
                ("origin", "https://evil.example"),
                ("content-type", form),
            ],
            login.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert!(body.starts_with("cross-site request refused"), "{body}");
        assert_eq!(failed_logins(&state).await, 0);
        // The API answers in JSON.
        let (status, headers, body) = send(
            &state,
            Method::POST,
            "/admin/api/v1/challenges",
            &[
                ("sec-fetch-site", "cross-site"),
                ("authorization", "Bearer not-a-token"),
                ("content-type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("cross-site request refused"), "{body}");
        assert_eq!(failed_logins(&state).await, 0);
        // The same login from the listener's own page reaches the handler (and fails there).
        let (status, _, _) = send(
            &state,
            Method::POST,
            "/certsrv/mscep_admin/login",
            &[
                ("host", HOST),
                ("origin", "https://scepd.example.net:8443"),
                ("sec-fetch-site", "same-origin"),
                ("content-type", form),
            ],
            login,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(failed_logins(&state).await, 1);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_naming_the_limit() {
        let (_dir, state) = state().await;
        let mut body = b"username=admin&password=".to_vec();
        body.resize(MAX_BODY_BYTES + 1, b'x');
        let (status, headers, page) = send(
            &state,
            Method::POST,
            "/certsrv/mscep_admin/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            page.contains(&format!("the limit is {MAX_BODY_BYTES} bytes")),
            "{page}"
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(failed_logins(&state).await, 0);
    }

    /// Every route of the API router is in the checked-in OpenAPI document with its method
    /// (the end-to-end test checks the other direction: every documented operation answers).
    #[test]
    fn every_api_route_is_documented() {
        let spec: serde_json::Value = serde_json::from_str(api::OPENAPI).unwrap();
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
