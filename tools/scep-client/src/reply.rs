//! Reading a CertRep (RFC 8894 §3.3.2) as a client: check who signed it and that it answers
//! our request, then open the SUCCESS envelope.

use keys::SignatureAlgorithm;
use scep::PkiStatus;

use crate::error::ClientError;
use crate::key::ClientKey;
use crate::message::key_cipher;

/// What a CertRep said, after its signature and nonce were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRepOutcome {
    /// SUCCESS, FAILURE(failInfo) or PENDING.
    pub status: PkiStatus,
    /// failInfoText, if the server sent one.
    pub fail_info_text: Option<String>,
    /// The transactionID echoed by the server.
    pub transaction_id: Option<String>,
    /// The recipientNonce (equal to our senderNonce: checked).
    pub recipient_nonce: Option<Vec<u8>>,
    /// The server's senderNonce.
    pub sender_nonce: Option<Vec<u8>>,
    /// The certificate that signed the reply (the RA signing certificate).
    pub signer_certificate: Vec<u8>,
    /// SUCCESS: the issued certificate (the one for our key, else the first one).
    pub certificate: Option<Vec<u8>>,
    /// SUCCESS: every certificate of the certs-only payload.
    pub certificates: Vec<Vec<u8>>,
}

impl CertRepOutcome {
    /// The failInfo, for FAILURE.
    #[must_use]
    pub fn fail_info(&self) -> Option<scep::FailInfo> {
        self.status.fail_info()
    }
}

/// Reads a CertRep sent in answer to a request with `sent_nonce`, addressed to `client_key`
/// whose certificate (the one the request was signed with) is `client_certificate`.
///
/// Checks: the one SignerInfo verifies with the certificate it names (carried in the reply),
/// contentType is id-data, messageDigest matches the content, recipientNonce equals
/// `sent_nonce`. Does *not* decide whether that signer is trustworthy: compare
/// [`CertRepOutcome::signer_certificate`] with the RA signing certificate of GetCACert.
pub fn read_cert_rep(
    body: &[u8],
    client_key: &ClientKey,
    client_certificate: &[u8],
    sent_nonce: &[u8],
) -> Result<CertRepOutcome, ClientError> {
    let message = scep::parse_cert_rep(body)?;
    let status = message
        .pki_status
        .ok_or(ClientError::Invalid("CertRep without pkiStatus"))?;
    let signer_certificate = message
        .signer_certificate()
        .ok_or(ClientError::BadReplySignature)?
        .to_vec();
    let signer = scep::parse_certificate_lenient(&signer_certificate)?;
    let info = &message.signer_info;
    let alg =
        SignatureAlgorithm::from_cms(&info.digest_algorithm_der, &info.signature_algorithm_der)?;
    keys::verify::verify_signature(
        &signer.spki_der,
        alg,
        &info.signed_attributes_der,
        &info.signature,
    )
    .map_err(|_| ClientError::BadReplySignature)?;
    if !info.content_type_is_data || !message.message_digest_matches() {
        return Err(ClientError::BadReplySignature);
    }
    if message.recipient_nonce.as_deref() != Some(sent_nonce) {
        return Err(ClientError::NonceMismatch);
    }
    let (certificate, certificates) = if status == PkiStatus::Success {
        let content = message
            .content
            .as_deref()
            .ok_or(ClientError::Invalid("SUCCESS without content"))?;
        let certificates = open_envelope(content, client_key, client_certificate)?;
        let mine = certificates
            .iter()
            .find(|der| {
                scep::parse_certificate_lenient(der)
                    .is_ok_and(|c| c.spki_der == client_key.spki_der())
            })
            .or_else(|| certificates.first())
            .cloned();
        (mine, certificates)
    } else {
        (None, Vec::new())
    };
    Ok(CertRepOutcome {
        status,
        fail_info_text: message.fail_info_text.clone(),
        transaction_id: message.transaction_id.clone(),
        recipient_nonce: message.recipient_nonce.clone(),
        sender_nonce: message.sender_nonce.clone(),
        signer_certificate,
        certificate,
        certificates,
    })
}

/// Decrypts a reply's pkcsPKIEnvelope: the degenerate SignedData inside (certificates, or a
/// CRL for GetCRL).
pub fn decrypt_envelope(
    envelope_der: &[u8],
    client_key: &ClientKey,
    client_certificate: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let envelope = scep::parse_envelope(envelope_der)?;
    let me = scep::parse_certificate_lenient(client_certificate)?;
    let rid = me.issuer_and_serial();
    let recipient = envelope
        .recipients_for(&rid)
        .next()
        .ok_or(ClientError::Invalid(
            "reply not addressed to our certificate",
        ))?;
    let content_key = client_key.decrypt_rsa_pkcs1v15(&recipient.encrypted_key)?;
    let plaintext = keys::decrypt_cbc(
        key_cipher(envelope.content_cipher)?,
        &content_key,
        &envelope.iv,
        &envelope.encrypted_content,
    )?;
    Ok(plaintext.to_vec())
}

/// Decrypts a reply's pkcsPKIEnvelope and reads its certs-only payload.
pub fn open_envelope(
    envelope_der: &[u8],
    client_key: &ClientKey,
    client_certificate: &[u8],
) -> Result<Vec<Vec<u8>>, ClientError> {
    let plaintext = decrypt_envelope(envelope_der, client_key, client_certificate)?;
    Ok(scep::parse_certs_only(&plaintext)?)
}
