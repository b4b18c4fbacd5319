//! Renewal (RFC 8894 §3.3.1.2 RenewalReq, and a PKCSReq signed by a certificate we issued):
//! the request is authorised by the old certificate, so the old certificate bounds it — same
//! template, same subject, no new names, inside the renewal window, a new key by default.
//!
//! The old certificate is also the proof for what an MDM once vouched for: a UPN, the SID
//! URI, e-mail at any domain and a vouched EKU are renewed when the old certificate has them
//! and the template still allows them (`mdm_vouched`), never added.
//!
//! Whether the old certificate is ours, unrevoked, and whether the new key is already
//! certified to another subject (RFC 8894 §8.6) needs the database: the RA checks those before
//! calling [`renewal_decision`].

use crate::binding::SanBinding;
use crate::decide::{Decision, describe};
use crate::facts::{RequestFacts, SanFact, SubjectAttribute};
use crate::names::{
    normalize_dns_name_or_wildcard, normalize_email, normalize_sid_uri, normalize_upn,
    normalize_value, subject_display,
};
use crate::refusal::{Refusal, RefusalReason};
use crate::template::Template;
use crate::vouching::Vouching;

const SECONDS_PER_DAY: i64 = 86_400;

/// The certificate being renewed, as our records and the certificate itself say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewalFacts {
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds (RFC 5280 §4.1.2.5: the certificate is valid at this second).
    pub not_after: i64,
    /// The old subject in DER order (first RDN first); see [`crate::parse_subject_display`]
    /// for a subject stored in its display form.
    pub subject: Vec<SubjectAttribute>,
    /// Every subjectAltName of the old certificate (a UPN as [`SanFact::Upn`]).
    pub sans: Vec<SanFact>,
    /// SHA-256 of the old certificate's SubjectPublicKeyInfo DER.
    pub public_key_sha256: [u8; 32],
    /// The template the old certificate was issued under.
    pub template: String,
}

impl RenewalFacts {
    /// The old certificate's names as a binding lists them (`dns:…`, `ip:…`, `email:…`,
    /// `upn:…`, `uri:…`), normalized: the binding of a renewal's statement, so that the CA,
    /// deciding again, holds the new certificate to them too. Names that no longer normalize
    /// are left out (a renewal cannot carry them anyway).
    pub fn binding_sans(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.sans.iter().filter_map(normalize_old) {
            let text = describe(&name);
            if !out.contains(&text) {
                out.push(text);
            }
        }
        out
    }
}

/// Decides a renewal. `new_key_sha256` is the SHA-256 of the new request's
/// SubjectPublicKeyInfo DER, computed like [`RenewalFacts::public_key_sha256`]; `now` is in
/// Unix seconds.
///
/// Refused, each for its own [`RefusalReason`]: another template than the old certificate's
/// (`RenewalTemplateMismatch`); before the old notBefore (`RenewalNotYetValid`), before the
/// template's window (`RenewalTooEarly`) or after notAfter plus grace (`RenewalExpired`);
/// anything [`crate::decide`] refuses; another subject (`RenewalSubjectChanged`, compared
/// normalized as bindings are); a name the old certificate does not have (`RenewalNameAdded`),
/// MDM-vouched or not; a vouched EKU the old certificate does not have
/// (`RenewalExtendedKeyUsageAdded`); the old key when the template wants a new one
/// (`RenewalKeyReused`).
///
/// When the profile's `mdm_vouched` is set, the statement for it must say that the RA held
/// the CSR to the old certificate (`csr_validated_by = "renewal"`) and bind the old names.
///
/// The old certificate's EKUs are not known here, so a vouched EKU is never renewed: see
/// [`renewal_decision_with_ekus`].
pub fn renewal_decision(
    old: &RenewalFacts,
    new: &RequestFacts,
    new_key_sha256: &[u8; 32],
    template: &Template,
    now: i64,
) -> Decision {
    renewal_decision_with_ekus(old, &[], new, new_key_sha256, template, now)
}

