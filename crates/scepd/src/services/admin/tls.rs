//! The admin listener's TLS: the shared versions and suites ([`edge::tls`]), an
//! operator's certificate or a development one made on first start, and optional client
//! certificates from the configured client CA.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use edge::tls::{VERSIONS, provider, read_key, write_private_key};
use keys::io_context::Context;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::services::tls::TlsError;
use config::{AdminSection, Config};

/// Where the development certificate of the admin listener lives, inside the data directory.
pub const DEV_DIR: &str = "admin-tls";
const DEV_CERTIFICATE: &str = "admin.pem";
const DEV_KEY: &str = "admin.key";

/// The certificate and key files the listener uses, and whether they are the development pair.
pub struct Identity {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub development: bool,
}

/// The configured certificate, or the development one (made now if missing).
pub fn identity(dir: &Path, admin: &AdminSection) -> Result<Identity, TlsError> {
    if let (Some(certificate), Some(private_key)) = (&admin.certificate, &admin.private_key) {
        return Ok(Identity {
            certificate: dir.join(certificate),
            private_key: dir.join(private_key),
            development: false,
        });
    }
    let folder = dir.join(DEV_DIR);
    let identity = Identity {
        certificate: folder.join(DEV_CERTIFICATE),
        private_key: folder.join(DEV_KEY),
        development: true,
    };
    if !identity.certificate.exists() {
        make_development_certificate(&folder, &identity)?;
    }
    Ok(identity)
}

/// A self-signed P-256 certificate for localhost, so that the admin page is TLS from the first
/// start; operators replace it with `admin.certificate`.
fn make_development_certificate(folder: &Path, identity: &Identity) -> Result<(), TlsError> {
    std::fs::create_dir_all(folder).context(folder, "creating")?;
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
        .context(folder, "restricting")?;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| {
        TlsError::Generate {
            what: "admin TLS development key",
            source,
        }
    })?;
    let development_certificate = |source| TlsError::Generate {
        what: "admin TLS development certificate",
        source,
    };
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(development_certificate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "scepd admin listener (development certificate)",
    );
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let certificate = params.self_signed(&key).map_err(development_certificate)?;
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    write_private_key(&identity.private_key, key_pem.as_bytes())?;
    std::fs::write(&identity.certificate, certificate.pem())
        .context(&identity.certificate, "writing")?;
    tracing::info!(
        certificate = %identity.certificate.display(),
        "made a development TLS certificate for the admin listener"
    );
    Ok(())
}

/// The rustls configuration of the admin listener.
pub fn server_config(
    dir: &Path,
    config: &Config,
    identity: &Identity,
) -> Result<ServerConfig, TlsError> {
    let chain = CertificateDer::pem_file_iter(&identity.certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Pem {
            what: format!("{}: admin TLS certificate", identity.certificate.display()),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: identity.certificate.clone(),
        });
    }
    let key = read_key(&identity.private_key)?;

    let client_ca = match &config.admin.client_ca {
        Some(path) => dir.join(path),
        None => dir.join(&config.keys.ca_certificate),
    };
    let client_ca_what = || format!("{}: admin client CA", client_ca.display());
    let mut roots = RootCertStore::empty();
    for der in keys::pem::read_certificates(&client_ca)? {
        roots
            .add(CertificateDer::from(der))
            .map_err(|source| TlsError::Rustls {
                what: client_ca_what(),
                source,
            })?;
    }
    let provider = provider();
    // Client certificates are one way to log in, not required: passwords and tokens are others.
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .map_err(|source| TlsError::Verifier {
                what: client_ca_what(),
                source,
            })?;
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)
        .map_err(|source| TlsError::Rustls {
            what: "admin TLS".into(),
            source,
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::Rustls {
            what: format!(
                "{} / {}: admin TLS certificate and key do not go together",
                identity.certificate.display(),
                identity.private_key.display()
            ),
            source,
        })?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(server)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_development_certificate_is_made_once_with_a_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminSection::default();
        let first = identity(dir.path(), &admin).unwrap();
        assert!(first.development);
        let mode = std::fs::metadata(&first.private_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let pem = std::fs::read_to_string(&first.certificate).unwrap();
        let second = identity(dir.path(), &admin).unwrap();
        assert_eq!(std::fs::read_to_string(&second.certificate).unwrap(), pem);
    }

    #[test]
    fn a_group_readable_key_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = identity(dir.path(), &AdminSection::default()).unwrap();
        std::fs::set_permissions(&first.private_key, std::fs::Permissions::from_mode(0o640))
            .unwrap();
        let err = read_key(&first.private_key).unwrap_err().to_string();
        assert!(err.contains("admin.key") && err.contains("640"), "{err}");
    }
}
