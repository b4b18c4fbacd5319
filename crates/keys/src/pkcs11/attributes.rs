//! What a token says about a key object, and whether that is acceptable for a role.
//!
//! The checks run every time a key is loaded, not only when scepd generated it: an operator may
//! point scepd at a key made by another tool (`pkcs11-tool --keypairgen` leaves keys
//! extractable on some tokens), and a key that can leave the token is refused at start
//! (issue 3, catalogue ESC12 / I1).

use cryptoki::object::{Attribute, AttributeType, KeyType};
use der::asn1::{BitString, Null, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{KeyError, KeyRole, oids};

/// The security-relevant attributes of a private key object.
///
/// An attribute the token does not report counts as the unsafe value: a key whose
/// `CKA_EXTRACTABLE` cannot be read is treated as extractable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyAttributes {
    /// `CKA_KEY_TYPE` is `CKK_RSA` (otherwise `CKK_EC`; other types are refused earlier).
    pub rsa: bool,
    /// `CKA_SENSITIVE`: the private value can never be read in plaintext.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_PRIVATE`: the key is usable only after login.
    pub private: bool,
    /// `CKA_SIGN`.
    pub sign: bool,
    /// `CKA_SIGN_RECOVER`.
    pub sign_recover: bool,
    /// `CKA_DECRYPT`.
    pub decrypt: bool,
    /// `CKA_UNWRAP`.
    pub unwrap: bool,
    /// `CKA_DERIVE`.
    pub derive: bool,
    /// `CKA_ALWAYS_SENSITIVE`: false for a key imported or once readable. Not a refusal (an
    /// existing CA key imported into the HSM has it false) but worth a warning at start.
    pub always_sensitive: Option<bool>,
    /// `CKA_NEVER_EXTRACTABLE`: same remark.
    pub never_extractable: Option<bool>,
    /// `CKA_ID`, which links the private key to its public key and certificate objects.
    pub id: Vec<u8>,
}

/// The attributes [`KeyAttributes::from_attributes`] reads.
pub(super) const PRIVATE_KEY_ATTRIBUTES: &[AttributeType] = &[
    AttributeType::KeyType,
    AttributeType::Sensitive,
    AttributeType::Extractable,
    AttributeType::Private,
    AttributeType::Sign,
    AttributeType::SignRecover,
    AttributeType::Decrypt,
    AttributeType::Unwrap,
    AttributeType::Derive,
    AttributeType::AlwaysSensitive,
    AttributeType::NeverExtractable,
    AttributeType::Id,
];

impl KeyAttributes {
    pub(super) fn from_attributes(label: &str, attrs: &[Attribute]) -> Result<Self, KeyError> {
        let mut out = Self {
            rsa: false,
            sensitive: false,
            extractable: true,
            private: false,
            sign: false,
            sign_recover: false,
            decrypt: false,
            unwrap: false,
            derive: false,
            always_sensitive: None,
            never_extractable: None,
            id: Vec::new(),
        };
        let mut key_type = None;
        for attr in attrs {
            match attr {
                Attribute::KeyType(t) => key_type = Some(*t),
                Attribute::Sensitive(v) => out.sensitive = *v,
                Attribute::Extractable(v) => out.extractable = *v,
                Attribute::Private(v) => out.private = *v,
                Attribute::Sign(v) => out.sign = *v,
                Attribute::SignRecover(v) => out.sign_recover = *v,
                Attribute::Decrypt(v) => out.decrypt = *v,
                Attribute::Unwrap(v) => out.unwrap = *v,
                Attribute::Derive(v) => out.derive = *v,
                Attribute::AlwaysSensitive(v) => out.always_sensitive = Some(*v),
                Attribute::NeverExtractable(v) => out.never_extractable = Some(*v),
                Attribute::Id(v) => out.id.clone_from(v),
                _ => {}
            }
        }
        out.rsa = match key_type {
            Some(t) if t == KeyType::RSA => true,
            Some(t) if t == KeyType::EC => false,
            Some(t) => {
                return Err(KeyError::UnsupportedKeyType(format!(
                    "PKCS#11 key \"{label}\": CKA_KEY_TYPE {t} (only RSA and EC)"
                )));
            }
            None => {
                return Err(refused(
                    label,
                    "CKA_KEY_TYPE",
                    "the token does not report it",
                ));
            }
        };
        Ok(out)
    }

