//! Every request: read it, record it, check it against the contract, answer it as the test
//! asked. The decision is made under the state's lock; a slow answer waits outside it.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::checks::{self, AssertionRules};
use crate::{
    IssuedToken, MockAnswer, MockCredential, MockRevocationRequest, RecordedCall, Route, Scope,
    Shared, State, UploadedResult, Violation, lock,
};

/// Where discovery says the two services are, under the mock's base URL.
pub(crate) const SCEP_PREFIX: &str = "/TrafficGateway/TrafficRoutingService/SCEP";
pub(crate) const PKI_PREFIX: &str = "/TrafficGateway/TrafficRoutingService/PkiConnector";
const DISCOVERY_PATH: &str =
    "/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints";
const BODY_LIMIT: usize = 1024 * 1024;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A request as the checks see it.
struct Received {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What to send back.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<String>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json; charset=utf-8",
            body: body.to_string(),
            location: None,
        }
    }
}

/// A request that breaks the contract: recorded, and answered with `status`.
struct Refusal {
    status: u16,
    what: String,
}

fn bad(what: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        what: what.into(),
    }
}

pub(crate) async fn handle(
    shared: Shared,
    request: axum::http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(Body::new(body), BODY_LIMIT).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => Vec::new(),
    };
    let received = Received {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
    };
    let (reply, delay) = decide(&shared, &received);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    Ok(response(reply))
}

