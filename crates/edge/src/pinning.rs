//! TLS peers recognised by the SHA-256 of a certificate: a server that admits only client
//! certificates on an allow-list, checked inside the handshake after the usual chain
//! verification (so an unlisted client never sends a byte of HTTP), and a client that accepts
//! a server only if its chain holds a pinned CA certificate. A split deployment's CA and RA
//! use both; the lists and pins are theirs.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    SignatureScheme,
};
use sha2::{Digest, Sha256};

use crate::tls::{VERSIONS, provider};

/// SHA-256 of a certificate's DER: how the allow-list names a TLS client certificate.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The SHA-256 of the TLS client certificates of registered, unrevoked RAs.
#[derive(Debug, Default)]
pub struct AllowList(RwLock<HashSet<[u8; 32]>>);

impl AllowList {
    pub fn replace(&self, entries: HashSet<[u8; 32]>) {
        if let Ok(mut set) = self.0.write() {
            *set = entries;
        }
    }

    pub fn insert(&self, entry: [u8; 32]) {
        if let Ok(mut set) = self.0.write() {
            set.insert(entry);
        }
    }

    /// False also when the lock is poisoned: fail closed.
    pub fn contains(&self, entry: &[u8; 32]) -> bool {
        self.0.read().is_ok_and(|set| set.contains(entry))
    }
}

/// WebPKI client verification against the CA certificate(s), then the allow-list: a
/// certificate the CA issued to something else (a device, a revoked RA) fails the handshake.
#[derive(Debug)]
pub struct AllowListVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allow: Arc<AllowList>,
}

impl AllowListVerifier {
    /// `inner` verifies the chain (WebPKI against the issuing CA); the allow-list then decides.
    pub fn new(inner: Arc<dyn ClientCertVerifier>, allow: Arc<AllowList>) -> Self {
        AllowListVerifier { inner, allow }
    }
}

impl ClientCertVerifier for AllowListVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if !self.allow.contains(&fingerprint(end_entity.as_ref())) {
            tracing::warn!(
                certificate_sha256 = %hex::encode(fingerprint(end_entity.as_ref())),
                "TLS client certificate is not on the allow-list"
            );
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Registration, before the RA has the CA certificate: the server's chain must contain a
/// certificate with the pinned SHA-256, and the server certificate must verify under it.
#[derive(Debug)]
struct PinnedCaVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(ca) = intermediates
            .iter()
            .find(|c| fingerprint(c.as_ref()) == self.pin)
        else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        };
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&self.provider),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client that presents no certificate and recognises the server by the SHA-256 `pin` of a
/// CA certificate in its chain (a split deployment's RA registering with its CA).
pub fn pinned_client_config(pin: [u8; 32]) -> Result<ClientConfig, rustls::Error> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCaVerifier { pin, provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Parses a SHA-256 fingerprint written as 64 hex digits, with or without colons.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], NotAFingerprint> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits.trim(), &mut out).map_err(|_| NotAFingerprint(text.to_owned()))?;
    Ok(out)
}

/// The text given as a fingerprint is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SHA-256 fingerprint (64 hex digits)")]
pub struct NotAFingerprint(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_64_hex_digits_with_or_without_colons() {
        let plain = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let colons: String = plain
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":");
        let expected = parse_fingerprint(plain);
        assert!(expected.is_ok());
        assert_eq!(parse_fingerprint(&colons), expected);
        assert_eq!(parse_fingerprint(&format!(" {plain}\n")), expected);
        for bad in [&plain[1..], "zz", "", &format!("{plain}00")] {
            assert_eq!(
                parse_fingerprint(bad),
                Err(NotAFingerprint(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_allow_list_admits_exactly_its_entries() {
        let list = AllowList::default();
        let a = fingerprint(b"certificate a");
        let b = fingerprint(b"certificate b");
        assert!(!list.contains(&a));
        list.insert(a);
        assert!(list.contains(&a) && !list.contains(&b));
        list.replace(HashSet::from([b]));
        assert!(!list.contains(&a) && list.contains(&b));
    }
}
