//! Algorithm identifiers: digests (messageDigest), content ciphers and key transport.
//!
//! ```text
//! AlgorithmIdentifier ::= SEQUENCE {
//!     algorithm   OBJECT IDENTIFIER,
//!     parameters  ANY DEFINED BY algorithm OPTIONAL }   -- RFC 5280 §4.1.1.2
//! ```

use const_oid::ObjectIdentifier;
use sha1::Digest as _;

use crate::ber::{self, Tlv};
use crate::error::CodecError;
use crate::oids;

/// Reads an `AlgorithmIdentifier`: its OID and its parameters element, if any.
pub(crate) fn read_algorithm<'a>(
    tlv: Tlv<'a>,
) -> Result<(ObjectIdentifier, Option<Tlv<'a>>), CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected AlgorithmIdentifier")?;
    let mut fields = tlv.children()?;
    let oid = read_oid(fields.require("missing algorithm OID")?)?;
    let params = fields.next()?;
    fields.finish()?;
    Ok((oid, params))
}

/// Reads an `OBJECT IDENTIFIER`.
pub(crate) fn read_oid(tlv: Tlv<'_>) -> Result<ObjectIdentifier, CodecError> {
    let tlv = tlv.expect(ber::TAG_OID, "expected OBJECT IDENTIFIER")?;
    ObjectIdentifier::from_bytes(tlv.value)
        .map_err(|_| CodecError::malformed(tlv.offset, "invalid OBJECT IDENTIFIER"))
}

/// DER of an OID.
pub(crate) fn encode_oid(oid: &ObjectIdentifier) -> Vec<u8> {
    ber::encode_tlv(ber::TAG_OID, oid.as_bytes())
}

/// Digest used for `messageDigest` and named in `digestAlgorithms` (RFC 8894 §3.5.2 caps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1: legacy, only when the operator enables it.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384 (accepted on parse; not advertised in GetCACaps).
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's OID.
    #[must_use]
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => oids::ID_SHA1,
            Self::Sha256 => oids::ID_SHA256,
            Self::Sha384 => oids::ID_SHA384,
            Self::Sha512 => oids::ID_SHA512,
        }
    }

    /// Maps an OID; `None` for anything else (MD5 included: never accepted).
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|alg| alg.oid() == *oid)
    }

    /// Parses a DER `AlgorithmIdentifier`; the parameters must be absent or NULL (RFC 5754 §2).
    pub fn from_algorithm_identifier(der: &[u8]) -> Result<Self, CodecError> {
        let (oid, params) = read_algorithm(ber::read_single(der)?)?;
        if let Some(p) = params
            && p.raw != [0x05, 0x00]
        {
            return Err(CodecError::Invalid("digest algorithm parameters"));
        }
        Self::from_oid(&oid).ok_or(CodecError::UnsupportedAlgorithm(oid))
    }

    /// DER `AlgorithmIdentifier` with absent parameters, as RFC 5754 §2 prefers.
    #[must_use]
    pub fn algorithm_identifier_der(self) -> Vec<u8> {
        ber::encode_tlv(ber::TAG_SEQUENCE, &encode_oid(&self.oid()))
    }

    /// Hashes `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// Length of the digest output in octets.
    #[must_use]
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// SHA-1 is legacy.
    #[must_use]
    pub fn is_legacy(self) -> bool {
        self == Self::Sha1
    }
}

/// Content-encryption algorithm of the pkcsPKIEnvelope (RFC 8894 §3.3 / RFC 5652 §6.1).
///
/// The parameters of each are the IV as an `OCTET STRING` (RFC 3565 §4.1, RFC 8018 B.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCipher {
    /// AES-128-CBC.
    Aes128Cbc,
    /// AES-192-CBC.
    Aes192Cbc,
    /// AES-256-CBC.
    Aes256Cbc,
    /// Triple DES (EDE3) CBC: legacy opt-in.
    DesEde3Cbc,
    /// Single DES CBC (1.3.14.3.2.7): micromdm's scepclient only; loud opt-in.
    DesCbc,
}

