//! `scepd challenge issue`: mint one one-time challenge and print it, and nothing else, on
//! stdout. Only its hash is stored.

use std::path::Path;
use std::time::Duration;

use crate::config::Config;

pub struct IssueRequest {
    pub template: Option<String>,
    pub subject: Option<String>,
    pub sans: Vec<String>,
    pub ttl: Option<Duration>,
}

pub async fn issue(dir: &Path, request: IssueRequest) -> Result<String, String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    let template = request.template.unwrap_or_else(|| "device".into());
    let templates = crate::templates::build(&config.templates)?;
    let Some(chosen) = templates.iter().find(|t| t.name() == template) else {
        let known: Vec<&str> = templates.iter().map(|t| t.name()).collect();
        return Err(format!(
            "--template: unknown template {template:?} (known: {})",
            known.join(", ")
        ));
    };
    let kinds = chosen.san_kinds();
    for san in &request.sans {
        let (kind, name) = san.split_once(':').unwrap_or(("", san));
        let allowed = match kind {
            "dns" => kinds.dns,
            "ip" => kinds.ip,
            "email" => kinds.email,
            _ => false,
        };
        if !allowed {
            return Err(format!(
                "--san {san:?}: template {template} allows only {}",
                allowed_kinds(&kinds)
            ));
        }
        if name.is_empty() {
            return Err(format!("--san {san:?}: empty name"));
        }
    }
    let ttl = request.ttl.unwrap_or(config.challenges.default_ttl);
    if ttl > config.challenges.max_ttl || ttl.is_zero() {
        return Err(format!(
            "--ttl {}: must be between 1s and challenges.max_ttl ({})",
            humantime::format_duration(ttl),
            humantime::format_duration(config.challenges.max_ttl)
        ));
    }
    let store = config.open_store(dir).await?;
    let now = crate::http::unix_now();
    let challenge = ra::challenge::generate().map_err(|e| format!("random source: {e}"))?;
    let expires_at = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    store
        .insert_challenge(store::NewChallenge {
            hash: challenge.hash,
            template: template.clone(),
            binding_subject: request.subject.clone(),
            binding_sans: request.sans.clone(),
            created_at: now,
            expires_at,
            created_by: crate::cli_audit::actor(),
        })
        .await
        .map_err(|e| format!("storing the challenge: {e}"))?;
    let detail = format!(
        "template {template}, subject {:?}, sans {:?}, expires {expires_at}, hash prefix {}",
        request.subject,
        request.sans,
        hex::encode(challenge.hash.get(..4).unwrap_or_default())
    );
    crate::cli_audit::record(&store, store::AuditKind::ChallengeIssued, detail).await?;
    Ok(challenge.secret.to_string())
}

fn allowed_kinds(kinds: &policy::SanKinds) -> String {
    let mut allowed = Vec::new();
    for (on, name) in [
        (kinds.dns, "dns:NAME"),
        (kinds.ip, "ip:ADDRESS"),
        (kinds.email, "email:ADDRESS"),
    ] {
        if on {
            allowed.push(name);
        }
    }
    if allowed.is_empty() {
        "no SANs".to_owned()
    } else {
        allowed.join(", ")
    }
}
