//! `scepd init --mode ca`: the CA side of a split deployment. The ceremony of `init` makes the
//! CA; this adds the CA service's TLS server identity (its own key: one key, one job) and
//! marks the directory as a CA service. No RA key is made here: RAs register.

use std::net::IpAddr;
use std::path::Path;

use crate::ceremony::error::CeremonyError;
use config::Config;

/// The configuration text with `[deployment] mode = "ca"`.
pub fn config_text(text: String) -> Result<String, CeremonyError> {
    let commented = "# mode = \"all-in-one\"";
    if !text.contains(commented) {
        return Err(CeremonyError::NoDeploymentMode);
    }
    Ok(text.replacen(commented, "mode = \"ca\"", 1))
}

/// Splits TLS names into DNS names and IP addresses (4 or 16 octets).
pub fn split_names(names: &[String]) -> (Vec<String>, Vec<Vec<u8>>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in names {
        match name.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => ips.push(a.octets().to_vec()),
            Ok(IpAddr::V6(a)) => ips.push(a.octets().to_vec()),
            Err(_) => dns.push(name.clone()),
        }
    }
    (dns, ips)
}

/// Makes the CA service's TLS key (P-256, PKCS#8 PEM, mode 0600) and its server certificate
/// issued by the CA key for `names` (default `localhost` and `127.0.0.1`). Returns the line
/// for the fingerprint report.
pub fn make_tls_identity(
    dir: &Path,
    config: &Config,
    ca_key: &dyn keys::Signer,
    ca_certificate: &[u8],
    names: &[String],
) -> Result<(&'static str, String, String), CeremonyError> {
    let names = if names.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
    } else {
        names.to_vec()
    };
    let (dns, ips) = split_names(&names);
    let key = crate::services::ca_link::tls::generate_key(&dir.join(&config.ca_service.tls_key))?;
    let certificate = ca::dev::issue_tls_certificate(
        ca_key,
        ca_certificate,
        &key,
        "scepd CA service",
        ca::dev::TlsPurpose::Server,
        &dns,
        &ips,
        config.ca_service.ra_validity_days.max(365),
    )
    .map_err(|source| CeremonyError::Certify {
        what: "CA service TLS",
        source,
    })?;
    keys::pem::write_certificate(&dir.join(&config.ca_service.tls_certificate), &certificate)?;
    Ok((
        "CA TLS server",
        ca::fingerprint_sha256(&certificate),
        crate::x509::subject_of(&certificate),
    ))
}
