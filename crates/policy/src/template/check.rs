//! Template validation at configuration load: every error names the template and the value.

use super::{
    MAX_RENEWAL_GRACE_DAYS, MAX_VALIDITY_DAYS, RSA_CEILING_BITS, RSA_FLOOR_BITS, Rules,
    TemplateSpec,
};
use crate::cidr::IpRange;
use crate::glob;
use crate::names::{attribute_type_oid, normalize_dns_name};
use crate::oid;

/// CN, O, OU, C, L, ST, serialNumber.
pub(crate) const DEFAULT_SUBJECT_ATTRIBUTE_OIDS: [&str; 7] = [
    oid::AT_COMMON_NAME,
    "2.5.4.10",
    "2.5.4.11",
    "2.5.4.6",
    "2.5.4.7",
    "2.5.4.8",
    "2.5.4.5",
];

/// Why a template is not accepted at configuration load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("template name must be non-empty printable ASCII without spaces")]
    BadName,
    #[error("template {0:?} has no extended key usage (ESC2)")]
    NoExtendedKeyUsage(String),
    #[error("template {template:?} lists the forbidden extended key usage {oid} (ESC2/ESC3)")]
    ForbiddenExtendedKeyUsage { template: String, oid: String },
    #[error("template {template:?} lists {oid:?}, which is not a dotted OID")]
    BadOid { template: String, oid: String },
    #[error("template {0:?} lists an extended key usage twice")]
    DuplicateExtendedKeyUsage(String),
    #[error("template {0:?} validity must be 1..=3650 days")]
    BadValidity(String),
    #[error("template {0:?} key rules must stay within RSA 2048..=8192")]
    BadKeyRules(String),
    #[error("template {template:?}: subject attribute type {attribute:?} is unknown")]
    BadAttribute { template: String, attribute: String },
    #[error("template {template:?}: pattern {pattern:?} for {attribute:?}: {why}")]
    BadPattern {
        template: String,
        attribute: String,
        pattern: String,
        why: &'static str,
    },
    #[error("template {template:?}: {attribute:?} has patterns but is not an allowed attribute")]
    PatternForDisallowedAttribute { template: String, attribute: String },
    #[error("template {0:?} requires a CN but does not allow the CN attribute")]
    CommonNameRequiredButNotAllowed(String),
    #[error("template {template:?}: domain {domain:?} is not a plain host name: {why}")]
    BadDomain {
        template: String,
        domain: String,
        why: &'static str,
    },
    #[error("template {template:?}: {range:?} is not a CIDR range with zero host bits")]
    BadIpRange { template: String, range: String },
    #[error("template {0:?} has serverAuth but does not restrict DNS names to domains")]
    ServerAuthWithoutDomains(String),
    #[error("template {0:?} allows wildcards but does not restrict DNS names to domains")]
    WildcardsWithoutDomains(String),
    #[error("template {0:?} allows iPAddress SANs but lists no IP range")]
    IpSansWithoutRanges(String),
    #[error("template {0:?} allows rfc822Name SANs but lists no e-mail domain")]
    EmailSansWithoutDomains(String),
    #[error("template {template:?} has {rule} rules but does not allow {kind} SANs")]
    SanRuleWithoutKind {
        template: String,
        rule: &'static str,
        kind: &'static str,
    },
    #[error("template {template:?} may never tolerate the request extension {oid}")]
    ForbiddenRequestExtension { template: String, oid: String },
    #[error("template {template:?}: {field} {url:?} is not an http:// URL")]
    BadUrl {
        template: String,
        field: &'static str,
        url: String,
    },
    #[error("template {0:?} renewal window is longer than the validity")]
    RenewalWindowTooLong(String),
    #[error("template {0:?} renewal grace is longer than 90 days")]
    RenewalGraceTooLong(String),
    #[error(
        "template {template:?} has mdm_vouched.{setting} but does not list the extended key usage {oid} it vouches for"
    )]
    MdmVouchedEkuNotListed {
        template: String,
        setting: &'static str,
        oid: &'static str,
    },
}

