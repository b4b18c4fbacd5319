//! The certificate templates, built and validated as the service builds them at start
//! (`config::templates::build`, then what `scepd serve` adds), so that an invalid template
//! fails doctor and not only the start:
//!
//! - `templates.build`: each `[[templates]]` on its own (one finding per template, so every bad
//!   one is named), then the whole set as the service builds it (a name defined twice).
//! - `templates.references`: a template named by an insecure challenge opt-in exists (the
//!   service refuses to start otherwise). Endpoints' templates are `endpoints.template`'s.
//! - `templates.ca_eku`: no template asks for a usage the CA's EKU constraint forbids; the CA
//!   would refuse every request under it.

use std::path::Path;

use config::Config;
use config::deployment::Mode;

use super::ca_constraints::CaCertificates;
use super::finding::{Finding, Severity, finding};

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    let mut found = Vec::new();
    for template in &config.templates {
        match config::templates::build(std::slice::from_ref(template)) {
            Ok(built) => {
                if let Some(t) = built.iter().find(|t| t.name() == template.name) {
                    found.push(finding(
                        "templates.build",
                        Severity::Pass,
                        format!(
                            "template {:?} builds: EKUs {}, {} days",
                            t.name(),
                            t.extended_key_usages().join(", "),
                            t.validity_days()
                        ),
                    ));
                }
            }
            Err(e) => found.push(finding(
                "templates.build",
                Severity::Fail,
                format!("template {:?}: {e}", template.name),
            )),
        }
    }
    let templates = match config::templates::build(&config.templates) {
        Ok(templates) => templates,
        Err(e) => {
            // Each template on its own built: the set as a whole is what fails.
            if found.iter().all(|f| f.severity != Severity::Fail) {
                found.push(finding(
                    "templates.build",
                    Severity::Fail,
                    format!("templates: {e}"),
                ));
            }
            return found;
        }
    };
    if config.templates.is_empty() {
        found.push(finding(
            "templates.build",
            Severity::Pass,
            "no [[templates]]: only the built-in template \"device\" (clientAuth, 365 days)",
        ));
    }
    if config.deployment.mode != Mode::Ca {
        found.extend(references(config, &templates));
    }
    found.extend(ca_eku(dir, config, &templates));
    found
}

/// The templates the insecure challenge opt-ins decide under, as `scepd serve` checks them.
fn references(config: &Config, templates: &[policy::Template]) -> Vec<Finding> {
    let challenges = &config.challenges;
    let mut out = Vec::new();
    for (enabled, setting, name) in [
        (
            challenges.insecure_no_challenge,
            "challenges.insecure_no_challenge_template",
            &challenges.insecure_no_challenge_template,
        ),
        (
            challenges.insecure_static_challenge_file.is_some(),
            "challenges.insecure_static_challenge_template",
            &challenges.insecure_static_challenge_template,
        ),
    ] {
        if enabled && !templates.iter().any(|t| t.name() == name) {
            out.push(finding(
                "templates.references",
                Severity::Fail,
                format!(
                    "{setting}: template {name:?} is not configured; the service does not start"
                ),
            ));
        }
    }
    out
}

