//! Passwords: argon2id (RFC 9106) in PHC string form, so the parameters travel with each hash
//! and can be raised later without invalidating stored ones.

use std::sync::Mutex;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
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
    verify_in(password, phc, &mut Vec::new())
}

/// argon2id working memory kept between verifications, for a service that verifies
/// passwords of strangers. Each verification needs its hash's memory cost (19 MiB for ours);
/// allocated afresh per login, those blocks end up spread over the allocator's per-thread
/// arenas, which keep them after a flood. Taken from here and given back, memory stays at
/// what the most verifications running at once ever needed — so the caller must bound that.
#[derive(Debug, Default)]
pub struct VerifierMemory {
    idle: Mutex<Vec<Vec<Block>>>,
}

impl VerifierMemory {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`verify_password`] in pooled memory.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let mut blocks = self.idle().pop().unwrap_or_default();
        let matches = verify_in(password, phc, &mut blocks);
        self.idle().push(blocks);
        matches
    }

    /// Working memories allocated so far (each as large as the largest cost it has served).
    pub fn allocated(&self) -> usize {
        self.idle().len()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        // A panic elsewhere cannot leave the list half-changed: push and pop are whole.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`verify_password`] with `blocks` as working memory, grown when the hash's cost needs it.
fn verify_in(password: &str, phc: &str, blocks: &mut Vec<Block>) -> bool {
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
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let Some(memory) = blocks.get_mut(..needed) else {
        return false;
    };
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    let hashed = Argon2::new(Algorithm::Argon2id, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut computed,
        &mut *memory,
    );
    // The working memory is derived from the password: it does not wait in the pool.
    memory.fill(Block::default());
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == *expected)
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
    fn pooled_memory_verifies_like_a_fresh_allocation_and_is_reused() {
        let phc = hash_password("pooled-password").unwrap();
        let memory = VerifierMemory::new();
        for _ in 0..3 {
            assert!(memory.verify("pooled-password", &phc));
            assert!(!memory.verify("pooled-passworD", &phc));
        }
        assert_eq!(
            memory.allocated(),
            1,
            "one verification at a time needs one memory"
        );
        // A hash with other parameters (an older or stronger cost) verifies in the same pool.
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let cheaper = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(b"other-cost-password", b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert!(memory.verify("other-cost-password", &cheaper));
        assert!(memory.verify("pooled-password", &phc));
        assert!(!memory.verify(
            "pooled-password",
            "$argon2id$v=19$m=4000000,t=2,p=1$c2FsdHNhbHQ$aGFzaA"
        ));
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
