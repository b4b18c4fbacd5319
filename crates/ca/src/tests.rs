#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use policy::Template;
use request::{RaStatement, RequesterFacts, StatementBinding, prepare_statement};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::dev::{
    RaCertPurpose, issue_ra_certificate, issue_ra_certificate_at as issue_ra_at,
    self_signed_ca_at as self_signed_ca,
};
use crate::{Ca, CaError, StatementRejection};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Pki {
    ca_key: Arc<dyn Signer>,
    ca_cert: Vec<u8>,
    ra_key: Arc<dyn Signer>,
    ra_cert: Vec<u8>,
    /// The RA signing key certified for encryption only (no Certificate Request Agent EKU).
    ra_cert_without_eku: Vec<u8>,
    /// The RA signing key certified by another CA.
    ra_cert_other_ca: Vec<u8>,
    other_ca_cert: Vec<u8>,
    ra_encryption_cert: Vec<u8>,
    rsa_device: Arc<dyn Signer>,
    ec_device: Arc<dyn Signer>,
}

fn signer(key: SoftwareKey, role: KeyRole) -> Arc<dyn Signer> {
    key.into_signer(role).unwrap()
}

/// One PKI for all tests: RSA key generation is slow.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let t = now();
        let ca_key = signer(
            SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap(),
            KeyRole::CaSigning,
        );
        let ca_cert = self_signed_ca(ca_key.as_ref(), "scepd test CA", 3650, t).unwrap();
        let ra_key = signer(
            SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
            KeyRole::RaSigning,
        );
        let ra = |purpose, ca: &dyn Signer, ca_cert: &[u8], key: &[u8]| {
            issue_ra_at(ca, ca_cert, key, "scepd RA", purpose, 365, t).unwrap()
        };
        let ra_cert = ra(
            RaCertPurpose::Agent,
            ca_key.as_ref(),
            &ca_cert,
            ra_key.public_key_spki_der(),
        );
        let ra_cert_without_eku = ra(
            RaCertPurpose::Encryption,
            ca_key.as_ref(),
            &ca_cert,
            ra_key.public_key_spki_der(),
        );
        let other_ca_key = signer(
            SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap(),
            KeyRole::CaSigning,
        );
        // Same subject name as ours: only the signature tells them apart.
        let other_ca_cert =
            self_signed_ca(other_ca_key.as_ref(), "scepd test CA", 3650, t).unwrap();
        let ra_cert_other_ca = ra(
            RaCertPurpose::Agent,
            other_ca_key.as_ref(),
            &other_ca_cert,
            ra_key.public_key_spki_der(),
        );
        let ra_decrypt = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
        let ra_encryption_cert = ra(
            RaCertPurpose::Encryption,
            ca_key.as_ref(),
            &ca_cert,
            ra_decrypt.public_key_spki_der(),
        );
        Pki {
            rsa_device: signer(
                SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap(),
                KeyRole::RaSigning,
            ),
            ec_device: signer(
                SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
                KeyRole::RaSigning,
            ),
            ca_key,
            ca_cert,
            ra_key,
            ra_cert,
            ra_cert_without_eku,
            ra_cert_other_ca,
            other_ca_cert,
            ra_encryption_cert,
        }
    })
}

fn ca() -> Ca {
    let p = pki();
    Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![Template::device()],
        vec![
            p.ra_cert.clone(),
            p.ra_cert_without_eku.clone(),
            p.ra_cert_other_ca.clone(),
        ],
    )
    .unwrap()
}

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new(s).unwrap()
}

