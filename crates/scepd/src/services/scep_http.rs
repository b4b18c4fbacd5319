//! The SCEP HTTP surface (RFC 8894 §4): thin handlers that parse the query, call the RA and
//! put bytes on the wire. Errors before the envelope is verified are a bare 400 with a
//! generic text; after that the RA always answers with a signed CertRep.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use edge::listener::REQUEST_TIMEOUT;
use edge::written::AfterWrite;
use scep::http_query::{self, Operation};
use tower_http::timeout::TimeoutLayer;

use crate::clock::unix_now;

/// 64 KiB: SCEP messages are a few KiB; Intune's large GET URLs still fit.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest a PKIOperation waits for its source's place (see `limiter`) or for a free
/// operation slot before it is refused: long enough to ride out a burst of legitimate
/// enrollments behind one address, well inside [`REQUEST_TIMEOUT`].
const ADMISSION_WAIT: Duration = Duration::from_secs(10);

/// Everything the handlers need, built once at start.
pub struct ScepService {
    pub ra: ra::Ra,
    /// The database the RA keeps its ledger in, for what the service reads besides the RA
    /// (readiness, lockout alerts, metrics, the admin listener).
    pub store: store::Store,
    pub ca_caps: String,
    /// GetCACert: RA signing + RA encryption + CA certificates as a certs-only SignedData.
    pub ca_cert_bundle: Vec<u8>,
    /// GetNextCACert: the prepared next CA and RA certificates, signed by the current RA key;
    /// `None` while no rollover is prepared.
    pub next_ca_reply: Option<Vec<u8>>,
    /// The CRL and OCSP publisher.
    pub revocation: Arc<crate::services::revocation::Revocation>,
    /// Lockout of sources that guess challenges or probe the envelope encryption.
    pub limiter: edge::limiter::FailureLimiter,
    /// PKIOperations being processed at once, from all sources (`limits.max_concurrent_operations`):
    /// decryption, signature checks and issuing run before anyone is authenticated.
    pub operation_slots: Arc<tokio::sync::Semaphore>,
    /// Prometheus metrics (rendered by the admin listener's `/metrics`).
    pub metrics: Arc<crate::services::metrics::Metrics>,
}

