//! `scepd user ...`: administrator accounts from the command line (whoever can run this owns
//! the data directory, so it needs no login). A secret the command creates (password, API
//! token) is printed once, alone on stdout, so a script can capture it; confirmations go to
//! stderr for those commands. The store keeps only hashes, and the audit entry names the user
//! and what changed, never the secret.

use std::path::{Path, PathBuf};

use accounts::Role;
use clap::Subcommand;
use sha2::{Digest, Sha256};
use store::{AuditKind, GrantRevocation, NewUser, Store};
use zeroize::Zeroizing;

use config::{Config, ConfigError};

/// Why a `scepd user` command failed; each message names the argument or account at fault.
#[derive(Debug, thiserror::Error)]
pub enum UserCommandError {
    #[error("--role: {0}")]
    Role(accounts::UnknownRole),
    #[error("NAME: {0}")]
    Name(accounts::AccountError),
    #[error("--template: unknown template {template:?} (known: {known})")]
    UnknownTemplate { template: String, known: String },
    #[error(transparent)]
    Templates(#[from] config::templates::TemplateError),
    #[error("--password-file: {0}")]
    PasswordFile(keys::KeyError),
    #[error("--password-file {path}: {source}")]
    PasswordTooShort {
        path: String,
        source: accounts::AccountError,
    },
    /// Generating or hashing a secret failed (no system randomness, say).
    #[error(transparent)]
    Secret(accounts::AccountError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Audit(#[from] crate::audit_trail::AuditLogError),
    #[error("no user {0:?} (see scepd user list)")]
    NoSuchUser(String),
    #[error("user {0:?} already exists")]
    AlreadyExists(String),
    #[error(
        "user {0:?} is disabled: enable the account (scepd user enable) before issuing it a token"
    )]
    Disabled(String),
    #[error("user {name:?} had no grant for template {templates}: nothing withdrawn for it")]
    NotGranted { name: String, templates: String },
    #[error(transparent)]
    CertificateFile(#[from] keys::pem::PemError),
    #[error("--certificate {path}: not an X.509 certificate: {source}")]
    NotACertificate { path: String, source: der::Error },
    /// `--basic-auth` (or `basic-auth --on`) for a role that may not use HTTP Basic.
    #[error(
        "{flag}: user {name:?} has role {role}; only device-admin accounts may use HTTP Basic (their only power is obtaining challenges)"
    )]
    BasicAuthRole {
        flag: &'static str,
        name: String,
        role: String,
    },
    #[error("--certificate {0}: already bound to a user")]
    CertificateBound(String),
    /// The store failed while doing `doing` (e.g. `user "alice"`, `granting "vpn"`).
    #[error("{doing}: {source}")]
    Store {
        doing: String,
        source: store::StoreError,
    },
}

