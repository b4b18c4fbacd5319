//! The entries scepd itself appends to the hash-chained audit log. For an action a service has
//! already taken (a login, a lockout, a registration) a failed append cannot undo it, so it is
//! logged as an error instead of returned; for a command an operator runs, the failed append
//! is the command's error.

/// The audit log could not be appended to.
#[derive(Debug, thiserror::Error)]
#[error("audit log: {0}")]
pub struct AuditLogError(#[from] store::StoreError);

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

/// Who ran the command, as the audit log names them.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Appends one entry made by the command-line operator.
pub async fn record_cli(
    store: &store::Store,
    kind: store::AuditKind,
    detail: String,
) -> Result<(), AuditLogError> {
    store
        .append_audit(store::AuditEvent {
            at: crate::clock::unix_now(),
            kind,
            actor: cli_actor(),
            detail,
        })
        .await?;
    Ok(())
}
