//! Building signed pkiMessages (CertRep and requests) in two phases, DER out.
//!
//! The codec holds no key: `prepare_*` returns the exact bytes to sign (the DER `SET OF
//! Attribute` of RFC 5652 §5.4), the caller signs them with its `keys::Signer`, and
//! [`UnsignedPkiMessage::finish`] assembles the message around the signature.
//!
//! Pieces that arrive already encoded (certificates with 33-octet serials, names, algorithm
//! identifiers) are concatenated as they are, never re-encoded; only the leaf values are
//! encoded here.

use der::Decode as _;

use crate::algorithms::{DigestAlgorithm, encode_oid, read_algorithm};
use crate::ber;
use crate::certificate::parse_certificate_lenient;
use crate::error::CodecError;
use crate::message_type::MessageType;
use crate::oids;
use crate::pki_message::validate_nonce;
use crate::signed_data::{encode_content_info, encode_signed_data};
use crate::status::PkiStatus;

/// Inputs of a CertRep (RFC 8894 §3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRepParams {
    /// The request's transactionID, echoed.
    pub transaction_id: String,
    /// The request's senderNonce, echoed as recipientNonce.
    pub recipient_nonce: Vec<u8>,
    /// A fresh random nonce from the caller (the codec has no randomness).
    pub sender_nonce: Vec<u8>,
    /// SUCCESS, FAILURE(failInfo) or PENDING.
    pub status: PkiStatus,
    /// failInfoText (RFC 8894 §3.2.1.4.1), only with FAILURE.
    pub fail_info_text: Option<String>,
    /// Digest for messageDigest and digestAlgorithms.
    pub digest: DigestAlgorithm,
    /// DER `AlgorithmIdentifier` of the signature the caller will make.
    pub signature_algorithm_der: Vec<u8>,
    /// The RA signing certificate (DER): its issuer and serial become the `sid`.
    pub signer_certificate: Vec<u8>,
    /// Further certificates to carry (e.g. the CA).
    pub extra_certificates: Vec<Vec<u8>>,
    /// SUCCESS only: the pkcsPKIEnvelope (EnvelopedData ContentInfo DER) to sign over.
    pub enveloped_content: Option<Vec<u8>>,
}

/// Inputs of a request (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL; RFC 8894 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestParams {
    /// The messageType as a raw PrintableString (tests send hostile values); `None` leaves the
    /// attribute out so a test can supply its own encoding in `extra_signed_attributes`.
    pub message_type: Option<String>,
    /// transactionID.
    pub transaction_id: String,
    /// senderNonce.
    pub sender_nonce: Vec<u8>,
    /// Digest for messageDigest and digestAlgorithms.
    pub digest: DigestAlgorithm,
    /// DER `AlgorithmIdentifier` of the signature the caller will make.
    pub signature_algorithm_der: Vec<u8>,
    /// The signer certificate (self-signed or the current one for renewal).
    pub signer_certificate: Vec<u8>,
    /// Further certificates to carry.
    pub extra_certificates: Vec<Vec<u8>>,
    /// The pkcsPKIEnvelope DER (empty: no eContent, for hostile tests).
    pub enveloped_content: Vec<u8>,
    /// Additional DER `Attribute`s to sign (tests only).
    pub extra_signed_attributes: Vec<Vec<u8>>,
}

/// A pkiMessage waiting for its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedPkiMessage {
    signed_attributes: Vec<u8>,
    digest_algorithm: Vec<u8>,
    signature_algorithm: Vec<u8>,
    sid: Vec<u8>,
    certificates: Vec<Vec<u8>>,
    content: Option<Vec<u8>>,
}

/// A CertRep waiting for its signature.
pub type UnsignedCertRep = UnsignedPkiMessage;
/// A request waiting for its signature.
pub type UnsignedRequest = UnsignedPkiMessage;

impl UnsignedPkiMessage {
    /// The exact bytes to sign: DER `SET OF Attribute` (RFC 5652 §5.4).
    #[must_use]
    pub fn signed_attributes_der(&self) -> &[u8] {
        &self.signed_attributes
    }

    /// Assembles the `ContentInfo(signedData)` around `signature`.
    #[must_use]
    pub fn finish(self, signature: impl AsRef<[u8]>) -> Vec<u8> {
        let signer_info = self.signer_info(signature.as_ref());
        let signed_data = encode_signed_data(
            1,
            std::slice::from_ref(&self.digest_algorithm),
            self.content.as_deref(),
            &self.certificates,
            &[],
            &[signer_info],
        );
        encode_content_info(oids::ID_SIGNED_DATA, &signed_data)
    }

