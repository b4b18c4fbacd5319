//! Key ceremony, import, fingerprints and rollover, cross-checked with openssl.

use super::*;

use crate::import::{check_ca, check_ca_with_chain, check_ca_with_chain_at};
use crate::rollover::{next_ca_at, ra_certificate_expiry};
use crate::x509::{CertificateDraft, ParsedCertificate};
use crate::{CaProfile, ImportRejection, IssuedCertificate, fingerprint_sha256};

const DAY: i64 = 86_400;

fn ec_ca_key(p384: bool) -> Arc<dyn Signer> {
    let k = if p384 {
        SoftwareKey::generate_ec_p384(KeyRole::CaSigning)
    } else {
        SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
    };
    signer(k.unwrap(), KeyRole::CaSigning)
}

/// A CA with its own RA signing certificate, ready to take statements.
struct TestCa {
    key: Arc<dyn Signer>,
    cert: Vec<u8>,
    ra_cert: Vec<u8>,
}

impl TestCa {
    fn new(key: Arc<dyn Signer>, cert: Vec<u8>) -> TestCa {
        let ra_cert = issue_ra_at(
            key.as_ref(),
            &cert,
            pki().ra_key.public_key_spki_der(),
            "scepd RA",
            RaCertPurpose::Agent,
            365,
            now(),
        )
        .unwrap();
        TestCa { key, cert, ra_cert }
    }

    fn authority(&self, templates: Vec<Template>) -> Ca {
        Ca::new(
            self.key.clone(),
            self.cert.clone(),
            templates,
            vec![self.ra_cert.clone()],
        )
        .unwrap()
    }

    fn issue(&self, ca: &Ca, csr: Vec<u8>, template: &str) -> Result<IssuedCertificate, CaError> {
        let mut spec = StatementSpec::new(csr);
        spec.template = template;
        spec.cert = &self.ra_cert;
        let verified = ca.verify_statement(&spec.build(), now()).unwrap();
        ca.issue(verified, now())
    }
}

fn device_csr(names: &[&str]) -> Vec<u8> {
    csr(pki().ec_device.as_ref(), "CN=dev1", vec![dns_san(names)])
}

fn server_template() -> Template {
    let mut spec = Template::device().spec().clone();
    spec.name = "server".into();
    spec.extended_key_usages = vec![policy::oid::EKU_SERVER_AUTH.into()];
    // A serverAuth template must confine its names (ESC17): the CN too.
    spec.san_rules.dns_domains = vec!["example.net".into()];
    Template::new(spec).unwrap()
}

/// `openssl verify -CAfile <trusted…> -untrusted <untrusted…> [-purpose p] leaf`.
fn verify_chain(
    trusted: &[&[u8]],
    untrusted: &[&[u8]],
    leaf: &[u8],
    purpose: Option<&str>,
) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = |name: &str, certs: &[&[u8]]| {
        let mut pem = Vec::new();
        for (i, c) in certs.iter().enumerate() {
            pem.extend(std::fs::read(pem_file(dir.path(), &format!("{name}{i}"), c)).unwrap());
        }
        let path = dir.path().join(format!("{name}.pem"));
        std::fs::write(&path, pem).unwrap();
        path
    };
    let mut cmd = Command::new("openssl");
    cmd.arg("verify")
        .arg("-CAfile")
        .arg(bundle("trusted", trusted));
    if !untrusted.is_empty() {
        cmd.arg("-untrusted").arg(bundle("untrusted", untrusted));
    }
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    let out = cmd
        .arg(pem_file(dir.path(), "leaf", leaf))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn outside(result: Result<IssuedCertificate, CaError>) -> String {
    match result {
        Err(CaError::OutsideCaConstraints(m)) => m,
        other => panic!("expected OutsideCaConstraints, got {other:?}"),
    }
}

fn import_rejection(result: Result<crate::import::ImportedCa, CaError>) -> ImportRejection {
    match result {
        Err(CaError::Import(r)) => r,
        other => panic!("expected an import rejection, got {other:?}"),
    }
}

// ---------------------------------------------------------------- profile

