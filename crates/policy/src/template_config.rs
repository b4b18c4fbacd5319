//! Templates as operators write them (`[[templates]]` in `scepd.toml`), mapped onto
//! [`TemplateSpec`](crate::TemplateSpec). The built-in `device` template is always there unless
//! a template of that name replaces it. Every field left out has this crate's safe default;
//! validation is [`Template::new`](crate::Template::new)'s, and every error names the template.

use std::collections::BTreeMap;

use serde::Deserialize;

/// EKU names operators write, and their OIDs; any dotted OID is also accepted.
const EKU_NAMES: &[(&str, &str)] = &[
    ("clientAuth", "1.3.6.1.5.5.7.3.2"),
    ("serverAuth", "1.3.6.1.5.5.7.3.1"),
    ("emailProtection", "1.3.6.1.5.5.7.3.4"),
    ("ipsecIKE", "1.3.6.1.5.5.7.3.17"),
    ("ipsecTunnel", "1.3.6.1.5.5.7.3.6"),
];

/// A `[[templates]]` table scepd cannot issue with; every message names the template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateConfigError {
    #[error(
        "templates {template:?}: extended_key_usages: {name:?} is neither a known name ({}) nor a dotted OID",
        EKU_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    )]
    UnknownExtendedKeyUsage { template: String, name: String },
    #[error("templates: {0:?} is defined twice")]
    DefinedTwice(String),
    #[error("templates {template:?}: {source}")]
    Refused {
        template: String,
        source: crate::TemplateError,
    },
}

/// One `[[templates]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub name: String,
    /// EKU names (clientAuth, serverAuth, emailProtection, ipsecIKE, ipsecTunnel) or dotted
    /// OIDs.
    pub extended_key_usages: Vec<String>,
    pub validity_days: Option<u32>,
    pub san_dns: Option<bool>,
    pub san_ip: Option<bool>,
    pub san_email: Option<bool>,
    #[serde(default)]
    pub dns_domains: Vec<String>,
    pub allow_wildcards: Option<bool>,
    #[serde(default)]
    pub ip_ranges: Vec<String>,
    #[serde(default)]
    pub email_domains: Vec<String>,
    pub subject_attributes: Option<Vec<String>>,
    pub require_common_name: Option<bool>,
    /// Per attribute, the value patterns (`*` within one DNS label).
    #[serde(default)]
    pub subject_patterns: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub common_name_domains: Vec<String>,
    pub rsa_min_bits: Option<u32>,
    pub rsa_max_bits: Option<u32>,
    pub ec_p256: Option<bool>,
    pub ec_p384: Option<bool>,
    #[serde(default)]
    pub tolerated_request_extensions: Vec<String>,
    pub renewal_window_days: Option<u32>,
    pub renewal_grace_days: Option<u32>,
    pub renewal_requires_new_key: Option<bool>,
    pub manual_approval: Option<bool>,
    pub aia_ca_issuers_url: Option<String>,
    pub ocsp_url: Option<String>,
    pub crl_distribution_url: Option<String>,
    /// `[templates.mdm_vouched]`: what only an MDM that validated the whole CSR may vouch for.
    #[serde(default)]
    pub mdm_vouched: MdmVouchedConfig,
}

/// `[templates.mdm_vouched]` under a `[[templates]]` entry; every key defaults to false.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdmVouchedConfig {
    #[serde(default)]
    pub upn: bool,
    #[serde(default)]
    pub sid_uri: bool,
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub ipsec_tunnel_eku: bool,
}

fn eku_oid(template: &str, name: &str) -> Result<String, TemplateConfigError> {
    if let Some((_, oid)) = EKU_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Ok((*oid).to_owned());
    }
    if name.split('.').count() >= 3
        && name
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
    {
        return Ok(name.to_owned());
    }
    Err(TemplateConfigError::UnknownExtendedKeyUsage {
        template: template.to_owned(),
        name: name.to_owned(),
    })
}