    /// Refuse a key that could leave the token, could be used without login, or could do
    /// another role's job. The error names the label and the attribute.
    pub(super) fn check_for(&self, role: KeyRole, label: &str) -> Result<(), KeyError> {
        if !self.sensitive {
            return Err(refused(
                label,
                "CKA_SENSITIVE",
                "is false: the private value can be read out of the token",
            ));
        }
        if self.extractable {
            return Err(refused(
                label,
                "CKA_EXTRACTABLE",
                "is true: the key can be wrapped and exported; generate it inside the token with CKA_EXTRACTABLE=false",
            ));
        }
        if !self.private {
            return Err(refused(
                label,
                "CKA_PRIVATE",
                "is false: the key is usable without logging in",
            ));
        }
        if role.is_signing() {
            if !self.sign {
                return Err(role_refused(label, role, "CKA_SIGN", "is false"));
            }
            // A signing key that also decrypts is the step-ca/micromdm shape (catalogue D6): a
            // padding oracle on it would sign for the attacker.
            if self.decrypt {
                return Err(role_refused(label, role, "CKA_DECRYPT", "is true"));
            }
            if self.unwrap {
                return Err(role_refused(label, role, "CKA_UNWRAP", "is true"));
            }
        } else {
            if !self.rsa {
                return Err(KeyError::Unsupported(
                    "an EC key cannot be the RA decryption key: SCEP key transport is RSA",
                ));
            }
            if !self.decrypt {
                return Err(role_refused(label, role, "CKA_DECRYPT", "is false"));
            }
            if self.sign {
                return Err(role_refused(label, role, "CKA_SIGN", "is true"));
            }
            if self.sign_recover {
                return Err(role_refused(label, role, "CKA_SIGN_RECOVER", "is true"));
            }
        }
        Ok(())
    }
}

fn refused(label: &str, attribute: &str, why: &str) -> KeyError {
    KeyError::Backend(format!(
        "PKCS#11 key \"{label}\" refused: {attribute} {why}"
    ))
}

fn role_refused(label: &str, role: KeyRole, attribute: &str, why: &str) -> KeyError {
    KeyError::Backend(format!(
        "PKCS#11 key \"{label}\" refused for the {role} role: {attribute} {why} (one key, one job: a {role} key must have {})",
        if role.is_signing() {
            "CKA_SIGN=true and CKA_DECRYPT=CKA_UNWRAP=false"
        } else {
            "CKA_DECRYPT=true and CKA_SIGN=CKA_SIGN_RECOVER=false"
        }
    ))
}

/// DER `SubjectPublicKeyInfo` of an RSA key (RFC 8017 Appendix A.1.1, RFC 3279 §2.3.1):
///
/// ```asn1
/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
/// ```
/// wrapped with rsaEncryption and NULL parameters.
pub(super) fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bad = |_| KeyError::Rejected("the token's RSA public key cannot be encoded");
    let public = pkcs1::RsaPublicKey {
        modulus: der::asn1::UintRef::new(modulus).map_err(bad)?,
        public_exponent: der::asn1::UintRef::new(exponent).map_err(bad)?,
    };
    let key = public.to_der().map_err(bad)?;
    spki_der(oids::RSA_ENCRYPTION, Any::from(Null), &key)
}

/// The named curve in `CKA_EC_PARAMS` (DER `ECParameters`, RFC 5480 §2.1.1: only
/// `namedCurve` is accepted, explicit parameters are refused).
pub(super) fn ec_curve(ec_params: &[u8]) -> Result<ObjectIdentifier, KeyError> {
    let oid = ObjectIdentifier::from_der(ec_params).map_err(|_| {
        KeyError::UnsupportedKeyType("EC key without a named curve in CKA_EC_PARAMS".into())
    })?;
    if oid == oids::SECP256R1 || oid == oids::SECP384R1 {
        Ok(oid)
    } else {
        Err(KeyError::UnsupportedKeyType(format!("EC curve {oid}")))
    }
}

/// DER `SubjectPublicKeyInfo` of an EC key (RFC 5480 §2): id-ecPublicKey with the named curve,
/// and the uncompressed point from `CKA_EC_POINT`.
///
/// PKCS#11 v2.40 §2.3.3 says `CKA_EC_POINT` is the DER `ECPoint ::= OCTET STRING`; some tokens
/// return the raw point. The two are told apart by length, which is unambiguous for the
/// uncompressed points of P-256 (65 bytes) and P-384 (97 bytes).
pub(super) fn ec_spki(curve: ObjectIdentifier, ec_point: &[u8]) -> Result<Vec<u8>, KeyError> {
    let point_len = if curve == oids::SECP384R1 { 97 } else { 65 };
    let point = if ec_point.len() == point_len {
        ec_point.to_vec()
    } else {
        OctetString::from_der(ec_point)
            .map_err(|_| KeyError::Rejected("CKA_EC_POINT is not a DER OCTET STRING"))?
            .into_bytes()
            .into_vec()
    };
    if point.len() != point_len || point.first() != Some(&0x04) {
        return Err(KeyError::Rejected(
            "CKA_EC_POINT is not an uncompressed point of the key's curve",
        ));
    }
    let params = Any::new(Tag::ObjectIdentifier, curve.as_bytes())
        .map_err(|_| KeyError::Rejected("cannot encode the EC curve"))?;
    spki_der(oids::EC_PUBLIC_KEY, params, &point)
}

