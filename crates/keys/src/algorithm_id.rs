//! Reading `AlgorithmIdentifier`s (RFC 5280 §4.1.1.2, RFC 5652 §5.3): which digest and
//! signature algorithms we accept from X.509 and CMS, and why any other is refused. The
//! algorithms themselves and their encodings are [`crate::algorithm`]'s.

use const_oid::ObjectIdentifier;
use der::Decode;
use der::asn1::AnyRef;
use spki::AlgorithmIdentifierRef;

use crate::algorithm::{DigestAlgorithm, SignatureAlgorithm};
use crate::error::VerifyError;
use crate::oids;

impl DigestAlgorithm {
    /// Parse a DER `AlgorithmIdentifier` naming a digest (parameters absent or NULL).
    pub fn from_der(alg_id_der: &[u8]) -> Result<Self, VerifyError> {
        let oid = parse_oid_absent_or_null(alg_id_der)?;
        Self::from_oid(oid).ok_or_else(|| VerifyError::UnsupportedAlgorithm(oid.to_string()))
    }
}

impl SignatureAlgorithm {
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
    fn cms_signer_info_algorithm_reads_back_as_the_same_algorithm() {
        for alg in SignatureAlgorithm::ALL {
            let signature = alg.cms_signature_algorithm_der();
            let read =
                SignatureAlgorithm::from_cms(alg.digest().algorithm_identifier_der(), signature);
            assert_eq!(read.unwrap(), alg, "{alg:?}");
        }
        assert_eq!(
            SignatureAlgorithm::RsaPkcs1Sha512.cms_signature_algorithm_der(),
            alg_id(oids::RSA_ENCRYPTION, true).as_slice()
        );
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
