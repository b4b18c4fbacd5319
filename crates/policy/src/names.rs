//! Name rules: plain LDH hostnames, simple e-mail addresses, and the RFC 4514 string form of a
//! subject used for display and for binding comparison.

use crate::facts::SubjectAttribute;

/// RFC 4514 §3 short names, plus the two non-standard ones operators type every day.
const ATTRIBUTE_NAMES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("C", "2.5.4.6"),
    ("STREET", "2.5.4.9"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("emailAddress", "1.2.840.113549.1.9.1"),
];

/// The dotted OID of an attribute type written as a short name (case-insensitive, `E` is
/// accepted for emailAddress) or as a dotted OID.
pub(crate) fn attribute_type_oid(name: &str) -> Option<String> {
    if name.eq_ignore_ascii_case("E") {
        return Some("1.2.840.113549.1.9.1".to_owned());
    }
    if let Some((_, oid)) = ATTRIBUTE_NAMES
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
    {
        return Some((*oid).to_owned());
    }
    let dotted = name
        .strip_prefix("OID.")
        .or_else(|| name.strip_prefix("oid."))
        .unwrap_or(name);
    let ok = dotted.split('.').count() >= 2
        && dotted
            .split('.')
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| dotted.to_owned())
}

fn attribute_type_name(oid: &str) -> &str {
    ATTRIBUTE_NAMES
        .iter()
        .find(|(_, o)| *o == oid)
        .map_or(oid, |(short, _)| short)
}

/// The subject as an RFC 4514 string: last RDN first, `CN=dev1,O=Org`, special characters
/// escaped and control characters as `\XX`, so the result is safe to log.
pub fn subject_display(subject: &[SubjectAttribute]) -> String {
    let mut out = String::new();
    let mut iter = subject.iter().rev().peekable();
    while let Some(attr) = iter.next() {
        out.push_str(attribute_type_name(&attr.oid));
        out.push('=');
        escape_value(&attr.value, &mut out);
        if let Some(next) = iter.peek() {
            // Attributes of one multi-valued RDN are adjacent; `+` joins them.
            out.push(if attr.multi_valued_rdn && next.multi_valued_rdn {
                '+'
            } else {
                ','
            });
        }
    }
    out
}

fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
}

/// A value as bindings compare it: surrounding white space removed, inner runs of white space
/// folded to one space, lower case.
pub(crate) fn normalize_value(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Checks that `name` is a plain LDH hostname (RFC 1123 §2.1, RFC 5280 §4.2.1.6 preferred name
/// syntax) and returns it in lower case. No wildcard, no trailing dot, no empty label, ASCII
/// only; the error says what is wrong, for the audit log.
pub fn normalize_dns_name(name: &str) -> Result<String, &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if name.chars().any(char::is_control) {
        return Err("control character");
    }
    if !name.is_ascii() {
        return Err("non-ASCII character");
    }
    if name.contains('*') {
        return Err("wildcard");
    }
    if name.ends_with('.') {
        return Err("trailing dot");
    }
    if name.len() > 253 {
        return Err("longer than 253 characters");
    }
    let mut last_label = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("character other than letter, digit, hyphen");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("label starts or ends with a hyphen");
        }
        last_label = label;
    }
    if last_label.bytes().all(|b| b.is_ascii_digit()) {
        return Err("looks like an IP address");
    }
    Ok(name.to_ascii_lowercase())
}

/// Like [`normalize_dns_name`], and when `allow_wildcard` also accepts a wildcard as the whole
/// leftmost label over at least two further labels (`*.host.example`; RFC 6125 §6.4.3 without
/// partial-label wildcards). The result keeps the `*.` prefix.
pub(crate) fn normalize_dns_name_or_wildcard(
    name: &str,
    allow_wildcard: bool,
) -> Result<String, &'static str> {
    match name.strip_prefix("*.") {
        Some(base) if allow_wildcard => {
            let base = normalize_dns_name(base)?;
            if base.split('.').count() < 2 {
                return Err("wildcard over a single label");
            }
            Ok(format!("*.{base}"))
        }
        _ => normalize_dns_name(name),
    }
}

/// Whether the normalized `name` equals or is under one of the normalized `domains`; a
/// wildcard name counts as under the domain of its base.
pub(crate) fn under_domain(name: &str, domains: &[String]) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    domains.iter().any(|d| {
        name == d
            || name
                .strip_suffix(d.as_str())
                .is_some_and(|head| head.ends_with('.'))
    })
}