fn response(reply: Reply) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, reply.content_type);
    if let Some(location) = reply.location {
        builder = builder.header(header::LOCATION, location);
    }
    builder
        .body(Body::from(reply.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn route_of(path: &str) -> Route {
    let scep = |suffix: &str| path == format!("{SCEP_PREFIX}/ScepActions/{suffix}");
    let pki = |suffix: &str| path == format!("{PKI_PREFIX}/CertificateAuthorityRequests/{suffix}");
    if path.ends_with("/oauth2/v2.0/token") && path.matches('/').count() == 4 {
        Route::Token
    } else if path == DISCOVERY_PATH {
        Route::Discovery
    } else if scep("validateRequest") {
        Route::ValidateRequest
    } else if scep("successNotification") {
        Route::SuccessNotification
    } else if scep("failureNotification") {
        Route::FailureNotification
    } else if pki("downloadRevocationRequests") {
        Route::DownloadRevocationRequests
    } else if pki("uploadRevocationResults") {
        Route::UploadRevocationResults
    } else {
        Route::Unknown
    }
}

fn decide(shared: &Shared, received: &Received) -> (Reply, Option<Duration>) {
    let mut state = lock(shared);
    let route = route_of(&received.path);
    let body_json: Option<Value> = serde_json::from_slice(&received.body).ok();
    state.calls.push(RecordedCall {
        route,
        method: received.method.to_string(),
        path: received.path.clone(),
        api_version: received.header("api-version").map(str::to_owned),
        client_request_id: received.header("client-request-id").map(str::to_owned),
        transaction_id: body_json.as_ref().and_then(transaction_id),
        user_agent: received.header("useragent").map(str::to_owned),
        scope: (route == Route::Token)
            .then(|| form_field(&received.body, "scope"))
            .flatten(),
        body: body_json.filter(|_| route != Route::Token),
    });
    let answer = state.answer(route);
    let outcome = match route {
        Route::Token => token(&mut state, received, &answer),
        Route::Discovery => discovery(&mut state, received, &answer),
        Route::ValidateRequest
        | Route::SuccessNotification
        | Route::FailureNotification
        | Route::DownloadRevocationRequests
        | Route::UploadRevocationResults => intune_call(&mut state, route, received, &answer),
        Route::Unknown => Err(Refusal {
            status: 404,
            what: format!("{} {}: no such route", received.method, received.path),
        }),
    };
    match outcome {
        Ok(reply) => {
            let delay = match answer {
                MockAnswer::Slow(delay) => Some(delay),
                _ => None,
            };
            (reply, delay)
        }
        Err(refusal) => {
            tracing::info!(path = %received.path, what = %refusal.what, "mock Intune: violation");
            state.violations.push(Violation {
                route,
                path: received.path.clone(),
                what: refusal.what.clone(),
            });
            let body = if route == Route::Token {
                let error = if refusal.status == 401 {
                    "invalid_client"
                } else {
                    "invalid_request"
                };
                json!({"error": error, "error_description": refusal.what})
            } else {
                json!({"code": "BadRequest", "errorDescription": refusal.what})
            };
            (Reply::json(refusal.status, body), None)
        }
    }
}

fn transaction_id(json: &Value) -> Option<String> {
    ["request", "notification"]
        .iter()
        .find_map(|key| json.get(key)?.get("transactionId")?.as_str())
        .map(str::to_owned)
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The answers other than the normal one, common to every route.
fn abnormal(state: &State, answer: &MockAnswer) -> Option<Reply> {
    match answer {
        MockAnswer::Status(status) => {
            let mut reply = Reply::json(
                *status,
                json!({"code": "MockStatus", "errorDescription": format!("the mock answers {status}")}),
            );
            if (300..400).contains(status) {
                reply.location = Some(format!("{}/moved", state.base_url));
            }
            Some(reply)
        }
        MockAnswer::NotJson => Some(Reply {
            status: 200,
            content_type: "text/html",
            body: "<html><body>Sign in to continue</body></html>".to_owned(),
            location: None,
        }),
        MockAnswer::Success | MockAnswer::Code(_) | MockAnswer::Slow(_) => None,
    }
}

fn token(state: &mut State, received: &Received, answer: &MockAnswer) -> Result<Reply, Refusal> {
    if received.method != Method::POST {
        return Err(bad(format!("{} to the token endpoint", received.method)));
    }
    let tenant = received.path.split('/').nth(1).unwrap_or_default();
    if tenant != state.config.tenant {
        return Err(bad(format!("unknown tenant {tenant:?}")));
    }
    if !received
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
    {
        return Err(bad("the token request is not form-encoded"));
    }
    let field = |name| form_field(&received.body, name);
    if field("grant_type").as_deref() != Some("client_credentials") {
        return Err(bad("grant_type is not client_credentials"));
    }
    if field("client_id").as_deref() != Some(state.config.client_id.as_str()) {
        return Err(Refusal {
            status: 401,
            what: "unknown client_id".to_owned(),
        });
    }
    let graph_scope = format!("{}/.default", state.base_url);
    let intune_scope = format!("{}/.default", state.config.intune_resource);
    let scope = match field("scope") {
        Some(scope) if scope == graph_scope => Scope::Graph,
        Some(scope) if scope == intune_scope => Scope::Intune,
        other => {
            return Err(bad(format!(
                "scope {other:?} is neither {graph_scope:?} nor {intune_scope:?}"
            )));
        }
    };
    check_credential(state, received)?;

    if let Some(reply) = abnormal(state, answer) {
        return Ok(reply);
    }
    if let MockAnswer::Code(code) = answer {
        return Ok(Reply::json(400, json!({"error": code})));
    }
    let token = hex::encode(keys::random::bytes(32).map_err(|e| bad(e.to_string()))?);
    let lifetime = state.config.token_lifetime;
    state.tokens.insert(
        token.clone(),
        IssuedToken {
            scope,
            expires: Instant::now() + lifetime,
        },
    );
    Ok(Reply::json(
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": token,
        }),
    ))
}

fn check_credential(state: &mut State, received: &Received) -> Result<(), Refusal> {
    let field = |name| form_field(&received.body, name);
    let unauthorized = |what: String| Refusal { status: 401, what };
    match &state.config.credential {
        MockCredential::Secret(secret) => {
            if field("client_assertion").is_some() {
                return Err(bad("a client assertion where a secret is registered"));
            }
            if field("client_secret").as_deref() != Some(secret.as_str()) {
                return Err(unauthorized(
                    "AADSTS7000215: Invalid client secret provided.".into(),
                ));
            }
        }
        MockCredential::Certificate(certificate_der) => {
            if field("client_secret").is_some() {
                return Err(bad("a client secret where a certificate is registered"));
            }
            if field("client_assertion_type").as_deref() != Some(JWT_BEARER) {
                return Err(bad("client_assertion_type is not jwt-bearer"));
            }
            let jwt = field("client_assertion").ok_or_else(|| bad("no client_assertion"))?;
            let token_url = format!("{}{}", state.base_url, received.path);
            let rules = AssertionRules {
                client_id: &state.config.client_id,
                token_url: &token_url,
                certificate_der,
            };
            let jti = checks::client_assertion(&jwt, &rules).map_err(unauthorized)?;
            if !state.assertion_ids.insert(jti) {
                return Err(unauthorized(
                    "the client assertion was used before (jti)".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The bearer token must be one the mock issued, unexpired, for `scope`.
fn check_bearer(state: &State, received: &Received, scope: Scope) -> Result<(), Refusal> {
    let unauthorized = |what: &str| Refusal {
        status: 401,
        what: what.to_owned(),
    };
    let token = received
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("no bearer token"))?;
    let issued = state
        .tokens
        .get(token)
        .ok_or_else(|| unauthorized("a bearer token the mock did not issue"))?;
    if issued.scope != scope {
        return Err(unauthorized("a bearer token for the wrong scope"));
    }
    if Instant::now() >= issued.expires {
        return Err(unauthorized("an expired bearer token"));
    }
    Ok(())
}

/// A fresh UUID: never seen before on any call.
fn check_request_id(state: &mut State, received: &Received) -> Result<(), Refusal> {
    let id = checks::request_id(received.header("client-request-id")).map_err(bad)?;
    if !state.request_ids.insert(id.to_lowercase()) {
        return Err(bad(format!("client-request-id {id} was used before")));
    }
    Ok(())
}

fn discovery(
    state: &mut State,
    received: &Received,
    answer: &MockAnswer,
) -> Result<Reply, Refusal> {
    if received.method != Method::GET {
        return Err(bad(format!("{} to discovery", received.method)));
    }
    check_bearer(state, received, Scope::Graph)?;
    check_request_id(state, received)?;
    if let Some(reply) = abnormal(state, answer) {
        return Ok(reply);
    }
    let endpoint = |name: &str, prefix: &str| {
        json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "capability": name,
            "providerId": uuid::Uuid::new_v4().to_string(),
            "providerName": name,
            "providerResourceId": "mock",
            "uri": format!("{}{prefix}", state.base_url),
        })
    };
    let services: Vec<Value> = [
        (crate::SCEP_SERVICE, SCEP_PREFIX),
        (crate::PKI_SERVICE, PKI_PREFIX),
        ("IntuneWebService", "/IntuneWebService"),
    ]
    .into_iter()
    .filter(|(name, _)| !state.removed_services.contains(*name))
    .map(|(name, prefix)| endpoint(name, prefix))
    .collect();
    Ok(Reply::json(
        200,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('mock')/endpoints",
            "value": services,
        }),
    ))
}

/// A call to a discovered service: the common headers, then the route's own body checks.
fn intune_call(
    state: &mut State,
    route: Route,
    received: &Received,
    answer: &MockAnswer,
) -> Result<Reply, Refusal> {
    if received.method != Method::POST {
        return Err(bad(format!("{} to {route:?}", received.method)));
    }
    check_bearer(state, received, Scope::Intune)?;
    let expected_version = match route {
        Route::DownloadRevocationRequests | Route::UploadRevocationResults => "5019-05-05",
        _ => "2018-02-20",
    };
    match received.header("api-version") {
        Some(version) if version == expected_version => {}
        other => {
            return Err(bad(format!(
                "api-version is {other:?}, not {expected_version:?}"
            )));
        }
    }
    check_request_id(state, received)?;
    if !received
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json"))
    {
        return Err(bad("content-type is not application/json"));
    }
    if received.header("useragent").is_none_or(str::is_empty) {
        return Err(bad("no UserAgent header"));
    }
    let body: Value = serde_json::from_slice(&received.body)
        .map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    match route {
        Route::ValidateRequest => validate_request(state, &body, answer),
        Route::SuccessNotification => success_notification(state, &body, answer),
        Route::FailureNotification => failure_notification(state, &body, answer),
        Route::DownloadRevocationRequests => download(state, &body, answer),
        _ => upload(state, &body, answer),
    }
}

/// The ScepActions answer: `{"code", "errorDescription"}`.
fn verdict(state: &State, answer: &MockAnswer) -> Reply {
    if let Some(reply) = abnormal(state, answer) {
        return reply;
    }
    let (code, description) = match answer {
        MockAnswer::Code(code) => (code.as_str(), format!("the mock answers {code}")),
        _ => ("Success", String::new()),
    };
    Reply::json(200, json!({"code": code, "errorDescription": description}))
}

fn answers_success(answer: &MockAnswer) -> bool {
    matches!(answer, MockAnswer::Success | MockAnswer::Slow(_))
}

fn validate_request(
    state: &mut State,
    body: &Value,
    answer: &MockAnswer,
) -> Result<Reply, Refusal> {
    let outer = checks::exact_object(body, "the body", &["request"]).map_err(bad)?;
    let request = checks::exact_object(
        &outer["request"],
        "request",
        &["transactionId", "certificateRequest", "callerInfo"],
    )
    .map_err(bad)?;
    let transaction_id = checks::text(request, "transactionId").map_err(bad)?;
    let csr = checks::text(request, "certificateRequest").map_err(bad)?;
    checks::pkcs10_base64(csr).map_err(bad)?;
    checks::text(request, "callerInfo").map_err(bad)?;
    if answers_success(answer) {
        state
            .validated
            .insert(transaction_id.to_owned(), csr.to_owned());
    }
    Ok(verdict(state, answer))
}

/// The transaction must have been validated with `Success`, for the same CSR.
fn check_validated(state: &State, transaction_id: &str, csr: &str) -> Result<(), Refusal> {
    match state.validated.get(transaction_id) {
        None => Err(bad(format!(
            "a notification for transaction {transaction_id:?}, which Intune did not validate with Success"
        ))),
        Some(validated) if validated != csr => Err(bad(format!(
            "the notification for transaction {transaction_id:?} carries another CSR than the one validated"
        ))),
        Some(_) => Ok(()),
    }
}

fn success_notification(
    state: &mut State,
    body: &Value,
    answer: &MockAnswer,
) -> Result<Reply, Refusal> {
    let outer = checks::exact_object(body, "the body", &["notification"]).map_err(bad)?;
    let notification = checks::exact_object(
        &outer["notification"],
        "notification",
        &[
            "transactionId",
            "certificateRequest",
            "certificateThumbprint",
            "certificateSerialNumber",
            "certificateExpirationDateUtc",
            "issuingCertificateAuthority",
            "callerInfo",
        ],
    )
    .map_err(bad)?;
    let text = |key| checks::text(notification, key).map_err(bad);
    let transaction_id = text("transactionId")?;
    let csr = text("certificateRequest")?;
    checks::pkcs10_base64(csr).map_err(bad)?;
    let thumbprint = text("certificateThumbprint")?;
    if thumbprint.len() != 40 || !thumbprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "certificateThumbprint {thumbprint:?} is not a SHA-1 in hex"
        )));
    }
    let serial = text("certificateSerialNumber")?;
    if !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "certificateSerialNumber {serial:?} is not hex"
        )));
    }
    let expiration = text("certificateExpirationDateUtc")?;
    if !expiration.ends_with('Z') || humantime::parse_rfc3339(expiration).is_err() {
        return Err(bad(format!(
            "certificateExpirationDateUtc {expiration:?} is not ISO 8601 UTC"
        )));
    }
    text("issuingCertificateAuthority")?;
    text("callerInfo")?;
    check_validated(state, transaction_id, csr)?;
    Ok(verdict(state, answer))
}