fn ext<T: Encode>(oid_str: &str, value: &T) -> Extension {
    Extension {
        extn_id: oid(oid_str),
        critical: false,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

pub(crate) fn dns_san(names: &[&str]) -> Extension {
    ext(
        "2.5.29.17",
        &SubjectAltName(
            names
                .iter()
                .map(|n| GeneralName::DnsName(Ia5String::new(n).unwrap()))
                .collect(),
        ),
    )
}

/// A PKCS#10 request for `key`, self-signed.
pub(crate) fn csr(key: &dyn Signer, subject: &str, exts: Vec<Extension>) -> Vec<u8> {
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute {
            oid: oid("1.2.840.113549.1.9.7"),
            values: SetOfVec::try_from(vec![
                Any::encode_from(&Utf8StringRef::new("secret").unwrap()).unwrap(),
            ])
            .unwrap(),
        })
        .unwrap();
    if !exts.is_empty() {
        attributes
            .insert(Attribute::try_from(ExtensionReq(exts)).unwrap())
            .unwrap();
    }
    let info = CertReqInfo {
        version: Version::V1,
        subject: Name::from_str(subject).unwrap(),
        public_key: SubjectPublicKeyInfoOwned::from_der(key.public_key_spki_der()).unwrap(),
        attributes,
    };
    let alg = key.default_algorithm();
    let signature = key.sign(alg, &info.to_der().unwrap()).unwrap();
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der()).unwrap(),
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn good_csr() -> Vec<u8> {
    csr(
        pki().rsa_device.as_ref(),
        "CN=dev1,O=Org",
        vec![dns_san(&["Dev1.Corp.Example"])],
    )
}

struct StatementSpec<'a> {
    csr: Vec<u8>,
    template: &'a str,
    binding: Option<StatementBinding>,
    requester: Option<RequesterFacts>,
    csr_validated_by: Option<String>,
    approved_at: i64,
    not_after: i64,
    signer: &'a dyn Signer,
    cert: &'a [u8],
}

impl<'a> StatementSpec<'a> {
    fn new(csr: Vec<u8>) -> Self {
        let t = now();
        StatementSpec {
            csr,
            template: "device",
            binding: None,
            requester: None,
            csr_validated_by: None,
            approved_at: t,
            not_after: t + 300,
            signer: pki().ra_key.as_ref(),
            cert: &pki().ra_cert,
        }
    }

    fn build(&self) -> Vec<u8> {
        let s = RaStatement {
            csr: self.csr.clone(),
            template: self.template.into(),
            transaction_id: "TX1".into(),
            binding: self.binding.clone(),
            requester: self.requester.clone(),
            csr_validated_by: self.csr_validated_by.clone(),
            approved_at: self.approved_at,
            not_after: self.not_after,
            nonce: keys::random::bytes(16).unwrap(),
        };
        let alg = self.signer.default_algorithm();
        let unsigned = prepare_statement(
            &s,
            self.cert,
            alg.digest().algorithm_identifier_der(),
            alg.algorithm_identifier_der(),
        )
        .unwrap();
        let signature = self
            .signer
            .sign(alg, unsigned.signed_attributes_der())
            .unwrap();
        unsigned.finish(signature).unwrap()
    }
}

