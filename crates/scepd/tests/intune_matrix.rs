//! The rows of Microsoft's partner test matrix for third-party SCEP servers
//! (`microsoft/Intune-Resource-Access`, `src/CsrValidation/doc/TestMatrix.csv`) that concern
//! the SCEP server, against the mock Intune answering Success: each row's CSR, as Intune's
//! SCEP profile would have the device build it, is issued on an Intune endpoint and the
//! certificate holds what the row says (read with x509-cert). The failure rows issue
//! nothing. What Intune vouches for (UPN, e-mail at any domain, the SID URI, the IPsec tunnel
//! EKU) is refused on a one-time endpoint of the very template (ESC1), and RSA-1024 and SHA-1
//! stay refused unless the operator's legacy opt-in allows SHA-1 (RSA-1024 never).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::intune::{Device, GENEROUS_LIMITS, Intune, Issued, csr, csr_subject_der, enroll, send};
use common::{Server, openssl_verify, write_pem};
use der::Encode as _;
use der::oid::ObjectIdentifier;
use intune_mock::{MockAnswer, Route};
use scep_client::{ClientKey, CsrBuilder, FailInfo, SanEntry};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

/// A user template as an Intune SCEP profile needs it: 42 days (a value no default has),
/// the subject attributes the profile's formats use, and every name only Intune may vouch
/// for; an Intune endpoint and a one-time endpoint issue it.
const CONFIG: &str = r#"
[[templates]]
name = "intune-user"
extended_key_usages = ["clientAuth", "ipsecTunnel"]
validity_days = 42
subject_attributes = ["CN", "emailAddress", "O", "OU", "C", "L", "ST", "serialNumber"]
renewal_window_days = 42
[templates.mdm_vouched]
upn = true
sid_uri = true
email = true
ipsec_tunnel_eku = true

[[endpoints]]
name = "intune"
template = "intune-user"
challenge = "intune"

[[endpoints]]
name = "local"
template = "intune-user"
"#;

const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const IPSEC_TUNNEL: &str = "1.3.6.1.5.5.7.3.6";
const SID_URI: &str =
    "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1001";

struct Matrix {
    intune: Intune,
    server: Server,
}

impl Matrix {
    fn start() -> Matrix {
        Matrix::start_with("")
    }

    fn start_with(extra: &str) -> Matrix {
        let intune = Intune::start();
        let server = Server::start(&format!(
            "{CONFIG}\n{GENEROUS_LIMITS}\n{extra}\n{}",
            intune.config()
        ));
        Matrix { intune, server }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/{endpoint}", self.server.url())
    }

    /// A new device enrolls on the Intune endpoint with `subject` and `shape`; the
    /// certificate must verify against the CA (and pass pkilint).
    fn issue(&self, subject: &str, shape: impl FnOnce(CsrBuilder) -> CsrBuilder) -> Issued {
        let device = Device::rsa(2048);
        self.issue_for(&device, subject, shape)
    }

    fn issue_for(
        &self,
        device: &Device,
        subject: &str,
        shape: impl FnOnce(CsrBuilder) -> CsrBuilder,
    ) -> Issued {
        let request = csr(device, subject, shape);
        let answer = enroll(&self.url("intune"), device, request.clone());
        let issued = Issued::new(&answer.certificate());
        let name = format!("{}.pem", answer.transaction_id);
        let pem = write_pem(&self.server, &name, &issued.der);
        if issued.sans().iter().any(|san| san.starts_with("uri:tag:")) {
            // pkilint checks URIs with a URL validator that wants `scheme://host`, and so
            // flags RFC 4151 tag URIs (valid RFC 3986 URIs, as RFC 5280 asks), Microsoft's
            // SID URI among them: openssl alone checks these.
            openssl_verify_only(&self.server.ca_pem(), &pem);
        } else {
            openssl_verify(&self.server.ca_pem(), &pem);
        }
        assert_eq!(
            issued.subject_der(),
            csr_subject_der(&request),
            "the subject is the requested one"
        );
        issued
    }
}

