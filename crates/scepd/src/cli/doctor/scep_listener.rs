//! How devices reach SCEP (the seed: "communication between NDES and MDM/the device
//! requesting the certificate must be via TLS"): plain HTTP only on loopback, or behind a TLS
//! proxy the configuration names; scepd's own HTTPS listener with a current certificate and a
//! private key.

use std::path::Path;

use config::Config;

use super::files::{certificate_lifetime, key_file};
use super::finding::{Finding, Severity, finding};

/// Renew the SCEP listener's TLS certificate this many days before it expires.
const TLS_CERTIFICATE_MIN_DAYS: i64 = 30;

pub fn findings(dir: &Path, config: &Config, now: i64) -> Vec<Finding> {
    let scep = &config.scep;
    let mut found = Vec::new();
    if scep.plain_http_exposed() {
        found.push(finding(
            "scep.exposure",
            Severity::Fail,
            format!(
                "SCEP over plain HTTP on {} (not loopback) with no TLS in front: serve scep.tls_listen, or put a TLS proxy in front and set scep.behind_tls_proxy = true",
                scep.listen
            ),
        ));
    } else if scep.plain_http && scep.behind_tls_proxy {
        found.push(finding(
            "scep.exposure",
            Severity::Pass,
            format!(
                "SCEP over plain HTTP on {} behind a TLS proxy (scep.behind_tls_proxy)",
                scep.listen
            ),
        ));
    } else if scep.plain_http {
        found.push(finding(
            "scep.exposure",
            Severity::Pass,
            format!(
                "SCEP over plain HTTP on loopback only ({}): devices reach it through a TLS proxy",
                scep.listen
            ),
        ));
    }
    if let (Some(listen), Some(certificate), Some(key)) =
        (scep.tls_listen, &scep.tls_certificate, &scep.tls_key)
    {
        found.push(finding(
            "scep.tls",
            Severity::Pass,
            format!("SCEP over TLS on {listen}"),
        ));
        found.push(certificate_lifetime(
            "SCEP TLS certificate",
            &dir.join(certificate),
            now,
            TLS_CERTIFICATE_MIN_DAYS,
        ));
        found.push(key_file("SCEP TLS key", &dir.join(key)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severities(config: &Config) -> Vec<Severity> {
        findings(Path::new("/nonexistent"), config, 0)
            .iter()
            .map(|f| f.severity)
            .collect()
    }

    #[test]
    fn plain_http_beyond_loopback_fails_unless_a_tls_proxy_fronts_it() {
        let mut config = Config::default();
        assert_eq!(severities(&config), [Severity::Pass], "loopback");
        config.scep.listen = "0.0.0.0:8080".parse().unwrap_or(config.scep.listen);
        assert_eq!(severities(&config), [Severity::Fail], "exposed");
        config.scep.behind_tls_proxy = true;
        assert_eq!(severities(&config), [Severity::Pass], "behind a proxy");
    }

    #[test]
    fn the_tls_listener_needs_a_readable_certificate_and_a_private_key() {
        let mut config = Config::default();
        config.scep.plain_http = false;
        config.scep.tls_listen = "0.0.0.0:8443".parse().ok();
        config.scep.tls_certificate = Some("missing.pem".into());
        config.scep.tls_key = Some("missing.key".into());
        // No plain listener to judge; the missing files fail.
        assert_eq!(
            severities(&config),
            [Severity::Pass, Severity::Fail, Severity::Fail]
        );
    }
}
