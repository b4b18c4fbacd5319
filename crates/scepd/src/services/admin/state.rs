//! What every handler of the admin listener shares: the store, the configuration, the SCEP
//! service whose certificates it shows, the login limiter, and the few actions the page and
//! the API both take.

use std::sync::Arc;

use accounts::{Action, Principal};

use super::error::{AdminError, AdminStartError};
use crate::services::challenges::{ChallengeIssueError, IssueRequest, IssuedChallenge};
use crate::services::scep_http::ScepService;
use config::Config;

/// The audit log's name for an administrator acting through the admin listener.
pub fn actor(principal: &Principal) -> String {
    format!("user:{}", principal.name)
}

/// The template a request without one means: the only one a device-admin holds, else "device".
pub fn default_template(principal: &Principal) -> String {
    match principal.templates.as_slice() {
        [only] if principal.role != accounts::Role::PkiAdmin => only.clone(),
        _ => "device".to_owned(),
    }
}

/// SHA-256 fingerprints of the certificates a device administrator pins.
pub struct Fingerprints {
    pub ca: String,
    pub ra_signing: String,
    pub ra_encryption: String,
}

/// Everything the admin handlers need, built once at start.
pub struct AdminState {
    pub store: store::Store,
    pub config: Arc<Config>,
    pub scep: Arc<ScepService>,
    pub trusted_proxies: Vec<policy::IpRange>,
    pub login_limiter: edge::limiter::FailureLimiter,
    /// Bounds the password verifications running at once (a login flood).
    pub password_gate: crate::services::admin::password_gate::PasswordGate,
    pub fingerprints: Fingerprints,
    pub template_names: Vec<String>,
    /// An argon2id hash of a random password, checked when a login names an unknown user so
    /// that the answer takes as long as for a known one.
    pub decoy_password_hash: String,
}

impl AdminState {
    pub fn new(config: Arc<Config>, scep: Arc<ScepService>) -> Result<AdminState, AdminStartError> {
        let identity = scep.ra.identity();
        let fingerprints = Fingerprints {
            ca: ca::fingerprint_sha256(&identity.ca_certificate),
            ra_signing: ca::fingerprint_sha256(&identity.signing_certificate),
            ra_encryption: ca::fingerprint_sha256(&identity.encryption_certificate),
        };
        let template_names = config::templates::build(&config.templates)?
            .iter()
            .map(|t| t.name().to_owned())
            .collect();
        let decoy = accounts::generate_password().map_err(AdminStartError::Random)?;
        let decoy_password_hash =
            accounts::hash_password(&decoy).map_err(AdminStartError::Hashing)?;
        Ok(AdminState {
            store: scep.store.clone(),
            trusted_proxies: config.admin.proxy_ranges()?,
            login_limiter: edge::limiter::FailureLimiter::new(edge::limiter::Limits {
                max_failures: config.admin.max_failed_logins,
                window: config.admin.login_failure_window,
                lockout: config.admin.login_lockout,
                // Password spraying from many addresses trips this instead.
                global_max_failures: config.admin.max_failed_logins.saturating_mul(20),
            }),
            password_gate: crate::services::admin::password_gate::PasswordGate::new(
                config.admin.max_concurrent_password_checks,
            ),
            fingerprints,
            template_names,
            decoy_password_hash,
            config,
            scep,
        })
    }

    /// Appends an audit entry; a failure to do so is logged loudly (the action already happened).
    pub async fn audit(&self, kind: store::AuditKind, actor: &str, detail: String) {
        crate::audit_trail::append_or_log(&self.store, kind, actor, detail).await;
    }

    pub fn known_template(&self, template: &str) -> Result<(), AdminError> {
        if self.template_names.iter().any(|t| t == template) {
            Ok(())
        } else {
            Err(AdminError::BadRequest(format!(
                "template: unknown template {template:?} (known: {})",
                self.template_names.join(", ")
            )))
        }
    }

    pub async fn user(&self, name: &str) -> Result<store::UserRecord, AdminError> {
        self.store
            .user_by_name(name)
            .await
            .map_err(AdminError::store)?
            .ok_or_else(|| AdminError::NotFound(format!("no user {name}")))
    }

    /// An unbound challenge (no subject, no SANs: the template alone decides names) for
    /// `template`, or the account's default one: what the page, NDES's page for connectors
    /// and Jamf's webhook hand out.
    pub async fn issue_unbound_challenge(
        &self,
        principal: &Principal,
        template: Option<String>,
    ) -> Result<IssuedChallenge, AdminError> {
        let template = template.unwrap_or_else(|| default_template(principal));
        let request = IssueRequest {
            template: Some(template),
            subject: None,
            sans: Vec::new(),
            ttl: None,
        };
        self.issue_challenge(principal, request).await
    }

    /// A challenge for `principal`, if it may enroll devices for that template (NDES's Enroll
    /// permission) and is within its quota of outstanding challenges.
    pub async fn issue_challenge(
        &self,
        principal: &Principal,
        request: IssueRequest,
    ) -> Result<IssuedChallenge, AdminError> {
        let template = request.template.clone().unwrap_or_else(|| "device".into());
        principal.authorize(Action::IssueChallenge {
            template: &template,
        })?;
        crate::services::challenges::issue_challenge(
            &self.store,
            &self.config,
            request,
            &actor(principal),
            crate::clock::unix_now(),
        )
        .await
        .map_err(|e| {
            if let Some(detail) = e.internal_detail() {
                return AdminError::Internal(detail);
            }
            match e {
                ChallengeIssueError::QuotaExceeded { .. } => {
                    AdminError::TooManyChallenges(e.to_string())
                }
                other => AdminError::BadRequest(other.to_string()),
            }
        })
    }
}
