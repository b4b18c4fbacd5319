//! The RA pipeline: decode → verify signature → decrypt → parse the CSR and check proof of
//! possession → check the challenge → policy → counter-sign → forward to a CA → record →
//! reply. See `docs/contracts.md`.
#![forbid(unsafe_code)]

pub mod authority;
pub mod challenge;
pub mod config;
mod context;
mod countersign;
mod dispatch;
pub mod error;
mod facts;
mod lookup;
mod outcome;
mod pipeline;
mod record;
mod renewal;
mod reply;
mod service;
mod verify;

#[cfg(test)]
mod held_tests;
#[cfg(test)]
mod rollover_tests;

pub use authority::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};
pub use config::{
    CryptoPolicy, INSECURE_NO_CHALLENGE, INSECURE_STATIC_CHALLENGE, InsecureChallenges, RaConfig,
    RaIdentity, StaticChallenge,
};
pub use context::RequestContext;
pub use dispatch::Reply;
pub use error::{BadEnvelope, EnrollError};
pub use outcome::{ChallengeOutcome, Outcome, OutcomeResult};
pub use service::Ra;
