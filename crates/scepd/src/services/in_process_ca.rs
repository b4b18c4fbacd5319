//! The all-in-one mode: the CA runs in this process, behind the same statement verification
//! it would do over the network. The RA still counter-signs and the CA still verifies.

use std::sync::Arc;

use ra::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};

pub struct InProcessCa {
    pub ca: Arc<ca::Ca>,
}

fn refusal(e: ca::CaError) -> CaRefusal {
    CaRefusal {
        bad_alg: e.is_bad_alg(),
        reason: e.to_string(),
    }
}

impl CertificateAuthority for InProcessCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        let ca = Arc::clone(&self.ca);
        let statement = statement_der.to_vec();
        Box::pin(async move {
            // Verifying and signing are blocking key operations (milliseconds with an RSA-3072
            // key, longer in a network HSM): keep them off the async workers.
            let issued = tokio::task::spawn_blocking(move || {
                let verified = ca.verify_statement(&statement, now).map_err(refusal)?;
                ca.issue(verified, now).map_err(refusal)
            })
            .await
            .map_err(|e| CaRefusal {
                bad_alg: false,
                reason: format!("CA task failed: {e}"),
            })??;
            Ok(IssuedCertificate {
                der: issued.der,
                serial_hex: issued.serial_hex,
                subject: issued.subject,
                not_before: issued.not_before,
                not_after: issued.not_after,
                template: issued.template,
            })
        })
    }
}
