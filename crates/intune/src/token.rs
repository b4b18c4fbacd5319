//! Tokens from Entra ID by the client-credentials grant (`POST {login}/{tenant}/oauth2/v2.0/token`,
//! form-encoded), one for Graph and one for Intune, each kept until shortly before it expires.
//! A failed request is tried once more when the failure may pass (network, 5xx); a refusal
//! (a wrong secret, an unknown app) is not.

use std::time::{Duration, Instant, SystemTime};

use axum::http::Method;
use zeroize::Zeroizing;

use crate::assertion;
use crate::error::{Audience, Failure, IntuneError, Step};
use crate::http::{Http, json_answer};
use crate::settings::{Credential, IntuneSettings};

/// Attempts per token request.
const ATTEMPTS: usize = 2;
/// The pause before the second attempt.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Entra ID's answers are small; anything bigger is not one.
const ANSWER_LIMIT: usize = 64 * 1024;
/// A token is renewed this long before it expires (or at half its life, if that is sooner),
/// so that none expires on its way to Intune.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub(crate) struct Cached {
    token: Zeroizing<String>,
    renew_at: Instant,
}

/// The tokens of one app registration, cached.
pub(crate) struct Tokens {
    url: String,
    client_id: String,
    credential: Credential,
    graph_scope: String,
    intune_scope: String,
    graph: tokio::sync::Mutex<Option<Cached>>,
    intune: tokio::sync::Mutex<Option<Cached>>,
}

impl Tokens {
    pub(crate) fn new(settings: &IntuneSettings) -> Self {
        Self {
            url: settings.token_url(),
            client_id: settings.client_id.clone(),
            credential: settings.credential.clone(),
            graph_scope: settings.graph_scope(),
            intune_scope: settings.intune_scope(),
            graph: tokio::sync::Mutex::new(None),
            intune: tokio::sync::Mutex::new(None),
        }
    }

    fn slot(&self, audience: Audience) -> &tokio::sync::Mutex<Option<Cached>> {
        match audience {
            Audience::Graph => &self.graph,
            Audience::Intune => &self.intune,
        }
    }

