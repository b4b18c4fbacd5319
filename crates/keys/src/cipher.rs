//! The content ciphers of SCEP envelopes, and RSA key transport for the replies we build.
//!
//! RFC 8894 §3.2.2: the pkcsPKIEnvelope is CMS EnvelopedData (RFC 5652 §6) whose content is
//! encrypted with a CBC block cipher and PKCS#7 padding (RFC 5652 §6.3):
//! ```asn1
//! ContentEncryptionAlgorithmIdentifier ::= AlgorithmIdentifier
//! -- parameters: the IV, an OCTET STRING (RFC 3565 §4.1 AES, RFC 3370 §5.1 DES-EDE3)
//! ```
//! CBC is not authenticated: whoever calls [`decrypt_cbc`] on attacker data must make a padding
//! error indistinguishable from every later failure (security-catalogue D4).

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use aws_lc_rs::rsa::{Pkcs1PublicEncryptingKey, PublicEncryptingKey};
use const_oid::ObjectIdentifier;
use zeroize::Zeroizing;

use crate::error::CipherError;
use crate::oids;

/// A content-encryption algorithm of a SCEP envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCipher {
    /// id-aes128-CBC.
    Aes128Cbc,
    /// id-aes192-CBC.
    Aes192Cbc,
    /// id-aes256-CBC.
    Aes256Cbc,
    /// des-ede3-cbc: legacy opt-in only.
    DesEde3Cbc,
    /// des-cbc: insecure opt-in only (micromdm's scepclient cannot do anything else).
    DesCbc,
}

impl ContentCipher {
    /// Key length in bytes (DES keys include their parity bits).
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc => 16,
            Self::Aes192Cbc | Self::DesEde3Cbc => 24,
            Self::Aes256Cbc => 32,
            Self::DesCbc => 8,
        }
    }

    /// IV length in bytes (the block size).
    pub fn iv_len(self) -> usize {
        match self {
            Self::Aes128Cbc | Self::Aes192Cbc | Self::Aes256Cbc => 16,
            Self::DesEde3Cbc | Self::DesCbc => 8,
        }
    }

    /// The algorithm OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128Cbc => oids::AES128_CBC,
            Self::Aes192Cbc => oids::AES192_CBC,
            Self::Aes256Cbc => oids::AES256_CBC,
            Self::DesEde3Cbc => oids::DES_EDE3_CBC,
            Self::DesCbc => oids::DES_CBC,
        }
    }

    /// The cipher for an OID, if it is one of ours.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [
            Self::Aes128Cbc,
            Self::Aes192Cbc,
            Self::Aes256Cbc,
            Self::DesEde3Cbc,
            Self::DesCbc,
        ]
        .into_iter()
        .find(|c| c.oid() == oid)
    }

    /// 3DES or single DES: accepted only under an operator opt-in.
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::DesEde3Cbc | Self::DesCbc)
    }

    /// Single DES: broken, accepted only under the explicit insecure opt-in.
    pub fn is_insecure(self) -> bool {
        self == Self::DesCbc
    }
}

fn check_lengths(cipher: ContentCipher, key: &[u8], iv: &[u8]) -> Result<(), CipherError> {
    if key.len() != cipher.key_len() {
        return Err(CipherError::KeyLength {
            expected: cipher.key_len(),
            actual: key.len(),
        });
    }
    if iv.len() != cipher.iv_len() {
        return Err(CipherError::IvLength {
            expected: cipher.iv_len(),
            actual: iv.len(),
        });
    }
    Ok(())
}

