#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef};
use der::{Any, Encode};
use policy::{Decision, PublicKeyFacts, RequestedValue, SanFact, Template};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::*;

const CERTMONGER: &[u8] = include_bytes!("../../tests/fixtures/certmonger-csr.der");
const MICROMDM: &[u8] = include_bytes!("../../tests/fixtures/micromdm-client-csr.der");
const RUST_AES: &[u8] = include_bytes!("../../tests/fixtures/rust-aes-client-csr.der");

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new(s).unwrap()
}

/// A syntactically valid RSA SPKI with a `bits`-bit modulus (not a real key: inspection does
/// not verify).
fn rsa_spki(bits: usize, exponent: &[u8]) -> SubjectPublicKeyInfoOwned {
    let mut modulus = vec![0u8; bits.div_ceil(8)];
    modulus[0] = 1 << ((bits - 1) % 8);
    let key = [
        der::asn1::UintRef::new(&modulus).unwrap().to_der().unwrap(),
        der::asn1::UintRef::new(exponent).unwrap().to_der().unwrap(),
    ]
    .concat();
    let mut seq = vec![0x30];
    seq.extend(der::Length::try_from(key.len()).unwrap().to_der().unwrap());
    seq.extend(key);
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: crate::oids::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&seq).unwrap(),
    }
}

fn ec_spki(parameters: Any, point: &[u8]) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: crate::oids::EC_PUBLIC_KEY,
            parameters: Some(parameters),
        },
        subject_public_key: BitString::from_bytes(point).unwrap(),
    }
}

fn attr(oid_str: &str, values: Vec<Any>) -> Attribute {
    Attribute {
        oid: oid(oid_str),
        values: SetOfVec::try_from(values).unwrap(),
    }
}

fn printable(s: &str) -> Any {
    Any::encode_from(&der::asn1::PrintableStringRef::new(s).unwrap()).unwrap()
}

fn utf8(s: &str) -> Any {
    Any::encode_from(&Utf8StringRef::new(s).unwrap()).unwrap()
}

