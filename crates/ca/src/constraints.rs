//! The constraints a CA certificate puts on what it may issue, and the check that refuses a
//! certificate a verifier would reject (so the CA never signs one).
//!
//! nameConstraints (RFC 5280 §4.2.1.10):
//!
//! ```text
//! NameConstraints ::= SEQUENCE {
//!      permittedSubtrees       [0]     GeneralSubtrees OPTIONAL,
//!      excludedSubtrees        [1]     GeneralSubtrees OPTIONAL }
//! GeneralSubtree ::= SEQUENCE {
//!      base                    GeneralName,
//!      minimum         [0]     BaseDistance DEFAULT 0,
//!      maximum         [1]     BaseDistance OPTIONAL }
//! ```
//!
//! The name forms this CA issues are evaluated: dNSName (SANs, and subject CNs that look like
//! host names, as OpenSSL and older browsers check them), iPAddress, rfc822Name (SANs and the
//! subject's emailAddress) and directoryName (the subject). The SID URI and UPN otherName of
//! MDM-vouched certificates are not evaluated: a CA (or chain) with URI or otherName subtrees
//! refuses to sign them, since a `tag:` URI has no host for a URI constraint and verifiers
//! disagree on otherName constraints. Constraints on forms this CA never writes (x400Address,
//! ediPartyName, registeredID) cannot be violated.
//!
//! An EKU constraint is an extendedKeyUsage extension in a CA certificate: not defined by
//! RFC 5280 for CAs, but OpenSSL (`-purpose`), Windows CryptoAPI and the CA/Browser Forum treat
//! it as the set of usages the CA's certificates may have. A certificate asking for an EKU
//! outside it is refused (anyExtendedKeyUsage in the CA certificate allows everything).

use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::error::{CaError, ImportRejection};
use crate::extensions;
use crate::x509::ParsedCertificate;

const EKU_ANY: &str = "2.5.29.37.0";
const ATTR_COMMON_NAME: &str = "2.5.4.3";
const ATTR_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";

/// The subtrees of one GeneralSubtrees list, by the forms this CA issues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Subtrees {
    dns: Vec<String>,
    /// address ‖ mask: 8 octets (IPv4) or 32 (IPv6).
    ip: Vec<Vec<u8>>,
    email: Vec<String>,
    /// DER of each RDN of the base name, in order.
    directory: Vec<Vec<Vec<u8>>>,
    /// Some uniformResourceIdentifier subtree is listed.
    uri: bool,
    /// Some otherName subtree is listed.
    other_name: bool,
}

/// The constraints of one CA certificate (this CA's, or one of its chain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CaConstraints {
    /// The RFC 4514 subject of the certificate the constraints come from, for messages.
    pub owner: String,
    permitted: Subtrees,
    excluded: Subtrees,
    /// None: no extendedKeyUsage in the CA certificate.
    eku: Option<Vec<String>>,
}

/// The names and usages of a certificate about to be signed.
pub(crate) struct Candidate<'a> {
    pub subject_der: &'a [u8],
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [Vec<u8>],
    pub emails: &'a [String],
    pub upns: &'a [String],
    pub uris: &'a [String],
    pub extended_key_usages: &'a [String],
}

impl CaConstraints {
    /// Reads the nameConstraints and extendedKeyUsage of a CA certificate.
    pub(crate) fn of(cert: &ParsedCertificate) -> Result<CaConstraints, ImportRejection> {
        let owner = cert.cert.tbs_certificate().subject().to_string();
        let mut out = CaConstraints {
            owner,
            ..CaConstraints::default()
        };
        match cert.extension(policy::oid::EXT_NAME_CONSTRAINTS) {
            Ok(None) => {}
            Ok(Some((_, v))) => {
                let nc = NameConstraints::from_der(v)
                    .map_err(|_| ImportRejection::Constraints("does not decode"))?;
                out.permitted = subtrees(nc.permitted_subtrees.as_deref().unwrap_or_default())?;
                out.excluded = subtrees(nc.excluded_subtrees.as_deref().unwrap_or_default())?;
            }
            Err(_) => return Err(ImportRejection::Constraints("present twice")),
        }
        if let Ok(Some((_, v))) = cert.extension(policy::oid::EXT_EXTENDED_KEY_USAGE) {
            out.eku = Some(
                extensions::read_extended_key_usage(v)
                    .map_err(|_| ImportRejection::Constraints("extKeyUsage does not decode"))?,
            );
        }
        Ok(out)
    }