/// Extensions the CA alone decides, whatever a template says: certificate-shaping X.509
/// extensions (id-ce 2.5.29, id-pe 1.3.6.1.5.5.7.1: basicConstraints, keyUsage, name and
/// policy constraints, certificatePolicies, AIA, CDP, SIA, …) and every Microsoft extension
/// (application policies = ESC15, template name/information, the SID extension).
pub(crate) fn never_tolerated(extension_oid: &str) -> bool {
    const ARCS: [&str; 3] = ["2.5.29.", "1.3.6.1.5.5.7.1.", "1.3.6.1.4.1.311."];
    ARCS.iter().any(|arc| extension_oid.starts_with(arc))
}

pub(super) fn check(spec: &TemplateSpec) -> Result<Rules, TemplateError> {
    let name = &spec.name;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TemplateError::BadName);
    }
    check_ekus(spec)?;
    check_mdm_vouched(spec)?;
    if spec.validity_days == 0 || spec.validity_days > MAX_VALIDITY_DAYS {
        return Err(TemplateError::BadValidity(name.clone()));
    }
    let k = &spec.key_rules;
    if k.rsa_min_bits < RSA_FLOOR_BITS
        || k.rsa_max_bits > RSA_CEILING_BITS
        || k.rsa_min_bits > k.rsa_max_bits
    {
        return Err(TemplateError::BadKeyRules(name.clone()));
    }
    if spec.renewal_window_days > spec.validity_days {
        return Err(TemplateError::RenewalWindowTooLong(name.clone()));
    }
    if spec.renewal_grace_days > MAX_RENEWAL_GRACE_DAYS {
        return Err(TemplateError::RenewalGraceTooLong(name.clone()));
    }
    for (field, url) in [
        ("aia_ca_issuers_url", &spec.aia_ca_issuers_url),
        ("ocsp_url", &spec.ocsp_url),
        ("crl_distribution_url", &spec.crl_distribution_url),
    ] {
        if let Some(url) = url
            && !is_http_url(url)
        {
            return Err(TemplateError::BadUrl {
                template: name.clone(),
                field,
                url: url.clone(),
            });
        }
    }
    for ext in &spec.tolerated_request_extensions {
        if !is_dotted_oid(ext) {
            return Err(TemplateError::BadOid {
                template: name.clone(),
                oid: ext.clone(),
            });
        }
        if never_tolerated(ext) {
            return Err(TemplateError::ForbiddenRequestExtension {
                template: name.clone(),
                oid: ext.clone(),
            });
        }
    }
    let (dns_domains, ip_ranges, email_domains) = check_sans(spec)?;
    let (subject_attributes, value_patterns, mut common_name_domains) = check_subject(spec)?;
    if common_name_domains.is_empty() && has_server_auth(spec) {
        common_name_domains = dns_domains.clone();
    }
    Ok(Rules {
        subject_attributes,
        value_patterns,
        common_name_domains,
        dns_domains,
        ip_ranges,
        email_domains,
    })
}

fn has_server_auth(spec: &TemplateSpec) -> bool {
    spec.extended_key_usages
        .iter()
        .any(|e| e == oid::EKU_SERVER_AUTH)
}

fn check_ekus(spec: &TemplateSpec) -> Result<(), TemplateError> {
    let name = &spec.name;
    if spec.extended_key_usages.is_empty() {
        return Err(TemplateError::NoExtendedKeyUsage(name.clone()));
    }
    for (i, eku) in spec.extended_key_usages.iter().enumerate() {
        if !is_dotted_oid(eku) {
            return Err(TemplateError::BadOid {
                template: name.clone(),
                oid: eku.clone(),
            });
        }
        if [
            oid::EKU_ANY,
            oid::EKU_CERTIFICATE_REQUEST_AGENT,
            oid::EKU_OCSP_SIGNING,
        ]
        .contains(&eku.as_str())
        {
            return Err(TemplateError::ForbiddenExtendedKeyUsage {
                template: name.clone(),
                oid: eku.clone(),
            });
        }
        if spec.extended_key_usages.iter().take(i).any(|e| e == eku) {
            return Err(TemplateError::DuplicateExtendedKeyUsage(name.clone()));
        }
    }
    Ok(())
}

