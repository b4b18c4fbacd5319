//! Passwords: argon2id (RFC 9106) in PHC string form, so the parameters travel with each hash
//! and can be raised later without invalidating stored ones.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use zeroize::Zeroizing;

use crate::AccountError;

/// The shortest password an operator may choose (generated ones are longer).
pub const MIN_PASSWORD_LEN: usize = 12;

/// OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about 20 ms per login here, and a
/// GPU attacker gets little from the memory-hard cost. Fixed explicitly so a library default
/// change never silently weakens new hashes.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;

/// A stored hash asking for more than this is refused rather than run: a row edited to ask
/// for gigabytes must not take the login endpoint down.
const MAX_VERIFY_M_COST_KIB: u32 = 256 * 1024;
const MAX_VERIFY_T_COST: u32 = 16;

/// Generated passwords: 24 characters from 62 is 142 bits.
const GENERATED_LEN: usize = 24;
const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn hasher() -> Result<Argon2<'static>, AccountError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a fresh 128-bit salt; returns the PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Random(e.to_string()))?;
    let hash = hasher()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`. False for a malformed string, another
/// algorithm than argon2id, or parameters beyond what a login may cost. The comparison of the
/// outputs is constant-time (the argon2 crate's).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_COST_KIB || params.t_cost() > MAX_VERIFY_T_COST {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// [`verify_password`] for a login: with no stored hash (unknown user, or an account without
/// a password) it still runs one argon2id verification against a throwaway hash and returns
/// false, so the response time does not tell which user names exist.
pub fn verify_login(password: &str, phc: Option<&str>) -> bool {
    match phc {
        Some(phc) => verify_password(password, phc),
        None => {
            static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
            if let Some(dummy) = DUMMY.get_or_init(|| hash_password("scepd-dummy-password").ok()) {
                let _ = verify_password(password, dummy);
            }
            false
        }
    }
}

/// A random password of 24 ASCII letters and digits (142 bits): safe to paste into a shell,
/// a URL or a form without quoting.
pub fn generate_password() -> Result<Zeroizing<String>, AccountError> {
    let mut out = Zeroizing::new(String::with_capacity(GENERATED_LEN));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < GENERATED_LEN {
        getrandom::fill(buf.as_mut()).map_err(|e| AccountError::Random(e.to_string()))?;
        // Rejection sampling: 248 = 4 * 62, so bytes below it map uniformly.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == GENERATED_LEN {
                break;
            }
            out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hash_then_verify_round_trips() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("", &phc));
        // A fresh salt every time.
        assert_ne!(phc, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn malformed_or_foreign_hashes_never_verify() {
        let phc = hash_password("pw-pw-pw-pw-pw").unwrap();
        let truncated = &phc[..phc.len() - 5];
        let argon2i = phc.replacen("$argon2id$", "$argon2i$", 1);
        let huge = phc.replacen("m=19456", "m=4000000", 1);
        let no_output = phc.rsplit_once('$').unwrap().0;
        for bad in [
            "",
            "x",
            "$argon2id$",
            "plaintext",
            truncated,
            no_output,
            &argon2i,
            &huge,
        ] {
            assert!(!verify_password("pw-pw-pw-pw-pw", bad), "{bad:?}");
        }
    }

    #[test]
    fn login_without_a_hash_never_succeeds() {
        let phc = hash_password("right-password").unwrap();
        assert!(verify_login("right-password", Some(&phc)));
        assert!(!verify_login("wrong-password", Some(&phc)));
        assert!(!verify_login("scepd-dummy-password", None));
        assert!(!verify_login("", None));
    }

    #[test]
    fn generated_passwords_are_long_alphanumeric_and_distinct() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(*a, *b);
        // log2(62) * 24 > 128.
        assert!((GENERATED_LEN as f64) * 62f64.log2() >= 128.0);
        const { assert!(GENERATED_LEN >= MIN_PASSWORD_LEN) };
        // Every symbol is reachable (the rejection bound keeps the mapping onto all 62).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(generate_password().unwrap().bytes());
        }
        assert_eq!(seen.len(), 62);
    }
}
