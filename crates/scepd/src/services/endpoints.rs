//! The named SCEP endpoints of `scepd.toml`, built into what the RA checks challenges with:
//! one-time challenges, or a verifier (Intune, a webhook, a signed challenge) made from its
//! settings and the files they name. Wiring only: what a verifier decides is its crate's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use config::Config;
use config::mdm::{ChallengeKind, EndpointConfig, IntuneSection, SignedConfig, WebhookConfig};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, pem::PemObject as _};
use zeroize::Zeroizing;

/// Why an endpoint's verifier could not be built; each names the endpoint or section and
/// the setting.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{at}: {setting} = {}: {reason}", path.display())]
    File {
        at: String,
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{at}: {reason}")]
    Verifier { at: String, reason: String },
}

/// The named endpoints, and the Intune client when an endpoint uses Intune (the revocation
/// poller shares it).
pub struct Endpoints {
    pub endpoints: Vec<ra::Endpoint>,
    pub intune: Option<Arc<intune::IntuneClient>>,
}

/// The RA's endpoints for `config`'s `[[endpoints]]`. `[intune]` is read only when an
/// endpoint uses it.
pub fn build(config: &Config, data_dir: &Path) -> Result<Endpoints, EndpointError> {
    let uses_intune = config
        .endpoints
        .iter()
        .any(|e| e.challenge == ChallengeKind::Intune);
    let intune = match (&config.intune, uses_intune) {
        (Some(section), true) => Some(Arc::new(intune_client(section, data_dir)?)),
        _ => None,
    };
    let mut endpoints = Vec::with_capacity(config.endpoints.len());
    for endpoint in &config.endpoints {
        let at = format!("endpoint {:?}", endpoint.name);
        let challenge = match endpoint.challenge {
            ChallengeKind::OneTime => ra::ChallengeCheck::OneTime,
            ChallengeKind::Intune => match &intune {
                Some(client) => verifier(intune::IntuneVerifier::new(Arc::clone(client))),
                None => {
                    return Err(EndpointError::Verifier {
                        at,
                        reason: "challenge = \"intune\" needs the [intune] section".into(),
                    });
                }
            },
            ChallengeKind::Webhook => verifier(webhook_verifier(&at, endpoint, data_dir)?),
            ChallengeKind::Signed => verifier(signed_verifier(&at, endpoint, data_dir)?),
        };
        endpoints.push(ra::Endpoint {
            name: endpoint.name.clone(),
            template: endpoint.template.clone(),
            challenge,
        });
    }
    Ok(Endpoints { endpoints, intune })
}

fn verifier(verifier: impl vouch::ChallengeVerifier + 'static) -> ra::ChallengeCheck {
    ra::ChallengeCheck::Verifier(Arc::new(verifier))
}

