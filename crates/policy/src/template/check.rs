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
