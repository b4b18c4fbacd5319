//! Revocations Intune asks for (a device wiped, retired or removed from the SCEP profile's
//! group): fetched from Intune's PKI connector service, carried out through the CA like any
//! revocation (audited, in the CRL and OCSP at once), and their results uploaded.

use std::sync::Arc;
use std::time::Duration;

use intune::{IntuneClient, RevocationErrorCode, RevocationRequest, RevocationResult};

use crate::services::revocation::{Revocation, RevokeError};

/// The most requests fetched per poll (Intune's limit).
const MAX_REQUESTS: u16 = 500;

/// RFC 5280 §5.3.1: the device no longer needs the certificate (Intune revokes on wipe,
/// retire and profile removal, never for a key compromise it could not know of).
const REASON: &str = "cessationOfOperation";

/// Who revoked, as the audit log names it.
const ACTOR: &str = "intune";

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollSummary {
    pub revoked: usize,
    /// Unknown serials, or the CA refused (reported to Intune as failed).
    pub failed: usize,
    /// Not committed for a reason that may pass (the database, the CA link): not reported,
    /// so Intune hands the request out again.
    pub retried_later: usize,
}

/// Polls every `interval` until the process ends; failures are logged and tried again at the
/// next interval.
pub fn spawn(client: Arc<IntuneClient>, revocation: Arc<Revocation>, interval: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            match poll_once(&client, &revocation, crate::clock::unix_now()).await {
                Ok(summary) if summary == PollSummary::default() => {}
                Ok(summary) => tracing::info!(
                    revoked = summary.revoked,
                    failed = summary.failed,
                    retried_later = summary.retried_later,
                    "Intune revocation requests handled"
                ),
                Err(error) => {
                    tracing::warn!(%error, "fetching Intune's revocation requests failed; retrying at the next interval")
                }
            }
        }
    });
}

/// Fetches the pending revocation requests, carries them out and uploads their results.
pub async fn poll_once(
    client: &IntuneClient,
    revocation: &Revocation,
    now: i64,
) -> Result<PollSummary, intune::IntuneError> {
    let requests = client
        .download_revocation_requests(MAX_REQUESTS, None)
        .await?;
    let mut summary = PollSummary::default();
    let mut results = Vec::with_capacity(requests.len());
    for request in &requests {
        match revoke(revocation, request, now).await {
            Some(result) => {
                match result.failure() {
                    None => summary.revoked += 1,
                    Some(_) => summary.failed += 1,
                }
                results.push(result);
            }
            None => summary.retried_later += 1,
        }
    }
    if !results.is_empty() {
        client.upload_revocation_results(&results).await?;
    }
    Ok(summary)
}

/// One request's result; `None` when it should be tried again later.
async fn revoke(
    revocation: &Revocation,
    request: &RevocationRequest,
    now: i64,
) -> Option<RevocationResult> {
    let context = request.request_context.clone();
    let Some(serial) = canonical_serial(&request.serial_number) else {
        return Some(RevocationResult::failed(
            context,
            RevocationErrorCode::ParameterDataInvalidError,
            "the serial number is not hexadecimal",
        ));
    };
    match revocation.revoke(&serial, REASON, now, ACTOR).await {
        // Already revoked is what Intune asked for: done.
        Ok(_) | Err(RevokeError::AlreadyRevoked(_)) => Some(RevocationResult::succeeded(context)),
        Err(e @ RevokeError::UnknownSerial(_)) => Some(RevocationResult::failed(
            context,
            RevocationErrorCode::CertificateNotFoundError,
            e.to_string(),
        )),
        Err(e @ (RevokeError::Refused(_) | RevokeError::UnknownReason(_))) => {
            Some(RevocationResult::failed(
                context,
                RevocationErrorCode::NonRetryableServiceException,
                e.to_string(),
            ))
        }
        Err(error @ RevokeError::Failed(_)) => {
            tracing::warn!(serial, %error, "Intune revocation not committed; Intune will ask again");
            None
        }
    }
}

/// Intune's serial (hex, any case, maybe with spaces or leading zero octets) as the store
/// keys serials: lower-case hex.
fn canonical_serial(serial: &str) -> Option<String> {
    let hex: String = serial.chars().filter(|c| !c.is_whitespace()).collect();
    (!hex.is_empty() && hex.len() <= 128 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_read_as_the_store_keys_them() {
        assert_eq!(canonical_serial("4A 0B ff").as_deref(), Some("4a0bff"));
        assert_eq!(canonical_serial("00ab").as_deref(), Some("00ab"));
        for bad in ["", "xyz", "12-34", &"a".repeat(129)] {
            assert_eq!(canonical_serial(bad), None, "{bad:?}");
        }
    }
}
