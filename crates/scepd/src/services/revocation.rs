//! Publishing revocation: the CRL (regenerated soon after every revocation and well before its
//! nextUpdate, kept in the database so every node serves the same one) and OCSP answers.
//!
//! The CA is the authority for revocation status ([`ca::revocation_authority`]: revoking, CRLs
//! when due, OCSP answers, over the store as its ledger). This module chooses where that
//! authority is: in this process when the CA key is here (`scepd serve`, `scepd ca`), or, on
//! the RA of a split deployment ([`Revocation::remote`]), behind the mutual TLS link — the RA
//! forwards revocations to the CA, mirrors the CA's CRL (served as `/crl` and GetCRL) and
//! proxies OCSP requests. It also runs the publisher task that keeps the CRL current.

use std::sync::Arc;
use std::time::Duration;

use ca::revocation_authority::{RevocationAuthority, RevokeFailure};
use tokio::sync::{Mutex, RwLock};

use edge::https_client::{ClientError, HttpsClient};
use request::link;

pub use ca::revocation_authority::{
    CHECK_INTERVAL, CRL_RENEW_MARGIN_SECS, CRL_VALIDITY_SECS, OCSP_VALIDITY_SECS, RevokeError,
};

/// The revocation publisher: the CA's own, or the RA's view of a remote CA.
pub struct Revocation {
    source: Source,
}

enum Source {
    /// The CA key is here: the CA's authority decides, and signs CRLs and OCSP answers.
    Local(RevocationAuthority),
    /// The RA of a split deployment: the CA decides and signs.
    Remote(RemoteStatus),
}

/// The RA's link to the CA's revocation service.
struct RemoteStatus {
    client: Arc<HttpsClient>,
    /// The CA's public key: a fetched CRL must be signed by it.
    ca_spki: Vec<u8>,
    /// How long a fetched CRL is served before it is fetched again (a revocation made on the
    /// CA host reaches the RA's CRL within this; one made through the RA at once).
    max_age: Duration,
    /// When the served CRL was fetched (unix seconds), and its nextUpdate.
    fetched: Mutex<Option<(i64, i64)>>,
    /// The RA's copy: revocations the CA committed, and the mirror of its CRL.
    store: store::Store,
    /// The last CRL fetched, served when the CA cannot be reached.
    current_crl: RwLock<Option<Vec<u8>>>,
}