    /// Refuses a certificate whose names or EKUs these constraints forbid.
    pub(crate) fn check(&self, c: &Candidate<'_>) -> Result<(), CaError> {
        let refuse = |what: String| {
            Err(CaError::OutsideCaConstraints(format!(
                "{what} (constraints of {})",
                self.owner
            )))
        };
        if let Some(allowed) = &self.eku
            && !allowed.iter().any(|e| e == EKU_ANY)
            && let Some(e) = c.extended_key_usages.iter().find(|e| !allowed.contains(e))
        {
            return refuse(format!(
                "extendedKeyUsage {e} is not in the CA's EKU constraint"
            ));
        }

        let subject = Name::from_der(c.subject_der)?;
        let mut dns: Vec<String> = c.dns_names.iter().map(|d| d.to_ascii_lowercase()).collect();
        let mut emails: Vec<String> = c.emails.to_vec();
        for atv in subject.iter() {
            let oid = atv.oid.to_string();
            let value = attribute_string(&atv.value);
            match (oid.as_str(), value) {
                (ATTR_COMMON_NAME, Some(v)) if looks_like_host_name(&v) => {
                    dns.push(v.to_ascii_lowercase());
                }
                (ATTR_EMAIL_ADDRESS, Some(v)) => emails.push(v),
                _ => {}
            }
        }

        for d in &dns {
            if !self.permitted.dns.is_empty()
                && !self.permitted.dns.iter().any(|b| dns_within(d, b))
            {
                return refuse(format!("dNSName {d} is outside the permitted subtrees"));
            }
            if self.excluded.dns.iter().any(|b| dns_within(d, b)) {
                return refuse(format!("dNSName {d} is in an excluded subtree"));
            }
        }
        for ip in c.ip_addresses {
            if !self.permitted.ip.is_empty() && !self.permitted.ip.iter().any(|b| ip_within(ip, b))
            {
                return refuse(format!(
                    "iPAddress {} is outside the permitted subtrees",
                    hex::encode(ip)
                ));
            }
            if self.excluded.ip.iter().any(|b| ip_within(ip, b)) {
                return refuse(format!(
                    "iPAddress {} is in an excluded subtree",
                    hex::encode(ip)
                ));
            }
        }
        for e in &emails {
            if !self.permitted.email.is_empty()
                && !self.permitted.email.iter().any(|b| email_within(e, b))
            {
                return refuse(format!("rfc822Name {e} is outside the permitted subtrees"));
            }
            if self.excluded.email.iter().any(|b| email_within(e, b)) {
                return refuse(format!("rfc822Name {e} is in an excluded subtree"));
            }
        }
        let constrains =
            |form: fn(&Subtrees) -> bool| form(&self.permitted) || form(&self.excluded);
        if let Some(uri) = c.uris.first()
            && constrains(|s| s.uri)
        {
            return refuse(format!(
                "uniformResourceIdentifier {uri} cannot be checked against URI subtrees"
            ));
        }
        if let Some(upn) = c.upns.first()
            && constrains(|s| s.other_name)
        {
            return refuse(format!(
                "otherName UPN {upn} cannot be checked against otherName subtrees"
            ));
        }
        // RFC 5280 §4.2.1.10: directoryName constraints apply to the subject unless it is
        // empty.
        if !subject.is_empty() {
            let rdns = subject
                .iter_rdn()
                .map(|r| r.to_der())
                .collect::<Result<Vec<_>, _>>()?;
            if !self.permitted.directory.is_empty()
                && !self.permitted.directory.iter().any(|b| rdns.starts_with(b))
            {
                return refuse(format!(
                    "subject {subject} is outside the permitted directoryName subtrees"
                ));
            }
            if self.excluded.directory.iter().any(|b| rdns.starts_with(b)) {
                return refuse(format!(
                    "subject {subject} is in an excluded directoryName subtree"
                ));
            }
        }
        Ok(())
    }
}

fn subtrees(list: &[GeneralSubtree]) -> Result<Subtrees, ImportRejection> {
    let mut out = Subtrees::default();
    for st in list {
        // RFC 5280: minimum MUST be zero and maximum absent in this profile; anything else is
        // a constraint we would evaluate differently from verifiers.
        if st.minimum != 0 || st.maximum.is_some() {
            return Err(ImportRejection::Constraints(
                "a subtree with minimum/maximum (not allowed by RFC 5280)",
            ));
        }
        match &st.base {
            GeneralName::DnsName(d) => out.dns.push(d.as_str().to_ascii_lowercase()),
            GeneralName::IpAddress(o) => {
                let b = o.as_bytes();
                if b.len() != 8 && b.len() != 32 {
                    return Err(ImportRejection::Constraints(
                        "an iPAddress subtree that is not address and mask",
                    ));
                }
                out.ip.push(b.to_vec());
            }
            GeneralName::Rfc822Name(e) => out.email.push(e.as_str().to_owned()),
            GeneralName::DirectoryName(n) => out.directory.push(
                n.iter_rdn()
                    .map(|r| r.to_der())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| ImportRejection::Constraints("directoryName"))?,
            ),
            GeneralName::UniformResourceIdentifier(_) => out.uri = true,
            GeneralName::OtherName(_) => out.other_name = true,
            // Forms this CA never writes cannot be violated by it.
            _ => {}
        }
    }
    Ok(out)
}

/// RFC 5280 §4.2.1.10: a DNS name satisfies the constraint if it can be built by adding zero
/// or more labels on the left. A base with a leading period (a common extension, which
/// OpenSSL implements) admits only names strictly below it. Case-insensitive.
fn dns_within(name: &str, base: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    if base.is_empty() {
        return true;
    }
    if let Some(below) = base.strip_prefix('.') {
        return name.len() > below.len() + 1 && name.ends_with(&base) && !below.is_empty();
    }
    name == base || name.strip_suffix(&base).is_some_and(|l| l.ends_with('.'))
}

