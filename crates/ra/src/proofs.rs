//! The proofs a request must collect before the RA counter-signs it, each a value only its
//! checking function can make (private fields, built in one module), carrying the data it
//! proves, and consumed by the step that needs it:
//!
//! | proof | made by | carries | consumed by |
//! |---|---|---|---|
//! | [`VerifiedSignature`] | `verify::outer_signature` | the signed message, the signer certificate | the envelope, the possession check, the gate (the requester); the reply is encrypted to its signer |
//! | [`CheckedCsr`] | `possession::DecryptedCsr::check_*` | the CSR DER and what was read from it | the gate |
//! | [`ChallengeProof`] | `challenge_check::check` | how it was vouched for (one-time: its hash; an insecure mode: its setting), its template and binding | the gate |
//! | [`RenewedCertificate`] | `renewal::check_provenance` | the template and names of the certificate renewed | the gate (in place of a challenge) |
//! | [`Approved`] | `gate::{enrollment, renewal}` from the above, or `Approved::from_held` from a held request an officer approved, which recorded them (binding included) | the CSR, template, binding, challenge, requester | `countersign::CounterSigner::issue` |
//!
//! A handler that skipped a check has nothing to hand the next step: it cannot reach
//! "counter-sign" (rustls' `HandshakeSignatureValid`; step-ca CVE-2026-30836 is the bug class
//! this rules out). The types are public only so the documentation can show that code outside
//! the RA can neither write them down nor call what makes them; the `compile_fail` examples
//! on each type do, and the one below shows the paths resolve, so those fail for privacy
//! alone:
//!
//! ```
//! fn the_chain(
//!     _: Option<ra::proofs::VerifiedSignature<'_>>,
//!     _: Option<ra::proofs::CheckedCsr>,
//!     _: Option<ra::proofs::ChallengeProof>,
//!     _: Option<ra::proofs::RenewedCertificate>,
//!     _: Option<ra::proofs::Approved>,
//! ) {
//! }
//! # the_chain(None, None, None, None, None);
//! ```

pub use crate::challenge_check::ChallengeProof;
pub use crate::gate::Approved;
pub use crate::possession::CheckedCsr;
pub use crate::renewal::RenewedCertificate;
pub use crate::verify::VerifiedSignature;
