//! Signature and digest algorithms, and their X.509 / CMS identifiers.
//!
//! ```asn1
//! AlgorithmIdentifier ::= SEQUENCE {
//!     algorithm   OBJECT IDENTIFIER,
//!     parameters  ANY DEFINED BY algorithm OPTIONAL }
//! ```
//! RFC 5280 §4.1.1.2. Parameters are NULL for the RSA algorithms (RFC 8017 Appendix A.2.4)
//! and absent for ECDSA (RFC 5758 §3.2) and, in what we write, for the SHA-2 digests (RFC 5754
//! §2). When reading we accept absent or NULL for all of them, as real clients send both.

use const_oid::ObjectIdentifier;
use der::Decode;
use der::asn1::AnyRef;
use spki::AlgorithmIdentifierRef;

use crate::error::VerifyError;
use crate::oids;

/// A message digest used inside a signature or for a CMS messageDigest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1: legacy opt-in only.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The digest OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => oids::SHA1,
            Self::Sha256 => oids::SHA256,
            Self::Sha384 => oids::SHA384,
            Self::Sha512 => oids::SHA512,
        }
    }

    /// DER `AlgorithmIdentifier` with absent parameters, as CMS digestAlgorithm (RFC 5754 §2).
    pub fn algorithm_identifier_der(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[0x30, 0x07, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a],
            Self::Sha256 => &[
                0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            ],
            Self::Sha384 => &[
                0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
            ],
            Self::Sha512 => &[
                0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
            ],
        }
    }

    /// The digest for an OID, if it is one we accept.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            o if o == oids::SHA1 => Some(Self::Sha1),
            o if o == oids::SHA256 => Some(Self::Sha256),
            o if o == oids::SHA384 => Some(Self::Sha384),
            o if o == oids::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Parse a DER `AlgorithmIdentifier` naming a digest (parameters absent or NULL).
    pub fn from_der(alg_id_der: &[u8]) -> Result<Self, VerifyError> {
        let oid = parse_oid_absent_or_null(alg_id_der)?;
        Self::from_oid(oid).ok_or_else(|| VerifyError::UnsupportedAlgorithm(oid.to_string()))
    }

    /// Hash `msg`.
    pub fn digest(self, msg: &[u8]) -> Vec<u8> {
        use aws_lc_rs::digest;
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, msg).as_ref().to_vec()
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// SHA-1: accepted only under the operator's legacy opt-in.
    pub fn is_legacy(self) -> bool {
        self == Self::Sha1
    }
}

/// A signature algorithm we can produce or verify.
///
/// The ECDSA variants are named after their usual curve, but a signature OID names only the
/// hash: [`crate::verify::verify_signature`] takes the curve from the public key, so a P-384 key
/// signing with ecdsa-with-SHA256 (what `openssl req` does by default) verifies as
/// [`SignatureAlgorithm::EcdsaP256Sha256`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// sha1WithRSAEncryption: legacy opt-in only.
    RsaPkcs1Sha1,
    /// sha256WithRSAEncryption.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption.
    RsaPkcs1Sha512,
    /// ecdsa-with-SHA256.
    EcdsaP256Sha256,
    /// ecdsa-with-SHA384.
    EcdsaP384Sha384,
}

impl SignatureAlgorithm {
    /// Every variant, for tests and capability listings.
    pub const ALL: [Self; 6] = [
        Self::RsaPkcs1Sha1,
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
        Self::RsaPkcs1Sha512,
        Self::EcdsaP256Sha256,
        Self::EcdsaP384Sha384,
    ];

