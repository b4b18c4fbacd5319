//! scepd: a SCEP (RFC 8894) registration authority and CA that does the job of Microsoft NDES,
//! with its security practices on by default. This binary is wiring only: configuration,
//! command line, HTTP.
#![forbid(unsafe_code)]

mod challenge_cmd;
mod config;
mod doctor;
mod http;
mod in_process_ca;
mod init;
mod io_context;
mod pem;
mod query;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "scepd",
    version,
    about = "SCEP enrollment service (RA + CA) with NDES's security practices on by default"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: scepd.toml, SQLite database, CA and RA keys and certificates.
    Init {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Common name of the development CA.
        #[arg(long, default_value = "scepd development CA")]
        ca_name: String,
        /// CA certificate lifetime in days.
        #[arg(long, default_value_t = 3650)]
        ca_validity_days: u32,
        /// RSA modulus size of the CA key: 2048, 3072 or 4096.
        #[arg(long, default_value_t = 3072)]
        ca_rsa_bits: usize,
    },
    /// Serve SCEP. An empty or missing data directory is initialised first.
    Serve {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Address for SCEP (overrides scep.listen in scepd.toml).
        #[arg(long)]
        scep_listen: Option<SocketAddr>,
        /// Address for the admin API (not available in this version).
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
    },
    /// Check a data directory against scepd's security practices (exit 1 on any FAIL).
    Doctor {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// One-time challenge passwords.
    Challenge {
        #[command(subcommand)]
        command: ChallengeCommand,
    },
}

#[derive(Subcommand)]
enum ChallengeCommand {
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
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCEPD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scepd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scepd: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Init {
            data_dir,
            ca_name,
            ca_validity_days,
            ca_rsa_bits,
        } => {
            let options = init::InitOptions {
                ca_common_name: ca_name,
                ca_validity_days,
                ca_rsa_bits,
                ..init::InitOptions::default()
            };
            init::run(&data_dir, &options).await?;
            println!("initialised {}", data_dir.display());
            Ok(())
        }
        Command::Serve {
            data_dir,
            scep_listen,
            admin_listen,
        } => {
            if admin_listen.is_some() {
                return Err(
                    "--admin-listen: the admin API is not available in this version".into(),
                );
            }
            if init::is_uninitialised(&data_dir) {
                eprintln!(
                    "scepd: {} is empty: creating the embedded default (development CA, RA certificates, SQLite)",
                    data_dir.display()
                );
                init::run(&data_dir, &init::InitOptions::default()).await?;
            }
            serve::run(&data_dir, scep_listen).await
        }
        Command::Doctor { data_dir } => {
            let findings = doctor::run(&data_dir, http::unix_now()).await;
            for f in &findings {
                println!("{:4}  {}", f.severity, f.message);
            }
            let failures = findings
                .iter()
                .filter(|f| f.severity == doctor::Severity::Fail)
                .count();
            if failures > 0 {
                return Err(format!("doctor: {failures} check(s) failed"));
            }
            Ok(())
        }
        Command::Challenge {
            command:
                ChallengeCommand::Issue {
                    data_dir,
                    template,
                    subject,
                    sans,
                    ttl,
                },
        } => {
            let secret = challenge_cmd::issue(
                &data_dir,
                challenge_cmd::IssueRequest {
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
    }
}
