//! The real client against the mock Intune (TLS on 127.0.0.1), which checks every request it
//! receives: the acceptance rows of Microsoft's partner test matrix that concern the SCEP
//! server's side of the wire (success, each rejection, 500, timeout, "Communication Failure"),
//! discovery's cache, the revocation round trip and the certificate credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use intune::{
    Audience, Call, Credential, Failure, IntuneClient, IntuneError, IntuneSettings, IntuneVerifier,
    RevocationErrorCode, RevocationResult, Step,
};
use intune_mock::{
    MockAnswer, MockConfig, MockIntune, MockRevocationRequest, Route, UploadedResult,
};
use vouch::{ChallengeQuestion, ChallengeVerifier, IssuedFacts, VerifierRefusal};
use zeroize::Zeroizing;

const PROVIDER: &str = "scepd-test/1.0";

async fn mock() -> MockIntune {
    MockIntune::start(MockConfig::default()).await.unwrap()
}

fn settings(mock: &MockIntune, credential: Credential) -> IntuneSettings {
    let mut settings = IntuneSettings::new(mock.tenant(), mock.client_id(), credential);
    settings.login_url = mock.base_url();
    settings.graph_url = mock.base_url();
    settings.extra_trust_roots = vec![mock.ca_certificate_der()];
    settings.use_system_roots = false;
    settings.timeout = Duration::from_secs(2);
    settings.provider_name_and_version = PROVIDER.to_owned();
    settings
}

fn secret(value: &str) -> Credential {
    Credential::Secret(Zeroizing::new(value.to_owned()))
}

fn client(mock: &MockIntune) -> IntuneClient {
    IntuneClient::new(settings(mock, secret(intune_mock::CLIENT_SECRET))).unwrap()
}

/// A device's PKCS#10 request, DER.
fn csr() -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["device-1.example".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "device-1");
    params.serialize_request(&key).unwrap().der().to_vec()
}

fn issued() -> IssuedFacts {
    IssuedFacts {
        certificate_der: vec![0x30, 0x00],
        thumbprint_sha1: "0123456789ABCDEF0123456789ABCDEF01234567".to_owned(),
        serial_hex: "7f3a01".to_owned(),
        not_after: 1_800_000_000,
        issuer: "CN=scepd Issuing CA,O=Example".to_owned(),
    }
}

fn question(transaction_id: &str, csr_der: Vec<u8>) -> ChallengeQuestion {
    ChallengeQuestion {
        endpoint: "intune".to_owned(),
        template: "intune-device".to_owned(),
        transaction_id: transaction_id.to_owned(),
        challenge: Zeroizing::new("opaque-intune-challenge".to_owned()),
        csr_der,
        subject: "CN=device-1".to_owned(),
        sans: vec!["dns:device-1.example".to_owned()],
        extended_key_usages: vec!["1.3.6.1.5.5.7.3.2".to_owned()],
        key: "ec-p256".to_owned(),
        key_sha256: "00".repeat(32),
        source: "127.0.0.1".to_owned(),
    }
}

fn routes(mock: &MockIntune) -> Vec<Route> {
    mock.calls().iter().map(|call| call.route).collect()
}

#[tokio::test]
async fn success_validates_then_notifies_with_the_contract_s_headers() {
    let mock = mock().await;
    let client = client(&mock);
    let csr = csr();
    client.validate_request("tx-success", &csr).await.unwrap();
    client
        .send_success_notification("tx-success", &csr, &issued())
        .await
        .unwrap();

    assert_eq!(mock.violations(), []);
    assert_eq!(
        routes(&mock),
        [
            Route::Token,
            Route::Discovery,
            Route::Token,
            Route::ValidateRequest,
            Route::SuccessNotification
        ]
    );
    let calls = mock.calls();
    assert_eq!(
        calls[0].scope.as_deref(),
        Some(format!("{}/.default", mock.base_url()).as_str())
    );
    assert_eq!(
        calls[2].scope.as_deref(),
        Some("https://api.manage.microsoft.com//.default")
    );
    for call in &calls[3..] {
        assert_eq!(call.api_version.as_deref(), Some("2018-02-20"));
        assert_eq!(call.transaction_id.as_deref(), Some("tx-success"));
        assert_eq!(call.user_agent.as_deref(), Some(PROVIDER));
    }
    assert_ne!(calls[3].client_request_id, calls[4].client_request_id);
    assert!(mock.was_validated("tx-success"));
}