    /// The signature algorithm OID (X.509 signatureAlgorithm, CMS signatureAlgorithm).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::RsaPkcs1Sha1 => oids::SHA1_WITH_RSA,
            Self::RsaPkcs1Sha256 => oids::SHA256_WITH_RSA,
            Self::RsaPkcs1Sha384 => oids::SHA384_WITH_RSA,
            Self::RsaPkcs1Sha512 => oids::SHA512_WITH_RSA,
            Self::EcdsaP256Sha256 => oids::ECDSA_WITH_SHA256,
            Self::EcdsaP384Sha384 => oids::ECDSA_WITH_SHA384,
        }
    }

    /// DER `AlgorithmIdentifier`: NULL parameters for RSA (RFC 8017 A.2.4), none for ECDSA
    /// (RFC 5758 §3.2).
    pub fn algorithm_identifier_der(self) -> &'static [u8] {
        match self {
            Self::RsaPkcs1Sha1 => &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05,
                0x00,
            ],
            Self::RsaPkcs1Sha256 => &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
                0x00,
            ],
            Self::RsaPkcs1Sha384 => &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05,
                0x00,
            ],
            Self::RsaPkcs1Sha512 => &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05,
                0x00,
            ],
            Self::EcdsaP256Sha256 => &[
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
            ],
            Self::EcdsaP384Sha384 => &[
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
            ],
        }
    }

    /// The digest this signature hashes with.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::RsaPkcs1Sha1 => DigestAlgorithm::Sha1,
            Self::RsaPkcs1Sha256 | Self::EcdsaP256Sha256 => DigestAlgorithm::Sha256,
            Self::RsaPkcs1Sha384 | Self::EcdsaP384Sha384 => DigestAlgorithm::Sha384,
            Self::RsaPkcs1Sha512 => DigestAlgorithm::Sha512,
        }
    }

    /// OID of [`Self::digest`] (the CMS SignerInfo digestAlgorithm).
    pub fn digest_oid(self) -> ObjectIdentifier {
        self.digest().oid()
    }

    /// True for the RSA PKCS#1 v1.5 variants.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::RsaPkcs1Sha1 | Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384 | Self::RsaPkcs1Sha512
        )
    }

    /// True for the ECDSA variants.
    pub fn is_ecdsa(self) -> bool {
        !self.is_rsa()
    }

    /// SHA-1: accepted only under the operator's legacy opt-in.
    pub fn is_legacy(self) -> bool {
        self.digest().is_legacy()
    }

    /// The algorithm of an X.509 `signatureAlgorithm` (certificate, CRL or PKCS#10), given as
    /// a DER `AlgorithmIdentifier`. Unlike CMS, X.509 has no separate digest, so bare
    /// rsaEncryption is refused here.
    pub fn from_x509(alg_id_der: &[u8]) -> Result<Self, VerifyError> {
        let oid = parse_oid_absent_or_null(alg_id_der)?;
        Self::from_signature_oid(oid)
    }

    /// Same as [`Self::from_x509`].
    pub fn from_x509_algorithm(alg_id_der: &[u8]) -> Result<Self, VerifyError> {
        Self::from_x509(alg_id_der)
    }

    /// The algorithm of a CMS SignerInfo (RFC 5652 §5.3), from its `digestAlgorithm` and
    /// `signatureAlgorithm` (both DER `AlgorithmIdentifier`s).
    ///
    /// The signature algorithm may be bare rsaEncryption with the hash given by the digest
    /// (RFC 3370 §3.2; certmonger does this), or a combined OID whose hash must equal the
    /// digest: sha256WithRSAEncryption with a SHA-1 digest is refused, as are MD5, DSA and
    /// RSASSA-PSS.
    pub fn from_cms(digest_alg_der: &[u8], signature_alg_der: &[u8]) -> Result<Self, VerifyError> {
        let digest = DigestAlgorithm::from_der(digest_alg_der)?;
        let sig_oid = parse_oid_absent_or_null(signature_alg_der)?;
        if sig_oid == oids::RSA_ENCRYPTION {
            return Ok(match digest {
                DigestAlgorithm::Sha1 => Self::RsaPkcs1Sha1,
                DigestAlgorithm::Sha256 => Self::RsaPkcs1Sha256,
                DigestAlgorithm::Sha384 => Self::RsaPkcs1Sha384,
                DigestAlgorithm::Sha512 => Self::RsaPkcs1Sha512,
            });
        }
        let alg = Self::from_signature_oid(sig_oid)?;
        if alg.digest() != digest {
            return Err(VerifyError::DigestMismatch {
                digest: digest.oid().to_string(),
                signature: sig_oid.to_string(),
            });
        }
        Ok(alg)
    }

    fn from_signature_oid(oid: ObjectIdentifier) -> Result<Self, VerifyError> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.oid() == oid)
            .ok_or_else(|| VerifyError::UnsupportedAlgorithm(oid.to_string()))
    }
}

/// The OID of a DER AlgorithmIdentifier whose parameters are absent or NULL; any other
/// parameters (e.g. RSASSA-PSS-params) make it malformed for the algorithms we accept.
fn parse_oid_absent_or_null(alg_id_der: &[u8]) -> Result<ObjectIdentifier, VerifyError> {
    let alg = AlgorithmIdentifierRef::from_der(alg_id_der)
        .map_err(|_| VerifyError::MalformedAlgorithm)?;
    match alg.parameters {
        None => Ok(alg.oid),
        Some(params) if is_null(params) => Ok(alg.oid),
        Some(_) => {
            // Name the algorithm when it is one we refuse anyway, so logs say "PSS", not
            // "malformed".
            if alg.oid == oids::RSASSA_PSS {
                Err(VerifyError::UnsupportedAlgorithm(alg.oid.to_string()))
            } else {
                Err(VerifyError::MalformedAlgorithm)
            }
        }
    }
}

