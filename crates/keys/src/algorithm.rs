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

    /// DER `AlgorithmIdentifier` for a CMS SignerInfo's `signatureAlgorithm`: bare
    /// rsaEncryption with NULL parameters for RSA PKCS#1 v1.5, the hash then given by the
    /// SignerInfo's `digestAlgorithm` (RFC 3370 §3.2: every CMS implementation MUST accept it,
    /// and some accept nothing else: strongSwan 5.9's `pki --scep` refuses
    /// sha256WithRSAEncryption); the combined OID for ECDSA (RFC 5753 §2.1.1).
    pub fn cms_signature_algorithm_der(self) -> &'static [u8] {
        if self.is_rsa() {
            &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
                0x00,
            ]
        } else {
            self.algorithm_identifier_der()
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
}
