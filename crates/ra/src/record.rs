//! What the RA writes to its ledger, and the audit text that goes with it: an issued
//! certificate (spending its challenge), a held request, an approved request's certificate or
//! the CA's refusal of it, deliveries and audit entries.

use ledger::ra::RaLedger;
use ledger::{AuditEvent, AuditKind, Issuance, StoreError};

use crate::authority::IssuedCertificate;
use crate::challenge_check::ChallengeKind;
use crate::context::RequestContext;
use crate::countersign::Countersigned;
use crate::error::{ChallengeFailure, EnrollError};
use crate::gate::ForApproval;

/// Appends an audit entry; a failure is logged, never turned into a different answer.
pub(crate) async fn audit(
    ledger: &dyn RaLedger,
    context: &RequestContext,
    kind: AuditKind,
    detail: String,
) {
    let event = AuditEvent {
        at: context.now,
        kind,
        actor: context.peer.clone(),
        detail,
    };
    if let Err(e) = ledger.append_audit(event).await {
        tracing::error!(error = %e, "audit append failed");
    }
}

/// RFC 8894 §8.4: records that this certificate reached its holder: a SUCCESS reply carrying
/// it was written out (first answer, retry, CertPoll or GetCert), or its holder proved
/// possession of it (a renewal it signed). Uncollected certificates are the others.
pub(crate) async fn mark_delivered(ledger: &dyn RaLedger, serial_hex: &str, now: i64) {
    if let Err(e) = ledger.mark_delivered(serial_hex, now).await {
        tracing::warn!(serial = serial_hex, error = %e, "could not record delivery");
    }
}

/// Which challenge an issuance used, by its audit id (never the challenge): the audit log
/// links "challenge issued" to "challenge used".
fn challenge_note(challenge: Option<&ChallengeKind>) -> String {
    challenge
        .and_then(ChallengeKind::spent_hash)
        .map(|h| format!(", challenge {} used", ledger::challenge_audit_id(h)))
        .unwrap_or_default()
}

/// ", vouched by VERIFIER" for audit details of requests an outside verifier vouched for.
fn vouched_note(challenge: Option<&ChallengeKind>) -> String {
    challenge
        .and_then(ChallengeKind::vouched_by)
        .map(|v| {
            let validated = if v.csr_validated {
                " (CSR validated)"
            } else {
                ""
            };
            format!(", vouched by {}{validated}", v.by)
        })
        .unwrap_or_default()
}

/// ", authorised by SETTING (insecure)" for audit details, empty for the secure paths.
fn insecure_note(challenge: Option<&ChallengeKind>) -> String {
    challenge
        .and_then(ChallengeKind::insecure_setting)
        .map(|s| format!(", authorised by {s} (INSECURE opt-in)"))
        .unwrap_or_default()
}

/// How recording a certificate went.
pub(crate) enum Recorded {
    /// Recorded, and recorded delivered.
    Now,
    /// The transaction was recorded first by another request: a concurrent identical one, or
    /// another key's (the caller tells them apart).
    TransactionTaken,
}

/// Commits the certificate (and consumes its challenge) before any reply leaves, not yet
/// delivered: that is recorded once the reply was written out (see `Ra::record_delivered`).
pub(crate) async fn issuance(
    ledger: &dyn RaLedger,
    countersigned: &Countersigned,
    transaction_id: &str,
    (signer_key_sha256, request_sha256): ([u8; 32], [u8; 32]),
    context: &RequestContext,
) -> Result<Recorded, EnrollError> {
    let issued = &countersigned.issued;
    let challenge = countersigned.challenge.as_ref();
    let issuance = Issuance {
        challenge_hash: challenge.and_then(ChallengeKind::spent_hash).copied(),
        voucher: challenge
            .and_then(ChallengeKind::vouched_by)
            .and_then(|v| v.spend_once.clone()),
        transaction_id: transaction_id.to_owned(),
        signer_key_sha256,
        request_sha256,
        serial_hex: issued.serial_hex.clone(),
        certificate_der: issued.der.clone(),
        subject_key_sha256: issued.subject_key_sha256,
        subject: issued.subject.clone(),
        not_before: issued.not_before,
        not_after: issued.not_after,
        template: issued.template.clone(),
        now: context.now,
        delivered_at: None,
        audit: AuditEvent {
            at: context.now,
            kind: AuditKind::CertificateIssued,
            actor: context.peer.clone(),
            detail: format!(
                "transaction {transaction_id}: serial {} subject {:?} template {}{}{}{}",
                issued.serial_hex,
                issued.subject,
                issued.template,
                challenge_note(challenge),
                vouched_note(challenge),
                insecure_note(challenge)
            ),
        },
    };
    match ledger.record_issuance(issuance).await {
        Ok(()) => {
            tracing::info!(transaction_id, serial = %issued.serial_hex, subject = %issued.subject, "certificate issued");
            Ok(Recorded::Now)
        }
        // Lost the race for the challenge to a concurrent request: the certificate was
        // signed but never leaves this process and is not valid anywhere it matters.
        Err(StoreError::ChallengeUnavailable) => {
            Err(EnrollError::Challenge(ChallengeFailure::Used))
        }
        Err(StoreError::TransactionConflict) => Ok(Recorded::TransactionTaken),
        Err(e) => Err(EnrollError::Internal(e.to_string())),
    }
}

