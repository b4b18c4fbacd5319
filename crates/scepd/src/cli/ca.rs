//! `scepd ca`: serves the CA of a split deployment; `scepd ca register-ra | list-ra |
//! revoke-ra` are the CA operator's side of RA enrollment, `scepd ca rollover` prepares and
//! activates the next CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

use super::report::print_fingerprints;
use crate::ceremony::error::CeremonyError;
use crate::ceremony::{init, rollover};
use crate::services::ca_service::{self, CaServiceError};
use config::deployment::Mode;
use config::{Config, ConfigError};

/// Why a `scepd ca` command failed; each message names the argument, RA or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum CaCommandError {
    #[error("scepd ca needs --data-dir (or SCEPD_DATA_DIR)")]
    NoDataDir,
    /// The CA service itself (`scepd ca` without a subcommand).
    #[error(transparent)]
    Service(#[from] CaServiceError),
    /// `scepd ca rollover`.
    #[error(transparent)]
    Rollover(#[from] CeremonyError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} is prepared for {}, not scepd ca (deployment.mode)", dir.display(), mode.command())]
    WrongMode { dir: PathBuf, mode: Mode },
    #[error(transparent)]
    Templates(#[from] config::templates::TemplateError),
    #[error("--templates: template {0:?} is not configured on this CA")]
    UnknownTemplate(String),
    #[error("--templates: name at least one template")]
    NoTemplates,
    /// Generating the registration code.
    #[error("random: {0}")]
    Random(#[source] keys::KeyError),
    #[error("registering RA {name:?}: {source}")]
    Register {
        name: String,
        source: store::StoreError,
    },
    /// Listing or revoking the registered RAs.
    #[error(transparent)]
    Store(store::StoreError),
    #[error("no active RA named {0:?}")]
    NoActiveRa(String),
    #[error(transparent)]
    Audit(#[from] crate::audit_trail::AuditLogError),
}

#[derive(Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: Option<CaCommand>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the statement listener (overrides ca_service.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the registration listener (overrides ca_service.registration_listen).
    #[arg(long)]
    registration_listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Announce an RA: prints its one-time registration code (for scepd init --mode ra).
    RegisterRa {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(long)]
        name: String,
        /// Templates the RA may approve, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        templates: Vec<String>,
    },
    /// The registered RAs.
    ListRa {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Revoke an RA: its TLS certificate leaves the allow-list, its statements are refused.
    RevokeRa {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Prepare the next CA (same name, new key, cross certificates, new RA certificates),
    /// served by GetNextCACert from the next start; with --activate, switch to it.
    Rollover {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Make the prepared CA the current one.
        #[arg(long)]
        activate: bool,
        /// Key of the next CA (default: the same kind as the current one).
        #[arg(long, value_enum, conflicts_with = "activate")]
        ca_key: Option<init::CaKeyType>,
        /// Lifetime of the next CA certificate in days.
        #[arg(long, default_value_t = 3650, conflicts_with = "activate")]
        ca_validity_days: u32,
        /// Lifetime of the next RA certificates in days.
        #[arg(long, default_value_t = 730, conflicts_with = "activate")]
        ra_validity_days: u32,
    },
}

pub async fn run(args: CaArgs) -> Result<(), CaCommandError> {
    let Some(command) = args.command else {
        let data_dir = args
            .data_dir
            .or_else(|| std::env::var_os("SCEPD_DATA_DIR").map(PathBuf::from))
            .ok_or(CaCommandError::NoDataDir)?;
        return Ok(ca_service::run(&data_dir, args.listen, args.registration_listen).await?);
    };
    match command {
        CaCommand::RegisterRa {
            data_dir,
            name,
            templates,
        } => {
            let (code, expires) =
                register(&data_dir, &name, &templates, crate::clock::unix_now()).await?;
            eprintln!(
                "scepd: RA {name:?} may register once, before {expires} (Unix time), with this code; it is shown only now:"
            );
            println!("{}", code.as_str());
        }
        CaCommand::ListRa { data_dir } => print!("{}", list(&data_dir).await?),
        CaCommand::RevokeRa { data_dir, name } => {
            revoke(&data_dir, &name, crate::clock::unix_now()).await?;
            println!("RA {name:?} revoked");
        }
        CaCommand::Rollover {
            data_dir,
            activate,
            ca_key,
            ca_validity_days,
            ra_validity_days,
        } => {
            if activate {
                rollover::activate_ca(&data_dir).await?;
                println!(
                    "the next CA is now current in {}; restart serve",
                    data_dir.display()
                );
            } else {
                let fingerprints =
                    rollover::prepare_ca(&data_dir, ca_key, ca_validity_days, ra_validity_days)
                        .await?;
                println!(
                    "next CA prepared in {}; restart serve to publish it with GetNextCACert",
                    data_dir.display()
                );
                print_fingerprints(&fingerprints);
            }
        }
    }
    Ok(())
}

async fn open(dir: &Path) -> Result<(Config, store::Store), CaCommandError> {
    let config = Config::load(dir)?;
    if config.deployment.mode != Mode::Ca {
        return Err(CaCommandError::WrongMode {
            dir: dir.to_owned(),
            mode: config.deployment.mode,
        });
    }
    let store = config.open_store(dir).await?;
    Ok((config, store))
}

/// Announces an RA and returns its one-time registration code (256 random bits; only its
/// SHA-256 is stored).
pub async fn register(
    dir: &Path,
    name: &str,
    templates: &[String],
    now: i64,
) -> Result<(zeroize::Zeroizing<String>, i64), CaCommandError> {
    let (config, store) = open(dir).await?;
    let known = config::templates::build(&config.templates)?;
    for t in templates {
        if !known.iter().any(|k| k.name() == t) {
            return Err(CaCommandError::UnknownTemplate(t.clone()));
        }
    }
    if templates.is_empty() {
        return Err(CaCommandError::NoTemplates);
    }
    let bytes = keys::random::bytes(32).map_err(CaCommandError::Random)?;
    let code = zeroize::Zeroizing::new(hex::encode(&bytes));
    let expires = now.saturating_add(
        i64::try_from(config.ca_service.registration_code_ttl.as_secs()).unwrap_or(i64::MAX),
    );
    store
        .create_ra_registration(store::NewRaRegistration {
            name: name.to_owned(),
            templates: templates.to_vec(),
            code_sha256: Sha256::digest(code.as_bytes()).into(),
            code_expires_at: expires,
            created_at: now,
        })
        .await
        .map_err(|source| CaCommandError::Register {
            name: name.to_owned(),
            source,
        })?;
    crate::audit_trail::record_cli(
        &store,
        store::AuditKind::ConfigChanged,
        format!(
            "RA {name} announced for templates {}; registration code valid until {expires}",
            templates.join(",")
        ),
    )
    .await?;
    Ok((code, expires))
}

pub async fn list(dir: &Path) -> Result<String, CaCommandError> {
    let (_, store) = open(dir).await?;
    let mut out = String::new();
    for ra in store
        .ra_registrations()
        .await
        .map_err(CaCommandError::Store)?
    {
        let state = match (&ra.certificates, ra.revoked_at) {
            (_, Some(at)) => format!("revoked at {at}"),
            (Some(c), None) => format!("active, TLS SHA-256 {}", ca::fingerprint_sha256(&c.tls)),
            (None, None) => format!(
                "awaiting registration (code valid until {})",
                ra.code_expires_at
            ),
        };
        out.push_str(&format!(
            "{}\ttemplates={}\t{state}\n",
            ra.name,
            ra.templates.join(",")
        ));
    }
    Ok(out)
}

pub async fn revoke(dir: &Path, name: &str, now: i64) -> Result<(), CaCommandError> {
    let (_, store) = open(dir).await?;
    if !store
        .revoke_ra(name, now)
        .await
        .map_err(CaCommandError::Store)?
    {
        return Err(CaCommandError::NoActiveRa(name.to_owned()));
    }
    crate::audit_trail::record_cli(
        &store,
        store::AuditKind::ConfigChanged,
        format!("RA {name} revoked: its TLS certificate leaves the allow-list, its statements are refused"),
    )
    .await?;
    Ok(())
}
