//! `scepd ca`: the CA service of a split deployment, on its host. It holds the CA key only,
//! and answers counter-signed statements from registered RAs (DESIGN.md §2; catalogue F;
//! docs/ra-ca-protocol.md). Every decision is [`ca::service::CaService`]'s (the same service
//! `scepd serve` calls in-process); this module loads the configuration and the key, serves
//! the link's endpoints (parse the body, call the service, answer JSON and a status: the one
//! place the link's wire form is written), runs the TLS listeners and keeps the TLS allow-list
//! fresh. The handshake admits only a registered, unrevoked RA TLS certificate
//! ([`super::ca_link::tls::AllowListVerifier`]); the service looks the RA up again for each
//! request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ca::CaRefusal;
use ca::service::{
    Answer, CaService, Caller, RaPublicKeys, RegisteredRa, RevokeFailure, RevokeFuture,
    RevokeRequest, Revoked, Revoker, Settings,
};
use edge::listener::Peer;
use keys::keystore::KeystoreError;
use keys::pem::PemError;

use super::ca_link::tls::AllowList;
use crate::services::revocation::{Revocation, RevokeError};
use crate::services::tls::TlsError;
use config::deployment::Mode;
use config::{Config, ConfigError};
use request::link;

/// How often the allow-list is re-read from the database (`scepd ca revoke-ra` in another
/// process takes effect within this).
pub const ALLOW_LIST_REFRESH: Duration = Duration::from_secs(2);

/// What the handlers share: the CA service, and what the host adds around it.
pub struct CaHost {
    service: CaService,
    store: store::Store,
    allow: Arc<AllowList>,
    ca_certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    /// The CA's CRL and OCSP answers and its revocations; the certificates table it reads is
    /// filled as statements are answered (so `scepd cert list|show|revoke` work on this host).
    revocation: Arc<Revocation>,
}

