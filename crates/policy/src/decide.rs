//! The decision: issue (with exactly what may go in the certificate) or refuse (with why).

use crate::binding::{Binding, SanBinding};
use crate::facts::{PublicKeyFacts, RequestFacts, RequestedValue};
use crate::names::normalize_value;
use crate::oid;
use crate::refusal::{Refusal, RefusalReason};
use crate::san::check_sans;
use crate::subject::check_subject;
use crate::template::Template;
use crate::vouching::Vouching;

/// The outcome of [`decide`] and [`decide_vouched`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Issue(IssuanceProfile),
    Refuse(Refusal),
}

/// Exactly what the CA may put in the certificate beyond the CSR's subject and key. Nothing
/// here is copied from a requested extension: EKUs, validity and URLs are the template's, key
/// usage follows the key type, names are the CSR's checked and normalized SANs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuanceProfile {
    /// The template's name.
    pub template: String,
    /// Dotted EKU OIDs, the template's list.
    pub extended_key_usages: Vec<String>,
    /// KeyUsage bits as in [`crate::key_usage`].
    pub key_usage_bits: u16,
    /// dNSName SANs, lower case, in request order, without duplicates. A wildcard (only on a
    /// template that allows them) keeps its `*.` prefix.
    pub dns_names: Vec<String>,
    /// iPAddress SANs (only if the template allows them).
    pub ip_addresses: Vec<Vec<u8>>,
    /// rfc822Name SANs (only if the template allows them, or its `mdm_vouched.email` and an
    /// MDM validated the request).
    pub emails: Vec<String>,
    /// otherName UPN SANs (at most one; only with `mdm_vouched.upn` on a validated request).
    pub upns: Vec<String>,
    /// uniformResourceIdentifier SANs: the SID URI in its canonical form (at most one; only
    /// with `mdm_vouched.sid_uri` on a validated request).
    pub uris: Vec<String>,
    /// Something here passed only because an MDM validated the request (or, on renewal,
    /// because the old certificate had it): a UPN, the SID URI, an e-mail outside the
    /// template's rules, a vouched EKU. A statement for this profile must say so
    /// (`csr_validated_by`), or the CA, deciding again, refuses it.
    pub mdm_vouched: bool,
    /// From the template; never from the request.
    pub validity_days: u32,
    /// The template wants an operator to approve the request first: the RA answers PENDING.
    pub manual_approval: bool,
    /// authorityInfoAccess id-ad-caIssuers (RFC 5280 §4.2.2.1), from the template.
    pub aia_ca_issuers_url: Option<String>,
    /// authorityInfoAccess id-ad-ocsp, from the template.
    pub ocsp_url: Option<String>,
    /// cRLDistributionPoints fullName URI (RFC 5280 §4.2.1.13), from the template.
    pub crl_distribution_url: Option<String>,
}

/// Decides a request against a template and the binding of the challenge it came with:
/// [`decide_vouched`] with [`Vouching::None`], for a request only a challenge (or nothing)
/// vouched for.
///
/// Refused (badRequest unless noted): a weak or unsupported key (EC curve, explicit curve
/// parameters or algorithm: badAlg); any requested extension other than subjectAltName,
/// extKeyUsage ⊆ template, keyUsage ⊆ template, basicConstraints cA=FALSE,
/// subjectKeyIdentifier (those are checked, never copied) and the template's non-critical
/// tolerated ones (ignored); Microsoft and certificate-shaping extensions always; duplicate
/// extensions; subject attribute types, values or a CN outside the template's subject rules;
/// SAN kinds the template does not allow (UPN, the SID URI, other otherNames and URIs never);
/// names that are not plain hostnames or are outside the template's domains and ranges;
/// multi-valued RDNs, several CNs, control characters in the subject; no name at all; any
/// request attribute other than challengePassword / extensionRequest / friendlyName (ESC6,
/// EDITF_ATTRIBUTEENDDATE); and anything outside the binding.
pub fn decide(facts: &RequestFacts, template: &Template, binding: Option<&Binding>) -> Decision {
    decide_vouched(facts, template, binding, Vouching::None)
}

/// [`decide`], with what vouched for the request. With [`Vouching::CsrValidated`] (an MDM
/// validated the whole CSR), the template's [`MdmVouched`](crate::MdmVouched) settings let
/// through a UPN, the SID URI, e-mail at any domain and the vouched EKU, each at most as the
/// setting says; every other rule stays. With [`Vouching::None`] those are refused
/// (`NeedsMdmValidation` where the template has the setting, `SanKindNotAllowed` or
/// `ExtendedKeyUsageNotAllowed` where it has not), and the vouched EKU is left out of the
/// certificate.
pub fn decide_vouched(
    facts: &RequestFacts,
    template: &Template,
    binding: Option<&Binding>,
    vouching: Vouching,
) -> Decision {
    match check(facts, template, binding, vouching) {
        Ok(profile) => Decision::Issue(profile),
        Err(refusal) => Decision::Refuse(refusal),
    }
}

pub(crate) fn check(
    facts: &RequestFacts,
    template: &Template,
    binding: Option<&Binding>,
    vouching: Vouching,
) -> Result<IssuanceProfile, Refusal> {
    let rsa = check_key(&facts.public_key, template)?;
    let key_usage_bits = template.key_usage_bits(rsa);
    check_attributes(facts)?;
    check_extensions(facts, template, key_usage_bits, vouching)?;
    let (extended_key_usages, vouched_eku) = profile_ekus(facts, template, vouching)?;
    check_subject(&facts.subject, template)?;
    let sans = check_sans(&facts.subject_alt_names, template, vouching)?;
    let names = sans.names;
    if facts.subject.is_empty() && names.is_empty() {
        return Err(Refusal::bad_request(RefusalReason::NoName));
    }
    if let Some(binding) = binding {
        check_binding(facts, template, binding, &names)?;
    }
    let spec = template.spec();
    let mut profile = IssuanceProfile {
        template: template.name().to_owned(),
        extended_key_usages,
        key_usage_bits,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        emails: Vec::new(),
        upns: Vec::new(),
        uris: Vec::new(),
        mdm_vouched: sans.vouched || vouched_eku,
        validity_days: template.validity_days(),
        manual_approval: spec.manual_approval,
        aia_ca_issuers_url: spec.aia_ca_issuers_url.clone(),
        ocsp_url: spec.ocsp_url.clone(),
        crl_distribution_url: spec.crl_distribution_url.clone(),
    };
    for name in names {
        match name {
            SanBinding::Dns(n) if !profile.dns_names.contains(&n) => profile.dns_names.push(n),
            SanBinding::Ip(a) if !profile.ip_addresses.contains(&a) => profile.ip_addresses.push(a),
            SanBinding::Email(e) if !profile.emails.contains(&e) => profile.emails.push(e),
            SanBinding::Upn(u) if !profile.upns.contains(&u) => profile.upns.push(u),
            SanBinding::Uri(u) if !profile.uris.contains(&u) => profile.uris.push(u),
            _ => {}
        }
    }
    // One account per certificate: two UPNs or two SIDs would leave the mapping to whichever
    // the relying party reads first.
    if profile.upns.len() > 1 {
        return Err(Refusal::bad_request(RefusalReason::MoreThanOneName {
            kind: "otherName UPN",
        }));
    }
    if profile.uris.len() > 1 {
        return Err(Refusal::bad_request(RefusalReason::MoreThanOneName {
            kind: "SID URI",
        }));
    }
    Ok(profile)
}

