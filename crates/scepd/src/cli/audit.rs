//! `scepd audit verify|export`: check the hash chain of the audit log, and write it as JSON
//! lines for a SIEM. Neither ever holds a secret: the log stores none.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;

use crate::config::open_store;

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

pub async fn run(command: AuditCommand) -> Result<(), String> {
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
                        .map_err(|e| format!("--output {}: {e}", path.display()))?;
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
pub async fn verify(dir: &Path) -> Result<String, String> {
    let store = open_store(dir).await?;
    let entries = store
        .verify_audit_chain()
        .await
        .map_err(|e| format!("audit chain BROKEN: {e}"))?;
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
pub async fn export(dir: &Path, out: &mut dyn Write) -> Result<u64, String> {
    let store = open_store(dir).await?;
    let entries = store
        .verify_audit_chain()
        .await
        .map_err(|e| format!("audit chain BROKEN, not exported: {e}"))?;
    let limit = u32::try_from(entries).unwrap_or(u32::MAX);
    let records = store
        .audit_events(limit)
        .await
        .map_err(|e| format!("reading the audit log: {e}"))?;
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
        let json = serde_json::to_string(&line).map_err(|e| e.to_string())?;
        writeln!(out, "{json}").map_err(|e| format!("writing the export: {e}"))?;
    }
    Ok(records.len() as u64)
}