fn rejection(result: Result<crate::VerifiedStatement, CaError>) -> StatementRejection {
    match result {
        Err(CaError::StatementRejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn issue(csr: Vec<u8>) -> Result<crate::IssuedCertificate, CaError> {
    issue_with(StatementSpec::new(csr))
}

fn issue_with(spec: StatementSpec<'_>) -> Result<crate::IssuedCertificate, CaError> {
    let ca = ca();
    let t = now();
    let verified = ca.verify_statement(&spec.build(), t).unwrap();
    ca.issue(verified, t)
}

fn extension<'a, T: Decode<'a> + const_oid::AssociatedOid>(
    cert: &'a Certificate,
) -> Option<(bool, T)> {
    cert.tbs_certificate().get_extension::<T>().unwrap()
}

// ---------------------------------------------------------------- openssl

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("openssl CLI not found: skipping the openssl cross-check");
    }
    ok
}

fn pem_file(dir: &std::path::Path, name: &str, der: &[u8]) -> std::path::PathBuf {
    let der_path = dir.join(format!("{name}.der"));
    let pem_path = dir.join(format!("{name}.pem"));
    std::fs::write(&der_path, der).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&der_path)
        .arg("-out")
        .arg(&pem_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pem_path
}

fn openssl_verify(ca: &[u8], cert: &[u8], purpose: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca = pem_file(dir.path(), "ca", ca);
    let cert = pem_file(dir.path(), "cert", cert);
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CAfile").arg(&ca);
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    let out = cmd.arg(&cert).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn openssl_text(cert: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.der");
    std::fs::write(&path, cert).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dev_certificates_verify_with_openssl_and_show_their_extensions() {
    if !openssl_available() {
        return;
    }
    let p = pki();
    let (ok, msg) = openssl_verify(&p.ca_cert, &p.ca_cert, None);
    assert!(ok, "CA: {msg}");
    let text = openssl_text(&p.ca_cert);
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(
        text.contains("Digital Signature, Certificate Sign, CRL Sign"),
        "{text}"
    );
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");

    let (ok, msg) = openssl_verify(&p.ca_cert, &p.ra_cert, None);
    assert!(ok, "RA enrollment agent: {msg}");
    let text = openssl_text(&p.ra_cert);
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(
        text.contains("1.3.6.1.4.1.311.20.2.1") || text.contains("Certificate Request Agent"),
        "{text}"
    );
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");

    let (ok, msg) = openssl_verify(&p.ca_cert, &p.ra_encryption_cert, None);
    assert!(ok, "RA encryption: {msg}");
    let text = openssl_text(&p.ra_encryption_cert);
    assert!(text.contains("Key Encipherment"), "{text}");
    assert!(!text.contains("Data Encipherment"), "{text}");
    assert!(!text.contains("Digital Signature"), "{text}");
    assert!(!text.contains("Extended Key Usage"), "{text}");

    // An RA certificate of the other CA does not chain to ours.
    let (ok, _) = openssl_verify(&p.ca_cert, &p.ra_cert_other_ca, None);
    assert!(!ok);
    let (ok, msg) = openssl_verify(&p.other_ca_cert, &p.ra_cert_other_ca, None);
    assert!(ok, "{msg}");
}

/// The purposes OpenSSL checks (`openssl verify -purpose`, and `openssl cms -verify`, whose
/// default is smimesign) decide which RA certificate may sign what: the reply signer passes
/// S/MIME signing and is no TLS client; the enrollment agent never signs for devices.
#[test]
fn ra_certificate_profiles_fit_their_jobs_for_openssl() {
    if !openssl_available() {
        return;
    }
    let p = pki();
    let issue = |purpose| {
        issue_ra_at(
            p.ca_key.as_ref(),
            &p.ca_cert,
            p.ra_key.public_key_spki_der(),
            "scepd RA",
            purpose,
            30,
            now(),
        )
        .unwrap()
    };
    let verifies = |cert: &[u8], purpose| openssl_verify(&p.ca_cert, cert, Some(purpose));

    let signing = issue(RaCertPurpose::Signing);
    let (ok, msg) = verifies(&signing, "smimesign");
    assert!(ok, "reply signer as S/MIME signer: {msg}");
    assert!(
        !verifies(&signing, "sslclient").0,
        "reply signer as TLS client"
    );
    assert!(
        !verifies(&signing, "sslserver").0,
        "reply signer as TLS server"
    );
    let text = openssl_text(&signing);
    assert!(text.contains("E-mail Protection"), "{text}");
    assert!(!text.contains("1.3.6.1.4.1.311.20.2.1"), "{text}");

    let combined = issue(RaCertPurpose::SigningAndAgent);
    let (ok, msg) = verifies(&combined, "smimesign");
    assert!(ok, "legacy combined signer as S/MIME signer: {msg}");
    assert!(!verifies(&combined, "sslclient").0);
    let text = openssl_text(&combined);
    assert!(text.contains("1.3.6.1.4.1.311.20.2.1"), "{text}");

    let agent = issue(RaCertPurpose::Agent);
    assert!(!verifies(&agent, "smimesign").0, "agent as S/MIME signer");
    assert!(!verifies(&agent, "sslclient").0, "agent as TLS client");
}

#[test]
fn issued_certificate_verifies_with_openssl_as_a_client_certificate() {
    if !openssl_available() {
        return;
    }
    let issued = issue(good_csr()).unwrap();
    let (ok, msg) = openssl_verify(&pki().ca_cert, &issued.der, Some("sslclient"));
    assert!(ok, "{msg}");
    // Not usable as a TLS server certificate (ESC17).
    let (ok, _) = openssl_verify(&pki().ca_cert, &issued.der, Some("sslserver"));
    assert!(!ok);
    let text = openssl_text(&issued.der);
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(!text.contains("TLS Web Server Authentication"), "{text}");
    assert!(text.contains("DNS:dev1.corp.example"), "{text}");
    assert!(
        text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
}

// ---------------------------------------------------------------- construction

#[test]
fn dev_functions_use_the_system_clock() {
    let p = pki();
    let ra = issue_ra_certificate(
        p.ca_key.as_ref(),
        &p.ca_cert,
        p.ra_key.public_key_spki_der(),
        "ra",
        RaCertPurpose::Signing,
        10,
    )
    .unwrap();
    let cert = Certificate::from_der(&ra).unwrap();
    let nb = cert
        .tbs_certificate()
        .validity()
        .not_before
        .to_unix_duration()
        .as_secs() as i64;
    assert!((now() - 300 - nb).abs() < 60);
    assert!(crate::dev::self_signed_ca(p.ca_key.as_ref(), "x", 1).is_ok());
}

#[test]
fn bad_alg_classification() {
    let point_facts = policy::RequestFacts {
        public_key: policy::PublicKeyFacts::Ec {
            curve_oid: "1.3.132.0.10".into(),
        },
        ..Default::default()
    };
    let policy::Decision::Refuse(r) = policy::decide(&point_facts, &Template::device(), None)
    else {
        panic!("issued")
    };
    assert!(CaError::Refused(r).is_bad_alg());
    let r = refused(issue(csr(
        pki().rsa_device.as_ref(),
        "CN=dev1",
        vec![ext(
            "2.5.29.19",
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )],
    )));
    assert!(!CaError::Refused(r).is_bad_alg());
    assert!(
        CaError::CsrSignature(keys::VerifyError::UnsupportedAlgorithm("md5".into())).is_bad_alg()
    );
    assert!(!CaError::CsrSignature(keys::VerifyError::BadSignature).is_bad_alg());
}

#[test]
fn ca_refuses_a_key_that_is_not_its_certificates() {
    let p = pki();
    let err = Ca::new(p.ra_key.clone(), p.ca_cert.clone(), vec![], vec![]).unwrap_err();
    assert!(
        matches!(err, CaError::WrongRole(KeyRole::RaSigning)),
        "{err}"
    );
    let other = signer(
        SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap(),
        KeyRole::CaSigning,
    );
    let err = Ca::new(other, p.ca_cert.clone(), vec![], vec![]).unwrap_err();
    assert!(matches!(err, CaError::Certificate(_)), "{err}");
    // An RA certificate is not a CA certificate.
    let err = Ca::new(p.ca_key.clone(), p.ra_cert.clone(), vec![], vec![]).unwrap_err();
    assert!(matches!(err, CaError::Certificate(_)), "{err}");
    let err = Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![Template::device(), Template::device()],
        vec![],
    )
    .unwrap_err();
    assert!(matches!(err, CaError::DuplicateTemplate(_)), "{err}");
}

// ---------------------------------------------------------------- statements

#[test]
fn statement_round_trip_verifies() {
    let spec = StatementSpec::new(good_csr());
    let verified = ca().verify_statement(&spec.build(), now()).unwrap();
    assert_eq!(verified.statement().csr, spec.csr);
    assert_eq!(verified.statement().template, "device");
    assert_eq!(verified.ra_certificate_der(), pki().ra_cert);
}

#[test]
fn version_2_statement_verifies_with_the_requester_facts_and_version_1_still_does() {
    let facts = RequesterFacts {
        certificate_sha256: [0x42; 32],
        challenge_id: Some("0123456789abcdef".into()),
        source: Some("192.0.2.7".into()),
    };
    let mut spec = StatementSpec::new(good_csr());
    spec.requester = Some(facts.clone());
    let verified = ca().verify_statement(&spec.build(), now()).unwrap();
    assert_eq!(verified.statement().version(), 2);
    assert_eq!(verified.statement().requester.as_ref(), Some(&facts));
    let cert = ca().issue(verified, now()).unwrap();
    assert_eq!(cert.template, "device");
    // An RA that still sends version 1 is answered.
    let v1 = StatementSpec::new(good_csr());
    let verified = ca().verify_statement(&v1.build(), now()).unwrap();
    assert_eq!(verified.statement().version(), 1);
    assert!(verified.statement().requester.is_none());
}

#[test]
fn tampered_signature_rejected() {
    let mut der = StatementSpec::new(good_csr()).build();
    // The signature is the last OCTET STRING of the SignerInfo, at the end of the message.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(matches!(
        rejection(ca().verify_statement(&der, now())),
        StatementRejection::Signature(_)
    ));
}

#[test]
fn csr_changed_after_approval_rejected() {
    // Catalogue F3: the CSR inside the signed statement is edited (CN=dev1 -> CN=dev2).
    let mut der = StatementSpec::new(good_csr()).build();
    let pos = der
        .windows(4)
        .position(|w| w == b"dev1")
        .expect("CN in the statement");
    der[pos + 3] = b'2';
    assert!(matches!(
        rejection(ca().verify_statement(&der, now())),
        StatementRejection::MessageDigest
    ));
}

#[test]
fn statement_signed_by_another_key_rejected() {
    // Signed by the CA key but naming the RA certificate.
    let mut spec = StatementSpec::new(good_csr());
    spec.signer = pki().ec_device.as_ref();
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), now())),
        StatementRejection::Signature(_)
    ));
}

