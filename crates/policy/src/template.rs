//! Certificate templates: what any request for them can get at most, and the lifecycle rules
//! the RA and CA read (renewal window, manual approval, AIA/CDP URLs).
//!
//! A [`TemplateSpec`] is what configuration gives; [`Template::new`] validates it once and
//! keeps a checked, normalized copy of its rules, so a decision never meets a malformed rule.

use crate::cidr::IpRange;
use crate::key_usage;
use crate::oid;

mod check;

pub use check::TemplateError;
pub(crate) use check::{is_dotted_oid, never_tolerated};

/// The allowed subjectAltName kinds for any request. UPN, otherName and URI SANs are not among
/// them: a challenge alone can never get them (ESC1). UPN and the SID URI are
/// [`MdmVouched`] names, for MDM-validated requests only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SanKinds {
    pub dns: bool,
    pub ip: bool,
    pub email: bool,
}

impl Default for SanKinds {
    /// dNSName only.
    fn default() -> Self {
        SanKinds {
            dns: true,
            ip: false,
            email: false,
        }
    }
}

/// What a template lets through only when an MDM validated the whole CSR against its own
/// record of the device and user (Intune's `validateRequest`; [`crate::Vouching::CsrValidated`]):
/// never on a challenge alone, a webhook's yes or a signed challenge, so a stolen challenge
/// still cannot name an administrator (ESC1). All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdmVouched {
    /// otherName UPN SANs (a UTF8String `user@suffix`, at most one), for user certificates.
    pub upn: bool,
    /// The strong-mapping SID URI SAN `tag:microsoft.com,2022-09-14:sid:S-1-…` (KB5014754;
    /// at most one). No other URI, ever.
    pub sid_uri: bool,
    /// rfc822Name SANs at any domain (the MDM knows the user's address), whatever
    /// `san_kinds.email` and `san_rules.email_domains` say; those still govern requests that
    /// were not validated.
    pub email: bool,
    /// id-kp-ipsecTunnel ([`crate::oid::EKU_IPSEC_TUNNEL`]), which the template must then list:
    /// a certificate gets it only when a validated request asked for it.
    pub ipsec_tunnel_eku: bool,
}

impl MdmVouched {
    /// Whether any of the settings is on.
    pub fn any(&self) -> bool {
        self.upn || self.sid_uri || self.email || self.ipsec_tunnel_eku
    }

    /// The EKUs of the template that only a validated request gets.
    pub(crate) fn extended_key_usages(&self) -> &'static [&'static str] {
        if self.ipsec_tunnel_eku {
            &[oid::EKU_IPSEC_TUNNEL]
        } else {
            &[]
        }
    }
}

/// Which subject keys a template accepts (CA/B Forum BR §6.1.5, §6.1.6). Explicit EC curve
/// parameters (the CVE-2022-0778 class) are refused whatever these say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRules {
    /// RSA modulus size bounds, inclusive; the size must also be a multiple of 8.
    pub rsa_min_bits: u32,
    pub rsa_max_bits: u32,
    /// Accept only e = 65537 (BR §6.1.6 recommends it; every common key generator uses it).
    /// When false, any odd e ≥ 65537 that fits 64 bits is accepted.
    pub rsa_exponent_65537_only: bool,
    /// Allow P-256 keys.
    pub ec_p256: bool,
    /// Allow P-384 keys.
    pub ec_p384: bool,
    /// Allow P-521 keys (BR: optional). The `request` crate must check P-521 points before a
    /// template turns this on.
    pub ec_p521: bool,
}

impl Default for KeyRules {
    /// RSA 2048..=8192 with e = 65537, P-256, P-384.
    fn default() -> Self {
        KeyRules {
            rsa_min_bits: 2048,
            rsa_max_bits: 8192,
            rsa_exponent_65537_only: true,
            ec_p256: true,
            ec_p384: true,
            ec_p521: false,
        }
    }
}

/// One attribute's value patterns: the value must match one of them (see the glob syntax in
/// the crate's `glob` module: `*` is one or more characters inside one `.`-separated label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePattern {
    /// The attribute type: a short name (`CN`, `O`, `OU`, `C`, `L`, `ST`, `serialNumber`, …)
    /// or a dotted OID.
    pub attribute: String,
    pub patterns: Vec<String>,
}

