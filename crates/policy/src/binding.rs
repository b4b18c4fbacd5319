//! Challenge bindings: the template and names a one-time challenge was minted for (ESC1).

use std::net::IpAddr;

use crate::facts::SubjectAttribute;
use crate::names::{
    attribute_type_oid, normalize_dns_name, normalize_email, normalize_sid_uri, normalize_upn,
    normalize_value,
};

/// What a challenge was issued for. An empty binding (no subject, no SANs) leaves names to the
/// template; a binding that names anything binds every SAN: a request may then carry only
/// SANs from `sans`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    /// The template name the challenge may be used with.
    pub template: Option<String>,
    /// The subject as an RFC 4514 string, `CN=dev1,O=Org` (last RDN first), compared after
    /// normalization (white space folded, case-insensitive).
    pub subject: Option<String>,
    /// `dns:NAME`, `ip:ADDRESS`, `email:ADDRESS`, or for the names only an MDM-validated
    /// request or a renewal may carry, `upn:USER@SUFFIX` and
    /// `uri:tag:microsoft.com,2022-09-14:sid:S-1-…`. Binding a name never allows it: the
    /// template and the vouching decide that first.
    pub sans: Vec<String>,
}

/// One bound subjectAltName, normalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SanBinding {
    Dns(String),
    Ip(Vec<u8>),
    Email(String),
    /// otherName UPN.
    Upn(String),
    /// The strong-mapping SID URI, the only URI scepd issues.
    Uri(String),
}

/// A binding that cannot be understood: refused when minted, and refused again if it ever
/// reaches a decision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    #[error("bound subject {0:?} is not an RFC 4514 name with single-valued RDNs")]
    Subject(String),
    #[error(
        "bound SAN {0:?} is not dns:NAME, ip:ADDRESS, email:ADDRESS, upn:USER@SUFFIX or uri:tag:microsoft.com,2022-09-14:sid:SID"
    )]
    San(String),
}

impl Binding {
    /// Checks that the subject and SANs parse, so a bad binding is refused when the challenge
    /// is minted rather than when a device uses it.
    pub fn check(&self) -> Result<(), BindingError> {
        self.normalized_subject()?;
        self.normalized_sans()?;
        Ok(())
    }

    /// True when the binding names a subject or SANs (then every SAN is bound).
    pub(crate) fn binds_names(&self) -> bool {
        self.subject.is_some() || !self.sans.is_empty()
    }

    /// The bound subject as (OID, normalized value) pairs in DER order (first RDN first).
    pub(crate) fn normalized_subject(&self) -> Result<Option<Vec<(String, String)>>, BindingError> {
        let Some(subject) = &self.subject else {
            return Ok(None);
        };
        let parsed = parse_subject_display(subject)?;
        Ok(Some(
            parsed
                .into_iter()
                .map(|a| (a.oid, normalize_value(&a.value)))
                .collect(),
        ))
    }

    /// The bound SANs, normalized.
    pub(crate) fn normalized_sans(&self) -> Result<Vec<SanBinding>, BindingError> {
        self.sans.iter().map(|s| parse_san(s)).collect()
    }
}

/// Parses a subject in the RFC 4514 form [`crate::subject_display`] writes (`CN=dev1,O=Org`,
/// last RDN first, short names or dotted OIDs, `\`-escapes) back into attributes in DER
/// order. Multi-valued RDNs are refused: no issued certificate has one. Values are unescaped,
/// not normalized.
pub fn parse_subject_display(subject: &str) -> Result<Vec<SubjectAttribute>, BindingError> {
    let err = || BindingError::Subject(subject.to_owned());
    let mut out = Vec::new();
    if subject.trim().is_empty() {
        return Ok(out);
    }
    for rdn in split_unescaped(subject, b',') {
        if split_unescaped(rdn, b'+').len() != 1 {
            return Err(err());
        }
        let mut parts = split_unescaped(rdn, b'=').into_iter();
        let (Some(name), Some(_)) = (parts.next(), parts.clone().next()) else {
            return Err(err());
        };
        // The value is everything after the first unescaped '='.
        let raw_value = rdn.get(name.len() + 1..).ok_or_else(err)?;
        let oid = attribute_type_oid(name.trim()).ok_or_else(err)?;
        let value = unescape(raw_value).ok_or_else(err)?;
        out.push(SubjectAttribute {
            oid,
            value,
            multi_valued_rdn: false,
        });
    }
    out.reverse();
    Ok(out)
}