fn ip_within(ip: &[u8], base: &[u8]) -> bool {
    let half = base.len() / 2;
    if ip.len() != half {
        return false;
    }
    let (addr, mask) = base.split_at(half);
    ip.iter()
        .zip(addr)
        .zip(mask)
        .all(|((i, a), m)| i & m == a & m)
}

/// RFC 5280 §4.2.1.10: a mailbox base matches that mailbox; a host base matches any mailbox
/// on that host; a base with a leading period matches mailboxes on hosts below that domain.
fn email_within(email: &str, base: &str) -> bool {
    if base.contains('@') {
        // Local parts are case-sensitive, hosts are not.
        return match (email.rsplit_once('@'), base.rsplit_once('@')) {
            (Some((el, eh)), Some((bl, bh))) => el == bl && eh.eq_ignore_ascii_case(bh),
            _ => false,
        };
    }
    let Some((_, host)) = email.rsplit_once('@') else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    if base.starts_with('.') {
        host.ends_with(&base) && host.len() > base.len()
    } else {
        host == base
    }
}

/// What OpenSSL (`cn2dnsid`) and older clients treat as a host name in a CN: letters, digits,
/// `-`, `_`, `*` and at least one `.`. Over-inclusion only makes the CA refuse more.
fn looks_like_host_name(cn: &str) -> bool {
    cn.contains('.')
        && cn
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*'))
}

fn attribute_string(value: &der::Any) -> Option<String> {
    use der::asn1::{PrintableStringRef, Utf8StringRef};
    use der::{Tag, Tagged};
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => der::asn1::Ia5StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        _ => None,
    }
}

/// Validates and normalises a dNSName subtree given by an operator: `example.net` (the domain
/// and everything below) or `.example.net` (only below).
pub(crate) fn dns_subtree(name: &str) -> Result<String, CaError> {
    let bad = || {
        CaError::Profile(format!(
            "{name:?} is not a DNS name constraint (expected example.net or .example.net)"
        ))
    };
    let body = name.strip_prefix('.').unwrap_or(name);
    if body.is_empty() || body.len() > 253 {
        return Err(bad());
    }
    for label in body.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// nameConstraints with permitted dNSName subtrees, critical (RFC 5280 §4.2.1.10: "Conforming
/// CAs MUST mark this extension as critical").
pub(crate) fn permitted_dns_extension(
    dns: &[String],
) -> Result<x509_cert::ext::Extension, CaError> {
    let permitted = dns
        .iter()
        .map(|d| {
            Ok(GeneralSubtree {
                base: GeneralName::DnsName(Ia5String::new(d)?),
                minimum: 0,
                maximum: None,
            })
        })
        .collect::<Result<Vec<_>, der::Error>>()?;
    let nc = NameConstraints {
        permitted_subtrees: Some(permitted),
        excluded_subtrees: None,
    };
    Ok(x509_cert::ext::Extension {
        extn_id: extensions::NAME_CONSTRAINTS,
        critical: true,
        extn_value: OctetString::new(nc.to_der()?)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dns_subtree_semantics_match_rfc5280_and_openssl() {
        assert!(dns_within("example.net", "example.net"));
        assert!(dns_within("host.example.net", "example.net"));
        assert!(dns_within("Host.Example.NET", "example.net"));
        assert!(!dns_within("badexample.net", "example.net"));
        assert!(!dns_within("evil.com", "example.net"));
        assert!(dns_within("host.example.net", ".example.net"));
        assert!(!dns_within("example.net", ".example.net"));
        assert!(!dns_within("xexample.net", ".example.net"));
    }

    #[test]
    fn ip_and_email_subtrees() {
        let net = [10, 1, 0, 0, 255, 255, 0, 0];
        assert!(ip_within(&[10, 1, 2, 3], &net));
        assert!(!ip_within(&[10, 2, 2, 3], &net));
        assert!(!ip_within(&[0; 16], &net));
        assert!(email_within("a@example.net", "example.net"));
        assert!(!email_within("a@host.example.net", "example.net"));
        assert!(email_within("a@host.example.net", ".example.net"));
        assert!(email_within("a@Example.net", "a@example.net"));
        assert!(!email_within("b@example.net", "a@example.net"));
    }

    #[test]
    fn host_like_common_names() {
        assert!(looks_like_host_name("evil.com"));
        assert!(looks_like_host_name("*.example.net"));
        assert!(!looks_like_host_name("dev1"));
        assert!(!looks_like_host_name("scepd CA"));
    }

    #[test]
    fn operator_subtrees_are_validated() {
        assert_eq!(dns_subtree("Example.NET").unwrap(), "example.net");
        assert_eq!(dns_subtree(".example.net").unwrap(), ".example.net");
        for bad in ["", ".", "a..b", "-a.b", "a b.c", "*.example.net", "a/b"] {
            assert!(dns_subtree(bad).is_err(), "{bad}");
        }
    }
}
