//! One-time challenge passwords: generated from the OS CSPRNG, shown once, stored as a hash.

use sha2::{Digest, Sha256};

/// 32 characters from a 62-symbol alphabet: log2(62^32) ≈ 190 bits, above the 128 required.
/// Alphanumeric only, because micromdm's client breaks on `_` and URL-unsafe characters.
pub const CHALLENGE_LEN: usize = 32;
/// The shortest length an operator may configure: log2(62^24) ≈ 143 bits, still above 128.
pub const MIN_CHALLENGE_LEN: usize = 24;
/// The longest: some clients (and NDES-era MDMs) truncate or refuse longer passwords.
pub const MAX_CHALLENGE_LEN: usize = 64;
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A freshly generated challenge; the clear text exists only here and in the admin's hands.
pub struct NewChallenge {
    pub secret: zeroize::Zeroizing<String>,
    pub hash: [u8; 32],
}

/// Generates a challenge of the default length ([`CHALLENGE_LEN`]).
pub fn generate() -> Result<NewChallenge, keys::KeyError> {
    generate_with_length(CHALLENGE_LEN)
}

/// Generates a challenge of `length` characters by rejection sampling, so every symbol is
/// equally likely. The length is clamped to [`MIN_CHALLENGE_LEN`]..=[`MAX_CHALLENGE_LEN`]: a
/// configuration mistake must never produce a guessable challenge.
pub fn generate_with_length(length: usize) -> Result<NewChallenge, keys::KeyError> {
    let length = length.clamp(MIN_CHALLENGE_LEN, MAX_CHALLENGE_LEN);
    let mut secret = zeroize::Zeroizing::new(String::with_capacity(length));
    let mut pool = zeroize::Zeroizing::new([0u8; 64]);
    while secret.len() < length {
        keys::random::fill(pool.as_mut_slice())?;
        for byte in pool.iter() {
            // 248 = 4 * 62: bytes at or above it would bias the first symbols.
            if *byte < 248 && secret.len() < length {
                secret.push(char::from(ALPHABET[usize::from(*byte % 62)]));
            }
        }
    }
    let hash = hash(secret.as_bytes());
    Ok(NewChallenge { secret, hash })
}

/// The at-rest form of a challenge. Lookup is by this hash, so the database never holds the
/// secret and the comparison never touches it byte by byte.
pub fn hash(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn challenges_are_alphanumeric_long_and_distinct() {
        let a = generate().unwrap_or_else(|e| panic!("{e}"));
        let b = generate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.secret.len(), CHALLENGE_LEN);
        assert!(a.secret.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(*a.secret, *b.secret);
        assert_eq!(a.hash, hash(a.secret.as_bytes()));
    }

    #[test]
    fn the_length_is_configurable_within_safe_bounds() {
        for (asked, got) in [(24, 24), (40, 40), (64, 64), (8, 24), (0, 24), (500, 64)] {
            let c = generate_with_length(asked).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.secret.len(), got, "asked {asked}");
            assert_eq!(c.hash, hash(c.secret.as_bytes()));
        }
    }

    #[test]
    fn symbols_are_roughly_uniform() {
        let mut counts = [0u32; 62];
        for _ in 0..400 {
            let c = generate().unwrap_or_else(|e| panic!("{e}"));
            for s in c.secret.bytes() {
                let i = ALPHABET.iter().position(|a| *a == s).unwrap_or(usize::MAX);
                counts[i] += 1;
            }
        }
        // 12,800 symbols, ~206 expected each; a biased sampler would show far outside this.
        assert!(counts.iter().all(|c| (120..300).contains(c)), "{counts:?}");
    }
}
