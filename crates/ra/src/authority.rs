//! The seam between the RA and the CA: the RA hands over a counter-signed statement and gets a
//! certificate or a refusal. In `scepd serve` the CA runs in-process; a later deployment puts
//! mutual TLS here. Either way the CA verifies the RA's signature itself.

use std::future::Future;
use std::pin::Pin;

/// A certificate the CA signed.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub der: Vec<u8>,
    pub serial_hex: String,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub template: String,
}

/// The CA said no. `bad_alg` selects failInfo badAlg instead of badRequest.
#[derive(Debug, Clone)]
pub struct CaRefusal {
    pub reason: String,
    pub bad_alg: bool,
}

pub type IssueFuture<'a> =
    Pin<Box<dyn Future<Output = Result<IssuedCertificate, CaRefusal>> + Send + 'a>>;

/// A CA that accepts counter-signed statements.
pub trait CertificateAuthority: Send + Sync {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a>;
}
