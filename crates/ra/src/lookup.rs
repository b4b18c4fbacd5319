//! What the RA answers from its records alone, never reaching the CA: GetCert, GetCRL, a
//! certificate by serial, and the certificates a transactionID already led to.

use ledger::ra::RaLedger;
use scep::ContentCipher;

use crate::error::EnrollError;
use crate::reply::Granted;

/// Every certificate issued under `transaction_id`, whatever key asked.
pub(crate) async fn transactions(
    ledger: &dyn RaLedger,
    transaction_id: &str,
) -> Result<Vec<ledger::TransactionRecord>, EnrollError> {
    ledger
        .find_transactions(transaction_id)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))
}

/// A certificate our records say was issued (a held request's, once it was): its absence is
/// our fault, not the client's.
pub(crate) async fn issued_certificate(
    ledger: &dyn RaLedger,
    serial_hex: &str,
    cipher: ContentCipher,
) -> Result<Granted, EnrollError> {
    let found = ledger
        .find_certificate(serial_hex)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?;
    match found {
        Some(c) => Ok(Granted::Certificate {
            certificate: c.certificate_der,
            cipher,
        }),
        None => Err(EnrollError::Internal(format!(
            "issued certificate {serial_hex} missing"
        ))),
    }
}

/// GetCert: a certificate we issued, by issuer and serial. `cas` are our CA certificates, the
/// current one first.
pub(crate) async fn get_cert(
    ledger: &dyn RaLedger,
    cas: &[scep::LenientCertificate],
    issuer_der: &[u8],
    serial: &[u8],
    cipher: ContentCipher,
) -> Result<Granted, EnrollError> {
    // A previous CA usually has the current CA's name (a rollover keeps it); the serial
    // lookup finds what either issued, and only certificates we recorded are served.
    if !cas.iter().any(|ca| ca.subject_der == issuer_der) {
        return Err(EnrollError::NotFound("issuer is not our CA".into()));
    }
    let serial_hex = crate::facts::serial_hex(serial);
    let found = ledger
        .find_certificate(&serial_hex)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?;
    match found {
        Some(c) => Ok(Granted::Certificate {
            certificate: c.certificate_der,
            cipher,
        }),
        None => Err(EnrollError::NotFound(format!("serial {serial_hex}"))),
    }
}

/// GetCRL (RFC 8894 §3.3.4): the current CRL of our CA (`cas`, the current one first).
pub(crate) async fn get_crl(
    ledger: &dyn RaLedger,
    cas: &[scep::LenientCertificate],
    issuer_der: &[u8],
    cipher: ContentCipher,
) -> Result<Granted, EnrollError> {
    let current = cas.first().map(|c| c.subject_der.as_slice());
    if current != Some(issuer_der) {
        return Err(EnrollError::NotFound(
            "GetCRL for an issuer that is not our current CA".into(),
        ));
    }
    let state = ledger
        .crl_state()
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?;
    match state.published {
        Some(published) => Ok(Granted::Crl {
            crl: published.der,
            cipher,
        }),
        None => Err(EnrollError::Unavailable("no CRL has been published yet")),
    }
}
