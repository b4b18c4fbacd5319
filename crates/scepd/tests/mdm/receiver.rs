//! A webhook receiver as an MDM developer writes one from scepd's contract, over TLS (and
//! optionally mutual TLS) on 127.0.0.1, on a runtime of its own beside the blocking tests.
//!
//! Its rules, in order: the body must be `application/json` (415); `webhook::verify_signature`
//! over the raw body, before any parsing, with the default five-minute tolerance (401); a
//! delivery id already seen is a replay (409). Only then does it answer, by path: the
//! documented answers and every kind of bad one an MDM side can send.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use edge::https_client::HttpsClient;
use edge::listener::{ConnectionTracker, Limits, Peer, Transport};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The subject and SAN `/bound` allows, and nothing else.
pub const BOUND_SUBJECT: &str = "CN=bound-dev,O=Example";
pub const BOUND_SAN: &str = "bound-dev.example";

/// How long `/slow` takes to answer: past any timeout the tests configure.
pub const SLOW: Duration = Duration::from_secs(4);

/// What the receiver made of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Signed, fresh and new: answered by its path.
    Accepted,
    WrongContentType,
    BadSignature,
    Replayed,
}

/// A delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub timestamp: String,
    pub signature: String,
    pub delivery_id: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub verdict: Verdict,
    /// SHA-256 of the client certificate of the connection (mutual TLS).
    pub client_certificate: Option<[u8; 32]>,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or_default().to_owned()
    }
}

/// A CA for the test's TLS certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (IP addresses or DNS names): (DER, PEM, PKCS#8 key PEM).
    pub fn issue(&self, names: &[&str]) -> (CertificateDer<'static>, String, String) {
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.der().clone(), cert.pem(), key.serialize_pem())
    }
}

struct Shared {
    secret: Vec<u8>,
    deliveries: Mutex<Vec<Delivery>>,
    seen: Mutex<HashSet<String>>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    /// The CA of its server certificate: scepd's `tls_ca_file`.
    pub ca: TestCa,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// A receiver holding `secret`; with `client_ca`, it requires a client certificate
    /// from that CA.
    pub fn start(secret: &[u8], client_ca: Option<&TestCa>) -> Self {
        let ca = TestCa::new("mock MDM webhook CA");
        let (cert, _, key_pem) = ca.issue(&["127.0.0.1"]);
        let key = rustls::pki_types::pem::PemObject::from_pem_slice(key_pem.as_bytes())
            .map(|k: PrivatePkcs8KeyDer<'static>| PrivateKeyDer::Pkcs8(k))
            .unwrap();
        let provider = edge::tls::provider();
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(edge::tls::VERSIONS)
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(client_ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(client_ca.der()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(vec![cert], key).unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        let shared = Arc::new(Shared {
            secret: secret.to_vec(),
            deliveries: Mutex::new(Vec::new()),
            seen: Mutex::new(HashSet::new()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (listener, addr) = runtime
            .block_on(edge::listener::bind("127.0.0.1:0".parse().unwrap(), None))
            .unwrap();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        let limits = Limits {
            max_connections: 32,
            max_connections_per_source: 32,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
        };
        runtime.spawn(edge::listener::serve(
            listener,
            Transport::Tls(Arc::new(config)),
            app,
            ConnectionTracker::new("mock-mdm-webhook", limits),
            std::future::pending(),
        ));
        Self {
            addr,
            ca,
            shared,
            runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().unwrap().clone()
    }

    /// Deliveries to `path`.
    pub fn deliveries_to(&self, path: &str) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.path == path)
            .collect()
    }

    /// Sends a captured delivery again, byte for byte with its headers, as an attacker on
    /// the path would: the status and body of the receiver's answer.
    pub fn resend(&self, delivery: &Delivery) -> (u16, String) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der()).unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(edge::tls::provider())
            .with_protocol_versions(edge::tls::VERSIONS)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = HttpsClient::new(&self.url("/"), tls, Duration::from_secs(5)).unwrap();
        let headers = [
            ("content-type", delivery.content_type.as_str()),
            (webhook::TIMESTAMP_HEADER, delivery.timestamp.as_str()),
            (webhook::SIGNATURE_HEADER, delivery.signature.as_str()),
            (webhook::DELIVERY_HEADER, delivery.delivery_id.as_str()),
        ];
        let answer = self
            .runtime
            .block_on(client.send(
                axum::http::Method::POST,
                &delivery.path,
                &headers,
                delivery.body.clone(),
                64 * 1024,
            ))
            .unwrap();
        (
            answer.status,
            String::from_utf8_lossy(&answer.body).into_owned(),
        )
    }
}

fn json(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut delivery = Delivery {
        path: uri.path().to_owned(),
        timestamp: text(webhook::TIMESTAMP_HEADER),
        signature: text(webhook::SIGNATURE_HEADER),
        delivery_id: text(webhook::DELIVERY_HEADER),
        content_type: text("content-type"),
        body: body.to_vec(),
        verdict: Verdict::Accepted,
        client_certificate: peer.client_certificate,
    };
    delivery.verdict = judge(&shared, &delivery);
    shared.deliveries.lock().unwrap().push(delivery.clone());
    match delivery.verdict {
        Verdict::WrongContentType => {
            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/json only").into_response();
        }
        Verdict::BadSignature => {
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
        Verdict::Replayed => return (StatusCode::CONFLICT, "replayed delivery").into_response(),
        Verdict::Accepted => {}
    }
    answer(uri.path()).await
}

/// The receiver's checks, before it reads the body as JSON.
fn judge(shared: &Shared, delivery: &Delivery) -> Verdict {
    if delivery.content_type != "application/json" {
        return Verdict::WrongContentType;
    }
    let signed = webhook::verify_signature(
        &shared.secret,
        &delivery.timestamp,
        &delivery.body,
        &delivery.signature,
        SystemTime::now(),
        webhook::DEFAULT_TOLERANCE,
    );
    if signed.is_err() {
        return Verdict::BadSignature;
    }
    // Within the tolerance, a delivery id is accepted once; past it, the timestamp refuses.
    if !shared
        .seen
        .lock()
        .unwrap()
        .insert(delivery.delivery_id.clone())
    {
        return Verdict::Replayed;
    }
    Verdict::Accepted
}

async fn answer(path: &str) -> Response {
    match path {
        "/allow" => json(StatusCode::OK, r#"{"decision":"allow"}"#),
        "/deny" => json(
            StatusCode::OK,
            r#"{"decision":"deny","reason":"device wiped"}"#,
        ),
        "/bound" => json(
            StatusCode::OK,
            format!(
                r#"{{"decision":"allow","binding":{{"subject":"{BOUND_SUBJECT}","sans":["dns:{BOUND_SAN}"]}}}}"#
            ),
        ),
        "/malformed" => json(StatusCode::OK, r#"{"decision": "allow""#),
        // A valid allow padded far past any answer's size: read whole, it would vouch.
        "/huge" => json(
            StatusCode::OK,
            format!(r#"{{"decision":"allow"}}{}"#, " ".repeat(1024 * 1024)),
        ),
        // A valid allow under a content type that says it is not JSON.
        "/text" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            r#"{"decision":"allow"}"#,
        )
            .into_response(),
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/allow")], "").into_response(),
        "/500" => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"decision":"allow"}"#),
        "/slow" => {
            tokio::time::sleep(SLOW).await;
            json(StatusCode::OK, r#"{"decision":"allow"}"#)
        }
        "/notify" => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
