//! The CA's revocation authority: it revokes, issues CRLs when they are due and answers OCSP,
//! over what its [`RevocationLedger`] keeps. The CA is the authority for revocation status; a
//! process that holds the CA key (`scepd serve`, `scepd ca`) runs this, and the RA of a split
//! deployment forwards revocations and OCSP requests to the CA that runs it.
//!
//! - [`RevocationAuthority::revoke`] parses the reason (RFC 5280 §5.3.1; an unknown one is
//!   refused before anything is written), commits the revocation with its audit entry in one
//!   ledger commit (a certificate already revoked keeps its first revocation), then renews the
//!   CRL at once rather than at the next check.
//! - [`RevocationAuthority::refresh`] makes a CRL ([`crate::crl::build_crl`]) only when one is
//!   due ([`ledger::CrlState::needs_new_crl`]: none yet, a committed revocation it does not
//!   cover, or nextUpdate closer than [`CRL_RENEW_MARGIN_SECS`]); its number comes from the
//!   ledger, so CRL numbers increase across every CA node sharing it. Otherwise the recorded
//!   CRL is served, byte for byte.
//! - [`RevocationAuthority::ocsp`] answers RFC 6960 requests ([`crate::ocsp::Responder`]) from
//!   the ledger's status of each serial: a serial this CA never issued is `unknown`, never
//!   `good`, and a ledger failure is `internalError`, never a guess.
//!
//! Nothing here reads the clock or spawns a task: `now` is passed in, and the caller runs the
//! check every [`CHECK_INTERVAL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keys::Signer;
use ledger::revoking::RevocationLedger;
use ledger::{PublishedCrl, RevocationRecord, RevocationStatus, StoreError};

use crate::crl::{self, RevocationReason};
use crate::error::CaError;
use crate::ocsp::{self, CertStatusLookup, ErrorStatus};

/// How often the publisher checks whether a new CRL is due: a revocation reaches the CRL within
/// this interval (the BR allow 24 h; the catalogue asks for 5 minutes). A revocation made
/// through [`RevocationAuthority::revoke`] reaches it at once.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How long a CRL is valid (nextUpdate − thisUpdate): a week.
pub const CRL_VALIDITY_SECS: i64 = 7 * 24 * 3600;
/// A new CRL is made when nextUpdate is closer than this (three days), long before relying
/// parties would find it stale.
pub const CRL_RENEW_MARGIN_SECS: i64 = 3 * 24 * 3600;
/// How long an OCSP answer may be cached by relying parties (its nextUpdate): an hour.
pub const OCSP_VALIDITY_SECS: i64 = 3600;

/// Why a revocation did not happen: the one answer of the local authority and of an RA that
/// forwarded the revocation to a remote CA.
///
/// Not `#[non_exhaustive]`: its users (the admin API, the CA link, the command line) map every
/// variant to their own answer, and a new variant must make them decide.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// Not a reason this CA gives ([`parse_reason`]). Nothing was written.
    #[error("unknown revocation reason {0:?} (known: {known})", known = known_reasons())]
    UnknownReason(String),
    /// This CA never issued a certificate with this serial.
    #[error("no certificate with serial {0}")]
    UnknownSerial(String),
    /// Revoked before: the first revocation stands unchanged.
    #[error("certificate {0} is already revoked")]
    AlreadyRevoked(String),
    /// A remote CA refused the forwarded revocation (e.g. the RA is not authorised for the
    /// certificate's template); the text is the CA's code and reason.
    #[error("the CA refused: {0}")]
    Refused(String),
    /// Nothing is known to be committed: see [`RevokeFailure`].
    #[error(transparent)]
    Failed(RevokeFailure),
}

