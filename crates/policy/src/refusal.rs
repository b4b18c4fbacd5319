//! Why a request is refused. The `Display` text goes to the audit log, never to the client
//! (the client sees only the failInfo of [`RefusalCode`]). Values that came from the request
//! are printed escaped, so a hostile CSR cannot forge audit lines.

/// The failInfo class a refusal maps to (RFC 8894 §3.2.1.4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// badRequest (2): the request is understood and not allowed.
    BadRequest,
    /// badAlg (0): the key algorithm or curve is not supported.
    BadAlg,
}

/// A refused request: the reason for the audit log and the code for the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    pub reason: RefusalReason,
    pub code: RefusalCode,
}

impl Refusal {
    pub(crate) fn bad_request(reason: RefusalReason) -> Self {
        Refusal {
            reason,
            code: RefusalCode::BadRequest,
        }
    }

    pub(crate) fn bad_alg(reason: RefusalReason) -> Self {
        Refusal {
            reason,
            code: RefusalCode::BadAlg,
        }
    }
}

/// Every reason [`crate::decide`] can refuse for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefusalReason {
    #[error("RSA key of {bits} bits is outside the template ({min}..={max}, multiple of 8)")]
    RsaKeySize { bits: u32, min: u32, max: u32 },
    #[error("RSA public exponent {} is not allowed ({})", display_exponent(*.exponent),
        if *.only_65537 { "65537 only" } else { "odd, >= 65537" })]
    RsaExponent {
        exponent: Option<u64>,
        only_65537: bool,
    },
    #[error("EC curve {curve_oid:?} is not allowed")]
    EcCurve { curve_oid: String },
    #[error("EC key with explicit or absent curve parameters ({what:?})")]
    ExplicitCurveParameters { what: String },
    #[error("public key algorithm {algorithm_oid:?} is not supported")]
    KeyAlgorithm { algorithm_oid: String },
    #[error(
        "extended key usage {oid:?} ({}) is not in the template",
        oid_name(oid)
    )]
    ExtendedKeyUsageNotAllowed { oid: String },
    #[error("basicConstraints cA=TRUE requested")]
    CaRequested,
    #[error("key usage bits {bits:#06x} requested, template allows {allowed:#06x}")]
    KeyUsageNotAllowed { bits: u16, allowed: u16 },
    #[error("extension {oid:?} ({}) is not allowed in a request", oid_name(oid))]
    ExtensionNotAllowed { oid: String },
    #[error("extension {oid:?} ({}) appears more than once", oid_name(oid))]
    DuplicateExtension { oid: String },
    #[error("extension {oid:?} ({}) does not decode", oid_name(oid))]
    MalformedExtension { oid: String },
    #[error(
        "extension {oid:?} ({}) is critical and would not be honoured",
        oid_name(oid)
    )]
    CriticalExtensionNotHonoured { oid: String },
    #[error("subjectAltName of kind {kind:?} is not allowed by the template")]
    SanKindNotAllowed { kind: String },
    #[error("dNSName {name:?} is not a plain hostname: {why}")]
    InvalidDnsName { name: String, why: &'static str },
    #[error("rfc822Name {name:?} is not a plain address")]
    InvalidEmail { name: String },
    #[error("iPAddress of {len} octets")]
    InvalidIpAddress { len: usize },
    #[error("dNSName {name:?} is not under the template's domains")]
    DnsNameOutsideDomains { name: String },
    #[error("iPAddress {address} is not in the template's ranges")]
    IpAddressOutsideRanges { address: String },
    #[error("rfc822Name {address:?} is not at the template's domains")]
    EmailOutsideDomains { address: String },
    #[error("subject has a multi-valued RDN")]
    MultiValuedRdn,
    #[error("subject has more than one CN")]
    MultipleCommonNames,
    #[error("subject attribute {oid:?} has a control character")]
    ControlCharacterInSubject { oid: String },
    #[error("empty subject and no subjectAltName")]
    NoName,
    #[error(
        "subject attribute {oid:?} ({}) is not allowed by the template",
        oid_name(oid)
    )]
    SubjectAttributeNotAllowed { oid: String },
    #[error("the template requires a CN")]
    CommonNameRequired,
    #[error("subject attribute {oid:?} value {value:?} matches none of the template's patterns")]
    SubjectValueNotAllowed { oid: String, value: String },
    #[error("CN {name:?} is not a host name under the template's domains")]
    CommonNameOutsideDomains { name: String },
    #[error("request attribute {oid:?} ({}) is not allowed", oid_name(oid))]
    AttributeNotAllowed { oid: String },
    #[error("template {requested:?} is not the template {bound:?} the challenge was issued for")]
    TemplateMismatch { bound: String, requested: String },
    #[error("name not authorized by challenge: {name:?}")]
    NameNotAuthorized { name: String },
    #[error("challenge binding is invalid: {0:?}")]
    BindingInvalid(String),
    #[error("renewal of a {old:?} certificate under template {requested:?}")]
    RenewalTemplateMismatch { old: String, requested: String },
    #[error("renewal at {now} is before the window opening at {opens} (notAfter {not_after})")]
    RenewalTooEarly {
        now: i64,
        opens: i64,
        not_after: i64,
    },
    #[error("renewal at {now} is after notAfter {not_after} and its grace, closed at {closed}")]
    RenewalExpired {
        now: i64,
        closed: i64,
        not_after: i64,
    },
    #[error("renewal at {now} is before the old certificate's notBefore {not_before}")]
    RenewalNotYetValid { now: i64, not_before: i64 },
    #[error("renewal subject {new:?} differs from the old subject {old:?}")]
    RenewalSubjectChanged { old: String, new: String },
    #[error("renewal adds the name {name:?}, which the old certificate does not have")]
    RenewalNameAdded { name: String },
    #[error("renewal reuses the old key; the template requires a new one")]
    RenewalKeyReused,
    #[error("{what} needs an MDM-validated request on a template with mdm_vouched.{setting}")]
    NeedsMdmValidation {
        what: &'static str,
        setting: &'static str,
    },
    #[error("otherName UPN {name:?} is not a plain user@domain name in a UTF8String")]
    InvalidUpn { name: String },
    #[error(
        "uniformResourceIdentifier {uri:?} is not tag:microsoft.com,2022-09-14:sid: with a well-formed SID (S-1-…)"
    )]
    InvalidSidUri { uri: String },
    #[error("more than one {kind} subjectAltName")]
    MoreThanOneName { kind: &'static str },
    #[error(
        "every extended key usage of the template is MDM-vouched, and this request has none of them validated"
    )]
    NoExtendedKeyUsageLeft,
    #[error(
        "renewal adds the extended key usage {oid:?} ({}), which the old certificate does not have",
        oid_name(oid)
    )]
    RenewalExtendedKeyUsageAdded { oid: String },
}

