//! Parsing a pkiMessage (RFC 8894 §3.2): the outer SignedData, *not verified*.
//!
//! ```text
//! SignerInfo ::= SEQUENCE {                           -- RFC 5652 §5.3
//!     version CMSVersion,
//!     sid SignerIdentifier,
//!     digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier,
//!     signature SignatureValue,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! Attribute ::= SEQUENCE {
//!     attrType OBJECT IDENTIFIER,
//!     attrValues SET OF AttributeValue }
//! ```
//!
//! Everything here is attacker-controlled until the RA has verified the signature over
//! [`SignerInfo::signed_attributes_der`] and the messageDigest over [`PkiMessage::content`].

use const_oid::ObjectIdentifier;
use der::{Decode as _, Encode as _, asn1::SetOfVec};

use crate::algorithms::{DigestAlgorithm, read_oid};
use crate::ber::{self, Tlv};
use crate::certificate::parse_certificate_lenient;
use crate::error::CodecError;
use crate::identifiers::SignerId;
use crate::message_type::{MessageType, MessageTypeField, RawMessageType};
use crate::oids;
use crate::signed_data::{SignedDataParts, read_signed_data};
use crate::status::{FailInfo, PkiStatus};

/// Longest nonce [`validate_nonce`] accepts (RFC 8894 §3.2.1.5 uses 16 octets).
pub const MAX_NONCE_LEN: usize = 32;

/// The single SignerInfo of a pkiMessage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerInfo {
    /// Who signed: issuerAndSerialNumber (serial up to 64 octets) or subjectKeyIdentifier.
    pub sid: SignerId,
    /// DER of `digestAlgorithm`, as sent.
    pub digest_algorithm_der: Vec<u8>,
    /// DER of `signatureAlgorithm`, as sent (CMS may say `rsaEncryption`).
    pub signature_algorithm_der: Vec<u8>,
    /// The signature value.
    pub signature: Vec<u8>,
    /// DER `SET OF Attribute` of the signed attributes: exactly what the signature covers
    /// (RFC 5652 §5.4: the `[0] IMPLICIT` tag replaced by an explicit SET OF tag).
    pub signed_attributes_der: Vec<u8>,
    /// The messageDigest attribute's value.
    pub message_digest: Option<Vec<u8>>,
    /// The contentType attribute's value.
    pub content_type: Option<ObjectIdentifier>,
    /// Whether the contentType signed attribute is present and is id-data (RFC 8894 §3.2).
    pub content_type_is_data: bool,
}

impl SignerInfo {
    /// The digest algorithm, if it is one this codec implements.
    pub fn digest(&self) -> Result<DigestAlgorithm, CodecError> {
        DigestAlgorithm::from_algorithm_identifier(&self.digest_algorithm_der)
    }
}

/// A parsed (unverified) pkiMessage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiMessage {
    /// The messageType judged as a *request*: CertRep "3" and every odd encoding are
    /// `Unsupported` (see [`PkiMessage::reply_message_type`] for the client side).
    pub message_type: MessageTypeField,
    /// transactionID (RFC 8894 §3.2.1.1), a PrintableString.
    pub transaction_id: Option<String>,
    /// senderNonce (§3.2.1.5), raw octets; see [`validate_nonce`].
    pub sender_nonce: Option<Vec<u8>>,
    /// recipientNonce (§3.2.1.5), raw octets.
    pub recipient_nonce: Option<Vec<u8>>,
    /// pkiStatus (§3.2.1.3) with failInfo (§3.2.1.4), in CertReps.
    pub pki_status: Option<PkiStatus>,
    /// failInfoText (§3.2.1.4.1), in FAILURE CertReps.
    pub fail_info_text: Option<String>,
    /// The one SignerInfo.
    pub signer_info: SignerInfo,
    /// The certificates, raw DER as sent (at most [`crate::MAX_CERTIFICATES`]).
    pub certificates: Vec<Vec<u8>>,
    /// The eContent octets (the pkcsPKIEnvelope); `None` when absent or empty.
    pub content: Option<Vec<u8>>,
    raw_message_type: RawMessageType,
}

impl PkiMessage {
    /// The messageType, judged as a *reply* (client side): only CertRep "3" is `Known`.
    #[must_use]
    pub fn reply_message_type(&self) -> MessageTypeField {
        MessageTypeField::for_reply(&self.raw_message_type)
    }

    /// Whether messageDigest equals the digest of the content (empty when absent) under the
    /// signer's digest algorithm. `false` when either is missing or the algorithm is unknown.
    #[must_use]
    pub fn message_digest_matches(&self) -> bool {
        let (Ok(alg), Some(expected)) =
            (self.signer_info.digest(), &self.signer_info.message_digest)
        else {
            return false;
        };
        alg.digest(self.content.as_deref().unwrap_or_default()) == *expected
    }

    /// The failInfo of a FAILURE CertRep.
    #[must_use]
    pub fn fail_info(&self) -> Option<FailInfo> {
        self.pki_status.and_then(PkiStatus::fail_info)
    }

