//! `scepd challenge issue`: mints one challenge and prints it, and nothing else, on stdout.
//! `scepd challenge mint-signed`: the same for a signed challenge, minted offline from the
//! MDM's key (see [`mint_signed`]).

mod mint_signed;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;

use crate::services::challenges::{ChallengeIssueError, IssueRequest, issue_challenge};
use config::{Config, ConfigError};
pub use mint_signed::{MintSignedArgs, MintSignedError, mint_signed};

/// Why `scepd challenge issue` or `scepd challenge mint-signed` failed.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeCommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The challenge was refused; the message names the flag at fault.
    #[error("{}{}", flag(.0), .0)]
    Issue(#[source] ChallengeIssueError),
    #[error(transparent)]
    MintSigned(#[from] MintSignedError),
}

#[derive(Subcommand)]
pub enum ChallengeCommand {
    /// Mint one challenge and print it on stdout (only its hash is stored).
    Issue {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Template the challenge is bound to (default: device).
        #[arg(long)]
        template: Option<String>,
        /// Subject the certificate must have, e.g. "CN=router1,O=Example".
        #[arg(long)]
        subject: Option<String>,
        /// A subject alternative name the certificate may carry (dns:NAME); repeatable.
        #[arg(long = "san")]
        sans: Vec<String>,
        /// Lifetime, e.g. 60m, 2h (default: challenges.default_ttl).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<Duration>,
    },
    /// Mint a signed challenge for a `challenge = "signed"` endpoint from the MDM's private
    /// key, as an MDM does, and print it on stdout. Needs no data directory.
    MintSigned(MintSignedArgs),
}

pub async fn run(command: ChallengeCommand) -> Result<(), ChallengeCommandError> {
    match command {
        ChallengeCommand::Issue {
            data_dir,
            template,
            subject,
            sans,
            ttl,
        } => {
            let secret = issue(
                &data_dir,
                IssueRequest {
                    template,
                    subject,
                    sans,
                    ttl,
                },
            )
            .await?;
            println!("{secret}");
            Ok(())
        }
        ChallengeCommand::MintSigned(args) => {
            let challenge = mint_signed(args, crate::clock::unix_now())?;
            println!("{}", challenge.as_str());
            Ok(())
        }
    }
}

/// `scepd challenge issue`: the challenge to print.
pub async fn issue(dir: &Path, request: IssueRequest) -> Result<String, ChallengeCommandError> {
    let config = Config::load(dir)?;
    let store = config.open_store(dir).await?;
    let issued = issue_challenge(
        &store,
        &config,
        request,
        &crate::audit_trail::cli_actor(),
        crate::clock::unix_now(),
    )
    .await
    .map_err(ChallengeCommandError::Issue)?;
    Ok(issued.secret.to_string())
}

/// What the command line puts before the error: the flag that was wrong.
fn flag(error: &ChallengeIssueError) -> &'static str {
    use ChallengeIssueError as E;
    match error {
        E::UnknownTemplate { .. } => "--template: ",
        E::SanNotAllowed { .. } | E::SanInvalid { .. } => "--san: ",
        E::BindingInvalid(_) => "--subject/--san: ",
        E::Ttl { .. } => "--ttl: ",
        E::QuotaExceeded { .. } | E::Random(_) | E::Templates(_) | E::Store(_) | E::Audit(_) => {
            "challenge not issued: "
        }
    }
}
