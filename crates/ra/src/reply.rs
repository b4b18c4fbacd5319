//! Builds and signs CertReps with the RA signing key.

use keys::SignatureAlgorithm;
use scep::{
    CertRepParams, ContentCipher, DigestAlgorithm, EnvelopeParams, KeyEncryption, PkiStatus,
    SignedCertsParams,
};

use crate::error::EnrollError;
use crate::verify::key_cipher;

/// What a request was granted, before it is put on the wire.
pub(crate) enum Granted {
    Certificate {
        certificate: Vec<u8>,
        cipher: ContentCipher,
    },
    /// GetCRL: the CA's current CRL.
    Crl { crl: Vec<u8>, cipher: ContentCipher },
    /// The request waits for an operator (template with manual approval): PENDING.
    Pending,
}

/// What the reply must echo and how strong it must be.
pub struct ReplyContext<'a> {
    pub transaction_id: &'a str,
    pub recipient_nonce: &'a [u8],
    /// The request's digest: replies use SHA-256 unless the request itself used a legacy
    /// digest that the operator enabled (it would have been refused otherwise).
    pub request_algorithm: Option<SignatureAlgorithm>,
}

/// The RA's signing material.
pub struct ReplySigner<'a> {
    pub signer: &'a dyn keys::Signer,
    pub certificate: &'a [u8],
}

fn reply_algorithm(
    signer: &dyn keys::Signer,
    request: Option<SignatureAlgorithm>,
) -> SignatureAlgorithm {
    // Answer in the client's digest when our key can (SHA-512 clients get SHA-512); a SHA-1
    // client gets SHA-256, which micromdm's client and certmonger both accept.
    match request {
        Some(alg) if !alg.is_legacy() && signer.supports(alg) => alg,
        _ => signer.default_algorithm(),
    }
}

fn digest_of(algorithm: SignatureAlgorithm) -> DigestAlgorithm {
    match algorithm {
        SignatureAlgorithm::RsaPkcs1Sha1 => DigestAlgorithm::Sha1,
        SignatureAlgorithm::RsaPkcs1Sha512 => DigestAlgorithm::Sha512,
        SignatureAlgorithm::RsaPkcs1Sha384 | SignatureAlgorithm::EcdsaP384Sha384 => {
            DigestAlgorithm::Sha384
        }
        _ => DigestAlgorithm::Sha256,
    }
}

/// Signs a CertRep with the given status and optional enveloped content.
pub fn cert_rep(
    signer: &ReplySigner<'_>,
    context: &ReplyContext<'_>,
    status: PkiStatus,
    fail_info_text: Option<&str>,
    enveloped: Option<Vec<u8>>,
) -> Result<Vec<u8>, EnrollError> {
    let algorithm = reply_algorithm(signer.signer, context.request_algorithm);
    let sender_nonce = keys::random::bytes(16).map_err(|e| EnrollError::Internal(e.to_string()))?;
    let unsigned = scep::prepare_cert_rep(CertRepParams {
        transaction_id: context.transaction_id.to_owned(),
        recipient_nonce: context.recipient_nonce.to_vec(),
        sender_nonce,
        status,
        fail_info_text: fail_info_text.map(str::to_owned),
        digest: digest_of(algorithm),
        signature_algorithm_der: algorithm.cms_signature_algorithm_der().to_vec(),
        signer_certificate: signer.certificate.to_vec(),
        extra_certificates: Vec::new(),
        enveloped_content: enveloped,
    })
    .map_err(|e| EnrollError::Internal(format!("building CertRep: {e}")))?;
    let signature = signer
        .signer
        .sign(algorithm, unsigned.signed_attributes_der())
        .map_err(|e| EnrollError::Internal(format!("signing CertRep: {e}")))?;
    Ok(unsigned.finish(signature))
}

/// Signs the GetNextCACert reply (RFC 8894 §3.5.2, §4.7.1): the next CA and RA certificates,
/// under the current RA signing key so that a client checks them with the RA certificate it
/// already has. The key's default algorithm (SHA-256 for RSA): GetNextCACert has no request
/// whose digest could be echoed.
pub fn next_ca_certificates(
    signer: &ReplySigner<'_>,
    next_certificates: &[Vec<u8>],
) -> Result<Vec<u8>, EnrollError> {
    let algorithm = reply_algorithm(signer.signer, None);
    let unsigned = scep::prepare_signed_certs(SignedCertsParams {
        certificates: next_certificates.to_vec(),
        digest: digest_of(algorithm),
        signature_algorithm_der: algorithm.cms_signature_algorithm_der().to_vec(),
        signer_certificate: signer.certificate.to_vec(),
    })
    .map_err(|e| EnrollError::Internal(format!("building the GetNextCACert reply: {e}")))?;
    let signature = signer
        .signer
        .sign(algorithm, unsigned.signed_attributes_der())
        .map_err(|e| EnrollError::Internal(format!("signing the GetNextCACert reply: {e}")))?;
    Ok(unsigned.finish(signature))
}

/// The cipher a SUCCESS reply is encrypted with: the request's, if it was a legacy one the
/// operator enabled (the client may support nothing else), else AES-256.
pub fn reply_cipher(request: Option<ContentCipher>) -> ContentCipher {
    match request {
        Some(c @ (ContentCipher::DesCbc | ContentCipher::DesEde3Cbc)) => c,
        _ => ContentCipher::Aes256Cbc,
    }
}

/// Encrypts a certs-only bundle to the requester's signer certificate (RFC 8894 §3.3.2: the
/// reply is addressed to the certificate that signed the request, whatever its serial length).
pub fn envelope_to(
    requester: &scep::LenientCertificate,
    cipher: ContentCipher,
    degenerate: &[u8],
) -> Result<Vec<u8>, EnrollError> {
    let internal =
        |what: &str, e: &dyn std::fmt::Display| EnrollError::Internal(format!("{what}: {e}"));
    let k = key_cipher(cipher).ok_or_else(|| EnrollError::Internal("reply cipher".into()))?;
    let content_key = zeroize::Zeroizing::new(
        keys::random::bytes(k.key_len()).map_err(|e| internal("random", &e))?,
    );
    let iv = keys::random::bytes(k.iv_len()).map_err(|e| internal("random", &e))?;
    let ciphertext = keys::cipher::encrypt_cbc(k, &content_key, &iv, degenerate)
        .map_err(|e| internal("encrypt", &e))?;
    let encrypted_key = keys::cipher::encrypt_rsa_pkcs1v15(&requester.spki_der, &content_key)
        .map_err(|e| internal("key transport", &e))?;
    scep::build_envelope(EnvelopeParams {
        recipient: scep::RecipientId::IssuerAndSerial {
            issuer_der: requester.issuer_der.clone(),
            serial: requester.serial.clone(),
        },
        key_encryption: KeyEncryption::RsaPkcs1v15,
        encrypted_key,
        cipher,
        iv,
        ciphertext,
    })
    .map_err(|e| internal("envelope", &e))
}
