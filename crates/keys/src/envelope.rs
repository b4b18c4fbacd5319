//! Recovering the content key of a SCEP envelope without a padding oracle.
//!
//! ```asn1
//! KeyTransRecipientInfo ::= SEQUENCE {
//!     version                 CMSVersion,  -- always set to 0 or 2
//!     rid                     RecipientIdentifier,
//!     keyEncryptionAlgorithm  KeyEncryptionAlgorithmIdentifier,
//!     encryptedKey            EncryptedKey }
//! ```
//! RFC 5652 §6.2.1. With rsaEncryption key transport, an attacker who can tell a PKCS#1 v1.5
//! padding failure from a later failure (an error code, a different reply, a shorter code
//! path) can decrypt any captured envelope, and with it the challenge password inside
//! (Bleichenbacher 1998; Marvin 2023 does it with timing alone). RFC 3218 §2.3.2 and
//! security-catalogue D3: on any failure continue with a random key *of the length the
//! declared content cipher needs* (Infisical PR #6411 used 32 bytes for every cipher and
//! reopened the oracle through "invalid key length"), and let the content decryption and the
//! CSR parse fail as they would with a wrong key.

use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::{Decrypter, random};

/// The content-encryption key in `encrypted_key`, or, on *any* failure (padding, length,
/// backend error), a fresh random key of `expected_len` bytes.
///
/// Never fails and never says which case happened. Both candidates are always computed and the
/// result is chosen with a constant-time select; the recovered key is compared with the
/// expected length in constant time too.
///
/// Residue (documented, not hidden): [`Decrypter::decrypt_rsa_pkcs1v15`] returns a `Result`, so
/// a backend's own error path (aws-lc or an HSM) may still differ by some nanoseconds; rate
/// limits on decryption failures (catalogue D3) and measurement with marvin-toolkit cover it.
pub fn unwrap_content_key(
    decrypter: &dyn Decrypter,
    encrypted_key: &[u8],
    expected_len: usize,
) -> Zeroizing<Vec<u8>> {
    // Drawn before decrypting and whatever happens, so the work does not depend on the outcome.
    let mut key = Zeroizing::new(random::bytes_or_abort(expected_len));

    let (recovered, decrypted_ok) = match decrypter.decrypt_rsa_pkcs1v15(encrypted_key) {
        Ok(plaintext) => (plaintext, subtle::Choice::from(1)),
        Err(_) => (Zeroizing::new(Vec::new()), subtle::Choice::from(0)),
    };
    // Lengths are small; u64 keeps the comparison portable.
    let recovered_len = u64::try_from(recovered.len()).unwrap_or(u64::MAX);
    let wanted_len = u64::try_from(expected_len).unwrap_or(u64::MAX);
    let use_recovered = decrypted_ok & recovered_len.ct_eq(&wanted_len);

    // Read a full `expected_len` bytes from the recovered key (zero past its end) so the loop
    // does the same work whether or not it will be used.
    for (i, out) in key.iter_mut().enumerate() {
        let candidate = recovered.get(i).copied().unwrap_or(0);
        out.conditional_assign(&candidate, use_recovered);
    }
    key
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{KeyError, KeyRole};

    /// A backend that returns whatever it was built with: lets the test drive every branch.
    #[derive(Debug)]
    struct Fixed(Result<Vec<u8>, ()>);

    impl Decrypter for Fixed {
        fn role(&self) -> KeyRole {
            KeyRole::RaDecryption
        }
        fn public_key_spki_der(&self) -> &[u8] {
            &[]
        }
        fn decrypt_rsa_pkcs1v15(&self, _: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
            self.0
                .clone()
                .map(Zeroizing::new)
                .map_err(|()| KeyError::Decrypt)
        }
    }

    #[test]
    fn returns_the_recovered_key_when_it_has_the_expected_length() {
        let real = vec![0xabu8; 32];
        let key = unwrap_content_key(&Fixed(Ok(real.clone())), b"ct", 32);
        assert_eq!(key.as_slice(), real.as_slice());
    }

    #[test]
    fn a_recovered_key_of_another_length_becomes_random_of_the_expected_length() {
        // The CEK lengths of catalogue D3's test classes: 8/15/17/31/33 for a 16- or 32-byte cipher.
        for (got, want) in [(8, 16), (15, 16), (17, 16), (31, 32), (33, 32), (0, 24)] {
            let backend = Fixed(Ok(vec![0x11u8; got]));
            let a = unwrap_content_key(&backend, b"ct", want);
            let b = unwrap_content_key(&backend, b"ct", want);
            assert_eq!(a.len(), want);
            assert_ne!(a, b, "a fresh random key each time");
        }
    }

    #[test]
    fn a_decryption_error_becomes_random_of_the_expected_length() {
        for want in [8, 16, 24, 32] {
            let a = unwrap_content_key(&Fixed(Err(())), b"ct", want);
            let b = unwrap_content_key(&Fixed(Err(())), b"ct", want);
            assert_eq!(a.len(), want);
            assert_eq!(b.len(), want);
            assert_ne!(a, b);
        }
    }
}
