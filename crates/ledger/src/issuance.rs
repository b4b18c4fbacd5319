//! An issued certificate as recorded with its SCEP transaction and audit event.

use crate::{AuditEvent, StoreError};

/// Everything `record_issuance` commits together: the challenge to spend, the SCEP
/// transaction, the certificate the CA signed, and its audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The challenge to consume, if the request needed one (`None` for renewals).
    pub challenge_hash: Option<[u8; 32]>,
    /// An id an outside verifier vouched with that may be used once only (a signed
    /// challenge's): spent here, and refused like a used challenge if it was spent before.
    pub voucher: Option<String>,
    /// The SCEP transactionID (RFC 8894 §3.2.1.1) as received.
    pub transaction_id: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo that signed the SCEP message.
    pub signer_key_sha256: [u8; 32],
    /// SHA-256 of the PKCS#10 request DER.
    pub request_sha256: [u8; 32],
    /// Hex of the certificate's serialNumber, any case, with or without leading zero octets:
    /// stored canonical (lowercase, no leading `00`), see [`Store::find_certificate`].
    pub serial_hex: String,
    pub certificate_der: Vec<u8>,
    /// SHA-256 of the certified key's SubjectPublicKeyInfo DER (RFC 8894 §8.6 checks).
    pub subject_key_sha256: [u8; 32],
    /// The subject as RFC 4514 text, for operators and auditors.
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub template: String,
    /// Unix seconds: the challenge must still be unexpired at this time; also the
    /// transaction's and certificate's recorded time.
    pub now: i64,
    /// RFC 8894 §8.4 delivery: `Some(t)` records the certificate as delivered at `t` in the
    /// same transaction — the RA builds its SUCCESS reply from the committed certificate
    /// right after, so a separate [`Store::mark_delivered`] write (and fsync) per enrollment
    /// is not needed. If building that reply fails (an internal signing error), the client's
    /// retry is answered with the same certificate. `None`: not delivered yet.
    pub delivered_at: Option<i64>,
    /// The `certificate-issued` event, written in the same transaction. Its row's `subject`
    /// column is the canonical serial.
    pub audit: AuditEvent,
}

/// What is recorded for a SCEP transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecord {
    pub transaction_id: String,
    pub signer_key_sha256: [u8; 32],
    pub request_sha256: [u8; 32],
    pub status: TransactionStatus,
    /// Canonical serial hex of the certificate issued for it.
    pub serial: String,
    pub certificate_der: Vec<u8>,
}

/// The state of a transaction. Only issued requests are transactions; requests held for
/// approval are [`crate::PendingRecord`]s until their certificate is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionStatus {
    Issued,
}

impl TransactionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Issued => "issued",
        }
    }

    /// The status stored as `s`; a name this scepd does not know means the row was not
    /// written by it.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "issued" => Ok(TransactionStatus::Issued),
            _ => Err(StoreError::CorruptRow("transactions")),
        }
    }
}

/// A recorded certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Canonical: lowercase hex, no leading zero octets.
    pub serial_hex: String,
    pub certificate_der: Vec<u8>,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub template: String,
    pub transaction_id: String,
    pub issued_at: i64,
}
