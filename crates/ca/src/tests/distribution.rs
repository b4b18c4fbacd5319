//! authorityInfoAccess and cRLDistributionPoints: written from the template's URLs only.

use super::*;

use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};

const CA_ISSUERS: &str = "http://pki.example/scepd-ca.crt";
const OCSP: &str = "http://pki.example/ocsp";
const CRL: &str = "http://pki.example/scepd-ca.crl";

/// The device template with the given URLs.
fn device_with(ca_issuers: Option<&str>, ocsp: Option<&str>, crl: Option<&str>) -> Template {
    let mut spec = Template::device().spec().clone();
    spec.aia_ca_issuers_url = ca_issuers.map(Into::into);
    spec.ocsp_url = ocsp.map(Into::into);
    spec.crl_distribution_url = crl.map(Into::into);
    Template::new(spec).unwrap()
}

fn issue_under(template: Template, csr: Vec<u8>) -> Result<crate::IssuedCertificate, CaError> {
    let p = pki();
    let ca = Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![template],
        vec![p.ra_cert.clone()],
    )
    .unwrap();
    let t = now();
    let verified = ca
        .verify_statement(&StatementSpec::new(csr).build(), t)
        .unwrap();
    ca.issue(verified, t)
}

fn extension_oids(cert: &Certificate) -> Vec<String> {
    cert.tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .map(|e| e.extn_id.to_string())
        .collect()
}

fn uri(s: &str) -> GeneralName {
    GeneralName::UniformResourceIdentifier(Ia5String::new(s).unwrap())
}

const DEVICE_EXTENSIONS: [&str; 6] = [
    "2.5.29.19",
    "2.5.29.15",
    "2.5.29.37",
    "2.5.29.17",
    "2.5.29.14",
    "2.5.29.35",
];

#[test]
fn template_urls_go_into_the_certificate() {
    let template = device_with(Some(CA_ISSUERS), Some(OCSP), Some(CRL));
    let issued = issue_under(template, good_csr()).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();

    // The device extensions unchanged, then AIA and CDP.
    let mut expected = DEVICE_EXTENSIONS.map(String::from).to_vec();
    expected.extend(["1.3.6.1.5.5.7.1.1".into(), "2.5.29.31".into()]);
    assert_eq!(extension_oids(&cert), expected);

    let (critical, aia) = extension::<AuthorityInfoAccessSyntax>(&cert).unwrap();
    assert!(!critical);
    let aia: Vec<(String, GeneralName)> = aia
        .0
        .into_iter()
        .map(|d| (d.access_method.to_string(), d.access_location))
        .collect();
    assert_eq!(
        aia,
        [
            ("1.3.6.1.5.5.7.48.2".to_owned(), uri(CA_ISSUERS)),
            ("1.3.6.1.5.5.7.48.1".to_owned(), uri(OCSP)),
        ]
    );

    let (critical, cdp) = extension::<CrlDistributionPoints>(&cert).unwrap();
    assert!(!critical);
    assert_eq!(cdp.0.len(), 1);
    let point = &cdp.0[0];
    assert_eq!(
        point.distribution_point,
        Some(DistributionPointName::FullName(vec![uri(CRL)]))
    );
    assert!(point.reasons.is_none() && point.crl_issuer.is_none());

    if !openssl_available() {
        return;
    }
    let text = openssl_text(&issued.der);
    assert!(text.contains("Authority Information Access"), "{text}");
    assert!(
        text.contains(&format!("CA Issuers - URI:{CA_ISSUERS}")),
        "{text}"
    );
    assert!(text.contains(&format!("OCSP - URI:{OCSP}")), "{text}");
    assert!(text.contains("X509v3 CRL Distribution Points"), "{text}");
    assert!(text.contains(&format!("URI:{CRL}")), "{text}");
    let (ok, msg) = openssl_verify(&pki().ca_cert, &issued.der, Some("sslclient"));
    assert!(ok, "{msg}");
}

#[test]
fn without_urls_there_is_no_aia_or_cdp() {
    let issued = issue_under(device_with(None, None, None), good_csr()).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    assert_eq!(extension_oids(&cert), DEVICE_EXTENSIONS);
    if openssl_available() {
        let text = openssl_text(&issued.der);
        assert!(!text.contains("Authority Information Access"), "{text}");
        assert!(!text.contains("CRL Distribution Points"), "{text}");
    }
}

#[test]
fn each_url_stands_alone() {
    // OCSP only: AIA with one description, no CDP.
    let issued = issue_under(device_with(None, Some(OCSP), None), good_csr()).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    let (_, aia) = extension::<AuthorityInfoAccessSyntax>(&cert).unwrap();
    assert_eq!(aia.0.len(), 1);
    assert_eq!(aia.0[0].access_method.to_string(), "1.3.6.1.5.5.7.48.1");
    assert_eq!(aia.0[0].access_location, uri(OCSP));
    assert!(extension::<CrlDistributionPoints>(&cert).is_none());

    // CRL only: CDP, no AIA.
    let issued = issue_under(device_with(None, None, Some(CRL)), good_csr()).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    assert!(extension::<AuthorityInfoAccessSyntax>(&cert).is_none());
    assert!(extension::<CrlDistributionPoints>(&cert).is_some());
    let mut expected = DEVICE_EXTENSIONS.map(String::from).to_vec();
    expected.push("2.5.29.31".into());
    assert_eq!(extension_oids(&cert), expected);
}

#[test]
fn a_request_cannot_supply_its_own_urls() {
    // A CSR asking for AIA or CDP pointing elsewhere is refused, on a template that has its
    // own URLs as on one that has none: the URLs are the template's alone.
    let key = pki().rsa_device.as_ref();
    let evil = "http://attacker.example/x";
    let aia = ext(
        "1.3.6.1.5.5.7.1.1",
        &AuthorityInfoAccessSyntax(vec![x509_cert::ext::pkix::AccessDescription {
            access_method: oid("1.3.6.1.5.5.7.48.1"),
            access_location: uri(evil),
        }]),
    );
    let cdp = ext(
        "2.5.29.31",
        &CrlDistributionPoints(vec![x509_cert::ext::pkix::crl::dp::DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(evil)])),
            reasons: None,
            crl_issuer: None,
        }]),
    );
    for template in [
        device_with(Some(CA_ISSUERS), Some(OCSP), Some(CRL)),
        device_with(None, None, None),
    ] {
        for e in [aia.clone(), cdp.clone()] {
            let r = refused(issue_under(template.clone(), csr(key, "CN=dev1", vec![e])));
            assert!(
                matches!(r.reason, policy::RefusalReason::ExtensionNotAllowed { .. }),
                "{r}"
            );
        }
    }
}
