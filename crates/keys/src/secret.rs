//! Secrets that unlock keys: the software key passphrase and the PKCS#11 user PIN.
//!
//! A secret comes from a file only its owner can read, or from an environment variable; never
//! from the command line, where every local user can read it in `/proc/PID/cmdline` and where
//! it lands in shell history. Errors name the file or the variable, never the value.
//!
//! | secret               | environment variable    | configuration            |
//! |----------------------|-------------------------|--------------------------|
//! | key file passphrase  | [`KEY_PASSPHRASE_ENV`]  | `[keys] passphrase_file` |
//! | PKCS#11 user PIN     | [`PKCS11_PIN_ENV`]      | `[pkcs11] pin_file`      |

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::KeyError;

/// The environment variable holding the passphrase of encrypted software keys.
pub const KEY_PASSPHRASE_ENV: &str = "SCEPD_KEY_PASSPHRASE";

/// The environment variable holding the PKCS#11 user PIN.
pub const PKCS11_PIN_ENV: &str = "SCEPD_PKCS11_PIN";

/// A passphrase or PIN file larger than this is a mistake (the wrong file named in the config).
const MAX_SECRET_FILE: u64 = 4096;

/// Read a secret from `file` if one is configured, otherwise from the environment variable
/// `env_var`.
///
/// The file must be a regular file that the group and others cannot access (mode
/// `& 0o077 == 0`, the rule for key files); its trailing line ends (`\n`, `\r\n`) are removed,
/// any other whitespace is part of the secret. An empty secret, a missing variable, or a value
/// that is not UTF-8 is refused. A configured file takes precedence over the variable, so a
/// variable inherited from the service manager cannot silently replace the configured secret.
///
/// The variable stays in the process environment: removing it needs `unsafe` in Rust 2024
/// (`std::env::remove_var`), and child processes are not spawned with secrets in scope.
pub fn read_secret(file: Option<&Path>, env_var: &str) -> Result<Zeroizing<String>, KeyError> {
    read_secret_with(file, env_var, |name| std::env::var_os(name))
}

/// [`read_secret`] with the environment lookup passed in (tests cannot set variables without
/// `unsafe` in Rust 2024).
fn read_secret_with(
    file: Option<&Path>,
    env_var: &str,
    lookup: impl FnOnce(&str) -> Option<OsString>,
) -> Result<Zeroizing<String>, KeyError> {
    match file {
        Some(path) => from_file(path),
        None => from_env(env_var, lookup),
    }
}

fn from_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let origin = || format!("file {}", path.display());
    let fail = |problem: String| KeyError::Secret {
        origin: origin(),
        problem,
    };
    let bytes = read_private_file(path, MAX_SECRET_FILE).map_err(|e| match e {
        PrivateFileError::Io(err) => fail(err.to_string()),
        PrivateFileError::Mode(mode) => fail(format!(
            "has mode {mode:04o}: it must not be accessible to group or others (chmod 600)"
        )),
        PrivateFileError::NotRegularOrTooLarge => fail(format!(
            "is not a regular file of at most {MAX_SECRET_FILE} bytes"
        )),
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("is not UTF-8".into()))?;
    let secret = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
    if secret.is_empty() {
        return Err(fail("is empty".into()));
    }
    Ok(secret)
}

fn from_env(
    env_var: &str,
    lookup: impl FnOnce(&str) -> Option<OsString>,
) -> Result<Zeroizing<String>, KeyError> {
    let fail = |problem: &str| KeyError::Secret {
        origin: format!("environment variable {env_var}"),
        problem: problem.to_owned(),
    };
    let value = lookup(env_var).ok_or_else(|| {
        fail(
            "is not set (and no file is configured; secrets are never taken from the command line)",
        )
    })?;
    // `into_string` hands back the same buffer on success; on failure it is dropped unzeroized,
    // but then it was never a usable secret.
    let secret = Zeroizing::new(value.into_string().map_err(|_| fail("is not UTF-8"))?);
    if secret.is_empty() {
        return Err(fail("is empty"));
    }
    Ok(secret)
}

/// Why [`read_private_file`] refused; the caller turns it into the error of its kind of file.
pub(crate) enum PrivateFileError {
    Io(std::io::Error),
    /// Permission bits that give the group or others any access.
    Mode(u32),
    NotRegularOrTooLarge,
}

