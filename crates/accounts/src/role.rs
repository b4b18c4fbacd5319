//! Roles and the permission matrix, least privilege and deny by default.
//!
//! | action                    | pki-admin | device-admin | cert-manager | auditor |
//! |---------------------------|-----------|--------------|--------------|---------|
//! | IssueChallenge(template)  | yes       | if granted   | no           | no      |
//! | Revoke(template)          | yes       | no           | if granted   | no      |
//! | DecideRequest(template)   | yes       | no           | if granted   | no      |
//! | ReadCertificates          | yes       | no           | yes          | yes     |
//! | ReadAudit                 | yes       | no           | no           | yes     |
//! | ReadMetrics               | yes       | no           | no           | yes     |
//! | ManageUsers               | yes       | no           | no           | no      |
//!
//! "If granted" is NDES's Enroll permission on the certificate template: a device
//! administrator obtains challenges only for the templates it was granted, and a certificate
//! manager acts only on certificates and requests of its templates.

use std::fmt;
use std::str::FromStr;

/// What an account is for. Stored and shown as its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including managing users.
    PkiAdmin,
    /// Obtains one-time challenges for its granted templates (the mscep_admin page, MDMs).
    DeviceAdmin,
    /// Revokes certificates and decides held requests of its granted templates.
    CertManager,
    /// Reads certificates, the audit log and metrics; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::PkiAdmin,
        Role::DeviceAdmin,
        Role::CertManager,
        Role::Auditor,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::PkiAdmin => "pki-admin",
            Role::DeviceAdmin => "device-admin",
            Role::CertManager => "cert-manager",
            Role::Auditor => "auditor",
        }
    }

    /// Whether the role acts only within granted templates (so without a grant it can do
    /// nothing template-bound).
    pub const fn uses_templates(self) -> bool {
        matches!(self, Role::DeviceAdmin | Role::CertManager)
    }

    /// Whether an account of this role may be marked for HTTP Basic: only a device-admin, whose
    /// one power is obtaining challenges. Basic sends the password itself with every request
    /// and MDM connectors keep it in their configuration, so no role that can revoke, approve,
    /// read or manage may be reached with it.
    pub const fn may_use_basic_auth(self) -> bool {
        matches!(self, Role::DeviceAdmin)
    }

    /// The known names, comma separated, for error messages.
    pub fn known() -> String {
        Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {given:?} (known: {known})", known = Role::known())]
pub struct UnknownRole {
    pub given: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole {
                given: s.chars().take(64).collect(),
            })
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An authenticated administrator, as the web layer and the CLI see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// Templates granted to a device-admin or cert-manager (ignored for the other roles).
    pub templates: Vec<String>,
}

/// Something a principal asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Obtain a one-time enrollment challenge for this template.
    IssueChallenge {
        template: &'a str,
    },
    /// Revoke a certificate issued under this template.
    Revoke {
        template: &'a str,
    },
    /// Approve or deny a held request for this template.
    DecideRequest {
        template: &'a str,
    },
    ReadCertificates,
    ReadAudit,
    ReadMetrics,
    ManageUsers,
}

impl Action<'_> {
    /// A short name for messages and audit entries.
    pub const fn name(&self) -> &'static str {
        match self {
            Action::IssueChallenge { .. } => "issue challenges",
            Action::Revoke { .. } => "revoke certificates",
            Action::DecideRequest { .. } => "decide requests",
            Action::ReadCertificates => "read certificates",
            Action::ReadAudit => "read the audit log",
            Action::ReadMetrics => "read metrics",
            Action::ManageUsers => "manage users",
        }
    }

    fn template(&self) -> Option<&str> {
        match self {
            Action::IssueChallenge { template }
            | Action::Revoke { template }
            | Action::DecideRequest { template } => Some(template),
            _ => None,
        }
    }
}

/// Why a principal may not do something. Names the user, the role and what was missing;
/// never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The role never allows the action.
    #[error("user {user} (role {role}) may not {action}")]
    Role {
        user: String,
        role: Role,
        action: &'static str,
    },
    /// The role allows the action only for granted templates, and this one is not granted.
    #[error("user {user} (role {role}) may not {action} for template {template:?}: not granted")]
    Template {
        user: String,
        role: Role,
        action: &'static str,
        template: String,
    },
}

impl Principal {
    /// A principal from a stored user (role as its stored name). Fails for a role this
    /// version does not know, which the caller must treat as "no access".
    pub fn from_stored(
        user_id: i64,
        name: String,
        role: &str,
        templates: Vec<String>,
    ) -> Result<Principal, UnknownRole> {
        Ok(Principal {
            user_id,
            name,
            role: role.parse()?,
            templates,
        })
    }