/// The template's EKUs, without the vouched ones unless a validated request asked for them;
/// and whether one of those is in. A certificate without any EKU would be good for every
/// purpose (ESC2): refused instead.
fn profile_ekus(
    facts: &RequestFacts,
    template: &Template,
    vouching: Vouching,
) -> Result<(Vec<String>, bool), Refusal> {
    let vouched = template.mdm_vouched().extended_key_usages();
    let requested = |eku: &str| {
        facts.requested_extensions.iter().any(|ext| {
            matches!(&ext.value, RequestedValue::ExtendedKeyUsage(ekus) if ekus.iter().any(|e| e == eku))
        })
    };
    let mut with_vouched = false;
    let mut ekus = Vec::new();
    for eku in template.extended_key_usages() {
        if vouched.contains(&eku.as_str()) {
            if !(vouching.csr_validated() && requested(eku)) {
                continue;
            }
            with_vouched = true;
        }
        ekus.push(eku.clone());
    }
    if ekus.is_empty() {
        return Err(Refusal::bad_request(RefusalReason::NoExtendedKeyUsageLeft));
    }
    Ok((ekus, with_vouched))
}

/// Returns whether the key is RSA (it decides keyEncipherment).
fn check_key(key: &PublicKeyFacts, template: &Template) -> Result<bool, Refusal> {
    let rules = template.key_rules();
    match key {
        PublicKeyFacts::Rsa {
            modulus_bits,
            exponent,
        } => {
            let bits = *modulus_bits;
            if bits < rules.rsa_min_bits || bits > rules.rsa_max_bits || bits % 8 != 0 {
                return Err(Refusal::bad_request(RefusalReason::RsaKeySize {
                    bits,
                    min: rules.rsa_min_bits,
                    max: rules.rsa_max_bits,
                }));
            }
            let only_65537 = rules.rsa_exponent_65537_only;
            match exponent {
                Some(65537) => Ok(true),
                Some(e) if !only_65537 && *e > 65537 && e % 2 == 1 => Ok(true),
                _ => Err(Refusal::bad_request(RefusalReason::RsaExponent {
                    exponent: *exponent,
                    only_65537,
                })),
            }
        }
        PublicKeyFacts::Ec { curve_oid } => {
            // The `request` crate names explicit or absent parameters in words, never as an
            // OID: no template can allow them.
            if !crate::template::is_dotted_oid(curve_oid) {
                return Err(Refusal::bad_alg(RefusalReason::ExplicitCurveParameters {
                    what: curve_oid.clone(),
                }));
            }
            let allowed = (rules.ec_p256 && curve_oid == oid::CURVE_P256)
                || (rules.ec_p384 && curve_oid == oid::CURVE_P384)
                || (rules.ec_p521 && curve_oid == oid::CURVE_P521);
            if allowed {
                Ok(false)
            } else {
                Err(Refusal::bad_alg(RefusalReason::EcCurve {
                    curve_oid: curve_oid.clone(),
                }))
            }
        }
        PublicKeyFacts::Other { algorithm_oid } if algorithm_oid == oid::EC_PUBLIC_KEY => {
            Err(Refusal::bad_alg(RefusalReason::ExplicitCurveParameters {
                what: "parameters not a named curve".to_owned(),
            }))
        }
        PublicKeyFacts::Other { algorithm_oid } => {
            Err(Refusal::bad_alg(RefusalReason::KeyAlgorithm {
                algorithm_oid: algorithm_oid.clone(),
            }))
        }
    }
}

fn check_attributes(facts: &RequestFacts) -> Result<(), Refusal> {
    match facts.attributes.first() {
        Some(oid) => Err(Refusal::bad_request(RefusalReason::AttributeNotAllowed {
            oid: oid.clone(),
        })),
        None => Ok(()),
    }
}

