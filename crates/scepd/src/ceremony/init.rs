//! `scepd init`: the key ceremony. Makes (or imports) the CA, makes the RA's enrollment-agent
//! and CEP-encryption keys and certificates, in software (encrypted at rest, or in clear only
//! for the embedded development default) or inside a PKCS#11 token, writes `scepd.toml` with
//! every setting, creates the database, records the ceremony in the audit log and reports the
//! SHA-256 fingerprints devices and MDMs pin.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keys::KeyRole;
use keys::io_context::Context;
use keys::keymaker::Keymaker;
use keys::keystore::{self, PASSPHRASE_ENV};
use keys::pem;
use keys::software::SoftwareKey;

use crate::ceremony::error::CeremonyError;
use crate::x509::subject_of;
use config::{CONFIG_FILE, Config, DEFAULT_CONFIG_TEXT};

/// extendedKeyUsage values the optional EKU constraint of the CA certificate allows: what
/// devices get (clientAuth) and what the RA needs (Certificate Request Agent for the
/// enrollment agent, emailProtection for the reply signer: OpenSSL's S/MIME purpose refuses
/// a CertRep whose CA has an EKU constraint without it).
const CA_EKU_CONSTRAINT: [&str; 3] = [
    policy::oid::EKU_CLIENT_AUTH,
    policy::oid::EKU_CERTIFICATE_REQUEST_AGENT,
    policy::oid::EKU_EMAIL_PROTECTION,
];

/// The subject of the CA the embedded development default makes (`scepd serve` on an empty
/// directory, `scepd init` without `--ca-subject`): `scepd doctor` tolerates unencrypted keys
/// only under this CA.
pub const DEVELOPMENT_CA_SUBJECT: &str = "CN=scepd development CA";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CaKeyType {
    /// Allowed for throughput (an RSA-2048 signature costs less than half of an RSA-3072
    /// one; issue 7's benchmark configuration); `scepd doctor` warns about it.
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
    #[value(name = "rsa-4096")]
    Rsa4096,
    #[value(name = "p-256")]
    P256,
    #[value(name = "p-384")]
    P384,
}

/// Where the keys are made and kept.
#[derive(Debug, Clone)]
pub enum KeyProtection {
    /// Unencrypted PKCS#8 files: the embedded development default only.
    Unencrypted,
    /// PKCS#8 encrypted with a passphrase from this file, or from `SCEPD_KEY_PASSPHRASE`.
    Passphrase { file: Option<PathBuf> },
    /// Inside a PKCS#11 token; the PIN from this file or from `SCEPD_PKCS11_PIN`.
    Hsm {
        module: PathBuf,
        token: String,
        pin_file: Option<PathBuf>,
    },
}

/// The CA: made here, or an existing one imported.
#[derive(Debug, Clone)]
pub enum CaSource {
    Generate {
        subject: String,
        key: CaKeyType,
        validity_days: u32,
        permitted_dns: Vec<String>,
        eku_constraint: bool,
    },
    Import {
        certificate: PathBuf,
        /// A key file, or (with an HSM) the label of a key already in the token.
        key: ImportedKey,
        chain: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub enum ImportedKey {
    File(PathBuf),
    Label(String),
}

#[derive(Debug, Clone)]
pub struct InitOptions {
    pub ca: CaSource,
    pub protection: KeyProtection,
    pub ra_validity_days: u32,
    /// All-in-one (the RA keys are made here too) or the CA side of a split deployment
    /// (no RA keys: RAs register with `scepd ca register-ra`). The RA side is
    /// [`crate::ceremony::ra_init`].
    pub mode: config::deployment::Mode,
    /// Names (DNS or IP) in the CA service's TLS server certificate, in mode `ca`.
    pub ca_tls_names: Vec<String>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            ca: CaSource::Generate {
                subject: DEVELOPMENT_CA_SUBJECT.into(),
                key: CaKeyType::Rsa3072,
                validity_days: 3650,
                permitted_dns: Vec::new(),
                eku_constraint: false,
            },
            protection: KeyProtection::Unencrypted,
            ra_validity_days: 730,
            mode: config::deployment::Mode::AllInOne,
            ca_tls_names: Vec::new(),
        }
    }
}

