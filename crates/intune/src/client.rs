//! The Intune client: a token, the service's URL from discovery, then one POST per call with
//! the headers Intune's reference libraries send. Calls are never retried: a retried
//! validation or notification is not known to be harmless, and the device retries anyway.

use axum::http::Method;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::discovery::{Discovery, Service};
use crate::error::{Audience, Call, Failure, IntuneError, Step};
use crate::http::{Http, json_answer};
use crate::revocation::{self, RevocationRequest, RevocationResult};
use crate::scep_actions::{self, Verdict};
use crate::settings::IntuneSettings;
use crate::token::Tokens;

/// Intune's answers to the ScepActions and upload calls are a few hundred bytes.
const ANSWER_LIMIT: usize = 64 * 1024;
/// 500 revocation requests of some hundred bytes each.
const DOWNLOAD_LIMIT: usize = 4 * 1024 * 1024;

/// A client of Intune's SCEP validation and PKI connector services, for one app
/// registration. Cheap to share behind an `Arc`; its tokens and discovered services are
/// shared by every caller.
pub struct IntuneClient {
    http: Http,
    tokens: Tokens,
    discovery: Discovery,
    caller: String,
}

impl std::fmt::Debug for IntuneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntuneClient")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl IntuneClient {
    /// A client for `settings`, checked (tenant, URLs, the certificate's key, trust roots);
    /// nothing is sent until the first call.
    pub fn new(settings: IntuneSettings) -> Result<Self, IntuneError> {
        settings.check()?;
        let tls = crate::trust::client_config(&settings)?;
        Ok(Self {
            http: Http::new(tls, settings.timeout),
            tokens: Tokens::new(&settings),
            discovery: Discovery::new(settings.discovery_url()),
            caller: settings.provider_name_and_version,
        })
    }

    /// `validateRequest`: whether Intune vouches for this CSR (its challenge, subject, SANs,
    /// key usages against the device's SCEP profile). `Ok` only for `Success`.
    pub async fn validate_request(
        &self,
        transaction_id: &str,
        csr_der: &[u8],
    ) -> Result<(), IntuneError> {
        let body = scep_actions::validate_body(transaction_id, csr_der, &self.caller);
        self.scep_action(Call::ValidateRequest, transaction_id, body)
            .await
    }

    /// `successNotification`: tells Intune the certificate was issued. The certificate may be
    /// returned to the device only if this is `Ok` (Intune answered `Success`).
    pub async fn send_success_notification(
        &self,
        transaction_id: &str,
        csr_der: &[u8],
        issued: &vouch::IssuedFacts,
    ) -> Result<(), IntuneError> {
        let call = Call::SuccessNotification;
        let body = scep_actions::success_body(transaction_id, csr_der, issued, &self.caller)
            .map_err(|reason| IntuneError::InvalidArgument { call, reason })?;
        self.scep_action(call, transaction_id, body).await
    }

    /// `failureNotification`: tells Intune that issuing failed after it validated the
    /// request. `hresult` is an HRESULT (MS-ERREF §2.1) for Intune's console; the
    /// description is cut to 255 characters.
    pub async fn send_failure_notification(
        &self,
        transaction_id: &str,
        csr_der: &[u8],
        hresult: u32,
        description: &str,
    ) -> Result<(), IntuneError> {
        let body =
            scep_actions::failure_body(transaction_id, csr_der, hresult, description, &self.caller);
        self.scep_action(Call::FailureNotification, transaction_id, body)
            .await
    }

    /// `downloadRevocationRequests`: up to `max_requests` (1 to 500) certificates Intune wants
    /// revoked, only those of `issuer_name` if given.
    pub async fn download_revocation_requests(
        &self,
        max_requests: u16,
        issuer_name: Option<&str>,
    ) -> Result<Vec<RevocationRequest>, IntuneError> {
        let call = Call::DownloadRevocationRequests;
        if !(1..=revocation::MAX_REQUESTS).contains(&max_requests) {
            return Err(IntuneError::InvalidArgument {
                call,
                reason: format!(
                    "max_requests must be 1 to {}, not {max_requests}",
                    revocation::MAX_REQUESTS
                ),
            });
        }
        let body = revocation::download_body(max_requests, issuer_name);
        let (url, json) = self.post(call, None, body, DOWNLOAD_LIMIT).await?;
        revocation::read_requests(&json).map_err(|what| IntuneError::Unavailable {
            step: Step::Call(call),
            url,
            failure: Failure::Malformed(what),
        })
    }

    /// `uploadRevocationResults`: what became of downloaded requests (at least one).
    pub async fn upload_revocation_results(
        &self,
        results: &[RevocationResult],
    ) -> Result<(), IntuneError> {
        let call = Call::UploadRevocationResults;
        if results.is_empty() {
            return Err(IntuneError::InvalidArgument {
                call,
                reason: "no results to upload".to_owned(),
            });
        }
        let body = revocation::upload_body(results);
        let (url, json) = self.post(call, None, body, ANSWER_LIMIT).await?;
        revocation::read_upload_answer(&json).map_err(|what| IntuneError::Unavailable {
            step: Step::Call(call),
            url,
            failure: Failure::Malformed(what),
        })
    }

    /// A ScepActions call whose answer must be `{"code": "Success"}`.
    async fn scep_action(
        &self,
        call: Call,
        transaction_id: &str,
        body: Value,
    ) -> Result<(), IntuneError> {
        let (url, json) = self
            .post(call, Some(transaction_id), body, ANSWER_LIMIT)
            .await?;
        match scep_actions::read_verdict(&json) {
            Ok(Verdict::Success) => {
                tracing::info!(%call, transaction_id, "Intune answered Success");
                Ok(())
            }
            Ok(Verdict::Refused { code, description }) => {
                tracing::warn!(%call, transaction_id, %code, %description, "Intune refused");
                Err(IntuneError::Refused {
                    call,
                    url,
                    code,
                    description,
                })
            }
            Err(what) => Err(IntuneError::Unavailable {
                step: Step::Call(call),
                url,
                failure: Failure::Malformed(what),
            }),
        }
    }

    /// One POST to the service of `call`, once. A failure that may mean the service moved
    /// (no answer, a status outside 2xx) drops the discovered map; a 401 drops the token.
    async fn post(
        &self,
        call: Call,
        transaction_id: Option<&str>,
        body: Value,
        limit: usize,
    ) -> Result<(String, Value), IntuneError> {
        let (service, suffix, api_version) = route(call);
        let base = self
            .discovery
            .endpoint(&self.http, &self.tokens, service)
            .await?;
        let token = self.tokens.bearer(&self.http, Audience::Intune).await?;
        let url = format!("{}/{suffix}", base.trim_end_matches('/'));
        let authorization = Zeroizing::new(format!("Bearer {}", token.as_str()));
        let request_id = uuid::Uuid::new_v4().to_string();
        let headers = [
            ("authorization", authorization.as_str()),
            ("api-version", api_version),
            ("client-request-id", request_id.as_str()),
            ("UserAgent", self.caller.as_str()),
            ("user-agent", self.caller.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        tracing::debug!(%call, %url, client_request_id = %request_id, transaction_id, "calling Intune");
        let sent = self
            .http
            .send(
                Method::POST,
                &url,
                &headers,
                body.to_string().into_bytes(),
                limit,
            )
            .await;
        let answer = match sent {
            Ok((status, body)) => {
                if status == 401 {
                    self.tokens.forget(Audience::Intune).await;
                }
                if !(200..300).contains(&status) {
                    self.discovery.forget().await;
                }
                json_answer(status, &body)
            }
            Err(failure) => {
                self.discovery.forget().await;
                Err(failure)
            }
        };
        match answer {
            Ok(json) => Ok((url, json)),
            Err(failure) => {
                tracing::warn!(%call, %url, client_request_id = %request_id, transaction_id,
                    error = %failure, "Intune call failed");
                Err(IntuneError::Unavailable {
                    step: Step::Call(call),
                    url,
                    failure,
                })
            }
        }
    }
}

/// The service, URL suffix and API version of each call.
fn route(call: Call) -> (Service, &'static str, &'static str) {
    match call {
        Call::ValidateRequest => (
            Service::ScepValidation,
            scep_actions::VALIDATE,
            scep_actions::API_VERSION,
        ),
        Call::SuccessNotification => (
            Service::ScepValidation,
            scep_actions::SUCCESS_NOTIFICATION,
            scep_actions::API_VERSION,
        ),
        Call::FailureNotification => (
            Service::ScepValidation,
            scep_actions::FAILURE_NOTIFICATION,
            scep_actions::API_VERSION,
        ),
        Call::DownloadRevocationRequests => (
            Service::PkiConnector,
            revocation::DOWNLOAD,
            revocation::API_VERSION,
        ),
        Call::UploadRevocationResults => (
            Service::PkiConnector,
            revocation::UPLOAD,
            revocation::API_VERSION,
        ),
    }
}