fn check_extensions(
    facts: &RequestFacts,
    template: &Template,
    allowed_key_usage: u16,
    vouching: Vouching,
) -> Result<(), Refusal> {
    let vouched_ekus = template.mdm_vouched().extended_key_usages();
    let exts = &facts.requested_extensions;
    let not_allowed = |oid: &str| {
        Refusal::bad_request(RefusalReason::ExtensionNotAllowed {
            oid: oid.to_owned(),
        })
    };
    for (i, ext) in exts.iter().enumerate() {
        if exts.iter().take(i).any(|e| e.oid == ext.oid) {
            return Err(Refusal::bad_request(RefusalReason::DuplicateExtension {
                oid: ext.oid.clone(),
            }));
        }
        let expected_oid = match &ext.value {
            RequestedValue::ExtendedKeyUsage(ekus) => {
                if let Some(eku) = ekus
                    .iter()
                    .find(|e| !template.extended_key_usages().contains(e))
                {
                    return Err(Refusal::bad_request(
                        RefusalReason::ExtendedKeyUsageNotAllowed { oid: eku.clone() },
                    ));
                }
                if !vouching.csr_validated()
                    && ekus.iter().any(|e| vouched_ekus.contains(&e.as_str()))
                {
                    return Err(Refusal::bad_request(RefusalReason::NeedsMdmValidation {
                        what: "the extended key usage ipsecTunnel",
                        setting: "ipsec_tunnel_eku",
                    }));
                }
                oid::EXT_EXTENDED_KEY_USAGE
            }
            RequestedValue::BasicConstraints { ca: true } => {
                return Err(Refusal::bad_request(RefusalReason::CaRequested));
            }
            RequestedValue::BasicConstraints { ca: false } => oid::EXT_BASIC_CONSTRAINTS,
            RequestedValue::KeyUsage(bits) => {
                if bits & !allowed_key_usage != 0 {
                    return Err(Refusal::bad_request(RefusalReason::KeyUsageNotAllowed {
                        bits: *bits,
                        allowed: allowed_key_usage,
                    }));
                }
                oid::EXT_KEY_USAGE
            }
            RequestedValue::SubjectAltName => oid::EXT_SUBJECT_ALT_NAME,
            RequestedValue::SubjectKeyIdentifier => oid::EXT_SUBJECT_KEY_IDENTIFIER,
            RequestedValue::Malformed => {
                return Err(Refusal::bad_request(RefusalReason::MalformedExtension {
                    oid: ext.oid.clone(),
                }));
            }
            RequestedValue::Other => {
                // Checked here as well as at template load, so that no template, however it
                // was made, lets a Microsoft or certificate-shaping extension through (§C2,
                // §C3).
                let tolerated = !crate::template::never_tolerated(&ext.oid)
                    && template
                        .spec()
                        .tolerated_request_extensions
                        .contains(&ext.oid);
                if !tolerated {
                    return Err(not_allowed(&ext.oid));
                }
                if ext.critical {
                    return Err(Refusal::bad_request(
                        RefusalReason::CriticalExtensionNotHonoured {
                            oid: ext.oid.clone(),
                        },
                    ));
                }
                continue;
            }
        };
        // A decoded value under another OID means the parser and the facts disagree: treat
        // it like any extension that is not allowed.
        if ext.oid != expected_oid {
            return Err(not_allowed(&ext.oid));
        }
    }
    Ok(())
}

fn check_binding(
    facts: &RequestFacts,
    template: &Template,
    binding: &Binding,
    names: &[SanBinding],
) -> Result<(), Refusal> {
    let invalid = |e: crate::binding::BindingError| {
        Refusal::bad_request(RefusalReason::BindingInvalid(e.to_string()))
    };
    if let Some(bound) = &binding.template
        && bound != template.name()
    {
        return Err(Refusal::bad_request(RefusalReason::TemplateMismatch {
            bound: bound.clone(),
            requested: template.name().to_owned(),
        }));
    }
    if let Some(bound) = binding.normalized_subject().map_err(invalid)? {
        let requested: Vec<(String, String)> = facts
            .subject
            .iter()
            .map(|a| (a.oid.clone(), normalize_value(&a.value)))
            .collect();
        if requested != bound {
            return Err(Refusal::bad_request(RefusalReason::NameNotAuthorized {
                name: format!("subject {}", crate::names::subject_display(&facts.subject)),
            }));
        }
    }
    if binding.binds_names() {
        let bound = binding.normalized_sans().map_err(invalid)?;
        if let Some(name) = names.iter().find(|n| !bound.contains(n)) {
            return Err(Refusal::bad_request(RefusalReason::NameNotAuthorized {
                name: describe(name),
            }));
        }
    }
    Ok(())
}

