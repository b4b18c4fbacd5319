//! RenewalReq (RFC 8894 §3.3.1.2): signed by a current certificate we issued, no challenge,
//! and the renewed certificate stays inside the old one's names. A certificate from another
//! CA is never enough (micromdm #117).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{RENEW_ANY_TIME, Server};
use scep::{FailInfo, PkiStatus};
use scep_client::{
    CaBundle, ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post,
    read_cert_rep, self_signed_certificate,
};

struct Enrolled {
    key: ClientKey,
    certificate: Vec<u8>,
}

fn send(
    server: &Server,
    bundle: &CaBundle,
    key: &ClientKey,
    signer_cert: &[u8],
    csr: Vec<u8>,
    message_type: &str,
) -> scep_client::CertRepOutcome {
    let builder = PkcsReqBuilder::new(key, signer_cert, &bundle.ra_encryption, csr)
        .unwrap()
        .message_type(Some(message_type));
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    read_cert_rep(&reply.body, key, signer_cert, builder.get_sender_nonce()).unwrap()
}

/// A first enrollment with a challenge: the certificate renewals are signed with.
fn enroll(server: &Server, bundle: &CaBundle, cn: &str, dns: &[&str]) -> Enrolled {
    let key = ClientKey::generate_rsa(2048).unwrap();
    let self_signed = self_signed_certificate(&key, &format!("CN={cn}")).unwrap();
    let challenge = server.challenge(&[]);
    let mut csr = CsrBuilder::new(&format!("CN={cn}")).challenge(&challenge);
    for name in dns {
        csr = csr.dns(name);
    }
    let outcome = send(
        server,
        bundle,
        &key,
        &self_signed,
        csr.build(&key).unwrap(),
        "19",
    );
    assert_eq!(outcome.status, PkiStatus::Success);
    Enrolled {
        key,
        certificate: outcome.certificate.unwrap(),
    }
}

#[test]
fn renewal_signed_by_our_certificate_issues_a_new_one_without_a_challenge() {
    let server = Server::start(RENEW_ANY_TIME);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let old = enroll(&server, &bundle, "laptop1", &["laptop1.example.net"]);
    let new_key = ClientKey::generate_rsa(2048).unwrap();
    let csr = CsrBuilder::new("CN=laptop1")
        .dns("laptop1.example.net")
        .build(&new_key)
        .unwrap();
    let outcome = send(&server, &bundle, &old.key, &old.certificate, csr, "17");
    assert_eq!(
        outcome.status,
        PkiStatus::Success,
        "{:?}\n{}",
        outcome.fail_info_text,
        server.stderr()
    );
    let renewed = outcome.certificate.unwrap();
    assert_ne!(renewed, old.certificate);
    let parsed = scep::parse_certificate_lenient(&renewed).unwrap();
    assert_eq!(
        parsed.spki_der,
        new_key.spki_der(),
        "the renewed certificate certifies the new key"
    );
    assert_eq!(server.certificate_count(), 2);
    let path = server.dir.path().join("renewed.der");
    std::fs::write(&path, &renewed).unwrap();
    let pem = server.dir.path().join("renewed.pem");
    let status = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&path)
        .arg("-out")
        .arg(&pem)
        .status()
        .unwrap();
    assert!(status.success());
    common::openssl_verify(&server.ca_pem(), &pem);
    common::assert_device_template(&common::openssl_text(&pem));
}

