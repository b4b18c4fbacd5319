//! The host around the data directory:
//!
//! - `host.root`: the service should run as a dedicated unprivileged account, not root (the
//!   seed's least privilege for the NDES service account). Doctor cannot see the running
//!   service, so it reads the data directory's owner — the account the service runs as — and
//!   who runs doctor. A warning, not a failure: containers often run as uid 0 inside a user
//!   namespace where that uid has no power on the host, which doctor cannot tell.
//! - `host.data_dir_mode`: nobody but the owner may write the data directory, `scepd.toml`,
//!   `certs/` or `keys/` (whoever can, can swap the configuration or a certificate), and nobody
//!   else may even list `keys/`.
//! - `keys.file_mode` / `secrets.file_mode` for the private files no other check names: every
//!   file under `keys/` (retired keys of a rollover included), the admin listener's TLS key, the
//!   key passphrase and PKCS#11 PIN files, the static challenge, the first administrator's
//!   password and the SQLite database.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use config::{CONFIG_FILE, Config};

use super::files::{key_file, secret_file};
use super::finding::{Finding, Severity, finding};
use crate::ceremony::init::DEFAULT_AGENT_KEY;
use crate::ceremony::initial_admin;
use crate::services::admin::tls::DEV_DIR;

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    let mut found = Vec::new();
    match std::fs::metadata(dir) {
        Ok(meta) => found.push(root(dir, meta.uid(), rustix::process::geteuid().as_raw())),
        Err(e) => found.push(finding(
            "host.root",
            Severity::Fail,
            format!("{}: {e}", dir.display()),
        )),
    }
    found.extend(directory_modes(dir));
    found.extend(private_files(dir, config));
    found
}

/// `host.root` from the data directory's owner and the uid doctor runs as.
fn root(dir: &Path, owner: u32, doctor: u32) -> Finding {
    let id = "host.root";
    if owner == 0 {
        finding(
            id,
            Severity::Warn,
            format!(
                "{} belongs to root, so the service runs as root: run it as a dedicated unprivileged account (e.g. `chown -R scepd: {}` and User=scepd)",
                dir.display(),
                dir.display()
            ),
        )
    } else if doctor == 0 {
        finding(
            id,
            Severity::Warn,
            format!(
                "the data directory belongs to uid {owner} but doctor runs as root: run doctor as the service account; as root it may leave root-owned files (the database's -wal and -shm) the service cannot open"
            ),
        )
    } else {
        finding(
            id,
            Severity::Pass,
            format!("the data directory belongs to uid {owner}, not root"),
        )
    }
}

