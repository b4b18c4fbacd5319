//! [`ledger::revoking::RevocationLedger`] on the SQL store: each method is the `Store` method of
//! the same name (`revocation.rs`, `crl.rs`), boxed so the CA can hold the store as
//! `Arc<dyn RevocationLedger>`.

use ledger::LedgerFuture;
use ledger::revoking::RevocationLedger;

use crate::{
    CrlState, PublishedCrl, RevocationReason, RevocationRecord, RevocationStatus, RevokedEntry,
    Store,
};

impl RevocationLedger for Store {
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: RevocationReason,
        at: i64,
        actor: &'a str,
    ) -> LedgerFuture<'a, RevocationRecord> {
        // The reason is already typed; the store parses its name back, which cannot fail.
        Box::pin(Store::revoke(self, serial_hex, reason.as_str(), at, actor))
    }

    fn revocation_status<'a>(&'a self, serial_hex: &'a str) -> LedgerFuture<'a, RevocationStatus> {
        Box::pin(Store::revocation_status(self, serial_hex))
    }

    fn revoked_certificates(&self) -> LedgerFuture<'_, Vec<RevokedEntry>> {
        Box::pin(Store::revoked_certificates(self))
    }

    fn crl_state(&self) -> LedgerFuture<'_, CrlState> {
        Box::pin(Store::crl_state(self))
    }

    fn next_crl_number(&self) -> LedgerFuture<'_, u64> {
        Box::pin(Store::next_crl_number(self))
    }

    fn record_crl(&self, crl: PublishedCrl) -> LedgerFuture<'_, bool> {
        Box::pin(Store::record_crl(self, crl))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use ledger::revoking::RevocationLedger;

    use crate::{RevocationReason, RevocationStatus, Store, StoreError};

    /// Through `dyn RevocationLedger`, the store answers as through its own methods.
    #[tokio::test]
    async fn the_trait_is_the_store() {
        let store = Store::open_in_memory().await.unwrap();
        let ledger: Arc<dyn RevocationLedger> = Arc::new(store.clone());
        assert_eq!(
            ledger.revocation_status("0abc").await.unwrap(),
            RevocationStatus::NotIssued
        );
        assert!(matches!(
            ledger
                .revoke("0abc", RevocationReason::KeyCompromise, 100, "test")
                .await,
            Err(StoreError::UnknownSerial)
        ));
        assert!(ledger.revoked_certificates().await.unwrap().is_empty());
        let state = ledger.crl_state().await.unwrap();
        assert_eq!((state.last_number, state.revocation_count), (0, 0));
        assert_eq!(ledger.next_crl_number().await.unwrap(), 1);
        assert_eq!(store.crl_state().await.unwrap().last_number, 1);
    }
}