#[test]
fn profile_parses_a_full_distinguished_name() {
    let p = CaProfile::new("CN=scepd CA,O=Example,C=DE", 3650).unwrap();
    assert_eq!(p.subject(), "CN=scepd CA,O=Example,C=DE");
    let name = x509_cert::name::Name::from_der(p.subject_der()).unwrap();
    // RFC 4514 writes the last RDN first: the DER starts with C.
    let first = name.iter().next().unwrap();
    assert_eq!(first.oid.to_string(), "2.5.4.6");
    for bad in ["", "scepd CA", "CN=", "XX=foo", "CN=a,,O=b"] {
        assert!(
            matches!(CaProfile::new(bad, 10), Err(CaError::Profile(_))),
            "{bad:?}"
        );
    }
    assert!(CaProfile::new("CN=x", 0).is_err());
    assert!(
        CaProfile::new("CN=x", 1)
            .unwrap()
            .permit_dns("a b")
            .is_err()
    );
    assert!(
        CaProfile::new("CN=x", 1)
            .unwrap()
            .eku_constraint(&[policy::oid::EKU_ANY])
            .is_err()
    );
}

#[test]
fn profile_refuses_weak_or_misassigned_ca_keys() {
    let profile = CaProfile::new("CN=scepd CA", 10).unwrap();
    // RSA-2048 is allowed (the fast option of issue 7) but below the recommendation: the
    // profile signs with it and the warning `scepd doctor` shows names the size.
    let rsa2048 = pki().ca_key.clone();
    assert_eq!(
        crate::profile::rsa_modulus_bits(rsa2048.public_key_spki_der()),
        Some(2048)
    );
    let warning = crate::profile::ca_key_strength_warning(rsa2048.public_key_spki_der()).unwrap();
    assert!(
        warning.contains("RSA-2048") && warning.contains("3072"),
        "{warning}"
    );
    let cert = profile.self_signed(rsa2048.as_ref()).unwrap();
    assert!(Ca::new(rsa2048, cert, vec![Template::device()], vec![]).is_ok());
    let ra = pki().ra_key.as_ref();
    assert!(matches!(
        profile.self_signed(ra),
        Err(CaError::WrongRole(KeyRole::RaSigning))
    ));
    let rsa3072 = signer(
        SoftwareKey::generate_rsa(KeyRole::CaSigning, 3072).unwrap(),
        KeyRole::CaSigning,
    );
    assert_eq!(
        crate::profile::ca_key_strength_warning(rsa3072.public_key_spki_der()),
        None
    );
    let cert = profile.self_signed(rsa3072.as_ref()).unwrap();
    assert!(Ca::new(rsa3072, cert, vec![Template::device()], vec![]).is_ok());
}

#[test]
fn ec_p256_and_p384_cas_issue_certificates_openssl_accepts() {
    for p384 in [false, true] {
        let key = ec_ca_key(p384);
        let cert = CaProfile::new("CN=scepd EC CA,O=Example", 3650)
            .unwrap()
            .self_signed(key.as_ref())
            .unwrap();
        let t = TestCa::new(key, cert);
        let ca = t.authority(vec![Template::device()]);
        let issued = t
            .issue(&ca, device_csr(&["host.example.net"]), "device")
            .unwrap();
        if !openssl_available() {
            continue;
        }
        let text = openssl_text(&t.cert);
        let sig = if p384 {
            "ecdsa-with-SHA384"
        } else {
            "ecdsa-with-SHA256"
        };
        assert!(text.contains(sig), "{text}");
        assert!(
            text.contains("Subject: O = Example, CN = scepd EC CA"),
            "{text}"
        );
        assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
        assert!(
            text.contains("Digital Signature, Certificate Sign, CRL Sign"),
            "{text}"
        );
        let (ok, msg) = verify_chain(&[&t.cert], &[], &issued.der, Some("sslclient"));
        assert!(ok, "P-384={p384}: {msg}");
        let (ok, msg) = verify_chain(&[&t.cert], &[], &t.ra_cert, None);
        assert!(ok, "{msg}");
    }
}

// ---------------------------------------------------------------- constraints

