//! `scepd init --mode ra`: prepares the RA side of a split deployment. Makes the RA's four
//! keys here (CertRep signing, enrollment agent, CEP encryption, TLS client: one key, one
//! job), sends their
//! public keys with the one-time registration code to the CA's registration listener over TLS
//! that must chain to the pinned CA certificate, and stores the certificates the CA returns.
//! The CA key never leaves the CA host.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edge::https_client::ClientError;
use keys::KeyRole;
use keys::io_context::{Context, FileError};
use keys::pem::PemError;

use crate::audit_trail::AuditLogError;
use crate::ceremony::error::CeremonyError;
use crate::ceremony::init::{self, InitReport, KeyProtection};
use crate::services::tls::TlsError;
use config::{CONFIG_FILE, Config};
use request::link;

/// Why `scepd init --mode ra` failed; each message names the argument, file, key or the step
/// of the registration at fault.
#[derive(Debug, thiserror::Error)]
pub enum RaInitError {
    #[error("{} already holds {}; not overwriting", dir.display(), CONFIG_FILE)]
    AlreadyInitialised { dir: PathBuf },
    #[error("--ca-fingerprint: {0}")]
    Fingerprint(#[source] edge::pinning::NotAFingerprint),
    #[error("registration TLS: {0}")]
    RegistrationTls(#[source] rustls::Error),
    #[error("--ca-registration-url: {0}")]
    RegistrationUrl(#[source] ClientError),
    #[error("--ca-url: {0}")]
    CaUrl(#[source] ClientError),
    /// What this shares with `scepd init`: the configuration text, the data directory, the
    /// keymaker, the database file, the first administrator.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    #[error(transparent)]
    Keymaker(#[from] keys::keymaker::KeymakerError),
    #[error("internal: the enrollment agent is not configured")]
    NoAgentPaths,
    /// The TLS client key.
    #[error(transparent)]
    TlsKey(#[from] TlsError),
    #[error("internal: {0}")]
    RegistrationBody(#[source] serde_json::Error),
    #[error("registering at {url}: {source}")]
    Register { url: String, source: ClientError },
    /// `reason` is the CA's refusal code and reason, or the HTTP status.
    #[error("the CA refused the registration: {reason}")]
    Refused { reason: String },
    #[error("the CA's answer: {0}")]
    Answer(#[source] serde_json::Error),
    #[error(transparent)]
    NotBase64(#[from] link::NotBase64),
    #[error("the CA sent a CA certificate that is not the pinned one")]
    NotPinned,
    #[error("the CA did not certify the enrollment-agent key (is it older than this RA?)")]
    NoAgentCertificate,
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("creating the database: {0}")]
    CreateDatabase(#[source] store::StoreError),
    #[error(transparent)]
    Audit(#[from] AuditLogError),
}

pub struct RaInitOptions {
    pub protection: KeyProtection,
    /// The CA's statement listener, written to `remote_ca.url`.
    pub ca_url: String,
    /// The CA's registration listener.
    pub registration_url: String,
    /// SHA-256 of the CA certificate, as `scepd init --mode ca` printed it.
    pub ca_fingerprint: String,
    pub registration_code: zeroize::Zeroizing<String>,
}

fn set(text: &mut String, commented: &str, line: String) -> Result<(), CeremonyError> {
    if !text.contains(commented) {
        return Err(CeremonyError::NoDefaultLine {
            commented: commented.to_owned(),
        });
    }
    *text = text.replacen(commented, &line, 1);
    Ok(())
}

pub async fn run(dir: &Path, options: &RaInitOptions) -> Result<InitReport, RaInitError> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(RaInitError::AlreadyInitialised {
            dir: dir.to_owned(),
        });
    }
    let pin = crate::services::ca_link::tls::parse_fingerprint(&options.ca_fingerprint)
        .map_err(RaInitError::Fingerprint)?;
    // Both URLs are checked before any key is made.
    let registration = edge::https_client::HttpsClient::new(
        &options.registration_url,
        crate::services::ca_link::tls::pinned_client_config(pin)
            .map_err(RaInitError::RegistrationTls)?,
        Duration::from_secs(30),
    )
    .map_err(RaInitError::RegistrationUrl)?;
    let url_check = edge::https_client::HttpsClient::new(
        &options.ca_url,
        crate::services::ca_link::tls::pinned_client_config(pin)
            .map_err(RaInitError::RegistrationTls)?,
        Duration::from_secs(1),
    );
    url_check.map_err(RaInitError::CaUrl)?;

    let mut text = crate::ceremony::init::config_text_for(&options.protection, None, None)?;
    set(&mut text, "# mode = \"all-in-one\"", "mode = \"ra\"".into())?;
    set(
        &mut text,
        "# url = \"https://127.0.0.1:8444\"",
        format!("url = {:?}", options.ca_url),
    )?;
    let hsm = matches!(options.protection, KeyProtection::Hsm { .. });
    crate::ceremony::init::enable_agent(&mut text, hsm)?;
    let config: Config = toml::from_str(&text).map_err(CeremonyError::ConfigText)?;

    crate::ceremony::init::create_data_directory(dir)?;
    let keymaker = init::keymaker(dir, &options.protection)?;
    let (k, p) = (&config.keys, &config.pkcs11);
    let signing = keymaker.make(
        dir,
        KeyRole::RaSigning,
        &k.ra_signing_key,
        &p.ra_signing_key_label,
        2048,
        None,
    )?;
    let agent_paths = crate::ceremony::init::RaPaths::current(&config)
        .agent
        .ok_or(RaInitError::NoAgentPaths)?;
    let agent_certificate_path = &agent_paths.certificate;
    // Only the CA reads the agent's statements: P-256 (see init::issue_ra_pair).
    let agent = keymaker.make(
        dir,
        KeyRole::RaAgent,
        &agent_paths.key,
        &agent_paths.label,
        0,
        Some(keys::pkcs11::EcCurve::P256),
    )?;
    let encryption = keymaker.make(
        dir,
        KeyRole::RaDecryption,
        &k.ra_encryption_key,
        &p.ra_encryption_key_label,
        2048,
        None,
    )?;
    let tls_spki =
        crate::services::ca_link::tls::generate_key(&dir.join(&config.remote_ca.tls_key))?;

    let request = link::Registration {
        version: link::VERSION,
        code: options.registration_code.trim().to_owned(),
        signing_spki: link::b64(signing.public_key_spki_der()),
        agent_spki: Some(link::b64(agent.public_key_spki_der())),
        encryption_spki: link::b64(encryption.public_key_spki_der()),
        tls_spki: link::b64(&tls_spki),
    };
    let body = serde_json::to_vec(&request).map_err(RaInitError::RegistrationBody)?;
    let (status, answer) = registration
        .post(
            link::REGISTER_PATH,
            "application/json",
            body,
            link::MAX_ANSWER_LEN,
        )
        .await
        .map_err(|source| RaInitError::Register {
            url: options.registration_url.clone(),
            source,
        })?;
    if status != 200 {
        let reason = serde_json::from_slice::<link::Refusal>(&answer)
            .map(|r| format!("{}: {}", r.code, r.reason))
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(RaInitError::Refused { reason });
    }
    let registered: link::Registered =
        serde_json::from_slice(&answer).map_err(RaInitError::Answer)?;
    let ca_certificate = link::unb64(&registered.ca_certificate, "ca_certificate")?;
    if crate::services::ca_link::tls::fingerprint(&ca_certificate) != pin {
        return Err(RaInitError::NotPinned);
    }
    let write = |path: &PathBuf, field: &str, b64: &str| -> Result<Vec<u8>, RaInitError> {
        let der = link::unb64(b64, field)?;
        keys::pem::write_certificate(&dir.join(path), &der)?;
        Ok(der)
    };
    keys::pem::write_certificate(&dir.join(&k.ca_certificate), &ca_certificate)?;
    let signing_cert = write(
        &k.ra_signing_certificate,
        "signing_certificate",
        &registered.signing_certificate,
    )?;
    let agent_cert = write(
        agent_certificate_path,
        "agent_certificate",
        registered
            .agent_certificate
            .as_deref()
            .ok_or(RaInitError::NoAgentCertificate)?,
    )?;
    let encryption_cert = write(
        &k.ra_encryption_certificate,
        "encryption_certificate",
        &registered.encryption_certificate,
    )?;
    let tls_cert = write(
        &config.remote_ca.tls_certificate,
        "tls_certificate",
        &registered.tls_certificate,
    )?;
    if !registered.ca_chain.is_empty() {
        let chain = registered
            .ca_chain
            .iter()
            .map(|c| link::unb64(c, "ca_chain"))
            .collect::<Result<Vec<_>, _>>()?;
        keys::pem::write_certificates(&dir.join("certs/ca-chain.pem"), &chain)?;
        set(
            &mut text,
            "# ca_chain = \"certs/ca-chain.pem\"",
            "ca_chain = \"certs/ca-chain.pem\"".into(),
        )?;
    }

    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, &text).context(&config_path, "writing")?;
    crate::ceremony::init::create_database_file(dir, &config)?;
    let store = store::Store::open(&config.database_url(dir))
        .await
        .map_err(RaInitError::CreateDatabase)?;
    let fingerprints = vec![
        (
            "CA",
            ca::fingerprint_sha256(&ca_certificate),
            crate::x509::subject_of(&ca_certificate),
        ),
        (
            "RA signing",
            ca::fingerprint_sha256(&signing_cert),
            crate::x509::subject_of(&signing_cert),
        ),
        (
            "RA enrollment agent",
            ca::fingerprint_sha256(&agent_cert),
            crate::x509::subject_of(&agent_cert),
        ),
        (
            "RA encryption",
            ca::fingerprint_sha256(&encryption_cert),
            crate::x509::subject_of(&encryption_cert),
        ),
        (
            "RA TLS client",
            ca::fingerprint_sha256(&tls_cert),
            crate::x509::subject_of(&tls_cert),
        ),
    ];
    let detail = format!(
        "RA registered at {} as {:?} for templates {}; {}",
        options.registration_url,
        registered.name,
        registered.templates.join(","),
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
