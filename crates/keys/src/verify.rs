//! Signature verification against a DER `SubjectPublicKeyInfo`.
//!
//! ```asn1
//! SubjectPublicKeyInfo ::= SEQUENCE {
//!     algorithm         AlgorithmIdentifier,
//!     subjectPublicKey  BIT STRING }
//! ```
//! RFC 5280 §4.1.2.7. Accepted: rsaEncryption (RFC 8017; parameters NULL or absent) of
//! 2048..=8192 bits, and id-ecPublicKey with the named curves P-256 or P-384 (RFC 5480
//! §2.1.1). Explicit curve parameters are refused (security-catalogue E4, CVE-2022-0778 class),
//! and the RSA size cap bounds the work an attacker can ask for.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::Decode;
use der::asn1::AnyRef;
use spki::SubjectPublicKeyInfoRef;

use crate::error::VerifyError;
use crate::{DigestAlgorithm, SignatureAlgorithm, oids};

/// Smallest RSA modulus accepted (DESIGN.md §3: RSA ≥ 2048).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted (security-catalogue E4: cap the cost of one verification).
pub const RSA_MAX_BITS: usize = 8192;

/// What kind of public key an SPKI holds, for policy decisions and algorithm choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyKind {
    /// RSA with the modulus size in bits.
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
}

impl PublicKeyKind {
    /// Whether a key of this kind can verify (or, for a private key, produce) `alg`. For EC,
    /// the hash is independent of the curve (see [`SignatureAlgorithm`]).
    pub fn can_sign(self, alg: SignatureAlgorithm) -> bool {
        match self {
            Self::Rsa { .. } => alg.is_rsa(),
            Self::EcP256 | Self::EcP384 => alg.is_ecdsa(),
        }
    }
}

/// Classify a DER SubjectPublicKeyInfo without checking the RSA size bounds.
pub fn describe_public_key(spki_der: &[u8]) -> Result<PublicKeyKind, VerifyError> {
    parse(spki_der).map(|(kind, _)| kind)
}

/// The modulus size of an RSA SubjectPublicKeyInfo (an error for any other key type).
pub fn rsa_modulus_bits(spki_der: &[u8]) -> Result<usize, VerifyError> {
    match describe_public_key(spki_der)? {
        PublicKeyKind::Rsa { bits } => Ok(bits),
        _ => Err(VerifyError::UnsupportedKeyAlgorithm(
            oids::EC_PUBLIC_KEY.to_string(),
        )),
    }
}

/// Verify `signature` over `message` with the key in `spki_der`.
///
/// RSA keys must be 2048..=8192 bits and use a PKCS#1 v1.5 algorithm; EC keys (P-256, P-384)
/// an ECDSA algorithm with a DER `Ecdsa-Sig-Value` signature, whose hash comes from `alg` and
/// curve from the key.
pub fn verify_signature(
    spki_der: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let (kind, key_bytes) = parse(spki_der)?;
    if let PublicKeyKind::Rsa { bits } = kind
        && !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits)
    {
        return Err(VerifyError::RsaKeySize(bits));
    }
    let algorithm = verification_algorithm(kind, alg)?;
    UnparsedPublicKey::new(algorithm, key_bytes)
        .verify(message, signature)
        .map_err(|_| VerifyError::BadSignature)
}