/// Parses `dns:NAME`, `ip:ADDRESS`, `email:ADDRESS`, `upn:USER@SUFFIX`, `uri:SID-URI` (prefix
/// case-insensitive).
pub(crate) fn parse_san(s: &str) -> Result<SanBinding, BindingError> {
    let err = || BindingError::San(s.to_owned());
    let (kind, value) = s.split_once(':').ok_or_else(err)?;
    match kind.to_ascii_lowercase().as_str() {
        "dns" => normalize_dns_name(value)
            .map(SanBinding::Dns)
            .map_err(|_| err()),
        "ip" => match value.parse::<IpAddr>().map_err(|_| err())? {
            IpAddr::V4(a) => Ok(SanBinding::Ip(a.octets().to_vec())),
            IpAddr::V6(a) => Ok(SanBinding::Ip(a.octets().to_vec())),
        },
        "email" => normalize_email(value)
            .map(SanBinding::Email)
            .ok_or_else(err),
        "upn" => normalize_upn(value).map(SanBinding::Upn).ok_or_else(err),
        "uri" => normalize_sid_uri(value)
            .map(SanBinding::Uri)
            .ok_or_else(err),
        _ => Err(err()),
    }
}

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(s: &str, sep: u8) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') => i += 2,
            Some(&b) if b == sep => {
                parts.push(s.get(start..i).unwrap_or_default());
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

/// Undoes RFC 4514 §2.4 escaping: `\` + special character, or `\` + two hex digits (a UTF-8
/// byte). `None` on a dangling backslash or invalid UTF-8.
fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let c = bytes.next()?;
        if c.is_ascii_hexdigit() {
            let d = bytes.next()?;
            let hex = [c, d];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(c);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn subject(s: &str) -> Result<Option<Vec<(String, String)>>, BindingError> {
        Binding {
            subject: Some(s.into()),
            ..Binding::default()
        }
        .normalized_subject()
    }

    #[test]
    fn subject_parses_in_der_order_normalized() {
        assert_eq!(
            subject("CN=Dev1 ,  o = Org  Inc").unwrap(),
            Some(vec![
                ("2.5.4.10".into(), "org inc".into()),
                ("2.5.4.3".into(), "dev1".into())
            ])
        );
        assert_eq!(
            subject("CN=a\\,b\\2Cc,2.5.4.5=42").unwrap(),
            Some(vec![
                ("2.5.4.5".into(), "42".into()),
                ("2.5.4.3".into(), "a,b,c".into())
            ])
        );
        assert_eq!(subject("").unwrap(), Some(vec![]));
    }

    #[test]
    fn displayed_subject_parses_back() {
        let subject = vec![
            SubjectAttribute {
                oid: "2.5.4.10".into(),
                value: "Org, Inc.".into(),
                multi_valued_rdn: false,
            },
            SubjectAttribute {
                oid: "2.5.4.3".into(),
                value: " Dev+1 ".into(),
                multi_valued_rdn: false,
            },
        ];
        let shown = crate::names::subject_display(&subject);
        assert_eq!(parse_subject_display(&shown), Ok(subject));
        assert!(parse_subject_display("CN=a+O=b").is_err());
    }

    #[test]
    fn bad_subjects_refused() {
        for bad in ["CN", "CN=a+O=b", "XYZ=a", "CN=a\\", "CN=a,,O=b", "CN=\\ff"] {
            assert!(subject(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sans_parse() {
        assert_eq!(
            parse_san("DNS:Dev1.Example"),
            Ok(SanBinding::Dns("dev1.example".into()))
        );
        assert_eq!(
            parse_san("ip:10.0.0.1"),
            Ok(SanBinding::Ip(vec![10, 0, 0, 1]))
        );
        assert_eq!(
            parse_san("ip:::1").map(|s| matches!(s, SanBinding::Ip(v) if v.len() == 16)),
            Ok(true)
        );
        assert_eq!(
            parse_san("email:a@B.example"),
            Ok(SanBinding::Email("a@b.example".into()))
        );
        assert_eq!(
            parse_san("UPN:Admin@Corp.Example"),
            Ok(SanBinding::Upn("Admin@corp.example".into()))
        );
        assert_eq!(
            parse_san("uri:tag:microsoft.com,2022-09-14:sid:s-1-5-21-1-500"),
            Ok(SanBinding::Uri(
                "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-500".into()
            ))
        );
        for bad in [
            "dev1",
            "upn:admin",
            "dns:*.corp",
            "ip:300.1.1.1",
            "uri:x",
            "uri:https://corp.example/",
            "x400:admin",
        ] {
            assert!(parse_san(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn check_reports_first_problem() {
        let b = Binding {
            template: None,
            subject: Some("CN=ok".into()),
            sans: vec!["dns:ok".into(), "nope".into()],
        };
        assert_eq!(b.check(), Err(BindingError::San("nope".into())));
        assert!(Binding::default().check().is_ok());
        assert!(!Binding::default().binds_names());
    }
}