fn spki_der(oid: ObjectIdentifier, params: Any, key: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bad = |_| KeyError::Rejected("cannot encode the public key");
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid,
            parameters: Some(params),
        },
        subject_public_key: BitString::from_bytes(key).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::verify::{PublicKeyKind, describe_public_key};

    fn safe(rsa: bool) -> KeyAttributes {
        KeyAttributes {
            rsa,
            sensitive: true,
            extractable: false,
            private: true,
            sign: true,
            sign_recover: false,
            decrypt: false,
            unwrap: false,
            derive: false,
            always_sensitive: Some(true),
            never_extractable: Some(true),
            id: vec![1],
        }
    }

    fn message(r: Result<(), KeyError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_label_and_the_attribute() {
        let mut a = safe(true);
        a.extractable = true;
        let m = message(a.check_for(KeyRole::CaSigning, "ca"));
        assert!(m.contains("\"ca\"") && m.contains("CKA_EXTRACTABLE"), "{m}");

        let mut a = safe(true);
        a.sensitive = false;
        assert!(message(a.check_for(KeyRole::CaSigning, "ca")).contains("CKA_SENSITIVE"));

        let mut a = safe(true);
        a.private = false;
        assert!(message(a.check_for(KeyRole::RaSigning, "ra")).contains("CKA_PRIVATE"));

        let mut a = safe(true);
        a.sign = false;
        let m = message(a.check_for(KeyRole::RaSigning, "ra"));
        assert!(m.contains("CKA_SIGN") && m.contains("ra-signing"), "{m}");
    }

    #[test]
    fn one_key_one_job() {
        let mut both = safe(true);
        both.decrypt = true;
        assert!(message(both.check_for(KeyRole::CaSigning, "k")).contains("CKA_DECRYPT"));
        assert!(message(both.check_for(KeyRole::RaDecryption, "k")).contains("CKA_SIGN"));

        let mut dec = safe(true);
        dec.sign = false;
        dec.decrypt = true;
        dec.check_for(KeyRole::RaDecryption, "k").unwrap();
        assert!(dec.check_for(KeyRole::RaSigning, "k").is_err());

        let mut ec = safe(false);
        ec.sign = false;
        ec.decrypt = true;
        assert!(ec.check_for(KeyRole::RaDecryption, "k").is_err());
        safe(false).check_for(KeyRole::CaSigning, "k").unwrap();
    }

    #[test]
    fn unreported_attributes_count_as_unsafe() {
        let attrs = [Attribute::KeyType(KeyType::RSA), Attribute::Sign(true)];
        let a = KeyAttributes::from_attributes("k", &attrs).unwrap();
        assert!(a.extractable && !a.sensitive && !a.private);
        assert!(a.check_for(KeyRole::CaSigning, "k").is_err());
        assert!(KeyAttributes::from_attributes("k", &[]).is_err());
    }

    #[test]
    fn builds_rsa_and_ec_spki() {
        let mut modulus = vec![0xc5u8; 256];
        modulus[255] = 0x01;
        let spki = rsa_spki(&modulus, &[1, 0, 1]).unwrap();
        assert_eq!(
            describe_public_key(&spki).unwrap(),
            PublicKeyKind::Rsa { bits: 2048 }
        );

        // P-256 generator point, DER-wrapped as PKCS#11 says, and raw.
        let g = hex::decode(concat!(
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
        ))
        .unwrap();
        let curve = ec_curve(&oids::SECP256R1.to_der().unwrap()).unwrap();
        let wrapped = OctetString::new(g.clone()).unwrap().to_der().unwrap();
        let a = ec_spki(curve, &wrapped).unwrap();
        assert_eq!(a, ec_spki(curve, &g).unwrap());
        assert_eq!(describe_public_key(&a).unwrap(), PublicKeyKind::EcP256);
        assert!(ec_spki(oids::SECP384R1, &wrapped).is_err());
        assert!(ec_curve(&oids::SECP256R1.as_bytes()[..3]).is_err());
    }
}
