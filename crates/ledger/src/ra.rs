//! What the RA keeps and reads: the one storage seam of the `ra` crate. The RA holds an
//! `Arc<dyn RaLedger>` and its steps borrow `&dyn RaLedger`; `store::Store` implements it on
//! SQLite and PostgreSQL, so the RA never links a database driver and its refusals can be
//! tested in process.
//!
//! Each method is one operation the RA performs, named as the store names it, and documented
//! by what an implementation must guarantee: the RA's security rests on those guarantees (a
//! challenge spent exactly once, a transactionID owned by one key, nothing issued that was not
//! recorded first), not on the SQL behind them.

use crate::{
    AuditEvent, CertificateRecord, CrlState, EnrollmentFacts, EnrollmentQuery, Issuance,
    LedgerFuture, NewChallenge, PendingIssuance, PendingRecord, PendingRequest, RevocationStatus,
    TransactionRecord,
};

/// The storage the RA needs: enrollment facts, transactions and certificates, requests held
/// for approval, challenges, the CRL it serves and the audit log.
///
/// Timestamps are unix seconds from the RA's caller: a ledger has no clock.
pub trait RaLedger: Send + Sync {
    /// Everything an enrollment must know before it may issue, answered from one snapshot:
    /// whether the transactionID was seen (by any key), whether this signer holds a request
    /// under it, the status of the presented challenge at `query.now` (exactly as a lookup
    /// by its hash would report it: used wins over expired), and a subject other than the
    /// CSR's to which the CSR's key is already certified. Reads only.
    fn enrollment_facts<'a>(
        &'a self,
        query: EnrollmentQuery<'a>,
    ) -> LedgerFuture<'a, EnrollmentFacts>;

    /// Every request recorded under `transaction_id`, oldest first, each with its
    /// certificate. All of them carry the same signer key (see [`RaLedger::record_issuance`]).
    fn find_transactions<'a>(
        &'a self,
        transaction_id: &'a str,
    ) -> LedgerFuture<'a, Vec<TransactionRecord>>;

    /// The certificate recorded under this serial, whatever its rendering (any case, leading
    /// zero octets or not); `None` if we never recorded it, or the text is not a serial.
    fn find_certificate<'a>(
        &'a self,
        serial_hex: &'a str,
    ) -> LedgerFuture<'a, Option<CertificateRecord>>;

    /// Good, revoked (when, why) or not issued by us, for renewal checks; any rendering of
    /// the serial, a malformed one being not issued.
    fn revocation_status<'a>(&'a self, serial_hex: &'a str) -> LedgerFuture<'a, RevocationStatus>;

    /// The CRL allocator, the revocation count and the newest recorded CRL (GetCRL serves
    /// `published`).
    fn crl_state(&self) -> LedgerFuture<'_, CrlState>;

    /// Records a certificate the CA signed, in ONE commit: spends its challenge (if any;
    /// [`StoreError::ChallengeUnavailable`] if unknown, expired or already used), claims the
    /// transaction for its signer key ([`StoreError::TransactionConflict`] if the
    /// transactionID belongs to another key or this request is already recorded), stores the
    /// certificate ([`StoreError::SerialConflict`] for a recorded serial) and appends its audit
    /// event. On any error nothing of it is kept; on `Ok` it is durable, and only then may
    /// the reply leave. A retry after a lost reply must be answered from
    /// [`RaLedger::find_transactions`] before calling this.
    ///
    /// [`StoreError::ChallengeUnavailable`]: crate::StoreError::ChallengeUnavailable
    /// [`StoreError::TransactionConflict`]: crate::StoreError::TransactionConflict
    /// [`StoreError::SerialConflict`]: crate::StoreError::SerialConflict
    fn record_issuance(&self, issuance: Issuance) -> LedgerFuture<'_, ()>;

    /// Whether a voucher id (see [`Issuance::voucher`]) was spent: read before issuing, so a
    /// replayed signed challenge costs no CA signature. `record_issuance` still decides a race.
    fn voucher_spent<'a>(&'a self, voucher: &'a str) -> LedgerFuture<'a, bool>;

    /// Holds a request for an officer, in ONE commit: spends its challenge (if any;
    /// [`StoreError::ChallengeUnavailable`] otherwise), refuses a transactionID that belongs
    /// to another signer key or a request already recorded ([`StoreError::TransactionConflict`]),
    /// stores the request with the binding it was accepted under, and appends its audit
    /// event. Returns the request id.
    ///
    /// [`StoreError::ChallengeUnavailable`]: crate::StoreError::ChallengeUnavailable
    /// [`StoreError::TransactionConflict`]: crate::StoreError::TransactionConflict
    fn record_pending(&self, request: PendingRequest) -> LedgerFuture<'_, i64>;

    /// The held requests of this transactionID *and* signer key, oldest first (a poll signed
    /// by another key learns nothing): what a CertPoll or a retried PKCSReq is answered from.
    fn find_pending<'a>(
        &'a self,
        transaction_id: &'a str,
        signer_key_sha256: &'a [u8; 32],
    ) -> LedgerFuture<'a, Vec<PendingRecord>>;

    /// One held request by id, whatever its state.
    fn pending_request(&self, id: i64) -> LedgerFuture<'_, Option<PendingRecord>>;

    /// approved → issued, in ONE commit: the certificate the CA signed for held request `id`,
    /// its transaction row (so retries and polls see it like any issuance) and its audit
    /// event; the challenge is not spent again (it was when the request was held). A request
    /// not approved (e.g. completed by a concurrent poll) is [`StoreError::RequestState`] and
    /// changes nothing. Returns the certificate as recorded; durable on return.
    ///
    /// [`StoreError::RequestState`]: crate::StoreError::RequestState
    fn complete_pending(
        &self,
        id: i64,
        issuance: PendingIssuance,
    ) -> LedgerFuture<'_, CertificateRecord>;

    /// approved → denied: the CA refused an approved request (`actor` says who, `reason`
    /// why), so the device's next poll gets FAILURE rather than PENDING forever. Audited.
    fn refuse_approved<'a>(
        &'a self,
        id: i64,
        actor: &'a str,
        reason: &'a str,
        now: i64,
    ) -> LedgerFuture<'a, PendingRecord>;

    /// Records that a SUCCESS reply carrying this certificate was produced (RFC 8894 §8.4).
    /// Idempotent: the first time is kept. An unknown serial is
    /// [`StoreError::UnknownSerial`].
    ///
    /// [`StoreError::UnknownSerial`]: crate::StoreError::UnknownSerial
    fn mark_delivered<'a>(&'a self, serial_hex: &'a str, at: i64) -> LedgerFuture<'a, ()>;

    /// Stores a new one-time challenge (its hash only), refused with
    /// [`StoreError::ChallengeQuota`] when `challenge.created_by` already holds
    /// `max_outstanding` unused, unexpired challenges. The count and the insert are one
    /// serialized write, so concurrent requests of one administrator never overshoot it.
    /// The caller appends the `challenge-issued` audit event.
    ///
    /// [`StoreError::ChallengeQuota`]: crate::StoreError::ChallengeQuota
    fn insert_challenge_within_quota(
        &self,
        challenge: NewChallenge,
        max_outstanding: u32,
    ) -> LedgerFuture<'_, ()>;

    /// Appends one event to the hash-chained audit log, durable on return. Returns its
    /// sequence number.
    fn append_audit(&self, event: AuditEvent) -> LedgerFuture<'_, u64>;
}
