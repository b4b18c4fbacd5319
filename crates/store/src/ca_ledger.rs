//! The CA service's storage trait ([`ledger::ca::CaLedger`]) on the SQL store: each method is
//! the store's own, boxed so the CA can hold its ledger as `Arc<dyn CaLedger>`.

use ledger::LedgerFuture;
use ledger::ca::CaLedger;

use crate::{
    AuditEvent, CertificateEntry, RaCertificates, RaRecord, StatementClaim, StatementIssuance,
    StatementOutcome, Store,
};

impl CaLedger for Store {
    fn ra_by_tls_certificate<'a>(
        &'a self,
        tls_sha256: &'a [u8; 32],
    ) -> LedgerFuture<'a, Option<RaRecord>> {
        Box::pin(Store::ra_by_tls_certificate(self, tls_sha256))
    }

    fn ra_registrations(&self) -> LedgerFuture<'_, Vec<RaRecord>> {
        Box::pin(Store::ra_registrations(self))
    }

    fn ra_registration_by_code<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        now: i64,
    ) -> LedgerFuture<'a, Option<RaRecord>> {
        Box::pin(Store::ra_registration_by_code(self, code_sha256, now))
    }

    fn complete_ra_registration<'a>(
        &'a self,
        code_sha256: &'a [u8; 32],
        certificates: &'a RaCertificates,
        now: i64,
    ) -> LedgerFuture<'a, bool> {
        Box::pin(Store::complete_ra_registration(
            self,
            code_sha256,
            certificates,
            now,
        ))
    }

    fn claim_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        statement_sha256: &'a [u8; 32],
        ra_name: &'a str,
        now: i64,
    ) -> LedgerFuture<'a, StatementClaim> {
        Box::pin(Store::claim_statement(
            self,
            nonce_sha256,
            statement_sha256,
            ra_name,
            now,
        ))
    }

    fn finish_statement<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        outcome: &'a StatementOutcome,
    ) -> LedgerFuture<'a, ()> {
        Box::pin(Store::finish_statement(self, nonce_sha256, outcome))
    }

    fn finish_statement_issued<'a>(
        &'a self,
        nonce_sha256: &'a [u8; 32],
        issued: &'a StatementIssuance,
    ) -> LedgerFuture<'a, ()> {
        Box::pin(Store::finish_statement_issued(self, nonce_sha256, issued))
    }

    fn append_audit(&self, event: AuditEvent) -> LedgerFuture<'_, u64> {
        Box::pin(Store::append_audit(self, event))
    }

    fn certificate_entry<'a>(
        &'a self,
        serial_hex: &'a str,
    ) -> LedgerFuture<'a, Option<CertificateEntry>> {
        Box::pin(Store::certificate_entry(self, serial_hex))
    }
}
