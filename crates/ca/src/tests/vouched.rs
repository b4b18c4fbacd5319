//! Names only an MDM that validated the whole CSR may vouch for: issued from a statement that
//! says so (version 3, `csr_validated_by`), on a template that allows them; the same CSR in
//! any other statement is refused (ESC1).

use super::*;

use policy::{RefusalReason, TemplateSpec};

const UPN: &str = "alice@corp.example";
const SID_URI: &str =
    "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1104";
const EMAIL: &str = "alice@mail.example";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const IPSEC_TUNNEL: &str = "1.3.6.1.5.5.7.3.6";

fn intune_user() -> Template {
    let mut spec = TemplateSpec::named("intune-user", &[CLIENT_AUTH, IPSEC_TUNNEL]);
    spec.mdm_vouched.upn = true;
    spec.mdm_vouched.sid_uri = true;
    spec.mdm_vouched.email = true;
    spec.mdm_vouched.ipsec_tunnel_eku = true;
    Template::new(spec).unwrap()
}

fn vouching_ca() -> Ca {
    let p = pki();
    Ca::new(
        p.ca_key.clone(),
        p.ca_cert.clone(),
        vec![Template::device(), intune_user()],
        vec![p.ra_cert.clone()],
    )
    .unwrap()
}

/// What an Intune user SCEP profile makes a device ask for.
fn user_csr() -> Vec<u8> {
    user_csr_with_ekus(&[CLIENT_AUTH, IPSEC_TUNNEL])
}

fn user_csr_with_ekus(ekus: &[&str]) -> Vec<u8> {
    let san = SubjectAltName(vec![
        GeneralName::OtherName(OtherName {
            type_id: oid(policy::oid::SAN_OTHER_NAME_UPN),
            value: Any::encode_from(&Utf8StringRef::new(UPN).unwrap()).unwrap(),
        }),
        GeneralName::UniformResourceIdentifier(Ia5String::new(SID_URI).unwrap()),
        GeneralName::Rfc822Name(Ia5String::new(EMAIL).unwrap()),
    ]);
    let eku = ExtendedKeyUsage(ekus.iter().map(|e| oid(e)).collect());
    csr(
        pki().rsa_device.as_ref(),
        "CN=alice",
        vec![ext("2.5.29.17", &san), ext("2.5.29.37", &eku)],
    )
}

