//! `scepd init`: the key ceremony from the command line (the ceremony itself is
//! [`crate::ceremony::init`], or [`crate::ceremony::ra_init`] for the RA of a split
//! deployment).

use std::path::PathBuf;

use clap::Args;
use keys::keystore;

use super::report::print_fingerprints;
use crate::ceremony::error::CeremonyError;
use crate::ceremony::{init, ra_init};
use config::deployment::Mode;

/// Why `scepd init` failed: an argument missing for the chosen mode, or the ceremony.
#[derive(Debug, thiserror::Error)]
pub enum InitCommandError {
    #[error("--import-ca-cert needs --import-ca-key FILE or --import-ca-key-label LABEL")]
    ImportKeyMissing,
    #[error("--mode ra needs --registration-code or SCEPD_REGISTRATION_CODE")]
    RegistrationCodeMissing,
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    /// The RA side of a split deployment ([`ra_init::run`]).
    #[error(transparent)]
    RaInit(#[from] ra_init::RaInitError),
}

#[derive(Args)]
pub struct InitArgs {
    #[arg(long, env = "SCEPD_DATA_DIR")]
    data_dir: PathBuf,
    /// Subject of a new CA, e.g. "CN=Example SCEP CA,O=Example".
    #[arg(long, default_value = init::DEVELOPMENT_CA_SUBJECT)]
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
    /// EKU constraint in a new CA certificate: clientAuth (devices), Certificate Request
    /// Agent and emailProtection (the RA's enrollment agent and reply signer) only.
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
    mode: Mode,
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
}

pub async fn run(args: InitArgs) -> Result<(), InitCommandError> {
    let InitArgs {
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
    } = args;
    let protection = match (hsm_module, hsm_token) {
        (Some(module), Some(token)) => init::KeyProtection::Hsm {
            module,
            token,
            pin_file: hsm_pin_file,
        },
        _ if passphrase_file.is_some() || std::env::var_os(keystore::PASSPHRASE_ENV).is_some() => {
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
                _ => return Err(InitCommandError::ImportKeyMissing),
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
    let report = if mode == Mode::Ra {
        let options = ra_init::RaInitOptions {
            protection,
            ca_url: ca_url.unwrap_or_default(),
            registration_url: ca_registration_url.unwrap_or_default(),
            ca_fingerprint: ca_fingerprint.unwrap_or_default(),
            registration_code: zeroize::Zeroizing::new(
                registration_code.ok_or(InitCommandError::RegistrationCodeMissing)?,
            ),
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
    print_fingerprints(&report.fingerprints);
    if unencrypted {
        eprintln!(
            "scepd: the keys are UNENCRYPTED (development default); use --passphrase-file or an HSM for production"
        );
    }
    Ok(())
}
