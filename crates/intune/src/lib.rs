//! scepd's client for Microsoft Intune's SCEP validation API, as Microsoft's reference
//! libraries for third-party SCEP servers speak it (`docs/intune-wire-contract.md`):
//!
//! - a client-credentials token from Entra ID, with a client secret or a certificate's signed
//!   client assertion ([`assertion`]), one for Graph and one for Intune, cached;
//! - service discovery through Graph, cached until a call to a discovered service fails;
//! - `validateRequest`, `successNotification`, `failureNotification`
//!   (`ScepRequestValidationFEService`) and `downloadRevocationRequests`,
//!   `uploadRevocationResults` (`PkiConnectorFEService`), on [`IntuneClient`];
//! - [`IntuneVerifier`], the [`vouch::ChallengeVerifier`] an endpoint with
//!   `challenge = "intune"` asks.
//!
//! Everything fails closed: only Intune's `Success` lets a request go on; no answer, a
//! timeout, a status outside 2xx, an answer that is not the contract's is an error. Token
//! requests and discovery are tried twice when the failure may pass; the calls are tried
//! once. Secrets and tokens are `Zeroizing`, and never in a log line, an error or `Debug`.
#![forbid(unsafe_code)]

pub mod answers;
pub mod assertion;
mod client;
mod discovery;
mod error;
mod http;
pub mod revocation;
pub mod scep_actions;
mod settings;
mod token;
mod trust;
mod verifier;

#[cfg(test)]
mod test_support;

pub use client::IntuneClient;
pub use error::{Audience, Call, Failure, IntuneError, Step};
pub use revocation::{RevocationErrorCode, RevocationRequest, RevocationResult};
pub use settings::{
    Credential, DEFAULT_GRAPH_URL, DEFAULT_INTUNE_RESOURCE, DEFAULT_LOGIN_URL, DEFAULT_TIMEOUT,
    INTUNE_APP_ID, IntuneSettings,
};
pub use verifier::{ISSUANCE_FAILED_HRESULT, IntuneVerifier};
