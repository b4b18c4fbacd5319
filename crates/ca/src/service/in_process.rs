//! The way in for the RA of this process (`scepd serve`): the same entry point `scepd ca`
//! calls behind mutual TLS, as the RA's [`CertificateAuthority`].

use request::answer::{CertificateAuthority, IssueFuture};

use super::ca_service::CaService;
use super::connected::Caller;

/// Statements from the RA of this process ([`Caller::InProcess`]: the service must be
/// configured with a local RA, see [`crate::service::Settings::all_in_one`]).
impl CertificateAuthority for CaService {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        Box::pin(async move {
            let ra = self.connected(Caller::InProcess).await?;
            let answer = self
                .answer_statement(&ra, statement_der.to_vec(), now)
                .await?;
            Ok(answer.certificate)
        })
    }
}