fn failure_notification(
    state: &mut State,
    body: &Value,
    answer: &MockAnswer,
) -> Result<Reply, Refusal> {
    let outer = checks::exact_object(body, "the body", &["notification"]).map_err(bad)?;
    let notification = checks::exact_object(
        &outer["notification"],
        "notification",
        &[
            "transactionId",
            "certificateRequest",
            "hResult",
            "errorDescription",
            "callerInfo",
        ],
    )
    .map_err(bad)?;
    let transaction_id = checks::text(notification, "transactionId").map_err(bad)?;
    let csr = checks::text(notification, "certificateRequest").map_err(bad)?;
    checks::pkcs10_base64(csr).map_err(bad)?;
    let hresult = notification["hResult"].as_i64();
    if hresult.is_none_or(|h| i32::try_from(h).is_err()) {
        return Err(bad(format!(
            "hResult {} is not a 32-bit number",
            notification["hResult"]
        )));
    }
    let description = checks::text(notification, "errorDescription").map_err(bad)?;
    if description.chars().count() > 255 {
        return Err(bad("errorDescription is longer than 255 characters"));
    }
    checks::text(notification, "callerInfo").map_err(bad)?;
    check_validated(state, transaction_id, csr)?;
    Ok(verdict(state, answer))
}

fn download(state: &mut State, body: &Value, answer: &MockAnswer) -> Result<Reply, Refusal> {
    let outer = checks::exact_object(body, "the body", &["downloadParameters"]).map_err(bad)?;
    let parameters = outer["downloadParameters"]
        .as_object()
        .ok_or_else(|| bad("downloadParameters is not an object"))?;
    if let Some(extra) = parameters
        .keys()
        .find(|k| !matches!(k.as_str(), "maxRequests" | "issuerName"))
    {
        return Err(bad(format!(
            "downloadParameters has an unexpected key {extra:?}"
        )));
    }
    let max = parameters
        .get("maxRequests")
        .and_then(Value::as_u64)
        .filter(|n| (1..=500).contains(n))
        .ok_or_else(|| bad("maxRequests is not a number from 1 to 500"))?;
    let issuer = checks::optional_text(parameters, "issuerName").map_err(bad)?;
    if let Some(reply) = abnormal(state, answer) {
        return Ok(reply);
    }
    let mut handed: Vec<MockRevocationRequest> = Vec::new();
    let mut kept = std::collections::VecDeque::new();
    while let Some(request) = state.queued.pop_front() {
        let matches = issuer.is_none_or(|issuer| request.issuer_name.as_deref() == Some(issuer));
        if matches && handed.len() < usize::try_from(max).unwrap_or(usize::MAX) {
            handed.push(request);
        } else {
            kept.push_back(request);
        }
    }
    state.queued = kept;
    let value: Vec<Value> = handed
        .iter()
        .map(|r| {
            json!({
                "requestContext": r.request_context,
                "serialNumber": r.serial_number,
                "issuerName": r.issuer_name,
                "caConfiguration": r.ca_configuration,
            })
        })
        .collect();
    state
        .handed_out
        .extend(handed.into_iter().map(|r| r.request_context));
    Ok(Reply::json(200, json!({ "value": value })))
}