/// A vouched EKU is one of the template's EKUs that only validated requests get: the template
/// must list it, so that reading the EKU list tells everything a certificate can carry.
fn check_mdm_vouched(spec: &TemplateSpec) -> Result<(), TemplateError> {
    if spec.mdm_vouched.ipsec_tunnel_eku
        && !spec
            .extended_key_usages
            .iter()
            .any(|e| e == oid::EKU_IPSEC_TUNNEL)
    {
        return Err(TemplateError::MdmVouchedEkuNotListed {
            template: spec.name.clone(),
            setting: "ipsec_tunnel_eku",
            oid: oid::EKU_IPSEC_TUNNEL,
        });
    }
    Ok(())
}

type SanParts = (Vec<String>, Vec<IpRange>, Vec<String>);

fn check_sans(spec: &TemplateSpec) -> Result<SanParts, TemplateError> {
    let name = &spec.name;
    let rules = &spec.san_rules;
    let kinds = spec.san_kinds;
    let without = |rule, kind| TemplateError::SanRuleWithoutKind {
        template: name.clone(),
        rule,
        kind,
    };
    if !kinds.dns && (!rules.dns_domains.is_empty() || rules.allow_wildcards) {
        return Err(without("DNS domain or wildcard", "dNSName"));
    }
    if !kinds.ip && !rules.ip_ranges.is_empty() {
        return Err(without("IP range", "iPAddress"));
    }
    if !kinds.email && !rules.email_domains.is_empty() {
        return Err(without("e-mail domain", "rfc822Name"));
    }
    let dns_domains = domains(name, &rules.dns_domains)?;
    if has_server_auth(spec) && dns_domains.is_empty() {
        return Err(TemplateError::ServerAuthWithoutDomains(name.clone()));
    }
    if rules.allow_wildcards && dns_domains.is_empty() {
        return Err(TemplateError::WildcardsWithoutDomains(name.clone()));
    }
    let ip_ranges = rules
        .ip_ranges
        .iter()
        .map(|r| {
            IpRange::parse(r).ok_or_else(|| TemplateError::BadIpRange {
                template: name.clone(),
                range: r.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if kinds.ip && ip_ranges.is_empty() {
        return Err(TemplateError::IpSansWithoutRanges(name.clone()));
    }
    let email_domains = domains(name, &rules.email_domains)?;
    if kinds.email && email_domains.is_empty() {
        return Err(TemplateError::EmailSansWithoutDomains(name.clone()));
    }
    Ok((dns_domains, ip_ranges, email_domains))
}

fn domains(template: &str, list: &[String]) -> Result<Vec<String>, TemplateError> {
    list.iter()
        .map(|d| {
            normalize_dns_name(d).map_err(|why| TemplateError::BadDomain {
                template: template.to_owned(),
                domain: d.clone(),
                why,
            })
        })
        .collect()
}

type SubjectParts = (Vec<String>, Vec<(String, Vec<String>)>, Vec<String>);

fn check_subject(spec: &TemplateSpec) -> Result<SubjectParts, TemplateError> {
    let name = &spec.name;
    let rules = &spec.subject_rules;
    let attribute = |a: &String| {
        attribute_type_oid(a.trim()).ok_or_else(|| TemplateError::BadAttribute {
            template: name.clone(),
            attribute: a.clone(),
        })
    };
    let mut allowed = Vec::new();
    for a in &rules.allowed_attributes {
        let oid = attribute(a)?;
        if !allowed.contains(&oid) {
            allowed.push(oid);
        }
    }
    if rules.require_common_name && !allowed.iter().any(|o| o == oid::AT_COMMON_NAME) {
        return Err(TemplateError::CommonNameRequiredButNotAllowed(name.clone()));
    }
    let mut patterns: Vec<(String, Vec<String>)> = Vec::new();
    for p in &rules.value_patterns {
        let oid = attribute(&p.attribute)?;
        if !allowed.contains(&oid) {
            return Err(TemplateError::PatternForDisallowedAttribute {
                template: name.clone(),
                attribute: p.attribute.clone(),
            });
        }
        let bad = |pattern: &String, why| TemplateError::BadPattern {
            template: name.clone(),
            attribute: p.attribute.clone(),
            pattern: pattern.clone(),
            why,
        };
        if p.patterns.is_empty() {
            return Err(bad(&String::new(), "no pattern listed"));
        }
        let checked = p
            .patterns
            .iter()
            .map(|pattern| glob::check_pattern(pattern).map_err(|why| bad(pattern, why)))
            .collect::<Result<Vec<_>, _>>()?;
        // Two entries for one attribute would read as AND to some and OR to others: merge
        // them, the documented meaning being "matches one of".
        match patterns.iter_mut().find(|(o, _)| *o == oid) {
            Some((_, existing)) => existing.extend(checked),
            None => patterns.push((oid, checked)),
        }
    }
    let cn_domains = domains(name, &rules.common_name_domains)?;
    if !cn_domains.is_empty() && !allowed.iter().any(|o| o == oid::AT_COMMON_NAME) {
        return Err(TemplateError::PatternForDisallowedAttribute {
            template: name.clone(),
            attribute: "CN".to_owned(),
        });
    }
    Ok((allowed, patterns, cn_domains))
}

/// `http://host[:port][/path]`, printable ASCII without spaces or quotes. HTTPS is refused on
/// purpose: a relying party fetching a CRL or an issuer over TLS may need that very CRL or
/// issuer to validate the TLS connection (RFC 5280 §4.2.1.13, §4.2.2.1).
fn is_http_url(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))
    else {
        return false;
    };
    let host = rest.split(['/', ':', '?']).next().unwrap_or_default();
    url.len() <= 2048
        && !host.is_empty()
        && !host.contains('@')
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b))
}

