//! The admin listener's TLS: TLS 1.2 and 1.3 only, ECDHE key exchange with AEAD ciphers only
//! (NIST SP 800-52r2), an operator's certificate or a development one made on first start,
//! and optional client certificates from the configured client CA.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};

use crate::config::{AdminSection, Config};
use crate::io_context::Context;

/// Where the development certificate of the admin listener lives, inside the data directory.
pub const DEV_DIR: &str = "admin-tls";
const DEV_CERTIFICATE: &str = "admin.pem";
const DEV_KEY: &str = "admin.key";

/// Every suite here is ECDHE (TLS 1.2) or TLS 1.3, and AEAD. Nothing with CBC, RSA key
/// transport or SHA-1 MACs can be negotiated, whatever a client offers.
fn cipher_suites() -> Vec<SupportedCipherSuite> {
    use aws_lc_rs::cipher_suite as cs;
    vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: cipher_suites(),
        ..aws_lc_rs::default_provider()
    })
}

/// The certificate and key files the listener uses, and whether they are the development pair.
pub struct Identity {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub development: bool,
}

/// The configured certificate, or the development one (made now if missing).
pub fn identity(dir: &Path, admin: &AdminSection) -> Result<Identity, String> {
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
fn make_development_certificate(folder: &Path, identity: &Identity) -> Result<(), String> {
    std::fs::create_dir_all(folder).context(folder, "creating")?;
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
        .context(folder, "restricting")?;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| format!("admin TLS development key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(|e| format!("admin TLS development certificate: {e}"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "scepd admin listener (development certificate)",
    );
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let certificate = params
        .self_signed(&key)
        .map_err(|e| format!("admin TLS development certificate: {e}"))?;
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    write_private(&identity.private_key, key_pem.as_bytes())?;
    std::fs::write(&identity.certificate, certificate.pem())
        .context(&identity.certificate, "writing")?;
    tracing::info!(
        certificate = %identity.certificate.display(),
        "made a development TLS certificate for the admin listener"
    );
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .context(path, "creating")?;
    file.write_all(bytes).context(path, "writing")?;
    Ok(())
}

/// The rustls configuration of the admin listener.
pub fn server_config(
    dir: &Path,
    config: &Config,
    identity: &Identity,
) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(&identity.certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "{}: admin TLS certificate: {e}",
                identity.certificate.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{}: admin TLS certificate: no CERTIFICATE in the file",
            identity.certificate.display()
        ));
    }
    let key = crate::services::split::tls::read_key(&identity.private_key)?;

    let client_ca = match &config.admin.client_ca {
        Some(path) => dir.join(path),
        None => dir.join(&config.keys.ca_certificate),
    };
    let mut roots = RootCertStore::empty();
    for der in crate::pem::read_certificates(&client_ca)? {
        roots
            .add(CertificateDer::from(der))
            .map_err(|e| format!("{}: admin client CA: {e}", client_ca.display()))?;
    }
    let provider = provider();
    // Client certificates are one way to log in, not required: passwords and tokens are others.
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .map_err(|e| format!("{}: admin client CA: {e}", client_ca.display()))?;
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("admin TLS: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| {
            format!(
                "{} / {}: admin TLS certificate and key do not go together: {e}",
                identity.certificate.display(),
                identity.private_key.display()
            )
        })?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(server)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_ecdhe_aead_suites_are_offered() {
        for suite in cipher_suites() {
            let name = format!("{:?}", suite.suite());
            assert!(
                name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_"),
                "{name}"
            );
            assert!(
                name.contains("GCM") || name.contains("CHACHA20_POLY1305"),
                "{name}"
            );
        }
    }

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
        let err = crate::services::split::tls::read_key(&first.private_key).unwrap_err();
        assert!(err.contains("admin.key") && err.contains("640"), "{err}");
    }
}