/// [`renewal_decision`] knowing the old certificate's extended key usages (dotted): a vouched
/// EKU (`mdm_vouched.ipsec_tunnel_eku`) is renewed only if it is among them.
pub fn renewal_decision_with_ekus(
    old: &RenewalFacts,
    old_extended_key_usages: &[String],
    new: &RequestFacts,
    new_key_sha256: &[u8; 32],
    template: &Template,
    now: i64,
) -> Decision {
    let old = OldCertificate {
        facts: old,
        extended_key_usages: old_extended_key_usages,
    };
    match check(&old, new, new_key_sha256, template, now) {
        Ok(d) => d,
        Err(reason) => Decision::Refuse(Refusal::bad_request(reason)),
    }
}

struct OldCertificate<'a> {
    facts: &'a RenewalFacts,
    extended_key_usages: &'a [String],
}

fn check(
    old_certificate: &OldCertificate<'_>,
    new: &RequestFacts,
    new_key_sha256: &[u8; 32],
    template: &Template,
    now: i64,
) -> Result<Decision, RefusalReason> {
    let old = old_certificate.facts;
    if old.template != template.name() {
        return Err(RefusalReason::RenewalTemplateMismatch {
            old: old.template.clone(),
            requested: template.name().to_owned(),
        });
    }
    check_window(old, template, now)?;
    // The old certificate vouches as the MDM once did; everything vouched must then be in it.
    let profile = match crate::decide::check(new, template, None, Vouching::CsrValidated) {
        Ok(profile) => profile,
        Err(refusal) => return Ok(Decision::Refuse(refusal)),
    };
    if !same_subject(&old.subject, &new.subject) {
        return Err(RefusalReason::RenewalSubjectChanged {
            old: subject_display(&old.subject),
            new: subject_display(&new.subject),
        });
    }
    let old_names: Vec<SanBinding> = old.sans.iter().filter_map(normalize_old).collect();
    let new_names = profile
        .dns_names
        .iter()
        .map(|n| SanBinding::Dns(n.clone()))
        .chain(
            profile
                .ip_addresses
                .iter()
                .map(|a| SanBinding::Ip(a.clone())),
        )
        .chain(profile.emails.iter().map(|e| SanBinding::Email(e.clone())))
        .chain(profile.upns.iter().map(|u| SanBinding::Upn(u.clone())))
        .chain(profile.uris.iter().map(|u| SanBinding::Uri(u.clone())));
    for name in new_names {
        if !old_names.contains(&name) {
            return Err(RefusalReason::RenewalNameAdded {
                name: describe(&name),
            });
        }
    }
    let vouched_ekus = template.mdm_vouched().extended_key_usages();
    if let Some(added) = profile.extended_key_usages.iter().find(|e| {
        vouched_ekus.contains(&e.as_str()) && !old_certificate.extended_key_usages.contains(e)
    }) {
        return Err(RefusalReason::RenewalExtendedKeyUsageAdded { oid: added.clone() });
    }
    if template.renewal_requires_new_key() && *new_key_sha256 == old.public_key_sha256 {
        return Err(RefusalReason::RenewalKeyReused);
    }
    Ok(Decision::Issue(profile))
}

fn check_window(old: &RenewalFacts, template: &Template, now: i64) -> Result<(), RefusalReason> {
    if now < old.not_before {
        return Err(RefusalReason::RenewalNotYetValid {
            now,
            not_before: old.not_before,
        });
    }
    let days = |d: u32| i64::from(d).saturating_mul(SECONDS_PER_DAY);
    let opens = old
        .not_after
        .saturating_sub(days(template.renewal_window_days()));
    let closed = old
        .not_after
        .saturating_add(days(template.renewal_grace_days()));
    if now > closed {
        return Err(RefusalReason::RenewalExpired {
            now,
            closed,
            not_after: old.not_after,
        });
    }
    // A zero window opens at notAfter itself: only the grace period is left.
    let opens = if template.renewal_window_days() == 0 {
        old.not_after.saturating_add(1)
    } else {
        opens
    };
    if now < opens {
        return Err(RefusalReason::RenewalTooEarly {
            now,
            opens,
            not_after: old.not_after,
        });
    }
    Ok(())
}

