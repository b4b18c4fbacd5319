//! Named endpoints and outside verifiers, in process: a scripted verifier stands in for
//! Intune, a webhook or a signed challenge, and the tests check what the RA asks it, that
//! its no (or its silence) issues nothing, that a certificate it does not acknowledge never
//! leaves, that a spent id is refused, and that a verifier never skips the checks around it.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ra::{
    CaRefusal, ChallengeCheck, ChallengePolicy, Endpoint, IssueRequest, Ra, RaConfig,
    RequestContext,
};
use scep_client::{
    ClientKey, CsrBuilder, FailInfo, PkcsReqBuilder, PkiStatus, read_cert_rep,
    self_signed_certificate,
};
use vouch::{ChallengeQuestion, IssuedFacts, VerifierFuture, VerifierRefusal, Vouched};

use common::{CapturingCa, setup};

const PEER: &str = "198.51.100.9";

/// What the scripted verifier answers, and everything it was told.
#[derive(Default)]
struct Script {
    verify: Option<Result<Vouched, VerifierRefusal>>,
    acknowledge: Option<Result<(), VerifierRefusal>>,
    questions: Vec<ChallengeQuestion>,
    issued: Vec<IssuedFacts>,
    failures: Vec<String>,
}

struct ScriptedVerifier(Mutex<Script>);

impl ScriptedVerifier {
    fn vouching(vouched: Vouched) -> Arc<Self> {
        Arc::new(Self(Mutex::new(Script {
            verify: Some(Ok(vouched)),
            acknowledge: Some(Ok(())),
            ..Script::default()
        })))
    }

    fn answer(&self, verify: Result<Vouched, VerifierRefusal>) {
        self.0.lock().unwrap().verify = Some(verify);
    }

    fn acknowledge_with(&self, answer: Result<(), VerifierRefusal>) {
        self.0.lock().unwrap().acknowledge = Some(answer);
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }
}

impl vouch::ChallengeVerifier for ScriptedVerifier {
    fn kind(&self) -> &'static str {
        "scripted"
    }

    fn verify<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
    ) -> VerifierFuture<'a, Result<Vouched, VerifierRefusal>> {
        let mut script = self.0.lock().unwrap();
        script.questions.push(question.clone());
        let answer = script.verify.clone().unwrap();
        Box::pin(async move { answer })
    }

    fn issued<'a>(
        &'a self,
        _question: &'a ChallengeQuestion,
        issued: &'a IssuedFacts,
    ) -> VerifierFuture<'a, Result<(), VerifierRefusal>> {
        let mut script = self.0.lock().unwrap();
        script.issued.push(issued.clone());
        let answer = script.acknowledge.clone().unwrap();
        Box::pin(async move { answer })
    }

    fn failed<'a>(
        &'a self,
        _question: &'a ChallengeQuestion,
        description: &'a str,
    ) -> VerifierFuture<'a, ()> {
        self.0.lock().unwrap().failures.push(description.to_owned());
        Box::pin(async {})
    }
}

fn vouched(spend_once: Option<&str>) -> Vouched {
    Vouched {
        binding: policy::Binding::default(),
        csr_validated: false,
        spend_once: spend_once.map(str::to_owned),
        by: "scripted".into(),
    }
}

struct Device {
    key: ClientKey,
    cert: Vec<u8>,
}

fn device() -> Device {
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, "CN=vouched-device").unwrap();
    Device { key, cert }
}

/// The RA with the default template `device` and a second one, `wifi`, and two endpoints:
/// `mdm` (the scripted verifier, template `device`) and `wifi` (one-time challenges, `wifi`).
struct Harness {
    ra: Ra,
    store: store::Store,
    ca: Arc<CapturingCa>,
    encryption_certificate: Vec<u8>,
    signing_certificate: Vec<u8>,
    config: RaConfig,
    verifier: Arc<ScriptedVerifier>,
}

