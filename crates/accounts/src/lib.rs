//! Administrator accounts: the four roles and what each may do, argon2id password hashing, and
//! the random API tokens and session ids with the hashes under which they are stored.
//!
//! Pure: no I/O except the operating system's random source. The store keeps only what this
//! crate hashes; the web layer and the CLI decide with [`Principal::authorize`].
#![forbid(unsafe_code)]

mod error;
mod name;
mod password;
mod role;
mod secret;

pub use error::AccountError;
pub use name::validate_user_name;
pub use password::{
    MIN_PASSWORD_LEN, VerifierMemory, generate_password, hash_password, verify_login,
    verify_password,
};
pub use role::{Action, Denied, Principal, Role, UnknownRole};
pub use secret::{
    NewSecret, SESSION_ID_PREFIX, TOKEN_PREFIX, generate_session_id, generate_token, secret_hash,
};