/// `arc(.arc)+`, decimal arcs without leading zeros, first arc 0..=2.
pub(crate) fn is_dotted_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    if arcs.len() < 2 {
        return false;
    }
    let arcs_ok = arcs.iter().all(|a| {
        !a.is_empty()
            && a.bytes().all(|b| b.is_ascii_digit())
            && (a.len() == 1 || !a.starts_with('0'))
    });
    arcs_ok && matches!(arcs.first(), Some(&"0" | &"1" | &"2"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::template::{SanKinds, Template, ValuePattern};

    fn base() -> TemplateSpec {
        TemplateSpec::named("t", &[oid::EKU_CLIENT_AUTH])
    }

    fn err(spec: TemplateSpec) -> TemplateError {
        Template::new(spec).unwrap_err()
    }

    #[test]
    fn server_auth_needs_dns_domains_and_namespaces_the_cn() {
        let mut s = base();
        s.extended_key_usages = vec![oid::EKU_SERVER_AUTH.into()];
        assert_eq!(
            err(s.clone()),
            TemplateError::ServerAuthWithoutDomains("t".into())
        );
        s.san_rules.dns_domains = vec!["Example.NET".into()];
        let t = Template::new(s.clone()).unwrap();
        assert_eq!(t.rules().dns_domains, ["example.net"]);
        assert_eq!(t.rules().common_name_domains, ["example.net"]);
        // An explicit CN namespace wins.
        s.subject_rules.common_name_domains = vec!["hosts.example.net".into()];
        let t = Template::new(s).unwrap();
        assert_eq!(t.rules().common_name_domains, ["hosts.example.net"]);
    }

    #[test]
    fn domains_must_be_plain_host_names() {
        for bad in [
            "*.example.net",
            "example.net.",
            "",
            "exa mple.net",
            "10.0.0.1",
        ] {
            let mut s = base();
            s.san_rules.dns_domains = vec![bad.into()];
            assert!(matches!(err(s), TemplateError::BadDomain { .. }), "{bad:?}");
        }
        let mut s = base();
        s.subject_rules.common_name_domains = vec!["a..b".into()];
        assert!(matches!(err(s), TemplateError::BadDomain { .. }));
    }

    #[test]
    fn wildcards_need_domains() {
        let mut s = base();
        s.san_rules.allow_wildcards = true;
        assert_eq!(
            err(s.clone()),
            TemplateError::WildcardsWithoutDomains("t".into())
        );
        s.san_rules.dns_domains = vec!["example.net".into()];
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn ip_and_email_sans_need_ranges_and_domains() {
        let mut s = base();
        s.san_kinds.ip = true;
        assert_eq!(
            err(s.clone()),
            TemplateError::IpSansWithoutRanges("t".into())
        );
        s.san_rules.ip_ranges = vec!["10.0.0.1/8".into()];
        assert_eq!(
            err(s.clone()),
            TemplateError::BadIpRange {
                template: "t".into(),
                range: "10.0.0.1/8".into()
            }
        );
        s.san_rules.ip_ranges = vec!["10.0.0.0/8".into(), "2001:db8::/32".into()];
        assert!(Template::new(s.clone()).is_ok());
        s.san_kinds.email = true;
        assert_eq!(
            err(s.clone()),
            TemplateError::EmailSansWithoutDomains("t".into())
        );
        s.san_rules.email_domains = vec!["corp.example".into()];
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn san_rules_without_their_kind_are_a_mistake() {
        let mut s = base();
        s.san_rules.ip_ranges = vec!["10.0.0.0/8".into()];
        assert!(matches!(
            err(s),
            TemplateError::SanRuleWithoutKind {
                kind: "iPAddress",
                ..
            }
        ));
        let mut s = base();
        s.san_rules.email_domains = vec!["corp.example".into()];
        assert!(matches!(
            err(s),
            TemplateError::SanRuleWithoutKind {
                kind: "rfc822Name",
                ..
            }
        ));
        let mut s = base();
        s.san_kinds = SanKinds {
            dns: false,
            ip: false,
            email: false,
        };
        s.san_rules.dns_domains = vec!["corp.example".into()];
        assert!(matches!(
            err(s),
            TemplateError::SanRuleWithoutKind {
                kind: "dNSName",
                ..
            }
        ));
    }

    #[test]
    fn subject_rules_checked() {
        let mut s = base();
        s.subject_rules.allowed_attributes = vec!["CN".into(), "XYZ".into()];
        assert!(matches!(err(s), TemplateError::BadAttribute { .. }));

        let mut s = base();
        s.subject_rules.allowed_attributes = vec!["O".into()];
        s.subject_rules.require_common_name = true;
        assert_eq!(
            err(s),
            TemplateError::CommonNameRequiredButNotAllowed("t".into())
        );

        let mut s = base();
        s.subject_rules.value_patterns = vec![ValuePattern {
            attribute: "UID".into(),
            patterns: vec!["x".into()],
        }];
        assert!(matches!(
            err(s),
            TemplateError::PatternForDisallowedAttribute { .. }
        ));

        let mut s = base();
        s.subject_rules.allowed_attributes = vec!["O".into()];
        s.subject_rules.common_name_domains = vec!["corp.example".into()];
        assert!(matches!(
            err(s),
            TemplateError::PatternForDisallowedAttribute { .. }
        ));

        for (patterns, why) in [
            (vec![], "no pattern listed"),
            (vec!["a**b".to_owned()], "more than one '*' in a label"),
            (vec!["ok".to_owned(), " ".to_owned()], "empty"),
        ] {
            let mut s = base();
            s.subject_rules.value_patterns = vec![ValuePattern {
                attribute: "cn".into(),
                patterns,
            }];
            assert!(
                matches!(err(s), TemplateError::BadPattern { why: w, .. } if w == why),
                "{why}"
            );
        }
    }

    #[test]
    fn attribute_names_and_oids_normalize_and_patterns_merge() {
        let mut s = base();
        s.subject_rules.allowed_attributes = vec!["cn".into(), "2.5.4.10".into(), "CN".into()];
        s.subject_rules.value_patterns = vec![
            ValuePattern {
                attribute: "CN".into(),
                patterns: vec!["Dev-*".into()],
            },
            ValuePattern {
                attribute: "2.5.4.3".into(),
                patterns: vec!["router-*".into()],
            },
        ];
        let t = Template::new(s).unwrap();
        assert_eq!(t.rules().subject_attributes, ["2.5.4.3", "2.5.4.10"]);
        assert_eq!(
            t.rules().value_patterns,
            [(
                "2.5.4.3".to_owned(),
                vec!["dev-*".to_owned(), "router-*".to_owned()]
            )]
        );
    }

    #[test]
    fn tolerated_extensions_never_include_shaping_or_microsoft_ones() {
        for o in [
            oid::EXT_BASIC_CONSTRAINTS,
            oid::EXT_NAME_CONSTRAINTS,
            oid::EXT_CERTIFICATE_POLICIES,
            oid::EXT_POLICY_CONSTRAINTS,
            oid::EXT_AUTHORITY_INFO_ACCESS,
            oid::EXT_SUBJECT_INFO_ACCESS,
            oid::EXT_CRL_DISTRIBUTION_POINTS,
            oid::EXT_MS_APPLICATION_POLICIES,
            oid::EXT_MS_TEMPLATE_INFO,
            oid::EXT_MS_TEMPLATE_NAME,
            oid::EXT_MS_NTDS_SECURITY,
            "2.5.29.54",
            "1.3.6.1.5.5.7.1.24",
        ] {
            let mut s = base();
            s.tolerated_request_extensions = vec![o.into()];
            assert!(
                matches!(err(s), TemplateError::ForbiddenRequestExtension { .. }),
                "{o}"
            );
        }
        let mut s = base();
        s.tolerated_request_extensions = vec!["smimeCapabilities".into()];
        assert!(matches!(err(s), TemplateError::BadOid { .. }));
        let mut s = base();
        // S/MIME capabilities, which Windows clients send.
        s.tolerated_request_extensions = vec!["1.2.840.113549.1.9.15".into()];
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn urls_must_be_plain_http() {
        for (field, bad) in [
            ("aia_ca_issuers_url", "https://pki.example/ca.crt"),
            ("ocsp_url", "ldap://pki.example/"),
            ("crl_distribution_url", "http://"),
            ("crl_distribution_url", "http://pki.example/a b.crl"),
            ("crl_distribution_url", "http://user@pki.example/ca.crl"),
            ("ocsp_url", "http://pki.example/\n"),
            ("ocsp_url", "pki.example/ocsp"),
        ] {
            let mut s = base();
            match field {
                "aia_ca_issuers_url" => s.aia_ca_issuers_url = Some(bad.into()),
                "ocsp_url" => s.ocsp_url = Some(bad.into()),
                _ => s.crl_distribution_url = Some(bad.into()),
            }
            assert_eq!(
                err(s),
                TemplateError::BadUrl {
                    template: "t".into(),
                    field,
                    url: bad.into()
                }
            );
        }
        let mut s = base();
        s.aia_ca_issuers_url = Some("http://pki.example/ca.crt".into());
        s.ocsp_url = Some("HTTP://pki.example:8080/ocsp".into());
        s.crl_distribution_url = Some("http://pki.example/ca.crl".into());
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn renewal_window_and_grace_bounded() {
        let mut s = base();
        s.validity_days = 30;
        s.renewal_window_days = 31;
        assert_eq!(
            err(s.clone()),
            TemplateError::RenewalWindowTooLong("t".into())
        );
        s.renewal_window_days = 30;
        assert!(Template::new(s.clone()).is_ok());
        s.renewal_grace_days = 91;
        assert_eq!(
            err(s.clone()),
            TemplateError::RenewalGraceTooLong("t".into())
        );
        s.renewal_grace_days = 90;
        s.renewal_window_days = 0;
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn a_vouched_eku_must_be_listed() {
        let mut s = base();
        s.mdm_vouched.ipsec_tunnel_eku = true;
        assert_eq!(
            err(s.clone()),
            TemplateError::MdmVouchedEkuNotListed {
                template: "t".into(),
                setting: "ipsec_tunnel_eku",
                oid: oid::EKU_IPSEC_TUNNEL,
            }
        );
        s.extended_key_usages.push(oid::EKU_IPSEC_TUNNEL.into());
        assert!(Template::new(s).is_ok());
        // Vouched names need no other setting: without validation they are refused anyway,
        // and e-mail at any domain needs no e-mail domain list.
        let mut s = base();
        s.mdm_vouched.upn = true;
        s.mdm_vouched.sid_uri = true;
        s.mdm_vouched.email = true;
        let t = Template::new(s).unwrap();
        assert!(t.mdm_vouched().any());
        assert!(!Template::device().mdm_vouched().any());
    }
}