    /// A token for `audience`: the cached one while it is fresh, else a new one. Concurrent
    /// callers wait for one request rather than each making their own.
    pub(crate) async fn bearer(
        &self,
        http: &Http,
        audience: Audience,
    ) -> Result<Zeroizing<String>, IntuneError> {
        let mut slot = self.slot(audience).lock().await;
        if let Some(cached) = slot.as_ref()
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        *slot = None;
        let fresh = self.request_with_retry(http, audience).await?;
        let token = fresh.token.clone();
        *slot = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token for `audience` (its service refused it: it may have been
    /// revoked before it expired).
    pub(crate) async fn forget(&self, audience: Audience) {
        *self.slot(audience).lock().await = None;
    }

    async fn request_with_retry(
        &self,
        http: &Http,
        audience: Audience,
    ) -> Result<Cached, IntuneError> {
        let mut attempt = 1;
        loop {
            match self.request(http, audience).await {
                Err(IntuneError::Unavailable { failure, .. })
                    if failure.is_transient() && attempt < ATTEMPTS =>
                {
                    tracing::warn!(%audience, url = %self.url, error = %failure,
                        "token request failed; trying once more");
                    attempt += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    async fn request(&self, http: &Http, audience: Audience) -> Result<Cached, IntuneError> {
        let unavailable = |failure| IntuneError::Unavailable {
            step: Step::Token(audience),
            url: self.url.clone(),
            failure,
        };
        let scope = match audience {
            Audience::Graph => &self.graph_scope,
            Audience::Intune => &self.intune_scope,
        };
        let form = self.form(scope)?;
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "application/json"),
        ];
        let asked_at = Instant::now();
        let (status, body) = http
            .send(
                Method::POST,
                &self.url,
                &headers,
                form.as_bytes().to_vec(),
                ANSWER_LIMIT,
            )
            .await
            .map_err(unavailable)?;
        let answer = Zeroizing::new(body);
        // The parsed copy is not wiped (serde_json has no zeroize); it lives until this returns.
        let json = json_answer(status, &answer).map_err(unavailable)?;
        let cached =
            read_token(&json, asked_at).map_err(|what| unavailable(Failure::Malformed(what)))?;
        tracing::debug!(%audience, url = %self.url, "got a token");
        Ok(cached)
    }

    /// The form body: the grant, the scope and the credential (a secret, or an assertion
    /// signed just now).
    fn form(&self, scope: &str) -> Result<Zeroizing<String>, IntuneError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", scope);
        match &self.credential {
            Credential::Secret(secret) => {
                form.append_pair("client_secret", secret);
            }
            Credential::Certificate {
                certificate_der,
                key,
            } => {
                let jwt = assertion::client_assertion(
                    &self.client_id,
                    &self.url,
                    certificate_der,
                    key.as_ref(),
                    SystemTime::now(),
                )
                .map_err(|source| IntuneError::Assertion {
                    url: self.url.clone(),
                    source,
                })?;
                form.append_pair("client_assertion_type", assertion::ASSERTION_TYPE)
                    .append_pair("client_assertion", &jwt);
            }
        }
        Ok(Zeroizing::new(form.finish()))
    }
}

/// `{"token_type": "Bearer", "expires_in": N, "access_token": "…"}`; `expires_in` may come as
/// a number or, from older endpoints, a string.
pub(crate) fn read_token(json: &serde_json::Value, asked_at: Instant) -> Result<Cached, String> {
    let token_type = json
        .get("token_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(format!("token_type is {token_type:?}, not Bearer"));
    }
    let token = json
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    // It goes into a header as it is.
    if token.is_empty() || token.len() > 16 * 1024 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("access_token is missing or not a header-safe string".to_owned());
    }
    let expires_in = match json.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|&secs| secs > 0)
    .ok_or_else(|| "expires_in is missing or not a positive number".to_owned())?;
    let lifetime = Duration::from_secs(expires_in.min(24 * 3600));
    let renew_at = asked_at + lifetime - RENEW_BEFORE.min(lifetime / 2);
    Ok(Cached {
        token: Zeroizing::new(token.to_owned()),
        renew_at,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn tokens(credential: Credential) -> Tokens {
        Tokens::new(&IntuneSettings::new("tenant-1", "app-1", credential))
    }

    fn fields(form: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(form.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn a_secret_goes_into_the_form_as_client_secret() {
        let tokens = tokens(Credential::Secret(Zeroizing::new("p&s=w rd".to_owned())));
        let form = tokens
            .form("https://api.manage.microsoft.com//.default")
            .unwrap();
        assert_eq!(
            fields(&form),
            [
                ("grant_type", "client_credentials"),
                ("client_id", "app-1"),
                ("scope", "https://api.manage.microsoft.com//.default"),
                ("client_secret", "p&s=w rd"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn a_certificate_goes_into_the_form_as_a_signed_assertion_for_the_token_url() {
        let (certificate_der, key) = crate::test_support::rsa_certificate();
        let tokens = tokens(Credential::Certificate {
            certificate_der,
            key,
        });
        let form = fields(&tokens.form("https://graph.microsoft.com/.default").unwrap());
        let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "client_id",
                "scope",
                "client_assertion_type",
                "client_assertion"
            ]
        );
        assert_eq!(form[3].1, assertion::ASSERTION_TYPE);
        assert!(!form.iter().any(|(k, _)| k == "client_secret"));
        let claims = form[4].1.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims["aud"],
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn a_token_is_renewed_before_it_expires() {
        let now = Instant::now();
        let hour = read_token(
            &serde_json::json!({"token_type":"Bearer","expires_in":3599,"access_token":"abc"}),
            now,
        )
        .unwrap();
        assert_eq!(hour.renew_at, now + Duration::from_secs(3599 - 300));
        assert_eq!(*hour.token, "abc");
        let short = read_token(
            &serde_json::json!({"token_type":"bearer","expires_in":"10","access_token":"abc"}),
            now,
        )
        .unwrap();
        assert_eq!(short.renew_at, now + Duration::from_secs(5));
    }

    #[test]
    fn token_answers_outside_the_contract_are_refused() {
        let read = |json| read_token(&json, Instant::now()).err().unwrap();
        assert!(
            read(serde_json::json!({"expires_in":1,"access_token":"a"})).contains("token_type")
        );
        assert!(
            read(serde_json::json!({"token_type":"Bearer","expires_in":1}))
                .contains("access_token")
        );
        assert!(
            read(
                serde_json::json!({"token_type":"Bearer","expires_in":1,"access_token":"a\r\nX: y"})
            )
            .contains("access_token")
        );
        assert!(
            read(serde_json::json!({"token_type":"Bearer","expires_in":0,"access_token":"a"}))
                .contains("expires_in")
        );
    }
}
