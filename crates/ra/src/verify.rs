//! Checks on the outer PKIMessage and its envelope. Each check that passes returns a proof
//! value that only this module can construct, so later stages cannot be reached without them.

use keys::SignatureAlgorithm;
use scep::{ContentCipher, Envelope, KeyEncryption, PkiMessage, RecipientId, RecipientInfoKind};
use zeroize::Zeroizing;

use crate::config::CryptoPolicy;
use crate::error::EnrollError;

/// The outer SignedData verified: one SignerInfo, contentType present, messageDigest equal to
/// the digest of the content, signature valid under the embedded signer certificate.
#[derive(Debug)]
pub struct VerifiedSignature {
    pub signer_certificate: Vec<u8>,
    pub signer: scep::LenientCertificate,
    pub algorithm: SignatureAlgorithm,
    _proof: (),
}

/// Verifies the outer signature. Runs before anything looks inside the envelope.
pub fn outer_signature(
    message: &PkiMessage,
    crypto: CryptoPolicy,
) -> Result<VerifiedSignature, EnrollError> {
    let signer_info = &message.signer_info;
    let algorithm = SignatureAlgorithm::from_cms(
        &signer_info.digest_algorithm_der,
        &signer_info.signature_algorithm_der,
    )
    .map_err(|e| EnrollError::AlgorithmNotAllowed(e.to_string()))?;
    if algorithm.is_legacy() && !crypto.allows_legacy() {
        return Err(EnrollError::AlgorithmNotAllowed(format!(
            "{algorithm:?} needs legacy_crypto"
        )));
    }
    let signer_certificate = message
        .signer_certificate()
        .ok_or(EnrollError::SignerCertificateMissing)?
        .to_vec();
    let signer = scep::parse_certificate_lenient(&signer_certificate)
        .map_err(|_| EnrollError::SignerCertificateMissing)?;
    if !signer_info.content_type_is_data {
        return Err(EnrollError::BadSignature(
            "contentType attribute missing".into(),
        ));
    }
    let content = message.content.as_deref().unwrap_or_default();
    let digest = algorithm.digest().digest(content);
    // Not secret: both values are visible in the message, a plain compare is fine.
    if signer_info.message_digest.as_deref() != Some(digest.as_slice()) {
        return Err(EnrollError::BadSignature(
            "messageDigest does not match content".into(),
        ));
    }
    keys::verify::verify_signature(
        &signer.spki_der,
        algorithm,
        &signer_info.signed_attributes_der,
        &signer_info.signature,
    )
    .map_err(signature_error)?;
    // Every reply is encrypted to the signer's key by RSA key transport (RFC 8894 §3.2.2), so
    // a requester without an RSA key could never receive what we issue: refuse it before any
    // challenge is spent or certificate signed.
    if !matches!(
        keys::verify::describe_public_key(&signer.spki_der),
        Ok(keys::verify::PublicKeyKind::Rsa { .. })
    ) {
        return Err(EnrollError::AlgorithmNotAllowed(
            "requester key cannot receive an RSA-encrypted reply".into(),
        ));
    }
    Ok(VerifiedSignature {
        signer_certificate,
        signer,
        algorithm,
        _proof: (),
    })
}

/// A key we refuse on principle (RSA-1024, P-192, explicit curves) is an algorithm refusal,
/// not a broken message: the client learns to use a stronger key.
fn signature_error(error: keys::VerifyError) -> EnrollError {
    use keys::VerifyError as V;
    match error {
        V::RsaKeySize(_)
        | V::UnsupportedCurve(_)
        | V::ExplicitCurveParameters
        | V::UnsupportedKeyAlgorithm(_) => EnrollError::AlgorithmNotAllowed(error.to_string()),
        other => EnrollError::BadSignature(other.to_string()),
    }
}

/// Whether the operator allows this content cipher.
fn cipher_allowed(cipher: ContentCipher, crypto: CryptoPolicy) -> bool {
    match cipher {
        ContentCipher::Aes128Cbc | ContentCipher::Aes192Cbc | ContentCipher::Aes256Cbc => true,
        ContentCipher::DesEde3Cbc => crypto.allows_legacy(),
        ContentCipher::DesCbc => crypto.allows_single_des(),
        _ => false,
    }
}

pub(crate) fn key_cipher(cipher: ContentCipher) -> Option<keys::cipher::ContentCipher> {
    use keys::cipher::ContentCipher as K;
    Some(match cipher {
        ContentCipher::Aes128Cbc => K::Aes128Cbc,
        ContentCipher::Aes192Cbc => K::Aes192Cbc,
        ContentCipher::Aes256Cbc => K::Aes256Cbc,
        ContentCipher::DesEde3Cbc => K::DesEde3Cbc,
        ContentCipher::DesCbc => K::DesCbc,
        _ => return None,
    })
}

/// The decrypted messageData of the envelope.
pub struct Decrypted {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub cipher: ContentCipher,
}

/// One of our RA encryption keys and the certificate clients encrypt to.
#[derive(Clone, Copy)]
pub struct RecipientKey<'a> {
    pub certificate: &'a scep::LenientCertificate,
    pub decrypter: &'a dyn keys::Decrypter,
}

impl RecipientKey<'_> {
    fn addressed_by(&self, rid: &RecipientId) -> bool {
        match rid {
            RecipientId::IssuerAndSerial { issuer_der, serial } => {
                *issuer_der == self.certificate.issuer_der && *serial == self.certificate.serial
            }
            RecipientId::SubjectKeyId(ski) => {
                self.certificate.subject_key_identifier.as_ref() == Some(ski)
            }
        }
    }
}

