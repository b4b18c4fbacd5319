//! The RA's way to a CA on another host: the [`ra::CertificateAuthority`] of `scepd ra`. It
//! POSTs the signed statement over mutual TLS and turns the answer into the one vocabulary
//! (`request::answer`): the only place the RA reads the link's wire form of an answer.

use std::sync::Arc;

use ra::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};
use sha2::{Digest, Sha256};

use edge::https_client::HttpsClient;
use request::link;

pub struct RemoteCa {
    client: Arc<HttpsClient>,
    /// The CA certificate: a returned certificate must be signed by it.
    ca_spki: Vec<u8>,
}

/// The CA certificate `remote_ca` was given does not decode, or its public key does not
/// re-encode.
#[derive(Debug, thiserror::Error)]
#[error("CA certificate: {0}")]
pub struct UnreadableCaCertificate(#[source] der::Error);

impl RemoteCa {
    pub fn new(
        client: Arc<HttpsClient>,
        ca_certificate: &[u8],
    ) -> Result<Self, UnreadableCaCertificate> {
        use der::{Decode, Encode};
        let ca =
            x509_cert::Certificate::from_der(ca_certificate).map_err(UnreadableCaCertificate)?;
        let ca_spki = ca
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(UnreadableCaCertificate)?;
        Ok(Self { client, ca_spki })
    }
}

/// Checks that `der` is signed by the CA key (the link is authenticated, but a certificate is
/// cheap to check and a wrong one must never reach a device), and returns the SHA-256 of the
/// key it certifies, read in the same pass.
fn check_signed_by(der: &[u8], ca_spki: &[u8]) -> Result<[u8; 32], CaRefusal> {
    use der::{Decode, Encode};
    let unusable = |what: String| CaRefusal::Unavailable(what);
    let cert =
        x509_cert::Certificate::from_der(der).map_err(|e| unusable(format!("certificate: {e}")))?;
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| unusable(e.to_string()))?;
    let alg = cert
        .signature_algorithm()
        .to_der()
        .map_err(|e| unusable(e.to_string()))?;
    let alg = keys::SignatureAlgorithm::from_x509(&alg).map_err(|e| unusable(e.to_string()))?;
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| unusable("certificate signature is not octet-aligned".to_owned()))?;
    keys::verify::verify_signature(ca_spki, alg, &tbs, signature)
        .map_err(|e| unusable(format!("the CA's answer is not signed by the CA key: {e}")))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| unusable(format!("certificate: {e}")))?;
    Ok(Sha256::digest(&spki).into())
}

/// The link's answer (`status`, `body`) as the one vocabulary.
fn answer(status: u16, body: &[u8], ca_spki: &[u8]) -> Result<IssuedCertificate, CaRefusal> {
    if status != 200 {
        let refused: link::Refusal = serde_json::from_slice(body).map_err(|_| {
            CaRefusal::Unavailable(format!("the CA answered HTTP {status} without a refusal"))
        })?;
        return Err(CaRefusal::from_wire(
            &refused.code,
            refused.reason,
            refused.bad_alg,
        ));
    }
    let issued: link::Issued = serde_json::from_slice(body)
        .map_err(|e| CaRefusal::Unavailable(format!("the CA's answer does not parse: {e}")))?;
    if issued.version != link::VERSION {
        return Err(CaRefusal::Unavailable(format!(
            "CA protocol version {}",
            issued.version
        )));
    }
    let der = link::unb64(&issued.certificate, "certificate")
        .map_err(|e| CaRefusal::Unavailable(e.to_string()))?;
    let subject_key_sha256 = check_signed_by(&der, ca_spki)?;
    Ok(IssuedCertificate {
        der,
        serial_hex: issued.serial,
        subject: issued.subject,
        not_before: issued.not_before,
        not_after: issued.not_after,
        template: issued.template,
        subject_key_sha256,
    })
}

impl CertificateAuthority for RemoteCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], _now: i64) -> IssueFuture<'a> {
        Box::pin(async move {
            let (status, body) = self
                .client
                .post(
                    link::ISSUE_PATH,
                    link::STATEMENT_CONTENT_TYPE,
                    statement_der.to_vec(),
                    link::MAX_ANSWER_LEN,
                )
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "the CA could not be reached");
                    CaRefusal::Unavailable(format!("CA unreachable: {e}"))
                })?;
            answer(status, &body, &self.ca_spki)
        })
    }
}