fn upload(state: &mut State, body: &Value, answer: &MockAnswer) -> Result<Reply, Refusal> {
    let outer = checks::exact_object(body, "the body", &["results"]).map_err(bad)?;
    let results = outer["results"]
        .as_array()
        .filter(|list| !list.is_empty())
        .ok_or_else(|| bad("results is not a non-empty list"))?;
    let mut uploaded = Vec::new();
    for result in results {
        let result = checks::exact_object(
            result,
            "a result",
            &["requestContext", "succeeded", "errorCode", "errorMessage"],
        )
        .map_err(bad)?;
        let context = checks::text(result, "requestContext").map_err(bad)?;
        if !state.handed_out.contains(context) {
            return Err(bad(format!(
                "a result for request {context:?}, which the mock never handed out"
            )));
        }
        let succeeded = result["succeeded"]
            .as_bool()
            .ok_or_else(|| bad("succeeded is not a boolean"))?;
        let code = result["errorCode"]
            .as_i64()
            .ok_or_else(|| bad("errorCode is not a number"))?;
        let known = [
            4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4100, 4101, 4102, 4103,
        ];
        if succeeded != (code == 0) || (!succeeded && !known.contains(&code)) {
            return Err(bad(format!(
                "errorCode {code} does not fit succeeded = {succeeded}"
            )));
        }
        let message = checks::optional_text(result, "errorMessage").map_err(bad)?;
        uploaded.push(UploadedResult {
            request_context: context.to_owned(),
            succeeded,
            error_code: code,
            error_message: message.map(str::to_owned),
        });
    }
    if let Some(reply) = abnormal(state, answer) {
        return Ok(reply);
    }
    if let MockAnswer::Code(_) = answer {
        return Ok(Reply::json(200, json!({"value": false})));
    }
    state.uploaded.extend(uploaded);
    Ok(Reply::json(200, json!({"value": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_their_calls() {
        assert_eq!(
            route_of("/contoso.onmicrosoft.com/oauth2/v2.0/token"),
            Route::Token
        );
        assert_eq!(route_of("/a/b/oauth2/v2.0/token"), Route::Unknown);
        assert_eq!(route_of(DISCOVERY_PATH), Route::Discovery);
        assert_eq!(
            route_of(
                "/v1.0/servicePrincipals/appId=00000003-0000-0000-c000-000000000000/endpoints"
            ),
            Route::Unknown
        );
        assert_eq!(
            route_of(&format!("{SCEP_PREFIX}/ScepActions/validateRequest")),
            Route::ValidateRequest
        );
        assert_eq!(
            route_of(&format!(
                "{PKI_PREFIX}/CertificateAuthorityRequests/uploadRevocationResults"
            )),
            Route::UploadRevocationResults
        );
        assert_eq!(route_of("/ScepActions/validateRequest"), Route::Unknown);
    }
}
