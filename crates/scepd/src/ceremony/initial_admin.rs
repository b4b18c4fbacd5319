//! The first administrator. A fresh data directory has no account, so nobody could log in to
//! the admin page; the ceremony creates `admin` (pki-admin) with a generated password, writes
//! the password to a 0600 file in the data directory (the durable copy) and hands it back to be
//! printed once. The operator should log in, create personal accounts and delete the file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use keys::io_context::Context;
use zeroize::Zeroizing;

use crate::ceremony::error::CeremonyError;

pub const INITIAL_ADMIN: &str = "admin";
pub const PASSWORD_FILE: &str = "initial-admin-password";

/// Where [`create_initial_admin`] writes the password.
pub fn password_path(dir: &Path) -> PathBuf {
    dir.join(PASSWORD_FILE)
}

/// When the database has no user yet: creates `admin` (pki-admin) with a generated password,
/// writes it to `DIR/initial-admin-password` (mode 0600, never overwriting), audits the
/// creation, and returns the password. `None` when users already exist (a shared PostgreSQL
/// database initialised by another node).
pub async fn create_initial_admin(
    dir: &Path,
    store: &store::Store,
) -> Result<Option<Zeroizing<String>>, CeremonyError> {
    let users = store
        .count_users()
        .await
        .map_err(CeremonyError::CountUsers)?;
    if users > 0 {
        return Ok(None);
    }
    let password = accounts::generate_password().map_err(CeremonyError::AdminPassword)?;
    let phc = accounts::hash_password(&password).map_err(CeremonyError::AdminPassword)?;
    // The file first: if it cannot be written, no account exists whose password nobody has.
    let path = password_path(dir);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .context(&path, "creating")?;
    file.write_all(format!("{}\n", password.as_str()).as_bytes())
        .and_then(|()| file.sync_all())
        .context(&path, "writing")?;
    let created = store
        .create_user(store::NewUser {
            name: INITIAL_ADMIN.to_owned(),
            role: accounts::Role::PkiAdmin.as_str().to_owned(),
            password_hash: Some(phc),
            basic_auth: false,
            created_at: crate::clock::unix_now(),
        })
        .await;
    let id = match created {
        Ok(id) => id,
        Err(e) => {
            // Leave no password file for an account that does not exist.
            let _ = std::fs::remove_file(&path);
            return Err(CeremonyError::CreateAdmin(e));
        }
    };
    crate::audit_trail::record_cli(
        store,
        store::AuditKind::AccountChanged,
        format!(
            "user {INITIAL_ADMIN} created (id {id}), role pki-admin, initial administrator, password generated and written to {}",
            path.display()
        ),
    )
    .await?;
    Ok(Some(password))
}

/// Creates the initial administrator if needed and tells the operator, once, on stdout.
pub async fn announce(dir: &Path, store: &store::Store) -> Result<(), CeremonyError> {
    if let Some(password) = create_initial_admin(dir, store).await? {
        println!(
            "initial administrator: {INITIAL_ADMIN}, password in {}",
            password_path(dir).display()
        );
        println!("admin password: {}", password.as_str());
    }
    Ok(())
}
