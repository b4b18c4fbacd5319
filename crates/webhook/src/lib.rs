//! The webhook verifier (`challenge = "webhook"`), for MDMs and in-house portals: scepd
//! POSTs the facts of each enrollment request, signed, to the receiver's URL and issues only
//! on its explicit allow; a second URL, if configured, is told what was issued or failed.
//!
//! # The contract for receivers
//!
//! Every delivery is an HTTPS `POST` (optionally with a client certificate, for mutual TLS)
//! with these headers:
//!
//! - `content-type: application/json`
//! - `x-scepd-timestamp: 1767225600` (Unix seconds when it was sent)
//! - `x-scepd-signature: v1=HEX`, HEX = lower-case hex of HMAC-SHA256(secret,
//!   `TIMESTAMP + "." + BODY`) over the exact bytes of the body
//! - `x-scepd-delivery: UUID` (also `delivery_id` in the body)
//!
//! A receiver must check the signature in constant time over the raw body before parsing it,
//! refuse a timestamp more than five minutes from its clock, and refuse a delivery id it has
//! already seen within those five minutes ([`verify_signature`] does the first two).
//!
//! `scep.challenge.verify`, to the configured `url`:
//!
//! ```json
//! {"version": 1, "event": "scep.challenge.verify",
//!  "delivery_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
//!  "endpoint": "portal", "template": "device", "transaction_id": "…",
//!  "challenge": "the password the device presented",
//!  "subject": "CN=dev1,O=Example", "sans": ["dns:dev1.example"],
//!  "extended_key_usages": ["1.3.6.1.5.5.7.3.2"],
//!  "key": "ec-p256", "key_sha256": "…", "source": "192.0.2.7",
//!  "csr": "MIIB… (the PKCS#10 request, DER, base64)"}
//! ```
//!
//! The answer must come within the configured timeout, be at most 16 KiB, and be one of:
//!
//! - `200`, `content-type: application/json`, `{"decision": "allow"}`: issue, names as the
//!   template allows;
//! - the same with `"binding": {"subject": "CN=dev1,O=Example", "sans": ["dns:dev1.example"]}`:
//!   issue only with this subject and no SAN outside `sans` (`dns:`, `ip:`, `email:`);
//! - `{"decision": "deny", "reason": "…"}`: refuse (the reason goes to scepd's audit log).
//!
//! Anything else refuses the request: another status (redirects are not followed), another
//! content type, a body that is not JSON, unknown members, another decision. What an allow
//! lets through is still checked against the template's policy: a webhook narrows, it never
//! widens.
//!
//! `scep.certificate.issued` and `scep.certificate.failed`, to `notify_url` if configured
//! (any 2xx acknowledges; nothing is retried):
//!
//! ```json
//! {"version": 1, "event": "scep.certificate.issued", "delivery_id": "…",
//!  "endpoint": "portal", "template": "device", "transaction_id": "…",
//!  "serial": "7c1f…", "thumbprint_sha1": "A94A…", "not_after": 1798761600,
//!  "issuer": "CN=scepd CA", "certificate": "MIIC… (DER, base64)"}
//! {"version": 1, "event": "scep.certificate.failed", "delivery_id": "…",
//!  "endpoint": "portal", "template": "device", "transaction_id": "…", "reason": "…"}
//! ```
#![forbid(unsafe_code)]

mod answer;

/// Reads a webhook's answer (HTTP `status`, its `content_type` and `body`) as the verifier
/// does, for a request on an endpoint issuing `template`: the one parser of what a webhook
/// sends back, public for the fuzz target (`fuzz/fuzz_targets/webhook_answer.rs`).
pub fn read_answer(
    template: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<vouch::Vouched, vouch::VerifierRefusal> {
    answer::read(
        template,
        answer::HttpAnswer {
            status,
            content_type,
            body,
        },
    )
}
mod events;
mod settings;
mod signature;

use std::time::SystemTime;

use edge::https_client::{ClientError, HttpsClient};
use serde::Serialize;
use vouch::{
    ChallengeQuestion, ChallengeVerifier, IssuedFacts, VerifierFuture, VerifierRefusal, Vouched,
};
use zeroize::Zeroizing;

pub use settings::{
    ClientIdentity, DEFAULT_TIMEOUT, MIN_SECRET_LEN, SettingsError, WebhookSettings,
};
pub use signature::{
    DEFAULT_TOLERANCE, DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, sign,
    verify_signature,
};

/// The largest answer read from a receiver: an answer is a decision and a few names.
pub const ANSWER_LIMIT: usize = 16 * 1024;

/// One URL deliveries go to: its client (host, port, TLS) and the path on it.
struct Target {
    client: HttpsClient,
    url: String,
    path: String,
}

impl Target {
    fn new(
        url: &str,
        tls: rustls::ClientConfig,
        timeout: std::time::Duration,
    ) -> Result<Self, SettingsError> {
        let client = HttpsClient::new(url, tls, timeout)?;
        // HttpsClient::new has checked that it parses.
        let path = url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|uri| uri.path_and_query().map(|p| p.as_str().to_owned()))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Self {
            client,
            url: url.to_owned(),
            path,
        })
    }
}