pub fn router(service: Arc<ScepService>) -> Router {
    Router::new()
        .route("/scep", get(scep_get).post(scep_post))
        .route("/certsrv/mscep/mscep.dll", get(scep_get).post(scep_post))
        .route("/certsrv/mscep", get(scep_get).post(scep_post))
        // Windows' SCEP client (Intune's profiles on Windows) appends /pkiclient.exe to the
        // URL it is given; NDES answers it there. An endpoint name cannot contain a dot, so
        // these never shadow one.
        .route("/scep/pkiclient.exe", get(scep_get).post(scep_post))
        .route(
            "/certsrv/mscep/mscep.dll/pkiclient.exe",
            get(scep_get).post(scep_post),
        )
        .route(
            "/scep/{endpoint}/pkiclient.exe",
            get(named_get).post(named_post),
        )
        .route(
            "/certsrv/mscep/mscep.dll/{endpoint}/pkiclient.exe",
            get(named_get).post(named_post),
        )
        // Named endpoints (`[[endpoints]]`): the same protocol, their own template and
        // challenge check.
        .route("/scep/{endpoint}", get(named_get).post(named_post))
        .route(
            "/certsrv/mscep/mscep.dll/{endpoint}",
            get(named_get).post(named_post),
        )
        .route("/crl", get(crl))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/ocsp", axum::routing::post(ocsp_post))
        .route("/ocsp/{request}", get(ocsp_get))
        // Bodies above the limit are refused with 413 before they are read in full.
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        // A client that trickles its request (slowloris) loses the connection.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(service)
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn binary(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn scep_get(
    State(service): State<Arc<ScepService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    after_write: Option<Extension<AfterWrite>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let request = (Method::GET, raw.as_deref().unwrap_or(""), None);
    handle(&service, Caller::new(peer, None, after_write), request).await
}

async fn scep_post(
    State(service): State<Arc<ScepService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    after_write: Option<Extension<AfterWrite>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let request = (Method::POST, raw.as_deref().unwrap_or(""), Some(body));
    handle(&service, Caller::new(peer, None, after_write), request).await
}

async fn named_get(
    State(service): State<Arc<ScepService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    after_write: Option<Extension<AfterWrite>>,
    Path(endpoint): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if service.ra.endpoint(&endpoint).is_none() {
        return no_such_endpoint(&endpoint);
    }
    let request = (Method::GET, raw.as_deref().unwrap_or(""), None);
    handle(
        &service,
        Caller::new(peer, Some(endpoint), after_write),
        request,
    )
    .await
}

async fn named_post(
    State(service): State<Arc<ScepService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    after_write: Option<Extension<AfterWrite>>,
    Path(endpoint): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    if service.ra.endpoint(&endpoint).is_none() {
        return no_such_endpoint(&endpoint);
    }
    let request = (Method::POST, raw.as_deref().unwrap_or(""), Some(body));
    handle(
        &service,
        Caller::new(peer, Some(endpoint), after_write),
        request,
    )
    .await
}

/// Who asked, where, and how to learn that the answer was written out.
struct Caller {
    peer: SocketAddr,
    endpoint: Option<String>,
    /// Absent only when the router is driven without scepd's listener.
    after_write: Option<AfterWrite>,
}

impl Caller {
    fn new(
        peer: SocketAddr,
        endpoint: Option<String>,
        after_write: Option<Extension<AfterWrite>>,
    ) -> Self {
        Self {
            peer,
            endpoint,
            after_write: after_write.map(|Extension(after_write)| after_write),
        }
    }
}

/// 404 for a path under /scep/ that names no configured endpoint. The name is not echoed: it
/// is client text.
fn no_such_endpoint(endpoint: &str) -> Response {
    tracing::info!(
        endpoint_len = endpoint.len(),
        "SCEP request for an endpoint that is not configured"
    );
    plain(
        StatusCode::NOT_FOUND,
        "no such SCEP endpoint: the path after /scep/ must name an endpoint of scepd.toml\n",
    )
}

async fn handle(
    service: &Arc<ScepService>,
    caller: Caller,
    (method, raw_query, body): (Method, &str, Option<Bytes>),
) -> Response {
    let Caller {
        peer,
        endpoint,
        after_write,
    } = caller;
    let query = match http_query::parse(raw_query) {
        Ok(q) => q,
        Err(e) => {
            tracing::info!(peer = %peer, error = %e, "bad SCEP query");
            return plain(StatusCode::BAD_REQUEST, "malformed SCEP query\n");
        }
    };
    match query.operation {
        Operation::GetCaCaps => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            service.ca_caps.clone(),
        )
            .into_response(),
        Operation::GetCaCert => binary(
            "application/x-x509-ca-ra-cert",
            service.ca_cert_bundle.clone(),
        ),
        Operation::GetNextCaCert => match &service.next_ca_reply {
            Some(reply) => binary("application/x-x509-next-ca-cert", reply.clone()),
            None => plain(
                StatusCode::NOT_FOUND,
                "no CA rollover is pending: there is no next CA certificate\n",
            ),
        },
        Operation::PkiOperation => {
            let started = std::time::Instant::now();
            let attempt = match service.limiter.admit(peer.ip(), ADMISSION_WAIT).await {
                Ok(attempt) => attempt,
                Err(refusal) => {
                    service.metrics.observe_locked_out();
                    return refused(refusal);
                }
            };
            let Ok(Ok(slot)) = tokio::time::timeout(
                ADMISSION_WAIT,
                Arc::clone(&service.operation_slots).acquire_owned(),
            )
            .await
            else {
                tracing::warn!(peer = %peer, "every PKIOperation slot is busy (limits.max_concurrent_operations)");
                return busy();
            };
            let message = if method == Method::POST {
                body.map(|b| b.to_vec()).unwrap_or_default()
            } else {
                match decode_get_message(query.message.as_deref()) {
                    Ok(m) => m,
                    Err((status, text)) => return plain(status, text),
                }
            };
            let context = ra::RequestContext {
                now: unix_now(),
                peer: peer.ip().to_string(),
                endpoint,
            };
            // An enrollment once started runs to its end (and keeps its operation slot) even
            // if the client hangs up: what it signed and recorded stays consistent, and its
            // certificate is then simply not delivered.
            let processing = {
                let service = Arc::clone(service);
                tokio::spawn(async move {
                    let _slot = slot;
                    service.ra.handle_pki_operation(&message, &context).await
                })
            };
            let Ok(handled) = processing.await else {
                tracing::error!(peer = %peer, "a PKIOperation task failed");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "temporary failure, retry later\n",
                );
            };
            match handled {
                Ok(reply) => {
                    service
                        .metrics
                        .observe_pki_operation(Some(&reply.outcome), started.elapsed());
                    if reply.secret_failure {
                        record_failure(service, peer.ip(), attempt).await;
                    }
                    match reply.delivers {
                        Some(serial) => delivering(service, after_write, reply.bytes, serial),
                        None => binary("application/x-pki-message", reply.bytes),
                    }
                }
                Err(e) => {
                    service
                        .metrics
                        .observe_pki_operation(None, started.elapsed());
                    tracing::info!(peer = %peer, error = %e, "malformed PKIOperation");
                    plain(StatusCode::BAD_REQUEST, "malformed SCEP message\n")
                }
            }
        }
    }
}