/// Why the CA service of a split deployment did not start (or its allow-list could not be
/// read); each message names the setting, file, key or address at fault.
#[derive(Debug, thiserror::Error)]
pub enum CaServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} is prepared for {}, not scepd ca (deployment.mode)", dir.display(), mode.command())]
    WrongMode { dir: PathBuf, mode: Mode },
    #[error(transparent)]
    Certificates(#[from] PemError),
    /// The passphrase, the token or the key file ([`KeystoreError::KeyFile`]).
    #[error(transparent)]
    Keys(#[from] KeystoreError),
    #[error(transparent)]
    Templates(#[from] config::templates::TemplateError),
    #[error("CA: {0}")]
    Ca(#[source] ca::CaError),
    #[error("CA chain: {0}")]
    CaChain(#[source] ca::CaError),
    #[error("previous CA: {0}")]
    PreviousCa(#[source] ca::CaError),
    /// Reading the registered RAs for the TLS allow-list.
    #[error("RA registry: {0}")]
    RaRegistry(#[source] store::StoreError),
    /// The TLS key (`ca_service.tls_key`).
    #[error(transparent)]
    TlsKey(#[from] edge::tls::KeyFileError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The address a listener is bound to.
    #[error(transparent)]
    LocalAddr(std::io::Error),
}

// ---------------------------------------------------------------- the link's wire form

/// A refusal as the link sends it.
fn refusal_response(refusal: CaRefusal) -> Response {
    let status = StatusCode::from_u16(refusal.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = link::Refusal {
        version: link::VERSION,
        code: refusal.wire_code().to_owned(),
        bad_alg: refusal.is_bad_alg(),
        reason: refusal.reason().to_owned(),
    };
    (status, axum::Json(body)).into_response()
}

fn issued_body(answer: Answer) -> link::Issued {
    let certificate = answer.certificate;
    link::Issued {
        version: link::VERSION,
        certificate: link::b64(&certificate.der),
        serial: certificate.serial_hex,
        subject: certificate.subject,
        not_before: certificate.not_before,
        not_after: certificate.not_after,
        template: certificate.template,
        replayed: answer.replayed,
    }
}

fn revoked_body(revoked: Revoked) -> link::Revoked {
    link::Revoked {
        version: link::VERSION,
        serial: revoked.serial_hex,
        reason: revoked.reason.as_str().to_owned(),
        revoked_at: revoked.revoked_at,
        already_revoked: revoked.already_revoked,
    }
}

/// The RA's public keys from a registration body (base64 DER).
fn public_keys(request: &link::Registration) -> Result<RaPublicKeys, CaRefusal> {
    let decode = |b64: &str, what: &str| {
        link::unb64(b64, what).map_err(|e| CaRefusal::RegistrationRefused(e.to_string()))
    };
    Ok(RaPublicKeys {
        signing: decode(&request.signing_spki, "signing_spki")?,
        agent: request
            .agent_spki
            .as_deref()
            .map(|b64| decode(b64, "agent_spki"))
            .transpose()?,
        encryption: decode(&request.encryption_spki, "encryption_spki")?,
        tls: decode(&request.tls_spki, "tls_spki")?,
    })
}

fn registered_body(host: &CaHost, registered: RegisteredRa) -> link::Registered {
    link::Registered {
        version: link::VERSION,
        name: registered.name,
        templates: registered.templates,
        ca_certificate: link::b64(&host.ca_certificate),
        ca_chain: host.chain.iter().map(|c| link::b64(c)).collect(),
        signing_certificate: link::b64(&registered.signing_certificate),
        agent_certificate: registered.agent_certificate.as_deref().map(link::b64),
        encryption_certificate: link::b64(&registered.encryption_certificate),
        tls_certificate: link::b64(&registered.tls_certificate),
    }
}

fn unsupported_version(version: u32) -> String {
    format!("protocol version {version} is not supported")
}

// ---------------------------------------------------------------- loading

/// Revocations the CA service decided, committed by this host's revocation service.
struct RevokeThrough<'a>(&'a Revocation);

impl Revoker for RevokeThrough<'_> {
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: &'a str,
        now: i64,
        actor: &'a str,
    ) -> RevokeFuture<'a> {
        Box::pin(async move {
            self.0
                .revoke(serial_hex, reason, now, actor)
                .await
                .map_err(|e| match e {
                    RevokeError::UnknownReason(r) => RevokeFailure::UnknownReason(r),
                    RevokeError::AlreadyRevoked(_) => RevokeFailure::AlreadyRevoked,
                    e => RevokeFailure::Failed(e.to_string()),
                })
        })
    }
}

/// Loads the CA key alone (the RA keys are not on this host).
fn load_ca_key(dir: &Path, config: &Config) -> Result<Arc<dyn keys::Signer>, CaServiceError> {
    let locations = config.key_locations();
    let source = keys::keystore::KeySource::open(dir, &locations, None)?;
    Ok(source
        .required(keys::keystore::Role::CaSigning)?
        .into_signer())
}

impl CaHost {
    /// Builds the service from a data directory prepared with `scepd init --mode ca`.
    pub async fn load(dir: &Path) -> Result<(Arc<CaHost>, Config), CaServiceError> {
        let config = Config::load(dir)?;
        if config.deployment.mode != Mode::Ca {
            return Err(CaServiceError::WrongMode {
                dir: dir.to_owned(),
                mode: config.deployment.mode,
            });
        }
        let ca_certificate = keys::pem::read_certificate(&dir.join(&config.keys.ca_certificate))?;
        let chain = match &config.keys.ca_chain {
            Some(path) => keys::pem::read_certificates(&dir.join(path))?,
            None => Vec::new(),
        };
        let signer = load_ca_key(dir, &config)?;
        let templates = config::templates::build(&config.templates)?;
        let mut ca = ca::Ca::new(
            Arc::clone(&signer),
            ca_certificate.clone(),
            templates,
            Vec::new(),
        )
        .map_err(CaServiceError::Ca)?
        .with_legacy_sha1_csr_signatures(
            config.crypto.legacy_crypto || config.crypto.insecure_single_des,
        )
        .with_chain(chain.clone())
        .map_err(CaServiceError::CaChain)?;
        for previous in keys::key_history::previous_ca_certificates(dir)? {
            ca = ca
                .with_previous(previous)
                .map_err(CaServiceError::PreviousCa)?;
        }
        let store = config.open_store(dir).await?;
        let revocation = Arc::new(Revocation::new(
            signer,
            ca_certificate.clone(),
            store.clone(),
        ));
        let service = CaService::new(
            Arc::new(ca),
            Arc::new(store.clone()),
            Settings::split(config.ca_service.ra_validity_days),
        );
        let host = Arc::new(CaHost {
            service,
            store,
            allow: Arc::new(AllowList::default()),
            ca_certificate,
            chain,
            revocation,
        });
        host.refresh_allow_list().await?;
        Ok((host, config))
    }

    /// Re-reads the registered, unrevoked RA TLS certificates.
    pub async fn refresh_allow_list(&self) -> Result<(), CaServiceError> {
        let allowed = self
            .service
            .active_ra_tls_certificates()
            .await
            .map_err(CaServiceError::RaRegistry)?;
        self.allow.replace(allowed);
        Ok(())
    }
}

// ---------------------------------------------------------------- handlers

fn caller(peer: &Peer) -> Caller {
    Caller::Tls(peer.client_certificate)
}

async fn issue_handler(
    State(host): State<Arc<CaHost>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let now = crate::clock::unix_now();
    let answer = match host.service.connected(caller(&peer)).await {
        Ok(ra) => host.service.answer_statement(&ra, body.to_vec(), now).await,
        Err(refused) => Err(refused),
    };
    match answer {
        Ok(answer) => axum::Json(issued_body(answer)).into_response(),
        Err(refused) => refusal_response(refused),
    }
}

async fn revoke_handler(
    State(host): State<Arc<CaHost>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let request: link::Revoke = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refusal_response(CaRefusal::BadRequest(format!("body: {e}"))),
    };
    let ra = match host.service.connected(caller(&peer)).await {
        Ok(ra) => ra,
        Err(refused) => return refusal_response(refused),
    };
    if request.version != link::VERSION {
        return refusal_response(CaRefusal::BadRequest(unsupported_version(request.version)));
    }
    let request = RevokeRequest {
        serial: request.serial,
        reason: request.reason,
        requested_by: request.requested_by,
    };
    let revoker = RevokeThrough(&host.revocation);
    match host
        .service
        .revoke_for(&ra, request, &revoker, crate::clock::unix_now())
        .await
    {
        Ok(revoked) => axum::Json(revoked_body(revoked)).into_response(),
        Err(refused) => refusal_response(refused),
    }
}

/// The CA's current CRL, for an RA to serve (`/crl`, GetCRL).
async fn crl_handler(
    State(host): State<Arc<CaHost>>,
    Extension(peer): Extension<Peer>,
) -> Response {
    if let Err(refused) = host.service.connected(caller(&peer)).await {
        return refusal_response(refused);
    }
    match host.revocation.crl(crate::clock::unix_now()).await {
        Ok(crl) => (
            [(axum::http::header::CONTENT_TYPE, "application/pkix-crl")],
            crl,
        )
            .into_response(),
        Err(e) => refusal_response(CaRefusal::Internal(format!("CRL: {e}"))),
    }
}

/// An OCSP request relayed by an RA, answered with the CA key.
async fn ocsp_handler(
    State(host): State<Arc<CaHost>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    if let Err(refused) = host.service.connected(caller(&peer)).await {
        return refusal_response(refused);
    }
    let answer = host.revocation.ocsp(&body, crate::clock::unix_now()).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/ocsp-response",
        )],
        answer,
    )
        .into_response()
}