#[test]
fn ra_certificate_without_the_agent_eku_rejected() {
    let mut spec = StatementSpec::new(good_csr());
    spec.cert = &pki().ra_cert_without_eku;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), now())),
        StatementRejection::NotEnrollmentAgent
    ));
}

#[test]
fn ra_certificate_from_another_ca_rejected() {
    let mut spec = StatementSpec::new(good_csr());
    spec.cert = &pki().ra_cert_other_ca;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), now())),
        StatementRejection::NotIssuedByCa
    ));
}

#[test]
fn ra_certificate_not_allow_listed_rejected() {
    let p = pki();
    let ca = Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![Template::device()],
        vec![p.ra_cert_without_eku.clone()],
    )
    .unwrap();
    let der = StatementSpec::new(good_csr()).build();
    assert!(matches!(
        rejection(ca.verify_statement(&der, now())),
        StatementRejection::NotAllowListed
    ));
}

#[test]
fn ra_certificate_outside_its_validity_rejected() {
    let t = now() + 400 * 86_400;
    let mut spec = StatementSpec::new(good_csr());
    spec.approved_at = t;
    spec.not_after = t + 300;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), t)),
        StatementRejection::RaCertificateValidity
    ));
}

#[test]
fn stale_future_and_long_lived_statements_rejected() {
    let t = now();
    let mut spec = StatementSpec::new(good_csr());
    spec.approved_at = t - 700;
    spec.not_after = t - 100;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), t)),
        StatementRejection::Expired
    ));
    spec.approved_at = t + 120;
    spec.not_after = t + 300;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), t)),
        StatementRejection::NotYetValid
    ));
    spec.approved_at = t;
    spec.not_after = t + 601;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), t)),
        StatementRejection::LifetimeTooLong
    ));
    spec.approved_at = t + 30;
    spec.not_after = t + 10;
    assert!(matches!(
        rejection(ca().verify_statement(&spec.build(), t)),
        StatementRejection::LifetimeTooLong
    ));
    // The edges are accepted.
    spec.approved_at = t + 60;
    spec.not_after = t + 660;
    assert!(ca().verify_statement(&spec.build(), t).is_ok());
}