#[tokio::test]
async fn tokens_and_discovery_are_reused_across_calls_and_callers() {
    let mock = mock().await;
    let client = Arc::new(client(&mock));
    let calls: Vec<_> = (0..5)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.validate_request(&format!("tx-{i}"), &csr()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    client.validate_request("tx-5", &csr()).await.unwrap();
    assert_eq!(mock.violations(), []);
    assert_eq!(mock.calls_to(Route::Token).len(), 2, "{:?}", routes(&mock));
    assert_eq!(mock.calls_to(Route::Discovery).len(), 1);
    assert_eq!(mock.calls_to(Route::ValidateRequest).len(), 6);
}

/// Every code the reference libraries know besides Success, and one they do not: each is a
/// refusal carrying Intune's code, and Intune never hears of that transaction again.
#[tokio::test]
async fn every_code_but_success_is_a_refusal_with_intune_s_code() {
    let mock = mock().await;
    let client = client(&mock);
    // Every code of the contract, one no library knows yet, and `Success` in the wrong case.
    let codes = intune_mock::REJECTION_CODES
        .into_iter()
        .chain(["ACodeNoLibraryKnowsYet", "success"]);
    for code in codes {
        mock.set_answer(Route::ValidateRequest, MockAnswer::Code(code.to_owned()));
        let transaction_id = format!("tx-{code}");
        let err = client
            .validate_request(&transaction_id, &csr())
            .await
            .unwrap_err();
        assert_eq!(err.refusal_code(), Some(code), "{err}");
        assert!(
            matches!(
                err,
                IntuneError::Refused {
                    call: Call::ValidateRequest,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!mock.was_validated(&transaction_id));
    }
    assert_eq!(mock.violations(), []);
    // A refusal is an answer: the discovered services stay cached.
    assert_eq!(mock.calls_to(Route::Discovery).len(), 1);
}

#[tokio::test]
async fn the_mock_catches_a_success_notification_without_a_successful_validation() {
    let mock = mock().await;
    let client = client(&mock);
    let csr = csr();
    mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Code("ChallengeExpired".to_owned()),
    );
    client
        .validate_request("tx-refused", &csr)
        .await
        .unwrap_err();
    let err = client
        .send_success_notification("tx-refused", &csr, &issued())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                failure: Failure::Status { status: 400, .. },
                ..
            }
        ),
        "{err}"
    );
    let violations = mock.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].route, Route::SuccessNotification);
    assert!(violations[0].what.contains("did not validate"));
}

#[tokio::test]
async fn a_500_fails_closed_and_the_next_call_discovers_again() {
    let mock = mock().await;
    let client = client(&mock);
    client.validate_request("tx-1", &csr()).await.unwrap();
    mock.set_answer(Route::ValidateRequest, MockAnswer::Status(500));
    let err = client.validate_request("tx-2", &csr()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                step: Step::Call(Call::ValidateRequest),
                failure: Failure::Status { status: 500, .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("/ScepActions/validateRequest"),
        "{err}"
    );
    // Never retried.
    assert_eq!(mock.calls_to(Route::ValidateRequest).len(), 2);
    assert_eq!(mock.calls_to(Route::Discovery).len(), 1);

    mock.set_answer(Route::ValidateRequest, MockAnswer::Success);
    client.validate_request("tx-3", &csr()).await.unwrap();
    assert_eq!(mock.calls_to(Route::Discovery).len(), 2);
    assert_eq!(mock.violations(), []);
}

#[tokio::test]
async fn a_slow_intune_is_a_timeout_and_drops_the_discovered_services() {
    let mock = mock().await;
    let mut settings = settings(&mock, secret(intune_mock::CLIENT_SECRET));
    settings.timeout = Duration::from_millis(700);
    let client = IntuneClient::new(settings).unwrap();
    client.validate_request("tx-1", &csr()).await.unwrap();
    mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Slow(Duration::from_secs(3)),
    );
    let err = client.validate_request("tx-2", &csr()).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(mock.calls_to(Route::ValidateRequest).len(), 2);

    mock.set_answer(Route::ValidateRequest, MockAnswer::Success);
    client.validate_request("tx-3", &csr()).await.unwrap();
    assert_eq!(mock.calls_to(Route::Discovery).len(), 2);
}