pub(crate) fn describe(name: &SanBinding) -> String {
    match name {
        SanBinding::Dns(n) => format!("dns:{n}"),
        SanBinding::Ip(a) => format!("ip:{}", crate::san::display_ip(a)),
        SanBinding::Email(e) => format!("email:{e}"),
        SanBinding::Upn(u) => format!("upn:{u}"),
        SanBinding::Uri(u) => format!("uri:{u}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::facts::{RequestedExtension, SanFact, SubjectAttribute};
    use crate::key_usage as ku;
    use crate::refusal::RefusalCode;
    use crate::template::{SanKinds, TemplateSpec};

    fn cn(value: &str) -> SubjectAttribute {
        SubjectAttribute {
            oid: oid::AT_COMMON_NAME.into(),
            value: value.into(),
            multi_valued_rdn: false,
        }
    }

    fn org(value: &str) -> SubjectAttribute {
        SubjectAttribute {
            oid: "2.5.4.10".into(),
            value: value.into(),
            multi_valued_rdn: false,
        }
    }

    fn good() -> RequestFacts {
        RequestFacts {
            subject: vec![org("Org"), cn("dev1")],
            subject_alt_names: vec![SanFact::Dns("Dev1.Corp.Example".into())],
            public_key: PublicKeyFacts::Rsa {
                modulus_bits: 2048,
                exponent: Some(65537),
            },
            requested_extensions: vec![RequestedExtension {
                oid: oid::EXT_SUBJECT_ALT_NAME.into(),
                critical: false,
                value: RequestedValue::SubjectAltName,
            }],
            attributes: vec![],
        }
    }

    fn ext(oid: &str, value: RequestedValue) -> RequestedExtension {
        RequestedExtension {
            oid: oid.into(),
            critical: false,
            value,
        }
    }

    fn with_ext(e: RequestedExtension) -> RequestFacts {
        let mut f = good();
        f.requested_extensions.push(e);
        f
    }

    fn refusal(facts: &RequestFacts, binding: Option<&Binding>) -> Refusal {
        refusal_for(facts, &Template::device(), binding)
    }

    fn refusal_for(facts: &RequestFacts, t: &Template, binding: Option<&Binding>) -> Refusal {
        match decide(facts, t, binding) {
            Decision::Refuse(r) => r,
            Decision::Issue(p) => panic!("issued {p:?}"),
        }
    }

    fn issue(facts: &RequestFacts, binding: Option<&Binding>) -> IssuanceProfile {
        match decide(facts, &Template::device(), binding) {
            Decision::Issue(p) => p,
            Decision::Refuse(r) => panic!("refused: {r}"),
        }
    }

    fn bad_request(r: &Refusal) {
        assert_eq!(r.code, RefusalCode::BadRequest, "{r}");
    }

    #[test]
    fn good_rsa_request_gets_the_template_profile() {
        let p = issue(&good(), None);
        assert_eq!(
            p,
            IssuanceProfile {
                template: "device".into(),
                extended_key_usages: vec![oid::EKU_CLIENT_AUTH.into()],
                key_usage_bits: ku::DIGITAL_SIGNATURE | ku::KEY_ENCIPHERMENT,
                dns_names: vec!["dev1.corp.example".into()],
                ip_addresses: vec![],
                emails: vec![],
                upns: vec![],
                uris: vec![],
                mdm_vouched: false,
                validity_days: 365,
                manual_approval: false,
                aia_ca_issuers_url: None,
                ocsp_url: None,
                crl_distribution_url: None,
            }
        );
    }

    #[test]
    fn ec_keys_get_no_key_encipherment() {
        for curve in [oid::CURVE_P256, oid::CURVE_P384] {
            let mut f = good();
            f.public_key = PublicKeyFacts::Ec {
                curve_oid: curve.into(),
            };
            assert_eq!(issue(&f, None).key_usage_bits, ku::DIGITAL_SIGNATURE);
        }
    }

    #[test]
    fn weak_rsa_keys_refused() {
        for (bits, exponent) in [
            (1024, Some(65537)),
            (2047, Some(65537)),
            (2056 - 4, Some(65537)),
            (8200, Some(65537)),
            (16384, Some(65537)),
            (2048, Some(3)),
            (2048, Some(1)),
            (2048, Some(2)),
            (2048, Some(65538)),
            (2048, None),
        ] {
            let mut f = good();
            f.public_key = PublicKeyFacts::Rsa {
                modulus_bits: bits,
                exponent,
            };
            let r = refusal(&f, None);
            bad_request(&r);
            assert!(
                matches!(
                    r.reason,
                    RefusalReason::RsaKeySize { .. } | RefusalReason::RsaExponent { .. }
                ),
                "{bits} {exponent:?}: {r}"
            );
        }
        for bits in [2048, 3072, 4096, 8192, 2056] {
            let mut f = good();
            f.public_key = PublicKeyFacts::Rsa {
                modulus_bits: bits,
                exponent: Some(65537),
            };
            issue(&f, None);
        }
    }

    #[test]
    fn unsupported_curves_and_algorithms_are_bad_alg() {
        for curve in ["1.2.840.10045.3.1.1", "1.3.132.0.10", "1.3.132.0.35"] {
            let mut f = good();
            f.public_key = PublicKeyFacts::Ec {
                curve_oid: curve.into(),
            };
            assert_eq!(refusal(&f, None).code, RefusalCode::BadAlg, "{curve}");
        }
        let mut f = good();
        f.public_key = PublicKeyFacts::Other {
            algorithm_oid: "1.3.101.112".into(),
        };
        assert_eq!(refusal(&f, None).code, RefusalCode::BadAlg);
    }

    #[test]
    fn requested_ekus_must_be_within_the_template() {
        // Asking for the template's own EKU is fine (and changes nothing).
        let f = with_ext(ext(
            oid::EXT_EXTENDED_KEY_USAGE,
            RequestedValue::ExtendedKeyUsage(vec![oid::EKU_CLIENT_AUTH.into()]),
        ));
        assert_eq!(issue(&f, None).extended_key_usages, [oid::EKU_CLIENT_AUTH]);
        for eku in [
            oid::EKU_ANY,
            oid::EKU_SERVER_AUTH,
            oid::EKU_CERTIFICATE_REQUEST_AGENT,
            oid::EKU_OCSP_SIGNING,
            oid::EKU_CODE_SIGNING,
            oid::EKU_SMART_CARD_LOGON,
        ] {
            let f = with_ext(ext(
                oid::EXT_EXTENDED_KEY_USAGE,
                RequestedValue::ExtendedKeyUsage(vec![oid::EKU_CLIENT_AUTH.into(), eku.into()]),
            ));
            let r = refusal(&f, None);
            bad_request(&r);
            assert_eq!(
                r.reason,
                RefusalReason::ExtendedKeyUsageNotAllowed { oid: eku.into() }
            );
        }
    }

    #[test]
    fn basic_constraints_ca_true_refused_ca_false_accepted() {
        let f = with_ext(ext(
            oid::EXT_BASIC_CONSTRAINTS,
            RequestedValue::BasicConstraints { ca: true },
        ));
        assert_eq!(refusal(&f, None).reason, RefusalReason::CaRequested);
        let f = with_ext(ext(
            oid::EXT_BASIC_CONSTRAINTS,
            RequestedValue::BasicConstraints { ca: false },
        ));
        issue(&f, None);
    }

    #[test]
    fn key_usage_outside_template_refused() {
        for bits in [
            ku::KEY_CERT_SIGN,
            ku::CRL_SIGN,
            ku::DIGITAL_SIGNATURE | ku::KEY_CERT_SIGN,
            ku::NON_REPUDIATION,
            ku::DATA_ENCIPHERMENT,
        ] {
            let f = with_ext(ext(oid::EXT_KEY_USAGE, RequestedValue::KeyUsage(bits)));
            let r = refusal(&f, None);
            assert!(
                matches!(r.reason, RefusalReason::KeyUsageNotAllowed { .. }),
                "{bits:#x}"
            );
        }
        let f = with_ext(ext(
            oid::EXT_KEY_USAGE,
            RequestedValue::KeyUsage(ku::DIGITAL_SIGNATURE | ku::KEY_ENCIPHERMENT),
        ));
        issue(&f, None);
        // keyEncipherment is RSA-only.
        let mut f = with_ext(ext(
            oid::EXT_KEY_USAGE,
            RequestedValue::KeyUsage(ku::KEY_ENCIPHERMENT),
        ));
        f.public_key = PublicKeyFacts::Ec {
            curve_oid: oid::CURVE_P256.into(),
        };
        refusal(&f, None);
    }

    #[test]
    fn checked_extensions_are_accepted_but_never_copied() {
        let mut f = good();
        f.requested_extensions.push(ext(
            oid::EXT_SUBJECT_KEY_IDENTIFIER,
            RequestedValue::SubjectKeyIdentifier,
        ));
        f.requested_extensions.push(ext(
            oid::EXT_BASIC_CONSTRAINTS,
            RequestedValue::BasicConstraints { ca: false },
        ));
        assert_eq!(issue(&f, None), issue(&good(), None));
    }

    #[test]
    fn other_extensions_refused() {
        for o in [
            oid::EXT_MS_APPLICATION_POLICIES,
            oid::EXT_MS_TEMPLATE_INFO,
            oid::EXT_MS_TEMPLATE_NAME,
            oid::EXT_MS_NTDS_SECURITY,
            oid::EXT_CERTIFICATE_POLICIES,
            oid::EXT_NAME_CONSTRAINTS,
            oid::EXT_POLICY_CONSTRAINTS,
            oid::EXT_AUTHORITY_INFO_ACCESS,
            oid::EXT_CRL_DISTRIBUTION_POINTS,
            oid::EXT_SUBJECT_INFO_ACCESS,
            "1.2.3.4",
        ] {
            let r = refusal(&with_ext(ext(o, RequestedValue::Other)), None);
            bad_request(&r);
            assert_eq!(
                r.reason,
                RefusalReason::ExtensionNotAllowed { oid: o.into() }
            );
        }
    }

    #[test]
    fn mislabeled_extension_values_refused() {
        // An EKU value claimed under the SAN OID: the facts disagree with themselves.
        let f = with_ext(ext(
            oid::EXT_MS_APPLICATION_POLICIES,
            RequestedValue::ExtendedKeyUsage(vec![oid::EKU_CLIENT_AUTH.into()]),
        ));
        assert!(matches!(
            refusal(&f, None).reason,
            RefusalReason::ExtensionNotAllowed { .. }
        ));
        let f = with_ext(ext(oid::EXT_KEY_USAGE, RequestedValue::Malformed));
        assert!(matches!(
            refusal(&f, None).reason,
            RefusalReason::MalformedExtension { .. }
        ));
    }

    #[test]
    fn duplicate_extensions_refused() {
        let f = with_ext(ext(
            oid::EXT_SUBJECT_ALT_NAME,
            RequestedValue::SubjectAltName,
        ));
        assert_eq!(
            refusal(&f, None).reason,
            RefusalReason::DuplicateExtension {
                oid: oid::EXT_SUBJECT_ALT_NAME.into()
            }
        );
    }

    #[test]
    fn san_kinds_not_allowed_refused() {
        for san in [
            SanFact::OtherName {
                type_id: oid::SAN_OTHER_NAME_UPN.into(),
            },
            SanFact::OtherName {
                type_id: "1.2.3".into(),
            },
            SanFact::Email("a@corp.example".into()),
            SanFact::Ip(vec![10, 0, 0, 1]),
            SanFact::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500".into()),
            SanFact::Uri("https://corp.example/".into()),
            SanFact::Other("directoryName".into()),
        ] {
            let mut f = good();
            f.subject_alt_names.push(san.clone());
            let r = refusal(&f, None);
            bad_request(&r);
            assert!(
                matches!(r.reason, RefusalReason::SanKindNotAllowed { .. }),
                "{san:?}"
            );
        }
    }

    #[test]
    fn ip_and_email_sans_only_when_the_template_allows() {
        let mut spec = TemplateSpec::device();
        spec.san_kinds = SanKinds {
            dns: true,
            ip: true,
            email: true,
        };
        spec.san_rules.ip_ranges = vec!["10.0.0.0/8".into()];
        spec.san_rules.email_domains = vec!["corp.example".into()];
        let t = Template::new(spec).unwrap();
        let mut f = good();
        f.subject_alt_names.push(SanFact::Ip(vec![10, 0, 0, 1]));
        f.subject_alt_names
            .push(SanFact::Email("Dev1@Corp.Example".into()));
        let Decision::Issue(p) = decide(&f, &t, None) else {
            panic!("refused")
        };
        assert_eq!(p.ip_addresses, [vec![10, 0, 0, 1]]);
        assert_eq!(p.emails, ["Dev1@corp.example"]);
        // Still no UPN, and still well-formed values only.
        let mut f = good();
        f.subject_alt_names.push(SanFact::Ip(vec![10, 0, 0]));
        assert!(matches!(
            refusal_for(&f, &t, None).reason,
            RefusalReason::InvalidIpAddress { len: 3 }
        ));
        let mut f = good();
        f.subject_alt_names.push(SanFact::OtherName {
            type_id: oid::SAN_OTHER_NAME_UPN.into(),
        });
        refusal_for(&f, &t, None);
    }

    #[test]
    fn dns_name_tricks_refused() {
        for name in [
            "dev1\0.evil.com",
            "*.corp.example",
            "DEV1.corp.example.",
            "dev1..corp.example",
            "dеv1.corp.example",
            "",
        ] {
            let mut f = good();
            f.subject_alt_names = vec![SanFact::Dns(name.into())];
            let r = refusal(&f, None);
            bad_request(&r);
            assert!(
                matches!(r.reason, RefusalReason::InvalidDnsName { .. }),
                "{name:?}"
            );
        }
    }

    #[test]
    fn dns_names_are_normalized_and_deduplicated() {
        let mut f = good();
        f.subject_alt_names = vec![
            SanFact::Dns("A.Example".into()),
            SanFact::Dns("a.example".into()),
            SanFact::Dns("b.example".into()),
        ];
        assert_eq!(issue(&f, None).dns_names, ["a.example", "b.example"]);
    }

    #[test]
    fn subject_shape_rules() {
        let mut f = good();
        f.subject = vec![cn("a"), cn("b")];
        assert_eq!(refusal(&f, None).reason, RefusalReason::MultipleCommonNames);

        let mut f = good();
        let mut a = cn("a");
        a.multi_valued_rdn = true;
        let mut b = org("b");
        b.multi_valued_rdn = true;
        f.subject = vec![a, b];
        assert_eq!(refusal(&f, None).reason, RefusalReason::MultiValuedRdn);

        let mut f = good();
        f.subject = vec![cn("dev1\u{0}admin")];
        assert!(matches!(
            refusal(&f, None).reason,
            RefusalReason::ControlCharacterInSubject { .. }
        ));
    }

    #[test]
    fn a_request_needs_some_name() {
        let mut f = good();
        f.subject.clear();
        f.subject_alt_names.clear();
        f.requested_extensions.clear();
        assert_eq!(refusal(&f, None).reason, RefusalReason::NoName);
        // A SAN alone, or a subject alone, is enough.
        let mut f = good();
        f.subject.clear();
        issue(&f, None);
        let mut f = good();
        f.subject_alt_names.clear();
        issue(&f, None);
    }

    #[test]
    fn request_attributes_refused() {
        for attr in [
            oid::ATTR_MS_ENROLLMENT_NAME_VALUE_PAIR,
            "1.3.6.1.4.1.311.13.1",
            "1.2.3.4",
        ] {
            let mut f = good();
            f.attributes.push(attr.into());
            assert_eq!(
                refusal(&f, None).reason,
                RefusalReason::AttributeNotAllowed { oid: attr.into() }
            );
        }
    }

    #[test]
    fn validity_is_the_templates_whatever_the_request() {
        // No fact can carry a validity: the profile's is the template's.
        let t = Template::new(TemplateSpec {
            validity_days: 30,
            ..Template::device().spec().clone()
        })
        .unwrap();
        let Decision::Issue(p) = decide(&good(), &t, None) else {
            panic!("refused")
        };
        assert_eq!(p.validity_days, 30);
    }

    fn binding(template: Option<&str>, subject: Option<&str>, sans: &[&str]) -> Binding {
        Binding {
            template: template.map(Into::into),
            subject: subject.map(Into::into),
            sans: sans.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn binding_matches_normalized() {
        let b = binding(
            Some("device"),
            Some("cn=DEV1, o=org"),
            &["dns:dev1.corp.example"],
        );
        issue(&good(), Some(&b));
        // Template-only binding leaves names free.
        issue(&good(), Some(&binding(Some("device"), None, &[])));
    }

    #[test]
    fn displayed_subject_binds_itself() {
        // Renewal binds the old certificate's subject in its displayed form: it must match the
        // same subject again, whatever characters it holds.
        for values in [
            ["Org, Inc.", "dev+1"],
            ["#hash", " spaced  out "],
            ["a=b;c", "quote\"back\\slash<>"],
        ] {
            let mut f = good();
            f.subject = vec![
                org(values[0]),
                SubjectAttribute {
                    oid: "2.5.4.97".into(),
                    value: "x".into(),
                    multi_valued_rdn: false,
                },
                cn(values[1]),
            ];
            let shown = crate::names::subject_display(&f.subject);
            let b = binding(Some("device"), Some(&shown), &["dns:dev1.corp.example"]);
            let mut spec = TemplateSpec::device();
            spec.subject_rules
                .allowed_attributes
                .push("2.5.4.97".into());
            let t = Template::new(spec).unwrap();
            assert!(matches!(decide(&f, &t, Some(&b)), Decision::Issue(_)));
        }
    }

    #[test]
    fn binding_template_mismatch_refused() {
        let r = refusal(&good(), Some(&binding(Some("vpn"), None, &[])));
        assert!(matches!(r.reason, RefusalReason::TemplateMismatch { .. }));
    }

    #[test]
    fn binding_subject_mismatch_refused() {
        for subject in [
            "CN=dev2,O=Org",
            "O=Org,CN=dev1",
            "CN=dev1",
            "CN=dev1,O=Org,C=US",
        ] {
            let r = refusal(&good(), Some(&binding(None, Some(subject), &[])));
            bad_request(&r);
            assert!(
                r.to_string().contains("name not authorized by challenge"),
                "{subject}: {r}"
            );
        }
    }

    #[test]
    fn esc1_san_outside_binding_refused() {
        let b = binding(None, Some("CN=dev1,O=Org"), &["dns:dev1.corp.example"]);
        let mut f = good();
        f.subject_alt_names
            .push(SanFact::Dns("dc01.corp.example".into()));
        let r = refusal(&f, Some(&b));
        assert_eq!(
            r.reason,
            RefusalReason::NameNotAuthorized {
                name: "dns:dc01.corp.example".into()
            }
        );
        assert!(r.to_string().contains("name not authorized by challenge"));
        // A subject binding alone binds every SAN too.
        let b = binding(None, Some("CN=dev1,O=Org"), &[]);
        assert!(matches!(
            refusal(&good(), Some(&b)).reason,
            RefusalReason::NameNotAuthorized { .. }
        ));
        // Fewer SANs than bound is fine.
        let b = binding(None, None, &["dns:dev1.corp.example", "dns:other.example"]);
        issue(&good(), Some(&b));
    }

    #[test]
    fn invalid_binding_refused() {
        let r = refusal(&good(), Some(&binding(None, None, &["x400:admin"])));
        assert!(matches!(r.reason, RefusalReason::BindingInvalid(_)));
    }

    fn template(edit: impl FnOnce(&mut TemplateSpec)) -> Template {
        let mut spec = TemplateSpec::device();
        edit(&mut spec);
        Template::new(spec).unwrap()
    }

    fn ec(curve: &str) -> PublicKeyFacts {
        PublicKeyFacts::Ec {
            curve_oid: curve.into(),
        }
    }

    fn attr(oid: &str, value: &str) -> SubjectAttribute {
        SubjectAttribute {
            oid: oid.into(),
            value: value.into(),
            multi_valued_rdn: false,
        }
    }

    #[test]
    fn rsa_exponent_65537_only_by_default_and_optionally_wider() {
        let mut f = good();
        f.public_key = PublicKeyFacts::Rsa {
            modulus_bits: 2048,
            exponent: Some(65539),
        };
        assert_eq!(
            refusal(&f, None).reason,
            RefusalReason::RsaExponent {
                exponent: Some(65539),
                only_65537: true
            }
        );
        let wide = template(|s| s.key_rules.rsa_exponent_65537_only = false);
        assert!(matches!(decide(&f, &wide, None), Decision::Issue(_)));
        for e in [Some(3), Some(65538), None] {
            f.public_key = PublicKeyFacts::Rsa {
                modulus_bits: 2048,
                exponent: e,
            };
            assert!(matches!(
                refusal_for(&f, &wide, None).reason,
                RefusalReason::RsaExponent { .. }
            ));
        }
    }

    #[test]
    fn p521_only_when_allowed_explicit_parameters_never() {
        let mut f = good();
        f.public_key = ec(oid::CURVE_P521);
        assert_eq!(refusal(&f, None).code, RefusalCode::BadAlg);
        let t = template(|s| s.key_rules.ec_p521 = true);
        assert!(matches!(
            decide(&f, &t, None),
            Decision::Issue(p) if p.key_usage_bits == ku::DIGITAL_SIGNATURE
        ));
        // Explicit or absent parameters, however reported, are badAlg with their own reason
        // even on the widest template.
        let all = template(|s| s.key_rules.ec_p521 = true);
        for key in [
            ec("explicit parameters"),
            ec("absent parameters"),
            PublicKeyFacts::Other {
                algorithm_oid: oid::EC_PUBLIC_KEY.into(),
            },
        ] {
            let mut f = good();
            f.public_key = key.clone();
            let r = refusal_for(&f, &all, None);
            assert_eq!(r.code, RefusalCode::BadAlg, "{key:?}");
            assert!(
                matches!(r.reason, RefusalReason::ExplicitCurveParameters { .. }),
                "{key:?}"
            );
        }
    }

    #[test]
    fn profile_carries_lifecycle_and_publication_fields() {
        let t = template(|s| {
            s.manual_approval = true;
            s.aia_ca_issuers_url = Some("http://pki.example/ca.crt".into());
            s.ocsp_url = Some("http://pki.example/ocsp".into());
            s.crl_distribution_url = Some("http://pki.example/ca.crl".into());
        });
        let Decision::Issue(p) = decide(&good(), &t, None) else {
            panic!("refused")
        };
        assert!(p.manual_approval);
        assert_eq!(
            p.aia_ca_issuers_url.as_deref(),
            Some("http://pki.example/ca.crt")
        );
        assert_eq!(p.ocsp_url.as_deref(), Some("http://pki.example/ocsp"));
        assert_eq!(
            p.crl_distribution_url.as_deref(),
            Some("http://pki.example/ca.crl")
        );
    }

    #[test]
    fn subject_attribute_types_limited_to_the_template() {
        // Default: CN, O, OU, C, L, ST, serialNumber.
        let mut f = good();
        f.subject = vec![
            attr("2.5.4.6", "DE"),
            attr("2.5.4.8", "Berlin"),
            attr("2.5.4.7", "Berlin"),
            attr("2.5.4.10", "Org"),
            attr("2.5.4.11", "IoT"),
            attr("2.5.4.5", "SN-42"),
            cn("dev1"),
        ];
        issue(&f, None);
        for other in [
            "0.9.2342.19200300.100.1.25",
            "1.2.840.113549.1.9.1",
            "2.5.4.97",
        ] {
            let mut f = good();
            f.subject.push(attr(other, "x"));
            let r = refusal(&f, None);
            bad_request(&r);
            assert_eq!(
                r.reason,
                RefusalReason::SubjectAttributeNotAllowed { oid: other.into() }
            );
        }
        let t = template(|s| s.subject_rules.allowed_attributes = vec!["CN".into()]);
        assert!(matches!(
            refusal_for(&good(), &t, None).reason,
            RefusalReason::SubjectAttributeNotAllowed { .. }
        ));
    }

    #[test]
    fn common_name_required_when_the_template_says() {
        let t = template(|s| s.subject_rules.require_common_name = true);
        let mut f = good();
        f.subject = vec![org("Org")];
        assert_eq!(
            refusal_for(&f, &t, None).reason,
            RefusalReason::CommonNameRequired
        );
        assert!(matches!(decide(&good(), &t, None), Decision::Issue(_)));
        // Without the rule a SAN alone names the device.
        issue(&f, None);
    }

    #[test]
    fn subject_values_must_match_a_pattern() {
        let t = template(|s| {
            s.subject_rules.value_patterns = vec![
                crate::template::ValuePattern {
                    attribute: "CN".into(),
                    patterns: vec!["dev*".into(), "router-*.lab".into()],
                },
                crate::template::ValuePattern {
                    attribute: "O".into(),
                    patterns: vec!["Org".into()],
                },
            ]
        });
        for ok in ["dev1", "DEV-7", "router-1.lab"] {
            let mut f = good();
            f.subject = vec![org("ORG"), cn(ok)];
            assert!(matches!(decide(&f, &t, None), Decision::Issue(_)), "{ok}");
        }
        for (o, v) in [
            (oid::AT_COMMON_NAME, "dev"),
            (oid::AT_COMMON_NAME, "dev1.evil"),
            (oid::AT_COMMON_NAME, "router-1.lab.evil"),
            (oid::AT_COMMON_NAME, "admin"),
            ("2.5.4.10", "Other Org"),
        ] {
            let mut f = good();
            f.subject = vec![org("Org"), cn("dev1")];
            if let Some(a) = f.subject.iter_mut().find(|a| a.oid == o) {
                a.value = v.into();
            }
            assert_eq!(
                refusal_for(&f, &t, None).reason,
                RefusalReason::SubjectValueNotAllowed {
                    oid: o.into(),
                    value: v.into()
                },
                "{v}"
            );
        }
        // Attributes without patterns are free; an absent attribute is not required.
        let mut f = good();
        f.subject = vec![attr("2.5.4.11", "anything"), cn("dev2")];
        assert!(matches!(decide(&f, &t, None), Decision::Issue(_)));
    }

    #[test]
    fn common_name_namespace() {
        let t = template(|s| s.subject_rules.common_name_domains = vec!["example.net".into()]);
        let mut f = good();
        f.subject = vec![cn("Host.Example.NET")];
        assert!(matches!(decide(&f, &t, None), Decision::Issue(_)));
        for (name, outside) in [
            ("badexample.net", true),
            ("example.net.evil", true),
            ("dev1", true),
            ("host.example.net.", false),
            ("*.example.net", false),
            ("host example.net", false),
        ] {
            f.subject = vec![cn(name)];
            let r = refusal_for(&f, &t, None);
            if outside {
                assert_eq!(
                    r.reason,
                    RefusalReason::CommonNameOutsideDomains { name: name.into() }
                );
            } else {
                assert!(
                    matches!(r.reason, RefusalReason::InvalidDnsName { .. }),
                    "{name}: {r}"
                );
            }
        }
    }

    fn server() -> Template {
        template(|s| {
            s.name = "server".into();
            s.extended_key_usages = vec![oid::EKU_SERVER_AUTH.into()];
            s.san_rules.dns_domains = vec!["example.net".into(), "corp.example".into()];
        })
    }

    #[test]
    fn dns_names_must_be_under_the_template_domains() {
        let t = server();
        let mut f = good();
        f.subject = vec![cn("host.example.net")];
        f.subject_alt_names = vec![
            SanFact::Dns("Host.Example.net".into()),
            SanFact::Dns("example.net".into()),
            SanFact::Dns("dev1.corp.example".into()),
        ];
        let Decision::Issue(p) = decide(&f, &t, None) else {
            panic!("refused")
        };
        assert_eq!(
            p.dns_names,
            ["host.example.net", "example.net", "dev1.corp.example"]
        );
        for name in ["badexample.net", "example.net.evil.com", "evil.com", "net"] {
            let mut f = f.clone();
            f.subject_alt_names.push(SanFact::Dns(name.into()));
            let r = refusal_for(&f, &t, None);
            bad_request(&r);
            assert_eq!(
                r.reason,
                RefusalReason::DnsNameOutsideDomains { name: name.into() }
            );
        }
        // serverAuth: a CN outside the SAN domains is refused even without a CN namespace.
        let mut g = f.clone();
        g.subject = vec![cn("bank.example.com")];
        assert!(matches!(
            refusal_for(&g, &t, None).reason,
            RefusalReason::CommonNameOutsideDomains { .. }
        ));
    }

    #[test]
    fn wildcards_only_when_allowed() {
        let mut f = good();
        f.subject = vec![];
        f.subject_alt_names = vec![SanFact::Dns("*.Lab.Example.net".into())];
        assert!(matches!(
            refusal_for(&f, &server(), None).reason,
            RefusalReason::InvalidDnsName {
                why: "wildcard",
                ..
            }
        ));
        let t = template(|s| {
            s.san_rules.dns_domains = vec!["example.net".into()];
            s.san_rules.allow_wildcards = true;
        });
        let Decision::Issue(p) = decide(&f, &t, None) else {
            panic!("refused")
        };
        assert_eq!(p.dns_names, ["*.lab.example.net"]);
        for bad in [
            "*.net",
            "a*.example.net",
            "*.*.example.net",
            "*.example.com",
        ] {
            f.subject_alt_names = vec![SanFact::Dns(bad.into())];
            assert!(
                matches!(
                    refusal_for(&f, &t, None).reason,
                    RefusalReason::InvalidDnsName { .. }
                        | RefusalReason::DnsNameOutsideDomains { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn ip_sans_must_be_in_the_template_ranges() {
        let t = template(|s| {
            s.san_kinds.ip = true;
            s.san_rules.ip_ranges = vec!["10.1.0.0/16".into(), "2001:db8::/32".into()];
        });
        let mut f = good();
        f.subject_alt_names = vec![
            SanFact::Ip(vec![10, 1, 2, 3]),
            SanFact::Ip(
                "2001:db8::7"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
                    .to_vec(),
            ),
        ];
        assert!(matches!(decide(&f, &t, None), Decision::Issue(_)));
        f.subject_alt_names = vec![SanFact::Ip(vec![10, 2, 0, 1])];
        assert_eq!(
            refusal_for(&f, &t, None).reason,
            RefusalReason::IpAddressOutsideRanges {
                address: "10.2.0.1".into()
            }
        );
        f.subject_alt_names = vec![SanFact::Ip(
            "::ffff:10.1.0.1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
                .to_vec(),
        )];
        assert!(matches!(
            refusal_for(&f, &t, None).reason,
            RefusalReason::IpAddressOutsideRanges { .. }
        ));
    }

    #[test]
    fn email_sans_must_be_at_the_template_domains() {
        let t = template(|s| {
            s.san_kinds.email = true;
            s.san_rules.email_domains = vec!["corp.example".into()];
        });
        let mut f = good();
        f.subject_alt_names = vec![SanFact::Email("ops@Corp.Example".into())];
        assert!(matches!(decide(&f, &t, None), Decision::Issue(_)));
        for bad in [
            "ops@evil.example",
            "ops@sub.corp.example",
            "ops@corp.example.evil",
        ] {
            f.subject_alt_names = vec![SanFact::Email(bad.into())];
            assert_eq!(
                refusal_for(&f, &t, None).reason,
                RefusalReason::EmailOutsideDomains {
                    address: bad.into()
                }
            );
        }
    }

    const SMIME_CAPABILITIES: &str = "1.2.840.113549.1.9.15";

    #[test]
    fn tolerated_extensions_pass_non_critical_and_are_not_copied() {
        let f = with_ext(ext(SMIME_CAPABILITIES, RequestedValue::Other));
        assert_eq!(
            refusal(&f, None).reason,
            RefusalReason::ExtensionNotAllowed {
                oid: SMIME_CAPABILITIES.into()
            }
        );
        let t = template(|s| s.tolerated_request_extensions = vec![SMIME_CAPABILITIES.into()]);
        let Decision::Issue(with) = decide(&f, &t, None) else {
            panic!("refused")
        };
        let Decision::Issue(without) = decide(&good(), &t, None) else {
            panic!("refused")
        };
        assert_eq!(with, without);
        let mut critical = ext(SMIME_CAPABILITIES, RequestedValue::Other);
        critical.critical = true;
        assert_eq!(
            refusal_for(&with_ext(critical), &t, None).reason,
            RefusalReason::CriticalExtensionNotHonoured {
                oid: SMIME_CAPABILITIES.into()
            }
        );
        // Duplicates stay refused.
        let mut f = f.clone();
        f.requested_extensions
            .push(ext(SMIME_CAPABILITIES, RequestedValue::Other));
        assert!(matches!(
            refusal_for(&f, &t, None).reason,
            RefusalReason::DuplicateExtension { .. }
        ));
    }

    #[test]
    fn catalogue_c2_c3_refusals_hold_whatever_the_template() {
        // Even a template that skipped validation cannot let these through.
        let forbidden = [
            oid::EXT_MS_APPLICATION_POLICIES,
            oid::EXT_MS_TEMPLATE_INFO,
            oid::EXT_MS_TEMPLATE_NAME,
            oid::EXT_MS_NTDS_SECURITY,
            oid::EXT_CERTIFICATE_POLICIES,
            oid::EXT_NAME_CONSTRAINTS,
            oid::EXT_POLICY_CONSTRAINTS,
            oid::EXT_AUTHORITY_INFO_ACCESS,
            oid::EXT_CRL_DISTRIBUTION_POINTS,
            oid::EXT_SUBJECT_INFO_ACCESS,
        ];
        let mut spec = TemplateSpec::device();
        spec.tolerated_request_extensions = forbidden.iter().map(|s| s.to_string()).collect();
        let t = Template::unchecked(spec);
        for o in forbidden {
            let r = refusal_for(&with_ext(ext(o, RequestedValue::Other)), &t, None);
            assert_eq!(
                r.reason,
                RefusalReason::ExtensionNotAllowed { oid: o.into() },
                "{o}"
            );
        }
        let f = with_ext(ext(
            oid::EXT_BASIC_CONSTRAINTS,
            RequestedValue::BasicConstraints { ca: true },
        ));
        assert_eq!(refusal_for(&f, &t, None).reason, RefusalReason::CaRequested);
    }
}
