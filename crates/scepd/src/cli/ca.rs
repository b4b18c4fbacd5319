//! `scepd ca register-ra | list-ra | revoke-ra`: the CA operator's side of RA enrollment.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::config::deployment::Mode;

async fn open(dir: &Path) -> Result<(Config, store::Store), String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    if config.deployment.mode != Mode::Ca {
        return Err(format!(
            "{} is prepared for {}, not scepd ca (deployment.mode)",
            dir.display(),
            config.deployment.mode.command()
        ));
    }
    let store = config.open_store(dir).await?;
    Ok((config, store))
}

/// Announces an RA and returns its one-time registration code (256 random bits; only its
/// SHA-256 is stored).
pub async fn register(
    dir: &Path,
    name: &str,
    templates: &[String],
    now: i64,
) -> Result<(zeroize::Zeroizing<String>, i64), String> {
    let (config, store) = open(dir).await?;
    let known = crate::config::templates::build(&config.templates)?;
    for t in templates {
        if !known.iter().any(|k| k.name() == t) {
            return Err(format!(
                "--templates: template {t:?} is not configured on this CA"
            ));
        }
    }
    if templates.is_empty() {
        return Err("--templates: name at least one template".into());
    }
    let bytes = keys::random::bytes(32).map_err(|e| format!("random: {e}"))?;
    let code = zeroize::Zeroizing::new(hex::encode(&bytes));
    let expires = now.saturating_add(
        i64::try_from(config.ca_service.registration_code_ttl.as_secs()).unwrap_or(i64::MAX),
    );
    store
        .create_ra_registration(store::NewRaRegistration {
            name: name.to_owned(),
            templates: templates.to_vec(),
            code_sha256: Sha256::digest(code.as_bytes()).into(),
            code_expires_at: expires,
            created_at: now,
        })
        .await
        .map_err(|e| format!("registering RA {name:?}: {e}"))?;
    crate::cli_audit::record(
        &store,
        store::AuditKind::ConfigChanged,
        format!(
            "RA {name} announced for templates {}; registration code valid until {expires}",
            templates.join(",")
        ),
    )
    .await?;
    Ok((code, expires))
}

pub async fn list(dir: &Path) -> Result<String, String> {
    let (_, store) = open(dir).await?;
    let mut out = String::new();
    for ra in store.ra_registrations().await.map_err(|e| e.to_string())? {
        let state = match (&ra.certificates, ra.revoked_at) {
            (_, Some(at)) => format!("revoked at {at}"),
            (Some(c), None) => format!("active, TLS SHA-256 {}", ca::fingerprint_sha256(&c.tls)),
            (None, None) => format!(
                "awaiting registration (code valid until {})",
                ra.code_expires_at
            ),
        };
        out.push_str(&format!(
            "{}\ttemplates={}\t{state}\n",
            ra.name,
            ra.templates.join(",")
        ));
    }
    Ok(out)
}

pub async fn revoke(dir: &Path, name: &str, now: i64) -> Result<(), String> {
    let (_, store) = open(dir).await?;
    if !store
        .revoke_ra(name, now)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!("no active RA named {name:?}"));
    }
    crate::cli_audit::record(
        &store,
        store::AuditKind::ConfigChanged,
        format!("RA {name} revoked: its TLS certificate leaves the allow-list, its statements are refused"),
    )
    .await
}
