//! A webhook receiver as an MDM developer would write one, over TLS on 127.0.0.1: it checks
//! every delivery with `webhook::verify_signature` (401 when that fails) and answers by path,
//! the documented answers and every kind of bad one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use edge::listener::{ConnectionTracker, Limits, Peer, Transport};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

/// The secret scepd and the receiver share, unless a test makes them differ.
pub const SECRET: &[u8] = b"a shared secret of at least 32 bytes, for the tests";

/// What a delivery looked like on arrival.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub timestamp: String,
    pub signature: String,
    pub delivery_id: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Whether the receiver's own check of the signature passed.
    pub signature_ok: bool,
    pub client_certificate: Option<[u8; 32]>,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A CA for the test's certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A certificate for `names` (an IP address or DNS name each) and its PKCS#8 key.
    pub fn issue(&self, names: &[&str]) -> (CertificateDer<'static>, Vec<u8>) {
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (cert.der().clone(), key.serialize_der())
    }

    /// A client identity scepd can present.
    pub fn client_identity(&self) -> webhook::ClientIdentity {
        let (cert, key) = self.issue(&["scepd.test"]);
        webhook::ClientIdentity {
            certificate_chain: vec![cert],
            key_pkcs8_der: Zeroizing::new(key),
        }
    }
}

struct Shared {
    secret: Vec<u8>,
    deliveries: Mutex<Vec<Delivery>>,
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    /// The CA its server certificate is from (scepd's extra trust root).
    pub ca: TestCa,
    shared: Arc<Shared>,
}

impl Receiver {
    /// A receiver sharing `secret` with scepd; with `client_ca`, it requires a client
    /// certificate from that CA.
    pub async fn start(secret: &[u8], client_ca: Option<&TestCa>) -> Self {
        let ca = TestCa::new("mock webhook CA");
        let (cert, key) = ca.issue(&["127.0.0.1"]);
        let provider = edge::tls::provider();
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(edge::tls::VERSIONS)
            .expect("versions");
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(client_ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(client_ca.der()).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(
                vec![cert],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        let shared = Arc::new(Shared {
            secret: secret.to_vec(),
            deliveries: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        let (listener, addr) = edge::listener::bind("127.0.0.1:0".parse().expect("addr"), None)
            .await
            .expect("bind");
        let limits = Limits {
            max_connections: 16,
            max_connections_per_source: 16,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
        };
        tokio::spawn(edge::listener::serve(
            listener,
            Transport::Tls(Arc::new(config)),
            app,
            ConnectionTracker::new("mock-webhook", limits),
            std::future::pending(),
        ));
        Self { addr, ca, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared
            .deliveries
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// scepd's settings for `path` on this receiver: trusting only its CA, short timeout.
    pub fn settings(&self, path: &str) -> webhook::WebhookSettings {
        let mut settings =
            webhook::WebhookSettings::new(self.url(path), Zeroizing::new(SECRET.to_vec()));
        settings.trust_system_roots = false;
        settings.extra_roots = vec![self.ca.der()];
        settings.timeout = Duration::from_secs(2);
        settings
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
    let timestamp = text(webhook::TIMESTAMP_HEADER);
    let signature = text(webhook::SIGNATURE_HEADER);
    let signature_ok = webhook::verify_signature(
        &shared.secret,
        &timestamp,
        &body,
        &signature,
        SystemTime::now(),
        webhook::DEFAULT_TOLERANCE,
    )
    .is_ok();
    let delivery = Delivery {
        path: uri.path().to_owned(),
        timestamp,
        signature,
        delivery_id: text(webhook::DELIVERY_HEADER),
        content_type: text("content-type"),
        body: body.to_vec(),
        signature_ok,
        client_certificate: peer.client_certificate,
    };
    if let Ok(mut deliveries) = shared.deliveries.lock() {
        deliveries.push(delivery.clone());
    }
    if !signature_ok {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    match uri.path() {
        "/allow" => json(StatusCode::OK, r#"{"decision":"allow"}"#),
        "/allow-bound" => json(
            StatusCode::OK,
            r#"{"decision":"allow","binding":{"subject":"CN=dev1,O=Example","sans":["dns:dev1.example"]}}"#,
        ),
        // Allows only the challenge it handed out, as a portal would.
        "/portal" => {
            if delivery.json()["challenge"] == "let-me-in" {
                json(StatusCode::OK, r#"{"decision":"allow"}"#)
            } else {
                json(
                    StatusCode::OK,
                    r#"{"decision":"deny","reason":"unknown challenge"}"#,
                )
            }
        }
        "/deny" => json(
            StatusCode::OK,
            r#"{"decision":"deny","reason":"device wiped"}"#,
        ),
        "/unknown-decision" => json(StatusCode::OK, r#"{"decision":"maybe"}"#),
        "/extra-field" => json(StatusCode::OK, r#"{"decision":"allow","scope":"all"}"#),
        "/out-of-scope-binding" => json(
            StatusCode::OK,
            r#"{"decision":"allow","binding":{"sans":["upn:admin@example.com"]}}"#,
        ),
        "/garbage" => json(StatusCode::OK, "{\"decision\": \"allow\""),
        "/html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Sign in</body></html>",
        )
            .into_response(),
        // A valid allow under a content type that says it is not JSON, or none at all: a
        // proxy's page or a misrouted endpoint, never an answer.
        "/allow-as-text" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            r#"{"decision":"allow"}"#,
        )
            .into_response(),
        "/allow-untyped" => (
            StatusCode::OK,
            r#"{"decision":"allow"}"#.as_bytes().to_vec(),
        )
            .into_response(),
        "/500" => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"decision":"allow"}"#),
        "/201" => json(StatusCode::CREATED, r#"{"decision":"allow"}"#),
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/allow")], "").into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json(StatusCode::OK, r#"{"decision":"allow"}"#)
        }
        // A valid allow, padded past any sane answer size: read whole, it would vouch.
        "/huge" => json(
            StatusCode::OK,
            format!(r#"{{"decision":"allow"}}{}"#, " ".repeat(1024 * 1024)),
        ),
        "/notify" => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