/// What the subject may contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRules {
    /// Attribute types allowed in the subject, as short names or dotted OIDs. Default: CN, O,
    /// OU, C, L, ST, serialNumber.
    pub allowed_attributes: Vec<String>,
    /// Refuse a subject without a CN. Default false (a SAN alone names a device).
    pub require_common_name: bool,
    /// Per-attribute value patterns. Default none.
    pub value_patterns: Vec<ValuePattern>,
    /// When non-empty, a CN must be a host name equal to or under one of these domains. On a
    /// serverAuth template an empty list means the SAN domains (a TLS client that still reads
    /// the CN must not see a name the SAN rules would refuse).
    pub common_name_domains: Vec<String>,
}

/// Short names of the default subject attribute types.
pub const DEFAULT_SUBJECT_ATTRIBUTES: [&str; 7] = ["CN", "O", "OU", "C", "L", "ST", "serialNumber"];

impl Default for SubjectRules {
    fn default() -> Self {
        SubjectRules {
            allowed_attributes: DEFAULT_SUBJECT_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            require_common_name: false,
            value_patterns: Vec::new(),
            common_name_domains: Vec::new(),
        }
    }
}

/// Where subjectAltNames of the allowed kinds may point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SanRules {
    /// dNSNames (and a namespaced CN) must equal or be under one of these domains. Empty: any
    /// plain host name — refused at load for a serverAuth template.
    pub dns_domains: Vec<String>,
    /// Accept `*.host.domain` (whole leftmost label only). Needs `dns_domains`.
    pub allow_wildcards: bool,
    /// CIDR ranges iPAddress SANs must be in; required when `SanKinds::ip` is on.
    pub ip_ranges: Vec<String>,
    /// Domains rfc822Name SANs must be at (exactly, not under); required when
    /// `SanKinds::email` is on.
    pub email_domains: Vec<String>,
}

/// The hard floor and ceiling no template may go beyond.
pub(crate) const RSA_FLOOR_BITS: u32 = 2048;
pub(crate) const RSA_CEILING_BITS: u32 = 8192;
/// Ten years: a device template asking for more is a configuration mistake.
pub(crate) const MAX_VALIDITY_DAYS: u32 = 3650;
/// The key of a certificate that expired months ago has been nobody's concern since: renewal
/// by proof of that key stops after this grace.
pub(crate) const MAX_RENEWAL_GRACE_DAYS: u32 = 90;

/// The inputs of a template, as configuration gives them. Turned into a [`Template`] only
/// through [`Template::new`], which refuses the ESC2/ESC3 shapes and malformed rules.
/// Start from [`TemplateSpec::device`] or [`TemplateSpec::named`] and change fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSpec {
    pub name: String,
    /// Dotted EKU OIDs the certificates get (and the most a request may ask for).
    pub extended_key_usages: Vec<String>,
    pub validity_days: u32,
    pub san_kinds: SanKinds,
    pub key_rules: KeyRules,
    pub subject_rules: SubjectRules,
    pub san_rules: SanRules,
    /// Dotted OIDs of further extensions a request may carry, non-critical, and which are then
    /// ignored (never copied). subjectAltName, extKeyUsage ⊆ template, keyUsage ⊆ template,
    /// basicConstraints cA=FALSE and subjectKeyIdentifier are always tolerated. Certificate-
    /// shaping extensions (id-ce, id-pe) and Microsoft's (1.3.6.1.4.1.311) can never be
    /// listed. Default none.
    pub tolerated_request_extensions: Vec<String>,
    /// Renewal is allowed from this many days before the old certificate's notAfter. 0: only
    /// in the grace period. Default 30; at most `validity_days`.
    pub renewal_window_days: u32,
    /// ... and up to this many days after it. Default 0; at most 90.
    pub renewal_grace_days: u32,
    /// A renewal must bring a new key. Default true.
    pub renewal_requires_new_key: bool,
    /// Requests wait for an operator (SCEP PENDING). Default false.
    pub manual_approval: bool,
    /// What only an MDM that validated the whole CSR may vouch for. Default nothing.
    pub mdm_vouched: MdmVouched,
    /// authorityInfoAccess caIssuers URL (http only, RFC 5280 §4.2.2.1). Default none.
    pub aia_ca_issuers_url: Option<String>,
    /// authorityInfoAccess OCSP URL (http only). Default none.
    pub ocsp_url: Option<String>,
    /// cRLDistributionPoints URL (http only, RFC 5280 §4.2.1.13). Default none.
    pub crl_distribution_url: Option<String>,
}

impl TemplateSpec {
    /// The spec of the default template `device`.
    pub fn device() -> TemplateSpec {
        TemplateSpec::named(Template::DEVICE, &[oid::EKU_CLIENT_AUTH])
    }

