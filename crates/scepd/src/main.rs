//! scepd: a SCEP (RFC 8894) registration authority and CA that does the job of Microsoft NDES,
//! with its security practices on by default. This binary is wiring only: configuration,
//! command line, HTTP.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use scepd::ceremony::{init, ra_init, rollover};
use scepd::config::deployment;
use scepd::services::{challenges, serve, split};
use scepd::{cli, clock, keystore};

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

// Parsed once per process: the size of the largest variant (init's options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// The key ceremony: make (or import) the CA and the RA keys and certificates, write
    /// scepd.toml and the database, and print the SHA-256 fingerprints to pin.
    ///
    /// Keys are encrypted with a passphrase (--passphrase-file or SCEPD_KEY_PASSPHRASE) or
    /// made inside an HSM (--hsm-module, --hsm-token, PIN from --hsm-pin-file or
    /// SCEPD_PKCS11_PIN); with neither, they are written unencrypted as the development
    /// default, and scepd says so at every start.
    Init {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Subject of a new CA, e.g. "CN=Example SCEP CA,O=Example".
        #[arg(long, default_value = "CN=scepd development CA")]
        ca_subject: String,
        /// Key of a new CA.
        #[arg(long, value_enum, default_value = "rsa-3072")]
        ca_key: init::CaKeyType,
        /// CA certificate lifetime in days.
        #[arg(long, default_value_t = 3650)]
        ca_validity_days: u32,
        /// Name constraint of a new CA: only names in this DNS domain (repeatable).
        #[arg(long = "ca-permit-dns")]
        ca_permitted_dns: Vec<String>,
        /// EKU constraint in a new CA certificate: clientAuth (devices) and Certificate
        /// Request Agent (the RA) only.
        #[arg(long)]
        ca_eku_constraint: bool,
        /// RA certificate lifetime in days.
        #[arg(long, default_value_t = 730)]
        ra_validity_days: u32,
        /// File with the passphrase that encrypts the key files (mode 0600).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// PKCS#11 module of the HSM holding the keys.
        #[arg(long, requires = "hsm_token")]
        hsm_module: Option<PathBuf>,
        /// Label of the token in the HSM.
        #[arg(long, requires = "hsm_module")]
        hsm_token: Option<String>,
        /// File with the token's user PIN (mode 0600); else SCEPD_PKCS11_PIN.
        #[arg(long, requires = "hsm_module")]
        hsm_pin_file: Option<PathBuf>,
        /// Import an existing CA certificate (PEM or DER) instead of making a CA.
        #[arg(long, conflicts_with_all = ["ca_permitted_dns", "ca_eku_constraint"])]
        import_ca_cert: Option<PathBuf>,
        /// The imported CA's key file (PKCS#8).
        #[arg(
            long,
            requires = "import_ca_cert",
            conflicts_with = "import_ca_key_label"
        )]
        import_ca_key: Option<PathBuf>,
        /// The imported CA's key label in the HSM.
        #[arg(long, requires = "import_ca_cert")]
        import_ca_key_label: Option<String>,
        /// The issuers above the imported CA, PEM bundle, nearest first.
        #[arg(long, requires = "import_ca_cert")]
        import_ca_chain: Option<PathBuf>,
        /// all-in-one (scepd serve), or one side of a split deployment: ca (scepd ca: the CA
        /// key only) or ra (scepd ra: the RA keys only, registered at the CA with a code).
        #[arg(long, value_enum, default_value = "all-in-one")]
        mode: deployment::Mode,
        /// Mode ca: a DNS name or IP address RAs use to reach the CA service (repeatable;
        /// default localhost and 127.0.0.1).
        #[arg(long = "ca-tls-name")]
        ca_tls_names: Vec<String>,
        /// Mode ra: the CA service's statement listener, https://HOST:PORT.
        #[arg(long, required_if_eq("mode", "ra"))]
        ca_url: Option<String>,
        /// Mode ra: the CA service's registration listener, https://HOST:PORT.
        #[arg(long, required_if_eq("mode", "ra"))]
        ca_registration_url: Option<String>,
        /// Mode ra: the SHA-256 fingerprint of the CA certificate (printed by init --mode ca).
        #[arg(long, required_if_eq("mode", "ra"))]
        ca_fingerprint: Option<String>,
        /// Mode ra: the one-time code of `scepd ca register-ra` (better from the environment).
        #[arg(long, env = "SCEPD_REGISTRATION_CODE", hide_env_values = true)]
        registration_code: Option<String>,
    },
    /// Serve SCEP. An empty or missing data directory is initialised first.
    Serve {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Address for SCEP (overrides scep.listen in scepd.toml).
        #[arg(long)]
        scep_listen: Option<SocketAddr>,
        /// Address for the admin listener: mscep_admin page, JSON API, /metrics, over TLS
        /// (overrides admin.listen in scepd.toml).
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
    },
    /// Without a subcommand: serve the RA of a split deployment (SCEP and challenge
    /// administration; statements go to the remote CA). Subcommands: RA key management.
    #[command(args_conflicts_with_subcommands = true)]
    Ra {
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
    },
    /// Without a subcommand: serve the CA of a split deployment (statements from registered
    /// RAs over mutual TLS, RA registration). Subcommands: CA key management, RA registry.
    #[command(args_conflicts_with_subcommands = true)]
    Ca {
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
    },
    /// Requests held for approval: list, approve, deny.
    Request {
        #[command(subcommand)]
        command: RequestCommand,
    },
    /// Issued certificates: list, show, revoke.
    Cert {
        #[command(subcommand)]
        command: CertCommand,
    },
    /// The hash-chained audit log: verify it, export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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
    /// Administrator accounts: add, list, disable, enable, grant, token, bind-cert, passwd.
    User {
        #[command(subcommand)]
        command: cli::user::UserCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
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

#[derive(Subcommand)]
enum RequestCommand {
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

#[derive(Subcommand)]
enum CertCommand {
    /// List issued certificates (serial order).
    List {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Only certificates of this template.
        #[arg(long)]
        template: Option<String>,
        /// Only revoked certificates.
        #[arg(long, conflicts_with = "valid")]
        revoked: bool,
        /// Only certificates that are not revoked.
        #[arg(long)]
        valid: bool,
        /// Only certificates whose SUCCESS reply was never delivered (RFC 8894 §8.4).
        #[arg(long)]
        uncollected: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one certificate, with its PEM.
    Show {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Serial number, hex.
        serial: String,
    },
    /// Revoke a certificate (committed before this command returns).
    Revoke {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// Serial number, hex.
        serial: String,
        /// RFC 5280 reason: unspecified, keyCompromise, caCompromise, affiliationChanged,
        /// superseded, cessationOfOperation, privilegeWithdrawn.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum RaCommand {
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

#[derive(Subcommand)]
enum CaCommand {
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

/// The SHA-256 fingerprints devices and MDMs pin (never MD5, unlike NDES's policy module).
fn print_fingerprints(report: &init::InitReport) {
    println!("SHA-256 fingerprints to pin:");
    for (what, fingerprint, subject) in &report.fingerprints {
        println!("  {what:<19} {fingerprint}  {subject}");
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::User { command } => cli::user::run(command).await,
        Command::Init {
            data_dir,
            ca_subject,
            ca_key,
            ca_validity_days,
            ca_permitted_dns,
            ca_eku_constraint,
            ra_validity_days,
            passphrase_file,
            hsm_module,
            hsm_token,
            hsm_pin_file,
            import_ca_cert,
            import_ca_key,
            import_ca_key_label,
            import_ca_chain,
            mode,
            ca_tls_names,
            ca_url,
            ca_registration_url,
            ca_fingerprint,
            registration_code,
        } => {
            let protection = match (hsm_module, hsm_token) {
                (Some(module), Some(token)) => init::KeyProtection::Hsm {
                    module,
                    token,
                    pin_file: hsm_pin_file,
                },
                _ if passphrase_file.is_some()
                    || std::env::var_os(keystore::PASSPHRASE_ENV).is_some() =>
                {
                    init::KeyProtection::Passphrase {
                        file: passphrase_file,
                    }
                }
                _ => init::KeyProtection::Unencrypted,
            };
            let ca = match import_ca_cert {
                Some(certificate) => init::CaSource::Import {
                    certificate,
                    key: match (import_ca_key, import_ca_key_label) {
                        (Some(file), None) => init::ImportedKey::File(file),
                        (None, Some(label)) => init::ImportedKey::Label(label),
                        _ => {
                            return Err("--import-ca-cert needs --import-ca-key FILE or --import-ca-key-label LABEL".into());
                        }
                    },
                    chain: import_ca_chain,
                },
                None => init::CaSource::Generate {
                    subject: ca_subject,
                    key: ca_key,
                    validity_days: ca_validity_days,
                    permitted_dns: ca_permitted_dns,
                    eku_constraint: ca_eku_constraint,
                },
            };
            let unencrypted = matches!(protection, init::KeyProtection::Unencrypted);
            let report = if mode == deployment::Mode::Ra {
                let options =
                    ra_init::RaInitOptions {
                        protection,
                        ca_url: ca_url.unwrap_or_default(),
                        registration_url: ca_registration_url.unwrap_or_default(),
                        ca_fingerprint: ca_fingerprint.unwrap_or_default(),
                        registration_code: zeroize::Zeroizing::new(registration_code.ok_or(
                            "--mode ra needs --registration-code or SCEPD_REGISTRATION_CODE",
                        )?),
                    };
                ra_init::run(&data_dir, &options).await?
            } else {
                init::run(
                    &data_dir,
                    &init::InitOptions {
                        ca,
                        protection,
                        ra_validity_days,
                        mode,
                        ca_tls_names,
                    },
                )
                .await?
            };
            println!("initialised {}", data_dir.display());
            print_fingerprints(&report);
            if unencrypted {
                eprintln!(
                    "scepd: the keys are UNENCRYPTED (development default); use --passphrase-file or an HSM for production"
                );
            }
            Ok(())
        }
        Command::Serve {
            data_dir,
            scep_listen,
            admin_listen,
        } => {
            if init::is_uninitialised(&data_dir) {
                eprintln!(
                    "scepd: {} is empty: creating the embedded default (development CA, RA certificates, SQLite)",
                    data_dir.display()
                );
                let report = init::run(&data_dir, &init::InitOptions::default()).await?;
                print_fingerprints(&report);
            }
            serve::run(&data_dir, scep_listen, admin_listen).await
        }
        Command::Ra {
            command: None,
            data_dir,
            scep_listen,
            admin_listen,
        } => {
            let data_dir = data_dir
                .or_else(|| std::env::var_os("SCEPD_DATA_DIR").map(PathBuf::from))
                .ok_or("scepd ra needs --data-dir (or SCEPD_DATA_DIR)")?;
            split::ra_service::run(&data_dir, scep_listen, admin_listen).await
        }
        Command::Ca {
            command: None,
            data_dir,
            listen,
            registration_listen,
        } => {
            let data_dir = data_dir
                .or_else(|| std::env::var_os("SCEPD_DATA_DIR").map(PathBuf::from))
                .ok_or("scepd ca needs --data-dir (or SCEPD_DATA_DIR)")?;
            split::ca_service::run(&data_dir, listen, registration_listen).await
        }
        Command::Ca {
            command:
                Some(CaCommand::RegisterRa {
                    data_dir,
                    name,
                    templates,
                }),
            ..
        } => {
            let (code, expires) =
                cli::ca::register(&data_dir, &name, &templates, clock::unix_now()).await?;
            eprintln!(
                "scepd: RA {name:?} may register once, before {expires} (Unix time), with this code; it is shown only now:"
            );
            println!("{}", code.as_str());
            Ok(())
        }
        Command::Ca {
            command: Some(CaCommand::ListRa { data_dir }),
            ..
        } => {
            print!("{}", cli::ca::list(&data_dir).await?);
            Ok(())
        }
        Command::Ca {
            command: Some(CaCommand::RevokeRa { data_dir, name }),
            ..
        } => {
            cli::ca::revoke(&data_dir, &name, clock::unix_now()).await?;
            println!("RA {name:?} revoked");
            Ok(())
        }
        Command::Ra {
            command:
                Some(RaCommand::Renew {
                    data_dir,
                    validity_days,
                }),
            ..
        } => {
            let fingerprints = rollover::renew_ra(&data_dir, validity_days).await?;
            println!(
                "RA renewed in {}; restart serve to use the new certificates",
                data_dir.display()
            );
            print_fingerprints(&init::InitReport { fingerprints });
            Ok(())
        }
        Command::Ca {
            command:
                Some(CaCommand::Rollover {
                    data_dir,
                    activate,
                    ca_key,
                    ca_validity_days,
                    ra_validity_days,
                }),
            ..
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
                print_fingerprints(&init::InitReport { fingerprints });
            }
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { data_dir },
        } => {
            print!("{}", cli::audit::verify(&data_dir).await?);
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Export { data_dir, output },
        } => {
            let count = match output {
                Some(path) => {
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path)
                        .map_err(|e| format!("--output {}: {e}", path.display()))?;
                    cli::audit::export(&data_dir, &mut file).await?
                }
                None => cli::audit::export(&data_dir, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("scepd: exported {count} audit entries");
            Ok(())
        }
        Command::Request { command } => {
            let now = clock::unix_now();
            let output = match command {
                RequestCommand::List { data_dir } => cli::request::list(&data_dir).await?,
                RequestCommand::Approve { data_dir, id } => {
                    cli::request::approve(&data_dir, id, now).await?
                }
                RequestCommand::Deny {
                    data_dir,
                    id,
                    reason,
                } => cli::request::deny(&data_dir, id, &reason, now).await?,
            };
            print!("{output}");
            Ok(())
        }
        Command::Cert { command } => {
            let now = clock::unix_now();
            let output = match command {
                CertCommand::List {
                    data_dir,
                    template,
                    revoked,
                    valid,
                    uncollected,
                    limit,
                } => {
                    let revoked = if revoked {
                        Some(true)
                    } else if valid {
                        Some(false)
                    } else {
                        None
                    };
                    let options = cli::cert::ListOptions {
                        template,
                        revoked,
                        uncollected,
                        limit,
                    };
                    cli::cert::list(&data_dir, options, now).await?
                }
                CertCommand::Show { data_dir, serial } => {
                    cli::cert::show(&data_dir, &serial, now).await?
                }
                CertCommand::Revoke {
                    data_dir,
                    serial,
                    reason,
                } => cli::cert::revoke(&data_dir, &serial, &reason, now).await?,
            };
            print!("{output}");
            Ok(())
        }
        Command::Doctor { data_dir } => {
            let findings = cli::doctor::run(&data_dir, clock::unix_now()).await;
            for f in &findings {
                println!("{:4}  {}", f.severity, f.message);
            }
            let failures = findings
                .iter()
                .filter(|f| f.severity == cli::doctor::Severity::Fail)
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
            let secret = challenges::issue(
                &data_dir,
                challenges::IssueRequest {
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