#[test]
fn garbage_statement_rejected() {
    assert!(matches!(
        rejection(ca().verify_statement(b"\x30\x03\x02\x01\x01", now())),
        StatementRejection::Malformed(_)
    ));
}

// ---------------------------------------------------------------- issuance

#[test]
fn issued_certificate_follows_the_device_template() {
    let p = pki();
    let t = now();
    let ca = ca();
    let verified = ca
        .verify_statement(&StatementSpec::new(good_csr()).build(), t)
        .unwrap();
    let issued = ca.issue(verified, t).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    let tbs = cert.tbs_certificate();

    assert_eq!(issued.template, "device");
    assert_eq!(issued.subject, "CN=dev1,O=Org");
    assert_eq!(tbs.subject().to_string(), "CN=dev1,O=Org");
    assert_eq!(
        tbs.subject_public_key_info().to_der().unwrap(),
        p.rsa_device.public_key_spki_der()
    );
    assert_eq!(
        tbs.issuer().to_der().unwrap(),
        Certificate::from_der(&p.ca_cert)
            .unwrap()
            .tbs_certificate()
            .subject()
            .to_der()
            .unwrap()
    );

    // Serial: 16 octets, positive.
    let serial = tbs.serial_number().as_bytes();
    assert_eq!(serial.len(), 16);
    assert!(serial[0] & 0x80 == 0 && serial[0] != 0);
    assert_eq!(issued.serial_hex.len(), 32);

    // Validity: 365 days from now, notBefore 5 minutes back.
    let nb = tbs.validity().not_before.to_unix_duration().as_secs() as i64;
    let na = tbs.validity().not_after.to_unix_duration().as_secs() as i64;
    assert_eq!(nb, t - 300);
    assert_eq!(na, t + 365 * 86_400);
    assert_eq!((issued.not_before, issued.not_after), (nb, na));

    // Extensions: exactly these, nothing copied.
    let oids: Vec<String> = tbs
        .extensions()
        .unwrap()
        .iter()
        .map(|e| e.extn_id.to_string())
        .collect();
    assert_eq!(
        oids,
        [
            "2.5.29.19",
            "2.5.29.15",
            "2.5.29.37",
            "2.5.29.17",
            "2.5.29.14",
            "2.5.29.35"
        ]
    );
    let (critical, bc) = extension::<BasicConstraints>(&cert).unwrap();
    assert!(critical && !bc.ca && bc.path_len_constraint.is_none());
    let ku = tbs
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.15")
        .unwrap();
    assert!(ku.critical);
    assert_eq!(ku.extn_value.as_bytes(), [0x03, 0x02, 0x05, 0xa0]);
    let (_, eku) = extension::<ExtendedKeyUsage>(&cert).unwrap();
    assert_eq!(eku.0, [oid("1.3.6.1.5.5.7.3.2")]);
    let (critical, san) = extension::<SubjectAltName>(&cert).unwrap();
    assert!(!critical);
    assert_eq!(
        san.0,
        [GeneralName::DnsName(
            Ia5String::new("dev1.corp.example").unwrap()
        )]
    );
    let (_, ski) = extension::<SubjectKeyIdentifier>(&cert).unwrap();
    assert_eq!(ski.0.as_bytes().len(), 20);
    let (_, aki) = extension::<AuthorityKeyIdentifier>(&cert).unwrap();
    let ca_cert = Certificate::from_der(&p.ca_cert).unwrap();
    let (_, ca_ski) = extension::<SubjectKeyIdentifier>(&ca_cert).unwrap();
    assert_eq!(aki.key_identifier.unwrap(), ca_ski.0);

    // Signed by the CA key.
    let parsed = crate::x509::ParsedCertificate::from_der(&issued.der).unwrap();
    parsed
        .verify_signed_by(p.ca_key.public_key_spki_der())
        .unwrap();
}