    /// A spec with the given name and EKUs and every other field at its default: 365 days,
    /// dNSName SANs under any domain, the default key and subject rules, renewal 30 days
    /// before expiry with a new key, no manual approval, nothing MDM-vouched, no AIA/CDP.
    pub fn named(name: &str, extended_key_usages: &[&str]) -> TemplateSpec {
        TemplateSpec {
            name: name.to_owned(),
            extended_key_usages: extended_key_usages
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            validity_days: 365,
            san_kinds: SanKinds::default(),
            key_rules: KeyRules::default(),
            subject_rules: SubjectRules::default(),
            san_rules: SanRules::default(),
            tolerated_request_extensions: Vec::new(),
            renewal_window_days: 30,
            renewal_grace_days: 0,
            renewal_requires_new_key: true,
            manual_approval: false,
            mdm_vouched: MdmVouched::default(),
            aia_ca_issuers_url: None,
            ocsp_url: None,
            crl_distribution_url: None,
        }
    }
}

/// The rules of a spec after validation: OIDs dotted, names and patterns normalized, ranges
/// parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rules {
    pub(crate) subject_attributes: Vec<String>,
    /// (attribute OID, normalized patterns).
    pub(crate) value_patterns: Vec<(String, Vec<String>)>,
    pub(crate) common_name_domains: Vec<String>,
    pub(crate) dns_domains: Vec<String>,
    pub(crate) ip_ranges: Vec<IpRange>,
    pub(crate) email_domains: Vec<String>,
}

/// A validated certificate template. Fields are private so that every `Template` in the
/// program went through the checks of [`Template::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    spec: TemplateSpec,
    rules: Rules,
}

impl Template {
    /// The name of the default template.
    pub const DEVICE: &'static str = "device";

    /// Validates a template (see [`TemplateError`] for every refusal): a non-empty EKU list
    /// without anyExtendedKeyUsage (ESC2), Certificate Request Agent (ESC3) or OCSPSigning;
    /// validity 1..=3650 days; RSA bounds within 2048..=8192; well-formed attribute types,
    /// patterns, domains, CIDR ranges and http URLs; serverAuth only with DNS domains; IP or
    /// e-mail SANs only with ranges or domains; no certificate-shaping or Microsoft extension
    /// among the tolerated ones; a renewal window within the validity.
    pub fn new(spec: TemplateSpec) -> Result<Template, TemplateError> {
        let rules = check::check(&spec)?;
        Ok(Template { spec, rules })
    }