/// Registers an RA with its one-time code (checked before anything else is read), then its
/// keys; its TLS certificate goes on the allow-list at once.
async fn register_handler(
    State(host): State<Arc<CaHost>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let request: link::Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refusal_response(CaRefusal::RegistrationRefused(format!("body: {e}")));
        }
    };
    match register(&host, request).await {
        Ok(registered) => {
            tracing::info!(ra = %registered.name, peer = %peer.addr, "RA registered");
            axum::Json(registered).into_response()
        }
        Err(refused) => {
            tracing::warn!(peer = %peer.addr, reason = refused.reason(), "RA registration refused");
            refusal_response(refused)
        }
    }
}

async fn register(
    host: &CaHost,
    request: link::Registration,
) -> Result<link::Registered, CaRefusal> {
    if request.version != link::VERSION {
        return Err(CaRefusal::RegistrationRefused(unsupported_version(
            request.version,
        )));
    }
    let now = crate::clock::unix_now();
    let open = host.service.open_registration(&request.code, now).await?;
    let keys = public_keys(&request)?;
    let registered = host.service.complete_registration(open, keys, now).await?;
    host.allow.insert(registered.tls_sha256);
    Ok(registered_body(host, registered))
}

fn tls_identity(
    dir: &Path,
    config: &Config,
    host: &CaHost,
) -> Result<(Vec<Vec<u8>>, PathBuf), PemError> {
    let mut chain = vec![keys::pem::read_certificate(
        &dir.join(&config.ca_service.tls_certificate),
    )?];
    // The CA certificate travels in the chain: a registering RA finds its pin there.
    chain.push(host.ca_certificate.clone());
    chain.extend(host.chain.iter().cloned());
    Ok((chain, dir.join(&config.ca_service.tls_key)))
}