async fn harness(insecure_no_challenge: bool) -> Harness {
    let wifi = policy::Template::new(policy::TemplateSpec::named(
        "wifi",
        &[policy::oid::EKU_CLIENT_AUTH],
    ))
    .unwrap();
    let mut config = RaConfig {
        templates: vec![policy::Template::device(), wifi],
        ..RaConfig::default()
    };
    if insecure_no_challenge {
        config.insecure_challenges.no_challenge_template = Some("device".into());
    }
    let setup = setup(config).await;
    let verifier = ScriptedVerifier::vouching(vouched(None));
    let endpoints = vec![
        Endpoint {
            name: "mdm".into(),
            template: "device".into(),
            challenge: ChallengeCheck::Verifier(verifier.clone()),
        },
        Endpoint {
            name: "wifi".into(),
            template: "wifi".into(),
            challenge: ChallengeCheck::OneTime,
        },
    ];
    Harness {
        ra: setup.ra.with_endpoints(endpoints).unwrap(),
        store: setup.store,
        ca: setup.ca,
        encryption_certificate: setup.encryption_certificate,
        signing_certificate: setup.signing_certificate,
        config: setup.config,
        verifier,
    }
}

impl Harness {
    fn csr(&self, device: &Device, cn: &str, challenge: Option<&str>) -> Vec<u8> {
        let mut builder = CsrBuilder::new(&format!("CN={cn}")).dns(&format!("{cn}.example"));
        if let Some(challenge) = challenge {
            builder = builder.challenge(challenge);
        }
        builder.build(&device.key).unwrap()
    }

    /// Sends a PKCSReq for `csr` to `endpoint` (`None`: the default one): the status, and
    /// the certificate if any.
    async fn send(
        &self,
        device: &Device,
        endpoint: Option<&str>,
        transaction_id: &str,
        csr: Vec<u8>,
    ) -> (PkiStatus, Option<Vec<u8>>) {
        let builder =
            PkcsReqBuilder::new(&device.key, &device.cert, &self.encryption_certificate, csr)
                .unwrap()
                .transaction_id(transaction_id);
        let context = RequestContext {
            now: common::device::now(),
            peer: PEER.into(),
            endpoint: endpoint.map(str::to_owned),
        };
        let reply = self
            .ra
            .handle_pki_operation(&builder.build().unwrap(), &context)
            .await
            .unwrap();
        let rep = read_cert_rep(
            &reply.bytes,
            &device.key,
            &device.cert,
            builder.get_sender_nonce(),
        )
        .unwrap();
        assert_eq!(rep.signer_certificate, self.signing_certificate);
        (rep.status, rep.certificate)
    }

    async fn mint(&self, template: &str) -> String {
        let policy = ChallengePolicy {
            default_ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(86_400),
            length: ra::challenge::CHALLENGE_LEN,
            max_outstanding_per_admin: 1000,
            insecure_settings_on: Vec::new(),
        };
        let request = IssueRequest {
            template: Some(template.into()),
            subject: None,
            sans: Vec::new(),
            ttl: None,
        };
        ra::issue_challenge(
            &self.store,
            &policy,
            &self.config.templates,
            request,
            "test",
            common::device::now(),
        )
        .await
        .unwrap()
        .secret
        .as_str()
        .to_owned()
    }

    async fn certificates(&self) -> i64 {
        self.store.count_certificates().await.unwrap()
    }

    /// The newest audit entry about `transaction_id`.
    async fn audit(&self, transaction_id: &str) -> String {
        let prefix = format!("transaction {transaction_id}: ");
        self.store
            .audit_events(5000)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .find(|e| e.detail.starts_with(&prefix))
            .map(|e| e.detail)
            .unwrap_or_else(|| panic!("no audit entry for {transaction_id}"))
    }
}

const REFUSED: PkiStatus = PkiStatus::Failure(FailInfo::BadRequest);

