//! The operating system's CSPRNG.
//!
//! Infallible on purpose: every caller (challenges, serials, fallback content keys, nonces)
//! would otherwise have to invent a way to continue without randomness, and there is none
//! that is safe.

/// Fill `dest` with random bytes from the OS.
///
/// # Panics
/// Only if the operating system cannot provide randomness at all (`getrandom(2)` failing on a
/// running Linux system): the process must not continue and, say, issue a predictable serial.
#[allow(clippy::panic, reason = "no safe way to continue without a CSPRNG")]
pub fn fill(dest: &mut [u8]) {
    if let Err(err) = getrandom::fill(dest) {
        panic!("the operating system random number generator failed: {err}");
    }
}

/// `n` random bytes from the OS.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    fill(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_the_requested_length_and_differ() {
        assert!(bytes(0).is_empty());
        let a = bytes(32);
        let b = bytes(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_ne!(a, vec![0u8; 32]);
    }
}