#[tokio::test]
async fn answers_outside_the_contract_fail_closed() {
    let mock = mock().await;
    let client = client(&mock);
    mock.set_answer(Route::ValidateRequest, MockAnswer::NotJson);
    let err = client
        .validate_request("tx-html", &csr())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                failure: Failure::NotJson,
                ..
            }
        ),
        "{err}"
    );

    mock.set_answer(Route::ValidateRequest, MockAnswer::Status(302));
    let err = client
        .validate_request("tx-redirect", &csr())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                failure: Failure::Status { status: 302, .. },
                ..
            }
        ),
        "{err}"
    );
    // The redirect was not followed.
    assert!(!mock.calls().iter().any(|call| call.path == "/moved"));
    assert_eq!(mock.violations(), []);
}

/// The matrix's "Communication Failure": scepd cannot authenticate to Entra ID. Nothing
/// reaches Intune, and nothing passes.
#[tokio::test]
async fn a_wrong_secret_is_a_communication_failure_and_nothing_passes() {
    let mock = mock().await;
    let client = IntuneClient::new(settings(&mock, secret("not-the-secret"))).unwrap();
    let verifier = IntuneVerifier::new(Arc::new(client));
    let refusal = verifier
        .verify(&question("tx-comm", csr()))
        .await
        .unwrap_err();
    assert_eq!(refusal.code(), "unavailable");
    let VerifierRefusal::Unavailable(detail) = &refusal else {
        panic!("{refusal:?}");
    };
    assert!(detail.contains("token for Microsoft Graph"), "{detail}");
    assert!(detail.contains("HTTP 401"), "{detail}");
    assert!(!detail.contains("not-the-secret"), "{detail}");

    // A refused credential is not retried; nothing went past the token endpoint.
    assert_eq!(routes(&mock), [Route::Token]);
    let violations = mock.violations();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].what.contains("Invalid client secret"));
}

