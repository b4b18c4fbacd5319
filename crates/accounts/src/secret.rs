//! API tokens and session ids: 256 random bits each, shown once and stored as SHA-256.
//!
//! A fast hash is right here (unlike passwords): the secret has full entropy, so there is
//! nothing to brute force, and a lookup by hash is one indexed query per request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::AccountError;

/// Every API token starts with this, so a leaked one is recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "scepd_";
/// Session ids (cookie values) start with this, so they are never mistaken for API tokens.
pub const SESSION_ID_PREFIX: &str = "scepds_";

/// A freshly generated secret: the clear text to hand out once, and the hash to store.
pub struct NewSecret {
    pub secret: Zeroizing<String>,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// SHA-256 of the secret's text, as stored and looked up.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn generate(prefix: &str) -> Result<NewSecret, AccountError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| AccountError::Random(e.to_string()))?;
    let mut secret = Zeroizing::new(String::with_capacity(prefix.len() + 43));
    secret.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes.as_ref(), &mut secret);
    let hash = secret_hash(&secret);
    Ok(NewSecret { secret, hash })
}

/// An API token: `scepd_` and 43 base64url characters (32 random bytes).
pub fn generate_token() -> Result<NewSecret, AccountError> {
    generate(TOKEN_PREFIX)
}

/// A login session id (cookie value): `scepds_` and 43 base64url characters.
pub fn generate_session_id() -> Result<NewSecret, AccountError> {
    generate(SESSION_ID_PREFIX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body<'a>(secret: &'a str, prefix: &str) -> &'a str {
        secret.strip_prefix(prefix).unwrap()
    }

    #[test]
    fn tokens_have_the_documented_form() {
        let t = generate_token().unwrap();
        let b = body(&t.secret, TOKEN_PREFIX);
        assert_eq!(b.len(), 43);
        assert!(
            b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(b).unwrap().len(), 32);
        assert_eq!(t.hash, secret_hash(&t.secret));
        let s = generate_session_id().unwrap();
        assert_eq!(body(&s.secret, SESSION_ID_PREFIX).len(), 43);
        assert_eq!(s.hash, secret_hash(&s.secret));
    }

    #[test]
    fn tokens_are_distinct_and_use_every_bit() {
        let mut seen = std::collections::HashSet::new();
        let mut ones = 0u32;
        for _ in 0..256 {
            let t = generate_token().unwrap();
            let raw = URL_SAFE_NO_PAD
                .decode(body(&t.secret, TOKEN_PREFIX))
                .unwrap();
            ones += raw.iter().map(|b| b.count_ones()).sum::<u32>();
            assert!(seen.insert(t.hash));
        }
        // 65536 random bits: the share of ones is 0.5 within far more than 6 sigma (128).
        assert!((32768 - 1024..32768 + 1024).contains(&ones), "{ones}");
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        assert_eq!(
            secret_hash("abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
                0xf2, 0x00, 0x15, 0xad
            ]
        );
        let t = generate_token().unwrap();
        assert!(!format!("{t:?}").contains(&t.secret[TOKEN_PREFIX.len()..]));
    }
}
