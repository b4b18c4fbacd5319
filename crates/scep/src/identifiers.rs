//! Certificate identifiers used by SignerInfo `sid` and KeyTransRecipientInfo `rid`.
//!
//! ```text
//! SignerIdentifier ::= CHOICE {                       -- RFC 5652 §5.3
//!     issuerAndSerialNumber IssuerAndSerialNumber,
//!     subjectKeyIdentifier [0] SubjectKeyIdentifier }
//! RecipientIdentifier ::= CHOICE {                    -- RFC 5652 §6.2.1
//!     issuerAndSerialNumber IssuerAndSerialNumber,
//!     subjectKeyIdentifier [0] SubjectKeyIdentifier }
//! IssuerAndSerialNumber ::= SEQUENCE {                -- RFC 5652 §10.2.4
//!     issuer Name,
//!     serialNumber CertificateSerialNumber }
//! ```
//!
//! Serials are kept as the INTEGER's contents octets, exactly as sent, up to
//! [`MAX_SERIAL_LEN`]: certmonger's signer certificates have 33-octet serials (RFC 5280 allows
//! 20), Cisco IOS sends negative ones, and the reply must be addressed to exactly those bytes.

use der::Decode as _;

use crate::ber::{self, Tlv};
use crate::error::CodecError;

/// Longest serial number accepted (octets of the INTEGER contents).
pub const MAX_SERIAL_LEN: usize = 64;

/// Longest subjectKeyIdentifier accepted (SHA-1 method 1 gives 20; SHA-512 truncations fit).
const MAX_KEY_IDENTIFIER_LEN: usize = 64;

/// Reads `IssuerAndSerialNumber`: the issuer `Name` DER and the serial's contents octets.
pub(crate) fn read_issuer_and_serial(tlv: Tlv<'_>) -> Result<(Vec<u8>, Vec<u8>), CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected IssuerAndSerialNumber")?;
    let mut fields = tlv.children()?;
    let issuer = read_name(fields.require("missing issuer")?)?;
    let serial = read_serial(fields.require("missing serialNumber")?)?;
    fields.finish()?;
    Ok((issuer, serial))
}

/// DER `IssuerAndSerialNumber`. The serial octets are written as given (they come from a
/// certificate, possibly one beyond RFC 5280).
pub(crate) fn encode_issuer_and_serial(
    issuer_der: &[u8],
    serial: &[u8],
) -> Result<Vec<u8>, CodecError> {
    validate_serial(serial)?;
    x509_cert::name::Name::from_der(issuer_der)?;
    Ok(ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[issuer_der, &ber::encode_tlv(ber::TAG_INTEGER, serial)],
    ))
}

/// A signer or recipient identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyId {
    /// `issuerAndSerialNumber`.
    IssuerAndSerial {
        /// DER of the issuer `Name`.
        issuer_der: Vec<u8>,
        /// Contents octets of the serial INTEGER (two's complement, as sent).
        serial: Vec<u8>,
    },
    /// `[0] SubjectKeyIdentifier` (the key identifier octets).
    SubjectKeyId(Vec<u8>),
}

/// The `sid` of a SignerInfo.
pub type SignerId = KeyId;
/// The `rid` of a KeyTransRecipientInfo.
pub type RecipientId = KeyId;

impl KeyId {
    pub(crate) fn read(tlv: Tlv<'_>) -> Result<Self, CodecError> {
        match tlv.tag {
            ber::TAG_SEQUENCE => {
                let (issuer_der, serial) = read_issuer_and_serial(tlv)?;
                Ok(Self::IssuerAndSerial { issuer_der, serial })
            }
            ber::TAG_CTX0_PRIMITIVE | ber::TAG_CTX0_CONSTRUCTED => {
                let ski = tlv.octets()?.into_owned();
                if ski.is_empty() || ski.len() > MAX_KEY_IDENTIFIER_LEN {
                    return Err(CodecError::Invalid("subjectKeyIdentifier length"));
                }
                Ok(Self::SubjectKeyId(ski))
            }
            _ => Err(CodecError::malformed(
                tlv.offset,
                "expected issuerAndSerialNumber or subjectKeyIdentifier",
            )),
        }
    }

    /// DER encoding (`[0] IMPLICIT` for the key identifier).
    pub fn to_der(&self) -> Result<Vec<u8>, CodecError> {
        match self {
            Self::IssuerAndSerial { issuer_der, serial } => {
                encode_issuer_and_serial(issuer_der, serial)
            }
            Self::SubjectKeyId(ski) => {
                if ski.is_empty() {
                    return Err(CodecError::InvalidParameter("empty subjectKeyIdentifier"));
                }
                Ok(ber::encode_tlv(ber::TAG_CTX0_PRIMITIVE, ski))
            }
        }
    }

    /// CMS versions tie to the identifier kind (RFC 5652 §5.3, §6.2.1): 1/0 for
    /// issuerAndSerialNumber, 3/2 for subjectKeyIdentifier. Returns `(signer, recipient)`.
    pub(crate) fn versions(&self) -> (u8, u8) {
        match self {
            Self::IssuerAndSerial { .. } => (1, 0),
            Self::SubjectKeyId(_) => (3, 2),
        }
    }
}

/// A `Name`, kept as its DER and checked by `x509-cert`.
pub(crate) fn read_name(tlv: Tlv<'_>) -> Result<Vec<u8>, CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected Name")?;
    let raw = tlv.definite_raw("indefinite length in Name")?;
    x509_cert::name::Name::from_der(raw)?;
    Ok(raw.to_vec())
}

/// A serial INTEGER's contents octets, 1..=[`MAX_SERIAL_LEN`].
pub(crate) fn read_serial(tlv: Tlv<'_>) -> Result<Vec<u8>, CodecError> {
    let tlv = tlv.expect(ber::TAG_INTEGER, "expected INTEGER serialNumber")?;
    validate_serial(tlv.value)?;
    Ok(tlv.value.to_vec())
}

fn validate_serial(serial: &[u8]) -> Result<(), CodecError> {
    if serial.is_empty() || serial.len() > MAX_SERIAL_LEN {
        return Err(CodecError::Invalid("serialNumber length"));
    }
    Ok(())
}