/// Opens the envelope addressed to one of our CEP encryption certificates: `keys` in order of
/// preference (the current certificate first, then those replaced by an RA renewal that
/// clients may still have cached), the first one a RecipientInfo names is used.
///
/// Which key is used depends only on the (public) recipient identifiers. Every failure after
/// that choice (RSA padding, wrong key length, CBC padding) takes the same path whatever the
/// key: a random content key replaces a bad one and CBC decryption always runs, and the caller
/// maps the result to the same answer as a CSR parse error.
pub fn open_envelope(
    envelope: &Envelope,
    keys: &[RecipientKey<'_>],
    crypto: CryptoPolicy,
) -> Result<Decrypted, EnrollError> {
    let (key, recipient) = keys
        .iter()
        .find_map(|key| {
            envelope.recipients.iter().find_map(|r| match &r.kind {
                RecipientInfoKind::KeyTransport(ktri) if key.addressed_by(&ktri.rid) => {
                    Some((key, ktri))
                }
                _ => None,
            })
        })
        .ok_or(EnrollError::NotAddressedToUs)?;
    if !matches!(recipient.key_encryption, KeyEncryption::RsaPkcs1v15) {
        return Err(EnrollError::CipherNotAllowed(
            "key transport other than RSA PKCS#1 v1.5".into(),
        ));
    }
    let cipher = envelope.content_cipher;
    if !cipher_allowed(cipher, crypto) {
        return Err(EnrollError::CipherNotAllowed(format!("{cipher:?}")));
    }
    let key_cipher =
        key_cipher(cipher).ok_or_else(|| EnrollError::CipherNotAllowed(format!("{cipher:?}")))?;
    let content_key = keys::unwrap_content_key(
        key.decrypter,
        &recipient.encrypted_key,
        key_cipher.key_len(),
    );
    let plaintext = keys::cipher::decrypt_cbc(
        key_cipher,
        &content_key,
        &envelope.iv,
        &envelope.encrypted_content,
    )
    .map_err(|_| EnrollError::Undecipherable)?;
    Ok(Decrypted { plaintext, cipher })
}

/// The CSR's self-signature verified and, for a PKCSReq, its key equal to the signer's key.
#[derive(Debug)]
pub struct ProofOfPossession {
    _proof: (),
}

/// Verifies the CSR's self-signature with an allowed algorithm.
pub fn csr_self_signature(
    csr: &request::csr::InspectedCsr,
    crypto: CryptoPolicy,
) -> Result<(), EnrollError> {
    let algorithm = SignatureAlgorithm::from_x509_algorithm(&csr.signature_algorithm_der)
        .map_err(|e| EnrollError::AlgorithmNotAllowed(e.to_string()))?;
    if algorithm.is_legacy() && !crypto.allows_legacy() {
        return Err(EnrollError::AlgorithmNotAllowed(format!(
            "CSR signed with {algorithm:?}"
        )));
    }
    keys::verify::verify_signature(
        &csr.public_key_spki_der,
        algorithm,
        &csr.tbs_der,
        &csr.signature,
    )
    .map_err(|e| match signature_error(e) {
        EnrollError::BadSignature(_) => EnrollError::BadCsrSignature,
        weak_key => weak_key,
    })
}

/// PKCSReq: the message must be signed by the key the CSR certifies (RFC 8894 §2.3 and the
/// re-wrapped-envelope attack: otherwise anyone could replay a captured CSR under their key).
pub fn pkcs_req_possession(
    csr: &request::csr::InspectedCsr,
    signature: &VerifiedSignature,
    crypto: CryptoPolicy,
) -> Result<ProofOfPossession, EnrollError> {
    csr_self_signature(csr, crypto)?;
    if csr.public_key_spki_der != signature.signer.spki_der {
        return Err(EnrollError::NoProofOfPossession);
    }
    Ok(ProofOfPossession { _proof: () })
}

/// RenewalReq: possession of the new key is shown by the CSR's self-signature; the old
/// certificate's key signed the message (checked in [`outer_signature`]).
pub fn renewal_possession(
    csr: &request::csr::InspectedCsr,
    crypto: CryptoPolicy,
) -> Result<ProofOfPossession, EnrollError> {
    csr_self_signature(csr, crypto)?;
    Ok(ProofOfPossession { _proof: () })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const LEGACY: CryptoPolicy = CryptoPolicy {
        legacy_crypto: true,
        insecure_single_des: true,
    };
    const STRICT: CryptoPolicy = CryptoPolicy {
        legacy_crypto: false,
        insecure_single_des: false,
    };

    #[test]
    fn real_client_signatures_verify() {
        for (name, legacy) in [
            ("micromdm-pkcsreq-desCBC-sha1.der", true),
            ("micromdm-pkcsreq-to-rust-2recipients-desCBC-sha1.der", true),
            (
                "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
                false,
            ),
            ("rust-pkcsreq-aes256-sha256.der", false),
        ] {
            let message = scep::parse_pki_message(&fixture(name)).unwrap();
            let verified = outer_signature(&message, LEGACY);
            assert!(verified.is_ok(), "{name}: {:?}", verified.err());
            let strict = outer_signature(&message, STRICT);
            assert_eq!(
                strict.is_err(),
                legacy,
                "{name}: SHA-1 only with the legacy opt-in"
            );
        }
    }

    #[test]
    fn a_flipped_content_byte_breaks_the_message_digest() {
        let message = fixture("certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der");
        let mut parsed = scep::parse_pki_message(&message).unwrap();
        if let Some(content) = parsed.content.as_mut() {
            let last = content.len() - 1;
            content[last] ^= 1;
        }
        assert!(matches!(
            outer_signature(&parsed, STRICT),
            Err(EnrollError::BadSignature(_))
        ));
    }
}
