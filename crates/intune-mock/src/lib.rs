//! A mock Microsoft Intune for tests, served over TLS on 127.0.0.1: Entra ID's token endpoint,
//! Graph's service discovery, the `ScepActions` of `ScepRequestValidationFEService` and the
//! revocation calls of `PkiConnectorFEService`, at one base URL (discovery points back at it).
//!
//! It follows `docs/intune-wire-contract.md` and checks everything it is sent: a request that
//! breaks the contract (no or a wrong bearer token, a token for the other scope, a missing or
//! wrong `api-version`, a `client-request-id` that is not a fresh UUID, a body of the wrong
//! shape, a CSR that is not base64 DER PKCS#10, a notification for a transaction Intune did
//! not validate with `Success`, a wrong client secret or client assertion) is recorded as a
//! [`Violation`] and answered 400 (401 for bad credentials, as Entra ID does). Tests read
//! [`MockIntune::violations`] and [`MockIntune::calls`], and choose each route's answer with
//! [`MockIntune::set_answer`].
#![forbid(unsafe_code)]

mod checks;
mod handler;
mod server;
mod tls;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The tenant of [`MockConfig::default`].
pub const TENANT: &str = "contoso.onmicrosoft.com";
/// The app registration's client id of [`MockConfig::default`].
pub const CLIENT_ID: &str = "5f0c8d2e-3b1a-4c7d-9e6f-0a1b2c3d4e5f";
/// The client secret of [`MockConfig::default`].
pub const CLIENT_SECRET: &str = "mock-client-secret~with.odd&chars=";
/// Intune's resource; tokens for Intune are asked for with the scope `{this}/.default`.
pub const INTUNE_RESOURCE: &str = "https://api.manage.microsoft.com/";
/// The two services discovery lists, by their `providerName`.
pub const SCEP_SERVICE: &str = "ScepRequestValidationFEService";
pub const PKI_SERVICE: &str = "PkiConnectorFEService";

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("mock TLS: {0}")]
    Tls(String),
    #[error("mock listener: {0}")]
    Io(#[from] std::io::Error),
}

/// How the app registration authenticates, as the mock checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockCredential {
    /// The client secret the client must send.
    Secret(String),
    /// The app's registered certificate (DER): the client must send a client assertion
    /// signed with its key, naming it by `x5t` or `x5t#S256`.
    Certificate(Vec<u8>),
}

/// What the mock Intune knows about the app registration.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub tenant: String,
    pub client_id: String,
    pub credential: MockCredential,
    /// `expires_in` of the tokens it issues; a token presented after it is a violation.
    pub token_lifetime: Duration,
    /// Intune's resource, as in the client's settings.
    pub intune_resource: String,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            tenant: TENANT.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            credential: MockCredential::Secret(CLIENT_SECRET.to_owned()),
            token_lifetime: Duration::from_secs(3599),
            intune_resource: INTUNE_RESOURCE.to_owned(),
        }
    }
}

impl MockConfig {
    /// The defaults, with the app authenticating by `certificate_der` instead of a secret.
    pub fn with_certificate(certificate_der: Vec<u8>) -> Self {
        Self {
            credential: MockCredential::Certificate(certificate_der),
            ..Self::default()
        }
    }
}

/// Every code of the wire contract other than `Success` (docs/intune-wire-contract.md §3):
/// what the mock can be told to answer, and what a client must refuse.
pub const REJECTION_CODES: [&str; 24] = [
    "Unknown",
    "CertificateRequestDecodingFailed",
    "ChallengePasswordMissing",
    "ChallengeDeserializationError",
    "ChallengeDecryptionError",
    "ChallengeDecodingError",
    "ChallengeInvalidTimestamp",
    "ChallengeExpired",
    "SubjectNameMissing",
    "SubjectNameMismatch",
    "SubjectAltNameMissing",
    "SubjectAltNameMismatch",
    "KeyUsageMismatch",
    "KeyLengthMismatch",
    "EnhancedKeyUsageMissing",
    "EnhancedKeyUsageMismatch",
    "AadKeyIdentifierListMissing",
    "RegisteredKeyMismatch",
    "SigningCertThumbprintMismatch",
    "ScepProfileNoLongerTargetedToTheClient",
    "SignatureValidationFailed",
    "BadCertificateRequestIdInChallenge",
    "BadDeviceIdInChallenge",
    "BadUserIdInChallenge",
];

/// The routes the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /{tenant}/oauth2/v2.0/token`
    Token,
    /// `GET /v1.0/servicePrincipals/appId=0000000a-…/endpoints`
    Discovery,
    ValidateRequest,
    SuccessNotification,
    FailureNotification,
    DownloadRevocationRequests,
    UploadRevocationResults,
    /// Anything else (always a violation, answered 404).
    Unknown,
}

/// How a route answers a request that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockAnswer {
    /// The contract's normal answer: a token, the service list, `{"code": "Success"}`, the
    /// queued revocation requests, `{"value": true}`.
    Success,
    /// For the ScepActions, HTTP 200 `{"code": CODE, "errorDescription": …}`; for the token
    /// endpoint, 400 `{"error": CODE}`; for uploadRevocationResults, `{"value": false}`;
    /// elsewhere the normal answer.
    Code(String),
    /// This HTTP status, with a JSON error body (and a `Location` for a 3xx).
    Status(u16),
    /// HTTP 200 with an HTML body.
    NotJson,
    /// The normal answer, after this long.
    Slow(Duration),
}