/// A client that trickles its request body (the listener bounds only the head) loses the
/// connection with a 408, as on the SCEP and admin listeners.
fn request_timeout() -> tower_http::timeout::TimeoutLayer {
    tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        edge::listener::REQUEST_TIMEOUT,
    )
}

/// Serves until SIGINT/SIGTERM.
pub async fn run(
    dir: &Path,
    listen: Option<SocketAddr>,
    registration_listen: Option<SocketAddr>,
) -> Result<(), CaServiceError> {
    let (host, config) = CaHost::load(dir).await?;
    let (chain, key_path) = tls_identity(dir, &config, &host)?;
    let mut client_roots = vec![host.ca_certificate.clone()];
    client_roots.extend(keys::key_history::previous_ca_certificates(dir)?);
    let statement_tls = super::ca_link::tls::statement_server_config(
        chain.clone(),
        edge::tls::read_key(&key_path)?,
        &client_roots,
        Arc::clone(&host.allow),
    )?;
    let addr = listen.unwrap_or(config.ca_service.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CaServiceError::Listen { addr, source })?;
    let local = listener.local_addr().map_err(CaServiceError::LocalAddr)?;
    let statements = Router::new()
        .route(link::ISSUE_PATH, post(issue_handler))
        .route(link::REVOKE_PATH, post(revoke_handler))
        .route(link::CRL_PATH, get(crl_handler))
        .route(link::OCSP_PATH, post(ocsp_handler))
        .layer(DefaultBodyLimit::max(request::statement::MAX_STATEMENT_LEN))
        .layer(request_timeout())
        .with_state(Arc::clone(&host));

    let limits = edge::listener::Limits::from(&config.connections);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let registration = match registration_listen.or(config.ca_service.registration_listen) {
        Some(raddr) => {
            let tls = super::ca_link::tls::registration_server_config(
                chain,
                edge::tls::read_key(&key_path)?,
            )?;
            let rlistener = tokio::net::TcpListener::bind(raddr)
                .await
                .map_err(|source| CaServiceError::Listen {
                    addr: raddr,
                    source,
                })?;
            let rlocal = rlistener.local_addr().map_err(CaServiceError::LocalAddr)?;
            let app = Router::new()
                .route(link::REGISTER_PATH, post(register_handler))
                .layer(DefaultBodyLimit::max(16 * 1024))
                .layer(request_timeout())
                .with_state(Arc::clone(&host));
            let shutdown = wait(stopped.clone());
            tokio::spawn(edge::listener::serve(
                rlistener,
                edge::listener::Transport::Tls(Arc::new(tls)),
                app,
                edge::listener::ConnectionTracker::new("ca-registration", limits),
                shutdown,
            ));
            Some(rlocal)
        }
        None => None,
    };
    host.revocation.spawn_publisher();
    {
        let host = Arc::clone(&host);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(ALLOW_LIST_REFRESH) => {}
                    _ = stopped.changed() => return,
                }
                if let Err(e) = host.refresh_allow_list().await {
                    tracing::error!(error = %e, "RA allow-list refresh failed; keeping the previous one");
                }
            }
        });
    }
    crate::audit_trail::append_or_log(
        &host.store,
        store::AuditKind::ServiceStarted,
        "scepd ca",
        format!("CA service: statements on {local}, registration on {registration:?}"),
    )
    .await;
    if let Some(r) = registration {
        println!(
            "scepd ca registration listening: https://{r}{}",
            link::REGISTER_PATH
        );
    }
    println!("scepd ca listening: https://{local}{}", link::ISSUE_PATH);
    edge::listener::serve(
        listener,
        edge::listener::Transport::Tls(Arc::new(statement_tls)),
        statements,
        edge::listener::ConnectionTracker::new("ca-statements", limits),
        edge::listener::shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    Ok(())
}