/// `host.data_dir_mode`.
fn directory_modes(dir: &Path) -> Vec<Finding> {
    let id = "host.data_dir_mode";
    let mut found = Vec::new();
    for (path, private) in [
        (dir.to_path_buf(), false),
        (dir.join(CONFIG_FILE), false),
        (dir.join("certs"), false),
        (dir.join("keys"), true),
        (dir.join(DEV_DIR), true),
    ] {
        let Ok(meta) = std::fs::metadata(&path) else {
            // Absent (no admin-tls/ yet, keys in a token): nothing to protect. A missing
            // data directory or scepd.toml is reported by the checks that need them.
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            found.push(finding(
                id,
                Severity::Fail,
                format!(
                    "{}: mode {mode:o}, group or others can write it: `chmod go-w {}`",
                    path.display(),
                    path.display()
                ),
            ));
        } else if private && mode & 0o077 != 0 {
            found.push(finding(
                id,
                Severity::Warn,
                format!(
                    "{}: mode {mode:o}, group or others can list it: `chmod 700 {}`",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    if found.is_empty() {
        found.push(finding(
            id,
            Severity::Pass,
            format!(
                "{}, its scepd.toml, certs/ and keys/ are writable by their owner only",
                dir.display()
            ),
        ));
    }
    found
}

/// `keys.file_mode` and `secrets.file_mode` for the private files the other checks do not
/// name.
fn private_files(dir: &Path, config: &Config) -> Vec<Finding> {
    let elsewhere = checked_elsewhere(dir, config);
    let mut found = Vec::new();
    let mut key_files = Vec::new();
    collect_files(&dir.join("keys"), &mut key_files);
    key_files.sort();
    for path in key_files {
        if !elsewhere.contains(&path) {
            found.push(key_file("key file", &path));
        }
    }
    match &config.admin.private_key {
        Some(key) => found.push(key_file("admin listener TLS key", &dir.join(key))),
        None => {
            let development = dir.join(DEV_DIR).join("admin.key");
            if development.exists() {
                found.push(key_file("admin listener development TLS key", &development));
            }
        }
    }
    for (what, file) in [
        ("key passphrase file", config.keys.passphrase_file.as_ref()),
        ("PKCS#11 PIN file", config.pkcs11.pin_file.as_ref()),
        (
            "static challenge file",
            config.challenges.insecure_static_challenge_file.as_ref(),
        ),
    ] {
        if let Some(file) = file {
            found.push(secret_file(what, &dir.join(file)));
        }
    }
    let password = initial_admin::password_path(dir);
    if password.exists() {
        found.push(secret_file("first administrator's password", &password));
    }
    if config.database.url.is_empty() {
        found.extend(database_files(dir));
    }
    found
}

/// The SQLite database and the `-wal` and `-shm` files SQLite keeps beside it while a
/// connection is open: one finding, judged on whichever are there now (the companions come
/// and go with connections, so a finding per file would make the report itself change from
/// one run to the next). `None` before the database exists.
fn database_files(dir: &Path) -> Option<Finding> {
    let database = dir.join("scepd.db");
    if !database.exists() {
        return None;
    }
    let exposed: Vec<String> = ["scepd.db", "scepd.db-wal", "scepd.db-shm"]
        .iter()
        .filter_map(|name| {
            let path = dir.join(name);
            let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then(|| format!("{} (mode {mode:o})", path.display()))
        })
        .collect();
    Some(if exposed.is_empty() {
        finding(
            "secrets.file_mode",
            Severity::Pass,
            format!(
                "database {} and its -wal/-shm files: mode 0600 or stricter",
                database.display()
            ),
        )
    } else {
        finding(
            "secrets.file_mode",
            Severity::Fail,
            format!(
                "database files group or others can read: {}",
                exposed.join(", ")
            ),
        )
    })
}

/// Every regular file below `folder`, recursively (symbolic links are not followed).
fn collect_files(folder: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(&entry.path(), out),
            Ok(t) if t.is_file() => out.push(entry.path()),
            _ => {}
        }
    }
}

/// The private files other checks already report (role keys, TLS keys of the split link, the
/// MDM clients' secrets and keys), so each file is judged once.
fn checked_elsewhere(dir: &Path, config: &Config) -> Vec<PathBuf> {
    let keys = &config.keys;
    let mut files: Vec<PathBuf> = vec![
        keys.ca_key.clone(),
        keys.ra_signing_key.clone(),
        keys.ra_encryption_key.clone(),
        keys.ra_agent_key
            .clone()
            .unwrap_or_else(|| DEFAULT_AGENT_KEY.into()),
        config.ca_service.tls_key.clone(),
        config.remote_ca.tls_key.clone(),
    ];
    for endpoint in &config.endpoints {
        if let Some(webhook) = &endpoint.webhook {
            files.push(webhook.secret_file.clone());
            files.extend(webhook.client_key.clone());
        }
    }
    if let Some(intune) = &config.intune {
        files.extend(intune.client_secret_file.clone());
        files.extend(intune.client_key.clone());
    }
    files.into_iter().map(|f| dir.join(f)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::fs::Permissions;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    /// A data directory laid out as `scepd init` leaves it.
    fn data_directory() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        for folder in ["keys", "certs"] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        chmod(&dir.path().join("keys"), 0o700);
        std::fs::write(dir.path().join(CONFIG_FILE), "").unwrap();
        chmod(&dir.path().join(CONFIG_FILE), 0o644);
        dir
    }

    fn with_id<'a>(found: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        found.iter().filter(|f| f.id == id).collect()
    }

    #[test]
    fn root_owned_data_or_a_root_doctor_warns() {
        let dir = Path::new("/var/lib/scepd");
        assert_eq!(root(dir, 0, 0).severity, Severity::Warn);
        assert_eq!(root(dir, 0, 998).severity, Severity::Warn);
        let as_root = root(dir, 998, 0);
        assert_eq!(as_root.severity, Severity::Warn);
        assert!(as_root.message.contains("998"), "{}", as_root.message);
        assert_eq!(root(dir, 998, 998).severity, Severity::Pass);
        assert_eq!(root(dir, 998, 1000).severity, Severity::Pass);
    }

    #[test]
    fn directories_others_can_write_fail() {
        let dir = data_directory();
        let found = directory_modes(dir.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Pass, "{}", found[0].message);

        chmod(dir.path(), 0o777);
        chmod(&dir.path().join(CONFIG_FILE), 0o666);
        let found = directory_modes(dir.path());
        assert_eq!(found.len(), 2, "the directory and scepd.toml");
        assert!(found.iter().all(|f| f.severity == Severity::Fail));

        chmod(dir.path(), 0o755);
        chmod(&dir.path().join(CONFIG_FILE), 0o644);
        chmod(&dir.path().join("keys"), 0o755);
        let found = directory_modes(dir.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warn, "{}", found[0].message);
        assert!(found[0].message.contains("keys"), "{}", found[0].message);
    }

    #[test]
    fn every_other_key_and_secret_file_must_be_private() {
        let dir = data_directory();
        let previous = dir.path().join("keys/previous");
        std::fs::create_dir(&previous).unwrap();
        let retired = previous.join("ra-encryption-1700000000.key");
        std::fs::write(&retired, "key").unwrap();
        chmod(&retired, 0o600);
        // A role key is keys.file_mode's finding from the role checks, not this one's.
        let role_key = dir.path().join("keys/ra-signing.key");
        std::fs::write(&role_key, "key").unwrap();
        chmod(&role_key, 0o644);
        std::fs::write(dir.path().join("passphrase"), "correct horse").unwrap();
        chmod(&dir.path().join("passphrase"), 0o600);
        let mut config = Config::default();
        config.keys.passphrase_file = Some("passphrase".into());

        let found = private_files(dir.path(), &config);
        let keys = with_id(&found, "keys.file_mode");
        assert_eq!(keys.len(), 1, "only the retired key");
        assert_eq!(keys[0].severity, Severity::Pass, "{}", keys[0].message);
        let secrets = with_id(&found, "secrets.file_mode");
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].severity, Severity::Pass);

        chmod(&retired, 0o640);
        chmod(&dir.path().join("passphrase"), 0o644);
        let found = private_files(dir.path(), &config);
        assert!(
            found.iter().all(|f| f.severity == Severity::Fail),
            "{:?}",
            found.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
        assert!(
            found
                .iter()
                .any(|f| f.message.contains("ra-encryption-1700000000.key"))
        );
        assert!(
            found
                .iter()
                .any(|f| f.message.contains("key passphrase file"))
        );
    }

    #[test]
    fn the_database_and_the_first_password_are_secrets() {
        let dir = data_directory();
        for file in ["scepd.db", initial_admin::PASSWORD_FILE] {
            std::fs::write(dir.path().join(file), "x").unwrap();
            chmod(&dir.path().join(file), 0o644);
        }
        let found = private_files(dir.path(), &Config::default());
        let secrets = with_id(&found, "secrets.file_mode");
        assert_eq!(secrets.len(), 2);
        assert!(secrets.iter().all(|f| f.severity == Severity::Fail));
    }
}

#[cfg(test)]
mod database_tests {
    #![allow(clippy::unwrap_used)]
    use std::fs::Permissions;

    use super::*;

    #[test]
    fn the_database_and_its_companions_are_one_finding_whichever_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert!(database_files(dir.path()).is_none(), "no database yet");
        let database = dir.path().join("scepd.db");
        std::fs::write(&database, b"").unwrap();
        std::fs::set_permissions(&database, Permissions::from_mode(0o600)).unwrap();
        let alone = database_files(dir.path()).unwrap();
        assert_eq!(alone.severity, Severity::Pass);
        // A -wal file SQLite left readable by others fails the one finding.
        let wal = dir.path().join("scepd.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, Permissions::from_mode(0o644)).unwrap();
        let exposed = database_files(dir.path()).unwrap();
        assert_eq!(exposed.severity, Severity::Fail);
        assert!(
            exposed.message.contains("scepd.db-wal"),
            "{}",
            exposed.message
        );
        // Private again, or gone again: the same single passing finding.
        std::fs::set_permissions(&wal, Permissions::from_mode(0o600)).unwrap();
        assert_eq!(database_files(dir.path()).unwrap().severity, Severity::Pass);
        std::fs::remove_file(&wal).unwrap();
        assert_eq!(database_files(dir.path()).unwrap().severity, Severity::Pass);
    }
}
