//! The RA's ledger on this store: each operation is the `Store` method of the same name,
//! with the guarantees documented on [`ledger::ra::RaLedger`]. No SQL of its own.

use ledger::LedgerFuture;
use ledger::ra::RaLedger;

use crate::{
    AuditEvent, CertificateRecord, CrlState, EnrollmentFacts, EnrollmentQuery, Issuance,
    NewChallenge, PendingIssuance, PendingRecord, PendingRequest, RevocationStatus, Store,
    TransactionRecord,
};

impl RaLedger for Store {
    fn enrollment_facts<'a>(
        &'a self,
        query: EnrollmentQuery<'a>,
    ) -> LedgerFuture<'a, EnrollmentFacts> {
        Box::pin(self.enrollment_facts(query))
    }

    fn find_transactions<'a>(
        &'a self,
        transaction_id: &'a str,
    ) -> LedgerFuture<'a, Vec<TransactionRecord>> {
        Box::pin(self.find_transactions(transaction_id))
    }

    fn find_certificate<'a>(
        &'a self,
        serial_hex: &'a str,
    ) -> LedgerFuture<'a, Option<CertificateRecord>> {
        Box::pin(self.find_certificate(serial_hex))
    }

    fn revocation_status<'a>(&'a self, serial_hex: &'a str) -> LedgerFuture<'a, RevocationStatus> {
        Box::pin(self.revocation_status(serial_hex))
    }

    fn crl_state(&self) -> LedgerFuture<'_, CrlState> {
        Box::pin(self.crl_state())
    }

    fn record_issuance(&self, issuance: Issuance) -> LedgerFuture<'_, ()> {
        Box::pin(self.record_issuance(issuance))
    }

    fn record_pending(&self, request: PendingRequest) -> LedgerFuture<'_, i64> {
        Box::pin(self.record_pending(request))
    }

    fn find_pending<'a>(
        &'a self,
        transaction_id: &'a str,
        signer_key_sha256: &'a [u8; 32],
    ) -> LedgerFuture<'a, Vec<PendingRecord>> {
        Box::pin(self.find_pending(transaction_id, signer_key_sha256))
    }

    fn pending_request(&self, id: i64) -> LedgerFuture<'_, Option<PendingRecord>> {
        Box::pin(self.pending_request(id))
    }

    fn complete_pending(
        &self,
        id: i64,
        issuance: PendingIssuance,
    ) -> LedgerFuture<'_, CertificateRecord> {
        Box::pin(self.complete_pending(id, issuance))
    }

    fn refuse_approved<'a>(
        &'a self,
        id: i64,
        actor: &'a str,
        reason: &'a str,
        now: i64,
    ) -> LedgerFuture<'a, PendingRecord> {
        Box::pin(self.refuse_approved(id, actor, reason, now))
    }

    fn voucher_spent<'a>(&'a self, voucher: &'a str) -> LedgerFuture<'a, bool> {
        Box::pin(self.voucher_spent(voucher))
    }

    fn mark_delivered<'a>(&'a self, serial_hex: &'a str, at: i64) -> LedgerFuture<'a, ()> {
        Box::pin(self.mark_delivered(serial_hex, at))
    }

    fn insert_challenge_within_quota(
        &self,
        challenge: NewChallenge,
        max_outstanding: u32,
    ) -> LedgerFuture<'_, ()> {
        Box::pin(self.insert_challenge_within_quota(challenge, max_outstanding))
    }

    fn append_audit(&self, event: AuditEvent) -> LedgerFuture<'_, u64> {
        Box::pin(self.append_audit(event))
    }
}
