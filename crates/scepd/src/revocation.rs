//! Publishing revocation: the CRL (regenerated soon after every revocation and well before its
//! nextUpdate, kept in the database so every node serves the same one) and OCSP answers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::RwLock;

/// How often the publisher checks whether a new CRL is due: a revocation reaches the CRL within
/// this interval (the BR allow 24 h; the catalogue asks for 5 minutes).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How long a CRL is valid (nextUpdate − thisUpdate).
pub const CRL_VALIDITY_SECS: i64 = 7 * 24 * 3600;
/// A new CRL is made when nextUpdate is closer than this, long before relying parties would
/// find it stale.
pub const CRL_RENEW_MARGIN_SECS: i64 = 3 * 24 * 3600;
/// How long an OCSP answer may be cached by relying parties.
pub const OCSP_VALIDITY_SECS: i64 = 3600;

/// The CA's revocation publisher.
pub struct Revocation {
    ca_signer: Arc<dyn keys::Signer>,
    ca_certificate: Vec<u8>,
    store: store::Store,
    current_crl: RwLock<Option<Vec<u8>>>,
}

fn reason(reason: store::RevocationReason) -> Option<ca::crl::RevocationReason> {
    reason.as_str().parse().ok()
}

impl Revocation {
    pub fn new(
        ca_signer: Arc<dyn keys::Signer>,
        ca_certificate: Vec<u8>,
        store: store::Store,
    ) -> Self {
        Self {
            ca_signer,
            ca_certificate,
            store,
            current_crl: RwLock::new(None),
        }
    }

    /// Makes and records a new CRL if one is due (a revocation it does not cover, or
    /// nextUpdate near); returns the CRL to serve.
    pub async fn refresh(&self, now: i64) -> Result<Vec<u8>, String> {
        let state = self
            .store
            .crl_state()
            .await
            .map_err(|e| format!("CRL state: {e}"))?;
        let crl = match state.published {
            Some(published) if !state.needs_new_crl(now, CRL_RENEW_MARGIN_SECS) => published.der,
            _ => {
                // Read the state before the entries, so the CRL covers at least what the state
                // counted (a concurrent revocation makes the next check renew it).
                let entries: Vec<ca::crl::RevokedEntry> = self
                    .store
                    .revoked_certificates()
                    .await
                    .map_err(|e| format!("revoked certificates: {e}"))?
                    .into_iter()
                    .map(|r| ca::crl::RevokedEntry {
                        serial_hex: r.serial_hex,
                        revoked_at: r.revoked_at,
                        reason: reason(r.reason),
                    })
                    .collect();
                let number = self
                    .store
                    .next_crl_number()
                    .await
                    .map_err(|e| format!("CRL number: {e}"))?;
                let next_update = now.saturating_add(CRL_VALIDITY_SECS);
                let der = ca::crl::build_crl(
                    self.ca_signer.as_ref(),
                    &self.ca_certificate,
                    &entries,
                    number,
                    now,
                    next_update,
                )
                .map_err(|e| format!("building CRL {number}: {e}"))?;
                self.store
                    .record_crl(store::PublishedCrl {
                        number,
                        this_update: now,
                        next_update,
                        covered_revocations: state.revocation_count,
                        der: der.clone(),
                    })
                    .await
                    .map_err(|e| format!("recording CRL {number}: {e}"))?;
                tracing::info!(number, entries = entries.len(), "CRL published");
                der
            }
        };
        *self.current_crl.write().await = Some(crl.clone());
        Ok(crl)
    }

    /// The CRL to serve: always current (the check is one small query; a new CRL is made only
    /// when a revocation is not yet covered or nextUpdate is near). If storage fails, the last
    /// CRL made is served rather than none.
    pub async fn crl(&self, now: i64) -> Result<Vec<u8>, String> {
        match self.refresh(now).await {
            Ok(crl) => Ok(crl),
            Err(e) => match self.current_crl.read().await.clone() {
                Some(crl) => {
                    tracing::warn!(error = %e, "serving the last CRL made");
                    Ok(crl)
                }
                None => Err(e),
            },
        }
    }

    /// Keeps the CRL current until the process ends.
    pub fn spawn_publisher(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.refresh(crate::http::unix_now()).await {
                    tracing::error!(error = %e, "CRL publication failed");
                }
                tokio::time::sleep(CHECK_INTERVAL).await;
            }
        });
    }

    /// Answers an OCSP request (RFC 6960). A serial we never issued is `unknown`, never
    /// `good`; a storage failure is an `internalError` answer, never a guess.
    pub async fn ocsp(&self, request: &[u8], now: i64) -> Vec<u8> {
        let responder =
            match ca::ocsp::Responder::new(self.ca_signer.as_ref(), &self.ca_certificate) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "OCSP responder");
                    return ca::ocsp::error_response(ca::ocsp::ErrorStatus::InternalError);
                }
            };
        // The responder's lookup is synchronous; read the statuses it will ask for first.
        let mut statuses = std::collections::HashMap::new();
        for serial in responder.requested_serials(request) {
            let status = match self.store.revocation_status(&serial).await {
                Ok(store::RevocationStatus::Good) => ca::ocsp::CertStatusLookup::Good,
                Ok(store::RevocationStatus::Revoked { at, reason: r }) => {
                    ca::ocsp::CertStatusLookup::Revoked {
                        at,
                        reason: reason(r),
                    }
                }
                Ok(_) => ca::ocsp::CertStatusLookup::NotIssued,
                Err(e) => {
                    tracing::error!(error = %e, "OCSP status lookup failed");
                    return ca::ocsp::error_response(ca::ocsp::ErrorStatus::InternalError);
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
                    .unwrap_or(ca::ocsp::CertStatusLookup::NotIssued)
            },
            now,
            OCSP_VALIDITY_SECS,
        )
    }
}