    /// The DER SignerInfo around `signature`.
    pub(crate) fn signer_info(&self, signature: &[u8]) -> Vec<u8> {
        // signedAttrs is sent under [0] IMPLICIT: same contents, context tag.
        let implicit_attrs = ber::encode_tlv(
            ber::TAG_CTX0_CONSTRUCTED,
            ber::read_single(&self.signed_attributes)
                .map(|t| t.value)
                .unwrap_or_default(),
        );
        ber::encode_constructed(
            ber::TAG_SEQUENCE,
            &[
                &ber::encode_tlv(ber::TAG_INTEGER, &[1]),
                &self.sid,
                &self.digest_algorithm,
                &implicit_attrs,
                &self.signature_algorithm,
                &ber::encode_tlv(ber::TAG_OCTET_STRING, signature),
            ],
        )
    }
}

/// Phase one of a CertRep. FAILURE and PENDING are signed over empty content but still carry
/// contentType and messageDigest (Go clients reject them otherwise).
pub fn prepare_cert_rep(params: CertRepParams) -> Result<UnsignedCertRep, CodecError> {
    validate_nonce(Some(&params.recipient_nonce))
        .map_err(|_| CodecError::InvalidParameter("recipientNonce"))?;
    validate_nonce(Some(&params.sender_nonce))
        .map_err(|_| CodecError::InvalidParameter("senderNonce"))?;
    let pki_status = params.status;
    let fail_info = pki_status.fail_info();
    match (pki_status, &params.enveloped_content) {
        (PkiStatus::Success, None) => {
            return Err(CodecError::InvalidParameter("SUCCESS needs content"));
        }
        (PkiStatus::Failure(_) | PkiStatus::Pending, Some(_)) => {
            return Err(CodecError::InvalidParameter(
                "FAILURE and PENDING are signed over empty content",
            ));
        }
        _ => {}
    }
    if params.fail_info_text.is_some() && fail_info.is_none() {
        return Err(CodecError::InvalidParameter(
            "failInfoText only with FAILURE",
        ));
    }

    let mut attributes = vec![
        attribute(
            &oids::ID_MESSAGE_TYPE,
            &printable(MessageType::CertRep.as_str())?,
        ),
        attribute(&oids::ID_PKI_STATUS, &printable(pki_status.as_str())?),
        attribute(
            &oids::ID_RECIPIENT_NONCE,
            &ber::encode_tlv(ber::TAG_OCTET_STRING, &params.recipient_nonce),
        ),
    ];
    if let Some(info) = fail_info {
        attributes.push(attribute(&oids::ID_FAIL_INFO, &printable(info.as_str())?));
    }
    if let Some(text) = &params.fail_info_text {
        attributes.push(attribute(
            &oids::ID_SCEP_FAIL_INFO_TEXT,
            &ber::encode_tlv(0x0C, text.as_bytes()),
        ));
    }
    prepare(
        Common {
            transaction_id: &params.transaction_id,
            sender_nonce: &params.sender_nonce,
            digest: params.digest,
            signature_algorithm: &params.signature_algorithm_der,
            signer_certificate: &params.signer_certificate,
            extra_certificates: &params.extra_certificates,
            // FAILURE and PENDING carry an empty but present eContent: OpenSSL-based clients
            // (certmonger) reject a detached signature with "no content", and Go clients
            // accept both.
            content: Some(params.enveloped_content.clone().unwrap_or_default()),
        },
        attributes,
    )
}

/// Phase one of a request. The message type and senderNonce are written as given (the type
/// must be a valid PrintableString), so tests can send hostile values.
pub fn prepare_request(params: RequestParams) -> Result<UnsignedRequest, CodecError> {
    let mut attributes = Vec::new();
    if let Some(message_type) = &params.message_type {
        attributes.push(attribute(&oids::ID_MESSAGE_TYPE, &printable(message_type)?));
    }
    for extra in &params.extra_signed_attributes {
        x509_cert::attr::Attribute::from_der(extra)?;
        attributes.push(extra.clone());
    }
    prepare(
        Common {
            transaction_id: &params.transaction_id,
            sender_nonce: &params.sender_nonce,
            digest: params.digest,
            signature_algorithm: &params.signature_algorithm_der,
            signer_certificate: &params.signer_certificate,
            extra_certificates: &params.extra_certificates,
            content: Some(params.enveloped_content.clone()).filter(|c| !c.is_empty()),
        },
        attributes,
    )
}