/// Read a whole file that only its owner may access (mode `& 0o077 == 0`) into a zeroizing
/// buffer. Shared by key files and secret files.
///
/// The mode is checked on the opened file (fstat), not on the path, so the file that is
/// checked is the file that is read.
pub(crate) fn read_private_file(
    path: &Path,
    max_len: u64,
) -> Result<Zeroizing<Vec<u8>>, PrivateFileError> {
    let mut file = File::open(path).map_err(PrivateFileError::Io)?;
    let meta = file.metadata().map_err(PrivateFileError::Io)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::Mode(mode));
    }
    if !meta.is_file() || meta.len() > max_len {
        return Err(PrivateFileError::NotRegularOrTooLarge);
    }
    // Sized up front so the buffer never reallocates and leaves unzeroized copies behind.
    let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    Read::by_ref(&mut file)
        .take(max_len)
        .read_to_end(&mut bytes)
        .map_err(PrivateFileError::Io)?;
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    const SECRET: &str = "correct horse battery staple";

    fn secret_file(dir: &Path, contents: &[u8], mode: u32) -> PathBuf {
        let path = dir.join("secret");
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn message(err: &KeyError) -> String {
        let text = err.to_string();
        assert!(!text.contains(SECRET), "error leaks the secret: {text}");
        assert!(!format!("{err:?}").contains(SECRET));
        text
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = secret_file(dir.path(), format!(" {SECRET} \r\n\n").as_bytes(), 0o600);
        let got = read_secret_with(Some(&path), KEY_PASSPHRASE_ENV, no_env).unwrap();
        assert_eq!(got.as_str(), format!(" {SECRET} "));

        let path = dir.path().join("plain");
        std::fs::write(&path, SECRET).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            read_secret(Some(&path), PKCS11_PIN_ENV).unwrap().as_str(),
            SECRET
        );
    }

    #[test]
    fn a_file_readable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = secret_file(dir.path(), SECRET.as_bytes(), mode);
            let err = read_secret(Some(&path), KEY_PASSPHRASE_ENV).unwrap_err();
            let text = message(&err);
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("{mode:04o}")), "{text}");
            assert!(text.contains("chmod 600"), "{text}");
        }
    }

    #[test]
    fn a_missing_empty_or_odd_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let text = message(&read_secret(Some(&missing), KEY_PASSPHRASE_ENV).unwrap_err());
        assert!(text.contains("nope"), "{text}");

        let empty = secret_file(dir.path(), b"\n", 0o600);
        let text = message(&read_secret(Some(&empty), KEY_PASSPHRASE_ENV).unwrap_err());
        assert!(
            text.contains("is empty") && text.contains("secret"),
            "{text}"
        );

        let big = secret_file(dir.path(), &[b'a'; 5000], 0o600);
        assert!(read_secret(Some(&big), KEY_PASSPHRASE_ENV).is_err());

        let binary = secret_file(dir.path(), &[0xff, 0xfe, b'x'], 0o600);
        let text = message(&read_secret(Some(&binary), KEY_PASSPHRASE_ENV).unwrap_err());
        assert!(text.contains("UTF-8"), "{text}");

        // A directory is not a secret file.
        let sub = dir.path().join("dir");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(read_secret(Some(&sub), KEY_PASSPHRASE_ENV).is_err());
    }

    #[test]
    fn the_environment_variable_is_read_when_no_file_is_configured() {
        let got = read_secret_with(None, PKCS11_PIN_ENV, |name| {
            assert_eq!(name, PKCS11_PIN_ENV);
            Some(OsString::from(SECRET))
        })
        .unwrap();
        assert_eq!(got.as_str(), SECRET);

        // The real environment: cargo sets CARGO_PKG_NAME for the test process.
        if let Some(expected) = std::env::var_os("CARGO_PKG_NAME") {
            let got = read_secret(None, "CARGO_PKG_NAME").unwrap();
            assert_eq!(got.as_str(), expected.to_str().unwrap());
        }
    }

    #[test]
    fn a_configured_file_wins_over_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = secret_file(dir.path(), b"from-file\n", 0o600);
        let got = read_secret_with(Some(&path), KEY_PASSPHRASE_ENV, |_| {
            Some(OsString::from(SECRET))
        })
        .unwrap();
        assert_eq!(got.as_str(), "from-file");
    }

    #[test]
    fn a_missing_or_empty_variable_is_refused_naming_it_not_the_value() {
        let err = read_secret_with(None, KEY_PASSPHRASE_ENV, no_env).unwrap_err();
        let text = message(&err);
        assert!(text.contains(KEY_PASSPHRASE_ENV), "{text}");
        assert!(text.contains("never taken from the command line"), "{text}");

        let err = read_secret_with(None, PKCS11_PIN_ENV, |_| Some(OsString::new())).unwrap_err();
        assert!(message(&err).contains(PKCS11_PIN_ENV));

        let err = read_secret(None, "SCEPD_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(message(&err).contains("SCEPD_TEST_SURELY_UNSET_VARIABLE"));
    }

    #[test]
    fn a_non_utf8_variable_is_refused() {
        use std::os::unix::ffi::OsStringExt;
        let err = read_secret_with(None, PKCS11_PIN_ENV, |_| {
            Some(OsString::from_vec(vec![0xff, b'1', b'2']))
        })
        .unwrap_err();
        assert!(message(&err).contains("UTF-8"));
    }
}