fn same_subject(old: &[SubjectAttribute], new: &[SubjectAttribute]) -> bool {
    old.len() == new.len()
        && old.iter().zip(new).all(|(o, n)| {
            o.oid == n.oid
                && o.multi_valued_rdn == n.multi_valued_rdn
                && normalize_value(&o.value) == normalize_value(&n.value)
        })
}

/// An old name as the profile would hold it; names that no longer normalize match nothing.
fn normalize_old(san: &SanFact) -> Option<SanBinding> {
    match san {
        SanFact::Dns(n) => normalize_dns_name_or_wildcard(n, true)
            .ok()
            .map(SanBinding::Dns),
        SanFact::Ip(a) => Some(SanBinding::Ip(a.clone())),
        SanFact::Email(e) => normalize_email(e).map(SanBinding::Email),
        SanFact::Upn(u) => normalize_upn(u).map(SanBinding::Upn),
        SanFact::Uri(u) => normalize_sid_uri(u).map(SanBinding::Uri),
        SanFact::OtherName { .. } | SanFact::Other(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::facts::{PublicKeyFacts, RequestedExtension, RequestedValue};
    use crate::oid;
    use crate::refusal::RefusalCode;
    use crate::template::TemplateSpec;

    const DAY: i64 = SECONDS_PER_DAY;
    /// notAfter of the old certificate.
    const NOT_AFTER: i64 = 1_900_000_000;
    const OLD_KEY: [u8; 32] = [1; 32];
    const NEW_KEY: [u8; 32] = [2; 32];

    fn attr(oid: &str, value: &str) -> SubjectAttribute {
        SubjectAttribute {
            oid: oid.into(),
            value: value.into(),
            multi_valued_rdn: false,
        }
    }

    fn old() -> RenewalFacts {
        RenewalFacts {
            not_before: NOT_AFTER - 365 * DAY,
            not_after: NOT_AFTER,
            subject: vec![attr("2.5.4.10", "Org"), attr(oid::AT_COMMON_NAME, "dev1")],
            sans: vec![
                SanFact::Dns("dev1.corp.example".into()),
                SanFact::Dns("dev1-alt.corp.example".into()),
            ],
            public_key_sha256: OLD_KEY,
            template: "device".into(),
        }
    }

    fn new_request() -> RequestFacts {
        RequestFacts {
            subject: vec![attr("2.5.4.10", "ORG"), attr(oid::AT_COMMON_NAME, "Dev1")],
            subject_alt_names: vec![SanFact::Dns("DEV1.corp.example".into())],
            public_key: PublicKeyFacts::Ec {
                curve_oid: oid::CURVE_P256.into(),
            },
            requested_extensions: vec![RequestedExtension {
                oid: oid::EXT_SUBJECT_ALT_NAME.into(),
                critical: false,
                value: RequestedValue::SubjectAltName,
            }],
            attributes: vec![],
        }
    }

    fn template(edit: impl FnOnce(&mut TemplateSpec)) -> Template {
        let mut spec = TemplateSpec::device();
        edit(&mut spec);
        Template::new(spec).unwrap()
    }

    fn refused(
        old: &RenewalFacts,
        new: &RequestFacts,
        key: &[u8; 32],
        t: &Template,
        now: i64,
    ) -> Refusal {
        match renewal_decision(old, new, key, t, now) {
            Decision::Refuse(r) => r,
            Decision::Issue(p) => panic!("issued {p:?}"),
        }
    }

    #[test]
    fn renewal_inside_the_window_with_a_new_key_is_issued() {
        let t = Template::device();
        let Decision::Issue(p) =
            renewal_decision(&old(), &new_request(), &NEW_KEY, &t, NOT_AFTER - 10 * DAY)
        else {
            panic!("refused")
        };
        assert_eq!(p.dns_names, ["dev1.corp.example"]);
        assert_eq!(p.template, "device");
        // The edges of the window: its first second, and notAfter itself.
        for now in [NOT_AFTER - 30 * DAY, NOT_AFTER] {
            assert!(matches!(
                renewal_decision(&old(), &new_request(), &NEW_KEY, &t, now),
                Decision::Issue(_)
            ));
        }
    }

    #[test]
    fn too_early_too_late_and_not_yet_valid_refused() {
        let t = Template::device();
        let r = refused(
            &old(),
            &new_request(),
            &NEW_KEY,
            &t,
            NOT_AFTER - 30 * DAY - 1,
        );
        assert_eq!(r.code, RefusalCode::BadRequest);
        assert_eq!(
            r.reason,
            RefusalReason::RenewalTooEarly {
                now: NOT_AFTER - 30 * DAY - 1,
                opens: NOT_AFTER - 30 * DAY,
                not_after: NOT_AFTER
            }
        );
        assert_eq!(
            refused(&old(), &new_request(), &NEW_KEY, &t, NOT_AFTER + 1).reason,
            RefusalReason::RenewalExpired {
                now: NOT_AFTER + 1,
                closed: NOT_AFTER,
                not_after: NOT_AFTER
            }
        );
        let mut early = old();
        early.not_before = NOT_AFTER - 5 * DAY;
        assert!(matches!(
            refused(&early, &new_request(), &NEW_KEY, &t, NOT_AFTER - 6 * DAY).reason,
            RefusalReason::RenewalNotYetValid { .. }
        ));
    }

    #[test]
    fn grace_period_after_expiry() {
        let t = template(|s| s.renewal_grace_days = 7);
        for now in [NOT_AFTER + 1, NOT_AFTER + 7 * DAY] {
            assert!(matches!(
                renewal_decision(&old(), &new_request(), &NEW_KEY, &t, now),
                Decision::Issue(_)
            ));
        }
        assert!(matches!(
            refused(
                &old(),
                &new_request(),
                &NEW_KEY,
                &t,
                NOT_AFTER + 7 * DAY + 1
            )
            .reason,
            RefusalReason::RenewalExpired { .. }
        ));
        // A zero window leaves only the grace period.
        let t = template(|s| {
            s.renewal_window_days = 0;
            s.renewal_grace_days = 7;
        });
        assert!(matches!(
            refused(&old(), &new_request(), &NEW_KEY, &t, NOT_AFTER).reason,
            RefusalReason::RenewalTooEarly { .. }
        ));
        assert!(matches!(
            renewal_decision(&old(), &new_request(), &NEW_KEY, &t, NOT_AFTER + DAY),
            Decision::Issue(_)
        ));
    }

    #[test]
    fn subject_must_stay_the_same() {
        let t = Template::device();
        let now = NOT_AFTER - DAY;
        for subject in [
            vec![attr("2.5.4.10", "Org"), attr(oid::AT_COMMON_NAME, "dev2")],
            vec![attr(oid::AT_COMMON_NAME, "dev1")],
            vec![attr(oid::AT_COMMON_NAME, "dev1"), attr("2.5.4.10", "Org")],
            vec![
                attr("2.5.4.10", "Org"),
                attr("2.5.4.11", "x"),
                attr(oid::AT_COMMON_NAME, "dev1"),
            ],
        ] {
            let mut f = new_request();
            f.subject = subject;
            assert!(
                matches!(
                    refused(&old(), &f, &NEW_KEY, &t, now).reason,
                    RefusalReason::RenewalSubjectChanged { .. }
                ),
                "{:?}",
                f.subject
            );
        }
    }

    #[test]
    fn names_must_be_a_subset_of_the_old_ones() {
        let t = Template::device();
        let now = NOT_AFTER - DAY;
        let mut f = new_request();
        f.subject_alt_names = vec![
            SanFact::Dns("dev1-alt.corp.example".into()),
            SanFact::Dns("dev1.corp.example".into()),
        ];
        assert!(matches!(
            renewal_decision(&old(), &f, &NEW_KEY, &t, now),
            Decision::Issue(_)
        ));
        f.subject_alt_names
            .push(SanFact::Dns("dc01.corp.example".into()));
        assert_eq!(
            refused(&old(), &f, &NEW_KEY, &t, now).reason,
            RefusalReason::RenewalNameAdded {
                name: "dns:dc01.corp.example".into()
            }
        );
        // No SAN at all is a subset too.
        let mut f = new_request();
        f.subject_alt_names.clear();
        f.requested_extensions.clear();
        assert!(matches!(
            renewal_decision(&old(), &f, &NEW_KEY, &t, now),
            Decision::Issue(_)
        ));
    }

    #[test]
    fn new_key_required_unless_the_template_allows_reuse() {
        let now = NOT_AFTER - DAY;
        assert_eq!(
            refused(&old(), &new_request(), &OLD_KEY, &Template::device(), now).reason,
            RefusalReason::RenewalKeyReused
        );
        let t = template(|s| s.renewal_requires_new_key = false);
        assert!(matches!(
            renewal_decision(&old(), &new_request(), &OLD_KEY, &t, now),
            Decision::Issue(_)
        ));
    }

    #[test]
    fn template_must_be_the_old_certificates() {
        let t = template(|s| s.name = "vpn".into());
        assert_eq!(
            refused(&old(), &new_request(), &NEW_KEY, &t, NOT_AFTER - DAY).reason,
            RefusalReason::RenewalTemplateMismatch {
                old: "device".into(),
                requested: "vpn".into()
            }
        );
    }

    #[test]
    fn the_ordinary_rules_still_apply() {
        let mut f = new_request();
        f.attributes
            .push(oid::ATTR_MS_ENROLLMENT_NAME_VALUE_PAIR.into());
        assert!(matches!(
            refused(&old(), &f, &NEW_KEY, &Template::device(), NOT_AFTER - DAY).reason,
            RefusalReason::AttributeNotAllowed { .. }
        ));
        let mut f = new_request();
        f.public_key = PublicKeyFacts::Ec {
            curve_oid: "1.3.132.0.10".into(),
        };
        assert_eq!(
            refused(&old(), &f, &NEW_KEY, &Template::device(), NOT_AFTER - DAY).code,
            RefusalCode::BadAlg
        );
    }

    #[test]
    fn displayed_old_subject_can_be_parsed_back() {
        let stored = crate::names::subject_display(&old().subject);
        let mut o = old();
        o.subject = crate::parse_subject_display(&stored).unwrap();
        assert!(matches!(
            renewal_decision(
                &o,
                &new_request(),
                &NEW_KEY,
                &Template::device(),
                NOT_AFTER - DAY
            ),
            Decision::Issue(_)
        ));
    }

    const SID_URI: &str = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1104";

    fn intune_user() -> Template {
        template(|s| {
            s.name = "intune-user".into();
            s.extended_key_usages = vec![oid::EKU_CLIENT_AUTH.into(), oid::EKU_IPSEC_TUNNEL.into()];
            s.mdm_vouched.upn = true;
            s.mdm_vouched.sid_uri = true;
            s.mdm_vouched.email = true;
            s.mdm_vouched.ipsec_tunnel_eku = true;
        })
    }

    fn user_ekus() -> Vec<String> {
        vec![oid::EKU_CLIENT_AUTH.into(), oid::EKU_IPSEC_TUNNEL.into()]
    }

    /// A user certificate an MDM once vouched for.
    fn old_user() -> RenewalFacts {
        RenewalFacts {
            subject: vec![attr(oid::AT_COMMON_NAME, "alice")],
            sans: vec![
                SanFact::Upn("alice@corp.example".into()),
                SanFact::Uri(SID_URI.into()),
                SanFact::Email("alice@mail.example".into()),
            ],
            template: "intune-user".into(),
            ..old()
        }
    }

    fn user_renewal(sans: Vec<SanFact>, ekus: &[&str]) -> RequestFacts {
        let mut f = new_request();
        f.subject = vec![attr(oid::AT_COMMON_NAME, "alice")];
        f.subject_alt_names = sans;
        f.requested_extensions.push(RequestedExtension {
            oid: oid::EXT_EXTENDED_KEY_USAGE.into(),
            critical: false,
            value: RequestedValue::ExtendedKeyUsage(ekus.iter().map(|e| e.to_string()).collect()),
        });
        f
    }

    #[test]
    fn the_old_certificate_vouches_for_its_own_vouched_names() {
        let f = user_renewal(
            old_user().sans,
            &[oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL],
        );
        let Decision::Issue(p) = renewal_decision_with_ekus(
            &old_user(),
            &user_ekus(),
            &f,
            &NEW_KEY,
            &intune_user(),
            NOT_AFTER - DAY,
        ) else {
            panic!("refused")
        };
        assert_eq!(p.upns, ["alice@corp.example"]);
        assert_eq!(p.uris, [SID_URI]);
        assert_eq!(p.emails, ["alice@mail.example"]);
        assert_eq!(
            p.extended_key_usages,
            [oid::EKU_CLIENT_AUTH, oid::EKU_IPSEC_TUNNEL]
        );
        // The statement must then carry the renewal's vouching to the CA.
        assert!(p.mdm_vouched);
    }

    #[test]
    fn renewal_never_adds_a_vouched_name_or_eku() {
        let t = intune_user();
        let now = NOT_AFTER - DAY;
        for (san, name) in [
            (
                SanFact::Upn("administrator@corp.example".into()),
                "upn:administrator@corp.example",
            ),
            (
                SanFact::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500".into()),
                "uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500",
            ),
            (
                SanFact::Email("ceo@mail.example".into()),
                "email:ceo@mail.example",
            ),
        ] {
            let f = user_renewal(vec![san], &[oid::EKU_CLIENT_AUTH]);
            assert_eq!(
                refused(&old_user(), &f, &NEW_KEY, &t, now).reason,
                RefusalReason::RenewalNameAdded { name: name.into() }
            );
        }
        let f = user_renewal(vec![], &[oid::EKU_IPSEC_TUNNEL]);
        let without_tunnel = [oid::EKU_CLIENT_AUTH.to_owned()];
        for decision in [
            renewal_decision_with_ekus(&old_user(), &without_tunnel, &f, &NEW_KEY, &t, now),
            // Old EKUs unknown: a vouched EKU is never renewed.
            renewal_decision(&old_user(), &f, &NEW_KEY, &t, now),
        ] {
            let Decision::Refuse(r) = decision else {
                panic!("issued")
            };
            assert_eq!(
                r.reason,
                RefusalReason::RenewalExtendedKeyUsageAdded {
                    oid: oid::EKU_IPSEC_TUNNEL.into()
                }
            );
        }
        assert!(matches!(
            renewal_decision_with_ekus(&old_user(), &user_ekus(), &f, &NEW_KEY, &t, now),
            Decision::Issue(_)
        ));
        // Fewer names, and no vouched EKU asked for, is a plain renewal.
        let f = user_renewal(vec![SanFact::Upn("alice@corp.example".into())], &[]);
        let Decision::Issue(p) = renewal_decision(&old_user(), &f, &NEW_KEY, &t, now) else {
            panic!("refused")
        };
        assert_eq!(p.extended_key_usages, [oid::EKU_CLIENT_AUTH]);
    }

    #[test]
    fn the_old_names_bind_the_renewal_statement() {
        let mut old = old_user();
        old.sans.push(SanFact::Ip(vec![10, 0, 0, 1]));
        old.sans.push(SanFact::Dns("Alice-PC.corp.example".into()));
        old.sans.push(SanFact::Upn("alice@CORP.example".into()));
        old.sans.push(SanFact::Other("registeredID".into()));
        let sans = old.binding_sans();
        assert_eq!(
            sans,
            [
                "upn:alice@corp.example",
                &format!("uri:{SID_URI}"),
                "email:alice@mail.example",
                "ip:10.0.0.1",
                "dns:alice-pc.corp.example",
            ]
        );
        let binding = crate::Binding {
            template: Some("intune-user".into()),
            subject: None,
            sans,
        };
        assert!(binding.check().is_ok());
    }

    #[test]
    fn a_template_that_no_longer_allows_a_vouched_name_refuses_its_renewal() {
        let t = template(|s| s.name = "intune-user".into());
        let f = user_renewal(vec![SanFact::Upn("alice@corp.example".into())], &[]);
        assert_eq!(
            refused(&old_user(), &f, &NEW_KEY, &t, NOT_AFTER - DAY).reason,
            RefusalReason::SanKindNotAllowed {
                kind: "otherName UPN".into()
            }
        );
    }
}
