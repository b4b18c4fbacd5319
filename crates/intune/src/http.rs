//! One HTTPS request to a URL through [`edge::https_client`] (a connection per request, https
//! only, no redirect followed, a bounded answer), and the reading of a JSON answer.

use std::time::Duration;

use axum::http::Method;
use edge::https_client::HttpsClient;

use crate::error::{Failure, clean_detail};

pub(crate) struct Http {
    tls: rustls::ClientConfig,
    timeout: Duration,
}

impl Http {
    pub(crate) fn new(tls: rustls::ClientConfig, timeout: Duration) -> Self {
        Self { tls, timeout }
    }

    /// Sends one request to `url` (its path and query included); at most `limit` bytes of
    /// answer are read.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let client = HttpsClient::new(url, self.tls.clone(), self.timeout)?;
        let path = path_and_query(url);
        let answer = client.send(method, &path, headers, body, limit).await?;
        Ok((answer.status, answer.body))
    }
}

/// What of `url` goes into the request line (the client checked it is a URL).
fn path_and_query(url: &str) -> String {
    url.parse::<axum::http::Uri>()
        .ok()
        .and_then(|uri| uri.path_and_query().map(|p| p.as_str().to_owned()))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

/// A 2xx answer's JSON; anything else is a [`Failure`].
pub(crate) fn json_answer(status: u16, body: &[u8]) -> Result<serde_json::Value, Failure> {
    if !(200..300).contains(&status) {
        return Err(Failure::Status {
            status,
            detail: error_detail(body),
        });
    }
    serde_json::from_slice(body).map_err(|_| Failure::NotJson)
}

/// What an error answer says, in the shape each of the three services uses: Entra ID
/// (`error`, `error_description`), Graph (`error: {code, message}`), Intune (`code`,
/// `errorDescription`, or `message`); else the text itself.
fn error_detail(body: &[u8]) -> String {
    let text = |value: &serde_json::Value, key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let joined = |first: Option<String>, second: Option<String>| match (first, second) {
        (Some(a), Some(b)) => Some(format!("{a}: {b}")),
        (a, b) => a.or(b),
    };
    let detail = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => match json.get("error") {
            Some(serde_json::Value::String(error)) => {
                joined(Some(error.clone()), text(&json, "error_description"))
            }
            Some(error @ serde_json::Value::Object(_)) => {
                joined(text(error, "code"), text(error, "message"))
            }
            _ => joined(
                text(&json, "code"),
                text(&json, "errorDescription").or_else(|| text(&json, "message")),
            ),
        },
        Err(_) => None,
    };
    clean_detail(&detail.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_keeps_the_path_and_query() {
        assert_eq!(
            path_and_query("https://h:8443/a/b/c?api-version=1.6"),
            "/a/b/c?api-version=1.6"
        );
        assert_eq!(path_and_query("https://h"), "/");
    }

    #[test]
    fn only_a_2xx_json_answer_is_an_answer() {
        assert_eq!(
            json_answer(200, br#"{"code":"Success"}"#).unwrap()["code"],
            "Success"
        );
        assert!(matches!(json_answer(200, b"<html>"), Err(Failure::NotJson)));
        assert!(matches!(json_answer(204, b""), Err(Failure::NotJson)));
        assert!(matches!(
            json_answer(302, b""),
            Err(Failure::Status { status: 302, .. })
        ));
    }

    #[test]
    fn error_answers_are_read_in_each_service_s_shape() {
        let detail = |status, body: &[u8]| match json_answer(status, body) {
            Err(Failure::Status { detail, .. }) => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            detail(
                401,
                br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#
            ),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(
            detail(
                403,
                br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#
            ),
            "Authorization_RequestDenied: Insufficient privileges"
        );
        assert_eq!(
            detail(
                500,
                br#"{"code":"InternalError","errorDescription":"boom"}"#
            ),
            "InternalError: boom"
        );
        assert_eq!(detail(502, b"Bad gateway\r\n"), "Bad gateway");
    }
}
