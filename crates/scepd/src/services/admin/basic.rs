//! HTTP Basic for the machine accounts of MDM connectors, which read NDES's mscep_admin page
//! with it: accepted on the page's paths and the Jamf webhook only (never the JSON API), only
//! over the admin listener's TLS, only from accounts an operator marked for it (`scepd user
//! basic-auth NAME --on`, device-admin only), and under the same login lockout as the login
//! form. NTLM and Negotiate are never offered or read.
//!
//! Every refusal that depends on the password or the account — unknown user, wrong password,
//! disabled, not marked, a role that may not use Basic — gets the same 401 and counts as one
//! failed login of the source: the answer tells a guesser nothing, and an unmarked account's
//! password cannot be guessed through Basic either. The password is always verified (against
//! a decoy hash for an unknown user) before the account's mark is looked at, so the time
//! taken does not tell which accounts are marked. The audit entry says which it was.

use std::fmt;

use accounts::Principal;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use edge::listener::Peer as Connection;
use zeroize::Zeroizing;

use super::auth;
use super::error::AdminError;
use super::state::AdminState;

/// The challenge of a 401: Basic only (RFC 7617, UTF-8 credentials).
pub const CHALLENGE: &str = "Basic realm=\"scepd mscep_admin\", charset=\"UTF-8\"";

/// Longest `Authorization: Basic` value read; a longer one is malformed, not a guess.
const MAX_CREDENTIALS_LEN: usize = 1024;

/// User name and password of an `Authorization: Basic` header.
pub struct BasicCredentials {
    pub user: String,
    password: Zeroizing<String>,
}

// The password stays out of logs and panics.
impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why an `Authorization: Basic` header could not be read. Says nothing of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedBasic {
    #[error("more than one Authorization header")]
    Repeated,
    #[error("the credentials are longer than {MAX_CREDENTIALS_LEN} bytes")]
    TooLong,
    #[error("the credentials are not base64")]
    NotBase64,
    #[error("the credentials are not UTF-8")]
    NotUtf8,
    #[error("the credentials have no ':' between user name and password")]
    NoColon,
}

/// Why HTTP Basic gave no principal; [`BasicRefusal::response`] is the answer.
#[derive(Debug, thiserror::Error)]
pub enum BasicRefusal {
    #[error("HTTP Basic credentials of an account marked for them are required")]
    Missing,
    #[error("malformed HTTP Basic credentials: {0}")]
    Malformed(MalformedBasic),
    /// Unknown user, wrong password, disabled, not marked, or a role that may not use Basic:
    /// one answer for all.
    #[error("wrong user name or password, or the account may not use HTTP Basic")]
    Refused,
    /// Lockout, attempts in flight, password checks busy, the database.
    #[error(transparent)]
    Unavailable(#[from] AdminError),
}

impl BasicRefusal {
    /// Plain text (the page's clients are scrapers), with the Basic challenge on a 401.
    pub fn response(&self) -> Response {
        let status = match self {
            BasicRefusal::Missing | BasicRefusal::Refused => StatusCode::UNAUTHORIZED,
            BasicRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
            BasicRefusal::Unavailable(e) => e.status(),
        };
        if let BasicRefusal::Unavailable(AdminError::Internal(detail)) = self {
            tracing::error!(error = %detail, "mscep_admin HTTP Basic");
        }
        let mut response = plain_text(status, &self.to_string());
        match self {
            BasicRefusal::Missing | BasicRefusal::Refused => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
            }
            // Retry-After of a lockout or a busy gate.
            BasicRefusal::Unavailable(e) => e.decorate(&mut response),
            BasicRefusal::Malformed(_) => {}
        }
        response
    }
}

