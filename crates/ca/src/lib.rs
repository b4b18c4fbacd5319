//! The CA: verify the RA statement, re-check the template, build and sign certificates.
//!
//! The CA trusts an RA only for *having approved* a request, never for *what* the request
//! asks: [`Ca::verify_statement`] checks who signed (an allow-listed enrollment-agent
//! certificate of this CA, in validity) and when, and [`Ca::issue`] inspects the CSR again,
//! checks its self-signature again and runs `policy::decide` again, so a compromised RA gets
//! no more than the template gives (security-catalogue §3.F). Certificates are built from the
//! [`policy::IssuanceProfile`] only; no requested extension is ever copied.
//!
//! Key custody around it: [`CaProfile`] describes a new CA certificate (subject DN, validity,
//! pathLen 0, optional nameConstraints and EKU constraint, which [`Ca::issue`] then enforces
//! before signing); [`import`] checks an existing CA certificate and key (and its chain);
//! [`rollover`] makes the next CA (RFC 4210 §4.4) and tells when RA certificates expire;
//! [`fingerprint_sha256`] is what devices and MDM profiles pin.
//!
//! The CA service ([`service`]): which RA is asking, its authorisation per template, the
//! statement log (one nonce, one answer), issuance and its record, RA registration and
//! revocation on behalf of an RA — one code path for `scepd serve` (in-process) and `scepd ca`
//! (behind mutual TLS), over the storage trait `ledger::ca::CaLedger`.
//!
//! Revocation: [`crl::build_crl`] signs CRLs (RFC 5280 §5) and [`ocsp::respond`] answers OCSP
//! requests (RFC 6960) from what storage says about each serial; [`RevocationAuthority`]
//! ([`revocation_authority`]) is the CA's authority over them: it revokes, issues a CRL when
//! one is due and answers OCSP, over a `ledger::revoking::RevocationLedger`.
#![forbid(unsafe_code)]

mod authority;
mod constraints;
pub mod crl;
pub mod dev;
mod error;
mod extensions;
mod fingerprint;
pub mod import;
pub mod ocsp;
mod profile;
pub mod revocation_authority;
pub mod rollover;
mod serial;
pub mod service;
mod x509;

pub use authority::{Ca, VerifiedStatement};
pub use crl::{RevocationReason, RevokedEntry, build_crl};
pub use error::{CaError, CrlRejection, ImportRejection, StatementRejection};
pub use fingerprint::fingerprint_sha256;
pub use profile::{
    CaProfile, MIN_CA_RSA_BITS, RECOMMENDED_CA_RSA_BITS, ca_key_strength_warning, parse_dn,
    rsa_modulus_bits,
};
/// The answer's vocabulary is shared with the RA (`request::answer`).
pub use request::answer::{CaRefusal, IssuedCertificate};
pub use revocation_authority::{RevocationAuthority, RevokeError};
pub use rollover::ra_certificate_expiry;

/// Certificate Request Agent EKU (enrollment agent, 1.3.6.1.4.1.311.20.2.1): the certificate
/// that counter-signs statements must carry it.
pub const EKU_CERTIFICATE_REQUEST_AGENT: &str = policy::oid::EKU_CERTIFICATE_REQUEST_AGENT;

/// How far back notBefore is set, for devices whose clocks run a little late.
pub const CLOCK_SKEW_SECS: i64 = 5 * 60;

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Key ceremonies run once, interactively: the system clock is the only sensible "now".
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
