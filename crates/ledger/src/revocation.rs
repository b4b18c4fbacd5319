//! Revocations (RFC 5280 §5.3.1 reasons) and what CRLs and OCSP read from them.

pub use policy::{RevocationReason, UnknownRevocationReason};

/// A committed revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    /// Canonical serial hex.
    pub serial_hex: String,
    pub revoked_at: i64,
    pub reason: RevocationReason,
    pub revoked_by: String,
}

/// What OCSP (RFC 6960 §2.2) answers about a serial.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Issued by us and not revoked.
    Good,
    Revoked {
        at: i64,
        reason: RevocationReason,
    },
    /// Never issued by us (or not a serial at all). OCSP must never answer "good" for it
    /// (RFC 6960 §2.2 "unknown", or "revoked" per the Baseline Requirements).
    NotIssued,
}

/// One CRL entry (RFC 5280 §5.1.2.6 revokedCertificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Canonical serial hex.
    pub serial_hex: String,
    pub revoked_at: i64,
    pub reason: RevocationReason,
    /// The certificate's notAfter: an entry MAY leave the CRL after it (RFC 5280 §3.3).
    pub not_after: i64,
}
