//! `/certsrv/mscep_admin/`: what NDES shows a device administrator — a fresh one-time
//! challenge, its expiry and the CA and RA certificate fingerprints — behind a login form
//! instead of Windows authentication, and with SHA-256 instead of MD5 thumbprints.

use std::fmt::Write as _;
use std::sync::Arc;

use accounts::Principal;
use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use edge::listener::Peer as Connection;
use serde::Deserialize;

use super::auth::{self, Accept, SESSION_COOKIE};
use super::error::AdminError;
use super::html::escape;
use super::state::{AdminState, actor};
use crate::clock::unix_now;

pub const PAGE_PATH: &str = "/certsrv/mscep_admin/";
const COOKIE_PATH: &str = "/certsrv/mscep_admin";

type Shared = State<Arc<AdminState>>;

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>\
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
code{{font-size:1.05rem;background:#f2f2f2;padding:.15rem .35rem;border-radius:4px;word-break:break-all}}\
#challenge{{font-size:1.6rem;letter-spacing:.04em}}\
dt{{font-weight:600;margin-top:.8rem}} dd code{{font-size:.85rem}} .error{{color:#a40000}} form.inline{{display:inline}}\
</style></head><body><h1>scepd — Network Device Enrollment</h1>{body}</body></html>\n",
        title = escape(title)
    )
}

fn login_form(message: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(message) = message {
        let _ = write!(
            body,
            "<p class=\"error\" id=\"error\">{}</p>",
            escape(message)
        );
    }
    body.push_str(
        "<form method=\"post\" action=\"/certsrv/mscep_admin/login\" id=\"login\">\
<p><label>User name<br><input name=\"username\" id=\"username\" autocomplete=\"username\" required></label></p>\
<p><label>Password<br><input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
<p><button type=\"submit\" id=\"sign-in\">Sign in</button></p></form>",
    );
    document("scepd — sign in", &body)
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

#[derive(Deserialize)]
pub struct ShowQuery {
    template: Option<String>,
}

/// The challenge page, or the login form when there is no valid session. A request with
/// `Authorization: Basic` is an MDM connector's: it gets NDES's page (`ndes.rs`).
pub async fn show(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Query(query): Query<ShowQuery>,
) -> Response {
    if super::basic::offered(&headers) {
        return super::ndes::answer(&state, &connection, &headers, query.template).await;
    }
    let principal =
        match auth::authenticate(&state, &connection, &headers, Accept::PageSession).await {
            Ok(p) => p,
            Err(AdminError::Unauthenticated) => return page(StatusCode::OK, login_form(None)),
            Err(e) => return error_page(&e),
        };
    let issued = state
        .issue_unbound_challenge(&principal, query.template)
        .await;
    match issued {
        Ok(issued) => page(StatusCode::OK, challenge_page(&state, &principal, &issued)),
        Err(e) => error_page_for(&state, &principal, &e),
    }
}

fn template_chooser(state: &AdminState, principal: &Principal, current: &str) -> String {
    let choices: Vec<&String> = state
        .template_names
        .iter()
        .filter(|t| {
            principal
                .authorize(accounts::Action::IssueChallenge { template: t })
                .is_ok()
        })
        .collect();
    if choices.len() < 2 {
        return String::new();
    }
    let mut html = String::from(
        "<form method=\"get\" action=\"/certsrv/mscep_admin/\"><label>Template \
<select name=\"template\" id=\"template\">",
    );
    for t in choices {
        let selected = if t == current { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{}</option>", escape(t));
    }
    html.push_str("</select></label> <button type=\"submit\">New challenge</button></form>");
    html
}

fn account_bar(principal: &Principal) -> String {
    format!(
        "<p>Signed in as <strong id=\"user\">{}</strong> ({}). \
<form class=\"inline\" method=\"post\" action=\"/certsrv/mscep_admin/logout\">\
<button type=\"submit\" id=\"sign-out\">Sign out</button></form></p>",
        escape(&principal.name),
        escape(&principal.role.to_string())
    )
}

fn challenge_page(
    state: &AdminState,
    principal: &Principal,
    issued: &crate::services::challenges::IssuedChallenge,
) -> String {
    let f = &state.fingerprints;
    let body = format!(
        "{account}<p>The enrollment challenge password for template <strong id=\"challenge-template\">{template}</strong> is:</p>\
<p><code id=\"challenge\">{challenge}</code></p>\
<p>It can be used once, and expires at <span id=\"expires\" data-unix=\"{expires_unix}\">{expires}</span>. \
Reload the page for another one.</p>{chooser}\
<h2>Certificates to pin</h2><dl>\
<dt>CA certificate (SHA-256)</dt><dd><code id=\"ca-fingerprint\">{ca}</code></dd>\
<dt>RA signing certificate (SHA-256)</dt><dd><code id=\"ra-signing-fingerprint\">{ra_signing}</code></dd>\
<dt>RA encryption certificate (SHA-256)</dt><dd><code id=\"ra-encryption-fingerprint\">{ra_encryption}</code></dd>\
</dl><p>SCEP URL path: <code>/certsrv/mscep/mscep.dll</code></p>",
        account = account_bar(principal),
        template = escape(&issued.template),
        challenge = escape(&issued.secret),
        expires_unix = issued.expires_at,
        expires = escape(&crate::timefmt::rfc3339(issued.expires_at)),
        chooser = template_chooser(state, principal, &issued.template),
        ca = escape(&f.ca),
        ra_signing = escape(&f.ra_signing),
        ra_encryption = escape(&f.ra_encryption),
    );
    document("scepd — enrollment challenge", &body)
}

fn error_page(error: &AdminError) -> Response {
    let body = format!(
        "<p class=\"error\" id=\"error\">{}</p>",
        escape(&error.to_string())
    );
    let mut response = page(error.status(), document("scepd — error", &body));
    error.decorate(&mut response);
    response
}

fn error_page_for(state: &AdminState, principal: &Principal, error: &AdminError) -> Response {
    let body = format!(
        "{}<p class=\"error\" id=\"error\">{}</p>{}",
        account_bar(principal),
        escape(&error.to_string()),
        template_chooser(state, principal, "")
    );
    let mut response = page(error.status(), document("scepd — error", &body));
    error.decorate(&mut response);
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: zeroize::Zeroizing<String>,
}

/// Checks the password and starts a session (an HttpOnly, Secure, SameSite=Strict cookie
/// whose value is stored only as a hash).
pub async fn login(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let source = auth::source_address(&state.trusted_proxies, connection.addr.ip(), &headers);
    // Before the form is even read: a source at its limit costs nothing more.
    let attempt = match state
        .login_limiter
        .admit(source, auth::ADMISSION_WAIT)
        .await
    {
        Ok(attempt) => attempt,
        Err(refusal) => return error_page(&AdminError::from(refusal)),
    };
    let form = match form.map_err(AdminError::from) {
        Ok(Form(form)) => form,
        Err(e @ AdminError::PayloadTooLarge { .. }) => return error_page(&e),
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                login_form(Some("user name and password are required")),
            );
        }
    };
    let user = match state.store.user_by_name(&form.username).await {
        Ok(user) => user,
        Err(e) => return error_page(&AdminError::store(e)),
    };
    // Verify against a fixed hash when the user is unknown, so timing does not tell which
    // user names exist.
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.decoy_password_hash.clone());
    let matches = match state.password_gate.verify(form.password, stored).await {
        Ok(matches) => matches,
        Err(busy) => return error_page(&AdminError::from(busy)),
    };
    let principal = match user {
        Some(user) if matches => auth::principal(user).ok(),
        _ => None,
    };
    let Some(principal) = principal else {
        let who = if accounts::validate_user_name(&form.username).is_ok() {
            format!("password login as {:?} refused", form.username)
        } else {
            "password login with a malformed user name refused".to_owned()
        };
        auth::failed(&state, source, attempt, &who).await;
        return page(
            StatusCode::UNAUTHORIZED,
            login_form(Some(
                "wrong user name or password, or the account is disabled",
            )),
        );
    };
    let session = match accounts::generate_session_id() {
        Ok(s) => s,
        Err(e) => return error_page(&AdminError::Internal(e.to_string())),
    };
    let now = unix_now();
    let ttl = i64::try_from(state.config.admin.session_ttl.as_secs()).unwrap_or(i64::MAX);
    if let Err(e) = state
        .store
        .create_session(
            &session.hash,
            principal.user_id,
            now,
            now.saturating_add(ttl),
        )
        .await
    {
        return error_page(&AdminError::store(e));
    }
    state
        .audit(
            store::AuditKind::AdminLogin,
            &actor(&principal),
            format!("password login to mscep_admin from {source}"),
        )
        .await;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path={COOKIE_PATH}; Max-Age={ttl}; Secure; HttpOnly; SameSite=Strict",
        session.secret.as_str()
    );
    let mut response = redirect_to_page();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Ends the session (server side too: the cookie's value no longer opens anything).
pub async fn logout(State(state): Shared, headers: HeaderMap) -> Response {
    let sessions = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| accounts::secret_hash(value))
        .collect::<Vec<_>>();
    for hash in sessions {
        if let Err(e) = state.store.delete_session(&hash).await {
            return error_page(&AdminError::store(e));
        }
    }
    let mut response = redirect_to_page();
    let expired = format!(
        "{SESSION_COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
    );
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn redirect_to_page() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, PAGE_PATH)]).into_response()
}

/// `/certsrv/mscep_admin` without the slash, as NDES users type it: people are sent to the
/// page; a connector's HTTP Basic request is answered here, as NDES does, since not every
/// client sends its credentials again after a redirect.
pub async fn redirect(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    // Malformed query text never stopped the redirect; it does not now.
    query: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if super::basic::offered(&headers) {
        let template = match query {
            Ok(Query(query)) => query.template,
            Err(e) => return super::basic::plain_text(e.status(), &e.body_text()),
        };
        return super::ndes::answer(&state, &connection, &headers, template).await;
    }
    redirect_to_page()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let html = login_form(Some("<b>"));
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
    }
}