/// The verifier for one webhook endpoint.
pub struct WebhookVerifier {
    verify: Target,
    notify: Option<Target>,
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("url", &self.verify.url)
            .field("notify_url", &self.notify.as_ref().map(|n| &n.url))
            .finish_non_exhaustive()
    }
}

/// A delivery's outcome as the transport saw it.
struct Delivered {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl WebhookVerifier {
    pub fn new(settings: WebhookSettings) -> Result<Self, SettingsError> {
        settings::check_secret(&settings.secret)?;
        let tls = settings::client_config(&settings)?;
        let notify = settings
            .notify_url
            .as_deref()
            .map(|url| Target::new(url, tls.clone(), settings.timeout))
            .transpose()?;
        let verify = Target::new(&settings.url, tls, settings.timeout)?;
        Ok(Self {
            verify,
            notify,
            secret: settings.secret,
        })
    }

    /// POSTs `event` to `target`, signed.
    async fn deliver(
        &self,
        target: &Target,
        delivery_id: &str,
        event: &impl Serialize,
    ) -> Result<Delivered, DeliveryError> {
        let body = serde_json::to_vec(event).map_err(DeliveryError::Encode)?;
        let timestamp = unix_now().to_string();
        let signature = sign(&self.secret, &timestamp, &body);
        let headers = [
            ("content-type", "application/json"),
            (TIMESTAMP_HEADER, timestamp.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
            (DELIVERY_HEADER, delivery_id),
        ];
        let answer = target
            .client
            .send(
                axum::http::Method::POST,
                &target.path,
                &headers,
                body,
                ANSWER_LIMIT,
            )
            .await
            .map_err(DeliveryError::Transport)?;
        Ok(Delivered {
            status: answer.status,
            content_type: answer.content_type,
            body: answer.body,
        })
    }

    /// Tells `notify_url` about `event`, if there is one; failures are logged, not returned.
    async fn notify(&self, what: &'static str, delivery_id: &str, event: &impl Serialize) {
        let Some(target) = &self.notify else {
            return;
        };
        match self.deliver(target, delivery_id, event).await {
            Ok(Delivered { status, .. }) if (200..300).contains(&status) => {
                tracing::debug!(event = what, delivery_id, url = %target.url, status, "webhook notified");
            }
            Ok(Delivered { status, .. }) => {
                tracing::warn!(event = what, delivery_id, url = %target.url, status, "webhook notification not acknowledged");
            }
            Err(error) => {
                tracing::warn!(event = what, delivery_id, url = %target.url, %error, "webhook notification not delivered");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("encoding the body: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("{0}")]
    Transport(#[source] ClientError),
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random (v4) UUID, the delivery's id.
fn delivery_id() -> Result<String, VerifierRefusal> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| VerifierRefusal::Unavailable("no randomness for a delivery id".into()))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

impl ChallengeVerifier for WebhookVerifier {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn verify<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
    ) -> VerifierFuture<'a, Result<Vouched, VerifierRefusal>> {
        Box::pin(async move {
            let delivery_id = delivery_id()?;
            let event = events::VerifyEvent::new(&delivery_id, question);
            let delivered = self
                .deliver(&self.verify, &delivery_id, &event)
                .await
                .map_err(|e| {
                    VerifierRefusal::Unavailable(format!("webhook {}: {e}", self.verify.url))
                })?;
            let decision = answer::read(
                &question.template,
                answer::HttpAnswer {
                    status: delivered.status,
                    content_type: delivered.content_type.as_deref(),
                    body: &delivered.body,
                },
            );
            match &decision {
                Ok(_) => tracing::debug!(
                    endpoint = %question.endpoint,
                    transaction_id = %question.transaction_id,
                    delivery_id,
                    "webhook allowed"
                ),
                Err(refusal) => tracing::debug!(
                    endpoint = %question.endpoint,
                    transaction_id = %question.transaction_id,
                    delivery_id,
                    code = refusal.code(),
                    %refusal,
                    "webhook did not allow"
                ),
            }
            decision
        })
    }

    /// Always `Ok`: the receiver already allowed this request, and the notification is news,
    /// not a second decision. Holding the certificate back because a notification endpoint
    /// is down would turn its outage into an enrollment outage, and the certificate is
    /// already signed and recorded: keeping it from the device would not unissue it. A
    /// notification that fails is logged at warn.
    fn issued<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        issued: &'a IssuedFacts,
    ) -> VerifierFuture<'a, Result<(), VerifierRefusal>> {
        Box::pin(async move {
            if self.notify.is_some() {
                match delivery_id() {
                    Ok(id) => {
                        let event = events::IssuedEvent::new(&id, question, issued);
                        self.notify("scep.certificate.issued", &id, &event).await;
                    }
                    Err(error) => tracing::warn!(%error, "webhook notification not sent"),
                }
            }
            Ok(())
        })
    }

    fn failed<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        description: &'a str,
    ) -> VerifierFuture<'a, ()> {
        Box::pin(async move {
            if self.notify.is_some() {
                match delivery_id() {
                    Ok(id) => {
                        let event = events::FailedEvent::new(&id, question, description);
                        self.notify("scep.certificate.failed", &id, &event).await;
                    }
                    Err(error) => tracing::warn!(%error, "webhook notification not sent"),
                }
            }
        })
    }
}
