//! Refuses cross-site requests that would change something on the admin listener, before any
//! handler runs; the decision is [`edge::cross_site::check`]'s.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use edge::cross_site::check;

use super::error::AdminError;

/// The middleware: 403 for a refused request, JSON on the API and text on the pages, before
/// any handler (and so any login, audit entry or change) runs.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let Err(refused) = check(request.method(), request.headers()) else {
        return next.run(request).await;
    };
    tracing::warn!(
        method = %request.method(),
        path = %request.uri().path(),
        reason = %refused,
        "admin listener: cross-site request refused"
    );
    if request.uri().path().starts_with("/admin/api/") {
        AdminError::CrossSite(refused).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{refused}\n"),
        )
            .into_response()
    }
}