fn is_null(any: AnyRef<'_>) -> bool {
    any.is_null()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use der::Encode;
    use der::asn1::Null;
    use spki::AlgorithmIdentifierOwned;

    fn alg_id(oid: ObjectIdentifier, null: bool) -> Vec<u8> {
        AlgorithmIdentifierOwned {
            oid,
            parameters: null.then(|| der::Any::from(Null)),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn algorithm_identifier_der_matches_der_encoder() {
        for alg in SignatureAlgorithm::ALL {
            let expected = alg_id(alg.oid(), alg.is_rsa());
            assert_eq!(
                alg.algorithm_identifier_der(),
                expected.as_slice(),
                "{alg:?}"
            );
            assert_eq!(SignatureAlgorithm::from_x509(&expected).unwrap(), alg);
        }
        for d in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            assert_eq!(
                d.algorithm_identifier_der(),
                alg_id(d.oid(), false).as_slice()
            );
            assert_eq!(d.digest(b"abc").len(), d.output_len());
        }
    }

    #[test]
    fn cms_accepts_rsa_encryption_with_separate_digest() {
        let sha256 = alg_id(oids::SHA256, true); // certmonger: NULL params on the digest
        let rsa = alg_id(oids::RSA_ENCRYPTION, true);
        assert_eq!(
            SignatureAlgorithm::from_cms(&sha256, &rsa).unwrap(),
            SignatureAlgorithm::RsaPkcs1Sha256
        );
        let sha1 = alg_id(oids::SHA1, false);
        let alg = SignatureAlgorithm::from_cms(&sha1, &rsa).unwrap();
        assert_eq!(alg, SignatureAlgorithm::RsaPkcs1Sha1);
        assert!(alg.is_legacy());
    }

    #[test]
    fn cms_accepts_combined_oid_with_matching_digest() {
        let sha256 = alg_id(oids::SHA256, false);
        let sig = alg_id(oids::SHA256_WITH_RSA, true);
        assert_eq!(
            SignatureAlgorithm::from_cms(&sha256, &sig).unwrap(),
            SignatureAlgorithm::RsaPkcs1Sha256
        );
        let sha384 = alg_id(oids::SHA384, false);
        let ec = alg_id(oids::ECDSA_WITH_SHA384, false);
        assert_eq!(
            SignatureAlgorithm::from_cms(&sha384, &ec).unwrap(),
            SignatureAlgorithm::EcdsaP384Sha384
        );
    }

    #[test]
    fn cms_refuses_digest_mismatch() {
        let sha1 = alg_id(oids::SHA1, false);
        let sig = alg_id(oids::SHA256_WITH_RSA, true);
        assert!(matches!(
            SignatureAlgorithm::from_cms(&sha1, &sig),
            Err(VerifyError::DigestMismatch { .. })
        ));
        let sha256 = alg_id(oids::SHA256, false);
        let ec = alg_id(oids::ECDSA_WITH_SHA384, false);
        assert!(matches!(
            SignatureAlgorithm::from_cms(&sha256, &ec),
            Err(VerifyError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn refuses_md5_pss_dsa_and_bare_rsa_in_x509() {
        let md5 = alg_id(ObjectIdentifier::new_unwrap("1.2.840.113549.2.5"), true);
        let rsa = alg_id(oids::RSA_ENCRYPTION, true);
        assert_eq!(
            SignatureAlgorithm::from_cms(&md5, &rsa),
            Err(VerifyError::UnsupportedAlgorithm(
                "1.2.840.113549.2.5".into()
            ))
        );
        let md5_rsa = alg_id(oids::MD5_WITH_RSA, true);
        assert!(matches!(
            SignatureAlgorithm::from_x509(&md5_rsa),
            Err(VerifyError::UnsupportedAlgorithm(_))
        ));
        // RSASSA-PSS with (empty) RSASSA-PSS-params SEQUENCE.
        let pss = AlgorithmIdentifierOwned {
            oid: oids::RSASSA_PSS,
            parameters: Some(der::Any::new(der::Tag::Sequence, Vec::<u8>::new()).unwrap()),
        }
        .to_der()
        .unwrap();
        assert!(matches!(
            SignatureAlgorithm::from_x509(&pss),
            Err(VerifyError::UnsupportedAlgorithm(_))
        ));
        let dsa_sha256 = alg_id(
            ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.2"),
            false,
        );
        assert!(matches!(
            SignatureAlgorithm::from_x509(&dsa_sha256),
            Err(VerifyError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            SignatureAlgorithm::from_x509(&rsa),
            Err(VerifyError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn refuses_garbage_and_unexpected_parameters() {
        assert_eq!(
            SignatureAlgorithm::from_x509(&[0x30, 0x03, 0x06]),
            Err(VerifyError::MalformedAlgorithm)
        );
        assert_eq!(
            SignatureAlgorithm::from_x509(&[]),
            Err(VerifyError::MalformedAlgorithm)
        );
        let with_int = AlgorithmIdentifierOwned {
            oid: oids::SHA256_WITH_RSA,
            parameters: Some(der::Any::new(der::Tag::Integer, vec![1u8]).unwrap()),
        }
        .to_der()
        .unwrap();
        assert_eq!(
            SignatureAlgorithm::from_x509(&with_int),
            Err(VerifyError::MalformedAlgorithm)
        );
    }
}
