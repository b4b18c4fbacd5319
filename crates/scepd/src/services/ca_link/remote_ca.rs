//! The RA's way to a CA on another host: the [`ra::CertificateAuthority`] of `scepd ra`. It
//! POSTs the signed statement over mutual TLS and turns the answer into a certificate or a
//! refusal (which the pipeline maps to failInfo badRequest, or badAlg when the CA says so).

use std::sync::Arc;

use ra::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};

use super::client::HttpsClient;
use super::protocol;

pub struct RemoteCa {
    client: Arc<HttpsClient>,
    /// The CA certificate: a returned certificate must be signed by it.
    ca_spki: Vec<u8>,
}

impl RemoteCa {
    pub fn new(client: Arc<HttpsClient>, ca_certificate: &[u8]) -> Result<Self, String> {
        use der::{Decode, Encode};
        let ca = x509_cert::Certificate::from_der(ca_certificate)
            .map_err(|e| format!("CA certificate: {e}"))?;
        let ca_spki = ca
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("CA certificate: {e}"))?;
        Ok(Self { client, ca_spki })
    }
}

fn refusal(reason: String) -> CaRefusal {
    CaRefusal {
        reason,
        bad_alg: false,
    }
}

/// Checks that `der` is signed by the CA key (the link is authenticated, but a certificate is
/// cheap to check and a wrong one must never reach a device).
fn check_signed_by(der: &[u8], ca_spki: &[u8]) -> Result<(), String> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| format!("certificate: {e}"))?;
    let tbs = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
    let alg = cert
        .signature_algorithm()
        .to_der()
        .map_err(|e| e.to_string())?;
    let alg = keys::SignatureAlgorithm::from_x509(&alg).map_err(|e| e.to_string())?;
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or("certificate signature is not octet-aligned")?;
    keys::verify::verify_signature(ca_spki, alg, &tbs, signature)
        .map_err(|e| format!("the CA's answer is not signed by the CA key: {e}"))
}

impl CertificateAuthority for RemoteCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], _now: i64) -> IssueFuture<'a> {
        Box::pin(async move {
            let (status, body) = self
                .client
                .post(
                    protocol::ISSUE_PATH,
                    protocol::STATEMENT_CONTENT_TYPE,
                    statement_der.to_vec(),
                    protocol::MAX_ANSWER_LEN,
                )
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "the CA could not be reached");
                    refusal(format!("CA unreachable: {e}"))
                })?;
            if status != 200 {
                let refused: protocol::Refusal = serde_json::from_slice(&body).map_err(|_| {
                    refusal(format!("the CA answered HTTP {status} without a refusal"))
                })?;
                return Err(CaRefusal {
                    reason: format!("CA refused ({}): {}", refused.code, refused.reason),
                    bad_alg: refused.bad_alg,
                });
            }
            let issued: protocol::Issued = serde_json::from_slice(&body)
                .map_err(|e| refusal(format!("the CA's answer does not parse: {e}")))?;
            if issued.version != protocol::VERSION {
                return Err(refusal(format!("CA protocol version {}", issued.version)));
            }
            let der = protocol::unb64(&issued.certificate, "certificate").map_err(refusal)?;
            check_signed_by(&der, &self.ca_spki).map_err(refusal)?;
            Ok(IssuedCertificate {
                der,
                serial_hex: issued.serial,
                subject: issued.subject,
                not_before: issued.not_before,
                not_after: issued.not_after,
                template: issued.template,
            })
        })
    }
}