/// The store error while doing something to an account or template, for `map_err`.
fn store_error(doing: String) -> impl FnOnce(store::StoreError) -> UserCommandError {
    move |source| UserCommandError::Store { doing, source }
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-file a password is generated and printed once.
    Add {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        /// 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.
        name: String,
        /// pki-admin, device-admin, cert-manager or auditor.
        #[arg(long)]
        role: String,
        /// A template the account may act on (device-admin, cert-manager); repeatable.
        #[arg(long = "template")]
        templates: Vec<String>,
        /// File holding the password (mode 0600, at least 12 characters).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Let the account authenticate with HTTP Basic on the mscep_admin page and the Jamf
        /// webhook (a machine account of an MDM connector; device-admin only).
        #[arg(long)]
        basic_auth: bool,
    },
    /// Mark (--on) or unmark (--off) an account for HTTP Basic on the mscep_admin page and
    /// the Jamf webhook; only device-admin accounts may be marked.
    BasicAuth {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
    /// List accounts: name, role, whether disabled, templates (never credentials).
    List {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Disable an account: its sessions end and its API tokens are deleted (enabling it again
    /// does not bring them back); its client certificates stop working while it is disabled.
    Disable {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
    },
    /// Let an account act on templates (NDES: Enroll permission on the template).
    Grant {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        #[arg(long = "template", required = true)]
        templates: Vec<String>,
    },
    /// Withdraw template grants; fails, naming it, for a template the account was not granted.
    RevokeGrant {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        #[arg(long = "template", required = true)]
        templates: Vec<String>,
    },
    /// Create an API token for the account and print it once.
    Token {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        /// What the token is for, e.g. the MDM's name.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Withdraw every API token of the account.
    RevokeTokens {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
    },
    /// Let a client certificate (PEM or DER) authenticate as the account.
    BindCert {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        #[arg(long)]
        certificate: PathBuf,
    },
    /// Set a new password (generated and printed once without --password-file); the
    /// account's page sessions end.
    Passwd {
        #[arg(long, env = "SCEPD_DATA_DIR")]
        data_dir: PathBuf,
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

pub async fn run(command: UserCommand) -> Result<(), UserCommandError> {
    match command {
        UserCommand::Add {
            data_dir,
            name,
            role,
            templates,
            password_file,
            basic_auth,
        } => {
            add(
                &data_dir,
                &NewAccount {
                    name: &name,
                    role: &role,
                    templates: &templates,
                    password_file: password_file.as_deref(),
                    basic_auth,
                },
            )
            .await
        }
        UserCommand::BasicAuth {
            data_dir, name, on, ..
        } => set_basic_auth(&data_dir, &name, on).await,
        UserCommand::List { data_dir } => {
            print!("{}", list(&data_dir).await?);
            Ok(())
        }
        UserCommand::Disable { data_dir, name } => set_disabled(&data_dir, &name, true).await,
        UserCommand::Enable { data_dir, name } => set_disabled(&data_dir, &name, false).await,
        UserCommand::Grant {
            data_dir,
            name,
            templates,
        } => grant(&data_dir, &name, &templates).await,
        UserCommand::RevokeGrant {
            data_dir,
            name,
            templates,
        } => revoke_grant(&data_dir, &name, &templates).await,
        UserCommand::Token {
            data_dir,
            name,
            label,
        } => token(&data_dir, &name, &label).await,
        UserCommand::RevokeTokens { data_dir, name } => revoke_tokens(&data_dir, &name).await,
        UserCommand::BindCert {
            data_dir,
            name,
            certificate,
        } => bind_cert(&data_dir, &name, &certificate).await,
        UserCommand::Passwd {
            data_dir,
            name,
            password_file,
        } => passwd(&data_dir, &name, password_file.as_deref()).await,
    }
}

fn parse_role(role: &str) -> Result<Role, UserCommandError> {
    role.parse::<Role>().map_err(UserCommandError::Role)
}

fn check_name(name: &str) -> Result<(), UserCommandError> {
    accounts::validate_user_name(name).map_err(UserCommandError::Name)
}

/// Refuses a template `scepd.toml` does not define, naming the ones it does.
fn check_templates(config: &Config, templates: &[String]) -> Result<(), UserCommandError> {
    if templates.is_empty() {
        return Ok(());
    }
    let known = config::templates::build(&config.templates)?;
    for template in templates {
        if !known.iter().any(|t| t.name() == template) {
            let names: Vec<&str> = known.iter().map(|t| t.name()).collect();
            return Err(UserCommandError::UnknownTemplate {
                template: template.clone(),
                known: names.join(", "),
            });
        }
    }
    Ok(())
}

/// The password from a file (mode 0600 like every secret file), at least
/// [`accounts::MIN_PASSWORD_LEN`] characters; or a generated one, which must be shown.
fn password(file: Option<&Path>) -> Result<(Zeroizing<String>, bool), UserCommandError> {
    match file {
        Some(path) => {
            let text = keys::secret::read_secret(Some(path), "")
                .map_err(UserCommandError::PasswordFile)?;
            if text.chars().count() < accounts::MIN_PASSWORD_LEN {
                return Err(UserCommandError::PasswordTooShort {
                    path: path.display().to_string(),
                    source: accounts::AccountError::PasswordTooShort {
                        min: accounts::MIN_PASSWORD_LEN,
                    },
                });
            }
            Ok((text, false))
        }
        None => Ok((
            accounts::generate_password().map_err(UserCommandError::Secret)?,
            true,
        )),
    }
}

fn hash(password: &str) -> Result<String, UserCommandError> {
    accounts::hash_password(password).map_err(UserCommandError::Secret)
}

async fn open(dir: &Path) -> Result<(Config, Store), UserCommandError> {
    let config = Config::load(dir)?;
    let store = config.open_store(dir).await?;
    Ok((config, store))
}

async fn audit(store: &Store, detail: String) -> Result<(), UserCommandError> {
    crate::audit_trail::record_cli(store, AuditKind::AccountChanged, detail).await?;
    Ok(())
}

fn no_such_user(name: &str) -> UserCommandError {
    UserCommandError::NoSuchUser(name.to_owned())
}

/// What `scepd user add` was asked to create.
struct NewAccount<'a> {
    name: &'a str,
    role: &'a str,
    templates: &'a [String],
    password_file: Option<&'a Path>,
    basic_auth: bool,
}

/// Refuses HTTP Basic for a role that may not use it, naming the flag that asked for it.
fn check_basic_auth_role(
    flag: &'static str,
    name: &str,
    role: &str,
) -> Result<(), UserCommandError> {
    if role.parse::<Role>().is_ok_and(Role::may_use_basic_auth) {
        return Ok(());
    }
    Err(UserCommandError::BasicAuthRole {
        flag,
        name: name.to_owned(),
        role: role.to_owned(),
    })
}

async fn add(dir: &Path, account: &NewAccount<'_>) -> Result<(), UserCommandError> {
    let NewAccount {
        name,
        role,
        templates,
        password_file,
        basic_auth,
    } = *account;
    check_name(name)?;
    let role = parse_role(role)?;
    if basic_auth {
        check_basic_auth_role("--basic-auth", name, role.as_str())?;
    }
    let (config, store) = open(dir).await?;
    check_templates(&config, templates)?;
    let (password, generated) = password(password_file)?;
    let id = store
        .create_user(NewUser {
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            password_hash: Some(hash(&password)?),
            basic_auth,
            created_at: crate::clock::unix_now(),
        })
        .await
        .map_err(|e| match e {
            store::StoreError::Duplicate(_) => UserCommandError::AlreadyExists(name.to_owned()),
            source => UserCommandError::Store {
                doing: format!("creating user {name:?}"),
                source,
            },
        })?;
    for template in templates {
        store
            .grant_template(name, template)
            .await
            .map_err(store_error(format!("granting {template:?}")))?;
    }
    audit(
        &store,
        format!(
            "user {name} created (id {id}), role {role}, templates [{}], password {}, HTTP Basic {}",
            templates.join(", "),
            if generated { "generated" } else { "from file" },
            if basic_auth { "allowed" } else { "not allowed" }
        ),
    )
    .await?;
    if role.uses_templates() && templates.is_empty() {
        eprintln!(
            "scepd: warning: {name} ({role}) has no template and can do nothing until granted one (scepd user grant {name} --template NAME)"
        );
    } else if !role.uses_templates() && !templates.is_empty() {
        eprintln!(
            "scepd: note: role {role} is not limited by templates; the grants have no effect"
        );
    }
    eprintln!("scepd: user {name} created with role {role}");
    if generated {
        println!("{}", password.as_str());
    }
    Ok(())
}

async fn list(dir: &Path) -> Result<String, UserCommandError> {
    let (_, store) = open(dir).await?;
    let users = store
        .list_users()
        .await
        .map_err(store_error("listing users".to_owned()))?;
    let mut out = format!(
        "{:<24} {:<13} {:<9} {}\n",
        "NAME", "ROLE", "DISABLED", "TEMPLATES"
    );
    for u in &users {
        out.push_str(&format!(
            "{:<24} {:<13} {:<9} {}\n",
            u.name,
            u.role,
            if u.disabled { "yes" } else { "no" },
            if u.templates.is_empty() {
                "-".to_owned()
            } else {
                u.templates.join(", ")
            }
        ));
    }
    // Not a column: scripts read the four above by position.
    let basic: Vec<&str> = users
        .iter()
        .filter(|u| u.basic_auth)
        .map(|u| u.name.as_str())
        .collect();
    if !basic.is_empty() {
        out.push_str(&format!(
            "HTTP Basic allowed (mscep_admin, Jamf webhook): {}\n",
            basic.join(", ")
        ));
    }
    out.push_str(&format!("{} user(s)\n", users.len()));
    Ok(out)
}

async fn set_basic_auth(dir: &Path, name: &str, allowed: bool) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    let user = store
        .user_by_name(name)
        .await
        .map_err(store_error(format!("user {name:?}")))?
        .ok_or_else(|| no_such_user(name))?;
    // Unmarking is always allowed: it is how a wrongly marked account is repaired.
    if allowed {
        check_basic_auth_role("--on", name, &user.role)?;
    }
    if !store
        .set_user_basic_auth(name, allowed)
        .await
        .map_err(store_error(format!("user {name:?}")))?
    {
        return Err(no_such_user(name));
    }
    let (audited, shown) = if allowed {
        (
            format!("user {name} marked for HTTP Basic (mscep_admin page, Jamf webhook)"),
            format!(
                "user {name} may authenticate with HTTP Basic on the mscep_admin page and the Jamf webhook"
            ),
        )
    } else {
        (
            format!("user {name} unmarked for HTTP Basic"),
            format!("user {name} may no longer authenticate with HTTP Basic"),
        )
    };
    audit(&store, audited).await?;
    if user.disabled {
        eprintln!(
            "scepd: note: {name} is disabled; enable it (scepd user enable) before it can log in"
        );
    }
    println!("{shown}");
    Ok(())
}

async fn set_disabled(dir: &Path, name: &str, disabled: bool) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    let tokens = store
        .set_user_disabled(name, disabled)
        .await
        .map_err(store_error(format!("user {name:?}")))?
        .ok_or_else(|| no_such_user(name))?;
    if disabled {
        audit(
            &store,
            format!("user {name} disabled, its sessions ended and {tokens} API token(s) revoked"),
        )
        .await?;
        println!("user {name} disabled; its sessions ended and {tokens} API token(s) revoked");
    } else {
        audit(&store, format!("user {name} enabled")).await?;
        println!("user {name} enabled");
    }
    Ok(())
}

async fn grant(dir: &Path, name: &str, templates: &[String]) -> Result<(), UserCommandError> {
    let (config, store) = open(dir).await?;
    check_templates(&config, templates)?;
    let user = store
        .user_by_name(name)
        .await
        .map_err(store_error(format!("user {name:?}")))?
        .ok_or_else(|| no_such_user(name))?;
    for template in templates {
        if !store
            .grant_template(name, template)
            .await
            .map_err(store_error(format!("granting {template:?}")))?
        {
            return Err(no_such_user(name));
        }
        audit(&store, format!("user {name} granted template {template}")).await?;
        println!("user {name} may act on template {template}");
    }
    if user.role.parse::<Role>().is_ok_and(|r| !r.uses_templates()) {
        eprintln!(
            "scepd: note: role {} is not limited by templates; the grant has no effect",
            user.role
        );
    }
    Ok(())
}

async fn revoke_grant(
    dir: &Path,
    name: &str,
    templates: &[String],
) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    // Withdraw every grant that exists, then fail naming those that did not: the operator
    // learns that the account was not in the state they believed.
    let mut absent = Vec::new();
    for template in templates {
        match store
            .revoke_template(name, template)
            .await
            .map_err(store_error(format!("revoking {template:?}")))?
        {
            GrantRevocation::Revoked => {}
            GrantRevocation::NotGranted => {
                absent.push(format!("{template:?}"));
                continue;
            }
            GrantRevocation::NoSuchUser => return Err(no_such_user(name)),
        }
        audit(
            &store,
            format!("user {name} grant of template {template} withdrawn"),
        )
        .await?;
        println!("user {name} may no longer act on template {template}");
    }
    if absent.is_empty() {
        Ok(())
    } else {
        Err(UserCommandError::NotGranted {
            name: name.to_owned(),
            templates: absent.join(", "),
        })
    }
}

async fn token(dir: &Path, name: &str, label: &str) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    let token = accounts::generate_token().map_err(UserCommandError::Secret)?;
    let now = crate::clock::unix_now();
    if !store
        .add_api_token(name, &token.hash, label, now)
        .await
        .map_err(store_error(format!("user {name:?}")))?
    {
        let exists = store
            .user_by_name(name)
            .await
            .map_err(store_error(format!("user {name:?}")))?
            .is_some();
        return Err(if exists {
            UserCommandError::Disabled(name.to_owned())
        } else {
            no_such_user(name)
        });
    }
    // The hash prefix lets an auditor tell tokens apart; it reveals nothing of the token.
    audit(
        &store,
        format!(
            "user {name} API token issued, label {label:?}, hash prefix {}",
            hex::encode(token.hash.get(..4).unwrap_or_default())
        ),
    )
    .await?;
    eprintln!("scepd: API token for {name} created; it is shown once");
    println!("{}", token.secret.as_str());
    Ok(())
}

async fn revoke_tokens(dir: &Path, name: &str) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    if store
        .user_by_name(name)
        .await
        .map_err(store_error(format!("user {name:?}")))?
        .is_none()
    {
        return Err(no_such_user(name));
    }
    let n = store
        .revoke_api_tokens(name)
        .await
        .map_err(store_error(format!("user {name:?}")))?;
    audit(&store, format!("user {name} API tokens revoked ({n})")).await?;
    println!("{n} API token(s) of {name} revoked");
    Ok(())
}

