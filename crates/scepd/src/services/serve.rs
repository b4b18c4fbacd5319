//! `scepd serve`: load keys and certificates, wire RA → CA → store, listen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use edge::listener::{self, ConnectionTracker, Limits, ListenError, Transport};
use keys::key_history::{self, KeyHistoryError};
use keys::keystore::{self, KeystoreError, RoleCertificates};
use keys::pem::{self, PemError};
use scep::Capability;

use crate::services::admin::error::AdminStartError;
use crate::services::scep_http::{self, ScepService};
use config::deployment::Mode;
use config::templates::TemplateError;
use config::{Config, ConfigError, InvalidSetting};

/// The capabilities we advertise (catalogue D1): nothing weaker than AES and SHA-256, even
/// when a legacy opt-in is on — legacy clients ask for what they need anyway. SHA-384 is
/// accepted and answered in, and strongSwan 5.9 enrolls with AES only when it is listed
/// (see [`Capability::Sha384`]).
pub const CAPABILITIES: &[Capability] = &[
    Capability::Aes,
    Capability::PostPkiOperation,
    Capability::Renewal,
    Capability::ScepStandard,
    Capability::Sha256,
    Capability::Sha384,
    Capability::Sha512,
];

/// Why the SCEP service (all-in-one, or the RA of a split deployment) did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} is prepared for {} (deployment.mode), not scepd serve", dir.display(), mode.command())]
    WrongMode { dir: PathBuf, mode: Mode },
    #[error(transparent)]
    Setting(#[from] InvalidSetting),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error(transparent)]
    Keys(#[from] KeystoreError),
    #[error(transparent)]
    KeyHistory(#[from] KeyHistoryError),
    #[error("CA: {0}")]
    Ca(#[source] ca::CaError),
    #[error("CA chain: {0}")]
    CaChain(#[source] ca::CaError),
    #[error("previous CA: {0}")]
    PreviousCa(#[source] ca::CaError),
    #[error("challenges.{setting}: template {template:?} is not configured")]
    UnknownTemplate {
        setting: &'static str,
        template: String,
    },
    #[error("RA: {0}")]
    Ra(#[source] ra::EnrollError),
    #[error("GetNextCACert: {0}")]
    NextCaReply(#[source] ra::EnrollError),
    #[error("GetCACert bundle: {0}")]
    CaCertBundle(#[source] scep::CodecError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("audit log: {0}")]
    Audit(#[source] store::StoreError),
    #[error(transparent)]
    Admin(#[from] AdminStartError),
    #[error(transparent)]
    Endpoint(#[from] crate::services::endpoints::EndpointError),
    #[error(transparent)]
    EndpointConfig(#[from] ra::EndpointConfigError),
    #[error(transparent)]
    ScepTls(#[from] crate::services::tls::TlsError),
}

pub struct Loaded {
    pub config: Config,
    pub service: Arc<ScepService>,
    /// The embedded development default keeps its keys unencrypted; say so at every start.
    pub unencrypted_keys: bool,
    /// This process holds the CA key and publishes the CRL (all-in-one); a split RA does not.
    pub publishes_crl: bool,
    /// The Intune client, when an endpoint uses Intune: it also fetches Intune's revocation
    /// requests.
    pub intune: Option<Arc<intune::IntuneClient>>,
}

/// The RA's half of the service: its keys and certificates, and the CA certificates it
/// serves. The same for all-in-one and for `scepd ra`; only the CA behind it differs.
pub struct RaSide {
    pub signer: Arc<dyn keys::Signer>,
    pub signing_certificate: Vec<u8>,
    /// The enrollment agent, or the signing key and certificate again in a data directory
    /// made before the separate agent key (`separate_agent` false).
    pub agent: Arc<dyn keys::Signer>,
    pub agent_certificate: Vec<u8>,
    pub separate_agent: bool,
    pub decrypter: Arc<dyn keys::Decrypter>,
    pub encryption_certificate: Vec<u8>,
    pub ca_certificate: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    pub token: Option<Arc<keys::pkcs11::Pkcs11Token>>,
    pub unencrypted_keys: bool,
}

/// Builds the whole service from a data directory.
pub async fn load(dir: &Path) -> Result<Loaded, ServeError> {
    let config = Config::load(dir)?;
    if config.deployment.mode != Mode::AllInOne {
        return Err(ServeError::WrongMode {
            dir: dir.to_owned(),
            mode: config.deployment.mode,
        });
    }
    let certificates = RoleCertificates::read(dir, &config.key_locations())?;
    let role_keys = keystore::load(dir, &config.key_locations(), &certificates)?;
    let agent = role_keys.counter_signer();
    let agent_certificate = certificates.counter_signing().to_vec();
    let separate_agent = certificates.ra_agent.is_some();
    let RoleCertificates {
        ca: ca_certificate,
        ra_signing: signing_certificate,
        ra_encryption: encryption_certificate,
        ..
    } = certificates;
    let unencrypted_keys = role_keys.unencrypted_software_keys;
    let token = role_keys.token.clone();
    let chain = match &config.keys.ca_chain {
        Some(path) => pem::read_certificates(&dir.join(path))?,
        None => Vec::new(),
    };

    let store = config.open_store(dir).await?;
    let templates = config::templates::build(&config.templates)?;
    let crypto = ra::CryptoPolicy {
        legacy_crypto: config.crypto.legacy_crypto,
        insecure_single_des: config.crypto.insecure_single_des,
    };
    let revocation = Arc::new(crate::services::revocation::Revocation::new(
        Arc::clone(&role_keys.ca),
        ca_certificate.clone(),
        store.clone(),
    ));
    // The accepted counter-signing certificate is the CA service's local RA (below), not a
    // list inside the CA.
    let ca = ca::Ca::new(
        role_keys.ca,
        ca_certificate.clone(),
        templates.clone(),
        Vec::new(),
    )
    .map_err(ServeError::Ca)?
    .with_legacy_sha1_csr_signatures(crypto.allows_legacy())
    .with_chain(chain.clone())
    .map_err(ServeError::CaChain)?;
    let previous_ca_certificates = key_history::previous_ca_certificates(dir)?;
    let mut ca = ca;
    for previous in &previous_ca_certificates {
        ca = ca
            .with_previous(previous.clone())
            .map_err(ServeError::PreviousCa)?;
    }
    // The same CA service as `scepd ca`, configured for the RA of this process: its
    // enrollment agent's statements only, every template, recorded by the RA (see
    // `ca::service`).
    let authority = Arc::new(ca::service::CaService::new(
        Arc::new(ca),
        Arc::new(store.clone()),
        ca::service::Settings::all_in_one(agent_certificate.clone()),
    ));
    let side = RaSide {
        signer: role_keys.ra_signing,
        signing_certificate,
        agent,
        agent_certificate,
        separate_agent,
        decrypter: role_keys.ra_decryption,
        encryption_certificate,
        ca_certificate,
        chain,
        token,
        unencrypted_keys,
    };
    let mut loaded = assemble(dir, config, side, store, authority, revocation)?;
    loaded.publishes_crl = true;
    Ok(loaded)
}

/// The SCEP service over an RA side and a CA (in-process or remote).
pub fn assemble(
    dir: &Path,
    config: Config,
    side: RaSide,
    store: store::Store,
    authority: Arc<dyn ra::CertificateAuthority>,
    revocation: Arc<crate::services::revocation::Revocation>,
) -> Result<Loaded, ServeError> {
    let RaSide {
        signer,
        signing_certificate,
        agent,
        agent_certificate,
        separate_agent,
        decrypter,
        encryption_certificate,
        ca_certificate,
        chain,
        token,
        unencrypted_keys,
    } = side;
    let templates = config::templates::build(&config.templates)?;
    let crypto = ra::CryptoPolicy {
        legacy_crypto: config.crypto.legacy_crypto,
        insecure_single_des: config.crypto.insecure_single_des,
    };
    if !separate_agent {
        tracing::warn!(
            "this data directory has no separate enrollment-agent key: the RA signing key signs replies to devices and counter-signs requests for the CA (`scepd ra renew` adds one)"
        );
    }
    let identity = ra::RaIdentity {
        signer,
        signing_certificate: signing_certificate.clone(),
        agent,
        agent_certificate,
        decrypter,
        encryption_certificate: encryption_certificate.clone(),
        ca_certificate: ca_certificate.clone(),
        previous_encryption: key_history::previous_encryption(
            dir,
            &config.key_locations(),
            token.as_ref(),
        )?,
        previous_ca_certificates: key_history::previous_ca_certificates(dir)?,
    };
    let insecure_challenges = config.challenges.insecure_modes(dir)?;
    for (setting, template) in [
        (
            ra::INSECURE_NO_CHALLENGE,
            insecure_challenges.no_challenge_template.as_deref(),
        ),
        (
            ra::INSECURE_STATIC_CHALLENGE,
            insecure_challenges
                .static_challenge
                .as_ref()
                .map(|s| s.template.as_str()),
        ),
    ] {
        if let Some(name) = template
            && !templates.iter().any(|t| t.name() == name)
        {
            return Err(ServeError::UnknownTemplate {
                setting,
                template: name.to_owned(),
            });
        }
    }
    let ra_config = ra::RaConfig {
        crypto,
        templates,
        insecure_challenges,
        ..ra::RaConfig::default()
    };
    // The RA keeps its ledger in the same database the service reads (`ScepService::store`).
    let mdm = crate::services::endpoints::build(&config, dir)?;
    let ra = ra::Ra::new(ra_config, identity, Arc::new(store.clone()), authority)
        .map_err(ServeError::Ra)?
        .with_endpoints(mdm.endpoints)?;
    let intune = mdm.intune;
    let mut bundle = vec![signing_certificate, encryption_certificate, ca_certificate];
    bundle.extend(chain);
    let next_ca_reply = match key_history::next_certificates(dir)? {
        Some(next) => Some(
            ra.next_ca_certificates_reply(&next)
                .map_err(ServeError::NextCaReply)?,
        ),
        None => None,
    };
    let mut capabilities = CAPABILITIES.to_vec();
    if next_ca_reply.is_some() {
        capabilities.push(Capability::GetNextCaCert);
    }
    let ca_cert_bundle = scep::build_certs_only(&bundle).map_err(ServeError::CaCertBundle)?;
    let service = Arc::new(ScepService {
        ra,
        store,
        ca_caps: scep::ca_caps(&capabilities),
        ca_cert_bundle,
        next_ca_reply,
        revocation,
        limiter: edge::limiter::FailureLimiter::new(edge::limiter::Limits {
            max_failures: config.limits.max_failed_attempts,
            window: config.limits.failure_window,
            lockout: config.limits.lockout,
            global_max_failures: config.limits.global_max_failed_attempts,
        }),
        operation_slots: Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_concurrent_operations,
        )),
        metrics: Arc::new(crate::services::metrics::Metrics::new()),
    });
    Ok(Loaded {
        config,
        service,
        unencrypted_keys,
        publishes_crl: false,
        intune,
    })
}

/// Serves until SIGINT/SIGTERM.
pub async fn run(
    dir: &Path,
    scep_listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
) -> Result<(), ServeError> {
    run_loaded(dir, load(dir).await?, scep_listen, admin_listen).await
}

/// Serves a loaded SCEP service (all-in-one or split RA) until SIGINT/SIGTERM.
pub async fn run_loaded(
    dir: &Path,
    loaded: Loaded,
    scep_listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
) -> Result<(), ServeError> {
    for warning in loaded.config.insecure_settings() {
        tracing::warn!(setting = warning, "INSECURE setting enabled");
    }
    if loaded.unencrypted_keys {
        tracing::warn!(
            "software keys are stored UNENCRYPTED (embedded development default): use encrypted keys (scepd init --passphrase-file) or an HSM in production"
        );
    }
    let scep = &loaded.config.scep;
    if scep.plain_http_exposed() {
        tracing::warn!(
            listen = %scep.listen,
            "SCEP is served over plain HTTP on a non-loopback address: devices should reach it over TLS (scep.tls_listen, or a TLS proxy in front and scep.behind_tls_proxy = true)"
        );
    }
    let plain = match scep.plain_http {
        true => Some(listener::bind(scep_listen.unwrap_or(scep.listen), Some("SCEP")).await?),
        false => None,
    };
    let tls = match (scep.tls_listen, &scep.tls_certificate, &scep.tls_key) {
        (Some(addr), Some(certificate), Some(key)) => {
            let config =
                crate::services::tls::scep_server_config(&dir.join(certificate), &dir.join(key))?;
            let (bound, local) = listener::bind(addr, Some("SCEP over TLS")).await?;
            Some((bound, local, Arc::new(config)))
        }
        _ => None,
    };
    let served_on: Vec<String> = plain
        .iter()
        .map(|(_, local)| format!("http://{local}"))
        .chain(tls.iter().map(|(_, local, _)| format!("https://{local}")))
        .collect();
    loaded
        .service
        .store
        .append_audit(store::AuditEvent {
            at: crate::clock::unix_now(),
            kind: store::AuditKind::ServiceStarted,
            actor: "scepd".into(),
            detail: format!(
                "SCEP on {}; insecure settings: {:?}",
                served_on.join(" and "),
                loaded.config.insecure_settings()
            ),
        })
        .await
        .map_err(ServeError::Audit)?;
    let config = Arc::new(loaded.config.clone());
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    if config.admin.enabled {
        let listen = admin_listen.unwrap_or(config.admin.listen);
        let admin = crate::services::admin::start(
            dir,
            Arc::clone(&config),
            Arc::clone(&loaded.service),
            listen,
            async {
                let _ = admin_stopped.await;
            },
        )
        .await?;
        // Printed before the SCEP line, which tells the contract tests that start-up is over.
        println!(
            "scepd admin listening: https://{admin}/certsrv/mscep_admin/ and https://{admin}/admin/api/v1/"
        );
        tracing::info!(%admin, "admin listener");
    } else {
        tracing::info!("admin listener disabled (admin.enabled = false)");
    }
    if let Some((_, local, _)) = &tls {
        println!(
            "scepd TLS listening: SCEP at https://{local}/scep and https://{local}/certsrv/mscep/mscep.dll"
        );
        tracing::info!(%local, "listening (SCEP over TLS)");
    }
    // The contract tests and operators rely on: one last line saying where SCEP is served.
    let contract_line = served_on
        .first()
        .map(|base| format!("{base}/scep and {base}/certsrv/mscep/mscep.dll"))
        .unwrap_or_default();
    println!("scepd listening: SCEP at {contract_line}");
    tracing::info!(at = %contract_line, "listening");
    if loaded.publishes_crl {
        loaded.service.revocation.spawn_publisher();
    }
    if let (Some(client), Some(section)) = (&loaded.intune, &config.intune) {
        let interval = section.revocation_poll_interval;
        if interval.is_zero() {
            tracing::info!(
                "Intune revocation requests are not fetched (intune.revocation_poll_interval = 0s)"
            );
        } else {
            crate::services::intune_revocation::spawn(
                Arc::clone(client),
                Arc::clone(&loaded.service.revocation),
                interval,
            );
            tracing::info!(?interval, "fetching Intune's revocation requests");
        }
    }
    let mut listeners = tokio::task::JoinSet::new();
    let transports = plain
        .map(|(bound, _)| ("scep", bound, Transport::Plain))
        .into_iter()
        .chain(tls.map(|(bound, _, config)| ("scep-tls", bound, Transport::Tls(config))));
    for (name, bound, transport) in transports {
        let tracker = ConnectionTracker::new(name, Limits::from(&config.connections));
        loaded.service.metrics.watch_listener(Arc::clone(&tracker));
        listeners.spawn(listener::serve(
            bound,
            transport,
            scep_http::router(Arc::clone(&loaded.service)),
            tracker,
            listener::shutdown_signal(),
        ));
    }
    // Each listener stops on SIGINT/SIGTERM after its requests in progress were answered.
    while listeners.join_next().await.is_some() {}
    let _ = stop_admin.send(());
    Ok(())
}
