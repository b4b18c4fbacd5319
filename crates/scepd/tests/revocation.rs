//! Revocation end to end (SCEP has none of its own): `scepd cert revoke`, the CRL over HTTP
//! and over GetCRL, OCSP answered for our serials and never "good" for others, and delivery
//! tracking in `scepd cert list`. Every answer is checked with openssl.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{SCEPD, Server, enroll, write_pem};
use scep_client::http::http_get;
use scep_client::{
    ClientKey, PkcsReqBuilder, get_ca_cert, pki_operation_post, self_signed_certificate,
};

fn scepd(args: &[&str], data: &Path) -> Output {
    Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn serial_of(der: &[u8]) -> String {
    let serial = scep::parse_certificate_lenient(der).unwrap().serial;
    let start = serial.iter().position(|b| *b != 0).unwrap_or(0);
    hex::encode(&serial[start..])
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn a_revoked_certificate_is_in_the_crl_and_ocsp_says_revoked() {
    let server = Server::start("");
    let data = server.data_dir();
    let revoked = enroll(&server, "CN=lost-laptop", &["lost-laptop.example.net"]).unwrap();
    let kept = enroll(&server, "CN=kept-laptop", &[]).unwrap();
    let serial = serial_of(&revoked);

    // Delivered on enrollment (RFC 8894 §8.4): nothing is uncollected.
    let out = scepd(&["cert", "list", "--uncollected"], &data);
    assert!(
        out.status.success() && text(&out).contains("0 certificate(s)"),
        "{}",
        text(&out)
    );

    let out = scepd(
        &["cert", "revoke", &serial, "--reason", "keyCompromise"],
        &data,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = scepd(
        &["cert", "revoke", &serial, "--reason", "superseded"],
        &data,
    );
    assert!(!out.status.success(), "revoked twice: {}", text(&out));
    let out = scepd(
        &[
            "cert",
            "revoke",
            "0123456789abcdef",
            "--reason",
            "keyCompromise",
        ],
        &data,
    );
    assert!(
        !out.status.success(),
        "unknown serial revoked: {}",
        text(&out)
    );
    let out = scepd(&["cert", "list", "--revoked"], &data);
    assert!(
        text(&out).contains(&serial) && text(&out).contains("keyCompromise"),
        "{}",
        text(&out)
    );
    let out = scepd(&["cert", "show", &serial], &data);
    assert!(
        text(&out).contains("revoked (keyCompromise)"),
        "{}",
        text(&out)
    );

    // The CRL over HTTP, verified and checked by openssl.
    let crl = http_get(&format!("http://{}/crl", server.addr)).unwrap();
    assert_eq!(crl.status, 200);
    assert_eq!(crl.content_type.as_deref(), Some("application/pkix-crl"));
    let crl_path = server.dir.path().join("ca.crl");
    std::fs::write(&crl_path, &crl.body).unwrap();
    let ca = server.ca_pem();
    let (ok, out) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_path.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(
        ok && out.contains("verify OK") && out.to_uppercase().contains(&serial.to_uppercase()),
        "{out}"
    );
    assert!(out.contains("Key Compromise"), "{out}");
    let crl_pem = server.dir.path().join("ca-crl.pem");
    assert!(
        openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            crl_path.to_str().unwrap(),
            "-out",
            crl_pem.to_str().unwrap()
        ])
        .0
    );
    let revoked_pem = write_pem(&server, "revoked.pem", &revoked);
    let kept_pem = write_pem(&server, "kept.pem", &kept);
    let verify = |leaf: &Path| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CRLfile",
            crl_pem.to_str().unwrap(),
            "-CAfile",
            ca.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ])
    };
    let (ok, out) = verify(&revoked_pem);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    assert!(verify(&kept_pem).0);

    // OCSP: revoked, good, and unknown for a serial we never issued.
    let url = format!("http://{}/ocsp", server.addr);
    let ocsp = |leaf: &Path| {
        openssl(&[
            "ocsp",
            "-issuer",
            ca.to_str().unwrap(),
            "-cert",
            leaf.to_str().unwrap(),
            "-url",
            &url,
            "-CAfile",
            ca.to_str().unwrap(),
            "-VAfile",
            ca.to_str().unwrap(),
        ])
    };
    let (_, out) = ocsp(&revoked_pem);
    assert!(
        out.contains("Response verify OK") && out.contains(": revoked"),
        "{out}"
    );
    let (_, out) = ocsp(&kept_pem);
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let (_, out) = openssl(&[
        "ocsp",
        "-issuer",
        ca.to_str().unwrap(),
        "-serial",
        "0x1234567890abcdef",
        "-url",
        &url,
        "-CAfile",
        ca.to_str().unwrap(),
        "-VAfile",
        ca.to_str().unwrap(),
    ]);
    assert!(
        out.contains(": unknown"),
        "a serial we never issued must be unknown: {out}"
    );

    // GetCRL over SCEP gives the same CRL, encrypted to the requester.
    let bundle = get_ca_cert(&server.url()).unwrap();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, "CN=crl-reader").unwrap();
    let ca_subject = scep::parse_certificate_lenient(&bundle.ca)
        .unwrap()
        .subject_der;
    let query = scep::build_message_data(&scep::MessageData::IssuerAndSerial {
        issuer_der: ca_subject,
        serial: vec![1],
    })
    .unwrap();
    let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, query)
        .unwrap()
        .message_type(Some("22"));
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    let rep = scep::parse_cert_rep(&reply.body).unwrap();
    assert_eq!(
        rep.pki_status,
        Some(scep::PkiStatus::Success),
        "{:?}",
        rep.fail_info_text
    );
    let inner =
        scep_client::decrypt_envelope(rep.content.as_deref().unwrap(), &key, &cert).unwrap();
    assert!(
        inner
            .windows(crl.body.len())
            .any(|w| w == crl.body.as_slice()),
        "GetCRL must carry the current CRL"
    );
}