/// Inputs of a GetNextCACert reply (RFC 8894 §3.5.2, §4.7.1): a SignedData carrying the next
/// CA certificate and, if applicable, the next RA certificates, signed by the current RA (or
/// CA) key so that a client can check it with what it already trusts.
///
/// ```text
/// SignedData {                                        -- RFC 5652 §5.1
///     encapContentInfo { id-data,
///         eContent = DER ContentInfo(degenerate certs-only SignedData { certificates }) },
///     certificates = { signer_certificate },
///     signerInfos  = { sid = issuerAndSerial(signer_certificate),
///                      signedAttrs = { contentType id-data, messageDigest(eContent) } } }
/// ```
///
/// The next certificates travel *inside* the signed content (as jscep reads them and xipki
/// sends them): in the outer `certificates` field they would not be covered by the signature,
/// and anyone on the path could swap the next CA certificate under a valid signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCertsParams {
    /// The next certificates (DER), at most [`crate::MAX_CERTIFICATES`].
    pub certificates: Vec<Vec<u8>>,
    /// Digest for messageDigest and digestAlgorithms.
    pub digest: DigestAlgorithm,
    /// DER `AlgorithmIdentifier` of the signature the caller will make.
    pub signature_algorithm_der: Vec<u8>,
    /// The current signing certificate (DER): its issuer and serial become the `sid`; it is
    /// carried in the outer `certificates`, outside the signed content.
    pub signer_certificate: Vec<u8>,
}

/// Phase one of a GetNextCACert reply: sign
/// [`UnsignedPkiMessage::signed_attributes_der`], then [`UnsignedPkiMessage::finish`].
/// Only contentType and messageDigest are signed: this is not a pkiMessage, it has no
/// transactionID or nonces.
pub fn prepare_signed_certs(params: SignedCertsParams) -> Result<UnsignedPkiMessage, CodecError> {
    if params.certificates.len() > crate::MAX_CERTIFICATES {
        return Err(CodecError::InvalidParameter("too many certificates"));
    }
    // Checks each certificate and refuses an empty list.
    let content = crate::build_certs_only(&params.certificates)?;
    read_algorithm(ber::read_single(&params.signature_algorithm_der)?)?;
    let signer = parse_certificate_lenient(&params.signer_certificate)?;
    let sid = signer.issuer_and_serial().to_der()?;
    let attributes = vec![
        attribute(&oids::ID_CONTENT_TYPE, &encode_oid(&oids::ID_DATA)),
        attribute(
            &oids::ID_MESSAGE_DIGEST,
            &ber::encode_tlv(ber::TAG_OCTET_STRING, &params.digest.digest(&content)),
        ),
    ];
    Ok(UnsignedPkiMessage {
        signed_attributes: ber::encode_set_of(ber::TAG_SET, attributes),
        digest_algorithm: params.digest.algorithm_identifier_der(),
        signature_algorithm: params.signature_algorithm_der,
        sid,
        certificates: vec![params.signer_certificate],
        content: Some(content),
    })
}

struct Common<'p> {
    transaction_id: &'p str,
    sender_nonce: &'p [u8],
    digest: DigestAlgorithm,
    signature_algorithm: &'p [u8],
    signer_certificate: &'p [u8],
    extra_certificates: &'p [Vec<u8>],
    content: Option<Vec<u8>>,
}

fn prepare(
    common: Common<'_>,
    mut attributes: Vec<Vec<u8>>,
) -> Result<UnsignedPkiMessage, CodecError> {
    if common.transaction_id.is_empty() {
        return Err(CodecError::InvalidParameter("empty transactionID"));
    }
    read_algorithm(ber::read_single(common.signature_algorithm)?)?;
    let signer = parse_certificate_lenient(common.signer_certificate)?;
    let sid = signer.issuer_and_serial().to_der()?;

    let digest = common
        .digest
        .digest(common.content.as_deref().unwrap_or_default());
    attributes.extend([
        attribute(&oids::ID_CONTENT_TYPE, &encode_oid(&oids::ID_DATA)),
        attribute(
            &oids::ID_MESSAGE_DIGEST,
            &ber::encode_tlv(ber::TAG_OCTET_STRING, &digest),
        ),
        attribute(&oids::ID_TRANSACTION_ID, &printable(common.transaction_id)?),
        attribute(
            &oids::ID_SENDER_NONCE,
            &ber::encode_tlv(ber::TAG_OCTET_STRING, common.sender_nonce),
        ),
    ]);

    let mut certificates = vec![common.signer_certificate.to_vec()];
    certificates.extend(common.extra_certificates.iter().cloned());

    Ok(UnsignedPkiMessage {
        signed_attributes: ber::encode_set_of(ber::TAG_SET, attributes),
        digest_algorithm: common.digest.algorithm_identifier_der(),
        signature_algorithm: common.signature_algorithm.to_vec(),
        sid,
        certificates,
        content: common.content,
    })
}

/// DER `Attribute ::= SEQUENCE { attrType, attrValues SET OF }` with one value.
fn attribute(oid: &const_oid::ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[&encode_oid(oid), &ber::encode_tlv(ber::TAG_SET, value)],
    )
}

/// DER PrintableString, refusing characters outside its set (X.680 §41.4).
fn printable(s: &str) -> Result<Vec<u8>, CodecError> {
    der::asn1::PrintableStringRef::new(s)
        .map_err(|_| CodecError::InvalidParameter("not a PrintableString"))?;
    Ok(ber::encode_tlv(0x13, s.as_bytes()))
}