/// Decrypt CBC content and strip its PKCS#7 padding.
///
/// A ciphertext that is not a whole number of blocks and a bad padding give the same
/// [`CipherError::Decrypt`]. A wrong key length is an error too, but
/// [`crate::unwrap_content_key`] always supplies the declared length, so on the envelope path it
/// never happens (Infisical PR #6411: a fallback key of the wrong length failed faster).
pub fn decrypt_cbc(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CipherError> {
    check_lengths(cipher, key, iv)?;
    fn run<C>(key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError>
    where
        cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
        C: aes::cipher::BlockCipherDecrypt,
    {
        let dec =
            cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| CipherError::Decrypt)?;
        // Decrypt into a zeroizing buffer so a plaintext with bad padding is wiped too.
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = dec
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| CipherError::Decrypt)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
    match cipher {
        ContentCipher::Aes128Cbc => run::<aes::Aes128>(key, iv, ciphertext),
        ContentCipher::Aes192Cbc => run::<aes::Aes192>(key, iv, ciphertext),
        ContentCipher::Aes256Cbc => run::<aes::Aes256>(key, iv, ciphertext),
        ContentCipher::DesEde3Cbc => run::<des::TdesEde3>(key, iv, ciphertext),
        ContentCipher::DesCbc => run::<des::Des>(key, iv, ciphertext),
    }
}

/// Encrypt with CBC and PKCS#7 padding (for the envelopes of our replies).
pub fn encrypt_cbc(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    check_lengths(cipher, key, iv)?;
    fn run<C>(key: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, CipherError>
    where
        cbc::Encryptor<C>: KeyIvInit + BlockModeEncrypt,
        C: aes::cipher::BlockCipherEncrypt,
    {
        let enc =
            cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|_| CipherError::Encrypt)?;
        Ok(enc.encrypt_padded_vec::<Pkcs7>(pt))
    }
    match cipher {
        ContentCipher::Aes128Cbc => run::<aes::Aes128>(key, iv, plaintext),
        ContentCipher::Aes192Cbc => run::<aes::Aes192>(key, iv, plaintext),
        ContentCipher::Aes256Cbc => run::<aes::Aes256>(key, iv, plaintext),
        ContentCipher::DesEde3Cbc => run::<des::TdesEde3>(key, iv, plaintext),
        ContentCipher::DesCbc => run::<des::Des>(key, iv, plaintext),
    }
}

/// RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1) of a content key to a recipient's RSA
/// SubjectPublicKeyInfo: the key transport of the reply envelope (RFC 8894 §3.3.2).
///
/// Recipient keys of 2048..=8192 bits only (aws-lc-rs refuses smaller keys).
pub fn encrypt_rsa_pkcs1v15(
    recipient_spki_der: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CipherError> {
    let public = PublicEncryptingKey::from_der(recipient_spki_der)
        .map_err(|e| CipherError::RecipientKey(e.description_()))?;
    let key = Pkcs1PublicEncryptingKey::new(public).map_err(|_| CipherError::Encrypt)?;
    if plaintext.len() > key.max_plaintext_size() {
        return Err(CipherError::Encrypt);
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(plaintext, &mut out)
        .map_err(|_| CipherError::Encrypt)?
        .len();
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ALL: [ContentCipher; 5] = [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes192Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::DesEde3Cbc,
        ContentCipher::DesCbc,
    ];

    #[test]
    fn round_trip_every_cipher_and_length() {
        for cipher in ALL {
            let key = crate::random::bytes(cipher.key_len()).unwrap();
            let iv = crate::random::bytes(cipher.iv_len()).unwrap();
            for len in [0usize, 1, 7, 8, 15, 16, 17, 100] {
                let pt = crate::random::bytes(len).unwrap();
                let ct = encrypt_cbc(cipher, &key, &iv, &pt).unwrap();
                assert_eq!(ct.len() % cipher.iv_len(), 0);
                assert!(ct.len() > pt.len(), "PKCS#7 always pads");
                let back = decrypt_cbc(cipher, &key, &iv, &ct).unwrap();
                assert_eq!(back.as_slice(), pt.as_slice(), "{cipher:?} {len}");
            }
            assert_eq!(ContentCipher::from_oid(cipher.oid()), Some(cipher));
        }
    }

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first block, then our PKCS#7 block.
    #[test]
    fn aes128_cbc_known_answer() {
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let iv = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let pt = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let ct = encrypt_cbc(ContentCipher::Aes128Cbc, &key, &iv, &pt).unwrap();
        assert_eq!(hex::encode(&ct[..16]), "7649abac8119b246cee98e9b12e9197d");
        assert_eq!(ct.len(), 32);
        assert_eq!(
            decrypt_cbc(ContentCipher::Aes128Cbc, &key, &iv, &ct)
                .unwrap()
                .as_slice(),
            pt
        );
    }

    /// NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), first block.
    #[test]
    fn aes256_cbc_known_answer() {
        let key = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap();
        let iv = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let pt = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let ct = encrypt_cbc(ContentCipher::Aes256Cbc, &key, &iv, &pt).unwrap();
        assert_eq!(hex::encode(&ct[..16]), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
    }

    /// Single-block DES known answer (FIPS 81 / the classic "Now is t" vector, ECB = CBC with a
    /// zero IV on the first block).
    #[test]
    fn des_cbc_known_answer() {
        let key = hex::decode("0123456789abcdef").unwrap();
        let iv = [0u8; 8];
        let ct = encrypt_cbc(ContentCipher::DesCbc, &key, &iv, b"Now is t").unwrap();
        assert_eq!(hex::encode(&ct[..8]), "3fa40e8a984d4815");
        // 3DES with K1 = K2 = K3 degenerates to single DES.
        let key3 = [key.clone(), key.clone(), key].concat();
        let ct3 = encrypt_cbc(ContentCipher::DesEde3Cbc, &key3, &iv, b"Now is t").unwrap();
        assert_eq!(ct3, ct);
    }

    #[test]
    fn refuses_bad_padding_length_and_sizes_with_one_error() {
        let cipher = ContentCipher::Aes256Cbc;
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let mut ct = encrypt_cbc(cipher, &key, &iv, b"challenge").unwrap();
        assert_eq!(
            decrypt_cbc(cipher, &key, &iv, &ct[..15]),
            Err(CipherError::Decrypt)
        );
        assert_eq!(
            decrypt_cbc(cipher, &key, &iv, &[]),
            Err(CipherError::Decrypt)
        );
        // Flip the last byte: the padding no longer checks out (with overwhelming probability).
        if let Some(b) = ct.last_mut() {
            *b ^= 0x55;
        }
        assert_eq!(
            decrypt_cbc(cipher, &key, &iv, &ct),
            Err(CipherError::Decrypt)
        );
        assert_eq!(
            decrypt_cbc(cipher, &key[..16], &iv, &ct),
            Err(CipherError::KeyLength {
                expected: 32,
                actual: 16
            })
        );
        assert_eq!(
            encrypt_cbc(ContentCipher::DesCbc, &[0u8; 8], &iv, b"x"),
            Err(CipherError::IvLength {
                expected: 8,
                actual: 16
            })
        );
    }
}