async fn bind_cert(dir: &Path, name: &str, certificate: &Path) -> Result<(), UserCommandError> {
    let der = keys::pem::read_certificate(certificate)?;
    {
        use der::Decode;
        x509_cert::Certificate::from_der(&der).map_err(|source| {
            UserCommandError::NotACertificate {
                path: certificate.display().to_string(),
                source,
            }
        })?;
    }
    let fingerprint: [u8; 32] = Sha256::digest(&der).into();
    let shown = ca::fingerprint_sha256(&der);
    let (_, store) = open(dir).await?;
    let bound = store
        .bind_client_certificate(name, &fingerprint, crate::clock::unix_now())
        .await
        .map_err(|e| match e {
            store::StoreError::Duplicate(_) => {
                UserCommandError::CertificateBound(certificate.display().to_string())
            }
            source => UserCommandError::Store {
                doing: format!("user {name:?}"),
                source,
            },
        })?;
    if !bound {
        return Err(no_such_user(name));
    }
    audit(
        &store,
        format!(
            "user {name} client certificate bound, SHA-256 {shown}, subject {}",
            crate::x509::subject_of(&der)
        ),
    )
    .await?;
    println!("user {name} may authenticate with the certificate SHA-256 {shown}");
    Ok(())
}

async fn passwd(
    dir: &Path,
    name: &str,
    password_file: Option<&Path>,
) -> Result<(), UserCommandError> {
    let (_, store) = open(dir).await?;
    let (password, generated) = password(password_file)?;
    if !store
        .set_password_hash(name, &hash(&password)?)
        .await
        .map_err(store_error(format!("user {name:?}")))?
    {
        return Err(no_such_user(name));
    }
    audit(
        &store,
        format!(
            "user {name} password changed ({})",
            if generated { "generated" } else { "from file" }
        ),
    )
    .await?;
    eprintln!("scepd: password of {name} changed");
    if generated {
        println!("{}", password.as_str());
    }
    Ok(())
}
