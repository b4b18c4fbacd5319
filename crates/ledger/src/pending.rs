//! Requests held for an officer's approval, and what the CA signed once one was approved.

use crate::AuditEvent;

/// A request to hold for approval, as the RA accepted it (signature, envelope, proof of
/// possession and challenge checked; the policy answered "pending").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// The SCEP transactionID (RFC 8894 §3.2.1.1) as received.
    pub transaction_id: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo that signed the SCEP message.
    pub signer_key_sha256: [u8; 32],
    /// SHA-256 of the PKCS#10 request DER.
    pub request_sha256: [u8; 32],
    /// The PKCS#10 request, for the CA once approved (it re-checks the template).
    pub csr_der: Vec<u8>,
    /// The template the request was bound to (by the challenge or the endpoint).
    pub template: String,
    /// The requested subject as RFC 4514 text, for the officer.
    pub subject: String,
    /// The requested SANs (e.g. `dns:host.example`), for the officer.
    pub sans: Vec<String>,
    /// The challenge to consume now, if the request needed one.
    pub challenge_hash: Option<[u8; 32]>,
    /// What the request was accepted under: the template and names its challenge was minted
    /// for (or, for a renewal, those of the certificate renewed). The CA gets it again when
    /// the request is approved.
    pub binding: Option<policy::Binding>,
    /// The certificate that signed the SCEP message: the final CertRep is encrypted to it.
    pub requester_certificate_der: Vec<u8>,
    /// Unix seconds: the challenge must be unexpired at this time.
    pub created_at: i64,
    /// The `enrollment-pending` event, written in the same transaction.
    pub audit: AuditEvent,
}

/// Where a held request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingState {
    /// Waiting for an officer; a poll answers PENDING.
    Pending,
    /// Approved, certificate not yet recorded; a poll still answers PENDING.
    Approved { by: String, at: i64 },
    /// Refused by an officer (or by the CA after approval); a poll answers FAILURE.
    Denied { by: String, at: i64, reason: String },
    /// The certificate is recorded; a poll answers SUCCESS with it.
    Issued {
        approved_by: String,
        approved_at: i64,
        serial_hex: String,
        issued_at: i64,
    },
}

impl PendingState {
    /// The stored name: `pending`, `approved`, `denied` or `issued`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            PendingState::Pending => "pending",
            PendingState::Approved { .. } => "approved",
            PendingState::Denied { .. } => "denied",
            PendingState::Issued { .. } => "issued",
        }
    }
}

/// A stored held request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// The request id officers name (`scepd request approve ID`).
    pub id: i64,
    pub transaction_id: String,
    pub signer_key_sha256: [u8; 32],
    pub request_sha256: [u8; 32],
    pub csr_der: Vec<u8>,
    pub template: String,
    pub subject: String,
    pub sans: Vec<String>,
    pub challenge_hash: Option<[u8; 32]>,
    /// The binding recorded when the request was held; `None` for a request held before
    /// bindings were kept (schema 6), which the CA then decides without one, as it did then.
    pub binding: Option<policy::Binding>,
    pub requester_certificate_der: Vec<u8>,
    pub created_at: i64,
    pub state: PendingState,
}

/// The certificate the CA signed for an approved request. The transaction, template and
/// challenge come from the request row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingIssuance {
    /// Hex of the serialNumber, any case, with or without leading zero octets.
    pub serial_hex: String,
    pub certificate_der: Vec<u8>,
    /// SHA-256 of the certified key's SubjectPublicKeyInfo DER.
    pub subject_key_sha256: [u8; 32],
    /// The issued subject as RFC 4514 text.
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// Unix seconds: the certificate's recorded issuance time.
    pub now: i64,
    /// The `certificate-issued` event, written in the same transaction.
    pub audit: AuditEvent,
}