#[test]
fn name_and_eku_constrained_ca() {
    let key = ec_ca_key(false);
    let cert = CaProfile::new("CN=scepd SCEP CA,O=Example", 3650)
        .unwrap()
        .permit_dns("example.net")
        .unwrap()
        .client_auth_only()
        .self_signed(key.as_ref())
        .unwrap();
    let t = TestCa::new(key, cert);
    let ca = t.authority(vec![Template::device(), server_template()]);

    let m = outside(t.issue(&ca, device_csr(&["evil.com"]), "device"));
    assert!(m.contains("evil.com") && m.contains("permitted"), "{m}");
    let m = outside(t.issue(
        &ca,
        device_csr(&["host.example.net", "badexample.net"]),
        "device",
    ));
    assert!(m.contains("badexample.net"), "{m}");
    // A host name in the CN is checked too (OpenSSL does when there is no DNS SAN).
    let cn_only = csr(pki().ec_device.as_ref(), "CN=evil.com", vec![]);
    let m = outside(t.issue(&ca, cn_only, "device"));
    assert!(m.contains("evil.com"), "{m}");
    // The EKU constraint: a serverAuth template cannot issue under a clientAuth-only CA.
    let server_csr = csr(
        pki().ec_device.as_ref(),
        "CN=host.example.net",
        vec![dns_san(&["host.example.net"])],
    );
    let m = outside(t.issue(&ca, server_csr, "server"));
    assert!(m.contains(policy::oid::EKU_SERVER_AUTH), "{m}");

    let issued = t
        .issue(
            &ca,
            device_csr(&["host.example.net", "example.net"]),
            "device",
        )
        .unwrap();
    if !openssl_available() {
        return;
    }
    let text = openssl_text(&t.cert);
    assert!(text.contains("X509v3 Name Constraints: critical"), "{text}");
    assert!(text.contains("DNS:example.net"), "{text}");
    assert!(text.contains("X509v3 Extended Key Usage"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(!text.contains("TLS Web Server Authentication"), "{text}");
    let (ok, msg) = verify_chain(&[&t.cert], &[], &issued.der, Some("sslclient"));
    assert!(ok, "{msg}");
}

/// What the refusal protects against: openssl rejects a certificate outside the CA's name
/// constraints, so signing one would only hand the device something useless.
#[test]
fn openssl_rejects_what_the_constrained_ca_refuses() {
    if !openssl_available() {
        return;
    }
    let key = ec_ca_key(false);
    let profile = CaProfile::new("CN=constrained", 365)
        .unwrap()
        .permit_dns(".example.net")
        .unwrap();
    let cert = profile.self_signed(key.as_ref()).unwrap();
    let ca = ParsedCertificate::from_der(&cert).unwrap();
    let ski = ca.subject_key_identifier().unwrap();
    let device = pki().ec_device.public_key_spki_der();
    let leaf = CertificateDraft {
        serial: &[1],
        issuer_der: profile.subject_der(),
        subject_der: &crate::parse_dn("CN=dev1").unwrap(),
        spki_der: device,
        not_before: now() - 60,
        not_after: now() + DAY,
        extensions: vec![
            crate::extensions::basic_constraints(false, None).unwrap(),
            crate::extensions::subject_alt_name(
                &crate::extensions::SanNames {
                    dns_names: &["evil.com".into()],
                    ..Default::default()
                },
                false,
            )
            .unwrap()
            .unwrap(),
            crate::extensions::authority_key_identifier(&ski).unwrap(),
        ],
    }
    .sign(key.as_ref())
    .unwrap();
    let (ok, msg) = verify_chain(&[&cert], &[], &leaf, None);
    assert!(!ok);
    assert!(msg.contains("permitted subtree violation"), "{msg}");
}

#[test]
fn ra_certificate_names_must_fit_the_name_constraints() {
    let key = ec_ca_key(false);
    let cert = CaProfile::new("CN=c", 365)
        .unwrap()
        .permit_dns("example.net")
        .unwrap()
        .self_signed(key.as_ref())
        .unwrap();
    let spki = pki().ra_key.public_key_spki_der();
    let ra = |cn| {
        crate::dev::issue_ra_certificate(key.as_ref(), &cert, spki, cn, RaCertPurpose::Signing, 10)
    };
    assert!(matches!(
        ra("ra.evil.com"),
        Err(CaError::OutsideCaConstraints(_))
    ));
    assert!(ra("ra.example.net").is_ok());
    assert!(ra("scepd RA").is_ok());
}

// ---------------------------------------------------------------- fingerprints

#[test]
fn fingerprint_matches_openssl() {
    let fp = fingerprint_sha256(&pki().ca_cert);
    assert_eq!(fp.len(), 95);
    assert!(
        fp.chars()
            .all(|c| c == ':' || c.is_ascii_digit() || ('A'..='F').contains(&c))
    );
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = pem_file(dir.path(), "ca", &pki().ca_cert);
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim().rsplit('=').next().unwrap(), fp, "{text}");
}

// ---------------------------------------------------------------- import

/// A CA certificate made by hand, for shapes the profile never produces.
fn handmade(
    key: &dyn Signer,
    issuer_key: &dyn Signer,
    subject: &str,
    issuer: &str,
    extensions: Vec<Extension>,
    not_after: i64,
) -> Vec<u8> {
    CertificateDraft {
        serial: &[7],
        issuer_der: &crate::parse_dn(issuer).unwrap(),
        subject_der: &crate::parse_dn(subject).unwrap(),
        spki_der: key.public_key_spki_der(),
        not_before: now() - DAY,
        not_after,
        extensions,
    }
    .sign(issuer_key)
    .unwrap()
}

#[test]
fn import_accepts_a_good_ca_in_der_or_pem() {
    let key = ec_ca_key(true);
    let cert = CaProfile::new("CN=existing CA,O=Example", 3650)
        .unwrap()
        .self_signed(key.as_ref())
        .unwrap();
    let imported = check_ca(&cert, key.as_ref()).unwrap();
    assert!(imported.self_signed);
    assert!(imported.chain.is_empty());
    assert_eq!(imported.fingerprint_sha256, fingerprint_sha256(&cert));
    assert_eq!(imported.subject, "CN=existing CA,O=Example");
    assert_eq!(imported.certificate_der, cert);

    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&cert);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    let from_pem = check_ca(pem.as_bytes(), key.as_ref()).unwrap();
    assert_eq!(from_pem.certificate_der, cert);
}

