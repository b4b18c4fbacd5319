//! The all-in-one mode: the CA runs in this process, behind the same statement verification
//! it would do over the network. The RA still counter-signs and the CA still verifies.

use std::sync::Arc;

use ra::{CaRefusal, CertificateAuthority, IssueFuture};

pub struct InProcessCa {
    pub ca: Arc<ca::Ca>,
}

impl CertificateAuthority for InProcessCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        let ca = Arc::clone(&self.ca);
        let statement = statement_der.to_vec();
        Box::pin(async move {
            // Verifying and signing are blocking key operations (milliseconds with an RSA-3072
            // key, longer in a network HSM): keep them off the async workers.
            tokio::task::spawn_blocking(move || {
                let verified = ca.verify_statement(&statement, now)?;
                ca.issue(verified, now)
            })
            .await
            .map_err(|e| CaRefusal::Internal(format!("CA task failed: {e}")))?
            .map_err(CaRefusal::from)
        })
    }
}
