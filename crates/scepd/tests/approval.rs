//! Manual approval (a template with `manual_approval = true`): PKCSReq → PENDING; CertPoll
//! (GetCertInitial) → PENDING until `scepd request approve`, then SUCCESS; or FAILURE after
//! `scepd request deny`. A poll by another key learns nothing.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{SCEPD, Server, openssl_verify, write_pem};
use scep::{FailInfo, PkiStatus};
use scep_client::{
    CaBundle, ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post,
    read_cert_rep, self_signed_certificate,
};

const HELD_TEMPLATE: &str = r#"
[[templates]]
name = "reviewed"
extended_key_usages = ["clientAuth"]
dns_domains = ["example.net"]
manual_approval = true
"#;

struct Device {
    key: ClientKey,
    cert: Vec<u8>,
    subject_der: Vec<u8>,
    transaction_id: String,
}

fn send(
    server: &Server,
    device: &Device,
    bundle: &CaBundle,
    message_type: &str,
    data: Vec<u8>,
) -> scep_client::CertRepOutcome {
    let builder = PkcsReqBuilder::new(&device.key, &device.cert, &bundle.ra_encryption, data)
        .unwrap()
        .message_type(Some(message_type))
        .transaction_id(&device.transaction_id);
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    // SUCCESS, FAILURE and PENDING alike verify with OpenSSL's default (S/MIME) purpose.
    common::openssl_cms_verify(&server.ca_pem(), &reply.body);
    read_cert_rep(
        &reply.body,
        &device.key,
        &device.cert,
        builder.get_sender_nonce(),
    )
    .unwrap()
}

/// PKCSReq with a challenge for the held template: PENDING.
fn request(server: &Server, bundle: &CaBundle, cn: &str) -> Device {
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, &format!("CN={cn}")).unwrap();
    let challenge = server.challenge(&["--template", "reviewed"]);
    let csr = CsrBuilder::new(&format!("CN={cn}"))
        .dns(cn)
        .challenge(&challenge)
        .build(&key)
        .unwrap();
    let subject_der = request::csr::inspect(&csr).unwrap().subject_der;
    let device = Device {
        key,
        cert,
        subject_der,
        transaction_id: format!("held-{cn}"),
    };
    let outcome = send(server, &device, bundle, "19", csr);
    assert_eq!(
        outcome.status,
        PkiStatus::Pending,
        "{:?}",
        outcome.fail_info_text
    );
    device
}

/// CertPoll (GetCertInitial): IssuerAndSubject under the original transactionID.
fn poll(server: &Server, device: &Device, bundle: &CaBundle) -> scep_client::CertRepOutcome {
    let issuer_der = scep::parse_certificate_lenient(&bundle.ca)
        .unwrap()
        .subject_der;
    let data = scep::build_message_data(&scep::MessageData::IssuerAndSubject {
        issuer_der,
        subject_der: device.subject_der.clone(),
    })
    .unwrap();
    send(server, device, bundle, "20", data)
}

fn scepd(server: &Server, args: &[&str]) -> String {
    let out = Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

/// The id `scepd request list` shows for `cn`.
fn request_id(server: &Server, cn: &str) -> String {
    let list = scepd(server, &["request", "list"]);
    list.lines()
        .find(|l| l.contains(&format!("CN={cn}")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{cn} not listed:\n{list}"))
        .to_owned()
}

#[test]
fn a_held_request_is_pending_until_approved_then_polled_to_success() {
    let server = Server::start(HELD_TEMPLATE);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let device = request(&server, &bundle, "reviewed1.example.net");
    assert_eq!(
        server.certificate_count(),
        0,
        "nothing is issued before approval"
    );
    assert_eq!(poll(&server, &device, &bundle).status, PkiStatus::Pending);

    // Another key polling the same transaction learns nothing.
    let intruder_key = ClientKey::generate_rsa(2048).unwrap();
    let intruder = Device {
        cert: self_signed_certificate(&intruder_key, "CN=intruder").unwrap(),
        key: intruder_key,
        subject_der: device.subject_der.clone(),
        transaction_id: device.transaction_id.clone(),
    };
    assert_eq!(
        poll(&server, &intruder, &bundle).status,
        PkiStatus::Failure(FailInfo::BadCertId)
    );

    let id = request_id(&server, "reviewed1.example.net");
    scepd(&server, &["request", "approve", &id]);
    let outcome = poll(&server, &device, &bundle);
    assert_eq!(
        outcome.status,
        PkiStatus::Success,
        "{:?}",
        outcome.fail_info_text
    );
    let certificate = outcome.certificate.unwrap();
    assert_eq!(
        scep::parse_certificate_lenient(&certificate)
            .unwrap()
            .spki_der,
        device.key.spki_der()
    );
    openssl_verify(
        &server.ca_pem(),
        &write_pem(&server, "approved.pem", &certificate),
    );
    assert_eq!(server.certificate_count(), 1);
    // Polling again gives the same certificate, not a second one.
    assert_eq!(
        poll(&server, &device, &bundle).certificate,
        Some(certificate)
    );
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn a_denied_request_gets_failure_and_nothing_is_issued() {
    let server = Server::start(HELD_TEMPLATE);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let device = request(&server, &bundle, "reviewed2.example.net");
    let id = request_id(&server, "reviewed2.example.net");
    scepd(
        &server,
        &["request", "deny", &id, "--reason", "unknown device"],
    );
    let outcome = poll(&server, &device, &bundle);
    assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(server.certificate_count(), 0);
    // Approving a denied request is refused.
    let out = Command::new(SCEPD)
        .args(["request", "approve", &id, "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
}
