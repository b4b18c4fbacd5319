//! Where Intune's services are, as Graph lists them for the tenant
//! (`GET {graph}/v1.0/servicePrincipals/appId=0000000a-…/endpoints`): a map from service name
//! (lower-cased) to URL, fetched when first needed and kept until a call to one of the
//! services fails (the service may have moved), when the next call asks Graph again. A
//! service missing from the map is an error, never a default URL.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;

use crate::error::{Audience, Failure, IntuneError, Step};
use crate::http::{Http, json_answer};
use crate::token::Tokens;

/// Attempts per discovery.
const ATTEMPTS: usize = 2;
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Graph lists some dozens of endpoints.
const ANSWER_LIMIT: usize = 1024 * 1024;

/// The Intune services scepd calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Validation and notifications (`ScepActions/…`).
    ScepValidation,
    /// Revocation requests and results (`CertificateAuthorityRequests/…`).
    PkiConnector,
}

impl Service {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ScepValidation => "ScepRequestValidationFEService",
            Self::PkiConnector => "PkiConnectorFEService",
        }
    }
}

pub(crate) struct Discovery {
    url: String,
    services: tokio::sync::Mutex<Option<HashMap<String, String>>>,
}

impl Discovery {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            services: tokio::sync::Mutex::new(None),
        }
    }

    /// The base URL of `service`, from the cached map or from Graph.
    pub(crate) async fn endpoint(
        &self,
        http: &Http,
        tokens: &Tokens,
        service: Service,
    ) -> Result<String, IntuneError> {
        let mut services = self.services.lock().await;
        if services.is_none() {
            *services = Some(self.fetch_with_retry(http, tokens).await?);
        }
        let found = services
            .as_ref()
            .and_then(|map| map.get(&service.name().to_lowercase()).cloned());
        match found {
            Some(url) => Ok(url),
            None => {
                // Perhaps Intune adds it later: ask Graph again next time.
                *services = None;
                Err(IntuneError::ServiceNotFound {
                    service: service.name(),
                    url: self.url.clone(),
                })
            }
        }
    }

    /// Forgets the map: the next call asks Graph again.
    pub(crate) async fn forget(&self) {
        *self.services.lock().await = None;
    }

    async fn fetch_with_retry(
        &self,
        http: &Http,
        tokens: &Tokens,
    ) -> Result<HashMap<String, String>, IntuneError> {
        let mut attempt = 1;
        loop {
            match self.fetch(http, tokens).await {
                Err(IntuneError::Unavailable {
                    step: Step::Discovery,
                    failure,
                    ..
                }) if failure.is_transient() && attempt < ATTEMPTS => {
                    tracing::warn!(url = %self.url, error = %failure,
                        "service discovery failed; trying once more");
                    attempt += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch(
        &self,
        http: &Http,
        tokens: &Tokens,
    ) -> Result<HashMap<String, String>, IntuneError> {
        let unavailable = |failure| IntuneError::Unavailable {
            step: Step::Discovery,
            url: self.url.clone(),
            failure,
        };
        let token = tokens.bearer(http, Audience::Graph).await?;
        let authorization = zeroize::Zeroizing::new(format!("Bearer {}", token.as_str()));
        let request_id = uuid::Uuid::new_v4().to_string();
        let headers = [
            ("authorization", authorization.as_str()),
            ("client-request-id", request_id.as_str()),
            ("accept", "application/json"),
        ];
        let (status, body) = http
            .send(Method::GET, &self.url, &headers, Vec::new(), ANSWER_LIMIT)
            .await
            .map_err(unavailable)?;
        if status == 401 {
            tokens.forget(Audience::Graph).await;
        }
        let json = json_answer(status, &body).map_err(unavailable)?;
        let services =
            read_services(&json).map_err(|what| unavailable(Failure::Malformed(what)))?;
        tracing::info!(url = %self.url, client_request_id = %request_id,
            services = services.len(), "discovered Intune's services");
        Ok(services)
    }
}

/// `{"value": [{"providerName": "…", "uri": "https://…"}, …]}`: the name is `providerName`
/// (Graph v1.0) or, failing that, `serviceName` (the older AAD Graph), lower-cased as the
/// reference libraries key it. Entries without a name or a URL are not Intune services.
pub(crate) fn read_services(json: &serde_json::Value) -> Result<HashMap<String, String>, String> {
    let entries = json
        .get("value")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| "no \"value\" list".to_owned())?;
    let text = |entry: &serde_json::Value, key: &str| {
        entry
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    Ok(entries
        .iter()
        .filter_map(|entry| {
            let name = text(entry, "providerName").or_else(|| text(entry, "serviceName"))?;
            Some((name.to_lowercase(), text(entry, "uri")?))
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn services_are_keyed_by_provider_name_or_service_name_lower_cased() {
        let json = serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#…",
            "value": [
                {"id": "1", "capability": "x", "providerName": "ScepRequestValidationFEService",
                 "uri": "https://fef.example/TrafficGateway/TrafficRoutingService/SCEP"},
                {"serviceName": "PkiConnectorFEService", "uri": "https://fef.example/PKI"},
                {"providerName": null, "serviceName": "Other", "uri": "https://o"},
                {"providerName": "NoUri"},
                "not an object",
            ]
        });
        let services = read_services(&json).unwrap();
        assert_eq!(services.len(), 3);
        assert_eq!(
            services["sceprequestvalidationfeservice"],
            "https://fef.example/TrafficGateway/TrafficRoutingService/SCEP"
        );
        assert_eq!(services["pkiconnectorfeservice"], "https://fef.example/PKI");
        assert_eq!(services["other"], "https://o");
    }

    #[test]
    fn an_answer_without_a_value_list_is_refused() {
        assert!(read_services(&serde_json::json!({"values": []})).is_err());
        assert!(read_services(&serde_json::json!({"value": {}})).is_err());
        assert!(
            read_services(&serde_json::json!({"value": []}))
                .unwrap()
                .is_empty()
        );
    }
}
