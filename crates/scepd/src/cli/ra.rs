//! `scepd ra`: serves the RA of a split deployment; `scepd ra renew` renews its keys.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::report::print_fingerprints;
use crate::ceremony::error::CeremonyError;
use crate::ceremony::rollover;
use crate::services::ra_service::{self, RaServiceError};

/// Why a `scepd ra` command failed.
#[derive(Debug, thiserror::Error)]
pub enum RaCommandError {
    #[error("scepd ra needs --data-dir (or SCEPD_DATA_DIR)")]
    NoDataDir,
    /// The RA service itself (`scepd ra` without a subcommand).
    #[error(transparent)]
    Service(#[from] RaServiceError),
    /// `scepd ra renew`.
    #[error(transparent)]
    Renew(#[from] CeremonyError),
}

#[derive(Args)]
pub struct RaArgs {
    #[command(subcommand)]
    command: Option<RaCommand>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address for SCEP (overrides scep.listen).
    #[arg(long)]
    scep_listen: Option<SocketAddr>,
    /// Address for the admin listener (overrides admin.listen).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
pub enum RaCommand {
    /// New RA signing and encryption keys and certificates. The old encryption key stays
    /// usable for clients that cached its certificate until it expires; the old enrollment
    /// agent key is deleted. Restart `serve` to use them.
    Renew {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Lifetime of the new RA certificates in days.
        #[arg(long, default_value_t = 730)]
        validity_days: u32,
    },
}

pub async fn run(args: RaArgs) -> Result<(), RaCommandError> {
    match args.command {
        None => {
            let data_dir = args
                .data_dir
                .or_else(|| std::env::var_os("SCEPD_DATA_DIR").map(PathBuf::from))
                .ok_or(RaCommandError::NoDataDir)?;
            Ok(ra_service::run(&data_dir, args.scep_listen, args.admin_listen).await?)
        }
        Some(RaCommand::Renew {
            data_dir,
            validity_days,
        }) => {
            let fingerprints = rollover::renew_ra(&data_dir, validity_days).await?;
            println!(
                "RA renewed in {}; restart serve to use the new certificates",
                data_dir.display()
            );
            print_fingerprints(&fingerprints);
            Ok(())
        }
    }
}
