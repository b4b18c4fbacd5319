//! Renewal (RFC 8894 §3.3.1.2 RenewalReq, and a PKCSReq signed by a certificate we issued):
//! the request is authorised by the old certificate, so the old certificate bounds it — same
//! template, same subject, no new names, inside the renewal window, a new key by default.
//!
//! Whether the old certificate is ours, unrevoked, and whether the new key is already
//! certified to another subject (RFC 8894 §8.6) needs the database: the RA checks those before
//! calling [`renewal_decision`].

use crate::binding::SanBinding;
use crate::decide::{Decision, describe};
use crate::facts::{RequestFacts, SanFact, SubjectAttribute};
use crate::names::{
    normalize_dns_name_or_wildcard, normalize_email, normalize_value, subject_display,
};
use crate::refusal::{Refusal, RefusalReason};
use crate::template::Template;

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
    /// Every subjectAltName of the old certificate.
    pub sans: Vec<SanFact>,
    /// SHA-256 of the old certificate's SubjectPublicKeyInfo DER.
    pub public_key_sha256: [u8; 32],
    /// The template the old certificate was issued under.
    pub template: String,
}

/// Decides a renewal. `new_key_sha256` is the SHA-256 of the new request's
/// SubjectPublicKeyInfo DER, computed like [`RenewalFacts::public_key_sha256`]; `now` is in
/// Unix seconds.
///
/// Refused, each for its own [`RefusalReason`]: another template than the old certificate's
/// (`RenewalTemplateMismatch`); before the old notBefore (`RenewalNotYetValid`), before the
/// template's window (`RenewalTooEarly`) or after notAfter plus grace (`RenewalExpired`);
/// anything [`crate::decide`] refuses; another subject (`RenewalSubjectChanged`, compared
/// normalized as bindings are); a name the old certificate does not have (`RenewalNameAdded`);
/// the old key when the template wants a new one (`RenewalKeyReused`).
pub fn renewal_decision(
    old: &RenewalFacts,
    new: &RequestFacts,
    new_key_sha256: &[u8; 32],
    template: &Template,
    now: i64,
) -> Decision {
    match check(old, new, new_key_sha256, template, now) {
        Ok(d) => d,
        Err(reason) => Decision::Refuse(Refusal::bad_request(reason)),
    }
}

fn check(
    old: &RenewalFacts,
    new: &RequestFacts,
    new_key_sha256: &[u8; 32],
    template: &Template,
    now: i64,
) -> Result<Decision, RefusalReason> {
    if old.template != template.name() {
        return Err(RefusalReason::RenewalTemplateMismatch {
            old: old.template.clone(),
            requested: template.name().to_owned(),
        });
    }
    check_window(old, template, now)?;
    let profile = match crate::decide::check(new, template, None) {
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
        .chain(profile.emails.iter().map(|e| SanBinding::Email(e.clone())));
    for name in new_names {
        if !old_names.contains(&name) {
            return Err(RefusalReason::RenewalNameAdded {
                name: describe(&name),
            });
        }
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
        SanFact::Uri(_) | SanFact::OtherName { .. } | SanFact::Other(_) => None,
    }
}
