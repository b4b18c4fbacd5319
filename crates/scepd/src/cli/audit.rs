//! `scepd audit verify|export`: check the hash chain of the audit log, and write it as JSON
//! lines for a SIEM. Neither ever holds a secret: the log stores none.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;

use config::{ConfigError, open_store};

/// Why `scepd audit verify|export` failed; a broken chain is named as such.
#[derive(Debug, thiserror::Error)]
pub enum AuditCommandError {
    #[error("--output {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The hash chain does not verify: an entry was edited, deleted or reordered.
    #[error("audit chain BROKEN: {0}")]
    Broken(#[source] store::StoreError),
    /// The same, found by `export`, which then writes nothing.
    #[error("audit chain BROKEN, not exported: {0}")]
    BrokenNotExported(#[source] store::StoreError),
    #[error("reading the audit log: {0}")]
    Read(#[source] store::StoreError),
    /// An entry that could not be written as JSON.
    #[error(transparent)]
    Json(serde_json::Error),
    #[error("writing the export: {0}")]
    Write(#[source] std::io::Error),
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the chain: an edited, deleted or reordered entry is reported (exit 1).
    Verify {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Write every entry as JSON lines (for a SIEM), after verifying the chain.
    Export {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// A new file (mode 0600, never overwritten); standard output if absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub async fn run(command: AuditCommand) -> Result<(), AuditCommandError> {
    match command {
        AuditCommand::Verify { data_dir } => print!("{}", verify(&data_dir).await?),
        AuditCommand::Export { data_dir, output } => {
            let count = match output {
                Some(path) => {
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path)
                        .map_err(|source| AuditCommandError::Output { path, source })?;
                    export(&data_dir, &mut file).await?
                }
                None => export(&data_dir, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("scepd: exported {count} audit entries");
        }
    }
    Ok(())
}

/// Verifies the whole chain; an edited, deleted or reordered entry is an error naming it.
pub async fn verify(dir: &Path) -> Result<String, AuditCommandError> {
    let store = open_store(dir).await?;
    let entries = store
        .verify_audit_chain()
        .await
        .map_err(AuditCommandError::Broken)?;
    Ok(format!("audit chain intact: {entries} entries\n"))
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    at: String,
    at_unix: i64,
    kind: &'a str,
    actor: &'a str,
    subject: &'a str,
    detail: &'a str,
    prev_hash: String,
    hash: String,
}

/// Writes every entry, oldest first, one JSON object per line, after verifying the chain
/// (an export of a tampered log would be evidence of nothing).
pub async fn export(dir: &Path, out: &mut dyn Write) -> Result<u64, AuditCommandError> {
    let store = open_store(dir).await?;
    let entries = store
        .verify_audit_chain()
        .await
        .map_err(AuditCommandError::BrokenNotExported)?;
    let limit = u32::try_from(entries).unwrap_or(u32::MAX);
    let records = store
        .audit_events(limit)
        .await
        .map_err(AuditCommandError::Read)?;
    for r in &records {
        let line = Line {
            seq: r.seq,
            at: crate::timefmt::rfc3339(r.at),
            at_unix: r.at,
            kind: &r.kind,
            actor: &r.actor,
            subject: &r.subject,
            detail: &r.detail,
            prev_hash: hex::encode(r.prev_hash),
            hash: hex::encode(r.hash),
        };
        let json = serde_json::to_string(&line).map_err(AuditCommandError::Json)?;
        writeln!(out, "{json}").map_err(AuditCommandError::Write)?;
    }
    Ok(records.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages are the ones `scepd audit` printed when its errors were strings.
    #[test]
    fn messages_are_unchanged() {
        let busy = store::StoreError::Busy;
        let output = AuditCommandError::Output {
            path: PathBuf::from("/tmp/export.jsonl"),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists"),
        };
        assert_eq!(output.to_string(), "--output /tmp/export.jsonl: exists");
        assert_eq!(
            AuditCommandError::Broken(store::StoreError::Busy).to_string(),
            format!("audit chain BROKEN: {busy}")
        );
        assert_eq!(
            AuditCommandError::BrokenNotExported(store::StoreError::Busy).to_string(),
            format!("audit chain BROKEN, not exported: {busy}")
        );
    }
}
