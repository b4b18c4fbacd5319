//! What the CA's revocation authority (`ca::revocation_authority`) needs from storage: commit a
//! revocation, answer a serial's status, list the revoked certificates for a CRL, and keep the
//! CRL bookkeeping (numbers, the published CRL, whether it is out of date) that every CA node
//! shares.
//!
//! `store::Store` implements it on SQLite and PostgreSQL; a test may implement it in memory.
//! Serials are hex in any rendering (either case, leading zero octets allowed); the records
//! returned carry the canonical form (lower case, no leading `00`).

use crate::{
    CrlState, LedgerFuture, PublishedCrl, RevocationReason, RevocationRecord, RevocationStatus,
    RevokedEntry,
};

/// Revocations and CRL bookkeeping, as the CA keeps them.
pub trait RevocationLedger: Send + Sync {
    /// Revokes a certificate we issued, with its `certificate-revoked` audit entry (actor
    /// `actor`, at `at`) and the CRL bookkeeping (the revocation count of [`CrlState`]), in one
    /// commit; returns only once that is durable.
    ///
    /// [`StoreError::UnknownSerial`](crate::StoreError::UnknownSerial): no certificate with
    /// this serial was issued (or the serial is malformed).
    /// [`StoreError::AlreadyRevoked`](crate::StoreError::AlreadyRevoked): revoked before, and
    /// the first revocation is kept unchanged.
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: RevocationReason,
        at: i64,
        actor: &'a str,
    ) -> LedgerFuture<'a, RevocationRecord>;

    /// Good, revoked (when, why) or [`RevocationStatus::NotIssued`] — a serial we never
    /// issued, or one that is not a serial at all.
    fn revocation_status<'a>(&'a self, serial_hex: &'a str) -> LedgerFuture<'a, RevocationStatus>;

    /// Every revoked certificate, by serial, for the CRL. To know whether a CRL covers every
    /// revocation, read [`RevocationLedger::crl_state`] *before* calling this.
    fn revoked_certificates(&self) -> LedgerFuture<'_, Vec<RevokedEntry>>;

    /// The CRL number allocator, the revocation count and the newest recorded CRL.
    fn crl_state(&self) -> LedgerFuture<'_, CrlState>;

    /// Allocates the next CRL number (1, 2, 3...): distinct for every caller on every node,
    /// never handed out twice. A number that is then not published leaves a gap.
    fn next_crl_number(&self) -> LedgerFuture<'_, u64>;

    /// Records a signed CRL as the one to serve, unless one with a higher number is already
    /// recorded. `Ok(true)`: recorded; `Ok(false)`: a newer one was there.
    /// [`StoreError::InvalidInput`](crate::StoreError::InvalidInput): a number never
    /// allocated, or nextUpdate not after thisUpdate.
    fn record_crl(&self, crl: PublishedCrl) -> LedgerFuture<'_, bool>;
}