fn display_exponent(exponent: Option<u64>) -> String {
    match exponent {
        Some(e) => e.to_string(),
        None => "(more than 64 bits)".to_owned(),
    }
}

/// A human name for the OIDs an auditor will meet in refusals.
fn oid_name(oid: &str) -> &'static str {
    use crate::oid::*;
    match oid {
        EKU_CLIENT_AUTH => "clientAuth",
        EKU_SERVER_AUTH => "serverAuth",
        EKU_CODE_SIGNING => "codeSigning",
        EKU_OCSP_SIGNING => "OCSPSigning",
        EKU_ANY => "anyExtendedKeyUsage",
        EKU_CERTIFICATE_REQUEST_AGENT => "Certificate Request Agent",
        EKU_SMART_CARD_LOGON => "smart-card logon",
        EKU_IPSEC_TUNNEL => "ipsecTunnel",
        AT_COMMON_NAME => "CN",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.5" => "serialNumber",
        "2.5.4.9" => "street",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        EXT_SUBJECT_KEY_IDENTIFIER => "subjectKeyIdentifier",
        EXT_KEY_USAGE => "keyUsage",
        EXT_SUBJECT_ALT_NAME => "subjectAltName",
        EXT_BASIC_CONSTRAINTS => "basicConstraints",
        EXT_NAME_CONSTRAINTS => "nameConstraints",
        EXT_CRL_DISTRIBUTION_POINTS => "cRLDistributionPoints",
        EXT_CERTIFICATE_POLICIES => "certificatePolicies",
        EXT_POLICY_CONSTRAINTS => "policyConstraints",
        EXT_EXTENDED_KEY_USAGE => "extKeyUsage",
        EXT_AUTHORITY_INFO_ACCESS => "authorityInfoAccess",
        EXT_SUBJECT_INFO_ACCESS => "subjectInfoAccess",
        EXT_MS_APPLICATION_POLICIES => "Microsoft application policies, ESC15",
        EXT_MS_TEMPLATE_INFO => "Microsoft template information",
        EXT_MS_TEMPLATE_NAME => "Microsoft template name",
        EXT_MS_NTDS_SECURITY => "Microsoft SID extension",
        ATTR_MS_ENROLLMENT_NAME_VALUE_PAIR => "Microsoft enrollment name-value pair, ESC6",
        _ => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn audit_text_escapes_request_values() {
        let r = RefusalReason::InvalidDnsName {
            name: "dev1\0.evil\ncom".into(),
            why: "control character",
        };
        let text = r.to_string();
        assert!(!text.contains('\0'));
        assert!(!text.contains('\n'));
        assert!(text.contains("\\0"));
    }

    #[test]
    fn audit_text_names_known_oids() {
        let r = RefusalReason::ExtensionNotAllowed {
            oid: crate::oid::EXT_MS_APPLICATION_POLICIES.into(),
        };
        assert!(r.to_string().contains("ESC15"));
    }
}
