//! The pkcsPKIEnvelope (RFC 8894 §3.2.2): CMS EnvelopedData.
//!
//! ```text
//! EnvelopedData ::= SEQUENCE {                        -- RFC 5652 §6.1
//!     version CMSVersion,
//!     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//!     recipientInfos RecipientInfos,
//!     encryptedContentInfo EncryptedContentInfo,
//!     unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
//! RecipientInfo ::= CHOICE {                          -- RFC 5652 §6.2
//!     ktri KeyTransRecipientInfo,
//!     kari [1] KeyAgreeRecipientInfo,
//!     kekri [2] KEKRecipientInfo,
//!     pwri [3] PasswordRecipientInfo,
//!     ori [4] OtherRecipientInfo }
//! KeyTransRecipientInfo ::= SEQUENCE {                -- RFC 5652 §6.2.1
//!     version CMSVersion,  -- always set to 0 or 2
//!     rid RecipientIdentifier,
//!     keyEncryptionAlgorithm KeyEncryptionIdentifier,
//!     encryptedKey EncryptedKey }
//! EncryptedContentInfo ::= SEQUENCE {
//!     contentType ContentType,
//!     contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
//!     encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
//! ```
//!
//! micromdm's scepclient sends `encryptedContent` as a *constructed* `[0]` holding an OCTET
//! STRING (legal BER, refused by `der`); both forms are read here.

use const_oid::ObjectIdentifier;

use crate::algorithms::{ContentCipher, KeyEncryption, encode_oid, read_algorithm, read_oid};
use crate::ber::{self, Tlv};
use crate::error::CodecError;
use crate::identifiers::RecipientId;
use crate::oids;
use crate::signed_data::{MAX_CERTIFICATES, encode_content_info, read_content_info};

/// A KeyTransRecipientInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTransRecipientInfo {
    /// Which certificate's key the content key was encrypted to.
    pub rid: RecipientId,
    /// The key-transport algorithm.
    pub key_encryption: KeyEncryption,
    /// DER of the key-transport `AlgorithmIdentifier` (OAEP parameters live here).
    pub key_encryption_algorithm_der: Vec<u8>,
    /// The encrypted content-encryption key.
    pub encrypted_key: Vec<u8>,
}

/// One RecipientInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientInfo {
    /// Which CHOICE it is, with its fields.
    pub kind: RecipientInfoKind,
}

/// The RecipientInfo CHOICE.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecipientInfoKind {
    /// ktri: the only kind SCEP uses.
    KeyTransport(KeyTransRecipientInfo),
    /// kari / kekri / pwri / ori, reported by their tag octet so the RA can refuse them.
    Unsupported {
        /// The CHOICE's tag octet (0xA1 kari, 0xA2 kekri, 0xA3 pwri, 0xA4 ori).
        tag: u8,
    },
}

/// A parsed EnvelopedData (not decrypted: that needs the RA's key, outside the codec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Every RecipientInfo, in order (micromdm encrypts to each certificate of GetCACert).
    pub recipients: Vec<RecipientInfo>,
    /// The encrypted content's type (id-data for SCEP).
    pub content_type: ObjectIdentifier,
    /// The content cipher.
    pub content_cipher: ContentCipher,
    /// The IV, of `content_cipher.iv_len()` octets.
    pub iv: Vec<u8>,
    /// The encryptedContent octets: non-empty, a whole number of blocks.
    pub encrypted_content: Vec<u8>,
}

impl Envelope {
    /// The KeyTransRecipientInfos addressed to `rid`.
    pub fn recipients_for<'s>(
        &'s self,
        rid: &'s RecipientId,
    ) -> impl Iterator<Item = &'s KeyTransRecipientInfo> + 's {
        self.recipients.iter().filter_map(move |r| match &r.kind {
            RecipientInfoKind::KeyTransport(k) if k.rid == *rid => Some(k),
            _ => None,
        })
    }
}