    /// The default template `device`: EKU clientAuth only, 365 days, dNSName SANs only,
    /// RSA 2048..=8192 (e = 65537) or P-256/P-384, subject CN/O/OU/C/L/ST/serialNumber.
    pub fn device() -> Template {
        let spec = TemplateSpec::device();
        let rules = Rules {
            subject_attributes: check::DEFAULT_SUBJECT_ATTRIBUTE_OIDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            value_patterns: Vec::new(),
            common_name_domains: Vec::new(),
            dns_domains: Vec::new(),
            ip_ranges: Vec::new(),
            email_domains: Vec::new(),
        };
        Template { spec, rules }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn extended_key_usages(&self) -> &[String] {
        &self.spec.extended_key_usages
    }

    pub fn validity_days(&self) -> u32 {
        self.spec.validity_days
    }

    pub fn san_kinds(&self) -> SanKinds {
        self.spec.san_kinds
    }

    pub fn key_rules(&self) -> &KeyRules {
        &self.spec.key_rules
    }

    pub fn renewal_window_days(&self) -> u32 {
        self.spec.renewal_window_days
    }

    pub fn renewal_grace_days(&self) -> u32 {
        self.spec.renewal_grace_days
    }

    pub fn renewal_requires_new_key(&self) -> bool {
        self.spec.renewal_requires_new_key
    }

    pub fn manual_approval(&self) -> bool {
        self.spec.manual_approval
    }

    pub fn mdm_vouched(&self) -> MdmVouched {
        self.spec.mdm_vouched
    }

    pub fn spec(&self) -> &TemplateSpec {
        &self.spec
    }

    pub(crate) fn rules(&self) -> &Rules {
        &self.rules
    }

    /// A template that skipped validation, to test that decisions hold on their own.
    #[cfg(test)]
    pub(crate) fn unchecked(spec: TemplateSpec) -> Template {
        Template {
            spec,
            rules: Template::device().rules,
        }
    }

    /// The key usage of issued certificates: digitalSignature always, keyEncipherment only
    /// for RSA keys (an EC key cannot encipher; RFC 5480 §3).
    pub fn key_usage_bits(&self, rsa_key: bool) -> u16 {
        if rsa_key {
            key_usage::DIGITAL_SIGNATURE | key_usage::KEY_ENCIPHERMENT
        } else {
            key_usage::DIGITAL_SIGNATURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn spec(ekus: &[&str]) -> TemplateSpec {
        TemplateSpec {
            validity_days: 30,
            ..TemplateSpec::named("t", ekus)
        }
    }

    #[test]
    fn device_template_is_client_auth_365_days_dns_only() {
        let t = Template::device();
        assert_eq!(t.name(), "device");
        assert_eq!(t.extended_key_usages(), [oid::EKU_CLIENT_AUTH]);
        assert_eq!(t.validity_days(), 365);
        assert_eq!(
            t.san_kinds(),
            SanKinds {
                dns: true,
                ip: false,
                email: false
            }
        );
        assert_eq!(t.key_rules().rsa_min_bits, 2048);
        assert_eq!(t.key_rules().rsa_max_bits, 8192);
        assert!(t.key_rules().rsa_exponent_65537_only);
        assert!(!t.key_rules().ec_p521);
        assert_eq!(t.renewal_window_days(), 30);
        assert_eq!(t.renewal_grace_days(), 0);
        assert!(t.renewal_requires_new_key());
        assert!(!t.manual_approval());
        assert_eq!(t.spec(), &TemplateSpec::device());
        // device() must itself pass validation.
        assert_eq!(Template::new(t.spec().clone()), Ok(t));
    }

    #[test]
    fn key_usage_depends_on_key_type() {
        let t = Template::device();
        assert_eq!(
            t.key_usage_bits(true),
            key_usage::DIGITAL_SIGNATURE | key_usage::KEY_ENCIPHERMENT
        );
        assert_eq!(t.key_usage_bits(false), key_usage::DIGITAL_SIGNATURE);
    }

    #[test]
    fn esc2_empty_eku_list_refused() {
        assert!(matches!(
            Template::new(spec(&[])),
            Err(TemplateError::NoExtendedKeyUsage(_))
        ));
    }

    #[test]
    fn esc2_esc3_forbidden_ekus_refused() {
        for eku in [
            oid::EKU_ANY,
            oid::EKU_CERTIFICATE_REQUEST_AGENT,
            oid::EKU_OCSP_SIGNING,
        ] {
            assert!(
                matches!(
                    Template::new(spec(&[oid::EKU_CLIENT_AUTH, eku])),
                    Err(TemplateError::ForbiddenExtendedKeyUsage { .. })
                ),
                "{eku}"
            );
        }
    }

    #[test]
    fn malformed_and_duplicate_ekus_refused() {
        for bad in ["", "1", "clientAuth", "1..2", "3.1", "1.02", "1.2."] {
            assert!(
                matches!(
                    Template::new(spec(&[bad])),
                    Err(TemplateError::BadOid { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Template::new(spec(&[oid::EKU_CLIENT_AUTH, oid::EKU_CLIENT_AUTH])),
            Err(TemplateError::DuplicateExtendedKeyUsage(_))
        ));
    }

    #[test]
    fn server_auth_template_is_allowed_explicitly() {
        let mut s = spec(&[oid::EKU_SERVER_AUTH, oid::EKU_CLIENT_AUTH]);
        s.san_rules.dns_domains = vec!["example.net".into()];
        assert!(Template::new(s).is_ok());
    }

    #[test]
    fn validity_and_key_rules_bounded() {
        let mut s = spec(&[oid::EKU_CLIENT_AUTH]);
        s.validity_days = 0;
        assert!(matches!(
            Template::new(s.clone()),
            Err(TemplateError::BadValidity(_))
        ));
        s.validity_days = 3651;
        assert!(matches!(
            Template::new(s.clone()),
            Err(TemplateError::BadValidity(_))
        ));
        s.validity_days = 30;
        s.key_rules.rsa_min_bits = 1024;
        assert!(matches!(
            Template::new(s.clone()),
            Err(TemplateError::BadKeyRules(_))
        ));
        s.key_rules.rsa_min_bits = 2048;
        s.key_rules.rsa_max_bits = 16384;
        assert!(matches!(
            Template::new(s.clone()),
            Err(TemplateError::BadKeyRules(_))
        ));
        s.key_rules.rsa_max_bits = 4096;
        assert!(Template::new(s.clone()).is_ok());
        s.name = "bad name".into();
        assert_eq!(Template::new(s), Err(TemplateError::BadName));
    }
}
