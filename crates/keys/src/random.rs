//! The operating system's CSPRNG.

use crate::error::KeyError;

/// Fill `dest` with random bytes from the OS (`getrandom(2)`).
pub fn fill(dest: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(dest).map_err(|e| KeyError::Random(e.to_string()))
}

/// `n` random bytes from the OS.
pub fn bytes(n: usize) -> Result<Vec<u8>, KeyError> {
    let mut out = vec![0u8; n];
    fill(&mut out)?;
    Ok(out)
}

/// `n` random bytes where no error can be returned (the fallback content key of
/// [`crate::unwrap_content_key`]).
///
/// # Panics
/// Only if the OS cannot provide randomness at all. Continuing with a predictable fallback
/// key would let an attacker tell padding failures apart (an envelope prepared under the
/// predictable key would then decrypt), which is exactly the oracle the fallback closes.
#[allow(clippy::panic, reason = "no safe way to continue without a CSPRNG")]
pub(crate) fn bytes_or_abort(n: usize) -> Vec<u8> {
    match bytes(n) {
        Ok(out) => out,
        Err(err) => panic!("{err}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_the_requested_length_and_differ() {
        assert!(bytes(0).unwrap().is_empty());
        let a = bytes(32).unwrap();
        let b = bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_ne!(a, vec![0u8; 32]);
        let mut buf = [0u8; 16];
        fill(&mut buf).unwrap();
        assert_ne!(buf, [0u8; 16]);
        assert_eq!(bytes_or_abort(24).len(), 24);
    }
}