/// Checks a plain `local@domain` address (no quoting, no comments) and lower-cases its domain.
pub(crate) fn normalize_email(address: &str) -> Option<String> {
    let (local, domain) = address.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"@\"(),:;<>[\\]".contains(&b));
    if !local_ok {
        return None;
    }
    let domain = normalize_dns_name(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

/// Checks a UPN (`user@suffix`, the otherName 1.3.6.1.4.1.311.20.2.3 of a user certificate)
/// like an e-mail address: plain ASCII local part, a host-name suffix, lower-cased. Directory
/// services compare UPNs without regard to case.
pub(crate) fn normalize_upn(upn: &str) -> Option<String> {
    normalize_email(upn)
}

/// Checks the strong-mapping URI SAN (KB5014754) and returns it in its canonical form,
/// `tag:microsoft.com,2022-09-14:sid:S-1-5-21-…`; `None` for any other URI.
pub(crate) fn normalize_sid_uri(uri: &str) -> Option<String> {
    let prefix = crate::oid::SAN_URI_SID_PREFIX;
    let head = uri.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let sid = normalize_sid(uri.get(prefix.len()..)?)?;
    Some(format!("{prefix}{sid}"))
}

/// The most sub-authorities a SID has (MS-DTYP §2.4.2).
const MAX_SID_SUB_AUTHORITIES: usize = 15;

/// A SID in its string form (MS-DTYP §2.4.2.1): `S-1-` the identifier authority in decimal
/// (below 2^48), then 1 to 15 sub-authorities, each a decimal 32-bit number. No leading
/// zeros, signs or spaces, so that one SID has exactly one spelling.
fn normalize_sid(sid: &str) -> Option<String> {
    let mut parts = sid.split('-');
    if !parts.next()?.eq_ignore_ascii_case("s") || parts.next()? != "1" {
        return None;
    }
    let authority = decimal(parts.next()?)?;
    if authority >= 1 << 48 {
        return None;
    }
    let sub_authorities = parts
        .map(|p| decimal(p).filter(|v| *v <= u64::from(u32::MAX)))
        .collect::<Option<Vec<u64>>>()?;
    if sub_authorities.is_empty() || sub_authorities.len() > MAX_SID_SUB_AUTHORITIES {
        return None;
    }
    let mut out = format!("S-1-{authority}");
    for sub in sub_authorities {
        out.push_str(&format!("-{sub}"));
    }
    Some(out)
}

/// Decimal digits without a leading zero (`0` itself allowed), fitting 64 bits.
fn decimal(s: &str) -> Option<u64> {
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'));
    if plain { s.parse().ok() } else { None }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn attr(oid: &str, value: &str) -> SubjectAttribute {
        SubjectAttribute {
            oid: oid.into(),
            value: value.into(),
            multi_valued_rdn: false,
        }
    }

    #[test]
    fn dns_names_plain_ldh_only() {
        assert_eq!(
            normalize_dns_name("Dev1.Corp.Example"),
            Ok("dev1.corp.example".into())
        );
        assert_eq!(normalize_dns_name("dev1"), Ok("dev1".into()));
        assert_eq!(normalize_dns_name("a-b.c0"), Ok("a-b.c0".into()));
        for (bad, why) in [
            ("", "empty"),
            ("dev1\0.evil.com", "control character"),
            ("dev1\n.evil.com", "control character"),
            ("*.corp.example", "wildcard"),
            ("DEV1.corp.example.", "trailing dot"),
            ("dev1..corp", "empty label"),
            (".corp", "empty label"),
            ("dеv1.corp.example", "non-ASCII character"), // Cyrillic е
            ("dev_1.corp", "character other than letter, digit, hyphen"),
            ("dev 1.corp", "character other than letter, digit, hyphen"),
            ("-dev.corp", "label starts or ends with a hyphen"),
            ("10.0.0.1", "looks like an IP address"),
        ] {
            assert_eq!(normalize_dns_name(bad), Err(why), "{bad:?}");
        }
        let long_label = "a".repeat(64);
        assert!(normalize_dns_name(&long_label).is_err());
        let long_name = ["a".repeat(60).as_str(); 5].join(".");
        assert!(normalize_dns_name(&long_name).is_err());
    }

    #[test]
    fn wildcards_only_when_allowed_and_whole_leftmost_label() {
        assert_eq!(
            normalize_dns_name_or_wildcard("*.Lab.Example", true),
            Ok("*.lab.example".into())
        );
        assert_eq!(
            normalize_dns_name_or_wildcard("*.lab.example", false),
            Err("wildcard")
        );
        for bad in [
            "*.example",
            "a*.lab.example",
            "*.*.lab.example",
            "lab.*.example",
            "*",
        ] {
            assert!(
                normalize_dns_name_or_wildcard(bad, true).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn domain_membership_is_by_whole_labels() {
        let domains = vec!["example.net".to_owned()];
        assert!(under_domain("example.net", &domains));
        assert!(under_domain("host.example.net", &domains));
        assert!(under_domain("*.lab.example.net", &domains));
        assert!(!under_domain("badexample.net", &domains));
        assert!(!under_domain("example.net.evil", &domains));
        assert!(!under_domain("net", &domains));
        assert!(!under_domain("host.example.net", &[]));
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("Dev1@Corp.Example"),
            Some("Dev1@corp.example".into())
        );
        for bad in ["", "dev1", "@corp", "a@b@c", "a b@c", "a@*.c", "a\0@c"] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_is_rfc4514_order_and_escaped() {
        let subject = vec![
            attr("2.5.4.6", "US"),
            attr("2.5.4.10", "Org, Inc."),
            attr("2.5.4.3", "dev1"),
        ];
        assert_eq!(subject_display(&subject), "CN=dev1,O=Org\\, Inc.,C=US");
        let nasty = vec![attr("2.5.4.3", " #a\nb "), attr("1.2.3.4", "x")];
        assert_eq!(subject_display(&nasty), "1.2.3.4=x,CN=\\ #a\\0Ab\\ ");
    }

    #[test]
    fn display_joins_multi_valued_rdn_with_plus() {
        let mut a = attr("2.5.4.3", "a");
        a.multi_valued_rdn = true;
        let mut b = attr("2.5.4.10", "b");
        b.multi_valued_rdn = true;
        assert_eq!(subject_display(&[a, b]), "O=b+CN=a");
    }

    #[test]
    fn attribute_types() {
        assert_eq!(attribute_type_oid("cn").as_deref(), Some("2.5.4.3"));
        assert_eq!(
            attribute_type_oid("E").as_deref(),
            Some("1.2.840.113549.1.9.1")
        );
        assert_eq!(
            attribute_type_oid("OID.2.5.4.3").as_deref(),
            Some("2.5.4.3")
        );
        assert_eq!(attribute_type_oid("2.5.4.97").as_deref(), Some("2.5.4.97"));
        assert_eq!(attribute_type_oid("XYZ"), None);
    }

    #[test]
    fn value_normalization() {
        assert_eq!(normalize_value("  Dev   One \t"), "dev one");
    }

    #[test]
    fn upns_are_plain_ascii_with_a_host_name_suffix() {
        assert_eq!(
            normalize_upn("Alice.Smith@Corp.Example"),
            Some("Alice.Smith@corp.example".into())
        );
        assert_eq!(normalize_upn("svc@corp"), Some("svc@corp".into()));
        for bad in [
            "alice",
            "@corp.example",
            "alice@",
            "alice@@corp.example",
            "al ice@corp.example",
            "alice@corp.example\0",
            "alice\0@corp.example",
            "älice@corp.example",
            "alice@corp..example",
            "a\"b@corp.example",
        ] {
            assert_eq!(normalize_upn(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sid_uris_have_one_spelling() {
        let sid = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-3623811015-3361044348-30300820-1013";
        assert_eq!(normalize_sid_uri(sid), Some(sid.into()));
        assert_eq!(
            normalize_sid_uri("TAG:Microsoft.com,2022-09-14:SID:s-1-5-21-1-2-3-500"),
            Some("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500".into())
        );
        assert_eq!(
            normalize_sid_uri("tag:microsoft.com,2022-09-14:sid:S-1-5-32"),
            Some("tag:microsoft.com,2022-09-14:sid:S-1-5-32".into())
        );
        let fifteen = "-1".repeat(15);
        assert!(
            normalize_sid_uri(&format!("tag:microsoft.com,2022-09-14:sid:S-1-5{fifteen}"))
                .is_some()
        );
        for bad in [
            "https://corp.example/",
            "tag:microsoft.com,2022-09-14:sid:",
            "tag:microsoft.com,2022-09-14:sid:S-1-5",
            "tag:microsoft.com,2022-09-14:sid:S-2-5-21-1",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-021-1",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-21-4294967296",
            "tag:microsoft.com,2022-09-14:sid:S-1-281474976710656-1",
            "tag:microsoft.com,2022-09-14:sid:S-1-0x5-1",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-21--1",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1 ",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-+21",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1\0",
            "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1/../x",
            "tag:microsoft.com,2021-09-14:sid:S-1-5-21-1",
            "tag:microsoft.com,2022-09-14:sidé",
        ] {
            assert_eq!(normalize_sid_uri(bad), None, "{bad:?}");
        }
        let sixteen = "-1".repeat(16);
        assert_eq!(
            normalize_sid_uri(&format!("tag:microsoft.com,2022-09-14:sid:S-1-5{sixteen}")),
            None
        );
    }
}