/// Why a revocation could not be committed (or its commit not confirmed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeFailure {
    /// The ledger failed; nothing was revoked.
    #[error("revoking {serial}: {source}")]
    Ledger { serial: String, source: StoreError },
    /// The revocation was forwarded to a remote CA and the link failed, or the CA's answer
    /// could not be read: the link's own error says which.
    #[error(transparent)]
    Link(Box<dyn std::error::Error + Send + Sync>),
}

/// Why no CRL could be made (the last one made, if any, is still served by
/// [`RevocationAuthority::crl`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    #[error("CRL state: {0}")]
    State(#[source] StoreError),
    #[error("revoked certificates: {0}")]
    RevokedList(#[source] StoreError),
    #[error("CRL number: {0}")]
    Number(#[source] StoreError),
    #[error("building CRL {number}: {source}")]
    Build { number: u64, source: CaError },
    #[error("recording CRL {number}: {source}")]
    Record { number: u64, source: StoreError },
}

fn known_reasons() -> String {
    RevocationReason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A revocation reason by its RFC 5280 §5.3.1 name (`keyCompromise`, `superseded`...; any
/// case, `-` and `_` ignored) or code: the one parse of a reason an operator or an RA gives.
/// `certificateHold` and `removeFromCRL` are not reasons this CA gives.
pub fn parse_reason(name: &str) -> Result<RevocationReason, RevokeError> {
    name.parse()
        .map_err(|_| RevokeError::UnknownReason(name.to_owned()))
}

/// The CA's revocation authority: the CA key and certificate, and the ledger of revocations
/// and CRLs.
pub struct RevocationAuthority {
    ca_signer: Arc<dyn Signer>,
    ca_certificate: Vec<u8>,
    ledger: Arc<dyn RevocationLedger>,
    /// The last CRL made or read, served when the ledger cannot be reached.
    last_crl: Mutex<Option<Vec<u8>>>,
}

impl std::fmt::Debug for RevocationAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationAuthority")
            .field("ca_signer", &self.ca_signer)
            .finish_non_exhaustive()
    }
}

impl RevocationAuthority {
    /// The authority of the CA whose key is `ca_signer` and certificate `ca_certificate` (DER),
    /// keeping revocations and CRLs in `ledger`. The key and certificate are checked when a
    /// CRL or an OCSP answer is first signed.
    pub fn new(
        ca_signer: Arc<dyn Signer>,
        ca_certificate: Vec<u8>,
        ledger: Arc<dyn RevocationLedger>,
    ) -> Self {
        Self {
            ca_signer,
            ca_certificate,
            ledger,
            last_crl: Mutex::new(None),
        }
    }

    /// Revokes the certificate `serial` (hex, any rendering) for the reason named
    /// `reason_name`, at `now`, on behalf of `actor` (who asked, for the audit entry). Returns
    /// once the revocation and its audit entry are committed; a new CRL is then made at once
    /// (if that fails, the error is logged and the next check retries: the revocation stands).
    pub async fn revoke(
        &self,
        serial: &str,
        reason_name: &str,
        now: i64,
        actor: &str,
    ) -> Result<RevocationRecord, RevokeError> {
        let reason = parse_reason(reason_name)?;
        let record = self
            .ledger
            .revoke(serial, reason, now, actor)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyRevoked => RevokeError::AlreadyRevoked(serial.to_owned()),
                StoreError::UnknownSerial => RevokeError::UnknownSerial(serial.to_owned()),
                source => RevokeError::Failed(RevokeFailure::Ledger {
                    serial: serial.to_owned(),
                    source,
                }),
            })?;
        // The revocation is committed; publish the CRL now rather than at the next interval.
        if let Err(e) = self.refresh(now).await {
            tracing::error!(error = %e, "CRL refresh after revocation failed; the publisher retries");
        }
        Ok(record)
    }

    /// Brings the CRL up to date: makes and records a new one if one is due (none yet, a
    /// revocation it does not cover, or nextUpdate within [`CRL_RENEW_MARGIN_SECS`]), valid
    /// for [`CRL_VALIDITY_SECS`]. Returns the CRL to serve.
    pub async fn refresh(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        let crl = self.issue_if_due(now).await?;
        *self.last_crl.lock().unwrap_or_else(PoisonError::into_inner) = Some(crl.clone());
        Ok(crl)
    }

    /// The CRL to serve: always current (the check is one small query; a new CRL is made only
    /// when one is due). If the ledger fails, the last CRL made is served rather than none.
    pub async fn crl(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        match self.refresh(now).await {
            Ok(crl) => Ok(crl),
            Err(e) => {
                let last = self
                    .last_crl
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                match last {
                    Some(crl) => {
                        tracing::warn!(error = %e, "serving the last CRL made");
                        Ok(crl)
                    }
                    None => Err(e),
                }
            }
        }
    }

    async fn issue_if_due(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        let state = self.ledger.crl_state().await.map_err(CrlError::State)?;
        if let Some(published) = state.published.as_ref()
            && !state.needs_new_crl(now, CRL_RENEW_MARGIN_SECS)
        {
            return Ok(published.der.clone());
        }
        // Read the state before the entries, so the CRL covers at least what the state
        // counted (a concurrent revocation makes the next check renew it).
        let entries: Vec<crl::RevokedEntry> = self
            .ledger
            .revoked_certificates()
            .await
            .map_err(CrlError::RevokedList)?
            .into_iter()
            .map(|r| crl::RevokedEntry {
                serial_hex: r.serial_hex,
                revoked_at: r.revoked_at,
                reason: Some(r.reason),
            })
            .collect();
        let number = self
            .ledger
            .next_crl_number()
            .await
            .map_err(CrlError::Number)?;
        let next_update = now.saturating_add(CRL_VALIDITY_SECS);
        let der = crl::build_crl(
            self.ca_signer.as_ref(),
            &self.ca_certificate,
            &entries,
            number,
            now,
            next_update,
        )
        .map_err(|source| CrlError::Build { number, source })?;
        self.ledger
            .record_crl(PublishedCrl {
                number,
                this_update: now,
                next_update,
                covered_revocations: state.revocation_count,
                der: der.clone(),
            })
            .await
            .map_err(|source| CrlError::Record { number, source })?;
        tracing::info!(number, entries = entries.len(), "CRL published");
        Ok(der)
    }

    /// Answers a DER OCSP request (RFC 6960) at `now`, valid for [`OCSP_VALIDITY_SECS`]. A
    /// serial this CA never issued is `unknown`, never `good`; a ledger failure is an
    /// `internalError` answer, never a guess; a request that does not parse is
    /// `malformedRequest`.
    pub async fn ocsp(&self, request: &[u8], now: i64) -> Vec<u8> {
        let responder = match ocsp::Responder::new(self.ca_signer.as_ref(), &self.ca_certificate) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "OCSP responder");
                return ocsp::error_response(ErrorStatus::InternalError);
            }
        };
        // The responder's lookup is synchronous; read the statuses it will ask for first.
        let mut statuses = HashMap::new();
        for serial in responder.requested_serials(request) {
            let status = match self.ledger.revocation_status(&serial).await {
                Ok(RevocationStatus::Good) => CertStatusLookup::Good,
                Ok(RevocationStatus::Revoked { at, reason }) => CertStatusLookup::Revoked {
                    at,
                    reason: Some(reason),
                },
                Ok(_) => CertStatusLookup::NotIssued,
                Err(e) => {
                    tracing::error!(error = %e, "OCSP status lookup failed");
                    return ocsp::error_response(ErrorStatus::InternalError);
                }
            };
            statuses.insert(serial, status);
        }
        responder.respond(
            request,
            |serial| {
                statuses
                    .get(serial)
                    .copied()
                    .unwrap_or(CertStatusLookup::NotIssued)
            },
            now,
            OCSP_VALIDITY_SECS,
        )
    }
}

#[cfg(test)]
mod tests;
