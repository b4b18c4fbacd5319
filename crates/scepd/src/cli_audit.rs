//! Audit entries for what an operator does from the command line.

/// Who ran the command, as the audit log names them.
pub fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Appends one entry made by the command-line operator.
pub async fn record(
    store: &store::Store,
    kind: store::AuditKind,
    detail: String,
) -> Result<(), String> {
    store
        .append_audit(store::AuditEvent {
            at: crate::clock::unix_now(),
            kind,
            actor: actor(),
            detail,
        })
        .await
        .map(|_| ())
        .map_err(|e| format!("audit log: {e}"))
}
