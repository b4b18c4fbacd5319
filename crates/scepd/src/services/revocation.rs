//! Publishing revocation: the CRL (regenerated soon after every revocation and well before its
//! nextUpdate, kept in the database so every node serves the same one) and OCSP answers.
//!
//! The CA is the authority for revocation status. Where the CA key is in the process
//! (`scepd serve`, `scepd ca`) this module signs CRLs and OCSP answers itself; on the RA of a
//! split deployment ([`Revocation::remote`]) it forwards revocations to the CA over the mutual
//! TLS link, mirrors the CA's CRL (served as `/crl` and GetCRL) and proxies OCSP requests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, RwLock};

use crate::services::ca_link::client::HttpsClient;
use crate::services::ca_link::protocol;

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

/// The revocation publisher: the CA's own, or the RA's view of a remote CA.
pub struct Revocation {
    source: Source,
    store: store::Store,
    current_crl: RwLock<Option<Vec<u8>>>,
}

enum Source {
    /// The CA key is here: CRLs and OCSP answers are signed in this process.
    Local {
        ca_signer: Arc<dyn keys::Signer>,
        ca_certificate: Vec<u8>,
    },
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
}

/// Why a revocation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("unknown revocation reason {0:?} (known: {known})", known = known_reasons())]
    UnknownReason(String),
    #[error("no certificate with serial {0}")]
    UnknownSerial(String),
    #[error("certificate {0} is already revoked")]
    AlreadyRevoked(String),
    /// The CA refused (e.g. the RA is not authorised for the certificate's template).
    #[error("the CA refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

