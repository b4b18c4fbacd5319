//! The mock's TLS: a throw-away CA (the trust root handed to the client under test) and a
//! server certificate it signed for 127.0.0.1 and localhost.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::MockError;

pub(crate) struct ServerTls {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) ca_der: Vec<u8>,
}

fn rcgen_error(what: &'static str) -> impl Fn(rcgen::Error) -> MockError {
    move |e| MockError::Tls(format!("{what}: {e}"))
}

pub(crate) fn server_tls() -> Result<ServerTls, MockError> {
    let ca_key = KeyPair::generate().map_err(rcgen_error("CA key"))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error("CA"))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Mock Intune test CA");
    let ca = ca_params
        .self_signed(&ca_key)
        .map_err(rcgen_error("CA certificate"))?;

    let server_key = KeyPair::generate().map_err(rcgen_error("server key"))?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned()]).map_err(rcgen_error("server"))?;
    server_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    server_params
        .distinguished_name
        .push(DnType::CommonName, "mock-intune");
    let issuer = Issuer::new(ca_params, &ca_key);
    let server = server_params
        .signed_by(&server_key, &issuer)
        .map_err(rcgen_error("server certificate"))?;

    let chain = vec![
        CertificateDer::from(server.der().to_vec()),
        CertificateDer::from(ca.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| MockError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| MockError::Tls(e.to_string()))?;
    Ok(ServerTls {
        config: Arc::new(config),
        ca_der: ca.der().to_vec(),
    })
}
