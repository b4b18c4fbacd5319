//! The mock catches what breaks the contract: requests written by hand, each wrong in one way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use base64::Engine as _;
use edge::https_client::HttpsClient;
use intune_mock::{MockConfig, MockIntune, Route};
use serde_json::{Value, json};

const VALIDATE: &str = "/TrafficGateway/TrafficRoutingService/SCEP/ScepActions/validateRequest";
const SUCCESS: &str = "/TrafficGateway/TrafficRoutingService/SCEP/ScepActions/successNotification";

struct Raw {
    mock: MockIntune,
    client: HttpsClient,
}

impl Raw {
    async fn start() -> Self {
        let mock = MockIntune::start(MockConfig::default()).await.unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                mock.ca_certificate_der(),
            ))
            .unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = HttpsClient::new(&mock.base_url(), tls, Duration::from_secs(5)).unwrap();
        Self { mock, client }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let answer = self
            .client
            .send(method, path, headers, body.as_bytes().to_vec(), 1 << 20)
            .await
            .unwrap();
        (
            answer.status,
            serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
        )
    }

    async fn token(&self, scope: &str) -> String {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", intune_mock::CLIENT_ID)
            .append_pair("scope", scope)
            .append_pair("client_secret", intune_mock::CLIENT_SECRET)
            .finish();
        let (status, json) = self
            .send(
                Method::POST,
                &format!("/{}/oauth2/v2.0/token", intune_mock::TENANT),
                &[("content-type", "application/x-www-form-urlencoded")],
                &form,
            )
            .await;
        assert_eq!(status, 200, "{json}");
        json["access_token"].as_str().unwrap().to_owned()
    }

    fn last_violation(&self) -> String {
        self.mock
            .violations()
            .last()
            .map(|v| v.what.clone())
            .unwrap_or_default()
    }
}