    /// The embedded certificate the SignerInfo's `sid` names, if exactly one does.
    #[must_use]
    pub fn signer_certificate(&self) -> Option<&[u8]> {
        let mut matching = self.certificates.iter().filter(|der| {
            parse_certificate_lenient(der).is_ok_and(|c| c.matches(&self.signer_info.sid))
        });
        let first = matching.next()?;
        matching.next().is_none().then_some(first.as_slice())
    }
}

/// Checks a nonce: present, non-empty and at most [`MAX_NONCE_LEN`] octets.
pub fn validate_nonce(nonce: Option<&[u8]>) -> Result<&[u8], CodecError> {
    match nonce {
        None => Err(CodecError::Missing("nonce")),
        Some(n) if n.is_empty() || n.len() > MAX_NONCE_LEN => {
            Err(CodecError::Invalid("nonce length"))
        }
        Some(n) => Ok(n),
    }
}

/// Parses a pkiMessage: `ContentInfo(signedData)` with exactly one SignerInfo.
pub fn parse_pki_message(input: &[u8]) -> Result<PkiMessage, CodecError> {
    let SignedDataParts {
        digest_algorithms,
        content,
        certificates,
        signer_infos,
    } = read_signed_data(input)?;
    if digest_algorithms.is_empty() {
        return Err(CodecError::Missing("digestAlgorithms"));
    }
    let [signer_info] = signer_infos.as_slice() else {
        return Err(CodecError::SignerCount(signer_infos.len()));
    };
    let (signer_info, attributes) = read_signer_info(*signer_info)?;
    let status = attributes
        .single(&oids::ID_PKI_STATUS)?
        .map(|v| printable(v, "pkiStatus"))
        .transpose()?;
    let fail_info = attributes
        .single(&oids::ID_FAIL_INFO)?
        .map(|v| printable(v, "failInfo"))
        .transpose()?;
    let pki_status = match (&status, &fail_info) {
        (None, None) => None,
        (None, Some(_)) => return Err(CodecError::Invalid("failInfo without pkiStatus")),
        (Some(status), info) => Some(
            PkiStatus::from_wire(status, info.as_deref())
                .ok_or(CodecError::Invalid("pkiStatus / failInfo"))?,
        ),
    };
    let raw_message_type = attributes.raw_message_type();

    Ok(PkiMessage {
        message_type: MessageTypeField::for_request(&raw_message_type),
        transaction_id: attributes
            .single(&oids::ID_TRANSACTION_ID)?
            .map(|v| printable(v, "transactionID"))
            .transpose()?,
        sender_nonce: attributes
            .single(&oids::ID_SENDER_NONCE)?
            .map(|v| octet_string(v, "senderNonce"))
            .transpose()?,
        recipient_nonce: attributes
            .single(&oids::ID_RECIPIENT_NONCE)?
            .map(|v| octet_string(v, "recipientNonce"))
            .transpose()?,
        pki_status,
        fail_info_text: attributes
            .single(&oids::ID_SCEP_FAIL_INFO_TEXT)?
            .map(text)
            .transpose()?,
        raw_message_type,
        signer_info,
        certificates,
        content,
    })
}

/// Parses a CertRep (client side): like [`parse_pki_message`], but the messageType must be "3"
/// and pkiStatus present.
pub fn parse_cert_rep(input: &[u8]) -> Result<PkiMessage, CodecError> {
    let message = parse_pki_message(input)?;
    if message.reply_message_type() != MessageTypeField::Known(MessageType::CertRep) {
        return Err(CodecError::Invalid("messageType of a CertRep"));
    }
    if message.pki_status.is_none() {
        return Err(CodecError::Missing("pkiStatus"));
    }
    Ok(message)
}

fn read_signer_info(tlv: Tlv<'_>) -> Result<(SignerInfo, Attributes<'_>), CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected SignerInfo")?;
    let mut fields = tlv.children()?;
    fields
        .require("missing SignerInfo version")?
        .expect(ber::TAG_INTEGER, "expected CMSVersion")?;
    let sid = SignerId::read(fields.require("missing sid")?)?;
    let digest_algorithm_der = algorithm_der(fields.require("missing digestAlgorithm")?)?;
    let signed_attrs = fields
        .optional(ber::TAG_CTX0_CONSTRUCTED)?
        .ok_or(CodecError::Missing("signedAttrs"))?;
    let signature_algorithm_der = algorithm_der(fields.require("missing signatureAlgorithm")?)?;
    let signature = fields
        .require("missing signature")?
        .expect(ber::TAG_OCTET_STRING, "expected signature OCTET STRING")?
        .value
        .to_vec();
    fields.optional(ber::TAG_CTX1_CONSTRUCTED)?;
    fields.finish()?;

    let signed_attributes_der = canonical_attributes(&signed_attrs)?;
    let attributes = Attributes::read(signed_attrs)?;
    let message_digest = attributes
        .single(&oids::ID_MESSAGE_DIGEST)?
        .map(|v| octet_string(v, "messageDigest"))
        .transpose()?;
    let content_type = attributes
        .single(&oids::ID_CONTENT_TYPE)?
        .map(read_oid)
        .transpose()?;

    Ok((
        SignerInfo {
            sid,
            digest_algorithm_der,
            signature_algorithm_der,
            signature,
            signed_attributes_der,
            message_digest,
            content_type_is_data: content_type == Some(oids::ID_DATA),
            content_type,
        },
        attributes,
    ))
}