#[test]
fn renewal_may_not_add_names_or_change_the_subject() {
    let server = Server::start(RENEW_ANY_TIME);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let old = enroll(&server, &bundle, "laptop2", &["laptop2.example.net"]);
    for (subject, dns) in [
        (
            "CN=laptop2",
            vec!["laptop2.example.net", "dc01.corp.example"],
        ),
        ("CN=administrator", vec!["laptop2.example.net"]),
    ] {
        let new_key = ClientKey::generate_rsa(2048).unwrap();
        let mut csr = CsrBuilder::new(subject);
        for name in &dns {
            csr = csr.dns(name);
        }
        let outcome = send(
            &server,
            &bundle,
            &old.key,
            &old.certificate,
            csr.build(&new_key).unwrap(),
            "17",
        );
        assert_eq!(
            outcome.status,
            PkiStatus::Failure(FailInfo::BadRequest),
            "{subject} {dns:?}"
        );
    }
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn renewal_signed_by_another_cas_certificate_is_refused() {
    // Same names, same key sizes, but issued by a different scepd's CA.
    let ours = Server::start(RENEW_ANY_TIME);
    let theirs = Server::start(RENEW_ANY_TIME);
    let their_bundle = get_ca_cert(&theirs.url()).unwrap();
    let foreign = enroll(&theirs, &their_bundle, "laptop3", &[]);
    let bundle = get_ca_cert(&ours.url()).unwrap();
    let new_key = ClientKey::generate_rsa(2048).unwrap();
    let csr = CsrBuilder::new("CN=laptop3").build(&new_key).unwrap();
    let outcome = send(
        &ours,
        &bundle,
        &foreign.key,
        &foreign.certificate,
        csr,
        "17",
    );
    assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(ours.certificate_count(), 0);
}

#[test]
fn renewal_rules_of_the_default_template_window_new_key_and_revocation() {
    // The default device template: renewal opens 30 days before expiry and needs a new key.
    let server = Server::start("");
    let bundle = get_ca_cert(&server.url()).unwrap();
    let old = enroll(&server, &bundle, "laptop4", &[]);
    let new_key = ClientKey::generate_rsa(2048).unwrap();
    let csr = CsrBuilder::new("CN=laptop4").build(&new_key).unwrap();
    let too_early = send(&server, &bundle, &old.key, &old.certificate, csr, "17");
    assert_eq!(too_early.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(server.certificate_count(), 1);
    drop(server);

    let server = Server::start(RENEW_ANY_TIME);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let old = enroll(&server, &bundle, "laptop5", &[]);
    // The same key again is refused (renewal_requires_new_key defaults to true).
    let same_key_csr = CsrBuilder::new("CN=laptop5").build(&old.key).unwrap();
    let same_key = send(
        &server,
        &bundle,
        &old.key,
        &old.certificate,
        same_key_csr,
        "17",
    );
    assert_eq!(same_key.status, PkiStatus::Failure(FailInfo::BadRequest));
    // A revoked certificate cannot renew.
    let serial = hex::encode(
        scep::parse_certificate_lenient(&old.certificate)
            .unwrap()
            .serial,
    );
    let serial = serial.trim_start_matches("00").to_owned();
    let out = std::process::Command::new(common::SCEPD)
        .args([
            "cert",
            "revoke",
            &serial,
            "--reason",
            "keyCompromise",
            "--data-dir",
        ])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_key = ClientKey::generate_rsa(2048).unwrap();
    let csr = CsrBuilder::new("CN=laptop5").build(&new_key).unwrap();
    let revoked = send(&server, &bundle, &old.key, &old.certificate, csr, "17");
    assert_eq!(revoked.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(server.certificate_count(), 1);
}

#[test]
fn a_pkcsreq_signed_by_our_certificate_without_a_challenge_is_a_renewal() {
    // sscep re-enrolls this way.
    let server = Server::start(RENEW_ANY_TIME);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let old = enroll(&server, &bundle, "router6", &["router6.example.net"]);
    let new_key = ClientKey::generate_rsa(2048).unwrap();
    let csr = CsrBuilder::new("CN=router6")
        .dns("router6.example.net")
        .build(&new_key)
        .unwrap();
    let outcome = send(&server, &bundle, &old.key, &old.certificate, csr, "19");
    assert_eq!(
        outcome.status,
        PkiStatus::Success,
        "{:?}",
        outcome.fail_info_text
    );
    assert_eq!(server.certificate_count(), 2);
    // The same from a self-signed certificate is an enrollment and needs a challenge.
    let stranger = ClientKey::generate_rsa(2048).unwrap();
    let self_signed = self_signed_certificate(&stranger, "CN=router6").unwrap();
    let csr = CsrBuilder::new("CN=router6").build(&stranger).unwrap();
    let outcome = send(&server, &bundle, &stranger, &self_signed, csr, "19");
    assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(server.certificate_count(), 2);
}

#[test]
fn a_key_certified_to_one_subject_is_refused_for_another() {
    // RFC 8894 §8.6: a stolen or shared device key must not move to a new identity.
    let server = Server::start(RENEW_ANY_TIME);
    let bundle = get_ca_cert(&server.url()).unwrap();
    let first = enroll(&server, &bundle, "printer9", &[]);
    let self_signed = self_signed_certificate(&first.key, "CN=printer9").unwrap();
    let challenge = server.challenge(&[]);
    let csr = CsrBuilder::new("CN=administrator")
        .challenge(&challenge)
        .build(&first.key)
        .unwrap();
    let builder = PkcsReqBuilder::new(&first.key, &self_signed, &bundle.ra_encryption, csr)
        .unwrap()
        .transaction_id("same-key-new-subject");
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    let outcome = read_cert_rep(
        &reply.body,
        &first.key,
        &self_signed,
        builder.get_sender_nonce(),
    )
    .unwrap();
    assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadRequest));
    assert_eq!(server.certificate_count(), 1);
}