    /// Allows `action` or says why not. Anything not listed in the module's matrix is denied.
    pub fn authorize(&self, action: Action<'_>) -> Result<(), Denied> {
        let scoped = match (self.role, &action) {
            (Role::PkiAdmin, _) => return Ok(()),
            (Role::DeviceAdmin, Action::IssueChallenge { .. }) => true,
            (Role::CertManager, Action::Revoke { .. } | Action::DecideRequest { .. }) => true,
            (Role::CertManager, Action::ReadCertificates) => false,
            (Role::Auditor, Action::ReadCertificates | Action::ReadAudit | Action::ReadMetrics) => {
                false
            }
            _ => {
                return Err(Denied::Role {
                    user: self.name.clone(),
                    role: self.role,
                    action: action.name(),
                });
            }
        };
        match action.template() {
            Some(template) if scoped => {
                if self.templates.iter().any(|t| t == template) {
                    Ok(())
                } else {
                    Err(Denied::Template {
                        user: self.name.clone(),
                        role: self.role,
                        action: action.name(),
                        template: template.to_owned(),
                    })
                }
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn principal(role: Role, templates: &[&str]) -> Principal {
        Principal {
            user_id: 7,
            name: "alice".into(),
            role,
            templates: templates.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Expect {
        Yes,
        No,
        /// Allowed for the granted template "device", refused for "server".
        IfGranted,
    }
    use Expect::{IfGranted, No, Yes};

    /// Every cell of the module's matrix: (role, [challenge, revoke, decide, read certs,
    /// read audit, read metrics, manage users]).
    const MATRIX: &[(Role, [Expect; 7])] = &[
        (Role::PkiAdmin, [Yes, Yes, Yes, Yes, Yes, Yes, Yes]),
        (Role::DeviceAdmin, [IfGranted, No, No, No, No, No, No]),
        (
            Role::CertManager,
            [No, IfGranted, IfGranted, Yes, No, No, No],
        ),
        (Role::Auditor, [No, No, No, Yes, Yes, Yes, No]),
    ];

    fn actions(template: &str) -> [Action<'_>; 7] {
        [
            Action::IssueChallenge { template },
            Action::Revoke { template },
            Action::DecideRequest { template },
            Action::ReadCertificates,
            Action::ReadAudit,
            Action::ReadMetrics,
            Action::ManageUsers,
        ]
    }

    #[test]
    fn every_cell_of_the_matrix() {
        for (role, row) in MATRIX {
            let granted = principal(*role, &["device"]);
            let ungranted = principal(*role, &[]);
            for ((granted_action, other_action), expect) in actions("device")
                .into_iter()
                .zip(actions("server"))
                .zip(row)
            {
                let cell = format!("{role} {granted_action:?}");
                match expect {
                    Yes => {
                        assert!(granted.authorize(granted_action).is_ok(), "{cell}");
                        assert!(granted.authorize(other_action).is_ok(), "{cell}");
                        assert!(ungranted.authorize(other_action).is_ok(), "{cell}");
                    }
                    No => {
                        for (p, a) in [
                            (&granted, granted_action),
                            (&granted, other_action),
                            (&ungranted, granted_action),
                        ] {
                            assert!(matches!(p.authorize(a), Err(Denied::Role { .. })), "{cell}");
                        }
                    }
                    IfGranted => {
                        assert!(granted.authorize(granted_action).is_ok(), "{cell}");
                        assert!(
                            matches!(
                                granted.authorize(other_action),
                                Err(Denied::Template { ref template, .. }) if template == "server"
                            ),
                            "{cell}"
                        );
                        assert!(
                            matches!(
                                ungranted.authorize(granted_action),
                                Err(Denied::Template { .. })
                            ),
                            "{cell}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn principals_are_built_from_stored_rows() {
        let p =
            Principal::from_stored(3, "bob".into(), "cert-manager", vec!["device".into()]).unwrap();
        assert_eq!(p.role, Role::CertManager);
        assert!(p.authorize(Action::Revoke { template: "device" }).is_ok());
        assert!(Principal::from_stored(3, "bob".into(), "root", Vec::new()).is_err());
    }

    #[test]
    fn template_match_is_exact() {
        let p = principal(Role::DeviceAdmin, &["device"]);
        for t in ["Device", "device ", "dev", "device2", ""] {
            assert!(
                p.authorize(Action::IssueChallenge { template: t }).is_err(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn denials_name_user_role_and_template() {
        let p = principal(Role::DeviceAdmin, &["device"]);
        let e = p
            .authorize(Action::IssueChallenge { template: "server" })
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "user alice (role device-admin) may not issue challenges for template \"server\": not granted"
        );
        let e = principal(Role::Auditor, &[])
            .authorize(Action::ManageUsers)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "user alice (role auditor) may not manage users");
    }

    #[test]
    fn role_names_round_trip_and_unknown_is_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
            assert_eq!(role.to_string(), role.as_str());
        }
        let e = "root".parse::<Role>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown role \"root\" (known: pki-admin, device-admin, cert-manager, auditor)"
        );
        assert!("PKI-ADMIN".parse::<Role>().is_err());
        assert_eq!(
            serde_json::to_string(&Role::DeviceAdmin).unwrap(),
            "\"device-admin\""
        );
        assert!(Role::DeviceAdmin.uses_templates() && Role::CertManager.uses_templates());
        assert!(!Role::PkiAdmin.uses_templates() && !Role::Auditor.uses_templates());
    }

    #[test]
    fn only_device_admins_may_use_basic_auth() {
        let allowed: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| r.may_use_basic_auth())
            .collect();
        assert_eq!(allowed, [Role::DeviceAdmin]);
    }
}