#[test]
fn import_refuses_each_unusable_ca_with_its_own_reason() {
    use policy::key_usage as ku;
    let p = pki();
    let key = ec_ca_key(false);
    let good = CaProfile::new("CN=existing CA", 3650)
        .unwrap()
        .self_signed_at(key.as_ref(), now())
        .unwrap();
    let ski = crate::extensions::subject_key_identifier(key.public_key_spki_der()).unwrap();
    let bc = crate::extensions::basic_constraints(true, Some(0)).unwrap();
    let ku_ca = crate::extensions::key_usage(ku::KEY_CERT_SIGN | ku::CRL_SIGN).unwrap();

    // Not a CA: an end-entity certificate for the very same key.
    let ee = issue_ra_at(
        p.ca_key.as_ref(),
        &p.ca_cert,
        key.public_key_spki_der(),
        "not a ca",
        RaCertPurpose::Signing,
        30,
        now(),
    )
    .unwrap();
    let r = import_rejection(check_ca(&ee, key.as_ref()));
    assert!(matches!(r, ImportRejection::NotCa), "{r}");
    assert!(r.to_string().contains("cA is FALSE"));

    // cA=TRUE but no keyCertSign.
    let no_kcs = handmade(
        key.as_ref(),
        key.as_ref(),
        "CN=x",
        "CN=x",
        vec![
            bc.clone(),
            crate::extensions::key_usage(ku::DIGITAL_SIGNATURE).unwrap(),
            ski.clone(),
        ],
        now() + DAY,
    );
    let r = import_rejection(check_ca(&no_kcs, key.as_ref()));
    assert!(matches!(r, ImportRejection::NoKeyCertSign), "{r}");

    // The key of another CA.
    let r = import_rejection(check_ca(&good, p.ca_key.as_ref()));
    assert!(matches!(r, ImportRejection::KeyMismatch), "{r}");
    assert!(r.to_string().contains("subjectPublicKeyInfo"));

    // No subjectKeyIdentifier.
    let no_ski = handmade(
        key.as_ref(),
        key.as_ref(),
        "CN=x",
        "CN=x",
        vec![bc.clone(), ku_ca.clone()],
        now() + DAY,
    );
    let r = import_rejection(check_ca(&no_ski, key.as_ref()));
    assert!(matches!(r, ImportRejection::NoSubjectKeyIdentifier), "{r}");
    assert!(r.to_string().contains("authorityKeyIdentifier"));

    // Expired, and not yet valid.
    let r = import_rejection(check_ca_with_chain_at(
        &good,
        &[],
        key.as_ref(),
        now() + 3651 * DAY,
    ));
    assert!(matches!(r, ImportRejection::Expired { .. }), "{r}");
    assert!(r.to_string().contains("expired"));
    let r = import_rejection(check_ca_with_chain_at(
        &good,
        &[],
        key.as_ref(),
        now() - 2 * DAY,
    ));
    assert!(matches!(r, ImportRejection::NotYetValid { .. }), "{r}");

    // A self-issued certificate whose signature is not its own key's.
    let forged = handmade(
        key.as_ref(),
        p.ca_key.as_ref(),
        "CN=x",
        "CN=x",
        vec![bc, ku_ca, ski],
        now() + DAY,
    );
    let r = import_rejection(check_ca(&forged, key.as_ref()));
    assert!(matches!(r, ImportRejection::BadSelfSignature), "{r}");

    // A key of the wrong role, and garbage.
    let r = import_rejection(check_ca(&good, p.ra_key.as_ref()));
    assert!(matches!(r, ImportRejection::WrongRole(_)), "{r}");
    let r = import_rejection(check_ca(b"not a certificate", key.as_ref()));
    assert!(matches!(r, ImportRejection::DoesNotDecode), "{r}");

    // Each reason reads differently.
    let all = [
        ImportRejection::NotCa,
        ImportRejection::NoKeyCertSign,
        ImportRejection::KeyMismatch,
        ImportRejection::NoSubjectKeyIdentifier,
        ImportRejection::Expired { not_after: 0 },
    ]
    .map(|r| r.to_string());
    for (i, a) in all.iter().enumerate() {
        assert!(all.iter().skip(i + 1).all(|b| b != a));
    }
}

