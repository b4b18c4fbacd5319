//! `scepd request list|approve|deny`: requests a template holds for an operator (NDES's
//! "pending requests"). Approving only changes the request's state; the certificate is issued
//! when the device polls (CertPoll / GetCertInitial), through the CA like any other request,
//! so an approval can never widen the template.

use std::path::Path;

use crate::config::open_store;
use crate::timefmt::rfc3339;

pub async fn list(dir: &Path) -> Result<String, String> {
    let store = open_store(dir).await?;
    let held = store
        .list_pending()
        .await
        .map_err(|e| format!("listing requests: {e}"))?;
    let mut out = format!(
        "{:<6} {:<9} {:<21} {:<10} {}\n",
        "ID", "STATE", "RECEIVED", "TEMPLATE", "SUBJECT / SANS"
    );
    for r in &held {
        out.push_str(&format!(
            "{:<6} {:<9} {:<21} {:<10} {}  {}\n",
            r.id,
            r.state.as_str(),
            rfc3339(r.created_at),
            r.template,
            r.subject,
            r.sans.join(", ")
        ));
    }
    out.push_str(&format!("{} request(s) waiting\n", held.len()));
    Ok(out)
}

pub async fn approve(dir: &Path, id: i64, now: i64) -> Result<String, String> {
    let store = open_store(dir).await?;
    let record = store
        .approve_pending(id, &crate::cli_audit::actor(), now)
        .await
        .map_err(|e| format!("approving request {id}: {e}"))?;
    Ok(format!(
        "request {id} approved ({}); the certificate is issued when the device polls\n",
        record.subject
    ))
}

pub async fn deny(dir: &Path, id: i64, reason: &str, now: i64) -> Result<String, String> {
    let store = open_store(dir).await?;
    store
        .deny_pending(id, &crate::cli_audit::actor(), reason, now)
        .await
        .map_err(|e| format!("denying request {id}: {e}"))?;
    Ok(format!(
        "request {id} denied; the device's next poll gets FAILURE\n"
    ))
}