fn statement(template: &'static str, validated_by: Option<&str>) -> StatementSpec<'static> {
    let mut spec = StatementSpec::new(user_csr());
    spec.template = template;
    spec.requester = Some(RequesterFacts {
        certificate_sha256: [7; 32],
        challenge_id: None,
        source: Some("192.0.2.7".into()),
    });
    spec.csr_validated_by = validated_by.map(str::to_owned);
    spec
}

fn issue_on(spec: StatementSpec<'_>) -> Result<crate::IssuedCertificate, CaError> {
    let ca = vouching_ca();
    let t = now();
    let verified = ca.verify_statement(&spec.build(), t).unwrap();
    ca.issue(verified, t)
}

#[test]
fn a_csr_validated_statement_gets_upn_sid_uri_email_and_the_ipsec_tunnel_eku() {
    let issued = issue_on(statement("intune-user", Some("intune"))).unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    let (critical, san) = extension::<SubjectAltName>(&cert).unwrap();
    assert!(!critical);
    let mut upns = Vec::new();
    let mut uris = Vec::new();
    let mut emails = Vec::new();
    for name in &san.0 {
        match name {
            GeneralName::OtherName(o) => {
                assert_eq!(o.type_id, oid(policy::oid::SAN_OTHER_NAME_UPN));
                upns.push(Utf8StringRef::try_from(&o.value).unwrap().to_string());
            }
            GeneralName::UniformResourceIdentifier(u) => uris.push(u.to_string()),
            GeneralName::Rfc822Name(e) => emails.push(e.to_string()),
            other => panic!("unexpected name {other:?}"),
        }
    }
    assert_eq!(upns, [UPN]);
    assert_eq!(uris, [SID_URI]);
    assert_eq!(emails, [EMAIL]);
    let (_, eku) = extension::<ExtendedKeyUsage>(&cert).unwrap();
    assert_eq!(eku.0, [oid(CLIENT_AUTH), oid(IPSEC_TUNNEL)]);
    assert_eq!(issued.template, "intune-user");

    if !openssl_available() {
        return;
    }
    let (ok, msg) = openssl_verify(&pki().ca_cert, &issued.der, Some("sslclient"));
    assert!(ok, "{msg}");
    let text = openssl_text(&issued.der);
    for expected in [
        &format!("othername: UPN::{UPN}") as &str,
        &format!("URI:{SID_URI}"),
        &format!("email:{EMAIL}"),
        "TLS Web Client Authentication",
        "IPSec Tunnel",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
}

#[test]
fn the_same_csr_without_the_flag_is_refused() {
    // A local challenge, a webhook, a signed challenge: the statement names no validator.
    let r = refused(issue_on(statement("intune-user", None)));
    assert!(
        matches!(r.reason, RefusalReason::NeedsMdmValidation { .. }),
        "{r}"
    );
    // A version 1 statement (an old RA) is no different.
    let mut old_ra = statement("intune-user", None);
    old_ra.requester = None;
    assert!(matches!(
        refused(issue_on(old_ra)).reason,
        RefusalReason::NeedsMdmValidation { .. }
    ));
}

#[test]
fn the_flag_never_widens_a_template_without_mdm_vouched() {
    let r = refused(issue_on(statement("device", Some("intune"))));
    assert_eq!(
        r.reason,
        RefusalReason::ExtendedKeyUsageNotAllowed {
            oid: IPSEC_TUNNEL.into()
        }
    );
    let mut names_only = statement("device", Some("intune"));
    names_only.csr = user_csr_with_ekus(&[CLIENT_AUTH]);
    let r = refused(issue_on(names_only));
    assert!(
        matches!(r.reason, RefusalReason::SanKindNotAllowed { .. }),
        "{r}"
    );
}

#[test]
fn a_binding_bounds_vouched_names_at_the_ca_too() {
    // A renewal: the RA binds the old certificate's names, and the CA holds the CSR to them.
    let mut spec = statement("intune-user", Some("renewal"));
    spec.binding = Some(StatementBinding {
        subject: Some("CN=alice".into()),
        sans: vec![
            format!("upn:{UPN}"),
            format!("uri:{SID_URI}"),
            format!("email:{EMAIL}"),
        ],
    });
    assert!(issue_on(spec).is_ok());
    let mut spec = statement("intune-user", Some("renewal"));
    spec.binding = Some(StatementBinding {
        subject: Some("CN=alice".into()),
        sans: vec![format!("uri:{SID_URI}"), format!("email:{EMAIL}")],
    });
    assert_eq!(
        refused(issue_on(spec)).reason,
        RefusalReason::NameNotAuthorized {
            name: format!("upn:{UPN}")
        }
    );
}

#[test]
fn a_ca_with_uri_or_other_name_constraints_does_not_sign_names_it_cannot_check() {
    use crate::constraints::{CaConstraints, Candidate};
    use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};

    let subtree = |base| GeneralSubtree {
        base,
        minimum: 0,
        maximum: None,
    };
    let upns = [UPN.to_owned()];
    let uris = [SID_URI.to_owned()];
    let subject = crate::parse_dn("CN=alice").unwrap();
    let candidate = Candidate {
        subject_der: &subject,
        dns_names: &[],
        ip_addresses: &[],
        emails: &[],
        upns: &upns,
        uris: &uris,
        extended_key_usages: &[],
    };
    for base in [
        GeneralName::UniformResourceIdentifier(Ia5String::new("corp.example").unwrap()),
        GeneralName::OtherName(OtherName {
            type_id: oid(policy::oid::SAN_OTHER_NAME_UPN),
            value: Any::encode_from(&Utf8StringRef::new("corp.example").unwrap()).unwrap(),
        }),
    ] {
        let nc = NameConstraints {
            permitted_subtrees: None,
            excluded_subtrees: Some(vec![subtree(base.clone())]),
        };
        let constrained = ca_certificate_with(&ext("2.5.29.30", &nc));
        let constraints =
            CaConstraints::of(&crate::x509::ParsedCertificate::from_der(&constrained).unwrap())
                .unwrap();
        assert!(
            matches!(
                constraints.check(&candidate),
                Err(CaError::OutsideCaConstraints(_))
            ),
            "{base:?}"
        );
        // Without those names, the same CA signs.
        let plain = Candidate {
            upns: &[],
            uris: &[],
            ..candidate
        };
        assert!(constraints.check(&plain).is_ok(), "{base:?}");
    }
}

/// A CA certificate (self-signed by the test CA key) with one more extension.
fn ca_certificate_with(extra: &Extension) -> Vec<u8> {
    let p = pki();
    let subject = crate::parse_dn("CN=constrained CA").unwrap();
    let spki = p.ca_key.public_key_spki_der();
    let mut extensions =
        crate::profile::ca_base_extensions(&crate::extensions::key_identifier(spki).unwrap(), None)
            .unwrap();
    extensions.push(extra.clone());
    crate::x509::CertificateDraft {
        serial: &[1],
        issuer_der: &subject,
        subject_der: &subject,
        spki_der: spki,
        not_before: now() - 60,
        not_after: now() + 86_400,
        extensions,
    }
    .sign(p.ca_key.as_ref())
    .unwrap()
}

#[test]
fn a_vouched_certificate_renews_with_its_own_names_through_the_ca() {
    // What the RA does for a RenewalReq: read the old certificate, decide the renewal, and
    // send a statement that names the renewal as the CSR's validator and binds the old names.
    let old = issue_on(statement("intune-user", Some("intune"))).unwrap();
    let certified = request::certified_names(&old.der).unwrap();
    assert_eq!(
        certified.sans,
        [
            policy::SanFact::Email(EMAIL.into()),
            policy::SanFact::Upn(UPN.into()),
            policy::SanFact::Uri(SID_URI.into()),
        ]
    );
    assert_eq!(certified.extended_key_usages, [CLIENT_AUTH, IPSEC_TUNNEL]);
    let old_facts = policy::RenewalFacts {
        not_before: old.not_before,
        not_after: old.not_after,
        subject: policy::parse_subject_display(&old.subject).unwrap(),
        sans: certified.sans.clone(),
        public_key_sha256: old.subject_key_sha256,
        template: old.template.clone(),
    };
    // The same names, a new key.
    let new_csr = user_csr();
    let inspected = request::csr::inspect(&new_csr).unwrap();
    let policy::Decision::Issue(profile) = policy::renewal_decision_with_ekus(
        &old_facts,
        &certified.extended_key_usages,
        &inspected.facts,
        &[0; 32],
        &intune_user(),
        old.not_after - 86_400,
    ) else {
        panic!("renewal refused")
    };
    assert!(profile.mdm_vouched);
    let mut renewal = statement("intune-user", Some("renewal"));
    renewal.binding = Some(StatementBinding {
        subject: Some(old.subject.clone()),
        sans: old_facts.binding_sans(),
    });
    let renewed = issue_on(renewal).unwrap();
    assert_eq!(request::certified_names(&renewed.der).unwrap(), certified);
}
