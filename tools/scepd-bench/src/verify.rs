//! Checks every reply after the clock stops: HTTP 200, a CertRep signed by the expected RA
//! (or CA) certificate over our nonce and transactionID, SUCCESS, and an issued certificate
//! for the key of our CSR signed by the CA of GetCACert.

use scep_client::{CaBundle, HttpReply, PkiStatus};

use crate::prepare::Device;

/// The serial number of the issued certificate, or why the enrollment does not count.
pub fn verify_reply(
    device: &Device,
    reply: &HttpReply,
    bundle: &CaBundle,
) -> Result<Vec<u8>, String> {
    if reply.status != 200 {
        return Err(format!("HTTP {}", reply.status));
    }
    let outcome =
        scep_client::read_cert_rep(&reply.body, &device.key, &device.certificate, &device.nonce)
            .map_err(|e| format!("reply: {e}"))?;
    // The RA signing certificate when GetCACert names one (scepd), else the CA (micromdm
    // signs with its CA key).
    let expected_signer = bundle.ra_signing.as_ref().unwrap_or(&bundle.ra_encryption);
    if &outcome.signer_certificate != expected_signer {
        return Err("reply signed by a certificate that is not the RA's".into());
    }
    if outcome.status != PkiStatus::Success {
        return Err(format!(
            "status {:?} {}",
            outcome.status,
            outcome.fail_info_text.unwrap_or_default()
        ));
    }
    if outcome.transaction_id.as_deref() != Some(device.transaction_id.as_str()) {
        return Err("transactionID not echoed".into());
    }
    let issued = outcome
        .certificate
        .ok_or_else(|| "SUCCESS without a certificate".to_owned())?;
    let cert = scep::parse_certificate_lenient(&issued).map_err(|e| format!("issued: {e}"))?;
    if cert.spki_der != device.key.spki_der() {
        return Err("issued certificate is not for the CSR's key".into());
    }
    let ca = scep::parse_certificate_lenient(&bundle.ca).map_err(|e| format!("CA: {e}"))?;
    let alg = keys::SignatureAlgorithm::from_x509(&cert.signature_algorithm_der)
        .map_err(|e| format!("issued signature algorithm: {e}"))?;
    keys::verify::verify_signature(&ca.spki_der, alg, &cert.tbs_der, &cert.signature)
        .map_err(|_| "issued certificate not signed by the CA".to_owned())?;
    Ok(cert.serial)
}