fn openssl_verify_only(ca: &std::path::Path, cert: &std::path::Path) {
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `emailAddress=VALUE` as RFC 4514 hex: an IA5String, as PKCS#9 has it.
fn email_address_rdn(value: &str) -> String {
    let mut der = vec![0x16, u8::try_from(value.len()).unwrap()];
    der.extend(value.as_bytes());
    format!("1.2.840.113549.1.9.1=#{}", hex::encode(der))
}

/// The keyUsage extension a CSR requests.
fn requested_key_usage(builder: CsrBuilder, usages: KeyUsage) -> CsrBuilder {
    let oid = ObjectIdentifier::new_unwrap("2.5.29.15");
    builder.extension(oid, true, usages.to_der().unwrap())
}

fn eku(oid: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(oid)
}

#[test]
fn validity_period_is_the_template_s() {
    let matrix = Matrix::start();
    let issued = matrix.issue("CN=validity", |b| b);
    let days = issued.validity_seconds() as f64 / 86_400.0;
    // notBefore is back-dated by the clock-skew allowance (minutes, never a day).
    assert!((42.0..42.5).contains(&days), "{days} days");
}

#[test]
fn subject_name_formats() {
    let matrix = Matrix::start();
    for subject in [
        // Common name
        "CN=alice".to_owned(),
        // Common name including email (RFC 5280 §4.1.2.6: the address goes in the SAN too,
        // as the profile's SAN setting puts it)
        format!("CN=alice,{}", email_address_rdn("alice@corp.example")),
        // Common name as email
        "CN=alice@corp.example".to_owned(),
        // IMEI number
        "CN=356938035643809".to_owned(),
        // Serial number
        "CN=laptop-17,serialNumber=C02XK1ABJGH5".to_owned(),
        // Custom
        "CN=alice,OU=Sales,O=Contoso,L=Redmond,ST=WA,C=US".to_owned(),
    ] {
        // `issue` compares the certificate's subject with the CSR's, DER for DER.
        let with_email = subject.contains("1.2.840.113549.1.9.1=");
        let issued = matrix.issue(&subject, |b| {
            if with_email {
                b.san(SanEntry::Email("alice@corp.example".into()))
            } else {
                b
            }
        });
        let expected: &[&str] = if with_email {
            &["email:alice@corp.example"]
        } else {
            &[]
        };
        assert_eq!(issued.sans(), expected, "{subject}");
    }
    assert_eq!(matrix.intune.mock.violations(), []);
}

#[test]
fn subject_alternative_names_email_upn_both_and_the_sid() {
    let matrix = Matrix::start();
    let email = || SanEntry::Email("alice@contoso.example".into());
    let upn = || SanEntry::Upn("alice@corp.example".into());
    let sid = || SanEntry::Uri(SID_URI.into());
    let cases: [(&str, Vec<SanEntry>, Vec<String>); 4] = [
        (
            "email",
            vec![email()],
            vec!["email:alice@contoso.example".into()],
        ),
        ("UPN", vec![upn()], vec!["upn:alice@corp.example".into()]),
        (
            "email and UPN",
            vec![email(), upn()],
            vec![
                "email:alice@contoso.example".into(),
                "upn:alice@corp.example".into(),
            ],
        ),
        (
            "UPN and the strong-mapping SID",
            vec![upn(), sid()],
            vec!["upn:alice@corp.example".into(), format!("uri:{SID_URI}")],
        ),
    ];
    for (row, sans, expected) in cases {
        let issued = matrix.issue("CN=alice", |mut b| {
            for san in sans {
                b = b.san(san);
            }
            b
        });
        assert_eq!(issued.sans(), expected, "{row}");
    }
}

/// The profile's key usage is requested in the CSR: accepted, and in the certificate. The
/// certificate carries the template's usages for an RSA key (digitalSignature and
/// keyEncipherment), whatever subset was requested, as an ADCS template would.
#[test]
fn key_usages_digital_signature_key_encipherment_and_both() {
    let matrix = Matrix::start();
    for requested in [
        KeyUsage(KeyUsages::DigitalSignature.into()),
        KeyUsage(KeyUsages::KeyEncipherment.into()),
        KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
    ] {
        let issued = matrix.issue("CN=key-usage", |b| requested_key_usage(b, requested));
        let granted = issued.key_usage();
        assert!(
            granted.0.contains(requested.0),
            "requested {requested:?}, got {granted:?}"
        );
        assert_eq!(
            granted.0,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
        );
    }
    // A usage beyond the template's is refused, Intune's yes notwithstanding.
    let device = Device::rsa(2048);
    let request = csr(&device, "CN=key-usage", |b| {
        requested_key_usage(b, KeyUsage(KeyUsages::KeyCertSign.into()))
    });
    let answer = enroll(&matrix.url("intune"), &device, request);
    assert_eq!(answer.outcome, Err(FailInfo::BadRequest));
}

#[test]
fn extended_key_usages_client_authentication_and_ipsec_tunnel() {
    let matrix = Matrix::start();
    let client_auth = matrix.issue("CN=eku", |b| b.extended_key_usage(&[eku(CLIENT_AUTH)]));
    assert_eq!(client_auth.extended_key_usages(), [CLIENT_AUTH]);
    let tunnel = matrix.issue("CN=eku", |b| {
        b.extended_key_usage(&[eku(CLIENT_AUTH), eku(IPSEC_TUNNEL)])
    });
    assert_eq!(tunnel.extended_key_usages(), [CLIENT_AUTH, IPSEC_TUNNEL]);
    // Without a requested EKU the vouched one is left out: never more than was asked for.
    let plain = matrix.issue("CN=eku", |b| b);
    assert_eq!(plain.extended_key_usages(), [CLIENT_AUTH]);
}

/// RenewalReq on the Intune endpoint, signed with the certificate being renewed: the new
/// certificate keeps the UPN Intune vouched for, and cannot take another.
#[test]
fn renewal_keeps_the_upn_of_the_certificate_it_renews() {
    let matrix = Matrix::start();
    let device = Device::rsa(2048);
    let upn = || SanEntry::Upn("alice@corp.example".into());
    let old = matrix.issue_for(&device, "CN=alice", |b| b.san(upn()));
    let renew = |name: &str| {
        let new_key = ClientKey::generate_rsa(2048).unwrap();
        let request = CsrBuilder::new("CN=alice")
            .san(SanEntry::Upn(name.into()))
            .build(&new_key)
            .unwrap();
        send(
            &matrix.url("intune"),
            &device.key,
            &old.der,
            request,
            "17",
            None,
        )
    };
    let renewed = Issued::new(&renew("alice@corp.example").certificate());
    assert_ne!(renewed.serial_hex(), old.serial_hex());
    assert_eq!(renewed.sans(), ["upn:alice@corp.example"]);
    assert_eq!(renewed.subject_der(), old.subject_der());
    assert_eq!(
        renew("administrator@corp.example").outcome,
        Err(FailInfo::BadRequest)
    );
    let audit = matrix.server.cli(&["audit", "export"]);
    assert!(audit.contains("renewal adds the name"), "{audit}");
    assert_eq!(matrix.server.certificate_count(), 2);
}

/// Challenge Authentication Failure (a refusal, then a 500 on validation), Success
/// Notification Failure (a 500) and Communication Failure (Entra ID refuses scepd's
/// credential): nothing is issued. Unlike the matrix's text for the last row, scepd issues
/// nothing when it cannot ask Intune (docs/intune-wire-contract.md §4).
#[test]
fn failure_rows_issue_nothing() {
    let matrix = Matrix::start();
    let mock = &matrix.intune.mock;
    let device = Device::rsa(2048);
    let refused = |row: &str| {
        let answer = enroll(
            &matrix.url("intune"),
            &device,
            csr(&device, "CN=failure-row", |b| b),
        );
        assert_eq!(answer.outcome, Err(FailInfo::BadRequest), "{row}");
        assert_eq!(matrix.server.certificate_count(), 0, "{row}");
    };
    mock.set_answer(Route::Token, MockAnswer::Code("invalid_client".into()));
    refused("Communication Failure");
    assert_eq!(mock.calls_to(Route::ValidateRequest), []);
    mock.set_answer(Route::Token, MockAnswer::Success);

    mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Code("ChallengeDecryptionError".into()),
    );
    refused("Challenge Authentication Failure");
    mock.set_answer(Route::ValidateRequest, MockAnswer::Status(500));
    refused("Challenge Authentication Failure - 2");
    assert_eq!(mock.calls_to(Route::SuccessNotification), []);

    mock.set_answer(Route::ValidateRequest, MockAnswer::Success);
    mock.set_answer(Route::SuccessNotification, MockAnswer::Status(500));
    refused("Success Notification Failure");
    assert_eq!(mock.calls_to(Route::SuccessNotification).len(), 1);
    assert_eq!(mock.violations(), []);
}