fn verification_algorithm(
    kind: PublicKeyKind,
    alg: SignatureAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, VerifyError> {
    if !kind.can_sign(alg) {
        return Err(VerifyError::AlgorithmKeyMismatch(alg));
    }
    Ok(match (kind, alg.digest()) {
        (PublicKeyKind::Rsa { .. }, DigestAlgorithm::Sha1) => {
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (PublicKeyKind::Rsa { .. }, DigestAlgorithm::Sha256) => {
            &signature::RSA_PKCS1_2048_8192_SHA256
        }
        (PublicKeyKind::Rsa { .. }, DigestAlgorithm::Sha384) => {
            &signature::RSA_PKCS1_2048_8192_SHA384
        }
        (PublicKeyKind::Rsa { .. }, DigestAlgorithm::Sha512) => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        (PublicKeyKind::EcP256, DigestAlgorithm::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (PublicKeyKind::EcP256, DigestAlgorithm::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (PublicKeyKind::EcP384, DigestAlgorithm::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (PublicKeyKind::EcP384, DigestAlgorithm::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        _ => return Err(VerifyError::AlgorithmKeyMismatch(alg)),
    })
}

/// The key kind and the raw `subjectPublicKey` bits (RSAPublicKey DER, or the EC point).
fn parse(spki_der: &[u8]) -> Result<(PublicKeyKind, &[u8]), VerifyError> {
    let spki =
        SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| VerifyError::MalformedPublicKey)?;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(VerifyError::MalformedPublicKey)?;
    let oid = spki.algorithm.oid;
    if oid == oids::RSA_ENCRYPTION {
        if !spki.algorithm.parameters.is_none_or(AnyRef::is_null) {
            return Err(VerifyError::MalformedPublicKey);
        }
        let bits = rsa_bits(key_bytes)?;
        Ok((PublicKeyKind::Rsa { bits }, key_bytes))
    } else if oid == oids::EC_PUBLIC_KEY {
        let curve = named_curve(spki.algorithm.parameters)?;
        let kind = if curve == oids::SECP256R1 {
            PublicKeyKind::EcP256
        } else if curve == oids::SECP384R1 {
            PublicKeyKind::EcP384
        } else {
            return Err(VerifyError::UnsupportedCurve(curve.to_string()));
        };
        Ok((kind, key_bytes))
    } else {
        Err(VerifyError::UnsupportedKeyAlgorithm(oid.to_string()))
    }
}

/// ```asn1
/// ECParameters ::= CHOICE {
///     namedCurve      OBJECT IDENTIFIER
///     -- implicitCurve   NULL
///     -- specifiedCurve  SpecifiedECDomain }
/// ```
/// RFC 5480 §2.1.1: only namedCurve is allowed in PKIX.
fn named_curve(params: Option<AnyRef<'_>>) -> Result<ObjectIdentifier, VerifyError> {
    let params = params.ok_or(VerifyError::MalformedPublicKey)?;
    match der::Tagged::tag(&params) {
        der::Tag::ObjectIdentifier => params
            .decode_as::<ObjectIdentifier>()
            .map_err(|_| VerifyError::MalformedPublicKey),
        der::Tag::Sequence => Err(VerifyError::ExplicitCurveParameters),
        _ => Err(VerifyError::MalformedPublicKey),
    }
}

/// Bit length of the modulus of a DER RSAPublicKey (RFC 8017 A.1.1).
fn rsa_bits(rsa_public_key_der: &[u8]) -> Result<usize, VerifyError> {
    let key = pkcs1::RsaPublicKeyRef::from_der(rsa_public_key_der)
        .map_err(|_| VerifyError::MalformedPublicKey)?;
    // UintRef strips leading zero octets, so the first byte is the most significant non-zero.
    let modulus = key.modulus.as_bytes();
    let first = modulus.first().ok_or(VerifyError::MalformedPublicKey)?;
    let leading =
        usize::try_from(first.leading_zeros()).map_err(|_| VerifyError::MalformedPublicKey)?;
    Ok(modulus.len().saturating_mul(8).saturating_sub(leading))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use der::{Encode, asn1::BitString};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use x509_cert::der::DecodePem;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn verifies_the_ca_self_signature_from_the_vectors() {
        let pem = String::from_utf8(fixture("rust-ca.pem")).unwrap();
        let cert = x509_cert::Certificate::from_pem(&pem).unwrap();
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        assert_eq!(rsa_modulus_bits(&spki).unwrap(), 3072);
        let alg =
            SignatureAlgorithm::from_x509(&cert.signature_algorithm().to_der().unwrap()).unwrap();
        assert_eq!(alg, SignatureAlgorithm::RsaPkcs1Sha256);
        let tbs = cert.tbs_certificate().to_der().unwrap();
        let sig = cert.signature().as_bytes().unwrap();
        verify_signature(&spki, alg, &tbs, sig).unwrap();

        let mut tampered = tbs.clone();
        if let Some(b) = tampered.last_mut() {
            *b ^= 1;
        }
        assert_eq!(
            verify_signature(&spki, alg, &tampered, sig),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature(&spki, SignatureAlgorithm::RsaPkcs1Sha512, &tbs, sig),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature(&spki, SignatureAlgorithm::EcdsaP256Sha256, &tbs, sig),
            Err(VerifyError::AlgorithmKeyMismatch(
                SignatureAlgorithm::EcdsaP256Sha256
            ))
        );
    }

    #[test]
    fn verifies_a_real_csr_self_signature() {
        let csr =
            x509_cert::request::CertReq::from_der(&fixture("rust-aes-client-csr.der")).unwrap();
        let spki = csr.info.public_key.to_der().unwrap();
        let alg = SignatureAlgorithm::from_x509(&csr.algorithm.to_der().unwrap()).unwrap();
        let info = csr.info.to_der().unwrap();
        verify_signature(&spki, alg, &info, csr.signature.as_bytes().unwrap()).unwrap();
    }

    /// `openssl req` signs with SHA-256 whatever the curve: the hash comes from the
    /// algorithm, the curve from the key (fixtures made with OpenSSL 3).
    #[test]
    fn ecdsa_hash_is_independent_of_the_curve() {
        for (name, kind, alg) in [
            (
                "openssl-p384-sha256-csr.der",
                PublicKeyKind::EcP384,
                SignatureAlgorithm::EcdsaP256Sha256,
            ),
            (
                "openssl-p256-sha384-csr.der",
                PublicKeyKind::EcP256,
                SignatureAlgorithm::EcdsaP384Sha384,
            ),
        ] {
            let csr = x509_cert::request::CertReq::from_der(&fixture(name)).unwrap();
            let spki = csr.info.public_key.to_der().unwrap();
            assert_eq!(describe_public_key(&spki).unwrap(), kind);
            assert_eq!(
                SignatureAlgorithm::from_x509(&csr.algorithm.to_der().unwrap()).unwrap(),
                alg
            );
            let info = csr.info.to_der().unwrap();
            let sig = csr.signature.as_bytes().unwrap();
            verify_signature(&spki, alg, &info, sig).unwrap();
            assert_eq!(
                verify_signature(&spki, alg, b"other", sig),
                Err(VerifyError::BadSignature)
            );
            assert_eq!(
                verify_signature(&spki, SignatureAlgorithm::RsaPkcs1Sha256, &info, sig),
                Err(VerifyError::AlgorithmKeyMismatch(
                    SignatureAlgorithm::RsaPkcs1Sha256
                ))
            );
        }
    }

    fn spki_with(oid: ObjectIdentifier, params: Option<der::Any>, key: &[u8]) -> Vec<u8> {
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: params,
            },
            subject_public_key: BitString::from_bytes(key).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn refuses_explicit_curve_parameters() {
        let explicit = der::Any::new(der::Tag::Sequence, vec![0x02, 0x01, 0x01]).unwrap();
        let spki = spki_with(oids::EC_PUBLIC_KEY, Some(explicit), &[4u8; 65]);
        assert_eq!(
            describe_public_key(&spki),
            Err(VerifyError::ExplicitCurveParameters)
        );
        assert_eq!(
            verify_signature(&spki, SignatureAlgorithm::EcdsaP256Sha256, b"m", b"s"),
            Err(VerifyError::ExplicitCurveParameters)
        );
    }

    #[test]
    fn refuses_other_curves_and_key_types() {
        let p521 = der::Any::encode_from(&ObjectIdentifier::new_unwrap("1.3.132.0.35")).unwrap();
        let spki = spki_with(oids::EC_PUBLIC_KEY, Some(p521), &[4u8; 133]);
        assert_eq!(
            describe_public_key(&spki),
            Err(VerifyError::UnsupportedCurve("1.3.132.0.35".into()))
        );
        let ed25519 = spki_with(
            ObjectIdentifier::new_unwrap("1.3.101.112"),
            None,
            &[0u8; 32],
        );
        assert!(matches!(
            describe_public_key(&ed25519),
            Err(VerifyError::UnsupportedKeyAlgorithm(_))
        ));
        assert_eq!(
            describe_public_key(b"\x30\x00"),
            Err(VerifyError::MalformedPublicKey)
        );
        assert_eq!(
            describe_public_key(&[]),
            Err(VerifyError::MalformedPublicKey)
        );
    }

    /// A DER RSAPublicKey with a modulus of `bits` bits (top bit set, odd) and e = 65537.
    fn rsa_public_key(bits: usize) -> Vec<u8> {
        let mut n = vec![0xffu8; bits / 8];
        if let Some(last) = n.last_mut() {
            *last = 0xfb;
        }
        pkcs1::RsaPublicKeyRef {
            modulus: pkcs1::UintRef::new(&n).unwrap(),
            public_exponent: pkcs1::UintRef::new(&[1, 0, 1]).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn refuses_rsa_outside_2048_to_8192() {
        for (bits, ok) in [(1024, false), (2048, true), (8192, true), (16384, false)] {
            let spki = spki_with(
                oids::RSA_ENCRYPTION,
                Some(der::Any::null()),
                &rsa_public_key(bits),
            );
            assert_eq!(rsa_modulus_bits(&spki).unwrap(), bits);
            let result =
                verify_signature(&spki, SignatureAlgorithm::RsaPkcs1Sha256, b"m", &[0u8; 16]);
            if ok {
                assert_eq!(result, Err(VerifyError::BadSignature), "{bits}");
            } else {
                assert_eq!(result, Err(VerifyError::RsaKeySize(bits)));
            }
        }
    }
}
