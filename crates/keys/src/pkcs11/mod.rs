//! The PKCS#11 key backend: CA signing, RA signing and RA decryption keys that never leave an
//! HSM (issue 3, security-catalogue ESC12 / I1 / I2).
//!
//! A [`Pkcs11Token`] is one logged-in token: the module is initialised once per process, the
//! user PIN logs in once (PKCS#11 login state belongs to the application, not to a session:
//! every session of the process sees it, and it ends when the last session closes), and a small
//! bounded pool of sessions is shared by the keys loaded from it. A [`Pkcs11Key`] implements
//! [`crate::Signer`] or [`crate::Decrypter`] by calling the token; the private key is only ever
//! an object handle.
//!
//! Keys are accepted only if they cannot be exported (`CKA_SENSITIVE=true`,
//! `CKA_EXTRACTABLE=false`), need the PIN (`CKA_PRIVATE=true`) and can do exactly their role's
//! job: `CKA_SIGN` for the signing roles, `CKA_DECRYPT` (and RSA) for the RA decryption key,
//! never both (DESIGN.md §2: a decryption oracle must not become a signing oracle).
//!
//! **Every call blocks** on the token (a network HSM may take milliseconds). The traits are
//! synchronous on purpose; async callers run them under `tokio::task::spawn_blocking` (the RA
//! does), and the pool bounds how many run at once (catalogue E4).

mod attributes;
mod key;
mod module;
mod pairs;
mod pin;
mod pool;
mod token;

pub use attributes::KeyAttributes;
pub use key::Pkcs11Key;
pub use pin::{DEFAULT_PINS, is_default_pin};
pub use token::{EcCurve, Pkcs11Token};