fn file_error(
    at: &str,
    setting: &'static str,
    path: &Path,
    reason: impl ToString,
) -> EndpointError {
    EndpointError::File {
        at: at.to_owned(),
        setting,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A secret from a file only its owner can read, without its trailing newline.
fn secret(
    at: &str,
    setting: &'static str,
    path: &Path,
) -> Result<Zeroizing<String>, EndpointError> {
    keys::secret::read_secret(Some(path), "").map_err(|e| file_error(at, setting, path, e))
}

/// Every certificate of a PEM file (trust roots, a client certificate chain).
fn certificates(
    at: &str,
    setting: &'static str,
    path: &Path,
) -> Result<Vec<Vec<u8>>, EndpointError> {
    let found = keys::pem::read_certificates(path).map_err(|e| file_error(at, setting, path, e))?;
    if found.is_empty() {
        return Err(file_error(at, setting, path, "no certificate in it"));
    }
    Ok(found)
}

fn intune_client(
    section: &IntuneSection,
    data_dir: &Path,
) -> Result<intune::IntuneClient, EndpointError> {
    let at = "[intune]";
    let credential = match (
        &section.client_secret_file,
        &section.client_certificate,
        &section.client_key,
    ) {
        (Some(file), _, _) => {
            intune::Credential::Secret(secret(at, "client_secret_file", &data_dir.join(file))?)
        }
        (None, Some(certificate), Some(key)) => {
            let certificate_path = data_dir.join(certificate);
            let certificate_der = keys::pem::read_certificate(&certificate_path)
                .map_err(|e| file_error(at, "client_certificate", &certificate_path, e))?;
            let key_path = data_dir.join(key);
            // The key signs client assertions toward Entra ID: the RA's own outward identity.
            let key = keys::software::SoftwareKey::load(keys::KeyRole::RaSigning, &key_path)
                .and_then(|k| k.into_signer(keys::KeyRole::RaSigning))
                .map_err(|e| file_error(at, "client_key", &key_path, e))?;
            intune::Credential::Certificate {
                certificate_der,
                key,
            }
        }
        _ => {
            return Err(EndpointError::Verifier {
                at: at.into(),
                reason: "set client_secret_file, or client_certificate with client_key".into(),
            });
        }
    };
    let mut settings = intune::IntuneSettings::new(&section.tenant, &section.client_id, credential);
    settings.login_url.clone_from(&section.login_url);
    settings.graph_url.clone_from(&section.graph_url);
    settings
        .intune_resource
        .clone_from(&section.intune_resource);
    settings.timeout = section.timeout;
    if let Some(roots) = &section.tls_ca_file {
        settings.extra_trust_roots = certificates(at, "tls_ca_file", &data_dir.join(roots))?;
    }
    intune::IntuneClient::new(settings).map_err(|e| EndpointError::Verifier {
        at: at.into(),
        reason: e.to_string(),
    })
}

fn webhook_verifier(
    at: &str,
    endpoint: &EndpointConfig,
    data_dir: &Path,
) -> Result<webhook::WebhookVerifier, EndpointError> {
    let Some(config) = &endpoint.webhook else {
        return Err(EndpointError::Verifier {
            at: at.into(),
            reason: "challenge = \"webhook\" needs an [endpoints.webhook] table".into(),
        });
    };
    let WebhookConfig {
        url,
        secret_file,
        notify_url,
        tls_ca_file,
        client_certificate,
        client_key,
        timeout,
    } = config;
    let key = secret(at, "webhook.secret_file", &data_dir.join(secret_file))?;
    let mut settings =
        webhook::WebhookSettings::new(url.clone(), Zeroizing::new(key.as_bytes().to_vec()));
    settings.notify_url.clone_from(notify_url);
    settings.timeout = *timeout;
    if let Some(roots) = tls_ca_file {
        settings.extra_roots = certificates(at, "webhook.tls_ca_file", &data_dir.join(roots))?
            .into_iter()
            .map(CertificateDer::from)
            .collect();
    }
    if let (Some(certificate), Some(key)) = (client_certificate, client_key) {
        let chain = certificates(
            at,
            "webhook.client_certificate",
            &data_dir.join(certificate),
        )?;
        let key_path = data_dir.join(key);
        let pem = secret(at, "webhook.client_key", &key_path)?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
            file_error(
                at,
                "webhook.client_key",
                &key_path,
                format!("not a PKCS#8 PEM key: {e}"),
            )
        })?;
        settings.client_identity = Some(webhook::ClientIdentity {
            certificate_chain: chain.into_iter().map(CertificateDer::from).collect(),
            key_pkcs8_der: Zeroizing::new(der.secret_pkcs8_der().to_vec()),
        });
    }
    webhook::WebhookVerifier::new(settings).map_err(|e| EndpointError::Verifier {
        at: at.into(),
        reason: format!("webhook: {e}"),
    })
}

fn signed_verifier(
    at: &str,
    endpoint: &EndpointConfig,
    data_dir: &Path,
) -> Result<signed_challenge::SignedChallengeVerifier, EndpointError> {
    let Some(SignedConfig { keys, max_lifetime }) = &endpoint.signed else {
        return Err(EndpointError::Verifier {
            at: at.into(),
            reason: "challenge = \"signed\" needs an [endpoints.signed] table".into(),
        });
    };
    let mut trusted = Vec::with_capacity(keys.len());
    for key in keys {
        let path = data_dir.join(&key.public_key_file);
        let pem = std::fs::read(&path)
            .map_err(|e| file_error(at, "signed.keys.public_key_file", &path, e))?;
        trusted.push(
            signed_challenge::TrustedKey::from_spki_pem(&key.kid, &pem)
                .map_err(|e| file_error(at, "signed.keys.public_key_file", &path, e))?,
        );
    }
    let mut settings = signed_challenge::Settings::new(trusted);
    settings.max_lifetime = *max_lifetime;
    signed_challenge::SignedChallengeVerifier::new(settings).map_err(|e| EndpointError::Verifier {
        at: at.into(),
        reason: format!("signed: {e}"),
    })
}