impl ContentCipher {
    const ALL: [Self; 5] = [
        Self::Aes128Cbc,
        Self::Aes192Cbc,
        Self::Aes256Cbc,
        Self::DesEde3Cbc,
        Self::DesCbc,
    ];

    /// The algorithm's OID.
    #[must_use]
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128Cbc => oids::AES_128_CBC,
            Self::Aes192Cbc => oids::AES_192_CBC,
            Self::Aes256Cbc => oids::AES_256_CBC,
            Self::DesEde3Cbc => oids::DES_EDE3_CBC,
            Self::DesCbc => oids::DES_CBC,
        }
    }

    /// Maps an OID; `None` for anything else (RC2, AES-GCM, ...).
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// Key length in octets (what a fallback key must have after a failed key unwrap).
    #[must_use]
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc => 16,
            Self::Aes192Cbc | Self::DesEde3Cbc => 24,
            Self::Aes256Cbc => 32,
            Self::DesCbc => 8,
        }
    }

    /// IV (and block) length in octets.
    #[must_use]
    pub fn iv_len(self) -> usize {
        match self {
            Self::Aes128Cbc | Self::Aes192Cbc | Self::Aes256Cbc => 16,
            Self::DesEde3Cbc | Self::DesCbc => 8,
        }
    }

    /// Whether this cipher is legacy (3DES) or worse (single DES).
    #[must_use]
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::DesEde3Cbc | Self::DesCbc)
    }
}

/// Key-transport algorithm of a KeyTransRecipientInfo (RFC 5652 §6.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyEncryption {
    /// rsaEncryption: RSAES-PKCS1-v1_5.
    RsaPkcs1v15,
    /// id-RSAES-OAEP (the raw parameters are kept in the recipient info).
    RsaOaep,
    /// Anything else, for the caller to refuse.
    Other(ObjectIdentifier),
}

impl KeyEncryption {
    pub(crate) fn from_oid(oid: ObjectIdentifier) -> Self {
        if oid == oids::RSA_ENCRYPTION {
            Self::RsaPkcs1v15
        } else if oid == oids::ID_RSAES_OAEP {
            Self::RsaOaep
        } else {
            Self::Other(oid)
        }
    }

    /// DER `AlgorithmIdentifier`: rsaEncryption with NULL parameters (RFC 3370 §4.2.1),
    /// OAEP with the all-default `RSAES-OAEP-params` (SHA-1, MGF1-SHA-1; RFC 8017 App. C),
    /// other OIDs with absent parameters.
    #[must_use]
    pub fn algorithm_identifier_der(&self) -> Vec<u8> {
        let (oid, params): (ObjectIdentifier, &[u8]) = match self {
            Self::RsaPkcs1v15 => (oids::RSA_ENCRYPTION, &[0x05, 0x00]),
            Self::RsaOaep => (oids::ID_RSAES_OAEP, &[0x30, 0x00]),
            Self::Other(oid) => (*oid, &[]),
        };
        ber::encode_constructed(ber::TAG_SEQUENCE, &[&encode_oid(&oid), params])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn digest_identifiers_round_trip() {
        for alg in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let der = alg.algorithm_identifier_der();
            assert_eq!(
                DigestAlgorithm::from_algorithm_identifier(&der).unwrap(),
                alg
            );
            assert_eq!(alg.digest(b"").len(), alg.output_len());
        }
        // With NULL parameters (what Go and OpenSSL often send).
        let with_null = [
            0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
            0x00,
        ];
        assert_eq!(
            DigestAlgorithm::from_algorithm_identifier(&with_null).unwrap(),
            DigestAlgorithm::Sha256
        );
        // MD5 is never accepted.
        let md5 = [
            0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x05, 0x05, 0x00,
        ];
        assert!(matches!(
            DigestAlgorithm::from_algorithm_identifier(&md5),
            Err(CodecError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn cipher_lengths() {
        assert_eq!(ContentCipher::DesCbc.key_len(), 8);
        assert_eq!(ContentCipher::Aes256Cbc.iv_len(), 16);
        assert_eq!(
            ContentCipher::from_oid(&oids::DES_CBC),
            Some(ContentCipher::DesCbc)
        );
    }
}
