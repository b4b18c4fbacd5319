//! Certificate templates: what any request for them can get at most.

use crate::key_usage;
use crate::oid;

/// The allowed subjectAltName kinds. UPN / otherName / URI (and so the SID URL) can never be
/// allowed: there is no field for them.
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

/// Which subject keys a template accepts (CA/B Forum BR §6.1.5, §6.1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRules {
    /// RSA modulus size bounds, inclusive; the size must also be a multiple of 8.
    pub rsa_min_bits: u32,
    pub rsa_max_bits: u32,
    /// Allow P-256 keys.
    pub ec_p256: bool,
    /// Allow P-384 keys.
    pub ec_p384: bool,
}

impl Default for KeyRules {
    /// RSA 2048..=8192, P-256, P-384.
    fn default() -> Self {
        KeyRules {
            rsa_min_bits: 2048,
            rsa_max_bits: 8192,
            ec_p256: true,
            ec_p384: true,
        }
    }
}

/// The hard floor and ceiling no template may go beyond.
const RSA_FLOOR_BITS: u32 = 2048;
const RSA_CEILING_BITS: u32 = 8192;
/// Ten years: a device template asking for more is a configuration mistake.
const MAX_VALIDITY_DAYS: u32 = 3650;

/// The inputs of a template, as configuration gives them. Turned into a [`Template`] only
/// through [`Template::new`], which refuses the ESC2/ESC3 shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSpec {
    pub name: String,
    /// Dotted EKU OIDs the certificates get (and the most a request may ask for).
    pub extended_key_usages: Vec<String>,
    pub validity_days: u32,
    pub san_kinds: SanKinds,
    pub key_rules: KeyRules,
}

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
}

/// A validated certificate template. Fields are private so that every `Template` in the
/// program went through the checks of [`Template::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    spec: TemplateSpec,
}

impl Template {
    /// The name of the default template.
    pub const DEVICE: &'static str = "device";

    /// Validates a template: a non-empty EKU list, no anyExtendedKeyUsage (ESC2), no
    /// Certificate Request Agent (ESC3), no OCSPSigning, validity 1..=3650 days, RSA bounds
    /// within 2048..=8192.
    pub fn new(spec: TemplateSpec) -> Result<Template, TemplateError> {
        let name = &spec.name;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TemplateError::BadName);
        }
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
        Ok(Template { spec })
    }

    /// The default template `device`: EKU clientAuth only, 365 days, dNSName SANs only,
    /// RSA 2048..=8192 or P-256/P-384.
    pub fn device() -> Template {
        Template {
            spec: TemplateSpec {
                name: Self::DEVICE.to_owned(),
                extended_key_usages: vec![oid::EKU_CLIENT_AUTH.to_owned()],
                validity_days: 365,
                san_kinds: SanKinds::default(),
                key_rules: KeyRules::default(),
            },
        }
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

    pub fn spec(&self) -> &TemplateSpec {
        &self.spec
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

/// `arc(.arc)+`, decimal arcs without leading zeros, first arc 0..=2.
fn is_dotted_oid(s: &str) -> bool {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn spec(ekus: &[&str]) -> TemplateSpec {
        TemplateSpec {
            name: "t".into(),
            extended_key_usages: ekus.iter().map(|s| s.to_string()).collect(),
            validity_days: 30,
            san_kinds: SanKinds::default(),
            key_rules: KeyRules::default(),
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
        let t = Template::new(spec(&[oid::EKU_SERVER_AUTH, oid::EKU_CLIENT_AUTH]));
        assert!(t.is_ok());
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
