//! Keys and certificates for the unit tests.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

/// A self-signed RSA-2048 certificate and its key as a `keys::Signer`.
pub(crate) fn rsa_certificate() -> (Vec<u8>, Arc<dyn keys::Signer>) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["scepd-intune-app".to_owned()])
        .unwrap()
        .self_signed(&pair)
        .unwrap();
    let key = keys::software::SoftwareKey::from_pkcs8_der(
        keys::KeyRole::RaSigning,
        &pair.serialize_der(),
    )
    .unwrap();
    (certificate.der().to_vec(), Arc::new(key))
}
