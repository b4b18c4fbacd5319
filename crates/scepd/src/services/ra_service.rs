//! `scepd ra`: the RA service of a split deployment. The same SCEP service as `scepd serve`
//! (and the same challenge administration), holding only the RA keys; the CA behind it is
//! [`super::ca_link::remote_ca::RemoteCa`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use std::path::PathBuf;

use edge::https_client::ClientError;
use keys::keystore::KeystoreError;
use keys::pem::PemError;

use crate::services::ca_link::remote_ca::UnreadableCaCertificate;
use crate::services::serve::{Loaded, RaSide, ServeError};
use crate::services::tls::TlsError;
use crate::x509::UnreadableCertificate;
use config::deployment::Mode;
use config::{Config, ConfigError};

/// Why the RA service of a split deployment (or its link to the CA, for a command-line tool)
/// could not be set up; each message names the setting, file, key or certificate at fault.
#[derive(Debug, thiserror::Error)]
pub enum RaServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} is prepared for {}, not scepd ra (deployment.mode)", dir.display(), mode.command())]
    WrongMode { dir: PathBuf, mode: Mode },
    #[error(transparent)]
    Certificates(#[from] PemError),
    /// The passphrase, the token, a key file ([`KeystoreError::KeyFile`]) or the agent's
    /// settings.
    #[error(transparent)]
    Keys(#[from] KeystoreError),
    /// A certificate (RA or TLS client) whose public key cannot be read.
    #[error(transparent)]
    Certificate(#[from] UnreadableCertificate),
    /// `what` names the role ("RA signing", "RA encryption", "RA enrollment agent").
    #[error("the {what} certificate does not certify the {what} key")]
    NotCertified { what: &'static str },
    #[error("the RA signing, enrollment-agent, encryption and TLS keys must be different keys")]
    SharedKey,
    /// The TLS client key (`remote_ca.tls_key`).
    #[error(transparent)]
    TlsKey(#[from] edge::tls::KeyFileError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The HTTPS client toward `remote_ca.url`.
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    CaCertificate(#[from] UnreadableCaCertificate),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

struct RaKeys {
    signer: Arc<dyn keys::Signer>,
    /// `None` in a data directory made before the separate enrollment-agent key.
    agent: Option<Arc<dyn keys::Signer>>,
    decrypter: Arc<dyn keys::Decrypter>,
    token: Option<Arc<keys::pkcs11::Pkcs11Token>>,
    unencrypted: bool,
}

fn load_keys(dir: &Path, config: &Config) -> Result<RaKeys, RaServiceError> {
    use keys::keystore::{KeySource, Role, RoleKey};
    let locations = config.key_locations();
    let source = KeySource::open(dir, &locations, None)?;
    Ok(RaKeys {
        signer: source.required(Role::RaSigning)?.into_signer(),
        agent: source.key(Role::RaAgent)?.map(RoleKey::into_signer),
        decrypter: source.required(Role::RaEncryption)?.into_decrypter(),
        token: source.token().cloned(),
        unencrypted: source.unencrypted(),
    })
}

/// Builds the RA service from a data directory prepared with `scepd init --mode ra`.
pub async fn load(dir: &Path) -> Result<Loaded, RaServiceError> {
    let config = Config::load(dir)?;
    if config.deployment.mode != Mode::Ra {
        return Err(RaServiceError::WrongMode {
            dir: dir.to_owned(),
            mode: config.deployment.mode,
        });
    }
    let read = |p: &Path| keys::pem::read_certificate(&dir.join(p));
    let ca_certificate = read(&config.keys.ca_certificate)?;
    let signing_certificate = read(&config.keys.ra_signing_certificate)?;
    let agent_certificate = match &config.keys.ra_agent_certificate {
        Some(path) => Some(read(path)?),
        None => None,
    };
    let encryption_certificate = read(&config.keys.ra_encryption_certificate)?;
    let tls_certificate = read(&config.remote_ca.tls_certificate)?;
    let chain = match &config.keys.ca_chain {
        Some(path) => keys::pem::read_certificates(&dir.join(path))?,
        None => Vec::new(),
    };
    let keys = load_keys(dir, &config)?;
    let agent = keys
        .agent
        .clone()
        .unwrap_or_else(|| Arc::clone(&keys.signer));
    let separate_agent = keys.agent.is_some();
    let agent_certificate = agent_certificate.unwrap_or_else(|| signing_certificate.clone());
    for (what, certificate, key) in [
        (
            "RA signing",
            &signing_certificate,
            keys.signer.public_key_spki_der(),
        ),
        (
            "RA encryption",
            &encryption_certificate,
            keys.decrypter.public_key_spki_der(),
        ),
        (
            "RA enrollment agent",
            &agent_certificate,
            agent.public_key_spki_der(),
        ),
    ] {
        if crate::x509::spki_of(certificate)? != key {
            return Err(RaServiceError::NotCertified { what });
        }
    }
    let tls_spki = crate::x509::spki_of(&tls_certificate)?;
    // One key, one job: no two of the TLS client, signing, agent and encryption keys agree
    // (the agent is the signing key itself only in a data directory made before it existed).
    let mut distinct = vec![
        tls_spki.as_slice(),
        keys.signer.public_key_spki_der(),
        keys.decrypter.public_key_spki_der(),
    ];
    if separate_agent {
        distinct.push(agent.public_key_spki_der());
    }
    if (1..distinct.len()).any(|i| distinct[..i].contains(&distinct[i])) {
        return Err(RaServiceError::SharedKey);
    }
    let client = Arc::new(ca_client(dir, &config, &ca_certificate, tls_certificate)?);
    let authority = Arc::new(super::ca_link::remote_ca::RemoteCa::new(
        Arc::clone(&client),
        &ca_certificate,
    )?);
    let store = config.open_store(dir).await?;
    // The CA is the authority for revocation: this host forwards, mirrors and proxies.
    let revocation = Arc::new(crate::services::revocation::Revocation::remote(
        client,
        &ca_certificate,
        store.clone(),
        config.remote_ca.crl_max_age,
    )?);
    let side = RaSide {
        signer: keys.signer,
        signing_certificate,
        agent,
        agent_certificate,
        separate_agent,
        decrypter: keys.decrypter,
        encryption_certificate,
        ca_certificate,
        chain,
        token: keys.token,
        unencrypted_keys: keys.unencrypted,
    };
    let mut loaded =
        crate::services::serve::assemble(dir, config, side, store, authority, revocation)?;
    // Keeps the mirror of the CA's CRL (what GetCRL serves) current.
    loaded.publishes_crl = true;
    Ok(loaded)
}

/// The RA's mutual-TLS client toward the CA service (`remote_ca.url`), with the RA's TLS
/// client certificate and key from `dir`.
pub fn ca_client(
    dir: &Path,
    config: &Config,
    ca_certificate: &[u8],
    tls_certificate: Vec<u8>,
) -> Result<edge::https_client::HttpsClient, RaServiceError> {
    let mut roots = vec![ca_certificate.to_vec()];
    roots.extend(keys::key_history::previous_ca_certificates(dir)?);
    let tls = super::ca_link::tls::ra_client_config(
        &roots,
        vec![tls_certificate],
        edge::tls::read_key(&dir.join(&config.remote_ca.tls_key))?,
    )?;
    Ok(edge::https_client::HttpsClient::new(
        &config.remote_ca.url,
        tls,
        config.remote_ca.timeout,
    )?)
}

/// The RA's revocation publisher for a command-line tool (`scepd cert revoke` on the RA
/// host): revocations go to the CA.
pub async fn remote_revocation(
    dir: &Path,
    config: &Config,
    store: store::Store,
) -> Result<crate::services::revocation::Revocation, RaServiceError> {
    let read = |p: &Path| keys::pem::read_certificate(&dir.join(p));
    let ca_certificate = read(&config.keys.ca_certificate)?;
    let tls_certificate = read(&config.remote_ca.tls_certificate)?;
    let client = ca_client(dir, config, &ca_certificate, tls_certificate)?;
    Ok(crate::services::revocation::Revocation::remote(
        Arc::new(client),
        &ca_certificate,
        store,
        config.remote_ca.crl_max_age,
    )?)
}

/// Serves SCEP (and the admin listener) until SIGINT/SIGTERM.
pub async fn run(
    dir: &Path,
    scep_listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
) -> Result<(), RaServiceError> {
    let loaded = load(dir).await?;
    tracing::info!(ca = %loaded.config.remote_ca.url, "RA service: statements go to the remote CA");
    crate::services::serve::run_loaded(dir, loaded, scep_listen, admin_listen).await?;
    Ok(())
}
