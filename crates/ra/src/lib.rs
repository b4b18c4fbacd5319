//! The RA pipeline: decode → verify signature → decrypt → parse the CSR and check proof of
//! possession → check the challenge → policy → counter-sign → forward to a CA → record →
//! reply. Each check makes a proof the next step needs, and only the counter-signing gate
//! turns them into a request the CA is handed ([`proofs`]). See `docs/contracts.md`.
#![forbid(unsafe_code)]

pub mod authority;
pub mod challenge;
mod challenge_check;
pub mod challenge_issue;
pub mod config;
mod context;
mod countersign;
mod dispatch;
pub mod endpoint;
mod enrollment;
pub mod error;
mod facts;
mod gate;
mod lookup;
mod outcome;
mod pending;
mod possession;
pub mod proofs;
mod record;
mod renewal;
mod reply;
mod service;
mod verify;
mod vouching;

// The device the unit tests sign with is the one of the integration tests (`tests/common`):
// one file, so the pure tests kept here and the ledger-backed ones in `tests/` build requests
// alike.
#[cfg(test)]
#[path = "../tests/common/device.rs"]
mod test_support;

pub use authority::{CaRefusal, CertificateAuthority, IssueFuture, IssuedCertificate};
pub use challenge_issue::{
    ChallengeIssueError, ChallengePolicy, IssueRequest, IssuedChallenge, issue_challenge,
};
pub use config::{
    CryptoPolicy, INSECURE_NO_CHALLENGE, INSECURE_STATIC_CHALLENGE, InsecureChallenges, RaConfig,
    RaIdentity, StaticChallenge,
};
pub use context::RequestContext;
pub use dispatch::Reply;
pub use endpoint::{ChallengeCheck, Endpoint, EndpointConfigError};
pub use error::{BadEnvelope, EnrollError};
pub use outcome::{ChallengeOutcome, Outcome, OutcomeResult, VerifierDecision};
pub use service::Ra;
