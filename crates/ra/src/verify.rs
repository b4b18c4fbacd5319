//! Checks on the outer PKIMessage and its envelope: the signature, then the decryption. The
//! signature check is the first proof of the chain (see [`crate::proofs`]): only
//! [`outer_signature`] makes a [`VerifiedSignature`], and every later step reads the signer and
//! the signed content from it rather than from the unverified message.

use keys::SignatureAlgorithm;
use scep::{ContentCipher, Envelope, KeyEncryption, PkiMessage, RecipientId, RecipientInfoKind};
use zeroize::Zeroizing;

use crate::config::CryptoPolicy;
use crate::error::EnrollError;

/// The outer SignedData verified: one SignerInfo, contentType present, messageDigest equal to
/// the digest of the content, signature valid under the embedded signer certificate, and that
/// certificate's key able to receive an RSA-encrypted reply. Carries the message it verified
/// and the signer certificate (DER and parsed), so what the later steps use is what was
/// verified. Only `verify::outer_signature` makes one:
///
/// ```compile_fail
/// // Outside the RA a verified signature cannot be written down, whatever a caller holds.
/// fn forge<'m>(message: &'m scep::PkiMessage, der: Vec<u8>) -> ra::proofs::VerifiedSignature<'m> {
///     let signer = scep::parse_certificate_lenient(&der).unwrap();
///     ra::proofs::VerifiedSignature {
///         message,
///         signer_certificate: der,
///         signer,
///         algorithm: keys::SignatureAlgorithm::RsaPkcs1Sha256,
///     }
/// }
/// ```
#[derive(Debug)]
pub struct VerifiedSignature<'m> {
    message: &'m PkiMessage,
    signer_certificate: Vec<u8>,
    signer: scep::LenientCertificate,
    algorithm: SignatureAlgorithm,
}

impl<'m> VerifiedSignature<'m> {
    /// The encapsulated content the messageDigest covers: the envelope to open.
    pub(crate) fn signed_content(&self) -> &'m [u8] {
        self.message.content.as_deref().unwrap_or_default()
    }

    /// The certificate whose key verified the message (its DER: [`Self::signer_certificate_der`]).
    pub(crate) fn signer(&self) -> &scep::LenientCertificate {
        &self.signer
    }

    pub(crate) fn signer_certificate_der(&self) -> &[u8] {
        &self.signer_certificate
    }

    pub(crate) fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// SHA-256 of the signer's SubjectPublicKeyInfo: the requester's identity in the store
    /// (a transactionID belongs to one key).
    pub(crate) fn signer_key_sha256(&self) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(&self.signer.spki_der).into()
    }

    /// The signer certificate, which every reply is encrypted to.
    pub(crate) fn into_signer(self) -> scep::LenientCertificate {
        self.signer
    }
}

/// Verifies the outer signature. Runs before anything looks inside the envelope.
pub(crate) fn outer_signature(
    message: &PkiMessage,
    crypto: CryptoPolicy,
) -> Result<VerifiedSignature<'_>, EnrollError> {
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
        message,
        signer_certificate,
        signer,
        algorithm,
    })
}

/// A key we refuse on principle (RSA-1024, P-192, explicit curves) is an algorithm refusal,
/// not a broken message: the client learns to use a stronger key.
pub(crate) fn signature_error(error: keys::VerifyError) -> EnrollError {
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
pub(crate) fn open_envelope(
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

    /// The key is chosen by the envelope's recipient identifier alone: an envelope to a
    /// certificate that is not one of ours is refused before any key touches it, and the same
    /// envelope to our certificate opens.
    #[test]
    fn an_envelope_to_a_certificate_not_ours_is_not_addressed_to_us() {
        use keys::KeyRole;
        use keys::software::SoftwareKey;
        use scep::{MessageData, MessageType};

        use crate::test_support::{device, name_der, pki_message};

        let ca_signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
            .unwrap()
            .into_signer(KeyRole::CaSigning)
            .unwrap();
        let ca_certificate = ca::CaProfile::new("CN=Envelope Test CA", 365)
            .unwrap()
            .self_signed(ca_signer.as_ref())
            .unwrap();
        let encryption = |cn: &str| {
            let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
            let certificate = ca::dev::issue_ra_certificate(
                ca_signer.as_ref(),
                &ca_certificate,
                key.public_key_spki_der(),
                cn,
                ca::dev::RaCertPurpose::Encryption,
                365,
            )
            .unwrap();
            (key.into_decrypter().unwrap(), certificate)
        };
        let (ours, our_certificate) = encryption("RA encryption");
        let (_, their_certificate) = encryption("someone else");
        let current = scep::parse_certificate_lenient(&our_certificate).unwrap();
        let keys = [RecipientKey {
            certificate: &current,
            decrypter: ours.as_ref(),
        }];
        let device = device();
        let envelope_to = |recipient: &[u8]| {
            let message = pki_message(
                &device,
                recipient,
                MessageType::GetCert,
                "envelope-tx",
                &MessageData::IssuerAndSerial {
                    issuer_der: name_der("CN=Envelope Test CA"),
                    serial: vec![0x01],
                },
            );
            let message = scep::parse_pki_message(&message).unwrap();
            scep::parse_envelope(message.content.as_deref().unwrap()).unwrap()
        };
        assert!(matches!(
            open_envelope(&envelope_to(&their_certificate), &keys, STRICT),
            Err(EnrollError::NotAddressedToUs)
        ));
        assert!(open_envelope(&envelope_to(&our_certificate), &keys, STRICT).is_ok());
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
