//! `scepd cert list|show|revoke`: the certificates the CA issued, and revocation (which SCEP
//! itself lacks). A revocation is durably committed, with its audit entry, before the command
//! reports success; `serve` publishes the next CRL within its regeneration interval.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::services::ra_service::RaServiceError;
use crate::timefmt::rfc3339;
use config::{ConfigError, open_store};

#[derive(Subcommand)]
pub enum CertCommand {
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

/// Why a `scepd cert` command failed; each message names the certificate at fault.
#[derive(Debug, thiserror::Error)]
pub enum CertCommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("listing certificates: {0}")]
    List(#[source] store::StoreError),
    #[error("reading certificate {serial}: {source}")]
    Read {
        serial: String,
        source: store::StoreError,
    },
    #[error("no certificate with serial {0}")]
    NoSuchCertificate(String),
    /// Encoding the certificate as PEM.
    #[error(transparent)]
    Pem(der::pem::Error),
    /// On the RA of a split deployment: the link to the CA, which revokes.
    #[error(transparent)]
    RemoteRevocation(#[from] RaServiceError),
    /// The revocation service (on the RA, the CA's answer) refused or failed.
    #[error("revoking {serial}: {source}")]
    Revoke {
        serial: String,
        source: crate::services::revocation::RevokeError,
    },
    /// The store refused or failed to record the revocation.
    #[error("revoking {serial}: {source}")]
    RevokeHere {
        serial: String,
        source: store::StoreError,
    },
}

pub async fn run(command: CertCommand) -> Result<(), CertCommandError> {
    let now = crate::clock::unix_now();
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
            let options = ListOptions {
                template,
                revoked,
                uncollected,
                limit,
            };
            list(&data_dir, options, now).await?
        }
        CertCommand::Show { data_dir, serial } => show(&data_dir, &serial, now).await?,
        CertCommand::Revoke {
            data_dir,
            serial,
            reason,
        } => revoke(&data_dir, &serial, &reason, now).await?,
    };
    print!("{output}");
    Ok(())
}

fn status(entry: &store::CertificateEntry, now: i64) -> String {
    match &entry.revocation {
        Some(r) => format!("revoked ({}) {}", r.reason.as_str(), rfc3339(r.revoked_at)),
        None if entry.certificate.not_after <= now => "expired".into(),
        None => "valid".into(),
    }
}

pub struct ListOptions {
    pub template: Option<String>,
    pub revoked: Option<bool>,
    pub uncollected: bool,
    pub limit: u32,
}

pub async fn list(dir: &Path, options: ListOptions, now: i64) -> Result<String, CertCommandError> {
    let store = open_store(dir).await?;
    let filter = store::CertificateFilter {
        template: options.template,
        revoked: options.revoked,
        uncollected: options.uncollected.then_some(true),
        limit: options.limit,
        ..store::CertificateFilter::default()
    };
    let entries = store
        .list_certificates(&filter)
        .await
        .map_err(CertCommandError::List)?;
    let mut out = format!(
        "{:<34} {:<10} {:<21} {:<22} {}\n",
        "SERIAL", "TEMPLATE", "NOT AFTER", "DELIVERED", "STATUS / SUBJECT"
    );
    for entry in &entries {
        let c = &entry.certificate;
        out.push_str(&format!(
            "{:<34} {:<10} {:<21} {:<22} {}  {}\n",
            c.serial_hex,
            c.template,
            rfc3339(c.not_after),
            entry
                .delivered_at
                .map_or_else(|| "never".to_owned(), rfc3339),
            status(entry, now),
            c.subject
        ));
    }
    out.push_str(&format!("{} certificate(s)\n", entries.len()));
    Ok(out)
}

pub async fn show(dir: &Path, serial: &str, now: i64) -> Result<String, CertCommandError> {
    let store = open_store(dir).await?;
    let entry = store
        .certificate_entry(serial)
        .await
        .map_err(|source| CertCommandError::Read {
            serial: serial.to_owned(),
            source,
        })?
        .ok_or_else(|| CertCommandError::NoSuchCertificate(serial.to_owned()))?;
    let c = &entry.certificate;
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &c.certificate_der)
        .map_err(CertCommandError::Pem)?;
    Ok(format!(
        "serial:       {}\nsubject:      {}\ntemplate:     {}\nnot before:   {}\nnot after:    {}\nissued:       {}\ntransaction:  {}\ndelivered:    {}\nstatus:       {}\nSHA-256:      {}\n{pem}",
        c.serial_hex,
        c.subject,
        c.template,
        rfc3339(c.not_before),
        rfc3339(c.not_after),
        rfc3339(c.issued_at),
        c.transaction_id,
        entry
            .delivered_at
            .map_or_else(|| "never".to_owned(), rfc3339),
        status(&entry, now),
        ca::fingerprint_sha256(&c.certificate_der),
    ))
}

/// On the RA of a split deployment the revocation goes to the CA, which is the authority for
/// revocation status, and is recorded here once the CA has committed it.
pub async fn revoke(
    dir: &Path,
    serial: &str,
    reason: &str,
    now: i64,
) -> Result<String, CertCommandError> {
    let store = open_store(dir).await?;
    let config = config::Config::load(dir)?;
    let actor = crate::audit_trail::cli_actor();
    let record = if config.deployment.mode == config::deployment::Mode::Ra {
        let revocation =
            crate::services::ra_service::remote_revocation(dir, &config, store.clone()).await?;
        revocation
            .revoke(serial, reason, now, &actor)
            .await
            .map_err(|source| CertCommandError::Revoke {
                serial: serial.to_owned(),
                source,
            })?
    } else {
        store
            .revoke(serial, reason, now, &actor)
            .await
            .map_err(|source| CertCommandError::RevokeHere {
                serial: serial.to_owned(),
                source,
            })?
    };
    Ok(format!(
        "revoked {} ({}) at {}; the next CRL and OCSP answers include it\n",
        record.serial_hex,
        record.reason.as_str(),
        rfc3339(record.revoked_at)
    ))
}