#[test]
fn ec_device_gets_digital_signature_only() {
    let issued = issue(csr(pki().ec_device.as_ref(), "CN=ec1", vec![])).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    let ku = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.15")
        .unwrap();
    assert_eq!(ku.extn_value.as_bytes(), [0x03, 0x02, 0x07, 0x80]);
    // No SAN requested, none issued.
    assert!(extension::<SubjectAltName>(&cert).is_none());
}

#[test]
fn validity_is_capped_at_the_ca_not_after() {
    let p = pki();
    let t = now();
    let short_ca = self_signed_ca(p.ca_key.as_ref(), "short CA", 30, t).unwrap();
    let ra_cert = issue_ra_at(
        p.ca_key.as_ref(),
        &short_ca,
        p.ra_key.public_key_spki_der(),
        "ra",
        RaCertPurpose::Agent,
        365,
        t,
    )
    .unwrap();
    let ca = Ca::new(
        p.ca_key.clone(),
        short_ca,
        vec![Template::device()],
        vec![ra_cert.clone()],
    )
    .unwrap();
    let mut spec = StatementSpec::new(good_csr());
    spec.cert = &ra_cert;
    let issued = ca
        .issue(ca.verify_statement(&spec.build(), t).unwrap(), t)
        .unwrap();
    assert_eq!(issued.not_after, t + 30 * 86_400);
}

