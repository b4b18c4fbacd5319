//! `scepd serve`: the all-in-one service; an empty data directory is initialised first.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::report::print_fingerprints;
use crate::ceremony::error::CeremonyError;
use crate::ceremony::init;
use crate::services::serve::{self, ServeError};

/// Why `scepd serve` failed: initialising an empty data directory, or the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeCommandError {
    #[error(transparent)]
    Init(#[from] CeremonyError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, env = "SCEPD_DATA_DIR")]
    data_dir: PathBuf,
    /// Address for SCEP (overrides scep.listen in scepd.toml).
    #[arg(long)]
    scep_listen: Option<SocketAddr>,
    /// Address for the admin listener: mscep_admin page, JSON API, /metrics, over TLS
    /// (overrides admin.listen in scepd.toml).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

pub async fn run(args: ServeArgs) -> Result<(), ServeCommandError> {
    let ServeArgs {
        data_dir,
        scep_listen,
        admin_listen,
    } = args;
    if init::is_uninitialised(&data_dir) {
        eprintln!(
            "scepd: {} is empty: creating the embedded default (development CA, RA certificates, SQLite)",
            data_dir.display()
        );
        let report = init::run(&data_dir, &init::InitOptions::default()).await?;
        print_fingerprints(&report.fingerprints);
    }
    serve::run(&data_dir, scep_listen, admin_listen).await?;
    Ok(())
}