impl TemplateConfig {
    fn spec(&self) -> Result<crate::TemplateSpec, TemplateConfigError> {
        let ekus = self
            .extended_key_usages
            .iter()
            .map(|e| eku_oid(&self.name, e))
            .collect::<Result<Vec<_>, _>>()?;
        let eku_refs: Vec<&str> = ekus.iter().map(String::as_str).collect();
        let mut spec = crate::TemplateSpec::named(&self.name, &eku_refs);
        if let Some(v) = self.validity_days {
            spec.validity_days = v;
        }
        let kinds = &mut spec.san_kinds;
        kinds.dns = self.san_dns.unwrap_or(kinds.dns);
        kinds.ip = self.san_ip.unwrap_or(kinds.ip);
        kinds.email = self.san_email.unwrap_or(kinds.email);
        let san = &mut spec.san_rules;
        san.dns_domains.clone_from(&self.dns_domains);
        san.allow_wildcards = self.allow_wildcards.unwrap_or(san.allow_wildcards);
        san.ip_ranges.clone_from(&self.ip_ranges);
        san.email_domains.clone_from(&self.email_domains);
        let subject = &mut spec.subject_rules;
        if let Some(attributes) = &self.subject_attributes {
            subject.allowed_attributes.clone_from(attributes);
        }
        subject.require_common_name = self
            .require_common_name
            .unwrap_or(subject.require_common_name);
        subject.value_patterns = self
            .subject_patterns
            .iter()
            .map(|(attribute, patterns)| crate::ValuePattern {
                attribute: attribute.clone(),
                patterns: patterns.clone(),
            })
            .collect();
        subject
            .common_name_domains
            .clone_from(&self.common_name_domains);
        let keys = &mut spec.key_rules;
        keys.rsa_min_bits = self.rsa_min_bits.unwrap_or(keys.rsa_min_bits);
        keys.rsa_max_bits = self.rsa_max_bits.unwrap_or(keys.rsa_max_bits);
        keys.ec_p256 = self.ec_p256.unwrap_or(keys.ec_p256);
        keys.ec_p384 = self.ec_p384.unwrap_or(keys.ec_p384);
        spec.tolerated_request_extensions
            .clone_from(&self.tolerated_request_extensions);
        spec.renewal_window_days = self.renewal_window_days.unwrap_or(spec.renewal_window_days);
        spec.renewal_grace_days = self.renewal_grace_days.unwrap_or(spec.renewal_grace_days);
        spec.renewal_requires_new_key = self
            .renewal_requires_new_key
            .unwrap_or(spec.renewal_requires_new_key);
        spec.manual_approval = self.manual_approval.unwrap_or(spec.manual_approval);
        spec.aia_ca_issuers_url.clone_from(&self.aia_ca_issuers_url);
        spec.ocsp_url.clone_from(&self.ocsp_url);
        spec.crl_distribution_url
            .clone_from(&self.crl_distribution_url);
        let MdmVouchedConfig {
            upn,
            sid_uri,
            email,
            ipsec_tunnel_eku,
        } = self.mdm_vouched;
        spec.mdm_vouched = crate::MdmVouched {
            upn,
            sid_uri,
            email,
            ipsec_tunnel_eku,
        };
        Ok(spec)
    }
}

