//! The all-in-one mode: the CA runs in this process, behind the same statement verification
//! it would do over the network. The RA still counter-signs and the CA still verifies.

use ra::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};

pub struct InProcessCa {
    pub ca: ca::Ca,
}

impl CertificateAuthority for InProcessCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        Box::pin(async move {
            let refusal = |e: ca::CaError| CaRefusal {
                bad_alg: e.is_bad_alg(),
                reason: e.to_string(),
            };
            let verified = self
                .ca
                .verify_statement(statement_der, now)
                .map_err(refusal)?;
            let issued = self.ca.issue(verified, now).map_err(refusal)?;
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
