//! A device for the RA's tests: an RSA key and its self-signed certificate, the PKCS#10 it
//! asks with and the PKIOperation it sends. Shared by the integration tests (`common`) and the
//! unit tests that need no ledger (`src/lib.rs` includes this file as `test_support`), so it
//! names nothing private to the crate.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use der::Encode as _;
use keys::software::SoftwareKey;
use keys::{KeyRole, SignatureAlgorithm};
use scep::{MessageData, MessageType};

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap())
        .unwrap()
}

/// A device: an RSA key and the self-signed certificate it signs its messages with.
pub(crate) struct Device {
    pub signer: Arc<dyn keys::Signer>,
    pub certificate: Vec<u8>,
}

pub(crate) fn device() -> Device {
    let signer = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048)
        .unwrap()
        .into_signer(KeyRole::RaSigning)
        .unwrap();
    let certificate = ca::dev::self_signed_ca(signer.as_ref(), "test device", 1).unwrap();
    Device {
        signer,
        certificate,
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let octets: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(octets.len()).unwrap());
        out.extend(octets);
    }
    out.extend_from_slice(content);
    out
}

/// The DER `Name` of an RFC 4514 string.
pub(crate) fn name_der(subject: &str) -> Vec<u8> {
    use std::str::FromStr as _;
    x509_cert::name::Name::from_str(subject)
        .unwrap()
        .to_der()
        .unwrap()
}

/// A PKCS#10 for `subject` with one dNSName `dns` and, if given, a challenge password,
/// signed by the device's key.
pub(crate) fn csr(device: &Device, subject: &str, dns: &str, challenge: Option<&str>) -> Vec<u8> {
    // 1.2.840.113549.1.9.7 challengePassword, 1.2.840.113549.1.9.14 extensionRequest,
    // 2.5.29.17 subjectAltName.
    let challenge_oid = [
        0x06, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x07,
    ];
    let extension_request_oid = [
        0x06, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0E,
    ];
    let san_oid = [0x06, 3, 0x55, 0x1D, 0x11];
    let san = tlv(0x30, &tlv(0x82, dns.as_bytes()));
    let extension = tlv(0x30, &[&san_oid[..], &tlv(0x04, &san)].concat());
    let mut attributes = vec![tlv(
        0x30,
        &[
            &extension_request_oid[..],
            &tlv(0x31, &tlv(0x30, &extension)),
        ]
        .concat(),
    )];
    if let Some(challenge) = challenge {
        attributes.push(tlv(
            0x30,
            &[
                &challenge_oid[..],
                &tlv(0x31, &tlv(0x13, challenge.as_bytes())),
            ]
            .concat(),
        ));
    }
    attributes.sort();
    let info = tlv(
        0x30,
        &[
            tlv(0x02, &[0]),
            name_der(subject),
            device.signer.public_key_spki_der().to_vec(),
            tlv(0xA0, &attributes.concat()),
        ]
        .concat(),
    );
    let algorithm = SignatureAlgorithm::RsaPkcs1Sha256;
    let signature = device.signer.sign(algorithm, &info).unwrap();
    tlv(
        0x30,
        &[
            info,
            algorithm.algorithm_identifier_der().to_vec(),
            tlv(0x03, &[&[0u8][..], &signature].concat()),
        ]
        .concat(),
    )
}

/// A PKIOperation of `message_type` carrying `data`, encrypted to `recipient_der` and signed
/// by the device.
pub(crate) fn pki_message(
    device: &Device,
    recipient_der: &[u8],
    message_type: MessageType,
    transaction_id: &str,
    data: &MessageData,
) -> Vec<u8> {
    use keys::cipher::ContentCipher as K;
    let recipient = scep::parse_certificate_lenient(recipient_der).unwrap();
    let data = scep::build_message_data(data).unwrap();
    let content_key = keys::random::bytes(K::Aes256Cbc.key_len()).unwrap();
    let iv = keys::random::bytes(K::Aes256Cbc.iv_len()).unwrap();
    let ciphertext = keys::cipher::encrypt_cbc(K::Aes256Cbc, &content_key, &iv, &data).unwrap();
    let envelope = scep::build_envelope(scep::EnvelopeParams {
        recipient: scep::RecipientId::IssuerAndSerial {
            issuer_der: recipient.issuer_der.clone(),
            serial: recipient.serial.clone(),
        },
        key_encryption: scep::KeyEncryption::RsaPkcs1v15,
        encrypted_key: keys::cipher::encrypt_rsa_pkcs1v15(&recipient.spki_der, &content_key)
            .unwrap(),
        cipher: scep::ContentCipher::Aes256Cbc,
        iv,
        ciphertext,
    })
    .unwrap();
    let algorithm = SignatureAlgorithm::RsaPkcs1Sha256;
    let unsigned = scep::prepare_request(scep::RequestParams {
        message_type: Some(message_type.as_str().into()),
        transaction_id: transaction_id.into(),
        sender_nonce: keys::random::bytes(16).unwrap(),
        digest: scep::DigestAlgorithm::Sha256,
        signature_algorithm_der: algorithm.algorithm_identifier_der().to_vec(),
        signer_certificate: device.certificate.clone(),
        extra_certificates: Vec::new(),
        enveloped_content: envelope,
        extra_signed_attributes: Vec::new(),
    })
    .unwrap();
    let signature = device
        .signer
        .sign(algorithm, unsigned.signed_attributes_der())
        .unwrap();
    unsigned.finish(signature)
}
