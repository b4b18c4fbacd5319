//! The seam between the RA and the CA: the RA hands over a counter-signed statement and gets a
//! certificate or a refusal. In `scepd serve` the CA answers in-process (`ca::service`); in a
//! split deployment over mutual TLS. Either way the CA verifies the RA's signature itself.
//!
//! The vocabulary is `request::answer`, shared with the CA (which implements the trait without
//! depending on the RA); it is re-exported here so the RA's callers name it as before.

pub use request::answer::{
    CaRefusal, CertificateAuthority, FailInfoChoice, IssueFuture, IssuedCertificate,
};
