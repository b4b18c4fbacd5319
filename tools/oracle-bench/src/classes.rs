//! The ciphertext classes: which RSAES-PKCS1-v1_5 encoded message each one decrypts to.
//!
//! ```text
//! EM = 0x00 || 0x02 || PS || 0x00 || M      PS: >= 8 nonzero random octets
//! ```
//! RFC 8017 §7.2.1. Each malformed class breaks one check of the decoding in §7.2.2 step 3; a
//! Bleichenbacher / Marvin attacker learns from any difference between "conforming" and any
//! of them.

use crate::BenchError;

/// The content-key length of AES-256-CBC, the cipher the measured envelopes declare.
pub const KEY_LEN: usize = 32;

/// One class of ciphertexts, named by what its plaintext looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Conforming padding around a 32-byte key (what a client sends).
    Valid,
    /// First octet 0x01 instead of 0x00.
    WrongFirstByte,
    /// Block type 0x01 (signature padding) instead of 0x02.
    WrongBlockType,
    /// No 0x00 separator after PS at all.
    NoSeparator,
    /// The separator after only 4 octets of PS (at least 8 are required).
    ShortPadding,
    /// Conforming padding around a 16-byte key: the wrong length for AES-256.
    ShortKey,
}

impl Class {
    /// Every class, the valid one first (the reference of the t-tests).
    pub const ALL: [Class; 6] = [
        Class::Valid,
        Class::WrongFirstByte,
        Class::WrongBlockType,
        Class::NoSeparator,
        Class::ShortPadding,
        Class::ShortKey,
    ];

    /// The row label in the report.
    pub fn label(self) -> &'static str {
        match self {
            Class::Valid => "valid (32-byte key)",
            Class::WrongFirstByte => "wrong first byte (0x01)",
            Class::WrongBlockType => "wrong block type (0x01)",
            Class::NoSeparator => "no 0x00 separator",
            Class::ShortPadding => "separator too early (4-byte PS)",
            Class::ShortKey => "valid padding, 16-byte key",
        }
    }

    /// The length of the plaintext a PKCS#1 v1.5 decryption returns, or `None` if it must
    /// fail the padding check.
    pub fn expected_plaintext_len(self) -> Option<usize> {
        match self {
            Class::Valid => Some(KEY_LEN),
            Class::ShortKey => Some(16),
            Class::WrongFirstByte
            | Class::WrongBlockType
            | Class::NoSeparator
            | Class::ShortPadding => None,
        }
    }

    /// A fresh encoded message of `k` octets (the modulus length) for this class.
    pub fn encode(self, k: usize) -> Result<Vec<u8>, BenchError> {
        if k < 64 {
            return Err(BenchError::Modulus(k));
        }
        let (first, block_type) = match self {
            Class::WrongFirstByte => (0x01, 0x02),
            Class::WrongBlockType => (0x00, 0x01),
            _ => (0x00, 0x02),
        };
        let message_len = match self {
            Class::NoSeparator => None,
            Class::ShortPadding => Some(k - 3 - 4),
            Class::ShortKey => Some(16),
            Class::Valid | Class::WrongFirstByte | Class::WrongBlockType => Some(KEY_LEN),
        };
        let mut em = Vec::with_capacity(k);
        em.extend_from_slice(&[first, block_type]);
        match message_len {
            None => em.extend(nonzero_bytes(k - 2)?),
            Some(m) => {
                em.extend(nonzero_bytes(k - 3 - m)?);
                em.push(0x00);
                em.extend(keys::random::bytes(m)?);
            }
        }
        Ok(em)
    }
}

/// `n` random octets none of which is zero (PS must not contain the separator).
fn nonzero_bytes(n: usize) -> Result<Vec<u8>, BenchError> {
    let mut out = keys::random::bytes(n)?;
    for byte in &mut out {
        while *byte == 0 {
            let mut one = [0u8; 1];
            keys::random::fill(&mut one)?;
            *byte = one[0];
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn encodings_have_the_shape_their_name_says() {
        let k = 256;
        for class in Class::ALL {
            let em = class.encode(k).unwrap();
            assert_eq!(em.len(), k, "{class:?}");
            let sep = em[2..].iter().position(|&b| b == 0).map(|p| p + 2);
            match class {
                Class::Valid => {
                    assert_eq!(&em[..2], &[0, 2]);
                    assert_eq!(sep, Some(k - 33));
                }
                Class::WrongFirstByte => assert_eq!((em[0], em[1]), (1, 2)),
                Class::WrongBlockType => assert_eq!((em[0], em[1]), (0, 1)),
                Class::NoSeparator => assert_eq!(sep, None),
                Class::ShortPadding => assert_eq!(sep, Some(6)),
                Class::ShortKey => assert_eq!(sep, Some(k - 17)),
            }
        }
    }
}
