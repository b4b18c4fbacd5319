//! What vouched for a request beyond its challenge: the one input that lets a template's
//! [`MdmVouched`](crate::MdmVouched) names and EKUs through.

/// Who, beyond the challenge, vouched for the request's content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Vouching {
    /// A local one-time challenge, a webhook's yes, a signed challenge, or nothing: the
    /// template's ordinary rules, and never a UPN, a SID URI or a vouched EKU (ESC1).
    #[default]
    None,
    /// An MDM validated the whole CSR against its own record of the device and user before the
    /// RA counter-signed it (Intune's `validateRequest`): what the template's `mdm_vouched`
    /// allows may pass.
    CsrValidated,
}

impl Vouching {
    pub(crate) fn csr_validated(self) -> bool {
        self == Vouching::CsrValidated
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::facts::{
        PublicKeyFacts, RequestFacts, RequestedExtension, RequestedValue, SanFact, SubjectAttribute,
    };
    use crate::oid;
    use crate::refusal::{Refusal, RefusalReason};
    use crate::template::{Template, TemplateSpec};
    use crate::{Binding, Decision, IssuanceProfile, decide, decide_vouched};

    const SID_URI: &str =
        "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1104";

    /// An Intune user template: everything MDM-vouched on, e-mail otherwise off.
    fn intune_user() -> Template {
        let mut spec = TemplateSpec::named(
            "intune-user",
            &[oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL],
        );
        spec.mdm_vouched.upn = true;
        spec.mdm_vouched.sid_uri = true;
        spec.mdm_vouched.email = true;
        spec.mdm_vouched.ipsec_tunnel_eku = true;
        Template::new(spec).unwrap()
    }

    fn eku_extension(ekus: &[&str]) -> RequestedExtension {
        RequestedExtension {
            oid: oid::EXT_EXTENDED_KEY_USAGE.into(),
            critical: false,
            value: RequestedValue::ExtendedKeyUsage(ekus.iter().map(|e| e.to_string()).collect()),
        }
    }

    fn san_extension() -> RequestedExtension {
        RequestedExtension {
            oid: oid::EXT_SUBJECT_ALT_NAME.into(),
            critical: false,
            value: RequestedValue::SubjectAltName,
        }
    }

    /// What an Intune SCEP profile for a user makes the device ask for.
    fn user_request() -> RequestFacts {
        RequestFacts {
            subject: vec![SubjectAttribute {
                oid: oid::AT_COMMON_NAME.into(),
                value: "alice".into(),
                multi_valued_rdn: false,
            }],
            subject_alt_names: vec![
                SanFact::Upn("alice@Corp.Example".into()),
                SanFact::Uri(SID_URI.into()),
                SanFact::Email("alice@mail.example".into()),
            ],
            public_key: PublicKeyFacts::Rsa {
                modulus_bits: 2048,
                exponent: Some(65537),
            },
            requested_extensions: vec![
                san_extension(),
                eku_extension(&[oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL]),
            ],
            attributes: vec![],
        }
    }

    fn issued(facts: &RequestFacts, t: &Template, vouching: Vouching) -> IssuanceProfile {
        match decide_vouched(facts, t, None, vouching) {
            Decision::Issue(p) => p,
            Decision::Refuse(r) => panic!("refused: {r}"),
        }
    }

    fn refused(facts: &RequestFacts, t: &Template, vouching: Vouching) -> Refusal {
        match decide_vouched(facts, t, None, vouching) {
            Decision::Refuse(r) => r,
            Decision::Issue(p) => panic!("issued {p:?}"),
        }
    }

    fn with_sans(sans: Vec<SanFact>) -> RequestFacts {
        RequestFacts {
            subject_alt_names: sans,
            requested_extensions: vec![san_extension()],
            ..user_request()
        }
    }

    #[test]
    fn a_validated_request_gets_what_the_template_lets_the_mdm_vouch_for() {
        let p = issued(&user_request(), &intune_user(), Vouching::CsrValidated);
        assert_eq!(p.upns, ["alice@corp.example"]);
        assert_eq!(p.uris, [SID_URI]);
        assert_eq!(p.emails, ["alice@mail.example"]);
        assert_eq!(
            p.extended_key_usages,
            [oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL]
        );
        assert!(p.mdm_vouched);
        assert!(p.dns_names.is_empty() && p.ip_addresses.is_empty());
    }

    #[test]
    fn the_same_request_without_validation_is_refused_item_by_item() {
        // ESC1 stays: a challenge, a webhook or a signed challenge vouches for none of these.
        let t = intune_user();
        let cases = [
            (
                with_sans(vec![SanFact::Upn("alice@corp.example".into())]),
                "UPN subjectAltName needs an MDM-validated request on a template with mdm_vouched.upn",
            ),
            (
                with_sans(vec![SanFact::Uri(SID_URI.into())]),
                "SID URI subjectAltName needs an MDM-validated request on a template with mdm_vouched.sid_uri",
            ),
            (
                with_sans(vec![SanFact::Email("alice@mail.example".into())]),
                "rfc822Name subjectAltName needs an MDM-validated request on a template with mdm_vouched.email",
            ),
            (
                RequestFacts {
                    subject_alt_names: vec![],
                    requested_extensions: vec![eku_extension(&[oid::EKU_IPSEC_TUNNEL])],
                    ..user_request()
                },
                "the extended key usage ipsecTunnel needs an MDM-validated request on a template with mdm_vouched.ipsec_tunnel_eku",
            ),
        ];
        for (facts, text) in cases {
            let r = refused(&facts, &t, Vouching::None);
            assert!(
                matches!(r.reason, RefusalReason::NeedsMdmValidation { .. }),
                "{r}"
            );
            assert_eq!(r.to_string(), text);
            // decide() is the unvouched decision.
            assert_eq!(decide(&facts, &t, None), Decision::Refuse(r));
        }
        assert!(matches!(
            refused(&user_request(), &t, Vouching::None).reason,
            RefusalReason::NeedsMdmValidation { .. }
        ));
    }

    #[test]
    fn validation_alone_allows_nothing_the_template_does_not() {
        let t = Template::device();
        for (san, kind) in [
            (SanFact::Upn("alice@corp.example".into()), "otherName UPN"),
            (
                SanFact::Uri(SID_URI.into()),
                "uniformResourceIdentifier (SID URL)",
            ),
            (SanFact::Email("alice@mail.example".into()), "rfc822Name"),
        ] {
            let r = refused(&with_sans(vec![san]), &t, Vouching::CsrValidated);
            assert_eq!(
                r.reason,
                RefusalReason::SanKindNotAllowed { kind: kind.into() }
            );
        }
        let facts = RequestFacts {
            subject_alt_names: vec![],
            requested_extensions: vec![eku_extension(&[oid::EKU_IPSEC_TUNNEL])],
            ..user_request()
        };
        assert_eq!(
            refused(&facts, &t, Vouching::CsrValidated).reason,
            RefusalReason::ExtendedKeyUsageNotAllowed {
                oid: oid::EKU_IPSEC_TUNNEL.into()
            }
        );
        // One setting does not open another.
        let mut spec = TemplateSpec::device();
        spec.mdm_vouched.upn = true;
        let upn_only = Template::new(spec).unwrap();
        assert!(matches!(
            refused(
                &with_sans(vec![SanFact::Uri(SID_URI.into())]),
                &upn_only,
                Vouching::CsrValidated
            )
            .reason,
            RefusalReason::SanKindNotAllowed { .. }
        ));
    }

    #[test]
    fn only_well_formed_upns_and_the_sid_uri_form() {
        let t = intune_user();
        for (san, expected) in [
            (
                SanFact::Uri("https://corp.example/alice".into()),
                RefusalReason::SanKindNotAllowed {
                    kind: "uniformResourceIdentifier".into(),
                },
            ),
            (
                SanFact::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-x".into()),
                RefusalReason::InvalidSidUri {
                    uri: "tag:microsoft.com,2022-09-14:sid:S-1-5-21-x".into(),
                },
            ),
            (
                SanFact::Upn("alice".into()),
                RefusalReason::InvalidUpn {
                    name: "alice".into(),
                },
            ),
            (
                SanFact::Upn("alice@corp.example\0.evil".into()),
                RefusalReason::InvalidUpn {
                    name: "alice@corp.example\0.evil".into(),
                },
            ),
            (
                SanFact::OtherName {
                    type_id: oid::SAN_OTHER_NAME_UPN.into(),
                },
                RefusalReason::InvalidUpn {
                    name: "(value not a UTF8String)".into(),
                },
            ),
            (
                SanFact::OtherName {
                    type_id: "1.3.6.1.5.5.7.8.9".into(),
                },
                RefusalReason::SanKindNotAllowed {
                    kind: "otherName 1.3.6.1.5.5.7.8.9".into(),
                },
            ),
        ] {
            let r = refused(&with_sans(vec![san.clone()]), &t, Vouching::CsrValidated);
            assert_eq!(r.reason, expected, "{san:?}");
        }
    }

    #[test]
    fn one_account_per_certificate() {
        let t = intune_user();
        let r = refused(
            &with_sans(vec![
                SanFact::Upn("alice@corp.example".into()),
                SanFact::Upn("administrator@corp.example".into()),
            ]),
            &t,
            Vouching::CsrValidated,
        );
        assert_eq!(
            r.reason,
            RefusalReason::MoreThanOneName {
                kind: "otherName UPN"
            }
        );
        let r = refused(
            &with_sans(vec![
                SanFact::Uri(SID_URI.into()),
                SanFact::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500".into()),
            ]),
            &t,
            Vouching::CsrValidated,
        );
        assert_eq!(r.reason, RefusalReason::MoreThanOneName { kind: "SID URI" });
        // The same name twice is one name.
        let p = issued(
            &with_sans(vec![
                SanFact::Upn("alice@corp.example".into()),
                SanFact::Upn("alice@CORP.example".into()),
            ]),
            &t,
            Vouching::CsrValidated,
        );
        assert_eq!(p.upns, ["alice@corp.example"]);
    }

    #[test]
    fn the_vouched_eku_only_when_a_validated_request_asks_for_it() {
        let t = intune_user();
        let plain = with_sans(vec![]);
        for vouching in [Vouching::None, Vouching::CsrValidated] {
            let p = issued(&plain, &t, vouching);
            assert_eq!(p.extended_key_usages, [oid::EKU_CLIENT_AUTH]);
            assert!(!p.mdm_vouched);
        }
        // A template whose only EKU is vouched has nothing left for anyone else: refused
        // rather than a certificate without EKU (good for anything).
        let mut spec = TemplateSpec::named("tunnel", &[oid::EKU_IPSEC_TUNNEL]);
        spec.mdm_vouched.ipsec_tunnel_eku = true;
        let tunnel = Template::new(spec).unwrap();
        assert_eq!(
            refused(&plain, &tunnel, Vouching::CsrValidated).reason,
            RefusalReason::NoExtendedKeyUsageLeft
        );
        let asks = RequestFacts {
            requested_extensions: vec![eku_extension(&[oid::EKU_IPSEC_TUNNEL])],
            ..plain.clone()
        };
        let p = issued(&asks, &tunnel, Vouching::CsrValidated);
        assert_eq!(p.extended_key_usages, [oid::EKU_IPSEC_TUNNEL]);
        assert!(p.mdm_vouched);
        // Without the setting, a listed ipsecTunnel is an ordinary EKU, as before.
        let ordinary = Template::new(TemplateSpec::named(
            "t",
            &[oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL],
        ))
        .unwrap();
        let p = issued(&asks, &ordinary, Vouching::None);
        assert_eq!(
            p.extended_key_usages,
            [oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL]
        );
        assert!(!p.mdm_vouched);
    }

    #[test]
    fn email_domains_still_govern_unvalidated_requests() {
        let mut spec = TemplateSpec::device();
        spec.san_kinds.email = true;
        spec.san_rules.email_domains = vec!["corp.example".into()];
        spec.mdm_vouched.email = true;
        let t = Template::new(spec).unwrap();
        let at_domain = with_sans(vec![SanFact::Email("ops@corp.example".into())]);
        let elsewhere = with_sans(vec![SanFact::Email("alice@mail.example".into())]);
        let p = issued(&at_domain, &t, Vouching::None);
        assert_eq!(p.emails, ["ops@corp.example"]);
        assert!(!p.mdm_vouched);
        assert!(!issued(&at_domain, &t, Vouching::CsrValidated).mdm_vouched);
        assert_eq!(
            refused(&elsewhere, &t, Vouching::None).reason,
            RefusalReason::EmailOutsideDomains {
                address: "alice@mail.example".into()
            }
        );
        let p = issued(&elsewhere, &t, Vouching::CsrValidated);
        assert_eq!(p.emails, ["alice@mail.example"]);
        assert!(p.mdm_vouched);
        // Still only plain addresses.
        assert!(matches!(
            refused(
                &with_sans(vec![SanFact::Email("a@b@mail.example".into())]),
                &t,
                Vouching::CsrValidated
            )
            .reason,
            RefusalReason::InvalidEmail { .. }
        ));
    }

    #[test]
    fn a_binding_that_names_names_binds_vouched_ones_too() {
        let t = intune_user();
        let facts = user_request();
        let mut binding = Binding {
            template: Some("intune-user".into()),
            subject: Some("CN=alice".into()),
            sans: vec![
                "upn:alice@corp.example".into(),
                format!("uri:{SID_URI}"),
                "email:alice@mail.example".into(),
            ],
        };
        assert!(matches!(
            decide_vouched(&facts, &t, Some(&binding), Vouching::CsrValidated),
            Decision::Issue(_)
        ));
        binding.sans[0] = "upn:bob@corp.example".into();
        let Decision::Refuse(r) =
            decide_vouched(&facts, &t, Some(&binding), Vouching::CsrValidated)
        else {
            panic!("issued")
        };
        assert_eq!(
            r.reason,
            RefusalReason::NameNotAuthorized {
                name: "upn:alice@corp.example".into()
            }
        );
        // Binding a name never allows it.
        binding.sans[0] = "upn:alice@corp.example".into();
        let Decision::Refuse(r) = decide_vouched(&facts, &t, Some(&binding), Vouching::None) else {
            panic!("issued")
        };
        assert!(matches!(r.reason, RefusalReason::NeedsMdmValidation { .. }));
    }
}