#[tokio::test]
async fn an_entra_id_outage_is_tried_twice_then_fails_closed() {
    let mock = mock().await;
    let client = client(&mock);
    mock.set_answer(Route::Token, MockAnswer::Status(503));
    let err = client.validate_request("tx", &csr()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                step: Step::Token(Audience::Graph),
                failure: Failure::Status { status: 503, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(routes(&mock), [Route::Token, Route::Token]);
}

#[tokio::test]
async fn a_graph_outage_is_tried_twice_then_fails_closed() {
    let mock = mock().await;
    let client = client(&mock);
    mock.set_answer(Route::Discovery, MockAnswer::Status(500));
    let err = client.validate_request("tx", &csr()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                step: Step::Discovery,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(mock.calls_to(Route::Discovery).len(), 2);
    assert_eq!(mock.calls_to(Route::ValidateRequest).len(), 0);
}

#[tokio::test]
async fn a_service_graph_does_not_list_is_an_error_not_a_default_url() {
    let mock = mock().await;
    let client = client(&mock);
    mock.remove_service(intune_mock::PKI_SERVICE);
    let err = client
        .download_revocation_requests(10, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::ServiceNotFound {
                service: "PkiConnectorFEService",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(mock.calls_to(Route::DownloadRevocationRequests).len(), 0);
    // The validation service is still listed and works.
    client.validate_request("tx", &csr()).await.unwrap();
}

#[tokio::test]
async fn a_token_is_fetched_again_before_it_expires() {
    let mock = MockIntune::start(MockConfig {
        token_lifetime: Duration::from_secs(2),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = client(&mock);
    client.validate_request("tx-1", &csr()).await.unwrap();
    assert_eq!(mock.calls_to(Route::Token).len(), 2);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.validate_request("tx-2", &csr()).await.unwrap();
    // Renewed at half its life; the mock never saw an expired token.
    assert_eq!(mock.calls_to(Route::Token).len(), 3);
    assert_eq!(mock.violations(), []);
}

#[tokio::test]
async fn the_verifier_vouches_notifies_and_reports_failures() {
    let mock = mock().await;
    let verifier = IntuneVerifier::new(Arc::new(client(&mock)));
    assert_eq!(verifier.kind(), "intune");

    let ok = question("tx-vouched", csr());
    let vouched = verifier.verify(&ok).await.unwrap();
    assert_eq!(
        vouched,
        vouch::Vouched {
            binding: policy::Binding {
                template: Some("intune-device".to_owned()),
                subject: None,
                sans: vec![],
            },
            csr_validated: true,
            spend_once: None,
            by: "intune".to_owned(),
        }
    );
    verifier.issued(&ok, &issued()).await.unwrap();

    let ca_failed = question("tx-ca-failed", csr());
    verifier.verify(&ca_failed).await.unwrap();
    verifier
        .failed(&ca_failed, "the CA refused: validity beyond the CA's own")
        .await;
    assert_eq!(mock.calls_to(Route::FailureNotification).len(), 1);

    mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Code("SubjectNameMismatch".to_owned()),
    );
    let refusal = verifier
        .verify(&question("tx-refused", csr()))
        .await
        .unwrap_err();
    assert_eq!(refusal.code(), "SubjectNameMismatch");
    assert_eq!(mock.violations(), []);
}

/// The matrix's "Success Notification Failure": no certificate unless Intune acknowledged it.
#[tokio::test]
async fn a_success_notification_that_is_not_success_withholds_the_certificate() {
    let mock = mock().await;
    let verifier = IntuneVerifier::new(Arc::new(client(&mock)));
    for (answer, code) in [
        (MockAnswer::Status(500), "unavailable"),
        (MockAnswer::Code("Unknown".to_owned()), "Unknown"),
        (MockAnswer::NotJson, "unavailable"),
    ] {
        let q = question(&format!("tx-{code}-{answer:?}"), csr());
        verifier.verify(&q).await.unwrap();
        mock.set_answer(Route::SuccessNotification, answer);
        let refusal = verifier.issued(&q, &issued()).await.unwrap_err();
        assert_eq!(refusal.code(), code, "{refusal}");
    }
    assert_eq!(mock.violations(), []);
}

#[tokio::test]
async fn revocation_requests_are_downloaded_and_their_results_uploaded() {
    let mock = mock().await;
    let client = client(&mock);
    let request = |context: &str, serial: &str, issuer: &str| MockRevocationRequest {
        request_context: context.to_owned(),
        serial_number: serial.to_owned(),
        issuer_name: Some(issuer.to_owned()),
        ca_configuration: None,
    };
    mock.queue_revocation(request("ctx-1", "01ab", "CN=scepd CA"));
    mock.queue_revocation(request("ctx-2", "02cd", "CN=other CA"));
    mock.queue_revocation(request("ctx-3", "03ef", "CN=scepd CA"));

    let requests = client
        .download_revocation_requests(500, Some("CN=scepd CA"))
        .await
        .unwrap();
    let contexts: Vec<&str> = requests
        .iter()
        .map(|r| r.request_context.as_str())
        .collect();
    assert_eq!(contexts, ["ctx-1", "ctx-3"]);
    assert_eq!(requests[0].serial_number, "01ab");
    assert_eq!(requests[0].issuer_name.as_deref(), Some("CN=scepd CA"));

    client
        .upload_revocation_results(&[
            RevocationResult::succeeded("ctx-1"),
            RevocationResult::failed(
                "ctx-3",
                RevocationErrorCode::CertificateNotFoundError,
                "no certificate with serial 03ef",
            ),
        ])
        .await
        .unwrap();
    assert_eq!(
        mock.uploaded_results(),
        [
            UploadedResult {
                request_context: "ctx-1".to_owned(),
                succeeded: true,
                error_code: 0,
                error_message: None,
            },
            UploadedResult {
                request_context: "ctx-3".to_owned(),
                succeeded: false,
                error_code: 4004,
                error_message: Some("no certificate with serial 03ef".to_owned()),
            },
        ]
    );
    for call in mock.calls().iter().filter(|c| {
        c.route == Route::DownloadRevocationRequests || c.route == Route::UploadRevocationResults
    }) {
        assert_eq!(call.api_version.as_deref(), Some("5019-05-05"));
    }
    assert_eq!(mock.violations(), []);

    // The rest is still queued for an unfiltered download.
    let rest = client.download_revocation_requests(1, None).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].request_context, "ctx-2");

    mock.set_answer(
        Route::UploadRevocationResults,
        MockAnswer::Code("anything".to_owned()),
    );
    let err = client
        .upload_revocation_results(&[RevocationResult::succeeded("ctx-2")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("instead of true"), "{err}");
}

#[tokio::test]
async fn revocation_arguments_outside_the_contract_are_refused_before_sending() {
    let mock = mock().await;
    let client = client(&mock);
    for max in [0, 501] {
        let err = client
            .download_revocation_requests(max, None)
            .await
            .unwrap_err();
        assert!(matches!(err, IntuneError::InvalidArgument { .. }), "{err}");
    }
    let err = client.upload_revocation_results(&[]).await.unwrap_err();
    assert!(matches!(err, IntuneError::InvalidArgument { .. }), "{err}");
    assert_eq!(mock.calls(), []);
}

#[tokio::test]
async fn a_certificate_credential_signs_an_assertion_entra_id_accepts() {
    let (certificate_der, key) = app_certificate();
    let mock = MockIntune::start(MockConfig::with_certificate(certificate_der.clone()))
        .await
        .unwrap();
    let client = IntuneClient::new(settings(
        &mock,
        Credential::Certificate {
            certificate_der,
            key,
        },
    ))
    .unwrap();
    client.validate_request("tx-cert", &csr()).await.unwrap();
    client.validate_request("tx-cert-2", &csr()).await.unwrap();
    assert_eq!(mock.violations(), []);
    assert_eq!(mock.calls_to(Route::Token).len(), 2);
}

#[tokio::test]
async fn an_assertion_from_another_certificate_is_refused() {
    let (registered, _) = app_certificate();
    let (other_certificate, other_key) = app_certificate();
    let mock = MockIntune::start(MockConfig::with_certificate(registered))
        .await
        .unwrap();
    let client = IntuneClient::new(settings(
        &mock,
        Credential::Certificate {
            certificate_der: other_certificate,
            key: other_key,
        },
    ))
    .unwrap();
    let err = client.validate_request("tx", &csr()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            IntuneError::Unavailable {
                step: Step::Token(Audience::Graph),
                failure: Failure::Status { status: 401, .. },
                ..
            }
        ),
        "{err}"
    );
    let violations = mock.violations();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].what.contains("x5t"), "{violations:?}");
}

/// The app registration's certificate and its RSA key as a `keys::Signer`.
fn app_certificate() -> (Vec<u8>, Arc<dyn keys::Signer>) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["scepd-intune-app".to_owned()])
        .unwrap()
        .self_signed(&pair)
        .unwrap();
    let key = keys::software::SoftwareKey::from_pkcs8_der(
        keys::KeyRole::RaSigning,
        &pair.serialize_der(),
    )
    .unwrap();
    (certificate.der().to_vec(), Arc::new(key))
}