/// What the ceremony produced, for the operator to pin.
pub struct InitReport {
    pub fingerprints: Vec<(&'static str, String, String)>,
}

/// Whether `dir` holds nothing yet (absent or empty), so `serve` may initialise it.
pub fn is_uninitialised(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The key maker of a new data directory: software keys (encrypted under the passphrase, in
/// clear only for the embedded development default) or the token `scepd.toml` will name.
pub(crate) fn keymaker(dir: &Path, protection: &KeyProtection) -> Result<Keymaker, CeremonyError> {
    Ok(match protection {
        KeyProtection::Unencrypted => Keymaker::Software { passphrase: None },
        KeyProtection::Passphrase { file } => {
            let passphrase = keys::secret::read_secret(file.as_deref(), PASSPHRASE_ENV)
                .map_err(CeremonyError::Passphrase)?;
            Keymaker::Software {
                passphrase: Some(passphrase),
            }
        }
        KeyProtection::Hsm { .. } => {
            let config = config_text_for(protection, None, None)?;
            let config: Config = toml::from_str(&config).map_err(CeremonyError::TokenConfigText)?;
            Keymaker::Token(keystore::open_token(dir, &config.key_locations())?)
        }
    })
}

/// The CA key of an imported CA, brought under this ceremony's protection.
fn import_ca_key(
    keymaker: &Keymaker,
    dir: &Path,
    key: &ImportedKey,
    file: &Path,
) -> Result<Arc<dyn keys::Signer>, CeremonyError> {
    match (keymaker, key) {
        (Keymaker::Software { passphrase }, ImportedKey::File(source)) => {
            let loaded = match SoftwareKey::load(KeyRole::CaSigning, source) {
                Err(keys::KeyError::PassphraseNeeded { .. }) => match passphrase {
                    Some(p) => {
                        SoftwareKey::load_encrypted(KeyRole::CaSigning, source, p.as_bytes())
                    }
                    None => SoftwareKey::load(KeyRole::CaSigning, source),
                },
                other => other,
            }
            .map_err(|e| CeremonyError::ImportKeyFile {
                path: source.clone(),
                source: e,
            })?;
            keymaker.store_software(dir, &loaded, file)?;
            Ok(Arc::new(loaded))
        }
        (Keymaker::Token(token), ImportedKey::Label(label)) => {
            let key = token
                .load_key(KeyRole::CaSigning, label)
                .map_err(|source| CeremonyError::ImportKeyLabel {
                    label: label.clone(),
                    source,
                })?;
            Ok(Arc::new(key))
        }
        (Keymaker::Software { .. }, ImportedKey::Label(_)) => {
            Err(CeremonyError::ImportLabelWithoutHsm)
        }
        (Keymaker::Token(_), ImportedKey::File(_)) => Err(CeremonyError::ImportFileWithHsm),
    }
}

/// Where the RA keys and their certificates go.
pub(crate) struct RaPaths {
    pub signing_key: PathBuf,
    pub signing_label: String,
    pub signing_certificate: PathBuf,
    /// `None` in a data directory made before the separate enrollment-agent key.
    pub agent: Option<AgentPaths>,
    pub encryption_key: PathBuf,
    pub encryption_label: String,
    pub encryption_certificate: PathBuf,
}

/// Where the enrollment-agent key (a file or a token label, by backend) and its certificate go.
pub(crate) struct AgentPaths {
    pub key: PathBuf,
    pub label: String,
    pub certificate: PathBuf,
}

impl RaPaths {
    /// The configured (current) locations.
    pub(crate) fn current(config: &Config) -> Self {
        let (k, p) = (&config.keys, &config.pkcs11);
        let agent = k
            .ra_agent_certificate
            .as_ref()
            .map(|certificate| AgentPaths {
                key: k.ra_agent_key.clone().unwrap_or_default(),
                label: p.ra_agent_key_label.clone().unwrap_or_default(),
                certificate: certificate.clone(),
            });
        Self {
            signing_key: k.ra_signing_key.clone(),
            signing_label: p.ra_signing_key_label.clone(),
            signing_certificate: k.ra_signing_certificate.clone(),
            agent,
            encryption_key: k.ra_encryption_key.clone(),
            encryption_label: p.ra_encryption_key_label.clone(),
            encryption_certificate: k.ra_encryption_certificate.clone(),
        }
    }
}

/// Where `scepd init` puts the enrollment agent (relative to the data directory).
pub(crate) const DEFAULT_AGENT_KEY: &str = "keys/ra-agent.key";
pub(crate) const DEFAULT_AGENT_CERTIFICATE: &str = "certs/ra-agent.pem";
const DEFAULT_AGENT_LABEL: &str = "scepd-ra-agent";

/// Turns on the separate enrollment-agent key in a configuration text (`scepd init` of an
/// all-in-one or RA data directory): its file or token label, and its certificate.
pub(crate) fn enable_agent(text: &mut String, hsm: bool) -> Result<(), CeremonyError> {
    let key = if hsm {
        format!("ra_agent_key_label = {DEFAULT_AGENT_LABEL:?}")
    } else {
        format!("ra_agent_key = {DEFAULT_AGENT_KEY:?}")
    };
    let certificate = format!("ra_agent_certificate = {DEFAULT_AGENT_CERTIFICATE:?}");
    for line in [key, certificate] {
        let commented = format!("# {line}");
        if !text.contains(&commented) {
            return Err(CeremonyError::NoDefaultLine { commented });
        }
        *text = text.replacen(&commented, &line, 1);
    }
    Ok(())
}

/// Makes the RA's keys (CertRep signing, enrollment agent when configured, CEP encryption)
/// and has `ca_key` certify them; returns their fingerprints. The signing and encryption keys
/// are RSA: SCEP clients encrypt to the RA with RSA key transport and verify RSA replies. The
/// agent's statements are read only by the CA, so it is P-256: an ECDSA signature instead of
/// a fourth RSA private-key operation per enrollment.
pub(crate) fn issue_ra_pair(
    keymaker: &Keymaker,
    dir: &Path,
    paths: &RaPaths,
    ca_key: &dyn keys::Signer,
    ca_certificate: &[u8],
    validity_days: u32,
) -> Result<Vec<(&'static str, String, String)>, CeremonyError> {
    let mut fingerprints = Vec::new();
    let mut keys = vec![(
        KeyRole::RaSigning,
        &paths.signing_key,
        &paths.signing_label,
        &paths.signing_certificate,
        // Without a separate agent (a CA rollover in a data directory made before there was
        // one) the reply signer counter-signs too, and keeps NDES's name for that job.
        if paths.agent.is_some() {
            ca::dev::RaCertPurpose::Signing
        } else {
            ca::dev::RaCertPurpose::SigningAndAgent
        },
        if paths.agent.is_some() {
            "scepd RA signing"
        } else {
            "scepd RA enrollment agent"
        },
        "RA signing",
    )];
    if let Some(agent) = &paths.agent {
        keys.push((
            KeyRole::RaAgent,
            &agent.key,
            &agent.label,
            &agent.certificate,
            ca::dev::RaCertPurpose::Agent,
            "scepd RA enrollment agent",
            "RA enrollment agent",
        ));
    }
    keys.push((
        KeyRole::RaDecryption,
        &paths.encryption_key,
        &paths.encryption_label,
        &paths.encryption_certificate,
        ca::dev::RaCertPurpose::Encryption,
        "scepd RA CEP encryption",
        "RA encryption",
    ));
    for (role, key_path, label, cert_path, purpose, cn, what) in keys {
        let curve = (role == KeyRole::RaAgent).then_some(keys::pkcs11::EcCurve::P256);
        let key = keymaker.make(dir, role, key_path, label, 2048, curve)?;
        let cert = ca::dev::issue_ra_certificate(
            ca_key,
            ca_certificate,
            key.public_key_spki_der(),
            cn,
            purpose,
            validity_days,
        )
        .map_err(|source| CeremonyError::Certify { what, source })?;
        pem::write_certificate(&dir.join(cert_path), &cert)?;
        fingerprints.push((what, ca::fingerprint_sha256(&cert), subject_of(&cert)));
    }
    Ok(fingerprints)
}

/// The configuration file for these choices: the commented defaults with the chosen
/// settings filled in.
pub(crate) fn config_text_for(
    protection: &KeyProtection,
    ca_label: Option<&str>,
    ca_chain: Option<&str>,
) -> Result<String, CeremonyError> {
    let mut text = format!(
        "{DEFAULT_CONFIG_TEXT}{}{}",
        config::deployment::DEFAULT_TEXT,
        config::mdm::DEFAULT_TEXT
    );
    let mut set = |commented: &str, line: String| -> Result<(), CeremonyError> {
        if !text.contains(commented) {
            return Err(CeremonyError::NoDefaultLine {
                commented: commented.to_owned(),
            });
        }
        text = text.replacen(commented, &line, 1);
        Ok(())
    };
    let quoted = |p: &Path| format!("{:?}", p.display().to_string());
    match protection {
        KeyProtection::Unencrypted => {}
        KeyProtection::Passphrase { file } => {
            if let Some(file) = file {
                set(
                    "# passphrase_file = \"/etc/scepd/key-passphrase\"",
                    format!("passphrase_file = {}", quoted(file)),
                )?;
            }
        }
        KeyProtection::Hsm {
            module,
            token,
            pin_file,
        } => {
            set("# backend = \"software\"", "backend = \"pkcs11\"".into())?;
            set(
                "# module = \"/usr/lib/softhsm/libsofthsm2.so\"",
                format!("module = {}", quoted(module)),
            )?;
            set(
                "# token_label = \"scepd\"",
                format!("token_label = {token:?}"),
            )?;
            if let Some(pin_file) = pin_file {
                set(
                    "# pin_file = \"/etc/scepd/pkcs11-pin\"",
                    format!("pin_file = {}", quoted(pin_file)),
                )?;
            }
        }
    }
    if let Some(label) = ca_label {
        set(
            "# ca_key_label = \"scepd-ca-signing\"",
            format!("ca_key_label = {label:?}"),
        )?;
    }
    if let Some(chain) = ca_chain {
        set(
            "# ca_chain = \"certs/ca-chain.pem\"",
            format!("ca_chain = {chain:?}"),
        )?;
    }
    Ok(text)
}

/// Runs the ceremony. Refuses to touch a directory that already holds a configuration, so
/// keys are never overwritten.
pub async fn run(dir: &Path, options: &InitOptions) -> Result<InitReport, CeremonyError> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(CeremonyError::AlreadyInitialised {
            dir: dir.to_owned(),
        });
    }
    create_data_directory(dir)?;

    let ca_label = match &options.ca {
        CaSource::Import {
            key: ImportedKey::Label(label),
            ..
        } => Some(label.as_str()),
        _ => None,
    };
    let ca_chain = match &options.ca {
        CaSource::Import { chain: Some(_), .. } => Some("certs/ca-chain.pem"),
        _ => None,
    };
    let mut config_text = config_text_for(&options.protection, ca_label, ca_chain)?;
    if options.mode == config::deployment::Mode::AllInOne {
        let hsm = matches!(options.protection, KeyProtection::Hsm { .. });
        enable_agent(&mut config_text, hsm)?;
    } else if options.mode == config::deployment::Mode::Ca {
        config_text = crate::ceremony::ca_init::config_text(config_text)?;
    } else if options.mode == config::deployment::Mode::Ra {
        return Err(CeremonyError::RaModeHere);
    }
    let config: Config = toml::from_str(&config_text).map_err(CeremonyError::ConfigText)?;
    let paths = &config.keys;
    let labels = &config.pkcs11;
    let keymaker = keymaker(dir, &options.protection)?;

    let (ca_key, ca_certificate, chain) = match &options.ca {
        CaSource::Generate {
            subject,
            key,
            validity_days,
            permitted_dns,
            eku_constraint,
        } => {
            let (bits, curve) = match key {
                CaKeyType::Rsa2048 => (2048, None),
                CaKeyType::Rsa3072 => (3072, None),
                CaKeyType::Rsa4096 => (4096, None),
                CaKeyType::P256 => (0, Some(keys::pkcs11::EcCurve::P256)),
                CaKeyType::P384 => (0, Some(keys::pkcs11::EcCurve::P384)),
            };
            let signer = keymaker.make(
                dir,
                KeyRole::CaSigning,
                &paths.ca_key,
                &labels.ca_key_label,
                bits,
                curve,
            )?;
            let mut profile = ca::CaProfile::new(subject, *validity_days).map_err(|source| {
                CeremonyError::CaSubject {
                    subject: subject.clone(),
                    source,
                }
            })?;
            for name in permitted_dns {
                let refused = |source| CeremonyError::CaPermitDns {
                    name: name.clone(),
                    source,
                };
                profile = profile.permit_dns(name).map_err(refused)?;
            }
            if *eku_constraint {
                profile = profile
                    .eku_constraint(&CA_EKU_CONSTRAINT)
                    .map_err(CeremonyError::CaProfile)?;
            }
            let certificate = profile
                .self_signed(signer.as_ref())
                .map_err(|source| CeremonyError::Certify { what: "CA", source })?;
            (signer, certificate, Vec::new())
        }
        CaSource::Import {
            certificate,
            key,
            chain,
        } => {
            let signer = import_ca_key(&keymaker, dir, key, &paths.ca_key)?;
            let cert = pem::read_certificate(certificate)?;
            let chain = match chain {
                Some(path) => pem::read_certificates(path)?,
                None => Vec::new(),
            };
            let imported = ca::import::check_ca_with_chain(&cert, &chain, signer.as_ref())
                .map_err(|source| CeremonyError::ImportCaCertificate {
                    path: certificate.clone(),
                    source,
                })?;
            (signer, imported.certificate_der, imported.chain)
        }
    };
    pem::write_certificate(&dir.join(&paths.ca_certificate), &ca_certificate)?;
    if let Some(chain_path) = &paths.ca_chain {
        pem::write_certificates(&dir.join(chain_path), &chain)?;
    }

    let mut fingerprints = vec![(
        "CA",
        ca::fingerprint_sha256(&ca_certificate),
        subject_of(&ca_certificate),
    )];
    if options.mode == config::deployment::Mode::Ca {
        // The CA side holds no RA key: RAs register (scepd ca register-ra).
        fingerprints.push(crate::ceremony::ca_init::make_tls_identity(
            dir,
            &config,
            ca_key.as_ref(),
            &ca_certificate,
            &options.ca_tls_names,
        )?);
    } else {
        let ra_paths = RaPaths::current(&config);
        fingerprints.extend(issue_ra_pair(
            &keymaker,
            dir,
            &ra_paths,
            ca_key.as_ref(),
            &ca_certificate,
            options.ra_validity_days,
        )?);
    }

    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, &config_text).context(&config_path, "writing")?;
    create_database_file(dir, &config)?;
    let store = store::Store::open(&config.database_url(dir))
        .await
        .map_err(CeremonyError::CreateDatabase)?;
    let protection = match &options.protection {
        KeyProtection::Unencrypted => "software keys, unencrypted (development default)".to_owned(),
        KeyProtection::Passphrase { .. } => {
            "software keys, PKCS#8 encrypted (scrypt, AES-256)".to_owned()
        }
        KeyProtection::Hsm { module, token, .. } => {
            format!("PKCS#11 token {token:?} ({})", module.display())
        }
    };
    let source = match &options.ca {
        CaSource::Generate { .. } => "generated",
        CaSource::Import { .. } => "imported",
    };
    let detail = format!(
        "key ceremony: CA {source}; keys: {protection}; {}",
        fingerprints
            .iter()
            .map(|(what, fp, subject)| format!("{what} {subject} SHA-256 {fp}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    crate::audit_trail::record_cli(&store, store::AuditKind::ConfigChanged, detail).await?;
    crate::ceremony::initial_admin::announce(dir, &store).await?;
    Ok(InitReport { fingerprints })
}

/// The data directory with `keys/` and `certs/`, none of them readable by others (an
/// existing `keys/` is tightened too).
pub(crate) fn create_data_directory(dir: &Path) -> Result<(), CeremonyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    for sub in ["", "keys", "certs"] {
        builder
            .create(dir.join(sub))
            .context(&dir.join(sub), "creating directory")?;
    }
    fs::set_permissions(dir.join("keys"), fs::Permissions::from_mode(0o700))
        .context(&dir.join("keys"), "setting permissions")?;
    Ok(())
}

/// An empty file is a valid empty SQLite database; creating it here gives it (and the
/// -wal/-shm files SQLite derives from it) mode 0600 from the first byte.
pub(crate) fn create_database_file(dir: &Path, config: &Config) -> Result<(), CeremonyError> {
    if config.database.url.is_empty() {
        let db = dir.join("scepd.db");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&db)
            .context(&db, "creating")?;
    }
    Ok(())
}
