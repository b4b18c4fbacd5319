//! subjectAltName rules: the kinds a template allows, plain names only, and the template's DNS
//! domains, IP ranges and e-mail domains.

use crate::binding::SanBinding;
use crate::facts::SanFact;
use crate::names::{normalize_dns_name_or_wildcard, normalize_email, under_domain};
use crate::oid;
use crate::refusal::{Refusal, RefusalReason};
use crate::template::Template;

/// Checks every requested SAN and returns them normalized, in request order.
pub(crate) fn check_sans(
    sans: &[SanFact],
    template: &Template,
) -> Result<Vec<SanBinding>, Refusal> {
    let kinds = template.san_kinds();
    let rules = template.rules();
    let refuse = |reason| Err(Refusal::bad_request(reason));
    let not_allowed =
        |kind: String| Refusal::bad_request(RefusalReason::SanKindNotAllowed { kind });
    let mut names = Vec::with_capacity(sans.len());
    for san in sans {
        let name = match san {
            SanFact::Dns(_) if !kinds.dns => return Err(not_allowed("dNSName".into())),
            SanFact::Dns(name) => {
                let allow_wildcards = template.spec().san_rules.allow_wildcards;
                let normalized =
                    normalize_dns_name_or_wildcard(name, allow_wildcards).map_err(|why| {
                        Refusal::bad_request(RefusalReason::InvalidDnsName {
                            name: name.clone(),
                            why,
                        })
                    })?;
                if !rules.dns_domains.is_empty() && !under_domain(&normalized, &rules.dns_domains) {
                    return refuse(RefusalReason::DnsNameOutsideDomains { name: name.clone() });
                }
                SanBinding::Dns(normalized)
            }
            SanFact::Ip(_) if !kinds.ip => return Err(not_allowed("iPAddress".into())),
            SanFact::Ip(octets) => {
                if octets.len() != 4 && octets.len() != 16 {
                    return refuse(RefusalReason::InvalidIpAddress { len: octets.len() });
                }
                if !rules.ip_ranges.iter().any(|r| r.covers(octets)) {
                    return refuse(RefusalReason::IpAddressOutsideRanges {
                        address: display_ip(octets),
                    });
                }
                SanBinding::Ip(octets.clone())
            }
            SanFact::Email(_) if !kinds.email => return Err(not_allowed("rfc822Name".into())),
            SanFact::Email(address) => {
                let normalized = normalize_email(address).ok_or_else(|| {
                    Refusal::bad_request(RefusalReason::InvalidEmail {
                        name: address.clone(),
                    })
                })?;
                // Exactly at a listed domain: mail for a subdomain is another organisation's
                // mail as often as not.
                let at_domain = normalized
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| rules.email_domains.iter().any(|e| e == d));
                if !at_domain {
                    return refuse(RefusalReason::EmailOutsideDomains {
                        address: address.clone(),
                    });
                }
                SanBinding::Email(normalized)
            }
            SanFact::Uri(uri)
                if uri
                    .to_ascii_lowercase()
                    .starts_with(oid::SAN_URI_SID_PREFIX) =>
            {
                return Err(not_allowed("uniformResourceIdentifier (SID URL)".into()));
            }
            SanFact::Uri(_) => return Err(not_allowed("uniformResourceIdentifier".into())),
            SanFact::OtherName { type_id } if type_id == oid::SAN_OTHER_NAME_UPN => {
                return Err(not_allowed("otherName UPN".into()));
            }
            SanFact::OtherName { type_id } => {
                return Err(not_allowed(format!("otherName {type_id}")));
            }
            SanFact::Other(kind) => return Err(not_allowed(kind.clone())),
        };
        names.push(name);
    }
    Ok(names)
}

/// An iPAddress SAN as text, for the audit log.
pub(crate) fn display_ip(octets: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        "?".to_owned()
    }
}