/// A plain-text answer of the machine-facing paths.
pub fn plain_text(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

/// Whether the request authenticates with `Authorization: Basic` (well formed or not): such a
/// request is a machine's, and gets the machine's answers.
pub fn offered(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .any(|value| scheme_is_basic(value.as_bytes()))
}

fn scheme_is_basic(value: &[u8]) -> bool {
    value
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic "))
}

/// The `Authorization: Basic` credentials of a request: `None` without any.
pub fn credentials(headers: &HeaderMap) -> Option<Result<BasicCredentials, MalformedBasic>> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if !scheme_is_basic(value.as_bytes()) {
        return None;
    }
    if values.next().is_some() {
        return Some(Err(MalformedBasic::Repeated));
    }
    Some(parse(value.as_bytes()))
}

fn parse(value: &[u8]) -> Result<BasicCredentials, MalformedBasic> {
    if value.len() > MAX_CREDENTIALS_LEN {
        return Err(MalformedBasic::TooLong);
    }
    let encoded = value.get(6..).unwrap_or_default().trim_ascii();
    // Some clients leave the padding out; the alphabet is still the standard one.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let decoded = Zeroizing::new(
        engine
            .decode(encoded)
            .map_err(|_| MalformedBasic::NotBase64)?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| MalformedBasic::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(MalformedBasic::NoColon)?;
    Ok(BasicCredentials {
        user: user.to_owned(),
        password: Zeroizing::new(password.to_owned()),
    })
}

/// Why an account that gave its name is refused, for the audit entry; `None`: accepted.
fn refusal_reason(user: Option<&store::UserRecord>, password_matches: bool) -> Option<String> {
    let Some(user) = user else {
        return Some("no such user".to_owned());
    };
    if !password_matches {
        return Some("wrong password".to_owned());
    }
    if user.disabled {
        return Some("the account is disabled".to_owned());
    }
    if !user.basic_auth {
        return Some(format!(
            "the account is not marked for HTTP Basic (scepd user basic-auth {} --on)",
            user.name
        ));
    }
    match user.role.parse::<accounts::Role>() {
        Ok(role) if role.may_use_basic_auth() => None,
        Ok(role) => Some(format!("role {role} may not use HTTP Basic")),
        Err(e) => Some(e.to_string()),
    }
}

