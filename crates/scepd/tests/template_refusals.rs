//! The security catalogue's section C (CSR content against the template, enforced by the RA
//! and again by the CA) through a real `scepd serve`: each hostile request gets FAILURE with
//! its precise failInfo, nothing is issued, and the challenge stays unspent. GetCert of an
//! issued certificate works and of an unknown serial is badCertId.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Server;
use der::oid::ObjectIdentifier;
use scep::{FailInfo, PkiStatus};
use scep_client::{
    ClientKey, CsrBuilder, PkcsReqBuilder, SanEntry, get_ca_cert, pki_operation_post,
    read_cert_rep, self_signed_certificate,
};

fn oid(dotted: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(dotted)
}

/// What a case does to an otherwise valid CSR.
type Shape = Box<dyn Fn(CsrBuilder) -> CsrBuilder>;

/// DER of an extension value that is just an OCTET STRING / SEQUENCE shape the CA must not
/// even look at: the point is the OID.
const OPAQUE: [u8; 2] = [0x30, 0x00];

#[test]
fn hostile_csr_content_is_refused_with_bad_request_and_nothing_issued() {
    // Templates confine names; a serverAuth template exists but the challenge binds "device".
    let server = Server::start(
        "[[templates]]\nname = \"web\"\nextended_key_usages = [\"serverAuth\"]\ndns_domains = [\"example.net\"]\n",
    );
    let bundle = get_ca_cert(&server.url()).unwrap();
    let cases: Vec<(&str, Shape)> = vec![
        (
            "ESC15 application policies",
            Box::new(|b| b.extension(oid("1.3.6.1.4.1.311.21.10"), false, OPAQUE.to_vec())),
        ),
        (
            "C10 template name in the CSR",
            Box::new(|b| b.extension(oid("1.3.6.1.4.1.311.20.2"), false, vec![0x1e, 0x00])),
        ),
        (
            "template information",
            Box::new(|b| b.extension(oid("1.3.6.1.4.1.311.21.7"), false, OPAQUE.to_vec())),
        ),
        (
            "SID extension",
            Box::new(|b| b.extension(oid("1.3.6.1.4.1.311.25.2"), false, OPAQUE.to_vec())),
        ),
        (
            "SID URL SAN",
            Box::new(|b| {
                b.san(SanEntry::Uri(
                    "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500".into(),
                ))
            }),
        ),
        (
            "UPN SAN",
            Box::new(|b| b.san(SanEntry::Upn("administrator@corp.example".into()))),
        ),
        (
            "email SAN",
            Box::new(|b| b.san(SanEntry::Email("ceo@corp.example".into()))),
        ),
        (
            "IP SAN",
            Box::new(|b| b.san(SanEntry::Ip("10.0.0.1".parse().unwrap()))),
        ),
        (
            "certificatePolicies (ESC13)",
            Box::new(|b| b.extension(oid("2.5.29.32"), false, OPAQUE.to_vec())),
        ),
        (
            "nameConstraints",
            Box::new(|b| b.extension(oid("2.5.29.30"), true, OPAQUE.to_vec())),
        ),
        (
            "AIA from the request",
            Box::new(|b| b.extension(oid("1.3.6.1.5.5.7.1.1"), false, OPAQUE.to_vec())),
        ),
        (
            "unknown critical extension",
            Box::new(|b| b.extension(oid("1.2.3.4.5.6"), true, OPAQUE.to_vec())),
        ),
        ("cA=TRUE", Box::new(|b| b.basic_constraints(true, true))),
        (
            "Certificate Request Agent EKU (ESC3)",
            Box::new(|b| b.extended_key_usage(&[oid("1.3.6.1.4.1.311.20.2.1")])),
        ),
        (
            "OCSP signing EKU",
            Box::new(|b| b.extended_key_usage(&[oid("1.3.6.1.5.5.7.3.9")])),
        ),
        (
            "code signing EKU",
            Box::new(|b| b.extended_key_usage(&[oid("1.3.6.1.5.5.7.3.3")])),
        ),
        ("wildcard DNS name", Box::new(|b| b.dns("*.example.net"))),
        (
            "trailing-dot DNS name",
            Box::new(|b| b.dns("host.example.net.")),
        ),
        ("NUL in a DNS name", Box::new(|b| b.dns("host\0.evil.com"))),
        (
            "ESC6 SAN name-value pair",
            Box::new(|b| b.ms_name_value_pair("SAN", "upn=administrator@corp.example")),
        ),
        (
            "template named in a request attribute",
            Box::new(|b| b.ms_name_value_pair("CertificateTemplate", "web")),
        ),
    ];
    for (what, shape) in cases {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let cert = self_signed_certificate(&key, "CN=hostile").unwrap();
        let challenge = server.challenge(&[]);
        let csr = shape(CsrBuilder::new("CN=hostile").challenge(&challenge))
            .build(&key)
            .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
        let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
        assert_eq!(reply.status, 200, "{what}: {}", reply.text());
        let outcome = read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce()).unwrap();
        assert_eq!(
            outcome.status,
            PkiStatus::Failure(FailInfo::BadRequest),
            "{what}"
        );
        let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(challenge.as_bytes()).into();
        let status = common::block_on(server.store().challenge_status(&hash, 0)).unwrap();
        assert!(
            matches!(status, store::ChallengeStatus::Usable(_)),
            "{what}: challenge spent"
        );
    }
    assert_eq!(server.certificate_count(), 0);
}

#[test]
fn get_cert_returns_our_certificate_and_bad_cert_id_for_others() {
    let server = Server::start("");
    let issued = common::enroll(&server, "CN=fetch-me", &[]).unwrap();
    let bundle = get_ca_cert(&server.url()).unwrap();
    let issuer_der = scep::parse_certificate_lenient(&bundle.ca)
        .unwrap()
        .subject_der;
    let serial = scep::parse_certificate_lenient(&issued).unwrap().serial;
    for (serial, expect_found) in [(serial, true), (vec![0x01, 0x02, 0x03], false)] {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let cert = self_signed_certificate(&key, "CN=fetcher").unwrap();
        let query = scep::build_message_data(&scep::MessageData::IssuerAndSerial {
            issuer_der: issuer_der.clone(),
            serial,
        })
        .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, query)
            .unwrap()
            .message_type(Some("21"));
        let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
        let outcome = read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce()).unwrap();
        if expect_found {
            assert_eq!(outcome.status, PkiStatus::Success);
            assert_eq!(outcome.certificate.as_ref(), Some(&issued));
        } else {
            assert_eq!(outcome.status, PkiStatus::Failure(FailInfo::BadCertId));
        }
    }
}
