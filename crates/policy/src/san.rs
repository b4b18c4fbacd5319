//! subjectAltName rules: the kinds a template allows, plain names only, and the template's DNS
//! domains, IP ranges and e-mail domains; UPN, the SID URI and e-mail at any domain only where
//! the template's `mdm_vouched` allows them and an MDM validated the request.

use crate::binding::SanBinding;
use crate::facts::SanFact;
use crate::names::{
    normalize_dns_name_or_wildcard, normalize_email, normalize_sid_uri, normalize_upn, under_domain,
};
use crate::oid;
use crate::refusal::{Refusal, RefusalReason};
use crate::template::Template;
use crate::vouching::Vouching;

/// The requested SANs, checked and normalized in request order, and whether any of them
/// passed only because an MDM vouched for it.
pub(crate) struct CheckedSans {
    pub(crate) names: Vec<SanBinding>,
    pub(crate) vouched: bool,
}

/// Checks every requested SAN and returns them normalized, in request order.
pub(crate) fn check_sans(
    sans: &[SanFact],
    template: &Template,
    vouching: Vouching,
) -> Result<CheckedSans, Refusal> {
    let kinds = template.san_kinds();
    let mdm = template.mdm_vouched();
    let validated = vouching.csr_validated();
    let rules = template.rules();
    let refuse = |reason| Err(Refusal::bad_request(reason));
    let not_allowed =
        |kind: String| Refusal::bad_request(RefusalReason::SanKindNotAllowed { kind });
    // A vouched kind on a template that has it, on a request nobody validated.
    let needs_validation =
        |what, setting| Refusal::bad_request(RefusalReason::NeedsMdmValidation { what, setting });
    let mut names = Vec::with_capacity(sans.len());
    let mut vouched = false;
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
            SanFact::Email(address) => {
                let mdm_vouches = mdm.email && validated;
                if !kinds.email && !mdm_vouches {
                    return Err(if mdm.email {
                        needs_validation("rfc822Name subjectAltName", "email")
                    } else {
                        not_allowed("rfc822Name".into())
                    });
                }
                let normalized = normalize_email(address).ok_or_else(|| {
                    Refusal::bad_request(RefusalReason::InvalidEmail {
                        name: address.clone(),
                    })
                })?;
                // Exactly at a listed domain: mail for a subdomain is another organisation's
                // mail as often as not.
                let at_domain = kinds.email
                    && normalized
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| rules.email_domains.iter().any(|e| e == d));
                if !at_domain {
                    if !mdm_vouches {
                        return refuse(RefusalReason::EmailOutsideDomains {
                            address: address.clone(),
                        });
                    }
                    vouched = true;
                }
                SanBinding::Email(normalized)
            }
            SanFact::OtherName { type_id } if type_id != oid::SAN_OTHER_NAME_UPN => {
                return Err(not_allowed(format!("otherName {type_id}")));
            }
            // A UPN, readable (`Upn`) or not (an `OtherName` with the UPN type-id).
            SanFact::Upn(_) | SanFact::OtherName { .. } => {
                if !mdm.upn {
                    return Err(not_allowed("otherName UPN".into()));
                }
                if !validated {
                    return Err(needs_validation("UPN subjectAltName", "upn"));
                }
                let SanFact::Upn(upn) = san else {
                    return refuse(RefusalReason::InvalidUpn {
                        name: "(value not a UTF8String)".into(),
                    });
                };
                let normalized = normalize_upn(upn).ok_or_else(|| {
                    Refusal::bad_request(RefusalReason::InvalidUpn { name: upn.clone() })
                })?;
                vouched = true;
                SanBinding::Upn(normalized)
            }
            SanFact::Uri(uri)
                if uri
                    .to_ascii_lowercase()
                    .starts_with(oid::SAN_URI_SID_PREFIX) =>
            {
                if !mdm.sid_uri {
                    return Err(not_allowed("uniformResourceIdentifier (SID URL)".into()));
                }
                if !validated {
                    return Err(needs_validation("SID URI subjectAltName", "sid_uri"));
                }
                let normalized = normalize_sid_uri(uri).ok_or_else(|| {
                    Refusal::bad_request(RefusalReason::InvalidSidUri { uri: uri.clone() })
                })?;
                vouched = true;
                SanBinding::Uri(normalized)
            }
            SanFact::Uri(_) => return Err(not_allowed("uniformResourceIdentifier".into())),
            SanFact::Other(kind) => return Err(not_allowed(kind.clone())),
        };
        names.push(name);
    }
    Ok(CheckedSans { names, vouched })
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