/// A writer the log-leak test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Neither the client secret, an assertion nor any token appears in a log line (at every
/// level) or in an error, on success and on each kind of failure.
#[tokio::test]
async fn secrets_and_tokens_never_reach_the_log_or_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = mock().await;
    let client = client(&mock);
    let csr = csr();
    let mut errors = Vec::new();
    client.validate_request("tx-1", &csr).await.unwrap();
    client
        .send_success_notification("tx-1", &csr, &issued())
        .await
        .unwrap();
    for answer in [
        MockAnswer::Code("ChallengeExpired".to_owned()),
        MockAnswer::Status(500),
        MockAnswer::NotJson,
    ] {
        mock.set_answer(Route::ValidateRequest, answer);
        errors.push(client.validate_request("tx-2", &csr).await.unwrap_err());
    }
    mock.set_answer(Route::ValidateRequest, MockAnswer::Success);
    let wrong = IntuneClient::new(settings(&mock, secret("wrong-secret-value"))).unwrap();
    errors.push(wrong.validate_request("tx-3", &csr).await.unwrap_err());

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("Intune answered Success"),
        "nothing was logged: {log}"
    );
    let tokens = mock.issued_tokens();
    assert!(tokens.len() >= 2);
    let everything = format!(
        "{log}\n{}\n{:?}\n{client:?}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        errors
    );
    for secret in tokens
        .iter()
        .map(String::as_str)
        .chain([intune_mock::CLIENT_SECRET, "wrong-secret-value"])
    {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}