/// Records a request held for an officer, with the binding it was accepted under, spending
/// its challenge in the same transaction so it cannot be replayed meanwhile. Returns the
/// request id.
pub(crate) async fn held(
    ledger: &dyn RaLedger,
    held: &ForApproval,
    transaction_id: &str,
    (signer_key_sha256, request_sha256): ([u8; 32], [u8; 32]),
    context: &RequestContext,
) -> Result<i64, EnrollError> {
    let request = held.request();
    let challenge = request.challenge();
    let pending = ledger::PendingRequest {
        transaction_id: transaction_id.to_owned(),
        signer_key_sha256,
        request_sha256,
        csr_der: request.csr_der().to_vec(),
        template: request.template().to_owned(),
        subject: held.subject().to_owned(),
        sans: held.sans().to_vec(),
        challenge_hash: challenge.and_then(ChallengeKind::spent_hash).copied(),
        binding: request.binding().cloned(),
        requester_certificate_der: request.requester_certificate_der().to_vec(),
        created_at: context.now,
        audit: AuditEvent {
            at: context.now,
            kind: AuditKind::EnrollmentPending,
            actor: context.peer.clone(),
            detail: format!(
                "transaction {transaction_id}: held for approval, subject {:?} template {}{}",
                held.subject(),
                request.template(),
                insecure_note(challenge)
            ),
        },
    };
    match ledger.record_pending(pending).await {
        Ok(id) => Ok(id),
        Err(StoreError::ChallengeUnavailable) => {
            Err(EnrollError::Challenge(ChallengeFailure::Used))
        }
        Err(StoreError::TransactionConflict) => Err(EnrollError::TransactionConflict),
        Err(e) => Err(EnrollError::Internal(e.to_string())),
    }
}

/// How recording an approved request's certificate went.
pub(crate) enum Completed {
    /// Recorded: the certificate as stored.
    Now(Vec<u8>),
    /// A concurrent poll completed the request first.
    Before,
}

/// Records the certificate the CA signed for held request `id` (approved by an officer),
/// with its transaction row and audit entry.
pub(crate) async fn approved_issuance(
    ledger: &dyn RaLedger,
    (id, transaction_id): (i64, &str),
    issued: &IssuedCertificate,
    context: &RequestContext,
) -> Result<Completed, EnrollError> {
    let completion = ledger::PendingIssuance {
        serial_hex: issued.serial_hex.clone(),
        certificate_der: issued.der.clone(),
        subject_key_sha256: issued.subject_key_sha256,
        subject: issued.subject.clone(),
        not_before: issued.not_before,
        not_after: issued.not_after,
        now: context.now,
        audit: AuditEvent {
            at: context.now,
            kind: AuditKind::CertificateIssued,
            actor: context.peer.clone(),
            detail: format!(
                "transaction {transaction_id}: request {id} approved and issued: serial {} subject {:?} template {}",
                issued.serial_hex, issued.subject, issued.template
            ),
        },
    };
    match ledger.complete_pending(id, completion).await {
        Ok(certificate) => Ok(Completed::Now(certificate.certificate_der)),
        Err(StoreError::RequestState { .. }) => Ok(Completed::Before),
        Err(e) => Err(EnrollError::Internal(e.to_string())),
    }
}

/// The CA refused an approved request: it moves to denied, so the device stops polling. A
/// failure to record that is logged; the device still gets the refusal.
pub(crate) async fn ca_refusal(ledger: &dyn RaLedger, id: i64, reason: &str, now: i64) {
    if let Err(e) = ledger.refuse_approved(id, "ca", reason, now).await {
        tracing::warn!(request = id, error = %e, "could not record the CA's refusal");
    }
}