/// A SUCCESS carrying a certificate: recorded delivered (RFC 8894 §8.4) once the reply has
/// been written out to the connection, never when the client hung up first.
fn delivering(
    service: &Arc<ScepService>,
    after_write: Option<AfterWrite>,
    bytes: Vec<u8>,
    serial: String,
) -> Response {
    let service = Arc::clone(service);
    let record = move || {
        tokio::spawn(async move { service.ra.record_delivered(&serial, unix_now()).await });
    };
    let body = match after_write {
        Some(after_write) => edge::written::body_then(bytes, after_write, record),
        // Without scepd's listener nothing tells when the reply is written: handed over is
        // all that is known.
        None => {
            record();
            Body::from(bytes)
        }
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pki-message"),
    );
    response
}

/// HTTP 429 with Retry-After for a source that may not be checked now.
fn refused(refusal: edge::limiter::Refusal) -> Response {
    let text = match refusal {
        edge::limiter::Refusal::LockedOut(_) => {
            "too many failed attempts from this address; retry later\n"
        }
        edge::limiter::Refusal::Busy => {
            "too many attempts in progress from this address; retry later\n"
        }
    };
    let mut response = plain(StatusCode::TOO_MANY_REQUESTS, text);
    retry_after(&mut response, refusal.retry_after_secs());
    response
}

/// HTTP 503 with Retry-After while every operation slot is taken.
fn busy() -> Response {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is busy; retry shortly\n",
    );
    retry_after(&mut response, 1);
    response
}

fn retry_after(response: &mut Response, seconds: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
}

/// Counts a secret-dependent failure; when it locks the source out, or exceeds the global
/// budget, says so loudly (a log warning and an audit entry: someone is guessing challenges
/// or probing the encryption). The global alarm is raised once per window, not per failure.
async fn record_failure(
    service: &ScepService,
    source: std::net::IpAddr,
    attempt: edge::limiter::Attempt<'_>,
) {
    let recorded = attempt.failed(std::time::Instant::now());
    let mut alerts = Vec::new();
    if recorded.global_alarm_raised {
        tracing::warn!(%source, "global failure budget exceeded: every source with a failed attempt is now locked out");
        alerts.push(format!(
            "global failure budget exceeded (limits.global_max_failed_attempts): sources with failures in the window are locked out; last failure from {source}"
        ));
    }
    if recorded.locked_out {
        tracing::warn!(%source, "source locked out after repeated failed challenges or undecipherable envelopes");
        alerts.push(format!(
            "source {source} locked out after repeated secret-dependent failures"
        ));
    }
    for detail in alerts {
        crate::audit_trail::append_or_log(
            &service.store,
            store::AuditKind::ChallengeRejected,
            &source.to_string(),
            detail,
        )
        .await;
    }
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    plain(StatusCode::OK, "ok\n")
}

