//! The CA: verify the RA statement, re-check the template, build and sign certificates.
//!
//! The CA trusts an RA only for *having approved* a request, never for *what* the request
//! asks: [`Ca::verify_statement`] checks who signed (an allow-listed enrollment-agent
//! certificate of this CA, in validity) and when, and [`Ca::issue`] inspects the CSR again,
//! checks its self-signature again and runs `policy::decide` again, so a compromised RA gets
//! no more than the template gives (security-catalogue §3.F). Certificates are built from the
//! [`policy::IssuanceProfile`] only; no requested extension is ever copied.
#![forbid(unsafe_code)]

mod authority;
pub mod dev;
mod error;
mod extensions;
mod serial;
mod x509;

pub use authority::{Ca, IssuedCertificate, VerifiedStatement};
pub use error::{CaError, StatementRejection};

/// Certificate Request Agent EKU (enrollment agent, 1.3.6.1.4.1.311.20.2.1): an RA signing
/// certificate must carry it.
pub const EKU_CERTIFICATE_REQUEST_AGENT: &str = policy::oid::EKU_CERTIFICATE_REQUEST_AGENT;

/// How far back notBefore is set, for devices whose clocks run a little late.
pub const CLOCK_SKEW_SECS: i64 = 5 * 60;

#[cfg(test)]
mod tests;
