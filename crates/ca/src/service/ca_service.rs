//! The service value and the steps every job shares: who is asking, the audit trail, the
//! blocking pool.

use std::collections::HashSet;
use std::sync::Arc;

use ledger::ca::CaLedger;
use ledger::{AuditEvent, AuditKind, StoreError};
use request::answer::CaRefusal;

use super::connected::{Caller, ConnectedRa};
use super::settings::{Authorised, Ras, Settings};
use crate::authority::Ca;

/// The CA service: the CA, its ledger and how this deployment uses them. Cheap to share
/// (`Arc`); every method takes `&self`.
pub struct CaService {
    ca: Arc<Ca>,
    ledger: Arc<dyn CaLedger>,
    settings: Settings,
}

impl std::fmt::Debug for CaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaService")
            .field("ca", &self.ca)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CaService {
    pub fn new(ca: Arc<Ca>, ledger: Arc<dyn CaLedger>, settings: Settings) -> CaService {
        CaService {
            ca,
            ledger,
            settings,
        }
    }

    /// The CA this service issues with.
    pub fn ca(&self) -> &Arc<Ca> {
        &self.ca
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(super) fn ledger(&self) -> &dyn CaLedger {
        self.ledger.as_ref()
    }

    /// The active RA behind `caller`: for a TLS connection, the registered, unrevoked RA
    /// whose TLS client certificate has that SHA-256 (it may have been revoked since the
    /// handshake); in-process, the local RA. Anything else is
    /// [`CaRefusal::RaNotRegistered`].
    pub async fn connected(&self, caller: Caller) -> Result<ConnectedRa, CaRefusal> {
        match (&self.settings.ras, caller) {
            (Ras::Registry { .. }, Caller::Tls(Some(fingerprint))) => {
                match self.ledger.ra_by_tls_certificate(&fingerprint).await {
                    Ok(Some(ra)) if ra.is_active() => {
                        let templates = Authorised::Only(ra.templates);
                        match ra.certificates {
                            Some(c) => Ok(ConnectedRa::new(ra.name, c.signing, templates)),
                            None => Err(not_registered("RA not registered")),
                        }
                    }
                    Ok(_) => Err(not_registered(
                        "the TLS client certificate belongs to no active RA",
                    )),
                    Err(e) => Err(CaRefusal::Internal(format!("RA registry: {e}"))),
                }
            }
            (Ras::Registry { .. }, Caller::Tls(None)) => {
                Err(not_registered("no TLS client certificate"))
            }
            (Ras::Registry { .. }, Caller::InProcess) => Err(not_registered(
                "this CA answers registered RAs over TLS only",
            )),
            (Ras::Local(local), Caller::InProcess) => Ok(ConnectedRa::new(
                local.name.clone(),
                local.counter_signing_certificate.clone(),
                local.templates.clone(),
            )),
            (Ras::Local(_), Caller::Tls(_)) => Err(not_registered(
                "this CA answers the RA of its own process only",
            )),
        }
    }

    /// The SHA-256 of the TLS client certificates of the registered, unrevoked RAs: the
    /// allow-list the TLS handshake checks.
    pub async fn active_ra_tls_certificates(&self) -> Result<HashSet<[u8; 32]>, StoreError> {
        let ras = self.ledger.ra_registrations().await?;
        Ok(ras
            .iter()
            .filter(|ra| ra.is_active())
            .filter_map(|ra| ra.certificates.as_ref().map(|c| c.tls_sha256))
            .collect())
    }

    /// Appends to the audit log. The action it records has been taken already and a failed
    /// append cannot undo it: the failure is logged.
    pub(super) async fn audit(&self, kind: AuditKind, actor: &str, detail: String, now: i64) {
        let event = AuditEvent {
            at: now,
            kind,
            actor: actor.to_owned(),
            detail,
        };
        if let Err(e) = self.ledger.append_audit(event).await {
            tracing::error!(error = %e, "audit append failed");
        }
    }
}

fn not_registered(why: &str) -> CaRefusal {
    CaRefusal::RaNotRegistered(why.to_owned())
}

/// Runs a blocking key operation on tokio's blocking pool, off the async workers.
pub(super) async fn blocking<T, F>(f: F) -> Result<T, CaRefusal>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CaRefusal::Internal(format!("CA task: {e}")))
}
