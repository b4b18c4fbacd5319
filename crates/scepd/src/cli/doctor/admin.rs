//! What `scepd doctor` says about the admin surface.

use std::path::Path;

use super::finding::{Finding, Severity, finding};
use config::Config;

/// The admin listener's exposure and certificate, and the first administrator's password file.
pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let admin = &config.admin;
    if !admin.enabled {
        out.push(finding(
            "admin.listener",
            Severity::Pass,
            "admin listener disabled (admin.enabled = false)",
        ));
    } else {
        let loopback = admin.listen.ip().is_loopback();
        match (&admin.certificate, loopback) {
            (Some(_), _) => out.push(finding(
                "admin.listener",
                Severity::Pass,
                format!("admin listener on {} with a configured TLS certificate", admin.listen),
            )),
            (None, true) => out.push(finding(
                "admin.listener",
                Severity::Warn,
                format!(
                    "admin listener on {} uses the self-signed development certificate (admin-tls/); set admin.certificate and admin.private_key",
                    admin.listen
                ),
            )),
            (None, false) => out.push(finding(
                "admin.listener",
                Severity::Fail,
                format!(
                    "admin listener on {}, reachable from the network, with the self-signed development certificate: set admin.certificate and admin.private_key",
                    admin.listen
                ),
            )),
        }
    }
    let initial = crate::ceremony::initial_admin::password_path(dir);
    if initial.exists() {
        out.push(finding(
            "admin.initial_password",
            Severity::Warn,
            format!(
                "{} still holds the first administrator's password: log in, create named accounts (scepd user add), then `scepd user passwd admin` or disable it, and delete the file",
                initial.display()
            ),
        ));
    }
    out
}

/// Accounts: someone can administer, and nobody holds a role that does nothing.
pub async fn account_findings(store: &store::Store) -> Vec<Finding> {
    let users = match store.list_users().await {
        Ok(users) => users,
        Err(e) => {
            return vec![finding(
                "admin.accounts",
                Severity::Fail,
                format!("accounts: {e}"),
            )];
        }
    };
    let mut out = Vec::new();
    let admins = users
        .iter()
        .filter(|u| !u.disabled && u.role == accounts::Role::PkiAdmin.as_str())
        .count();
    if admins == 0 {
        out.push(finding(
            "admin.accounts",
            Severity::Warn,
            "no enabled pki-admin account: create one with `scepd user add NAME --role pki-admin`",
        ));
    } else {
        out.push(finding(
            "admin.accounts",
            Severity::Pass,
            format!("{} account(s), {admins} enabled pki-admin", users.len()),
        ));
    }
    for user in users.iter().filter(|u| !u.disabled) {
        let needs_templates = user
            .role
            .parse::<accounts::Role>()
            .is_ok_and(|r| r.uses_templates());
        if needs_templates && user.templates.is_empty() {
            out.push(finding(
                "admin.accounts",
                Severity::Warn,
                format!(
                    "account {} ({}) is granted no template and can do nothing: `scepd user grant {} --template NAME`",
                    user.name, user.role, user.name
                ),
            ));
        }
    }
    out
}
