//! Jamf Pro's `SCEPChallenge` webhook: before Jamf sends a SCEP profile to a device it POSTs
//! its webhook event (JSON, with the HTTP Basic credentials configured on the webhook) and puts
//! the plain-text answer into the profile as the challenge. The account must be marked for HTTP
//! Basic, as on the NDES page; the challenge is an ordinary one-time challenge for the
//! account's template (or `?template=NAME` in the webhook URL), audited under the account.
//!
//! The event, as Jamf documents it (fields beyond these are ignored: Jamf adds some over
//! versions):
//! ```json
//! { "webhook": { "webhookEvent": "SCEPChallenge", "id": 1, "name": "…", "eventTimestamp": 1757435578000 },
//!   "event":   { "scepServerUrl": "https://…", "payloadIdentifier": "…", "payloadTypes": ["com.apple.security.scep"] } }
//! ```
//! Checks, in order, each a clear 4xx with nothing minted: credentials (401, or 429 under the
//! login lockout), `Content-Type: application/json` (415), at most [`MAX_EVENT_BYTES`] (413),
//! JSON of that shape (400), `webhookEvent` = `SCEPChallenge` (400). Then the challenge (200,
//! `text/plain`, the challenge alone), or 403 without a right on the template and 429 over the
//! account's quota of unused challenges.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edge::listener::Peer as Connection;

use super::basic::{self, plain_text};
use super::ndes::TemplateQuery;
use super::state::AdminState;

pub const JAMF_PATH: &str = "/certsrv/mscep_admin/jamf";

/// 16 KiB: Jamf's event is a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// The only event this route answers.
const SCEP_CHALLENGE: &str = "SCEPChallenge";

/// What scepd reads of a SCEPChallenge event: only for the log.
#[derive(Debug)]
struct JamfEvent {
    webhook_id: Option<i64>,
    payload_identifier: String,
}

/// Why an event was refused before anything was minted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventRefusal {
    #[error("Content-Type must be application/json (UTF-8), not {0:?}")]
    ContentType(String),
    #[error("request body too large: the limit is {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("request body could not be read: {0}")]
    Unreadable(String),
    #[error("not a Jamf Pro webhook event: {0}")]
    Malformed(String),
    #[error(
        "webhook event {0:?} is not SCEPChallenge: configure this URL for the SCEPChallenge event only"
    )]
    WrongEvent(String),
}

impl EventRefusal {
    fn status(&self) -> StatusCode {
        match self {
            EventRefusal::ContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            EventRefusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EventRefusal::Unreadable(_)
            | EventRefusal::Malformed(_)
            | EventRefusal::WrongEvent(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// `application/json`, with no charset or UTF-8 (the only one JSON allows, RFC 8259).
fn check_content_type(headers: &HeaderMap) -> Result<(), EventRefusal> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut parts = given.split(';').map(str::trim);
    let essence_ok = parts
        .next()
        .is_some_and(|t| t.eq_ignore_ascii_case("application/json"));
    let params_ok = parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim().trim_matches('"');
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        Some(_) => true,
        None => param.is_empty(),
    });
    if essence_ok && params_ok {
        Ok(())
    } else {
        Err(EventRefusal::ContentType(given.chars().take(100).collect()))
    }
}

/// The event of a body, or why it is not a SCEPChallenge event. Read as a JSON value and
/// walked by hand, because serde would also read a struct from an array.
fn parse_event(body: &[u8]) -> Result<JamfEvent, EventRefusal> {
    use serde_json::Value;
    let malformed = |what: &str| EventRefusal::Malformed(what.to_owned());
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EventRefusal::Malformed(e.to_string()))?;
    let webhook = value
        .get("webhook")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("no \"webhook\" object"))?;
    let name = webhook
        .get("webhookEvent")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no \"webhook.webhookEvent\" string"))?;
    let event = value
        .get("event")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("no \"event\" object"))?;
    if name != SCEP_CHALLENGE {
        return Err(EventRefusal::WrongEvent(name.chars().take(64).collect()));
    }
    Ok(JamfEvent {
        webhook_id: webhook.get("id").and_then(Value::as_i64),
        payload_identifier: event
            .get("payloadIdentifier")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(128)
            .collect(),
    })
}

