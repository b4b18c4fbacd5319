//! Requests held for manual approval (RFC 8894 §3.3.2 PENDING): holding one, answering for it
//! (PENDING while it waits, FAILURE once denied, the certificate once approved), and the
//! CertPoll / GetCertInitial (§3.3.3) that asks. An approved request is issued on the
//! device's next poll, through the same gate and CA check as any request.

use ledger::ra::RaLedger;
use scep::ContentCipher;

use crate::context::RequestContext;
use crate::error::EnrollError;
use crate::gate::{Approved, ForApproval};
use crate::outcome::Trace;
use crate::record::{self, Completed};
use crate::reply::Granted;
use crate::service::Ra;
use crate::verify::VerifiedSignature;

/// Holds a request the gate admitted for an officer (template `manual_approval`). The
/// challenge is spent now, in the same transaction, so it cannot be replayed meanwhile.
pub(crate) async fn hold(
    ra: &Ra,
    held: ForApproval,
    transaction_id: &str,
    hashes: ([u8; 32], [u8; 32]),
    context: &RequestContext,
) -> Result<Granted, EnrollError> {
    let id = record::held(ra.ledger(), &held, transaction_id, hashes, context).await?;
    tracing::info!(transaction_id, request = id, "request held for approval");
    Ok(Granted::Pending)
}

/// Requests held for approval under this transactionID and signer key (never another
/// requester's), oldest first.
pub(crate) async fn held_requests(
    ledger: &dyn RaLedger,
    transaction_id: &str,
    signer_key_hash: &[u8; 32],
) -> Result<Vec<ledger::PendingRecord>, EnrollError> {
    ledger
        .find_pending(transaction_id, signer_key_hash)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))
}

/// The answer for a held request: PENDING while it waits, the certificate once approved
/// (issued now, on this poll, through the CA like any other request), FAILURE if denied.
pub(crate) async fn answer(
    ra: &Ra,
    record: ledger::PendingRecord,
    context: &RequestContext,
    cipher: ContentCipher,
) -> Result<Granted, EnrollError> {
    match &record.state {
        ledger::PendingState::Pending => Ok(Granted::Pending),
        ledger::PendingState::Denied { reason, .. } => Err(EnrollError::Denied(reason.clone())),
        ledger::PendingState::Issued { serial_hex, .. } => {
            crate::lookup::issued_certificate(ra.ledger(), serial_hex, cipher).await
        }
        ledger::PendingState::Approved { .. } => issue_approved(ra, record, context, cipher).await,
        _ => Err(EnrollError::Internal("unknown held request state".into())),
    }
}

/// Issues an approved request. The CA re-checks the template within the binding the request
/// was held under (an operator's approval never widens either); a refusal moves the request
/// to denied so the device stops polling.
async fn issue_approved(
    ra: &Ra,
    record: ledger::PendingRecord,
    context: &RequestContext,
    cipher: ContentCipher,
) -> Result<Granted, EnrollError> {
    let (id, transaction_id) = (record.id, record.transaction_id.clone());
    let approved = Approved::from_held(record)?;
    let countersigned = match ra
        .counter_signer()
        .issue(approved, &transaction_id, &context.peer, context.now)
        .await
    {
        Ok(countersigned) => countersigned,
        Err(error) => {
            record::ca_refusal(ra.ledger(), id, &error.to_string(), context.now).await;
            return Err(error);
        }
    };
    let issued = &countersigned.issued;
    match record::approved_issuance(ra.ledger(), (id, &transaction_id), issued, context).await? {
        Completed::Now(certificate) => Ok(Granted::Certificate {
            certificate,
            cipher,
        }),
        // A concurrent poll completed it first: answer with that certificate.
        Completed::Before => {
            let again = ra
                .ledger()
                .pending_request(id)
                .await
                .map_err(|e| EnrollError::Internal(e.to_string()))?;
            match again.map(|r| r.state) {
                Some(ledger::PendingState::Issued { serial_hex, .. }) => {
                    crate::lookup::issued_certificate(ra.ledger(), &serial_hex, cipher).await
                }
                _ => Err(EnrollError::Internal("held request changed state".into())),
            }
        }
    }
}

/// CertPoll (GetCertInitial): only the requester that signed the original transaction gets
/// its certificate; everyone else learns nothing.
pub(crate) async fn poll(
    ra: &Ra,
    signature: &VerifiedSignature<'_>,
    context: &RequestContext,
    transaction_id: &str,
    (issuer_der, subject_der): (&[u8], &[u8]),
    cipher: ContentCipher,
    trace: &mut Trace,
) -> Result<Granted, EnrollError> {
    let signer_key_hash = signature.signer_key_sha256();
    let found = crate::lookup::transactions(ra.ledger(), transaction_id)
        .await?
        .into_iter()
        .filter(|t| t.signer_key_sha256 == signer_key_hash)
        .map(|t| t.certificate_der)
        .rfind(|der| {
            scep::parse_certificate_lenient(der)
                .is_ok_and(|c| c.issuer_der == issuer_der && c.subject_der == subject_der)
        });
    if let Some(certificate) = found {
        return Ok(Granted::Certificate {
            certificate,
            cipher,
        });
    }
    // A held request of this requester, for this subject: its state answers.
    let held = held_requests(ra.ledger(), transaction_id, &signer_key_hash)
        .await?
        .into_iter()
        .rev()
        .find(|r| request::csr::inspect(&r.csr_der).is_ok_and(|c| c.subject_der == subject_der));
    match held {
        Some(record) => {
            trace.template = ra.config().configured_template_name(&record.template);
            answer(ra, record, context, cipher).await
        }
        None => Err(EnrollError::NotFound(format!(
            "poll for transaction {transaction_id}"
        ))),
    }
}
