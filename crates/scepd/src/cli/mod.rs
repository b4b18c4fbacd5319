//! The command line (DESIGN.md, "Command-line contract"): one module per subcommand, each
//! with its arguments and what it prints. The work is done below, by the ceremonies and the
//! services.

pub mod audit;
pub mod ca;
pub mod cert;
pub mod challenge;
pub mod doctor;
pub mod init;
pub mod ra;
pub mod report;
pub mod request;
pub mod serve;
pub mod user;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "scepd",
    version,
    about = "SCEP enrollment service (RA + CA) with NDES's security practices on by default"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once per process: the size of the largest variant (init's options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// The key ceremony: make (or import) the CA and the RA keys and certificates, write
    /// scepd.toml and the database, and print the SHA-256 fingerprints to pin.
    ///
    /// Keys are encrypted with a passphrase (--passphrase-file or SCEPD_KEY_PASSPHRASE) or
    /// made inside an HSM (--hsm-module, --hsm-token, PIN from --hsm-pin-file or
    /// SCEPD_PKCS11_PIN); with neither, they are written unencrypted as the development
    /// default, and scepd says so at every start.
    Init(init::InitArgs),
    /// Serve SCEP. An empty or missing data directory is initialised first.
    Serve(serve::ServeArgs),
    /// Without a subcommand: serve the RA of a split deployment (SCEP and challenge
    /// administration; statements go to the remote CA). Subcommands: RA key management.
    #[command(args_conflicts_with_subcommands = true)]
    Ra(ra::RaArgs),
    /// Without a subcommand: serve the CA of a split deployment (statements from registered
    /// RAs over mutual TLS, RA registration). Subcommands: CA key management, RA registry.
    #[command(args_conflicts_with_subcommands = true)]
    Ca(ca::CaArgs),
    /// Requests held for approval: list, approve, deny.
    Request {
        #[command(subcommand)]
        command: request::RequestCommand,
    },
    /// Issued certificates: list, show, revoke.
    Cert {
        #[command(subcommand)]
        command: cert::CertCommand,
    },
    /// The hash-chained audit log: verify it, export it.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Check a data directory against scepd's security practices (exit 1 on any FAIL).
    Doctor(doctor::DoctorArgs),
    /// Challenge passwords: one-time ones (issue, list) and signed ones an MDM mints (mint-signed).
    Challenge {
        #[command(subcommand)]
        command: challenge::ChallengeCommand,
    },
    /// Administrator accounts: add, list, disable, enable, grant, token, bind-cert, passwd.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
}

/// Why a subcommand failed: its own error, whose message is what the binary prints.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Init(#[from] init::InitCommandError),
    #[error(transparent)]
    Serve(#[from] serve::ServeCommandError),
    #[error(transparent)]
    Ra(#[from] ra::RaCommandError),
    #[error(transparent)]
    Ca(#[from] ca::CaCommandError),
    #[error(transparent)]
    Request(#[from] request::RequestCommandError),
    #[error(transparent)]
    Cert(#[from] cert::CertCommandError),
    #[error(transparent)]
    Audit(#[from] audit::AuditCommandError),
    #[error(transparent)]
    Doctor(#[from] doctor::ChecksFailed),
    #[error(transparent)]
    Challenge(#[from] challenge::ChallengeCommandError),
    #[error(transparent)]
    User(#[from] user::UserCommandError),
}

/// Runs one subcommand.
pub async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(args) => init::run(args).await?,
        Command::Serve(args) => serve::run(args).await?,
        Command::Ra(args) => ra::run(args).await?,
        Command::Ca(args) => ca::run(args).await?,
        Command::Request { command } => request::run(command).await?,
        Command::Cert { command } => cert::run(command).await?,
        Command::Audit { command } => audit::run(command).await?,
        Command::Doctor(args) => doctor::command(args).await?,
        Command::Challenge { command } => challenge::run(command).await?,
        Command::User { command } => user::run(command).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::services::ca_service::CaServiceError;
    use crate::services::ra_service::RaServiceError;
    use config::deployment::Mode;

    /// The messages are the ones the commands printed when their errors were strings, and
    /// `CliError` adds nothing to them.
    #[test]
    fn messages_are_unchanged() {
        let dir = Path::new("/data/ra");
        let cases: Vec<(CliError, String)> = vec![
            (
                ra::RaCommandError::Service(RaServiceError::WrongMode {
                    dir: dir.to_owned(),
                    mode: Mode::AllInOne,
                })
                .into(),
                format!(
                    "{} is prepared for {}, not scepd ra (deployment.mode)",
                    dir.display(),
                    Mode::AllInOne.command()
                ),
            ),
            (
                ra::RaCommandError::Service(RaServiceError::NotCertified { what: "RA signing" })
                    .into(),
                "the RA signing certificate does not certify the RA signing key".into(),
            ),
            (
                ra::RaCommandError::NoDataDir.into(),
                "scepd ra needs --data-dir (or SCEPD_DATA_DIR)".into(),
            ),
            (
                ca::CaCommandError::Service(CaServiceError::Keys(
                    keys::keystore::KeystoreError::TokenKey {
                        label: "scepd-ca".into(),
                        role: keys::KeyRole::CaSigning,
                        source: keys::KeyError::Backend("gone".into()),
                    },
                ))
                .into(),
                format!(
                    "PKCS#11 key {:?} ({}): {}",
                    "scepd-ca",
                    keys::KeyRole::CaSigning,
                    keys::KeyError::Backend("gone".into())
                ),
            ),
            (
                ca::CaCommandError::UnknownTemplate("vpn".into()).into(),
                format!(
                    "--templates: template {:?} is not configured on this CA",
                    "vpn"
                ),
            ),
            (
                ca::CaCommandError::NoActiveRa("edge-1".into()).into(),
                format!("no active RA named {:?}", "edge-1"),
            ),
            (
                cert::CertCommandError::NoSuchCertificate("0A".into()).into(),
                "no certificate with serial 0A".into(),
            ),
            (
                doctor::ChecksFailed { failures: 2 }.into(),
                "doctor: 2 check(s) failed".into(),
            ),
            (
                init::InitCommandError::RaInit(crate::ceremony::ra_init::RaInitError::NotPinned)
                    .into(),
                "the CA sent a CA certificate that is not the pinned one".into(),
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
