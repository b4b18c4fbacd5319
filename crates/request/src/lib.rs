//! The request as the RA and the CA both read it: PKCS#10 inspection into policy facts
//! ([`csr`]) and the RA's counter-signed statement format ([`statement`]).
//!
//! No private-key crypto here: signatures are produced and verified by the `keys` crate, this
//! crate only hands out the exact bytes to sign or verify.
#![forbid(unsafe_code)]

pub mod csr;
mod oids;
pub mod statement;
mod strings;

pub use csr::{ChallengePassword, CsrError, InspectedCsr, MAX_CSR_LEN, inspect};
pub use statement::{
    ParsedStatement, RaStatement, RequesterFacts, StatementBinding, StatementError,
    UnsignedStatement, parse_statement, prepare_statement,
};
