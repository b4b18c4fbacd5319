//! The crate's error type. Its messages never contain a password, token or hash.

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The operating system's random source failed; nothing was generated.
    #[error("random source: {0}")]
    Random(String),
    /// Argon2 refused the parameters or the input (a bug, or a password over 4 GiB).
    #[error("password hashing: {0}")]
    Hashing(String),
    /// A user name outside `[a-z0-9._-]{1,64}` starting with a letter or digit.
    #[error("user name {name:?}: {reason}")]
    InvalidUserName { name: String, reason: &'static str },
    /// A chosen password shorter than [`crate::MIN_PASSWORD_LEN`] characters.
    #[error("password too short: at least {min} characters required")]
    PasswordTooShort { min: usize },
}
