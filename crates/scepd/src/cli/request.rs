//! `scepd request list|approve|deny`: requests a template holds for an operator (NDES's
//! "pending requests"). Approving only changes the request's state; the certificate is issued
//! when the device polls (CertPoll / GetCertInitial), through the CA like any other request,
//! so an approval can never widen the template.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use config::{ConfigError, open_store};

/// Why `scepd request list|approve|deny` failed; each message names the request.
#[derive(Debug, thiserror::Error)]
pub enum RequestCommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("listing requests: {0}")]
    List(#[source] store::StoreError),
    #[error("approving request {id}: {source}")]
    Approve { id: i64, source: store::StoreError },
    #[error("denying request {id}: {source}")]
    Deny { id: i64, source: store::StoreError },
}
use crate::timefmt::rfc3339;

#[derive(Subcommand)]
pub enum RequestCommand {
    /// Requests waiting for an operator.
    List {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Approve a request; the device gets its certificate on its next poll.
    Approve {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        id: i64,
    },
    /// Deny a request; the device's next poll gets FAILURE.
    Deny {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        id: i64,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(command: RequestCommand) -> Result<(), RequestCommandError> {
    let now = crate::clock::unix_now();
    let output = match command {
        RequestCommand::List { data_dir } => list(&data_dir).await?,
        RequestCommand::Approve { data_dir, id } => approve(&data_dir, id, now).await?,
        RequestCommand::Deny {
            data_dir,
            id,
            reason,
        } => deny(&data_dir, id, &reason, now).await?,
    };
    print!("{output}");
    Ok(())
}

pub async fn list(dir: &Path) -> Result<String, RequestCommandError> {
    let store = open_store(dir).await?;
    let held = store
        .list_pending()
        .await
        .map_err(RequestCommandError::List)?;
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

pub async fn approve(dir: &Path, id: i64, now: i64) -> Result<String, RequestCommandError> {
    let store = open_store(dir).await?;
    let record = store
        .approve_pending(id, &crate::audit_trail::cli_actor(), now)
        .await
        .map_err(|source| RequestCommandError::Approve { id, source })?;
    Ok(format!(
        "request {id} approved ({}); the certificate is issued when the device polls\n",
        record.subject
    ))
}

pub async fn deny(
    dir: &Path,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<String, RequestCommandError> {
    let store = open_store(dir).await?;
    store
        .deny_pending(id, &crate::audit_trail::cli_actor(), reason, now)
        .await
        .map_err(|source| RequestCommandError::Deny { id, source })?;
    Ok(format!(
        "request {id} denied; the device's next poll gets FAILURE\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages are the ones `scepd request` printed when its errors were strings.
    #[test]
    fn messages_name_the_request() {
        let busy = store::StoreError::Busy;
        let approve = RequestCommandError::Approve {
            id: 7,
            source: store::StoreError::Busy,
        };
        assert_eq!(approve.to_string(), format!("approving request 7: {busy}"));
        let deny = RequestCommandError::Deny {
            id: 7,
            source: store::StoreError::Busy,
        };
        assert_eq!(deny.to_string(), format!("denying request 7: {busy}"));
    }
}
