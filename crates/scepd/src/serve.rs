//! `scepd serve`: load keys and certificates, wire RA → CA → store, listen.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use keys::KeyRole;
use keys::software::SoftwareKey;
use scep::Capability;

use crate::config::Config;
use crate::http::{self, ScepService};
use crate::in_process_ca::InProcessCa;
use crate::pem;

/// The capabilities we advertise (catalogue D1): nothing weaker than AES and SHA-256, even
/// when a legacy opt-in is on — legacy clients ask for what they need anyway.
pub const CAPABILITIES: &[Capability] = &[
    Capability::Aes,
    Capability::PostPkiOperation,
    Capability::Renewal,
    Capability::ScepStandard,
    Capability::Sha256,
    Capability::Sha512,
];

pub struct Loaded {
    pub config: Config,
    pub service: Arc<ScepService>,
}

/// Builds the whole service from a data directory.
pub async fn load(dir: &Path) -> Result<Loaded, String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    let at = |p: &Path| dir.join(p);
    let keys_cfg = &config.keys;
    let load_key = |role: KeyRole, path: &Path| {
        SoftwareKey::load(role, at(path)).map_err(|e| format!("{}: {e}", at(path).display()))
    };
    let ca_key = Arc::new(load_key(KeyRole::CaSigning, &keys_cfg.ca_key)?);
    let ra_signing_key = Arc::new(load_key(KeyRole::RaSigning, &keys_cfg.ra_signing_key)?);
    let ra_decryption_key = Arc::new(load_key(
        KeyRole::RaDecryption,
        &keys_cfg.ra_encryption_key,
    )?);
    let ca_certificate = pem::read_certificate(&at(&keys_cfg.ca_certificate))?;
    let signing_certificate = pem::read_certificate(&at(&keys_cfg.ra_signing_certificate))?;
    let encryption_certificate = pem::read_certificate(&at(&keys_cfg.ra_encryption_certificate))?;

    let store = store::Store::open(&config.database_url(dir))
        .await
        .map_err(|e| format!("opening the database: {e}"))?;
    let crypto = ra::CryptoPolicy {
        legacy_crypto: config.crypto.legacy_crypto,
        insecure_single_des: config.crypto.insecure_single_des,
    };
    let ca = ca::Ca::new(
        ca_key,
        ca_certificate.clone(),
        vec![policy::Template::device()],
        vec![signing_certificate.clone()],
    )
    .map_err(|e| format!("CA: {e}"))?
    .with_legacy_sha1_csr_signatures(crypto.allows_legacy());
    let identity = ra::RaIdentity {
        signer: ra_signing_key,
        signing_certificate: signing_certificate.clone(),
        decrypter: ra_decryption_key,
        encryption_certificate: encryption_certificate.clone(),
        ca_certificate: ca_certificate.clone(),
    };
    let ra_config = ra::RaConfig {
        crypto,
        ..ra::RaConfig::default()
    };
    let ra = ra::Ra::new(ra_config, identity, store, Arc::new(InProcessCa { ca }))
        .map_err(|e| format!("RA: {e}"))?;
    let ca_cert_bundle =
        scep::build_certs_only(&[signing_certificate, encryption_certificate, ca_certificate])
            .map_err(|e| format!("GetCACert bundle: {e}"))?;
    let service = Arc::new(ScepService {
        ra,
        ca_caps: scep::ca_caps(CAPABILITIES),
        ca_cert_bundle,
    });
    Ok(Loaded { config, service })
}

/// Serves until SIGINT/SIGTERM.
pub async fn run(dir: &Path, scep_listen: Option<SocketAddr>) -> Result<(), String> {
    let loaded = load(dir).await?;
    for warning in loaded.config.insecure_settings() {
        tracing::warn!(setting = warning, "INSECURE setting enabled");
    }
    let addr = scep_listen.unwrap_or(loaded.config.scep.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    loaded
        .service
        .ra
        .store()
        .append_audit(store::AuditEvent {
            at: crate::http::unix_now(),
            kind: store::AuditKind::ServiceStarted,
            actor: "scepd".into(),
            detail: format!(
                "SCEP on {local}; insecure settings: {:?}",
                loaded.config.insecure_settings()
            ),
        })
        .await
        .map_err(|e| format!("audit log: {e}"))?;
    // The contract tests and operators rely on: one line saying where SCEP is served.
    println!(
        "scepd listening: SCEP at http://{local}/scep and http://{local}/certsrv/mscep/mscep.dll"
    );
    tracing::info!(%local, "listening");
    let app = http::router(loaded.service).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