/// Parses `ContentInfo(envelopedData)`.
pub fn parse_envelope(input: &[u8]) -> Result<Envelope, CodecError> {
    let ed = read_content_info(input, oids::ID_ENVELOPED_DATA)?
        .expect(ber::TAG_SEQUENCE, "expected EnvelopedData")?;
    let mut fields = ed.children()?;
    fields
        .require("missing version")?
        .expect(ber::TAG_INTEGER, "expected CMSVersion")?;
    fields.optional(ber::TAG_CTX0_CONSTRUCTED)?;
    let set = fields
        .require("missing recipientInfos")?
        .expect(ber::TAG_SET, "expected recipientInfos SET")?;
    let mut recipients = Vec::new();
    let mut reader = set.children()?;
    while let Some(ri) = reader.next()? {
        if recipients.len() >= MAX_CERTIFICATES {
            return Err(CodecError::Invalid("too many recipientInfos"));
        }
        recipients.push(RecipientInfo {
            kind: read_recipient(ri)?,
        });
    }
    if recipients.is_empty() {
        return Err(CodecError::Missing("recipientInfos"));
    }
    let eci = fields
        .require("missing encryptedContentInfo")?
        .expect(ber::TAG_SEQUENCE, "expected EncryptedContentInfo")?;
    fields.optional(ber::TAG_CTX1_CONSTRUCTED)?;
    fields.finish()?;

    let mut eci_fields = eci.children()?;
    let content_type = read_oid(eci_fields.require("missing contentType")?)?;
    let (cipher_oid, params) =
        read_algorithm(eci_fields.require("missing contentEncryptionAlgorithm")?)?;
    let cipher =
        ContentCipher::from_oid(&cipher_oid).ok_or(CodecError::UnsupportedAlgorithm(cipher_oid))?;
    let iv = params
        .filter(|p| p.tag == ber::TAG_OCTET_STRING)
        .ok_or(CodecError::Invalid("content cipher IV"))?
        .value
        .to_vec();
    if iv.len() != cipher.iv_len() {
        return Err(CodecError::Invalid("content cipher IV length"));
    }
    let encrypted = eci_fields
        .next()?
        .ok_or(CodecError::Missing("encryptedContent"))?;
    if encrypted.tag != ber::TAG_CTX0_PRIMITIVE && encrypted.tag != ber::TAG_CTX0_CONSTRUCTED {
        return Err(CodecError::malformed(
            encrypted.offset,
            "expected [0] encryptedContent",
        ));
    }
    eci_fields.finish()?;
    let ciphertext = encrypted.octets()?.into_owned();
    if ciphertext.is_empty() || ciphertext.len() % cipher.iv_len() != 0 {
        return Err(CodecError::Invalid("ciphertext length"));
    }

    Ok(Envelope {
        recipients,
        content_type,
        content_cipher: cipher,
        iv,
        encrypted_content: ciphertext,
    })
}

fn read_recipient(tlv: Tlv<'_>) -> Result<RecipientInfoKind, CodecError> {
    if tlv.tag != ber::TAG_SEQUENCE {
        return Ok(RecipientInfoKind::Unsupported { tag: tlv.tag });
    }
    let mut fields = tlv.children()?;
    fields
        .require("missing KeyTransRecipientInfo version")?
        .expect(ber::TAG_INTEGER, "expected CMSVersion")?;
    let rid = RecipientId::read(fields.require("missing rid")?)?;
    let alg = fields.require("missing keyEncryptionAlgorithm")?;
    let (oid, _) = read_algorithm(alg)?;
    let key = fields
        .require("missing encryptedKey")?
        .expect(ber::TAG_OCTET_STRING, "expected encryptedKey OCTET STRING")?;
    fields.finish()?;
    if key.value.is_empty() {
        return Err(CodecError::Invalid("empty encryptedKey"));
    }
    Ok(RecipientInfoKind::KeyTransport(KeyTransRecipientInfo {
        rid,
        key_encryption: KeyEncryption::from_oid(oid),
        key_encryption_algorithm_der: alg.definite_raw("indefinite AlgorithmIdentifier")?.to_vec(),
        encrypted_key: key.value.to_vec(),
    }))
}

/// What [`build_envelope`] encrypts to: one recipient (SCEP replies go to the requester only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeParams {
    /// The recipient certificate's identifier (issuer + serial of up to 64 octets, or SKI).
    pub recipient: RecipientId,
    /// The key-transport algorithm used to produce `encrypted_key`.
    pub key_encryption: KeyEncryption,
    /// The content key encrypted to the recipient's public key.
    pub encrypted_key: Vec<u8>,
    /// The content cipher.
    pub cipher: ContentCipher,
    /// The IV (must be `cipher.iv_len()` octets).
    pub iv: Vec<u8>,
    /// The encrypted content.
    pub ciphertext: Vec<u8>,
}

/// Builds `ContentInfo(envelopedData)`, DER, with one KeyTransRecipientInfo and a primitive
/// `[0] encryptedContent`.
pub fn build_envelope(params: EnvelopeParams) -> Result<Vec<u8>, CodecError> {
    if params.iv.len() != params.cipher.iv_len() {
        return Err(CodecError::InvalidParameter("IV length"));
    }
    if params.encrypted_key.is_empty() {
        return Err(CodecError::InvalidParameter("empty encrypted key"));
    }
    let (_, ktri_version) = params.recipient.versions();
    // RFC 5652 §6.1: version 0 when every RecipientInfo is version 0, else 2.
    let ed_version = ktri_version;
    let ktri = ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &ber::encode_tlv(ber::TAG_INTEGER, &[ktri_version]),
            &params.recipient.to_der()?,
            &params.key_encryption.algorithm_identifier_der(),
            &ber::encode_tlv(ber::TAG_OCTET_STRING, &params.encrypted_key),
        ],
    );
    let cipher_alg = ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &encode_oid(&params.cipher.oid()),
            &ber::encode_tlv(ber::TAG_OCTET_STRING, &params.iv),
        ],
    );
    let eci = ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &encode_oid(&oids::ID_DATA),
            &cipher_alg,
            &ber::encode_tlv(ber::TAG_CTX0_PRIMITIVE, &params.ciphertext),
        ],
    );
    let ed = ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &ber::encode_tlv(ber::TAG_INTEGER, &[ed_version]),
            &ber::encode_tlv(ber::TAG_SET, &ktri),
            &eci,
        ],
    );
    Ok(encode_content_info(oids::ID_ENVELOPED_DATA, &ed))
}