fn known_reasons() -> String {
    store::RevocationReason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn revoke_error(serial: &str, reason: &str, error: store::StoreError) -> RevokeError {
    match error {
        store::StoreError::InvalidInput(_) => RevokeError::UnknownReason(reason.to_owned()),
        store::StoreError::AlreadyRevoked => RevokeError::AlreadyRevoked(serial.to_owned()),
        store::StoreError::UnknownSerial => RevokeError::UnknownSerial(serial.to_owned()),
        e => RevokeError::Failed(format!("revoking {serial}: {e}")),
    }
}

const CRL_NUMBER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.20");

/// A CRL's number, thisUpdate and nextUpdate, once its signature checks against `ca_spki`.
fn inspect_crl(der: &[u8], ca_spki: &[u8]) -> Result<store::PublishedCrl, String> {
    use der::{Decode, Encode};
    let crl = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
        .map_err(|e| format!("CRL: {e}"))?;
    let tbs = crl.tbs_cert_list.to_der().map_err(|e| e.to_string())?;
    let alg = crl
        .signature_algorithm
        .to_der()
        .map_err(|e| e.to_string())?;
    let alg = keys::SignatureAlgorithm::from_x509(&alg).map_err(|e| e.to_string())?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or("CRL signature is not octet-aligned")?;
    keys::verify::verify_signature(ca_spki, alg, &tbs, signature)
        .map_err(|e| format!("the CRL is not signed by the CA key: {e}"))?;
    let secs = |t: &x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let number = crl
        .tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == CRL_NUMBER)
        .and_then(|e| x509_cert::ext::pkix::CrlNumber::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|n| {
            let bytes = n.0.as_bytes();
            (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
        })
        .ok_or("the CRL has no usable cRLNumber")?;
    let this_update = secs(&crl.tbs_cert_list.this_update);
    let next_update = crl
        .tbs_cert_list
        .next_update
        .as_ref()
        .map(secs)
        .ok_or("the CRL has no nextUpdate")?;
    Ok(store::PublishedCrl {
        number,
        this_update,
        next_update,
        covered_revocations: 0,
        der: der.to_vec(),
    })
}

impl Revocation {
    /// The publisher of a process that holds the CA key.
    pub fn new(
        ca_signer: Arc<dyn keys::Signer>,
        ca_certificate: Vec<u8>,
        store: store::Store,
    ) -> Self {
        Self {
            source: Source::Local {
                ca_signer,
                ca_certificate,
            },
            store,
            current_crl: RwLock::new(None),
        }
    }

    /// The RA's publisher in a split deployment: revocations, CRLs and OCSP answers come
    /// from the CA over `client`; a fetched CRL is served for at most `max_age`.
    pub fn remote(
        client: Arc<HttpsClient>,
        ca_certificate: &[u8],
        store: store::Store,
        max_age: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            source: Source::Remote(RemoteStatus {
                client,
                ca_spki: crate::x509::spki_of(ca_certificate).map_err(|e| e.to_string())?,
                max_age,
                fetched: Mutex::new(None),
            }),
            store,
            current_crl: RwLock::new(None),
        })
    }

    /// Brings the CRL up to date: here, makes and records a new one if one is due (a
    /// revocation it does not cover, or nextUpdate near); on an RA, fetches the CA's current
    /// CRL and mirrors it. Returns the CRL to serve.
    pub async fn refresh(&self, now: i64) -> Result<Vec<u8>, String> {
        let crl = match &self.source {
            Source::Local {
                ca_signer,
                ca_certificate,
            } => {
                self.refresh_local(ca_signer.as_ref(), ca_certificate, now)
                    .await?
            }
            Source::Remote(remote) => self.fetch_remote(remote, now).await?,
        };
        *self.current_crl.write().await = Some(crl.clone());
        Ok(crl)
    }

    async fn refresh_local(
        &self,
        ca_signer: &dyn keys::Signer,
        ca_certificate: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, String> {
        let state = self
            .store
            .crl_state()
            .await
            .map_err(|e| format!("CRL state: {e}"))?;
        if let Some(published) = state.published.as_ref()
            && !state.needs_new_crl(now, CRL_RENEW_MARGIN_SECS)
        {
            return Ok(published.der.clone());
        }
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
                reason: Some(r.reason),
            })
            .collect();
        let number = self
            .store
            .next_crl_number()
            .await
            .map_err(|e| format!("CRL number: {e}"))?;
        let next_update = now.saturating_add(CRL_VALIDITY_SECS);
        let der = ca::crl::build_crl(
            ca_signer,
            ca_certificate,
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
        Ok(der)
    }

    /// Fetches the CA's CRL, checks its signature and mirrors it in the RA's database (where
    /// GetCRL reads it).
    async fn fetch_remote(&self, remote: &RemoteStatus, now: i64) -> Result<Vec<u8>, String> {
        let (status, der) = remote
            .client
            .get(protocol::CRL_PATH, protocol::MAX_CRL_LEN)
            .await
            .map_err(|e| format!("fetching the CA's CRL: {e}"))?;
        if status != 200 {
            return Err(format!("the CA answered HTTP {status} for its CRL"));
        }
        let published = inspect_crl(&der, &remote.ca_spki)?;
        let next_update = published.next_update;
        let number = published.number;
        self.store
            .record_mirrored_crl(published)
            .await
            .map_err(|e| format!("recording the CA's CRL {number}: {e}"))?;
        *remote.fetched.lock().await = Some((now, next_update));
        tracing::debug!(number, "CA CRL fetched");
        Ok(der)
    }

    /// The CRL to serve. Here: always current (the check is one small query; a new CRL is
    /// made only when a revocation is not yet covered or nextUpdate is near). On an RA: the
    /// CA's, fetched again once older than its maximum age. If that fails, the last CRL is
    /// served rather than none.
    pub async fn crl(&self, now: i64) -> Result<Vec<u8>, String> {
        if let Source::Remote(remote) = &self.source {
            let max_age = i64::try_from(remote.max_age.as_secs()).unwrap_or(i64::MAX);
            let fresh = matches!(*remote.fetched.lock().await,
                Some((at, next_update)) if now < at.saturating_add(max_age) && now < next_update);
            // The mirror in the database is the newest CRL any process of this RA fetched
            // (`scepd cert revoke` on this host fetches one right after the CA commits).
            if fresh
                && let Ok(state) = self.store.crl_state().await
                && let Some(published) = state.published
            {
                return Ok(published.der);
            }
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

    /// Keeps the CRL current until the process ends (on an RA: the mirror GetCRL serves).
    pub fn spawn_publisher(self: &Arc<Self>) {
        let this = Arc::clone(self);
        let interval = match &self.source {
            Source::Local { .. } => CHECK_INTERVAL,
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
        let record = match &self.source {
            Source::Local { .. } => self
                .store
                .revoke(serial, reason_name, now, actor)
                .await
                .map_err(|e| revoke_error(serial, reason_name, e))?,
            Source::Remote(remote) => {
                self.revoke_remote(remote, serial, reason_name, actor)
                    .await?
            }
        };
        // The revocation is committed; publish the CRL now rather than at the next interval.
        if let Err(e) = self.refresh(now).await {
            tracing::error!(error = %e, "CRL refresh after revocation failed; the publisher retries");
        }
        Ok(record)
    }

    async fn revoke_remote(
        &self,
        remote: &RemoteStatus,
        serial: &str,
        reason_name: &str,
        actor: &str,
    ) -> Result<store::RevocationRecord, RevokeError> {
        if reason_name.parse::<store::RevocationReason>().is_err() {
            return Err(RevokeError::UnknownReason(reason_name.to_owned()));
        }
        let request = protocol::Revoke {
            version: protocol::VERSION,
            serial: serial.to_owned(),
            reason: reason_name.to_owned(),
            requested_by: actor.to_owned(),
        };
        let body = serde_json::to_vec(&request).map_err(|e| RevokeError::Failed(e.to_string()))?;
        let (status, answer) = remote
            .client
            .post(
                protocol::REVOKE_PATH,
                "application/json",
                body,
                protocol::MAX_ANSWER_LEN,
            )
            .await
            .map_err(|e| RevokeError::Failed(format!("the CA could not be reached: {e}")))?;
        if status != 200 {
            let refused: protocol::Refusal = serde_json::from_slice(&answer).map_err(|_| {
                RevokeError::Failed(format!("the CA answered HTTP {status} without a refusal"))
            })?;
            return Err(match refused.code.as_str() {
                "unknown-serial" => RevokeError::UnknownSerial(serial.to_owned()),
                "bad-request" => RevokeError::UnknownReason(reason_name.to_owned()),
                _ => RevokeError::Refused(format!("{}: {}", refused.code, refused.reason)),
            });
        }
        let revoked: protocol::Revoked = serde_json::from_slice(&answer)
            .map_err(|e| RevokeError::Failed(format!("the CA's answer does not parse: {e}")))?;
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
                .map_err(|_| RevokeError::Failed("the CA answered an unknown reason".into()))?,
            revoked_by: actor.to_owned(),
        })
    }

    /// Answers an OCSP request (RFC 6960). A serial we never issued is `unknown`, never
    /// `good`; a storage failure is an `internalError` answer, never a guess. On an RA the
    /// request goes to the CA, whose answer is passed on unchanged (signed by the CA key); an
    /// unreachable CA is `tryLater`.
    pub async fn ocsp(&self, request: &[u8], now: i64) -> Vec<u8> {
        let (ca_signer, ca_certificate) = match &self.source {
            Source::Local {
                ca_signer,
                ca_certificate,
            } => (ca_signer.as_ref(), ca_certificate),
            Source::Remote(remote) => return Self::ocsp_remote(remote, request).await,
        };
        let responder = match ca::ocsp::Responder::new(ca_signer, ca_certificate) {
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
                        reason: Some(r),
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

    async fn ocsp_remote(remote: &RemoteStatus, request: &[u8]) -> Vec<u8> {
        if request.len() > protocol::MAX_OCSP_REQUEST_LEN {
            return ca::ocsp::error_response(ca::ocsp::ErrorStatus::MalformedRequest);
        }
        match remote
            .client
            .post(
                protocol::OCSP_PATH,
                "application/ocsp-request",
                request.to_vec(),
                protocol::MAX_ANSWER_LEN,
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