#[tokio::test]
async fn a_vouched_request_is_issued_only_after_the_verifier_acknowledged_it() {
    let h = harness(false).await;
    let device = device();
    let csr = h.csr(&device, "mdm-dev1", Some("an-mdm-challenge"));
    let (status, certificate) = h.send(&device, Some("mdm"), "mdm-tx-1", csr.clone()).await;
    assert_eq!(status, PkiStatus::Success);
    let certificate = certificate.unwrap();

    // The verifier was asked about this very request, after possession was checked...
    let (question, told) = {
        let script = h.verifier.script();
        (script.questions[0].clone(), script.issued[0].clone())
    };
    assert_eq!(question.endpoint, "mdm");
    assert_eq!(question.template, "device");
    assert_eq!(question.transaction_id, "mdm-tx-1");
    assert_eq!(question.challenge.as_str(), "an-mdm-challenge");
    assert_eq!(question.csr_der, csr);
    assert_eq!(question.subject, "CN=mdm-dev1");
    assert_eq!(question.sans, ["dns:mdm-dev1.example"]);
    assert_eq!(question.key, "rsa-2048");
    assert_eq!(question.source, PEER);
    // ...and told about the certificate that then left.
    assert_eq!(told.certificate_der, certificate);
    assert_eq!(told.thumbprint_sha1.len(), 40);
    assert_eq!(told.issuer, "CN=RA Test CA,O=scepd");
    let audit = h.audit("mdm-tx-1").await;
    assert!(audit.contains("vouched by scripted"), "{audit}");
    assert!(
        !audit.contains("an-mdm-challenge"),
        "the challenge is never logged"
    );

    // A retry of the same transaction gets the same certificate, without asking again.
    let csr_again = csr.clone();
    let (status, again) = h.send(&device, Some("mdm"), "mdm-tx-1", csr_again).await;
    assert_eq!((status, again), (PkiStatus::Success, Some(certificate)));
    assert_eq!(h.verifier.script().questions.len(), 1);
    assert_eq!(h.ca.statement_count(), 1);
}

#[tokio::test]
async fn a_refusing_or_silent_verifier_issues_nothing() {
    let h = harness(false).await;
    let device = device();
    for (n, answer) in [
        VerifierRefusal::Refused {
            code: "ChallengeExpired".into(),
            detail: "expired".into(),
        },
        VerifierRefusal::Refused {
            code: "SomeCodeNobodyKnows".into(),
            detail: String::new(),
        },
        VerifierRefusal::Unavailable("HTTP 500".into()),
    ]
    .into_iter()
    .enumerate()
    {
        h.verifier.answer(Err(answer.clone()));
        let transaction_id = format!("mdm-refused-{n}");
        let csr = h.csr(&device, "mdm-dev2", Some("c"));
        let (status, certificate) = h.send(&device, Some("mdm"), &transaction_id, csr).await;
        assert_eq!((status, certificate), (REFUSED, None), "{answer:?}");
        let audit = h.audit(&transaction_id).await;
        assert!(audit.contains(answer.code()), "{audit}");
    }
    assert_eq!(h.ca.statement_count(), 0, "the CA is never asked");
    assert_eq!(h.certificates().await, 0);
}

#[tokio::test]
async fn a_certificate_the_verifier_does_not_acknowledge_never_leaves() {
    let h = harness(false).await;
    let device = device();
    h.verifier.acknowledge_with(Err(VerifierRefusal::Refused {
        code: "Unknown".into(),
        detail: "notification refused".into(),
    }));
    let csr = h.csr(&device, "mdm-dev3", Some("c"));
    let (status, certificate) = h.send(&device, Some("mdm"), "mdm-unacked", csr).await;
    assert_eq!((status, certificate), (REFUSED, None));
    assert_eq!(h.ca.statement_count(), 1, "the CA signed it");
    assert_eq!(
        h.certificates().await,
        0,
        "but it was never recorded for delivery"
    );
    let audit = h.audit("mdm-unacked").await;
    assert!(audit.contains("withheld"), "{audit}");
    // The verifier hears that the device got nothing.
    let failures = h.verifier.script().failures.clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("withheld"), "{failures:?}");
}

#[tokio::test]
async fn the_verifier_hears_of_a_failure_after_it_vouched() {
    let h = harness(false).await;
    let device = device();
    h.ca.refuse_with(CaRefusal::Unavailable("CA down".into()));
    let csr = h.csr(&device, "mdm-dev4", Some("c"));
    let (status, _) = h.send(&device, Some("mdm"), "mdm-ca-down", csr).await;
    assert!(matches!(status, PkiStatus::Failure(_)));
    let script = h.verifier.script();
    assert_eq!(script.failures.len(), 1);
    assert!(
        script.failures[0].contains("CA down"),
        "{:?}",
        script.failures
    );
    assert!(script.issued.is_empty());
}

