//! The CA's registry of RA services and its log of answered statements (one nonce, one
//! answer).

use crate::AuditEvent;

/// An RA announced with `scepd ca register-ra`, waiting for its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRaRegistration {
    pub name: String,
    pub templates: Vec<String>,
    /// SHA-256 of the one-time registration code.
    pub code_sha256: [u8; 32],
    pub code_expires_at: i64,
    pub created_at: i64,
}

/// The certificates the CA issued to a registering RA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaCertificates {
    /// The certificate whose key counter-signs this RA's statements: its enrollment agent
    /// (or, for an RA registered without one, its CertRep signing certificate).
    pub signing: Vec<u8>,
    pub encryption: Vec<u8>,
    pub tls: Vec<u8>,
    /// SHA-256 of `tls`.
    pub tls_sha256: [u8; 32],
}

/// A row of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaRecord {
    pub name: String,
    pub templates: Vec<String>,
    pub code_expires_at: i64,
    pub created_at: i64,
    /// None until the RA has used its code.
    pub registered_at: Option<i64>,
    pub certificates: Option<RaCertificates>,
    pub revoked_at: Option<i64>,
}

impl RaRecord {
    /// Registered and not revoked: its TLS certificate is on the allow-list.
    pub fn is_active(&self) -> bool {
        self.certificates.is_some() && self.revoked_at.is_none()
    }
}

/// What the CA has already done with a statement nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementOutcome {
    /// Claimed and still being processed (a concurrent duplicate).
    Pending,
    Issued {
        certificate: Vec<u8>,
    },
    Refused {
        refusal: String,
        bad_alg: bool,
    },
}

/// The answer of [`Store::claim_statement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementClaim {
    /// First time this nonce is seen: the caller processes the statement and calls
    /// [`Store::finish_statement`].
    Claimed,
    /// Seen before. `same_statement` is false when the nonce came with other bytes (a forged
    /// or re-signed statement reusing a nonce).
    Seen {
        same_statement: bool,
        ra_name: String,
        outcome: StatementOutcome,
    },
}

/// A certificate the CA service signed for a statement. It is recorded in `certificates` (so
/// the CA host lists and revokes it, and its CRL and OCSP answers know it), with the
/// statement's answer and the audit entry, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementIssuance {
    pub serial_hex: String,
    pub certificate_der: Vec<u8>,
    /// SHA-256 of the certified SubjectPublicKeyInfo DER.
    pub subject_key_sha256: [u8; 32],
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub template: String,
    pub transaction_id: String,
    pub issued_at: i64,
    pub audit: AuditEvent,
}