fn csr_base64() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let der = rcgen::CertificateParams::new(vec!["d".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .der()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn validate_body(transaction_id: &str, csr: &str) -> String {
    json!({"request": {"transactionId": transaction_id, "certificateRequest": csr, "callerInfo": "t"}})
        .to_string()
}

/// The headers of a call to a discovered service.
fn call_headers<'a>(
    authorization: &'a str,
    version: &'a str,
    id: &'a str,
) -> [(&'a str, &'a str); 5] {
    [
        ("authorization", authorization),
        ("api-version", version),
        ("client-request-id", id),
        ("content-type", "application/json"),
        ("UserAgent", "test"),
    ]
}

#[tokio::test]
async fn every_broken_rule_is_a_violation_answered_400_or_401() {
    let raw = Raw::start().await;
    let intune = format!(
        "Bearer {}",
        raw.token(&format!("{}/.default", intune_mock::INTUNE_RESOURCE))
            .await
    );
    let graph = format!(
        "Bearer {}",
        raw.token(&format!("{}/.default", raw.mock.base_url()))
            .await
    );
    let csr = csr_base64();
    let body = validate_body("tx-1", &csr);
    let renamed =
        json!({"request": {"transactionID": "tx", "certificateRequest": csr, "callerInfo": "t"}})
            .to_string();
    let not_pkcs10 = validate_body("tx-2", "MIIB/w==");
    let v = "2018-02-20";

    let cases: [(&str, &str, String, &str, u16, &str); 6] = [
        ("Bearer nope", v, uuid_v4(), &body, 401, "did not issue"),
        (&graph, v, uuid_v4(), &body, 401, "wrong scope"),
        (&intune, "5019-05-05", uuid_v4(), &body, 400, "api-version"),
        (
            &intune,
            v,
            "not-a-uuid".to_owned(),
            &body,
            400,
            "not a UUID",
        ),
        (&intune, v, uuid_v4(), &renamed, 400, "wrong keys"),
        (&intune, v, uuid_v4(), &not_pkcs10, 400, "PKCS#10"),
    ];
    for (authorization, version, id, body, status, what) in &cases {
        let (got, _) = raw
            .send(
                Method::POST,
                VALIDATE,
                &call_headers(authorization, version, id),
                body,
            )
            .await;
        assert_eq!(got, *status, "{what}");
        assert!(
            raw.last_violation().contains(what),
            "{what}: {}",
            raw.last_violation()
        );
    }
    assert_eq!(raw.mock.violations().len(), cases.len());

    // A request id may not come back.
    let id = uuid_v4();
    let (ok, json) = raw
        .send(
            Method::POST,
            VALIDATE,
            &call_headers(&intune, v, &id),
            &body,
        )
        .await;
    assert_eq!((ok, json["code"].as_str()), (200, Some("Success")));
    let (again, _) = raw
        .send(
            Method::POST,
            VALIDATE,
            &call_headers(&intune, v, &id),
            &body,
        )
        .await;
    assert_eq!(again, 400);
    assert!(raw.last_violation().contains("used before"));

    // A notification needs a validation with Success, for the same CSR.
    let notification = |transaction_id: &str, csr: &str| {
        json!({"notification": {
            "transactionId": transaction_id, "certificateRequest": csr,
            "certificateThumbprint": "0123456789abcdef0123456789abcdef01234567",
            "certificateSerialNumber": "01", "certificateExpirationDateUtc": "2030-01-01T00:00:00.000Z",
            "issuingCertificateAuthority": "CN=CA", "callerInfo": "t"}})
        .to_string()
    };
    let notify = |body: String| {
        let id = uuid_v4();
        let raw = &raw;
        let intune = &intune;
        async move {
            raw.send(Method::POST, SUCCESS, &call_headers(intune, v, &id), &body)
                .await
        }
    };
    let (status, _) = notify(notification("tx-never", &csr)).await;
    assert_eq!(status, 400);
    assert!(raw.last_violation().contains("did not validate"));
    let (status, _) = notify(notification("tx-1", &csr_base64())).await;
    assert_eq!(status, 400);
    assert!(raw.last_violation().contains("another CSR"));
    let (status, json) = notify(notification("tx-1", &csr)).await;
    assert_eq!((status, json["code"].as_str()), (200, Some("Success")));

    // Unknown paths, such as another app's endpoints.
    let (status, _) = raw
        .send(
            Method::GET,
            "/v1.0/servicePrincipals/appId=00000003-0000-0000-c000-000000000000/endpoints",
            &[],
            "",
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(raw.mock.violations().last().unwrap().route, Route::Unknown);
}

#[tokio::test]
async fn the_token_endpoint_checks_tenant_client_scope_and_secret() {
    let raw = Raw::start().await;
    let post = |tenant: &str, fields: &[(&str, &str)]| {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().copied())
            .finish();
        (format!("/{tenant}/oauth2/v2.0/token"), form)
    };
    let scope = format!("{}/.default", intune_mock::INTUNE_RESOURCE);
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", intune_mock::CLIENT_ID),
        ("scope", scope.as_str()),
        ("client_secret", intune_mock::CLIENT_SECRET),
    ];
    let cases: Vec<((String, String), u16, &str)> = vec![
        (post("other.onmicrosoft.com", &good), 400, "unknown tenant"),
        (
            post(
                intune_mock::TENANT,
                &[good[0], ("client_id", "x"), good[2], good[3]],
            ),
            401,
            "client_id",
        ),
        (
            post(
                intune_mock::TENANT,
                &[
                    good[0],
                    good[1],
                    ("scope", "https://api.manage.microsoft.com/.default"),
                    good[3],
                ],
            ),
            400,
            "scope",
        ),
        (
            post(
                intune_mock::TENANT,
                &[good[0], good[1], good[2], ("client_secret", "wrong")],
            ),
            401,
            "Invalid client secret",
        ),
        (
            post(
                intune_mock::TENANT,
                &[("grant_type", "password"), good[1], good[2], good[3]],
            ),
            400,
            "grant_type",
        ),
    ];
    for ((path, form), status, what) in cases {
        let (got, json) = raw
            .send(
                Method::POST,
                &path,
                &[("content-type", "application/x-www-form-urlencoded")],
                &form,
            )
            .await;
        assert_eq!(got, status, "{what}: {json}");
        assert!(
            raw.last_violation().contains(what),
            "{what}: {}",
            raw.last_violation()
        );
    }
    assert_eq!(raw.mock.calls_to(Route::Token).len(), 5);
}

#[tokio::test]
async fn the_ca_certificate_comes_as_der_and_as_pem() {
    let mock = MockIntune::start(MockConfig::default()).await.unwrap();
    use rustls::pki_types::pem::PemObject as _;
    let der =
        rustls::pki_types::CertificateDer::from_pem_slice(mock.ca_certificate_pem().as_bytes())
            .unwrap();
    assert_eq!(der.to_vec(), mock.ca_certificate_der());
}

#[tokio::test]
async fn a_call_is_recorded_with_its_json_body_and_a_token_request_without_its_form() {
    let raw = Raw::start().await;
    let intune = format!(
        "Bearer {}",
        raw.token(&format!("{}/.default", intune_mock::INTUNE_RESOURCE))
            .await
    );
    let csr = csr_base64();
    let id = uuid_v4();
    let (status, _) = raw
        .send(
            Method::POST,
            VALIDATE,
            &call_headers(&intune, "2018-02-20", &id),
            &validate_body("tx-recorded", &csr),
        )
        .await;
    assert_eq!(status, 200);
    let validate = raw.mock.calls_to(Route::ValidateRequest);
    let body = validate[0].body.as_ref().unwrap();
    assert_eq!(body["request"]["certificateRequest"], csr.as_str());
    assert_eq!(body["request"]["transactionId"], "tx-recorded");
    // The form carries the client secret: not kept as a body.
    assert_eq!(raw.mock.calls_to(Route::Token)[0].body, None);
}

fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}