#[tokio::test]
async fn a_voucher_id_is_spent_once() {
    let h = harness(false).await;
    h.verifier
        .answer(Ok(vouched(Some("signed:mdm1:only-once"))));
    let (first, second) = (device(), device());
    let (status, _) = h
        .send(
            &first,
            Some("mdm"),
            "voucher-1",
            h.csr(&first, "once-a", Some("jws")),
        )
        .await;
    assert_eq!(status, PkiStatus::Success);
    let (status, certificate) = h
        .send(
            &second,
            Some("mdm"),
            "voucher-2",
            h.csr(&second, "once-b", Some("jws")),
        )
        .await;
    assert_eq!((status, certificate), (REFUSED, None));
    assert_eq!(
        h.ca.statement_count(),
        1,
        "a spent id costs no CA signature"
    );
    assert!(h.audit("voucher-2").await.contains("already used"));
}

#[tokio::test]
async fn a_verifier_narrows_names_and_never_picks_the_template() {
    let h = harness(false).await;
    let device = device();
    h.verifier.answer(Ok(Vouched {
        binding: policy::Binding {
            // A verifier naming another template is ignored: the endpoint's decides.
            template: Some("wifi".into()),
            subject: Some("CN=the-bound-one".into()),
            sans: vec!["dns:the-bound-one.example".into()],
        },
        ..vouched(None)
    }));
    let csr = h.csr(&device, "someone-else", Some("c"));
    let (status, _) = h.send(&device, Some("mdm"), "narrowed-1", csr).await;
    assert_eq!(status, REFUSED);
    let csr = h.csr(&device, "the-bound-one", Some("c"));
    let (status, certificate) = h.send(&device, Some("mdm"), "narrowed-2", csr).await;
    assert_eq!(status, PkiStatus::Success);
    let statements = h.ca.statements();
    assert_eq!(statements.last().unwrap().template, "device");
    assert!(certificate.is_some());
}

#[tokio::test]
async fn a_verifier_never_skips_possession_or_the_template() {
    let h = harness(false).await;
    let (device, stranger) = (device(), device());
    // The device's CSR wrapped by a stranger's key: refused before the verifier is asked.
    let csr = h.csr(&device, "mdm-dev5", Some("c"));
    let (status, _) = h.send(&stranger, Some("mdm"), "possession", csr).await;
    assert!(matches!(status, PkiStatus::Failure(_)));
    assert!(h.verifier.script().questions.is_empty());
    // A name the template refuses (an IP SAN on `device`) is refused though vouched for.
    let csr = CsrBuilder::new("CN=mdm-dev5")
        .san(scep_client::SanEntry::Ip("192.0.2.1".parse().unwrap()))
        .challenge("c")
        .build(&device.key)
        .unwrap();
    let (status, _) = h.send(&device, Some("mdm"), "template", csr).await;
    assert!(matches!(status, PkiStatus::Failure(_)));
    assert_eq!(h.ca.statement_count(), 0);
    // The verifier said yes before the template said no: it hears the request failed.
    let script = h.verifier.script();
    assert_eq!(script.failures.len(), 1, "{:?}", script.failures);
    assert!(
        script.failures[0].contains("iPAddress"),
        "{:?}",
        script.failures
    );
    assert!(script.issued.is_empty());
}

#[tokio::test]
async fn a_one_time_endpoint_takes_only_challenges_for_its_template() {
    let h = harness(false).await;
    let device = device();
    let for_device = h.mint("device").await;
    let csr = h.csr(&device, "wifi-dev1", Some(&for_device));
    let (status, _) = h.send(&device, Some("wifi"), "wifi-wrong", csr).await;
    assert_eq!(status, REFUSED);

    let for_wifi = h.mint("wifi").await;
    let csr = h.csr(&device, "wifi-dev1", Some(&for_wifi));
    let (status, _) = h.send(&device, Some("wifi"), "wifi-right", csr).await;
    assert_eq!(status, PkiStatus::Success);
    assert_eq!(h.ca.statements().last().unwrap().template, "wifi");
}