fn ext<T: Encode>(oid_str: &str, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: oid(oid_str),
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn ext_req(exts: Vec<Extension>) -> Attribute {
    Attribute::try_from(ExtensionReq(exts)).unwrap()
}

fn build(subject: &str, key: SubjectPublicKeyInfoOwned, attributes: Vec<Attribute>) -> Vec<u8> {
    let mut set = SetOfVec::new();
    for a in attributes {
        set.insert(a).unwrap();
    }
    CertReq {
        info: CertReqInfo {
            version: Version::V1,
            subject: if subject.is_empty() {
                <Name as der::Decode>::from_der(&[0x30, 0x00]).unwrap()
            } else {
                Name::from_str(subject).unwrap()
            },
            public_key: key,
            attributes: set,
        },
        algorithm: AlgorithmIdentifierOwned {
            oid: oid("1.2.840.113549.1.1.11"),
            parameters: Some(Any::null()),
        },
        signature: BitString::from_bytes(&[1, 2, 3]).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn simple(attributes: Vec<Attribute>) -> Vec<u8> {
    build("CN=dev1,O=Org", rsa_spki(2048, &[1, 0, 1]), attributes)
}

#[test]
fn certmonger_csr_is_read_and_accepted_by_the_device_template() {
    let csr = inspect(CERTMONGER).unwrap();
    assert_eq!(csr.subject_display, "O=Proto,CN=certmonger-client");
    assert_eq!(
        csr.challenge_password.as_ref().unwrap().expose(),
        "secret123"
    );
    assert_eq!(
        csr.facts.public_key,
        PublicKeyFacts::Rsa {
            modulus_bits: 2048,
            exponent: Some(65537)
        }
    );
    // friendlyName is neither an "other attribute" nor an extension.
    assert!(csr.facts.attributes.is_empty());
    let exts: Vec<_> = csr
        .facts
        .requested_extensions
        .iter()
        .map(|e| (e.oid.as_str(), e.critical, e.value.clone()))
        .collect();
    assert_eq!(
        exts,
        [
            (
                "2.5.29.19",
                true,
                RequestedValue::BasicConstraints { ca: false }
            ),
            ("2.5.29.14", false, RequestedValue::SubjectKeyIdentifier),
        ]
    );
    // The to-be-signed bytes are the exact CertificationRequestInfo TLV.
    assert_eq!(
        csr.tbs_der.as_slice(),
        &CERTMONGER[4..4 + csr.tbs_der.len()]
    );
    assert_eq!(csr.tbs_der.first(), Some(&0x30));
    assert_eq!(csr.signature.len(), 256);
    assert_eq!(
        csr.signature_algorithm_der,
        [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
            0x00
        ]
    );
    assert!(matches!(
        policy::decide(&csr.facts, &Template::device(), None),
        Decision::Issue(_)
    ));
}

#[test]
fn micromdm_and_rust_csrs_are_read() {
    let csr = inspect(MICROMDM).unwrap();
    assert_eq!(
        csr.subject_display,
        "CN=proto-client,OU=MDM,O=scep-client,C=US"
    );
    assert_eq!(
        csr.challenge_password.as_ref().unwrap().expose(),
        "secret123"
    );
    assert!(csr.facts.requested_extensions.is_empty());
    assert!(matches!(
        policy::decide(&csr.facts, &Template::device(), None),
        Decision::Issue(_)
    ));
    let csr = inspect(RUST_AES).unwrap();
    assert_eq!(csr.subject_display, "O=Proto,CN=rust-aes-client");
}

#[test]
fn challenge_password_is_not_printed() {
    let csr = inspect(CERTMONGER).unwrap();
    assert!(!format!("{csr:?}").contains("secret123"));
}

#[test]
fn oversized_garbage_and_truncated_input_refused() {
    assert!(matches!(
        inspect(&vec![0x30; MAX_CSR_LEN + 1]),
        Err(CsrError::TooLarge(_))
    ));
    assert!(matches!(inspect(b"garbage"), Err(CsrError::Malformed(_))));
    assert!(matches!(inspect(&[]), Err(CsrError::Malformed(_))));
    for cut in [1, 10, CERTMONGER.len() / 2, CERTMONGER.len() - 1] {
        assert!(inspect(&CERTMONGER[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = CERTMONGER.to_vec();
    trailing.push(0);
    assert!(inspect(&trailing).is_err());
}

#[test]
fn challenge_password_forms() {
    let one = inspect(&simple(vec![attr(
        "1.2.840.113549.1.9.7",
        vec![utf8("päss")],
    )]))
    .unwrap();
    assert_eq!(one.challenge_password.unwrap().expose(), "päss");
    assert!(
        inspect(&simple(vec![]))
            .unwrap()
            .challenge_password
            .is_none()
    );

    let two_values = simple(vec![attr(
        "1.2.840.113549.1.9.7",
        vec![printable("a"), printable("b")],
    )]);
    assert!(matches!(
        inspect(&two_values),
        Err(CsrError::RepeatedAttribute { .. })
    ));
    let two_attributes = simple(vec![
        attr("1.2.840.113549.1.9.7", vec![printable("a")]),
        attr("1.2.840.113549.1.9.7", vec![printable("b")]),
    ]);
    assert!(matches!(
        inspect(&two_attributes),
        Err(CsrError::RepeatedAttribute { .. })
    ));
    let bmp = Any::encode_from(&der::asn1::BmpString::from_utf8("abc").unwrap()).unwrap();
    for bad in [
        bmp,
        Any::encode_from(&Ia5String::new("abc").unwrap()).unwrap(),
        utf8("a\0b"),
        utf8("a\nb"),
        utf8(""),
    ] {
        let csr = simple(vec![attr("1.2.840.113549.1.9.7", vec![bad])]);
        assert!(
            matches!(inspect(&csr), Err(CsrError::ChallengePassword(_))),
            "{:?}",
            inspect(&csr)
        );
    }
}

#[test]
fn other_attributes_are_reported() {
    // ESC6 / EDITF_ATTRIBUTEENDDATE name-value pairs.
    let csr = simple(vec![attr(
        "1.3.6.1.4.1.311.13.2.1",
        vec![utf8("SAN:upn=administrator@corp")],
    )]);
    let csr = inspect(&csr).unwrap();
    assert_eq!(csr.facts.attributes, ["1.3.6.1.4.1.311.13.2.1"]);
    assert!(matches!(
        policy::decide(&csr.facts, &Template::device(), None),
        Decision::Refuse(_)
    ));
}

#[test]
fn subject_alt_names_are_reported_by_kind() {
    let upn = OtherName {
        type_id: oid("1.3.6.1.4.1.311.20.2.3"),
        value: utf8("administrator@corp"),
    };
    // A UPN must be a UTF8String: another string type is reported by type-id only.
    let upn_as_ia5 = OtherName {
        type_id: oid("1.3.6.1.4.1.311.20.2.3"),
        value: Any::encode_from(&Ia5String::new("administrator@corp").unwrap()).unwrap(),
    };
    let san = SubjectAltName(vec![
        GeneralName::DnsName(Ia5String::new("Dev1.Corp.Example").unwrap()),
        GeneralName::IpAddress(OctetString::new([10, 0, 0, 1]).unwrap()),
        GeneralName::Rfc822Name(Ia5String::new("a@corp.example").unwrap()),
        GeneralName::UniformResourceIdentifier(
            Ia5String::new("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-500").unwrap(),
        ),
        GeneralName::OtherName(upn),
        GeneralName::OtherName(upn_as_ia5),
        GeneralName::RegisteredId(oid("1.2.3.4")),
    ]);
    let csr = simple(vec![ext_req(vec![ext("2.5.29.17", false, &san)])]);
    let csr = inspect(&csr).unwrap();
    assert_eq!(
        csr.facts.subject_alt_names,
        [
            SanFact::Dns("Dev1.Corp.Example".into()),
            SanFact::Ip(vec![10, 0, 0, 1]),
            SanFact::Email("a@corp.example".into()),
            SanFact::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-500".into()),
            SanFact::Upn("administrator@corp".into()),
            SanFact::OtherName {
                type_id: "1.3.6.1.4.1.311.20.2.3".into()
            },
            SanFact::Other("registeredID".into()),
        ]
    );
    assert_eq!(
        csr.facts.requested_extensions[0].value,
        RequestedValue::SubjectAltName
    );
}

#[test]
fn dns_name_with_nul_reaches_policy_and_is_refused() {
    let san = SubjectAltName(vec![GeneralName::DnsName(
        Ia5String::new("dev1\0.evil.com").unwrap(),
    )]);
    let csr = inspect(&simple(vec![ext_req(vec![ext("2.5.29.17", false, &san)])])).unwrap();
    assert!(matches!(
        policy::decide(&csr.facts, &Template::device(), None),
        Decision::Refuse(r) if matches!(r.reason, policy::RefusalReason::InvalidDnsName { .. })
    ));
}

#[test]
fn checked_extensions_are_decoded() {
    let eku = ExtendedKeyUsage(vec![oid("2.5.29.37.0"), oid("1.3.6.1.5.5.7.3.2")]);
    let bc = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    // keyCertSign | digitalSignature
    let ku = BitString::new(2, [0x84]).unwrap();
    let exts = vec![
        ext("2.5.29.37", false, &eku),
        ext("2.5.29.19", true, &bc),
        ext("2.5.29.15", true, &ku),
        ext("1.3.6.1.4.1.311.21.10", false, &eku),
        // A SAN that does not decode.
        Extension {
            extn_id: oid("2.5.29.17"),
            critical: false,
            extn_value: OctetString::new([0x30, 0x03, 0x82, 0x05]).unwrap(),
        },
        // Duplicates are kept for policy to refuse.
        ext("2.5.29.37", false, &eku),
    ];
    let csr = inspect(&simple(vec![ext_req(exts)])).unwrap();
    let values: Vec<_> = csr
        .facts
        .requested_extensions
        .iter()
        .map(|e| (e.oid.as_str(), e.value.clone()))
        .collect();
    let eku_value =
        RequestedValue::ExtendedKeyUsage(vec!["2.5.29.37.0".into(), "1.3.6.1.5.5.7.3.2".into()]);
    assert_eq!(
        values,
        [
            ("2.5.29.37", eku_value.clone()),
            ("2.5.29.19", RequestedValue::BasicConstraints { ca: true }),
            (
                "2.5.29.15",
                RequestedValue::KeyUsage(
                    policy::key_usage::DIGITAL_SIGNATURE | policy::key_usage::KEY_CERT_SIGN
                )
            ),
            ("1.3.6.1.4.1.311.21.10", RequestedValue::Other),
            ("2.5.29.17", RequestedValue::Malformed),
            ("2.5.29.37", eku_value),
        ]
    );
}

#[test]
fn two_extension_requests_refused() {
    let eku = ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.2")]);
    let csr = simple(vec![
        ext_req(vec![ext("2.5.29.37", false, &eku)]),
        ext_req(vec![
            ext("2.5.29.37", false, &eku),
            ext("2.5.29.19", false, &eku),
        ]),
    ]);
    assert!(matches!(
        inspect(&csr),
        Err(CsrError::RepeatedAttribute { .. })
    ));
}

#[test]
fn subject_shapes() {
    let csr = inspect(&build("CN=a+O=b,C=US", rsa_spki(2048, &[1, 0, 1]), vec![])).unwrap();
    let flags: Vec<_> = csr
        .facts
        .subject
        .iter()
        .map(|a| (a.oid.as_str(), a.multi_valued_rdn))
        .collect();
    assert_eq!(flags.len(), 3);
    assert!(flags.contains(&("2.5.4.6", false)));
    assert!(flags.contains(&("2.5.4.3", true)));
    assert!(flags.contains(&("2.5.4.10", true)));
    let empty = inspect(&build("", rsa_spki(2048, &[1, 0, 1]), vec![])).unwrap();
    assert!(empty.facts.subject.is_empty());
    assert_eq!(empty.subject_display, "");
}

#[test]
fn rsa_key_facts() {
    for (bits, exponent, expected) in [
        (1024, vec![1, 0, 1], Some(65537)),
        (2047, vec![3], Some(3)),
        (4096, vec![1; 9], None),
    ] {
        let csr = inspect(&build("CN=a", rsa_spki(bits, &exponent), vec![])).unwrap();
        assert_eq!(
            csr.facts.public_key,
            PublicKeyFacts::Rsa {
                modulus_bits: bits as u32,
                exponent: expected
            }
        );
    }
}

#[test]
fn ec_key_facts() {
    let p256 = Any::encode_from(&crate::oids::SECP256R1).unwrap();
    let mut point = vec![0x04];
    point.extend([7u8; 64]);
    let csr = inspect(&build("CN=a", ec_spki(p256.clone(), &point), vec![])).unwrap();
    assert_eq!(
        csr.facts.public_key,
        PublicKeyFacts::Ec {
            curve_oid: "1.2.840.10045.3.1.7".into()
        }
    );
    // A compressed or short point of a known curve is refused outright.
    assert!(matches!(
        inspect(&build("CN=a", ec_spki(p256, &point[..33]), vec![])),
        Err(CsrError::PublicKey(_))
    ));
    // Explicit curve parameters are reported and then refused by policy as badAlg.
    let explicit = Any::encode_from(&vec![Any::null()]).unwrap();
    let csr = inspect(&build("CN=a", ec_spki(explicit, &point), vec![])).unwrap();
    let Decision::Refuse(r) = policy::decide(&csr.facts, &Template::device(), None) else {
        panic!("issued")
    };
    assert_eq!(r.code, policy::RefusalCode::BadAlg);
    // secp256k1 is reported by OID and refused as badAlg.
    let k1 = Any::encode_from(&oid("1.3.132.0.10")).unwrap();
    let csr = inspect(&build("CN=a", ec_spki(k1, &point), vec![])).unwrap();
    let Decision::Refuse(r) = policy::decide(&csr.facts, &Template::device(), None) else {
        panic!("issued")
    };
    assert_eq!(r.code, policy::RefusalCode::BadAlg);
}

#[test]
fn explicit_default_critical_false_is_accepted() {
    // Extension { extnID 2.5.29.19, critical BOOLEAN FALSE (explicit DEFAULT), extnValue 30 00 }
    let bc = [
        0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0x00, 0x04, 0x02, 0x30, 0x00,
    ];
    let mut list = vec![0x30, bc.len() as u8];
    list.extend(bc);
    let value = Any::new(der::Tag::Sequence, &list[2..]).unwrap();
    let csr = simple(vec![attr("1.2.840.113549.1.9.14", vec![value])]);
    let csr = inspect(&csr).unwrap();
    assert_eq!(
        csr.facts.requested_extensions[0].value,
        RequestedValue::BasicConstraints { ca: false }
    );
    assert!(!csr.facts.requested_extensions[0].critical);
}