/// ESC1 stays closed: the names and the EKU Intune vouches for, asked for with a one-time
/// challenge of the very template (on its own endpoint or the default one), are refused;
/// the same CSR shape is issued on the Intune endpoint.
#[test]
fn what_intune_vouches_for_is_refused_with_a_one_time_challenge() {
    let matrix = Matrix::start();
    let device = Device::rsa(2048);
    type Shape = fn(CsrBuilder) -> CsrBuilder;
    let shapes: [(&str, Shape); 4] = [
        ("UPN", |b| {
            b.san(SanEntry::Upn("administrator@corp.example".into()))
        }),
        ("SID URI", |b| b.san(SanEntry::Uri(SID_URI.into()))),
        ("e-mail", |b| {
            b.san(SanEntry::Email("ceo@contoso.example".into()))
        }),
        ("IPsec tunnel EKU", |b| {
            b.extended_key_usage(&[eku(CLIENT_AUTH), eku(IPSEC_TUNNEL)])
        }),
    ];
    for (what, shape) in shapes {
        for url in [matrix.url("local"), matrix.server.url()] {
            let challenge = matrix.server.challenge(&["--template", "intune-user"]);
            let request = shape(CsrBuilder::new("CN=administrator").challenge(&challenge))
                .build(&device.key)
                .unwrap();
            let answer = enroll(&url, &device, request);
            assert_eq!(answer.outcome, Err(FailInfo::BadRequest), "{what} at {url}");
        }
    }
    assert_eq!(matrix.server.certificate_count(), 0);
    assert_eq!(matrix.intune.mock.calls_to(Route::ValidateRequest), []);
    // Refused for what they ask, not for the challenge: each setting is named...
    let audit = matrix.server.cli(&["audit", "export"]);
    for setting in ["upn", "sid_uri", "email", "ipsec_tunnel_eku"] {
        let reason =
            format!("needs an MDM-validated request on a template with mdm_vouched.{setting}");
        assert!(audit.contains(&reason), "{reason} not in:\n{audit}");
    }
    // ...and the same challenge kind without those names is issued there.
    let challenge = matrix.server.challenge(&["--template", "intune-user"]);
    let plain = CsrBuilder::new("CN=administrator")
        .challenge(&challenge)
        .build(&device.key)
        .unwrap();
    enroll(&matrix.url("local"), &device, plain).certificate();
    for (what, shape) in shapes {
        let issued = matrix.issue("CN=administrator", shape);
        assert!(
            !issued.sans().is_empty() || issued.extended_key_usages().len() == 2,
            "{what}"
        );
    }
}

