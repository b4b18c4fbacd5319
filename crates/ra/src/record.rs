//! What the RA writes to the store, and the audit text that goes with it.

use store::{AuditEvent, AuditKind, Store};

use crate::context::RequestContext;

/// Appends an audit entry; a failure is logged, never turned into a different answer.
pub(crate) async fn audit(
    store: &Store,
    context: &RequestContext,
    kind: AuditKind,
    detail: String,
) {
    let event = AuditEvent {
        at: context.now,
        kind,
        actor: context.peer.clone(),
        detail,
    };
    if let Err(e) = store.append_audit(event).await {
        tracing::error!(error = %e, "audit append failed");
    }
}

/// RFC 8894 §8.4: records that a SUCCESS reply carrying this certificate was produced
/// (first answer, retry, CertPoll or GetCert), so uncollected certificates can be found.
pub(crate) async fn mark_delivered(store: &Store, serial_hex: &str, now: i64) {
    if let Err(e) = store.mark_delivered(serial_hex, now).await {
        tracing::warn!(serial = serial_hex, error = %e, "could not record delivery");
    }
}
