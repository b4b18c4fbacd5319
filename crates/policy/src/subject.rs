//! Subject rules: shape (one CN, single-valued RDNs, no control characters) and the template's
//! attribute types, value patterns and CN namespace.

use crate::facts::SubjectAttribute;
use crate::glob;
use crate::names::{normalize_dns_name_or_wildcard, under_domain};
use crate::oid;
use crate::refusal::{Refusal, RefusalReason};
use crate::template::Template;

pub(crate) fn check_subject(
    subject: &[SubjectAttribute],
    template: &Template,
) -> Result<(), Refusal> {
    let refuse = |reason| Err(Refusal::bad_request(reason));
    if subject.iter().any(|a| a.multi_valued_rdn) {
        return refuse(RefusalReason::MultiValuedRdn);
    }
    let mut common_names = subject.iter().filter(|a| a.oid == oid::AT_COMMON_NAME);
    let common_name = common_names.next();
    if common_names.next().is_some() {
        return refuse(RefusalReason::MultipleCommonNames);
    }
    if let Some(a) = subject
        .iter()
        .find(|a| a.value.chars().any(char::is_control))
    {
        return refuse(RefusalReason::ControlCharacterInSubject { oid: a.oid.clone() });
    }
    let rules = template.rules();
    if let Some(a) = subject
        .iter()
        .find(|a| !rules.subject_attributes.contains(&a.oid))
    {
        return refuse(RefusalReason::SubjectAttributeNotAllowed { oid: a.oid.clone() });
    }
    if template.spec().subject_rules.require_common_name && common_name.is_none() {
        return refuse(RefusalReason::CommonNameRequired);
    }
    for a in subject {
        let Some((_, patterns)) = rules.value_patterns.iter().find(|(o, _)| *o == a.oid) else {
            continue;
        };
        if !patterns.iter().any(|p| glob::matches(p, &a.value)) {
            return refuse(RefusalReason::SubjectValueNotAllowed {
                oid: a.oid.clone(),
                value: a.value.clone(),
            });
        }
    }
    if let Some(cn) = common_name
        && !rules.common_name_domains.is_empty()
    {
        let allow_wildcards = template.spec().san_rules.allow_wildcards;
        let name = normalize_dns_name_or_wildcard(&cn.value, allow_wildcards).map_err(|why| {
            Refusal::bad_request(RefusalReason::InvalidDnsName {
                name: cn.value.clone(),
                why,
            })
        })?;
        if !under_domain(&name, &rules.common_name_domains) {
            return refuse(RefusalReason::CommonNameOutsideDomains {
                name: cn.value.clone(),
            });
        }
    }
    Ok(())
}