/// An intermediate under an existing root that name-constrains it: the chain is checked on
/// import, served by `ca_certificates`, its constraints enforced, and openssl validates a
/// certificate from the intermediate with the root as the only trust anchor.
#[test]
fn intermediate_ca_under_an_existing_pki() {
    use policy::key_usage as ku;
    let root_key = ec_ca_key(true);
    let inter_key = ec_ca_key(false);
    let root_ski = crate::extensions::key_identifier(root_key.public_key_spki_der()).unwrap();
    let inter_ski = crate::extensions::key_identifier(inter_key.public_key_spki_der()).unwrap();
    let root = handmade(
        root_key.as_ref(),
        root_key.as_ref(),
        "CN=Corp Root,O=Corp",
        "CN=Corp Root,O=Corp",
        vec![
            crate::extensions::basic_constraints(true, Some(1)).unwrap(),
            crate::extensions::key_usage(ku::KEY_CERT_SIGN | ku::CRL_SIGN).unwrap(),
            crate::extensions::subject_key_identifier_value(&root_ski).unwrap(),
            crate::constraints::permitted_dns_extension(&["example.net".into()]).unwrap(),
        ],
        now() + 3650 * DAY,
    );
    let intermediate = handmade(
        inter_key.as_ref(),
        root_key.as_ref(),
        "CN=scepd,O=Corp",
        "CN=Corp Root,O=Corp",
        crate::profile::ca_base_extensions(&inter_ski, Some(&root_ski)).unwrap(),
        now() + 1000 * DAY,
    );

    let imported = check_ca_with_chain(
        &intermediate,
        std::slice::from_ref(&root),
        inter_key.as_ref(),
    )
    .unwrap();
    assert!(!imported.self_signed);
    assert_eq!(imported.chain, vec![root.clone()]);
    // Without its chain an intermediate still imports (the operator may serve it elsewhere).
    assert!(
        !check_ca(&intermediate, inter_key.as_ref())
            .unwrap()
            .self_signed
    );
    // A chain that does not link up.
    let r = import_rejection(check_ca_with_chain(
        &intermediate,
        &[pki().ca_cert.clone()],
        inter_key.as_ref(),
    ));
    assert!(matches!(r, ImportRejection::Chain { index: 0, .. }), "{r}");

    let t = TestCa::new(inter_key, intermediate.clone());
    let ca = t
        .authority(vec![Template::device()])
        .with_chain(imported.chain)
        .unwrap();
    assert_eq!(ca.ca_certificates(), vec![&intermediate[..], &root[..]]);
    // The root's name constraints bind the intermediate too.
    let m = outside(t.issue(&ca, device_csr(&["evil.com"]), "device"));
    assert!(m.contains("Corp Root"), "{m}");
    let issued = t
        .issue(&ca, device_csr(&["host.example.net"]), "device")
        .unwrap();
    if !openssl_available() {
        return;
    }
    let (ok, msg) = verify_chain(&[&root], &[&intermediate], &issued.der, Some("sslclient"));
    assert!(ok, "{msg}");
}