#[tokio::test]
async fn insecure_modes_are_the_default_endpoints_only_and_unknown_endpoints_refuse() {
    let h = harness(true).await;
    let device = device();
    let csr = h.csr(&device, "no-challenge", None);
    let (status, _) = h
        .send(&device, Some("wifi"), "insecure-named", csr.clone())
        .await;
    assert_eq!(status, REFUSED);
    let (status, _) = h
        .send(&device, Some("nosuch"), "unknown-endpoint", csr.clone())
        .await;
    assert!(matches!(status, PkiStatus::Failure(_)));
    let (status, _) = h.send(&device, None, "insecure-default", csr).await;
    assert_eq!(status, PkiStatus::Success);
}

/// A user certificate with a UPN and the strong-mapping SID URI: issued only when the
/// verifier validated the whole CSR, on a template that allows those names.
#[tokio::test]
async fn names_only_a_csr_validating_mdm_vouches_for_need_one() {
    let mut spec = policy::TemplateSpec::named("user", &[policy::oid::EKU_CLIENT_AUTH]);
    spec.mdm_vouched = policy::MdmVouched {
        upn: true,
        sid_uri: true,
        ..policy::MdmVouched::default()
    };
    let user = policy::Template::new(spec).unwrap();
    let config = RaConfig {
        templates: vec![policy::Template::device(), user],
        ..RaConfig::default()
    };
    let setup = setup(config).await;
    let verifier = ScriptedVerifier::vouching(Vouched {
        csr_validated: true,
        ..vouched(None)
    });
    let one_time_verifier = ScriptedVerifier::vouching(vouched(None));
    let h = Harness {
        ra: setup
            .ra
            .with_endpoints(vec![
                Endpoint {
                    name: "intune".into(),
                    template: "user".into(),
                    challenge: ChallengeCheck::Verifier(verifier.clone()),
                },
                Endpoint {
                    name: "portal".into(),
                    template: "user".into(),
                    challenge: ChallengeCheck::Verifier(one_time_verifier.clone()),
                },
                Endpoint {
                    name: "local".into(),
                    template: "user".into(),
                    challenge: ChallengeCheck::OneTime,
                },
            ])
            .unwrap(),
        store: setup.store,
        ca: setup.ca,
        encryption_certificate: setup.encryption_certificate,
        signing_certificate: setup.signing_certificate,
        config: setup.config,
        verifier,
    };
    let device = device();
    let user_csr = |challenge: &str| {
        CsrBuilder::new("CN=alice")
            .san(scep_client::SanEntry::Upn("alice@corp.example".into()))
            .san(scep_client::SanEntry::Uri(
                "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1001"
                    .into(),
            ))
            .challenge(challenge)
            .build(&device.key)
            .unwrap()
    };

    // The same CSR on a verifier that saw only the challenge, and with a one-time challenge
    // of the very template: refused (ESC1 stays closed).
    let (status, _) = h
        .send(&device, Some("portal"), "upn-portal", user_csr("c"))
        .await;
    assert_eq!(status, PkiStatus::Failure(FailInfo::BadRequest));
    let local = h.mint("user").await;
    let (status, _) = h
        .send(&device, Some("local"), "upn-local", user_csr(&local))
        .await;
    assert!(matches!(status, PkiStatus::Failure(_)));
    assert_eq!(h.ca.statement_count(), 0);

    // Validated: issued, and the statement tells the CA what validated it.
    let (status, certificate) = h
        .send(&device, Some("intune"), "upn-intune", user_csr("c"))
        .await;
    assert_eq!(status, PkiStatus::Success);
    let statement = h.ca.statements().pop().unwrap();
    assert_eq!(statement.csr_validated_by.as_deref(), Some("scripted"));
    let names = request::certified_names(&certificate.unwrap()).unwrap();
    assert!(
        names
            .sans
            .contains(&policy::SanFact::Upn("alice@corp.example".into())),
        "{:?}",
        names.sans
    );
}