/// The templates a data directory issues with: the configured ones, plus `device` unless it
/// is redefined. Names are unique.
pub fn build_templates(
    configured: &[TemplateConfig],
) -> Result<Vec<crate::Template>, TemplateConfigError> {
    let mut templates = Vec::new();
    for config in configured {
        if templates
            .iter()
            .any(|t: &crate::Template| t.name() == config.name)
        {
            return Err(TemplateConfigError::DefinedTwice(config.name.clone()));
        }
        let template = crate::Template::new(config.spec()?).map_err(|source| {
            TemplateConfigError::Refused {
                template: config.name.clone(),
                source,
            }
        })?;
        templates.push(template);
    }
    if !templates
        .iter()
        .any(|t| t.name() == crate::Template::DEVICE)
    {
        templates.insert(0, crate::Template::device());
    }
    Ok(templates)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn parse(toml_text: &str) -> Result<Vec<crate::Template>, String> {
        #[derive(Deserialize)]
        struct Doc {
            templates: Vec<TemplateConfig>,
        }
        let doc: Doc = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        build_templates(&doc.templates).map_err(|e| e.to_string())
    }

    #[test]
    fn device_is_built_in_and_more_can_be_added() {
        let templates = parse(
            r#"
            [[templates]]
            name = "vpn"
            extended_key_usages = ["clientAuth", "1.3.6.1.5.5.7.3.17"]
            validity_days = 90
            dns_domains = ["vpn.example.net"]
            manual_approval = true
            crl_distribution_url = "http://pki.example.net/crl"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = templates.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["device", "vpn"]);
        let vpn = &templates[1];
        assert_eq!(vpn.validity_days(), 90);
        assert!(vpn.manual_approval());
        assert_eq!(
            vpn.extended_key_usages(),
            ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.17"]
        );
    }

    #[test]
    fn unsafe_or_unknown_settings_are_refused_naming_the_template() {
        for (text, expected) in [
            (
                "name = \"x\"\nextended_key_usages = [\"anyExtendedKeyUsage\"]",
                "extended_key_usages",
            ),
            (
                "name = \"x\"\nextended_key_usages = [\"2.5.29.37.0\"]",
                "\"x\"",
            ),
            (
                "name = \"x\"\nextended_key_usages = [\"serverAuth\"]",
                "\"x\"",
            ),
            (
                "name = \"x\"\nextended_key_usages = [\"clientAuth\"]\nvalidity_days = 9000",
                "\"x\"",
            ),
            (
                "name = \"x\"\nextended_key_usages = [\"clientAuth\"]\nvalidity = 30",
                "validity",
            ),
        ] {
            let err = parse(&format!("[[templates]]\n{text}\n"))
                .err()
                .unwrap_or_default();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let twice =
            "[[templates]]\nname = \"a\"\nextended_key_usages = [\"clientAuth\"]\n".repeat(2);
        assert!(
            parse(&twice)
                .err()
                .unwrap_or_default()
                .contains("defined twice")
        );
    }

    #[test]
    fn mdm_vouched_is_a_table_of_the_template_and_refuses_unknown_keys() {
        let templates = parse(
            r#"
            [[templates]]
            name = "intune-user"
            extended_key_usages = ["clientAuth", "ipsecTunnel"]

            [templates.mdm_vouched]
            upn = true
            sid_uri = true
            email = true
            ipsec_tunnel_eku = true

            [[templates]]
            name = "plain"
            extended_key_usages = ["clientAuth"]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let user = &templates[1];
        assert_eq!(
            user.mdm_vouched(),
            crate::MdmVouched {
                upn: true,
                sid_uri: true,
                email: true,
                ipsec_tunnel_eku: true
            }
        );
        assert_eq!(
            user.extended_key_usages(),
            ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.6"]
        );
        assert!(!templates[2].mdm_vouched().any());

        let unknown = parse(
            "[[templates]]\nname = \"x\"\nextended_key_usages = [\"clientAuth\"]\n[templates.mdm_vouched]\nsmart_card_logon = true\n",
        )
        .err()
        .unwrap_or_default();
        assert!(unknown.contains("smart_card_logon"), "{unknown}");
        let not_listed = parse(
            "[[templates]]\nname = \"x\"\nextended_key_usages = [\"clientAuth\"]\n[templates.mdm_vouched]\nipsec_tunnel_eku = true\n",
        )
        .err()
        .unwrap_or_default();
        assert!(
            not_listed.contains("\"x\"") && not_listed.contains("mdm_vouched.ipsec_tunnel_eku"),
            "{not_listed}"
        );
    }
}
