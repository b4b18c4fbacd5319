//! The raw RSA public operation (RFC 8017 §5.1.1 RSAEP: c = m^e mod n), which lets the bench
//! encrypt encoded messages that no PKCS#1 implementation would produce.

use der::Decode;
use num_bigint::BigUint;
use pkcs1::RsaPublicKeyRef;
use spki::SubjectPublicKeyInfoRef;

use crate::BenchError;

/// An RSA public key for RSAEP.
#[derive(Debug)]
pub struct RawRsaPublic {
    n: BigUint,
    e: BigUint,
    k: usize,
}

impl RawRsaPublic {
    /// From a DER SubjectPublicKeyInfo holding an rsaEncryption key.
    pub fn from_spki(spki_der: &[u8]) -> Result<Self, BenchError> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|_| BenchError::PublicKey("invalid SubjectPublicKeyInfo"))?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or(BenchError::PublicKey("unaligned public key BIT STRING"))?;
        let rsa = RsaPublicKeyRef::from_der(bits).map_err(|_| BenchError::PublicKey("not RSA"))?;
        let n = BigUint::from_bytes_be(rsa.modulus.as_bytes());
        let e = BigUint::from_bytes_be(rsa.public_exponent.as_bytes());
        let k = usize::try_from(n.bits().div_ceil(8)).map_err(|_| BenchError::Modulus(0))?;
        Ok(Self { n, e, k })
    }

    /// The modulus length in octets.
    pub fn k(&self) -> usize {
        self.k
    }

    /// RSAEP of an encoded message of exactly `k` octets, as a `k`-octet ciphertext.
    pub fn encrypt(&self, em: &[u8]) -> Result<Vec<u8>, BenchError> {
        let m = BigUint::from_bytes_be(em);
        if em.len() != self.k || m >= self.n {
            return Err(BenchError::MessageRange);
        }
        let c = m.modpow(&self.e, &self.n).to_bytes_be();
        let mut out = vec![0u8; self.k.saturating_sub(c.len())];
        out.extend_from_slice(&c);
        Ok(out)
    }
}