/// A device with a key `openssl` holds (aws-lc makes neither RSA-1024 keys nor SHA-1
/// signatures), requesting with `digest`.
fn legacy_request(
    matrix: &Matrix,
    bits: usize,
    digest: scep_client::DigestAlgorithm,
) -> Result<Vec<u8>, FailInfo> {
    let key = ClientKey::generate_rsa_with_openssl(bits).unwrap();
    let device = Device {
        self_signed: scep_client::self_signed_certificate(&key, "CN=legacy").unwrap(),
        key,
    };
    let url = matrix.url("intune");
    let bundle = scep_client::get_ca_cert(&url).unwrap();
    let builder = scep_client::PkcsReqBuilder::new(
        &device.key,
        &device.self_signed,
        &bundle.ra_encryption,
        csr(&device, "CN=legacy", |b| b),
    )
    .unwrap()
    .digest(digest);
    let reply = scep_client::pki_operation_post(&url, &builder.build().unwrap()).unwrap();
    let rep = scep_client::read_cert_rep(
        &reply.body,
        &device.key,
        &device.self_signed,
        builder.get_sender_nonce(),
    )
    .unwrap();
    match rep.status {
        scep_client::PkiStatus::Success => Ok(rep.certificate.unwrap()),
        scep_client::PkiStatus::Failure(info) => Err(info),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa_1024_is_refused_always_and_sha_1_unless_the_legacy_opt_in_allows_it() {
    use scep_client::DigestAlgorithm::{Sha1, Sha256};
    let strict = Matrix::start();
    assert_eq!(legacy_request(&strict, 1024, Sha256), Err(FailInfo::BadAlg));
    assert_eq!(legacy_request(&strict, 2048, Sha1), Err(FailInfo::BadAlg));
    // Refused before Intune is asked: no validation spent on them.
    assert_eq!(strict.intune.mock.calls_to(Route::ValidateRequest), []);
    assert_eq!(strict.server.certificate_count(), 0);

    let legacy = Matrix::start_with("[crypto]\nlegacy_crypto = true\n");
    assert_eq!(legacy_request(&legacy, 1024, Sha256), Err(FailInfo::BadAlg));
    let certificate = legacy_request(&legacy, 2048, Sha1).unwrap();
    // The certificate itself is still signed with SHA-256.
    let issued = Issued::new(&certificate);
    assert_eq!(
        issued.certificate.signature_algorithm().oid.to_string(),
        "1.2.840.113549.1.1.11"
    );
    assert_eq!(legacy.intune.mock.calls_to(Route::ValidateRequest).len(), 1);
    assert_eq!(legacy.server.certificate_count(), 1);
}