/// The checks of the request itself, after the credentials.
fn read_event(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<JamfEvent, EventRefusal> {
    check_content_type(headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            EventRefusal::TooLarge
        } else {
            EventRefusal::Unreadable(rejection.body_text())
        }
    })?;
    parse_event(&body)
}

/// POST [`JAMF_PATH`]: the challenge as the plain-text body.
pub async fn scep_challenge(
    State(state): State<Arc<AdminState>>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Query(query): Query<TemplateQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let principal = match basic::authenticate(&state, &connection, &headers).await {
        Ok(principal) => principal,
        Err(refusal) => return refusal.response(),
    };
    let event = match read_event(&headers, body) {
        Ok(event) => event,
        Err(refusal) => {
            tracing::info!(account = %principal.name, %refusal, "Jamf webhook refused");
            return plain_text(refusal.status(), &refusal.to_string());
        }
    };
    let issued = state
        .issue_unbound_challenge(&principal, query.template)
        .await;
    match issued {
        Ok(issued) => {
            tracing::info!(
                account = %principal.name,
                webhook_id = event.webhook_id,
                payload = %event.payload_identifier,
                template = %issued.template,
                "Jamf SCEPChallenge webhook answered"
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                issued.secret.to_string(),
            )
                .into_response()
        }
        Err(e) => {
            if let super::error::AdminError::Internal(detail) = &e {
                tracing::error!(error = %detail, "Jamf webhook");
            }
            let mut response = plain_text(e.status(), &e.to_string());
            e.decorate(&mut response);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use axum::http::HeaderValue;

    fn typed(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_json_in_utf8_is_read() {
        for ok in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/json;charset=\"utf-8\"",
        ] {
            assert_eq!(check_content_type(&typed(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=utf-16",
            "application/jsonp",
            "application/xml",
        ] {
            let e = check_content_type(&typed(refused)).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{refused}");
        }
        let missing = check_content_type(&HeaderMap::new()).unwrap_err();
        assert_eq!(missing, EventRefusal::ContentType(String::new()));
    }

    #[test]
    fn a_scep_challenge_event_is_read_and_others_are_named() {
        let event = parse_event(
            br#"{"webhook":{"webhookEvent":"SCEPChallenge","id":7,"name":"scepd","eventTimestamp":1757435578000},
                 "event":{"scepServerUrl":"https://scepd.example/scep","payloadIdentifier":"CDB0BC64",
                          "payloadTypes":["com.apple.security.scep"],"somethingNew":{"x":1}}}"#,
        )
        .unwrap();
        assert_eq!(event.webhook_id, Some(7));
        assert_eq!(event.payload_identifier, "CDB0BC64");
        assert_eq!(
            parse_event(br#"{"webhook":{"webhookEvent":"ComputerAdded"},"event":{}}"#).unwrap_err(),
            EventRefusal::WrongEvent("ComputerAdded".into())
        );
        for malformed in [
            &b"{not json"[..],
            b"",
            b"[]",
            b"{\"event\":{}}",
            b"{\"webhook\":{\"webhookEvent\":\"SCEPChallenge\"}}",
            b"{\"webhook\":{\"webhookEvent\":7},\"event\":{}}",
            b"{\"webhook\":{\"webhookEvent\":\"SCEPChallenge\"},\"event\":[]}",
            b"{\"webhook\":[\"SCEPChallenge\"],\"event\":{}}",
        ] {
            let e = parse_event(malformed).unwrap_err();
            assert!(
                matches!(e, EventRefusal::Malformed(_)),
                "{:?}: {e:?}",
                String::from_utf8_lossy(malformed)
            );
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        }
    }
}