/// Each template's EKUs against the EKU constraints of the CA and its chain.
fn ca_eku(dir: &Path, config: &Config, templates: &[policy::Template]) -> Vec<Finding> {
    // An unreadable CA certificate is ca.certificate's failure.
    let Ok(certificates) = CaCertificates::read(dir, config) else {
        return Vec::new();
    };
    let Ok(constraints) = certificates.eku_constraints() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for template in templates {
        let forbidden = constraints.iter().find_map(|(owner, allowed)| {
            template
                .extended_key_usages()
                .iter()
                .find(|e| !allowed.contains(e))
                .map(|e| (owner, e))
        });
        out.push(match forbidden {
            Some((owner, eku)) => finding(
                "templates.ca_eku",
                Severity::Fail,
                format!(
                    "template {:?} asks for EKU {eku}, which the EKU constraint of {owner} forbids: the CA refuses every request under it",
                    template.name()
                ),
            ),
            None => finding(
                "templates.ca_eku",
                Severity::Pass,
                format!(
                    "template {:?}: its EKUs are within the CA's EKU constraint{}",
                    template.name(),
                    if constraints.is_empty() {
                        " (the CA has none)"
                    } else {
                        ""
                    }
                ),
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keys::KeyRole;
    use keys::software::SoftwareKey;

    use super::*;

    fn configured(toml_text: &str) -> Config {
        toml::from_str(toml_text).unwrap()
    }

    fn of<'a>(found: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        found.iter().filter(|f| f.id == id).collect()
    }

    const GOOD: &str = r#"
[[templates]]
name = "wifi"
extended_key_usages = ["clientAuth"]
validity_days = 90
"#;

    #[test]
    fn good_templates_build_as_the_service_builds_them() {
        let dir = tempfile::tempdir().unwrap();
        let found = findings(dir.path(), &configured(GOOD));
        let built = of(&found, "templates.build");
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].severity, Severity::Pass, "{}", built[0].message);
        assert!(built[0].message.contains("\"wifi\""));
    }

    #[test]
    fn an_invalid_template_fails_naming_it_and_the_others_are_still_checked() {
        let dir = tempfile::tempdir().unwrap();
        let config = configured(&format!(
            "{GOOD}\n[[templates]]\nname = \"agent\"\nextended_key_usages = [\"1.3.6.1.4.1.311.20.2.1\"]\n"
        ));
        let found = findings(dir.path(), &config);
        let built = of(&found, "templates.build");
        assert_eq!(built.len(), 2, "one finding per template");
        assert_eq!(built[0].severity, Severity::Pass);
        assert_eq!(built[1].severity, Severity::Fail);
        assert!(
            built[1].message.contains("\"agent\""),
            "{}",
            built[1].message
        );
        // Serve refuses this set for the same reason.
        assert!(config::templates::build(&config.templates).is_err());
    }

    #[test]
    fn a_template_defined_twice_fails_as_a_set() {
        let dir = tempfile::tempdir().unwrap();
        let found = findings(dir.path(), &configured(&GOOD.repeat(2)));
        let fails: Vec<_> = of(&found, "templates.build")
            .into_iter()
            .filter(|f| f.severity == Severity::Fail)
            .collect();
        assert_eq!(fails.len(), 1);
        assert!(fails[0].message.contains("wifi"), "{}", fails[0].message);
    }

    #[test]
    fn an_insecure_opt_in_naming_a_missing_template_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = configured(GOOD);
        config.challenges.insecure_no_challenge = true;
        assert!(of(&findings(dir.path(), &config), "templates.references").is_empty());
        config.challenges.insecure_no_challenge_template = "nosuch".into();
        let found = findings(dir.path(), &config);
        let references = of(&found, "templates.references");
        assert_eq!(references.len(), 1);
        assert_eq!(references[0].severity, Severity::Fail);
        assert!(references[0].message.contains("nosuch"));
    }

    #[test]
    fn a_template_outside_the_ca_eku_constraint_fails() {
        let dir = tempfile::tempdir().unwrap();
        let config = configured(
            "[[templates]]\nname = \"web\"\nextended_key_usages = [\"serverAuth\"]\ndns_domains = [\"example.net\"]\n",
        );
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        let certificate = ca::CaProfile::new("CN=Client CA", 30)
            .unwrap()
            .client_auth_only()
            .self_signed(&signer)
            .unwrap();
        keys::pem::write_certificate(&dir.path().join("certs/ca.pem"), &certificate).unwrap();
        let found = findings(dir.path(), &config);
        let fit = of(&found, "templates.ca_eku");
        let device = fit
            .iter()
            .find(|f| f.message.contains("\"device\""))
            .unwrap();
        assert_eq!(device.severity, Severity::Pass, "{}", device.message);
        let web = fit.iter().find(|f| f.message.contains("\"web\"")).unwrap();
        assert_eq!(web.severity, Severity::Fail, "{}", web.message);
        assert!(web.message.contains("1.3.6.1.5.5.7.3.1"), "{}", web.message);
    }
}