/// Why no CRL could be served.
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    /// The local authority could not make or read one.
    #[error(transparent)]
    Local(#[from] ca::revocation_authority::CrlError),
    #[error("fetching the CA's CRL: {0}")]
    Fetch(#[source] ClientError),
    #[error("the CA answered HTTP {0} for its CRL")]
    Status(u16),
    /// The CA's CRL is not one to mirror (not signed by the CA key, no number...).
    #[error(transparent)]
    Rejected(#[from] ca::CrlRejection),
    #[error("recording the CA's CRL {number}: {source}")]
    Mirror {
        number: u64,
        source: store::StoreError,
    },
}

/// How a revocation forwarded to the CA failed before the CA's answer could be used (inside
/// [`RevokeFailure::Link`]; nothing is known to be committed).
#[derive(Debug, thiserror::Error)]
pub enum LinkFailure {
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
    #[error("the CA could not be reached: {0}")]
    Unreachable(#[source] ClientError),
    #[error("the CA answered HTTP {0} without a refusal")]
    NoRefusal(u16),
    #[error("the CA's answer does not parse: {0}")]
    Unparsable(#[source] serde_json::Error),
    #[error("the CA answered an unknown reason")]
    UnknownReason,
}

impl From<LinkFailure> for RevokeError {
    fn from(failure: LinkFailure) -> Self {
        RevokeError::Failed(RevokeFailure::Link(Box::new(failure)))
    }
}

impl Revocation {
    /// The publisher of a process that holds the CA key.
    pub fn new(
        ca_signer: Arc<dyn keys::Signer>,
        ca_certificate: Vec<u8>,
        store: store::Store,
    ) -> Self {
        Self {
            source: Source::Local(RevocationAuthority::new(
                ca_signer,
                ca_certificate,
                Arc::new(store),
            )),
        }
    }

    /// The RA's publisher in a split deployment: revocations, CRLs and OCSP answers come
    /// from the CA over `client`; a fetched CRL is served for at most `max_age`.
    pub fn remote(
        client: Arc<HttpsClient>,
        ca_certificate: &[u8],
        store: store::Store,
        max_age: Duration,
    ) -> Result<Self, crate::x509::UnreadableCertificate> {
        Ok(Self {
            source: Source::Remote(RemoteStatus {
                client,
                ca_spki: crate::x509::spki_of(ca_certificate)?,
                max_age,
                fetched: Mutex::new(None),
                store,
                current_crl: RwLock::new(None),
            }),
        })
    }

    /// Brings the CRL up to date: here, makes and records a new one if one is due (a
    /// revocation it does not cover, or nextUpdate near); on an RA, fetches the CA's current
    /// CRL and mirrors it. Returns the CRL to serve.
    pub async fn refresh(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        match &self.source {
            Source::Local(authority) => Ok(authority.refresh(now).await?),
            Source::Remote(remote) => remote.refresh(now).await,
        }
    }

    /// The CRL to serve. Here: always current (the check is one small query; a new CRL is
    /// made only when a revocation is not yet covered or nextUpdate is near). On an RA: the
    /// CA's, fetched again once older than its maximum age. If that fails, the last CRL is
    /// served rather than none.
    pub async fn crl(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        match &self.source {
            Source::Local(authority) => Ok(authority.crl(now).await?),
            Source::Remote(remote) => remote.crl(now).await,
        }
    }

    /// Keeps the CRL current until the process ends (on an RA: the mirror GetCRL serves).
    pub fn spawn_publisher(self: &Arc<Self>) {
        let this = Arc::clone(self);
        let interval = match &self.source {
            Source::Local(_) => CHECK_INTERVAL,
            Source::Remote(remote) => remote.max_age.max(Duration::from_secs(1)),
        };
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.refresh(crate::clock::unix_now()).await {
                    tracing::error!(error = %e, "CRL publication failed");
                }
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Revokes a certificate. Here: committed (with its audit entry) in this database, then a
    /// new CRL is made. On an RA: the CA commits it first (it is the authority, and refuses
    /// certificates of templates this RA is not authorised for); then the RA records it and
    /// fetches the new CRL. `actor` is who asked.
    pub async fn revoke(
        &self,
        serial: &str,
        reason_name: &str,
        now: i64,
        actor: &str,
    ) -> Result<store::RevocationRecord, RevokeError> {
        match &self.source {
            Source::Local(authority) => authority.revoke(serial, reason_name, now, actor).await,
            Source::Remote(remote) => {
                let record = remote.revoke(serial, reason_name, actor).await?;
                // The revocation is committed; mirror the new CRL now rather than at the
                // next interval.
                if let Err(e) = remote.refresh(now).await {
                    tracing::error!(error = %e, "CRL refresh after revocation failed; the publisher retries");
                }
                Ok(record)
            }
        }
    }

    /// Answers an OCSP request (RFC 6960). A serial we never issued is `unknown`, never
    /// `good`; a storage failure is an `internalError` answer, never a guess. On an RA the
    /// request goes to the CA, whose answer is passed on unchanged (signed by the CA key); an
    /// unreachable CA is `tryLater`.
    pub async fn ocsp(&self, request: &[u8], now: i64) -> Vec<u8> {
        match &self.source {
            Source::Local(authority) => authority.ocsp(request, now).await,
            Source::Remote(remote) => remote.ocsp(request).await,
        }
    }
}

impl RemoteStatus {
    async fn refresh(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        let crl = self.fetch(now).await?;
        *self.current_crl.write().await = Some(crl.clone());
        Ok(crl)
    }

    /// Fetches the CA's CRL, checks its signature and mirrors it in the RA's database (where
    /// GetCRL reads it).
    async fn fetch(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        let (status, der) = self
            .client
            .get(link::CRL_PATH, link::MAX_CRL_LEN)
            .await
            .map_err(CrlError::Fetch)?;
        if status != 200 {
            return Err(CrlError::Status(status));
        }
        let inspected = ca::crl::inspect_crl(&der, &self.ca_spki)?;
        let number = inspected.number;
        self.store
            .record_mirrored_crl(store::PublishedCrl {
                number,
                this_update: inspected.this_update,
                next_update: inspected.next_update,
                covered_revocations: 0,
                der: der.clone(),
            })
            .await
            .map_err(|source| CrlError::Mirror { number, source })?;
        *self.fetched.lock().await = Some((now, inspected.next_update));
        tracing::debug!(number, "CA CRL fetched");
        Ok(der)
    }

    async fn crl(&self, now: i64) -> Result<Vec<u8>, CrlError> {
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let fresh = matches!(*self.fetched.lock().await,
            Some((at, next_update)) if now < at.saturating_add(max_age) && now < next_update);
        // The mirror in the database is the newest CRL any process of this RA fetched
        // (`scepd cert revoke` on this host fetches one right after the CA commits).
        if fresh
            && let Ok(state) = self.store.crl_state().await
            && let Some(published) = state.published
        {
            return Ok(published.der);
        }
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

    /// Forwards a revocation to the CA, then records the CA's answer in the RA's database.
    async fn revoke(
        &self,
        serial: &str,
        reason_name: &str,
        actor: &str,
    ) -> Result<store::RevocationRecord, RevokeError> {
        ca::revocation_authority::parse_reason(reason_name)?;
        let request = link::Revoke {
            version: link::VERSION,
            serial: serial.to_owned(),
            reason: reason_name.to_owned(),
            requested_by: actor.to_owned(),
        };
        let body = serde_json::to_vec(&request).map_err(LinkFailure::Encode)?;
        let (status, answer) = self
            .client
            .post(
                link::REVOKE_PATH,
                "application/json",
                body,
                link::MAX_ANSWER_LEN,
            )
            .await
            .map_err(LinkFailure::Unreachable)?;
        if status != 200 {
            let refused: link::Refusal =
                serde_json::from_slice(&answer).map_err(|_| LinkFailure::NoRefusal(status))?;
            return Err(match refused.code.as_str() {
                "unknown-serial" => RevokeError::UnknownSerial(serial.to_owned()),
                "bad-request" => RevokeError::UnknownReason(reason_name.to_owned()),
                _ => RevokeError::Refused(format!("{}: {}", refused.code, refused.reason)),
            });
        }
        let revoked: link::Revoked =
            serde_json::from_slice(&answer).map_err(LinkFailure::Unparsable)?;
        // The CA's record is the truth; the RA's copy keeps its own listings and renewal
        // checks in step. A certificate this RA never saw (issued through another RA) has no
        // row here, which is fine.
        match self
            .store
            .revoke(serial, &revoked.reason, revoked.revoked_at, actor)
            .await
        {
            Ok(_) | Err(store::StoreError::UnknownSerial) => {}
            Err(store::StoreError::AlreadyRevoked) if revoked.already_revoked => {
                return Err(RevokeError::AlreadyRevoked(serial.to_owned()));
            }
            Err(store::StoreError::AlreadyRevoked) => {}
            Err(e) => {
                tracing::error!(serial, error = %e, "revoked at the CA but not recorded at the RA");
            }
        }
        if revoked.already_revoked {
            tracing::info!(serial, "already revoked at the CA; recorded at the RA");
        }
        Ok(store::RevocationRecord {
            serial_hex: revoked.serial,
            revoked_at: revoked.revoked_at,
            reason: revoked
                .reason
                .parse()
                .map_err(|_| LinkFailure::UnknownReason)?,
            revoked_by: actor.to_owned(),
        })
    }

    async fn ocsp(&self, request: &[u8]) -> Vec<u8> {
        if request.len() > link::MAX_OCSP_REQUEST_LEN {
            return ca::ocsp::error_response(ca::ocsp::ErrorStatus::MalformedRequest);
        }
        match self
            .client
            .post(
                link::OCSP_PATH,
                "application/ocsp-request",
                request.to_vec(),
                link::MAX_ANSWER_LEN,
            )
            .await
        {
            Ok((200, answer)) => answer,
            Ok((status, _)) => {
                tracing::error!(status, "the CA refused an OCSP request");
                ca::ocsp::error_response(ca::ocsp::ErrorStatus::TryLater)
            }
            Err(e) => {
                tracing::error!(error = %e, "the CA could not be reached for OCSP");
                ca::ocsp::error_response(ca::ocsp::ErrorStatus::TryLater)
            }
        }
    }
}
