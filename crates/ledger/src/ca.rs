//! What the CA service keeps: its RA registry (who may send statements, with which
//! counter-signing certificate, for which templates), its log of answered statements (one
//! nonce, one answer), the certificates it signed for them, and the audit trail.
//!
//! `ca::service` decides; this trait only keeps. `store::Store` implements it on SQLite and
//! PostgreSQL; tests may implement it in memory.

use crate::{
    AuditEvent, CertificateEntry, LedgerFuture, RaCertificates, RaRecord, StatementClaim,
    StatementIssuance, StatementOutcome,
};

/// The CA's storage. Every method is one atomic step; the CA service orders them.
pub trait CaLedger: Send + Sync {
    /// The RA whose TLS client certificate has this SHA-256, revoked or not.
    fn ra_by_tls_certificate<'a>(
        &'a self,
        tls_sha256: &'a [u8; 32],
    ) -> LedgerFuture<'a, Option<RaRecord>>;

    /// Every RA, by name (the TLS allow-list is made from the active ones).
    fn ra_registrations(&self) -> LedgerFuture<'_, Vec<RaRecord>>;

    /// The registration a one-time code opens: unspent and unexpired at `now`, else `None`.
    fn ra_registration_by_code<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        now: i64,
    ) -> LedgerFuture<'a, Option<RaRecord>>;

    /// Spends the code and records the RA's certificates, atomically: of two registrations
    /// racing on one code exactly one gets `true`. `false`: spent, expired or revoked
    /// meanwhile.
    fn complete_ra_registration<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        certificates: &'a RaCertificates,
        now: i64,
    ) -> LedgerFuture<'a, bool>;

    /// Claims a statement nonce for `ra_name`, or reports what was already answered for it.
    fn claim_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        statement_sha256: &'a [u8; 32],
        ra_name: &'a str,
        now: i64,
    ) -> LedgerFuture<'a, StatementClaim>;

    /// Records the refusal of a claimed statement (before it is sent: a replay gets the same).
    fn finish_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        outcome: &'a StatementOutcome,
    ) -> LedgerFuture<'a, ()>;

    /// Records a claimed statement answered with a certificate: the certificate (listed,
    /// revocable, in the CRL and OCSP answers), the statement's answer and the audit entry,
    /// in one transaction.
    fn finish_statement_issued<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        issued: &'a StatementIssuance,
    ) -> LedgerFuture<'a, ()>;

    /// Appends to the hash-chained audit log; returns the entry's sequence number.
    fn append_audit(&self, event: AuditEvent) -> LedgerFuture<'_, u64>;

    /// A certificate this CA recorded, with its revocation (serial as hex, any case).
    fn certificate_entry<'a>(
        &'a self,
        serial_hex: &'a str,
    ) -> LedgerFuture<'a, Option<CertificateEntry>>;
}
