//! Who is asking: an API token (`Authorization: Bearer`), a client certificate bound to an
//! account, or — for the mscep_admin page only — a login session cookie. No NTLM, no
//! Negotiate; HTTP Basic only for MDM connectors' marked accounts, on the page paths and the
//! Jamf webhook, and checked in `basic.rs`, not here. Every failure counts toward the source's
//! login lockout, and every check still running counts as one until it ends (see `limiter`).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use accounts::Principal;
use axum::http::{HeaderMap, header};
use edge::listener::Peer as Connection;

use super::error::AdminError;
use super::state::AdminState;

/// Longest a credential check waits for its source's place before 429: a few requests of
/// one administrator at once ride it out.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(5);

/// Name of the session cookie of the mscep_admin page.
pub const SESSION_COOKIE: &str = "scepd_admin_session";

/// Which credentials a route accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// The JSON API and /metrics: tokens and client certificates. Never cookies, so a page
    /// on another site cannot make a browser call the API (CSRF).
    ApiCredentials,
    /// The mscep_admin page: its session cookie, or a client certificate.
    PageSession,
}

/// The client's address: the TCP peer, or — only when the peer is a configured trusted
/// proxy — the nearest untrusted address of `X-Forwarded-For`.
pub fn source_address(proxies: &[policy::IpRange], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let trusted = |ip: IpAddr| proxies.iter().any(|range| range.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let mut source = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    // Right to left: each trusted proxy vouches for the hop before it; the first address no
    // trusted proxy added is the client. A malformed entry stops the walk where we are.
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                source = ip;
                if !trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    source
}

/// The authenticated principal of a request, or why not.
pub async fn authenticate(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
    accept: Accept,
) -> Result<Principal, AdminError> {
    let source = source_address(&state.trusted_proxies, connection.addr.ip(), headers);
    let attempt = state.login_limiter.admit(source, ADMISSION_WAIT).await?;
    let credential = if let Some(token) = bearer_token(headers) {
        let hash = accounts::secret_hash(token);
        let user = state
            .store
            .user_by_token(&hash)
            .await
            .map_err(AdminError::store)?;
        Some(("API token", user))
    } else if let Some(fingerprint) = connection.client_certificate {
        let user = state
            .store
            .user_by_client_certificate(&fingerprint)
            .await
            .map_err(AdminError::store)?;
        Some(("client certificate", user))
    } else if accept == Accept::PageSession {
        match session_cookie(headers) {
            Some(session) => {
                let hash = accounts::secret_hash(session);
                let user = state
                    .store
                    .user_by_session(&hash, crate::clock::unix_now())
                    .await
                    .map_err(AdminError::store)?;
                // An expired or unknown cookie is not an attack: show the login form again.
                return user
                    .and_then(|u| principal(u).ok())
                    .ok_or(AdminError::Unauthenticated);
            }
            None => None,
        }
    } else {
        None
    };
    let Some((method, user)) = credential else {
        return Err(AdminError::Unauthenticated);
    };
    match user.map(principal) {
        Some(Ok(principal)) => Ok(principal),
        Some(Err(name)) => {
            failed(
                state,
                source,
                attempt,
                &format!("{method} of disabled or invalid account {name}"),
            )
            .await;
            Err(AdminError::Unauthenticated)
        }
        None => {
            failed(state, source, attempt, &format!("unknown {method}")).await;
            Err(AdminError::Unauthenticated)
        }
    }
}

/// Why an account cannot authenticate; each names the account.
#[derive(Debug, thiserror::Error)]
pub enum UnusableAccount {
    #[error("user {name:?} is disabled")]
    Disabled { name: String },
    #[error("user {name:?}: {source}")]
    UnknownRole {
        name: String,
        source: accounts::UnknownRole,
    },
}

/// An account usable for authentication; an error when disabled or its role is unknown.
pub fn principal(user: store::UserRecord) -> Result<Principal, UnusableAccount> {
    if user.disabled {
        return Err(UnusableAccount::Disabled { name: user.name });
    }
    match user.role.parse::<accounts::Role>() {
        Ok(role) => Ok(Principal {
            user_id: user.id,
            name: user.name,
            role,
            templates: user.templates,
        }),
        Err(source) => Err(UnusableAccount::UnknownRole {
            name: user.name,
            source,
        }),
    }
}

/// Settles a failed authentication against the source and writes the audit entry; a
/// lockout is logged as a warning.
pub async fn failed(
    state: &AdminState,
    source: IpAddr,
    attempt: edge::limiter::Attempt<'_>,
    what: &str,
) {
    let locked = attempt.failed(Instant::now()).locked_out;
    let detail = if locked {
        tracing::warn!(%source, "admin source locked out after repeated failed logins");
        format!("{what}; source {source} locked out after repeated failures")
    } else {
        what.to_owned()
    };
    tracing::info!(%source, what, "admin authentication failed");
    state
        .audit(
            store::AuditKind::AdminAuthFailed,
            &source.to_string(),
            detail,
        )
        .await;
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_and_cookies_are_read_from_their_headers_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer scepd_abc"),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; scepd_admin_session=s3ss; other=x"),
        );
        assert_eq!(bearer_token(&headers), Some("scepd_abc"));
        assert_eq!(session_cookie(&headers), Some("s3ss"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46eA=="),
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Negotiate TlRMTVNTUAAB"),
        );
        assert_eq!(bearer_token(&headers), None);
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = vec![policy::IpRange::parse("10.0.0.0/8").unwrap()];
        let proxy: IpAddr = "10.1.1.1".parse().unwrap();
        let stranger: IpAddr = "192.0.2.7".parse().unwrap();
        let headers = forwarded("198.51.100.9");
        assert_eq!(source_address(&proxies, stranger, &headers), stranger);
        assert_eq!(source_address(&[], proxy, &headers), proxy);
        assert_eq!(
            source_address(&proxies, proxy, &headers),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_spoofed_leftmost_entry_is_not_the_client() {
        let proxies = vec![policy::IpRange::parse("10.0.0.0/8").unwrap()];
        let proxy: IpAddr = "10.1.1.1".parse().unwrap();
        // The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
        let headers = forwarded("1.2.3.4, 203.0.113.5, 10.2.2.2");
        assert_eq!(
            source_address(&proxies, proxy, &headers),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        let garbage = forwarded("not-an-address");
        assert_eq!(source_address(&proxies, proxy, &garbage), proxy);
    }
}