// ---------------------------------------------------------------- RA renewal

#[test]
fn ra_expiry_and_several_trusted_ra_certificates() {
    let p = pki();
    let t = now();
    let old_ra = issue_ra_at(
        p.ca_key.as_ref(),
        &p.ca_cert,
        p.ra_key.public_key_spki_der(),
        "scepd RA",
        RaCertPurpose::Agent,
        30,
        t,
    )
    .unwrap();
    assert_eq!(ra_certificate_expiry(&old_ra).unwrap(), t + 30 * DAY);
    assert!(ra_certificate_expiry(b"junk").is_err());

    // Renewal: a new key, a new certificate; during the transition both are allow-listed.
    let new_key = signer(
        SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
        KeyRole::RaSigning,
    );
    let new_ra = issue_ra_at(
        p.ca_key.as_ref(),
        &p.ca_cert,
        new_key.public_key_spki_der(),
        "scepd RA 2",
        RaCertPurpose::Agent,
        365,
        t,
    )
    .unwrap();
    let ca = Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![Template::device()],
        vec![old_ra.clone(), new_ra.clone()],
    )
    .unwrap();
    let mut old = StatementSpec::new(good_csr());
    old.cert = &old_ra;
    let mut new = StatementSpec::new(good_csr());
    new.cert = &new_ra;
    new.signer = new_key.as_ref();
    for spec in [&old, &new] {
        let v = ca.verify_statement(&spec.build(), t).unwrap();
        assert!(ca.issue(v, t).is_ok());
    }
    // The new certificate with the old key is not accepted.
    let mut mixed = StatementSpec::new(good_csr());
    mixed.cert = &new_ra;
    assert!(matches!(
        rejection(ca.verify_statement(&mixed.build(), t)),
        StatementRejection::Signature(_)
    ));
}

// ---------------------------------------------------------------- CA rollover

