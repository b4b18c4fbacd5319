//! The request as the RA and the CA both read it: PKCS#10 inspection into policy facts
//! ([`csr`]), the names of a certificate being renewed in the same terms ([`certified`]), the
//! RA's counter-signed statement format ([`statement`]) and the CA's answer to it ([`answer`]:
//! the issued certificate, the refusal, the RA ↔ CA seam).
//!
//! No private-key crypto here: signatures are produced and verified by the `keys` crate, this
//! crate only hands out the exact bytes to sign or verify.
#![forbid(unsafe_code)]

pub mod answer;
pub mod certified;
pub mod csr;
pub mod link;
mod oids;
pub mod statement;
mod strings;

pub use answer::{CaRefusal, CertificateAuthority, FailInfoChoice, IssueFuture, IssuedCertificate};
pub use certified::{CertifiedNames, certified_names};
pub use csr::{ChallengePassword, CsrError, InspectedCsr, MAX_CSR_LEN, inspect};
pub use statement::{
    ParsedStatement, RaStatement, RequesterFacts, StatementBinding, StatementError,
    UnsignedStatement, parse_statement, prepare_statement,
};
