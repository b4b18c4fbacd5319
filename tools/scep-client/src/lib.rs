//! A SCEP client library for tests and the load tool: builds (also hostile) requests and reads
//! CertReps.
//!
//! - [`ClientKey`]: RSA 2048/3072/4096 and P-256 keys in aws-lc-rs, weak RSA keys through the
//!   `openssl` CLI (for refusal tests).
//! - [`CsrBuilder`]: PKCS#10 with any subject, SANs, extensions, attributes, challenge
//!   encodings, or a broken self-signature; [`self_signed_certificate`] for the first signer.
//! - [`PkcsReqBuilder`]: the PKIOperation (any raw messageType, transactionID, nonce, digest,
//!   content cipher) with [`Tamper`] switches for each layer.
//! - [`http`]: GetCACaps, GetCACert ([`CaBundle`]), PKIOperation over POST and GET.
//! - [`read_cert_rep`]: verify the reply's signature and nonce, open the SUCCESS envelope.
//!
//! This is test tooling: keys are not zeroized and nothing here is meant for production
//! enrollment.
#![forbid(unsafe_code)]

mod bundle;
mod cert;
pub mod csr;
mod der_util;
mod error;
pub mod http;
mod key;
mod message;
mod reply;

#[cfg(test)]
mod tests;

pub use bundle::{CERTIFICATE_REQUEST_AGENT, CaBundle};
pub use cert::self_signed_certificate;
pub use csr::{ChallengeEncoding, CsrBuilder, SanEntry};
pub use error::ClientError;
pub use http::{
    HttpReply, get_ca_caps, get_ca_cert, http_get, pki_operation_get, pki_operation_post,
};
pub use key::ClientKey;
pub use message::{PkcsReqBuilder, Tamper};
pub use reply::{CertRepOutcome, decrypt_envelope, open_envelope, read_cert_rep};
pub use scep::{ContentCipher, DigestAlgorithm, FailInfo, PkiStatus};