#[test]
fn ca_rollover_keeps_both_generations_verifiable() {
    let old_key = ec_ca_key(false);
    let profile = CaProfile::new("CN=scepd CA,O=Example", 3650)
        .unwrap()
        .client_auth_only();
    let t0 = now() - 400 * DAY;
    let old_cert = profile.self_signed_at(old_key.as_ref(), t0).unwrap();
    let old = TestCa::new(old_key.clone(), old_cert.clone());
    let old_ca = old.authority(vec![Template::device()]);
    let old_leaf = old
        .issue(&old_ca, device_csr(&["old.example.net"]), "device")
        .unwrap();

    let new_key = ec_ca_key(true);
    let next = next_ca_at(
        old_key.as_ref(),
        &old_cert,
        new_key.as_ref(),
        &profile,
        now(),
    )
    .unwrap();

    // Refusals: the same key again, a new name, a non-CA key, the wrong current key.
    assert!(matches!(
        next_ca_at(
            old_key.as_ref(),
            &old_cert,
            old_key.as_ref(),
            &profile,
            now()
        ),
        Err(CaError::Rollover(_))
    ));
    let renamed = CaProfile::new("CN=scepd CA 2,O=Example", 3650).unwrap();
    assert!(matches!(
        next_ca_at(
            old_key.as_ref(),
            &old_cert,
            new_key.as_ref(),
            &renamed,
            now()
        ),
        Err(CaError::Rollover(_))
    ));
    assert!(
        next_ca_at(
            old_key.as_ref(),
            &old_cert,
            pki().ra_key.as_ref(),
            &profile,
            now()
        )
        .is_err()
    );
    assert!(
        next_ca_at(
            new_key.as_ref(),
            &old_cert,
            old_key.as_ref(),
            &profile,
            now()
        )
        .is_err()
    );

    // After the switch: the new CA, remembering the old one.
    let new = TestCa::new(new_key.clone(), next.certificate.clone());
    let new_ca = new
        .authority(vec![Template::device()])
        .with_previous(old_cert.clone())
        .unwrap();
    let new_leaf = new
        .issue(&new_ca, device_csr(&["new.example.net"]), "device")
        .unwrap();
    assert!(new_ca.issued_by_us(&new_leaf.der));
    assert!(new_ca.issued_by_us(&old_leaf.der));
    assert!(!new_ca.issued_by_us(&pki().ra_cert));
    assert!(!new_ca.issued_by_us(b"junk"));
    assert_eq!(new_ca.previous_certificates(), vec![&old_cert[..]]);
    let forgetful = new.authority(vec![Template::device()]);
    assert!(!forgetful.issued_by_us(&old_leaf.der));
    assert!(!old_ca.issued_by_us(&new_leaf.der));
    // The old RA certificate, still allow-listed during the transition, is accepted.
    let bridging = Ca::new(
        new_key.clone(),
        next.certificate.clone(),
        vec![Template::device()],
        vec![old.ra_cert.clone(), new.ra_cert.clone()],
    )
    .unwrap()
    .with_previous(old_cert.clone())
    .unwrap();
    let mut spec = StatementSpec::new(good_csr());
    spec.cert = &old.ra_cert;
    assert!(bridging.verify_statement(&spec.build(), now()).is_ok());

    // Validity of the cross certificates: never beyond the old certificate.
    let old_parsed = ParsedCertificate::from_der(&old_cert).unwrap();
    for c in [&next.old_with_new, &next.new_with_old] {
        assert_eq!(
            ParsedCertificate::from_der(c).unwrap().not_after(),
            old_parsed.not_after()
        );
    }
    assert!(
        check_ca(&next.certificate, new_key.as_ref())
            .unwrap()
            .self_signed
    );
    // NewWithOld is an importable CA certificate for the new key, signed by the old one.
    let nwo = check_ca(&next.new_with_old, new_key.as_ref()).unwrap();
    assert!(!nwo.self_signed);

    if !openssl_available() {
        return;
    }
    // A device that still holds only the OLD root validates a certificate from the NEW CA
    // through NewWithOld…
    let (ok, msg) = verify_chain(
        &[&old_cert],
        &[&next.new_with_old],
        &new_leaf.der,
        Some("sslclient"),
    );
    assert!(ok, "old root + NewWithOld: {msg}");
    // …and not without it.
    let (ok, _) = verify_chain(&[&old_cert], &[], &new_leaf.der, None);
    assert!(!ok);
    // A relying party that already holds the NEW root validates the OLD CA's certificates
    // through OldWithNew.
    let (ok, msg) = verify_chain(
        &[&next.certificate],
        &[&next.old_with_new],
        &old_leaf.der,
        Some("sslclient"),
    );
    assert!(ok, "new root + OldWithNew: {msg}");
    let (ok, msg) = verify_chain(&[&next.certificate], &[], &new_leaf.der, Some("sslclient"));
    assert!(ok, "new root: {msg}");
    // Both roots trusted, with every certificate offered: still fine in both directions.
    let all: [&[u8]; 2] = [&next.new_with_old, &next.old_with_new];
    for leaf in [&old_leaf.der, &new_leaf.der] {
        let (ok, msg) = verify_chain(&[&old_cert, &next.certificate], &all, leaf, None);
        assert!(ok, "{msg}");
    }
    let text = openssl_text(&next.new_with_old);
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
}
