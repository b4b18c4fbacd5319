//! PKIOperation requests (RFC 8894 §3.3): a signed pkiMessage around an enveloped
//! messageData, with switches to break each layer on purpose.

use keys::SignatureAlgorithm;
use scep::{ContentCipher, DigestAlgorithm, EnvelopeParams, KeyEncryption, RequestParams};

use crate::error::ClientError;
use crate::key::{ClientKey, hex};

/// Ways to break a request after it is built correctly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tamper {
    /// Flip a byte of the SignerInfo signature.
    pub signature: bool,
    /// Flip a byte of the encrypted content after signing (messageDigest no longer matches).
    pub content: bool,
    /// Flip a byte of the RSA-encrypted content key.
    pub encrypted_key: bool,
}

/// Builds a PKIOperation (PKCSReq by default).
#[derive(Clone, Debug)]
pub struct PkcsReqBuilder<'a> {
    signer_key: &'a ClientKey,
    signer_certificate: &'a [u8],
    recipient_certificate: &'a [u8],
    message_data: Vec<u8>,
    message_type: Option<String>,
    transaction_id: String,
    sender_nonce: Vec<u8>,
    digest: DigestAlgorithm,
    cipher: ContentCipher,
    extra_certificates: Vec<Vec<u8>>,
    extra_signed_attributes: Vec<Vec<u8>>,
    tamper: Tamper,
}

impl<'a> PkcsReqBuilder<'a> {
    /// A PKCSReq ("19") carrying `message_data` (a CSR), encrypted to `recipient_certificate`
    /// (the RA encryption certificate) with AES-256-CBC, signed with SHA-256 by `signer_key`
    /// whose certificate is `signer_certificate`. The transactionID is the hex SHA-256 of the
    /// signer's public key (RFC 8894 §3.2.1.1 suggests a key hash) and the senderNonce is 16
    /// random octets.
    pub fn new(
        signer_key: &'a ClientKey,
        signer_certificate: &'a [u8],
        recipient_certificate: &'a [u8],
        message_data: Vec<u8>,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            signer_key,
            signer_certificate,
            recipient_certificate,
            message_data,
            message_type: Some("19".to_owned()),
            transaction_id: hex(&DigestAlgorithm::Sha256.digest(signer_key.spki_der())),
            sender_nonce: keys::random::bytes(16)?,
            digest: DigestAlgorithm::Sha256,
            cipher: ContentCipher::Aes256Cbc,
            extra_certificates: Vec::new(),
            extra_signed_attributes: Vec::new(),
            tamper: Tamper::default(),
        })
    }

    /// The messageType attribute as a raw PrintableString ("17", "18", "019"...); `None`
    /// leaves it out.
    #[must_use]
    pub fn message_type(mut self, value: Option<&str>) -> Self {
        self.message_type = value.map(str::to_owned);
        self
    }

    /// The transactionID.
    #[must_use]
    pub fn transaction_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.transaction_id);
        self
    }

    /// The senderNonce (any octets, also of hostile lengths).
    #[must_use]
    pub fn sender_nonce(mut self, nonce: Vec<u8>) -> Self {
        self.sender_nonce = nonce;
        self
    }

    /// Digest of messageDigest and of the signature.
    #[must_use]
    pub fn digest(mut self, digest: DigestAlgorithm) -> Self {
        self.digest = digest;
        self
    }

    /// The content cipher of the envelope.
    #[must_use]
    pub fn cipher(mut self, cipher: ContentCipher) -> Self {
        self.cipher = cipher;
        self
    }

    /// Certificates to carry besides the signer's.
    #[must_use]
    pub fn extra_certificate(mut self, der: Vec<u8>) -> Self {
        self.extra_certificates.push(der);
        self
    }

    /// A further DER `Attribute` to sign.
    #[must_use]
    pub fn extra_signed_attribute(mut self, der: Vec<u8>) -> Self {
        self.extra_signed_attributes.push(der);
        self
    }

    /// Breaks the request as described by `tamper`.
    #[must_use]
    pub fn tamper(mut self, tamper: Tamper) -> Self {
        self.tamper = tamper;
        self
    }

    /// The transactionID that will be sent.
    #[must_use]
    pub fn get_transaction_id(&self) -> &str {
        &self.transaction_id
    }

    /// The senderNonce that will be sent (the reply must echo it).
    #[must_use]
    pub fn get_sender_nonce(&self) -> &[u8] {
        &self.sender_nonce
    }

    /// The enveloped messageData: `ContentInfo(envelopedData)` DER.
    pub fn envelope(&self) -> Result<Vec<u8>, ClientError> {
        let recipient = scep::parse_certificate_lenient(self.recipient_certificate)?;
        let cipher = key_cipher(self.cipher)?;
        let content_key = keys::random::bytes(cipher.key_len())?;
        let iv = keys::random::bytes(cipher.iv_len())?;
        let ciphertext = keys::encrypt_cbc(cipher, &content_key, &iv, &self.message_data)?;
        let mut encrypted_key = keys::encrypt_rsa_pkcs1v15(&recipient.spki_der, &content_key)?;
        if self.tamper.encrypted_key {
            flip(&mut encrypted_key);
        }
        Ok(scep::build_envelope(EnvelopeParams {
            recipient: recipient.issuer_and_serial(),
            key_encryption: KeyEncryption::RsaPkcs1v15,
            encrypted_key,
            cipher: self.cipher,
            iv,
            ciphertext,
        })?)
    }

    /// The DER pkiMessage.
    pub fn build(&self) -> Result<Vec<u8>, ClientError> {
        let envelope = self.envelope()?;
        self.build_around(envelope)
    }

    /// The DER pkiMessage around an envelope given as bytes (also a hostile one; empty: no
    /// eContent at all).
    pub fn build_around(&self, envelope: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let alg: SignatureAlgorithm = self.signer_key.signature_algorithm(self.digest)?;
        let unsigned = scep::prepare_request(RequestParams {
            message_type: self.message_type.clone(),
            transaction_id: self.transaction_id.clone(),
            sender_nonce: self.sender_nonce.clone(),
            digest: self.digest,
            signature_algorithm_der: alg.algorithm_identifier_der().to_vec(),
            signer_certificate: self.signer_certificate.to_vec(),
            extra_certificates: self.extra_certificates.clone(),
            enveloped_content: envelope.clone(),
            extra_signed_attributes: self.extra_signed_attributes.clone(),
        })?;
        let mut signature = self
            .signer_key
            .sign(alg, unsigned.signed_attributes_der())?;
        if self.tamper.signature {
            flip(&mut signature);
        }
        let mut message = unsigned.finish(signature);
        if self.tamper.content && !envelope.is_empty() {
            // The envelope is carried verbatim as the eContent octets: flip its last octet
            // (the last ciphertext byte), after the messageDigest was signed.
            let at = message
                .windows(envelope.len())
                .position(|w| w == envelope.as_slice())
                .ok_or(ClientError::Invalid("envelope not found in the message"))?;
            if let Some(b) = message.get_mut(at + envelope.len() - 1) {
                *b ^= 0x01;
            }
        }
        Ok(message)
    }
}

fn flip(bytes: &mut [u8]) {
    let middle = bytes.len() / 2;
    if let Some(b) = bytes.get_mut(middle) {
        *b ^= 0x01;
    }
}

/// The `keys` cipher of a `scep` cipher (two enums for the same five algorithms).
pub(crate) fn key_cipher(cipher: ContentCipher) -> Result<keys::ContentCipher, ClientError> {
    keys::ContentCipher::from_oid(cipher.oid()).ok_or(ClientError::Unsupported("content cipher"))
}
