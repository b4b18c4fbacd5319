//! Subject public key facts: RSA modulus size and exponent, EC named curve.

use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode, Sequence, Tag, Tagged};
use policy::PublicKeyFacts;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::CsrError;
use crate::oids;

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

pub(super) fn facts(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKeyFacts, CsrError> {
    let oid = spki.algorithm.oid;
    let key_bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or(CsrError::PublicKey("BIT STRING has unused bits"))?;
    if oid == oids::RSA_ENCRYPTION {
        let key = RsaPublicKey::from_der(key_bits)
            .map_err(|_| CsrError::PublicKey("RSAPublicKey does not decode"))?;
        Ok(PublicKeyFacts::Rsa {
            modulus_bits: bit_length(key.modulus.as_bytes())
                .ok_or(CsrError::PublicKey("RSA modulus is zero"))?,
            exponent: exponent(key.public_exponent.as_bytes()),
        })
    } else if oid == oids::EC_PUBLIC_KEY {
        let curve = match &spki.algorithm.parameters {
            Some(p) if p.tag() == Tag::ObjectIdentifier => p
                .decode_as::<ObjectIdentifier>()
                .map_err(|_| CsrError::PublicKey("EC curve OID does not decode"))?,
            // Explicit parameters (CVE-2022-0778 class) or implicitlyCA: never accepted.
            Some(_) => {
                return Ok(PublicKeyFacts::Ec {
                    curve_oid: "explicit parameters".to_owned(),
                });
            }
            None => {
                return Ok(PublicKeyFacts::Ec {
                    curve_oid: "absent parameters".to_owned(),
                });
            }
        };
        let point_len = if curve == oids::SECP256R1 {
            Some(65)
        } else if curve == oids::SECP384R1 {
            Some(97)
        } else {
            None
        };
        if let Some(len) = point_len
            && (key_bits.len() != len || key_bits.first() != Some(&0x04))
        {
            return Err(CsrError::PublicKey(
                "EC point is not an uncompressed point of its curve",
            ));
        }
        Ok(PublicKeyFacts::Ec {
            curve_oid: curve.to_string(),
        })
    } else {
        Ok(PublicKeyFacts::Other {
            algorithm_oid: oid.to_string(),
        })
    }
}

/// Bits from the most significant set bit; `None` for zero.
fn bit_length(be: &[u8]) -> Option<u32> {
    let first_nonzero = be.iter().position(|&b| b != 0)?;
    let rest = be.get(first_nonzero..)?;
    let top = *rest.first()?;
    let len = u32::try_from(rest.len()).ok()?;
    Some((len - 1) * 8 + (8 - top.leading_zeros()))
}

/// The exponent if it fits 64 bits.
fn exponent(be: &[u8]) -> Option<u64> {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let digits = be.get(start..)?;
    if digits.len() > 8 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(bit_length(&[0x7f, 0x00]), Some(15));
        assert_eq!(bit_length(&[0x01]), Some(1));
        assert_eq!(bit_length(&[0, 0]), None);
        assert_eq!(bit_length(&[]), None);
    }

    #[test]
    fn exponents() {
        assert_eq!(exponent(&[0x01, 0x00, 0x01]), Some(65537));
        assert_eq!(exponent(&[0x03]), Some(3));
        assert_eq!(exponent(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Some(1));
        assert_eq!(exponent(&[1; 9]), None);
    }
}