/// One request the mock received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    pub route: Route,
    pub method: String,
    pub path: String,
    pub api_version: Option<String>,
    pub client_request_id: Option<String>,
    /// The body's `transactionId` (ScepActions).
    pub transaction_id: Option<String>,
    /// The `UserAgent` header (the reference libraries' spelling).
    pub user_agent: Option<String>,
    /// The form's `scope` (token requests).
    pub scope: Option<String>,
    /// The JSON body (ScepActions and the PKI connector calls), for tests that check what
    /// was sent: the very CSR validated, the certificate a notification names.
    pub body: Option<serde_json::Value>,
}

/// A request that broke the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub route: Route,
    pub path: String,
    pub what: String,
}

/// A revocation Intune asks for, queued by a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockRevocationRequest {
    pub request_context: String,
    pub serial_number: String,
    pub issuer_name: Option<String>,
    pub ca_configuration: Option<String>,
}

/// A revocation result the client uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedResult {
    pub request_context: String,
    pub succeeded: bool,
    pub error_code: i64,
    pub error_message: Option<String>,
}

/// Which token a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Graph,
    Intune,
}

pub(crate) struct IssuedToken {
    pub(crate) scope: Scope,
    pub(crate) expires: Instant,
}

/// Everything the mock remembers; one lock, never held across an await.
pub(crate) struct State {
    pub(crate) config: MockConfig,
    pub(crate) base_url: String,
    pub(crate) answers: HashMap<Route, MockAnswer>,
    pub(crate) removed_services: HashSet<String>,
    pub(crate) tokens: HashMap<String, IssuedToken>,
    pub(crate) request_ids: HashSet<String>,
    pub(crate) assertion_ids: HashSet<String>,
    /// Transactions validated with `Success`, with the CSR (base64) they were validated for.
    pub(crate) validated: HashMap<String, String>,
    pub(crate) queued: VecDeque<MockRevocationRequest>,
    pub(crate) handed_out: HashSet<String>,
    pub(crate) uploaded: Vec<UploadedResult>,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) violations: Vec<Violation>,
}

impl State {
    pub(crate) fn answer(&self, route: Route) -> MockAnswer {
        self.answers
            .get(&route)
            .cloned()
            .unwrap_or(MockAnswer::Success)
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock leaves the state as it was: still readable.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running mock Intune; it stops when dropped.
pub struct MockIntune {
    base_url: String,
    ca_der: Vec<u8>,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockIntune {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockIntune")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl MockIntune {
    /// Starts the mock on 127.0.0.1 with a port of the system's choosing.
    pub async fn start(config: MockConfig) -> Result<Self, MockError> {
        let tls = tls::server_tls()?;
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let base_url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let shared = Arc::new(Mutex::new(State {
            config,
            base_url: base_url.clone(),
            answers: HashMap::new(),
            removed_services: HashSet::new(),
            tokens: HashMap::new(),
            request_ids: HashSet::new(),
            assertion_ids: HashSet::new(),
            validated: HashMap::new(),
            queued: VecDeque::new(),
            handed_out: HashSet::new(),
            uploaded: Vec::new(),
            calls: Vec::new(),
            violations: Vec::new(),
        }));
        let server = tokio::spawn(server::serve(listener, tls.config, shared.clone()));
        Ok(Self {
            base_url,
            ca_der: tls.ca_der,
            shared,
            server,
        })
    }

    /// `https://127.0.0.1:PORT`: Entra ID's and Graph's base URL alike.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The CA certificate (DER) the mock's TLS certificate chains to: the client's trust root.
    pub fn ca_certificate_der(&self) -> Vec<u8> {
        self.ca_der.clone()
    }

    /// The same CA certificate as PEM, for a `tls_ca_file`.
    pub fn ca_certificate_pem(&self) -> String {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.ca_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    pub fn tenant(&self) -> String {
        lock(&self.shared).config.tenant.clone()
    }

    pub fn client_id(&self) -> String {
        lock(&self.shared).config.client_id.clone()
    }

    /// How `route` answers from now on (until set again).
    pub fn set_answer(&self, route: Route, answer: MockAnswer) {
        lock(&self.shared).answers.insert(route, answer);
    }

    /// Leaves `provider_name` out of discovery's answer from now on.
    pub fn remove_service(&self, provider_name: &str) {
        lock(&self.shared)
            .removed_services
            .insert(provider_name.to_owned());
    }

    /// Queues a revocation for the next `downloadRevocationRequests`.
    pub fn queue_revocation(&self, request: MockRevocationRequest) {
        lock(&self.shared).queued.push_back(request);
    }

    /// The revocation results uploaded so far, in order.
    pub fn uploaded_results(&self) -> Vec<UploadedResult> {
        lock(&self.shared).uploaded.clone()
    }

    /// Every request received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.shared).calls.clone()
    }

    /// The requests received so far on `route`.
    pub fn calls_to(&self, route: Route) -> Vec<RecordedCall> {
        lock(&self.shared)
            .calls
            .iter()
            .filter(|call| call.route == route)
            .cloned()
            .collect()
    }

    /// Every contract violation so far, in order.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.shared).violations.clone()
    }

    /// Every access token the mock issued (for tests that check none is ever logged).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared).tokens.keys().cloned().collect()
    }

    /// Whether Intune validated `transaction_id` with `Success`.
    pub fn was_validated(&self, transaction_id: &str) -> bool {
        lock(&self.shared).validated.contains_key(transaction_id)
    }
}

impl Drop for MockIntune {
    fn drop(&mut self) {
        self.server.abort();
    }
}
