//! Audit entries for actions that have already happened (a login, a lockout, a registration):
//! a failure to append cannot undo them, so it is logged as an error instead of returned.

pub async fn append_or_log(
    store: &store::Store,
    kind: store::AuditKind,
    actor: &str,
    detail: String,
) {
    let event = store::AuditEvent {
        at: crate::clock::unix_now(),
        kind,
        actor: actor.to_owned(),
        detail,
    };
    if let Err(e) = store.append_audit(event).await {
        tracing::error!(error = %e, "audit append failed");
    }
}
