//! The CA service: every decision the CA takes about an RA's statement, one code path for
//! both deployments (DESIGN.md §2).
//!
//! Given a counter-signed statement from an RA, [`CaService::answer_statement`] decides, in
//! this order, and stops at the first refusal ([`request::answer::CaRefusal`]):
//!
//! 1. which RA is asking ([`CaService::connected`] makes the [`ConnectedRa`] every other step
//!    takes): in `scepd ca`, the registered RA whose TLS client certificate the connection
//!    presented (SHA-256), still active (revoked since the handshake: refused); in
//!    `scepd serve`, the RA of this process;
//! 2. the statement is signed by *that* RA's counter-signing (enrollment agent) certificate,
//!    which must be this CA's, unexpired, with the Certificate Request Agent EKU, and the
//!    statement fresh ([`crate::Ca::verify_statement_from`]);
//! 3. the RA is authorised for the statement's template;
//! 4. the nonce is new: the same statement again gets the recorded answer (never a second
//!    certificate), another statement with a used nonce is refused;
//! 5. [`crate::Ca::issue`] inspects the CSR in the signed statement again and applies the
//!    template, which always wins; the certificate is recorded, with its audit entry naming the
//!    RA and what it stated it checked, before the answer leaves.
//!
//! Besides: RA registration with a one-time code ([`CaService::open_registration`],
//! [`CaService::complete_registration`]: distinct keys, none the CA's; the CA issues the RA's
//! certificates), revocation on behalf of an RA ([`CaService::revoke_for`]: only certificates
//! of templates the RA is authorised for) and the TLS allow-list
//! ([`CaService::active_ra_tls_certificates`]).
//!
//! # Two deployments, one service
//!
//! What differs is configuration ([`Settings`]), never the decisions:
//!
//! - **`scepd ca`** ([`Settings::split`]): RAs come from the ledger's registry, each
//!   authorised for the templates it was registered with; statements cross a wire, so the CA
//!   keeps the statement log (step 4) and records every certificate it signs in its own
//!   `certificates` table with the audit entry ([`Recording::ByCa`]); refusals and replays are
//!   audited with actor `ra:NAME`.
//! - **`scepd serve`** ([`Settings::all_in_one`]): one RA in this process
//!   ([`Ras::Local`]), its enrollment-agent certificate the only one accepted, authorised for
//!   every template the CA has. The statement never crosses a wire and the RA records the
//!   certificate with its transaction, its challenge and its audit entry in one commit in the
//!   same database ([`Recording::ByRa`]): the CA writes nothing per enrollment, so step 4 is
//!   the RA's transaction record (a retried transaction gets the recorded certificate there)
//!   and the all-in-one enrollment costs no extra database write. Steps 1, 2, 3 and 5 are the
//!   same calls.
//!
//! The service implements [`request::answer::CertificateAuthority`] for the RA of this
//! process ([`Caller::InProcess`]); `scepd ca` calls [`CaService::connected`] and
//! [`CaService::answer_statement`] behind mutual TLS.
//!
//! Key operations (verifying the statement, signing) block for milliseconds, longer in a
//! network HSM: they run on tokio's blocking pool (`spawn_blocking`), never on an async worker.
//!
//! Modules, importing only downwards: `settings` (the configuration), `connected` (who is
//! asking), `ca_service` (the service value and its shared steps), then one per job:
//! `statement`, `registration`, `revoke`, `in_process`.

mod ca_service;
mod connected;
mod in_process;
mod registration;
mod revoke;
mod settings;
mod statement;

#[cfg(test)]
mod tests;

pub use ca_service::CaService;
pub use connected::{Caller, ConnectedRa};
pub use registration::{OpenRegistration, RaPublicKeys, RegisteredRa};
pub use revoke::{RevokeFailure, RevokeFuture, RevokeRequest, Revoked, Revoker};
pub use settings::{Authorised, LocalRa, Ras, Recording, Settings};
pub use statement::Answer;