fn refused(result: Result<crate::IssuedCertificate, CaError>) -> policy::Refusal {
    match result {
        Err(CaError::Refused(r)) => r,
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

#[test]
fn ra_approval_never_widens_the_template() {
    // Catalogue F5: each of these is signed by a valid RA and still refused by the CA.
    let key = pki().rsa_device.as_ref();
    let bc = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    let r = refused(issue(csr(key, "CN=dev1", vec![ext("2.5.29.19", &bc)])));
    assert_eq!(r.reason, policy::RefusalReason::CaRequested);

    for eku in ["2.5.29.37.0", "1.3.6.1.5.5.7.3.1", "1.3.6.1.4.1.311.20.2.1"] {
        let e = ext("2.5.29.37", &ExtendedKeyUsage(vec![oid(eku)]));
        let r = refused(issue(csr(key, "CN=dev1", vec![e])));
        assert!(
            matches!(
                r.reason,
                policy::RefusalReason::ExtendedKeyUsageNotAllowed { .. }
            ),
            "{eku}: {r}"
        );
    }

    let upn = SubjectAltName(vec![GeneralName::OtherName(OtherName {
        type_id: oid("1.3.6.1.4.1.311.20.2.3"),
        value: Any::encode_from(&Utf8StringRef::new("administrator@corp").unwrap()).unwrap(),
    })]);
    let r = refused(issue(csr(key, "CN=dev1", vec![ext("2.5.29.17", &upn)])));
    assert!(matches!(
        r.reason,
        policy::RefusalReason::SanKindNotAllowed { .. }
    ));

    // ESC15: application policies.
    let app = ext(
        "1.3.6.1.4.1.311.21.10",
        &ExtendedKeyUsage(vec![oid("1.3.6.1.5.5.7.3.2")]),
    );
    let r = refused(issue(csr(key, "CN=dev1", vec![app])));
    assert!(matches!(
        r.reason,
        policy::RefusalReason::ExtensionNotAllowed { .. }
    ));
}

#[test]
fn binding_is_enforced_again_at_the_ca() {
    let mut spec = StatementSpec::new(csr(
        pki().rsa_device.as_ref(),
        "CN=dev1",
        vec![dns_san(&["dev1.corp.example", "dc01.corp.example"])],
    ));
    spec.binding = Some(StatementBinding {
        subject: Some("CN=dev1".into()),
        sans: vec!["dns:dev1.corp.example".into()],
    });
    let r = refused(issue_with(spec));
    assert!(
        r.to_string().contains("name not authorized by challenge"),
        "{r}"
    );
}

#[test]
fn csr_with_bad_self_signature_refused() {
    let mut der = good_csr();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(matches!(issue(der), Err(CaError::CsrSignature(_))));
}

#[test]
fn unknown_template_refused() {
    let mut spec = StatementSpec::new(good_csr());
    spec.template = "subca";
    assert!(matches!(
        issue_with(spec),
        Err(CaError::UnknownTemplate(t)) if t == "subca"
    ));
}

#[test]
fn a_thousand_issued_serials_are_unique() {
    let ca = ca();
    let t = now();
    let csr = csr(pki().ec_device.as_ref(), "CN=many", vec![]);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let verified = ca
            .verify_statement(&StatementSpec::new(csr.clone()).build(), t)
            .unwrap();
        let issued = ca.issue(verified, t).unwrap();
        assert!(seen.insert(issued.serial_hex));
    }
}

mod distribution;
mod lifecycle;
mod vouched;
