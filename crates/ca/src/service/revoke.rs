//! Revocation on behalf of an RA: the CA decides whether the RA may revoke the certificate
//! (only certificates of templates it is authorised for; the template never changes after
//! issuance), then hands the revocation to a [`Revoker`] (the CA's revocation service, which
//! commits it with its audit entry and renews the CRL).

use std::future::Future;
use std::pin::Pin;

use ledger::{AuditKind, RevocationReason, RevocationRecord};
use request::answer::CaRefusal;

use super::ca_service::CaService;
use super::connected::ConnectedRa;

/// What an RA asks to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    /// Hex serial, any case.
    pub serial: String,
    /// RFC 5280 CRLReason name (`keyCompromise`, `superseded`, ...).
    pub reason: String,
    /// Who asked at the RA (the RA's claim, for the audit trail).
    pub requested_by: String,
}

/// The revocation as committed (or as it was, when the certificate was already revoked: the
/// first revocation stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub serial_hex: String,
    pub reason: RevocationReason,
    pub revoked_at: i64,
    pub already_revoked: bool,
}

/// Why a [`Revoker`] did not revoke.
#[derive(Debug, thiserror::Error)]
pub enum RevokeFailure {
    #[error("unknown revocation reason {0:?}")]
    UnknownReason(String),
    /// Revoked meanwhile (a race with another revocation): the first one stands.
    #[error("already revoked")]
    AlreadyRevoked,
    #[error("{0}")]
    Failed(String),
}

/// What [`Revoker::revoke`] returns.
pub type RevokeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RevocationRecord, RevokeFailure>> + Send + 'a>>;

/// Commits a revocation the CA decided: records it with its audit entry (actor `actor`) and
/// renews the CRL.
pub trait Revoker: Send + Sync {
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: &'a str,
        now: i64,
        actor: &'a str,
    ) -> RevokeFuture<'a>;
}

impl CaService {
    /// Revokes a certificate for `ra`, only one of a template the RA is authorised for (a
    /// refusal is audited as enrollment-refused). Committed by `revoker`, with its audit entry
    /// naming the RA and who asked there (`ra:NAME (requested_by)`), before the answer. An
    /// already revoked certificate is answered with its first revocation.
    pub async fn revoke_for(
        &self,
        ra: &ConnectedRa,
        request: RevokeRequest,
        revoker: &dyn Revoker,
        now: i64,
    ) -> Result<Revoked, CaRefusal> {
        let internal = |e: ledger::StoreError| CaRefusal::Internal(e.to_string());
        let entry = self
            .ledger()
            .certificate_entry(&request.serial)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                CaRefusal::UnknownSerial(format!("no certificate with serial {}", request.serial))
            })?;
        let serial_hex = entry.certificate.serial_hex;
        let template = entry.certificate.template;
        let actor = ra.actor();
        if !ra.is_authorised_for(&template) {
            tracing::warn!(ra = %ra.name(), serial = %request.serial, template = %template, "revocation outside the RA's templates refused");
            let detail = format!(
                "revocation of {serial_hex} (template {template}) refused: RA {} is not authorised for it",
                ra.name()
            );
            self.audit(AuditKind::EnrollmentRefused, &actor, detail, now)
                .await;
            return Err(ra.not_authorised(&template));
        }
        if let Some(first) = entry.revocation {
            return Ok(Revoked {
                serial_hex,
                reason: first.reason,
                revoked_at: first.revoked_at,
                already_revoked: true,
            });
        }
        // The requester's name is the RA's claim; the RA itself is what the TLS layer proved.
        let requested_by: String = request
            .requested_by
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        let revoked_by = format!("{actor} ({requested_by})");
        let record = match revoker
            .revoke(&serial_hex, &request.reason, now, &revoked_by)
            .await
        {
            Ok(record) => record,
            Err(RevokeFailure::UnknownReason(r)) => {
                return Err(CaRefusal::BadRequest(format!(
                    "unknown revocation reason {r:?}"
                )));
            }
            // Lost a race with another revocation: the first one stands.
            Err(RevokeFailure::AlreadyRevoked) => {
                let first = self
                    .ledger()
                    .certificate_entry(&serial_hex)
                    .await
                    .map_err(internal)?
                    .and_then(|e| e.revocation)
                    .ok_or_else(|| CaRefusal::Internal("revocation vanished".into()))?;
                return Ok(Revoked {
                    serial_hex,
                    reason: first.reason,
                    revoked_at: first.revoked_at,
                    already_revoked: true,
                });
            }
            Err(e @ RevokeFailure::Failed(_)) => return Err(CaRefusal::Internal(e.to_string())),
        };
        tracing::info!(ra = %ra.name(), serial = %record.serial_hex, reason = record.reason.as_str(), "certificate revoked for an RA");
        Ok(Revoked {
            serial_hex: record.serial_hex,
            reason: record.reason,
            revoked_at: record.revoked_at,
            already_revoked: false,
        })
    }
}