/// The principal of a request's HTTP Basic credentials, or why not (see the module).
pub async fn authenticate(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
) -> Result<Principal, BasicRefusal> {
    let credentials = match credentials(headers) {
        None => return Err(BasicRefusal::Missing),
        Some(Err(malformed)) => return Err(BasicRefusal::Malformed(malformed)),
        Some(Ok(credentials)) => credentials,
    };
    let source = auth::source_address(&state.trusted_proxies, connection.addr.ip(), headers);
    let attempt = state
        .login_limiter
        .admit(source, auth::ADMISSION_WAIT)
        .await
        .map_err(AdminError::from)?;
    let user = state
        .store
        .user_by_name(&credentials.user)
        .await
        .map_err(AdminError::store)?;
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.decoy_password_hash.clone());
    let matches = state
        .password_gate
        .verify(credentials.password, stored)
        .await
        .map_err(AdminError::from)?;
    let refused = refusal_reason(user.as_ref(), matches);
    let principal = match (user, refused) {
        (Some(user), None) => auth::principal(user).map_err(|e| e.to_string()),
        (_, Some(reason)) => Err(reason),
        (None, None) => Err("no such user".to_owned()),
    };
    match principal {
        Ok(principal) => Ok(principal),
        Err(reason) => {
            let who = if accounts::validate_user_name(&credentials.user).is_ok() {
                format!("HTTP Basic as {:?} refused: {reason}", credentials.user)
            } else {
                "HTTP Basic with a malformed user name refused".to_owned()
            };
            auth::failed(state, source, attempt, &who).await;
            Err(BasicRefusal::Refused)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn basic_credentials_are_read_in_utf8_and_split_at_the_first_colon() {
        // "mdm-jamf:pass:word ü" and the same without padding.
        for value in [
            "Basic bWRtLWphbWY6cGFzczp3b3JkIMO8",
            "basic   bWRtLWphbWY6cGFzczp3b3JkIMO8",
        ] {
            let got = credentials(&headers(&[value])).unwrap().unwrap();
            assert_eq!(got.user, "mdm-jamf");
            assert_eq!(got.password.as_str(), "pass:word ü");
            assert!(!format!("{got:?}").contains("pass"), "{got:?}");
        }
        let no_padding = credentials(&headers(&["Basic YTpi"])).unwrap().unwrap();
        assert_eq!(
            (no_padding.user.as_str(), no_padding.password.as_str()),
            ("a", "b")
        );
        let padded = credentials(&headers(&["Basic YTpiYw=="])).unwrap().unwrap();
        assert_eq!(padded.password.as_str(), "bc");
        let unpadded = credentials(&headers(&["Basic YTpiYw"])).unwrap().unwrap();
        assert_eq!(unpadded.password.as_str(), "bc");
    }

    #[test]
    fn other_schemes_are_not_basic_and_malformed_basic_is_named() {
        for value in [
            "Bearer scepd_abc",
            "NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=",
            "Negotiate YII=",
            "Basically",
        ] {
            assert!(credentials(&headers(&[value])).is_none(), "{value}");
            assert!(!offered(&headers(&[value])), "{value}");
        }
        assert!(credentials(&HeaderMap::new()).is_none());
        for (value, expected) in [
            ("Basic !!!", MalformedBasic::NotBase64),
            ("Basic bm9jb2xvbg==", MalformedBasic::NoColon),
            ("Basic //79", MalformedBasic::NotUtf8),
        ] {
            assert!(offered(&headers(&[value])));
            assert_eq!(
                credentials(&headers(&[value])).unwrap().unwrap_err(),
                expected,
                "{value}"
            );
        }
        let twice = headers(&["Basic YTpi", "Basic YzpK"]);
        assert_eq!(
            credentials(&twice).unwrap().unwrap_err(),
            MalformedBasic::Repeated
        );
        let mut long = HeaderMap::new();
        long.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", "A".repeat(MAX_CREDENTIALS_LEN))).unwrap(),
        );
        assert_eq!(
            credentials(&long).unwrap().unwrap_err(),
            MalformedBasic::TooLong
        );
    }

    fn user(role: &str, disabled: bool, basic_auth: bool) -> store::UserRecord {
        store::UserRecord {
            id: 4,
            name: "mdm-jamf".into(),
            role: role.into(),
            password_hash: Some("$argon2id$x".into()),
            disabled,
            basic_auth,
            created_at: 0,
            templates: vec!["device".into()],
        }
    }

    #[test]
    fn only_a_marked_enabled_device_admin_with_its_password_is_accepted() {
        let marked = user("device-admin", false, true);
        assert_eq!(refusal_reason(Some(&marked), true), None);
        for (record, matches, reason) in [
            (None, true, "no such user"),
            (Some(marked.clone()), false, "wrong password"),
            (
                Some(user("device-admin", true, true)),
                true,
                "the account is disabled",
            ),
            (
                Some(user("device-admin", false, false)),
                true,
                "the account is not marked for HTTP Basic (scepd user basic-auth mdm-jamf --on)",
            ),
            (
                Some(user("pki-admin", false, true)),
                true,
                "role pki-admin may not use HTTP Basic",
            ),
            (
                Some(user("root", false, true)),
                true,
                "unknown role \"root\" (known: pki-admin, device-admin, cert-manager, auditor)",
            ),
        ] {
            assert_eq!(
                refusal_reason(record.as_ref(), matches).as_deref(),
                Some(reason)
            );
        }
    }

    #[test]
    fn refusals_offer_basic_only_and_name_no_secret() {
        for refusal in [BasicRefusal::Missing, BasicRefusal::Refused] {
            let response = refusal.response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let offered: Vec<_> = response
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .collect();
            assert_eq!(offered, [CHALLENGE]);
        }
        let malformed = BasicRefusal::Malformed(MalformedBasic::NoColon).response();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        assert!(malformed.headers().get(header::WWW_AUTHENTICATE).is_none());
        let locked = BasicRefusal::Unavailable(AdminError::LockedOut {
            retry_after: std::time::Duration::from_secs(600),
        })
        .response();
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(locked.headers()[header::RETRY_AFTER], "600");
    }
}
