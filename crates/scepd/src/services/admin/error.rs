//! Errors of the admin surface and the HTTP answer each one gets. Messages are for the
//! administrator: specific, and never carrying a secret.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// 64 KiB: admin requests are small JSON documents and forms.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why the admin listener did not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminStartError {
    #[error(transparent)]
    Tls(#[from] crate::services::tls::TlsError),
    #[error(transparent)]
    Listen(#[from] edge::listener::ListenError),
    #[error(transparent)]
    Templates(#[from] config::templates::TemplateError),
    #[error(transparent)]
    Setting(#[from] config::InvalidSetting),
    #[error("random source: {0}")]
    Random(#[source] accounts::AccountError),
    #[error("password hashing: {0}")]
    Hashing(#[source] accounts::AccountError),
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "authentication required: an API token (Authorization: Bearer) or a client certificate bound to an account"
    )]
    Unauthenticated,
    #[error("too many failed logins from this address; retry later")]
    LockedOut { retry_after: Duration },
    /// The source's failed logins plus its logins still being checked reached the limit.
    #[error("too many logins in progress from this address; retry shortly")]
    AttemptsInFlight,
    /// Every password-verification slot is busy (a login flood).
    #[error("{0}")]
    Busy(#[from] crate::services::admin::password_gate::Busy),
    #[error("{0}")]
    Forbidden(#[from] accounts::Denied),
    /// A browser was made to send a state-changing request from another site.
    #[error("{0}")]
    CrossSite(#[from] edge::cross_site::CrossSite),
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the admin listener's limit: not malformed, too large, so that a client
    /// does not retry it unchanged.
    #[error("request body too large: the limit is {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyChallenges(String),
    /// The CA of a split deployment refused (e.g. a revocation outside the RA's templates).
    #[error("{0}")]
    CaRefused(String),
    /// A dependency (the database, the CA in a split deployment) failed: nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// Details go to the log, not to the client.
    #[error("internal error; see the scepd log")]
    Internal(String),
}

impl From<edge::limiter::Refusal> for AdminError {
    fn from(refusal: edge::limiter::Refusal) -> Self {
        match refusal {
            edge::limiter::Refusal::LockedOut(retry_after) => AdminError::LockedOut { retry_after },
            edge::limiter::Refusal::Busy => AdminError::AttemptsInFlight,
        }
    }
}

impl AdminError {
    pub fn store(error: store::StoreError) -> AdminError {
        AdminError::Internal(format!("database: {error}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AdminError::LockedOut { .. }
            | AdminError::AttemptsInFlight
            | AdminError::TooManyChallenges(_) => StatusCode::TOO_MANY_REQUESTS,
            AdminError::Forbidden(_) | AdminError::CrossSite(_) | AdminError::CaRefused(_) => {
                StatusCode::FORBIDDEN
            }
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Unavailable(_) | AdminError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Headers every answer of this kind carries (the challenge scheme, Retry-After).
    pub fn decorate(&self, response: &mut Response) {
        match self {
            AdminError::Unauthenticated => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scepd\""),
                );
            }
            AdminError::LockedOut { retry_after } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            AdminError::AttemptsInFlight | AdminError::Busy(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            _ => {}
        }
    }
}

/// A body extractor's refusal: 413 when the body limit was hit (the rejection's own status
/// says so), 400 with axum's description otherwise.
fn body_rejection(status: StatusCode, text: String) -> AdminError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AdminError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }
    } else {
        AdminError::BadRequest(text)
    }
}

impl From<JsonRejection> for AdminError {
    fn from(rejection: JsonRejection) -> AdminError {
        body_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<FormRejection> for AdminError {
    fn from(rejection: FormRejection) -> AdminError {
        body_rejection(rejection.status(), rejection.body_text())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        if let AdminError::Internal(detail) = &self {
            tracing::error!(error = %detail, "admin API");
        }
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        self.decorate(&mut response);
        response
    }
}