/// Readiness: the database answers too (a one-row read).
async fn readyz(State(service): State<Arc<ScepService>>) -> Response {
    match service.store.crl_state().await {
        Ok(_) => plain(StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            plain(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

/// The current CRL (DER), as named by the CRL distribution point.
async fn crl(State(service): State<Arc<ScepService>>) -> Response {
    match service.revocation.crl(unix_now()).await {
        Ok(crl) => binary("application/pkix-crl", crl),
        Err(e) => {
            tracing::error!(error = %e, "no CRL to serve");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "CRL temporarily unavailable\n",
            )
        }
    }
}

/// OCSP over POST (RFC 6960 appendix A.1).
async fn ocsp_post(State(service): State<Arc<ScepService>>, body: Bytes) -> Response {
    binary(
        "application/ocsp-response",
        service.revocation.ocsp(&body, unix_now()).await,
    )
}

/// OCSP over GET: the DER request, base64, URL-encoded, as the last path segment.
async fn ocsp_get(
    State(service): State<Arc<ScepService>>,
    axum::extract::Path(request): axum::extract::Path<String>,
) -> Response {
    let compact: String = request
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let reply = match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(der) => service.revocation.ocsp(&der, unix_now()).await,
        Err(_) => ca::ocsp::error_response(ca::ocsp::ErrorStatus::MalformedRequest),
    };
    binary("application/ocsp-response", reply)
}

/// The `message=` of a GET PKIOperation: standard base64, possibly with line breaks.
///
/// Its size needs no check of its own: hyper refuses a request target of 64 KiB or more with
/// 414 before any handler runs, which bounds a GET message below the POST limit (and still
/// admits Intune's 65,534-byte URLs).
fn decode_get_message(message: Option<&str>) -> Result<Vec<u8>, (StatusCode, &'static str)> {
    let text = message.ok_or((StatusCode::BAD_REQUEST, "missing message parameter\n"))?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| (StatusCode::BAD_REQUEST, "message is not valid base64\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use axum::body::to_bytes;
    use axum::http::{HeaderMap, Request};
    use tower::ServiceExt;

    use super::*;
    use crate::services::serve::CAPABILITIES;
    use crate::services::test_support;

    async fn service() -> (tempfile::TempDir, Arc<ScepService>) {
        let (dir, loaded) = test_support::scep_service().await;
        (dir, loaded.service)
    }

    async fn send(
        service: &Arc<ScepService>,
        method: Method,
        uri: &str,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        // What the listener attaches to every request.
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 40_000))));
        let response = router(Arc::clone(service)).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn get_ca_caps_lists_exactly_the_capabilities_on_every_scep_path() {
        let (_dir, service) = service().await;
        for path in ["/scep", "/certsrv/mscep/mscep.dll", "/certsrv/mscep"] {
            let uri = format!("{path}?operation=GetCACaps");
            let (status, headers, body) = send(&service, Method::GET, &uri, Vec::new()).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(
                headers[header::CONTENT_TYPE],
                "text/plain; charset=utf-8",
                "{path}"
            );
            assert_eq!(body, scep::ca_caps(CAPABILITIES), "{path}");
            // Nothing weaker than AES and SHA-256 is advertised (no rollover is prepared).
            for weak in ["DES3", "SHA-1", "GetNextCACert"] {
                assert!(!body.lines().any(|l| l == weak), "{weak} in {body:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_malformed_query_is_a_bare_400_that_names_nothing() {
        let (_dir, service) = service().await;
        for query in [
            "",
            "?operation=GetCaCaps",
            "?operation=GetCACaps&operation=GetCACert",
            "?operation=%FF",
        ] {
            let uri = format!("/scep{query}");
            let (status, _, body) = send(&service, Method::GET, &uri, Vec::new()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body, "malformed SCEP query\n", "{query}");
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_and_never_reaches_the_ra() {
        let (_dir, service) = service().await;
        let malformed = |service: &ScepService| {
            service
                .metrics
                .render_with(crate::services::metrics::ScrapeState::default())
                .lines()
                .find(|l| l.starts_with("scepd_malformed_requests_total "))
                .map(str::to_owned)
        };
        let uri = "/scep?operation=PKIOperation";
        let too_large = vec![0x30; MAX_MESSAGE_BYTES + 1];
        let (status, _, _) = send(&service, Method::POST, uri, too_large).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            malformed(&service).as_deref(),
            Some("scepd_malformed_requests_total 0")
        );
        // At the limit the RA reads it, and garbage is a bare 400.
        let at_limit = vec![0x30; MAX_MESSAGE_BYTES];
        let (status, _, body) = send(&service, Method::POST, uri, at_limit).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, "malformed SCEP message\n");
        assert_eq!(
            malformed(&service).as_deref(),
            Some("scepd_malformed_requests_total 1")
        );
    }

    #[tokio::test]
    async fn get_next_ca_cert_without_a_prepared_rollover_is_404() {
        let (_dir, service) = service().await;
        let uri = "/scep?operation=GetNextCACert";
        let (status, _, body) = send(&service, Method::GET, uri, Vec::new()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("no CA rollover is pending"), "{body}");
    }
}