fn algorithm_der(tlv: Tlv<'_>) -> Result<Vec<u8>, CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected AlgorithmIdentifier")?;
    crate::algorithms::read_algorithm(tlv)?;
    Ok(tlv.definite_raw("indefinite AlgorithmIdentifier")?.to_vec())
}

/// The DER re-encoding of the signed attributes under an explicit SET OF tag (RFC 5652 §5.4).
/// For a DER sender this is its bytes with the first octet changed; `der` sorts the SET OF.
fn canonical_attributes(signed_attrs: &Tlv<'_>) -> Result<Vec<u8>, CodecError> {
    let explicit = ber::encode_tlv(ber::TAG_SET, signed_attrs.value);
    let set = SetOfVec::<x509_cert::attr::Attribute>::from_der(&explicit)?;
    if set.is_empty() {
        return Err(CodecError::Missing("signed attributes"));
    }
    Ok(set.to_der()?)
}

/// The signed attributes as (type, values), as sent.
struct Attributes<'a> {
    entries: Vec<(ObjectIdentifier, Vec<Tlv<'a>>)>,
}

impl<'a> Attributes<'a> {
    fn read(signed_attrs: Tlv<'a>) -> Result<Self, CodecError> {
        let mut entries = Vec::new();
        let mut reader = signed_attrs.children()?;
        while let Some(attr) = reader.next()? {
            let attr = attr.expect(ber::TAG_SEQUENCE, "expected Attribute")?;
            let mut fields = attr.children()?;
            let oid = read_oid(fields.require("missing attrType")?)?;
            let set = fields
                .require("missing attrValues")?
                .expect(ber::TAG_SET, "expected attrValues SET")?;
            fields.finish()?;
            let mut values = Vec::new();
            let mut value_reader = set.children()?;
            while let Some(value) = value_reader.next()? {
                values.push(value);
            }
            entries.push((oid, values));
        }
        Ok(Self { entries })
    }

    /// The one value of an attribute that must appear at most once with exactly one value.
    fn single(&self, oid: &ObjectIdentifier) -> Result<Option<Tlv<'a>>, CodecError> {
        let mut found = self.entries.iter().filter(|(o, _)| o == oid);
        let Some((_, values)) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(CodecError::Invalid("duplicate signed attribute"));
        }
        match values.as_slice() {
            [value] => Ok(Some(*value)),
            _ => Err(CodecError::Invalid("attribute must have exactly one value")),
        }
    }

    /// The messageType exactly as found; never an error (see [`MessageTypeField`]).
    fn raw_message_type(&self) -> RawMessageType {
        let mut found = self
            .entries
            .iter()
            .filter(|(o, _)| *o == oids::ID_MESSAGE_TYPE);
        match (found.next(), found.next()) {
            (None, _) => RawMessageType::Absent,
            (Some(_), Some(_)) => RawMessageType::Duplicate,
            (Some((_, values)), None) => {
                RawMessageType::Values(values.iter().map(|v| (v.tag, v.value.to_vec())).collect())
            }
        }
    }
}

fn printable(tlv: Tlv<'_>, what: &'static str) -> Result<String, CodecError> {
    if tlv.tag != 0x13 {
        return Err(CodecError::Invalid(what));
    }
    let s = std::str::from_utf8(tlv.value).map_err(|_| CodecError::Invalid(what))?;
    der::asn1::PrintableStringRef::new(s).map_err(|_| CodecError::Invalid(what))?;
    Ok(s.to_owned())
}

fn octet_string(tlv: Tlv<'_>, what: &'static str) -> Result<Vec<u8>, CodecError> {
    match tlv.tag {
        ber::TAG_OCTET_STRING | ber::TAG_OCTET_STRING_CONSTRUCTED => Ok(tlv.octets()?.into_owned()),
        _ => Err(CodecError::Invalid(what)),
    }
}

/// failInfoText is a UTF8String; PrintableString and IA5String are read too, as they are
/// subsets a lenient peer may send.
fn text(tlv: Tlv<'_>) -> Result<String, CodecError> {
    match tlv.tag {
        0x0C | 0x13 | 0x16 => std::str::from_utf8(tlv.value)
            .map(str::to_owned)
            .map_err(|_| CodecError::Invalid("failInfoText")),
        _ => Err(CodecError::Invalid("failInfoText")),
    }
}
