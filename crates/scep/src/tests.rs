//! Tests against the captured vectors (`tests/fixtures/`, copied from shared/vectors), the
//! round trips of the builders, and hostile inputs. Named by RFC 8894 section where one applies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use der::{Decode as _, Encode as _};

use crate::test_support::{fixture, pem_to_der};
use crate::*;

// ---------------------------------------------------------------- helpers (test-only crypto)

fn pem_fixture(name: &str) -> Vec<u8> {
    pem_to_der(&String::from_utf8(fixture(name)).unwrap())
}

fn rsa_pkcs1_decrypt(key_file: &str, ciphertext: &[u8]) -> Vec<u8> {
    use aws_lc_rs::rsa::{Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
    let key = PrivateDecryptingKey::from_pkcs8(&pem_fixture(key_file)).unwrap();
    let key = Pkcs1PrivateDecryptingKey::new(key).unwrap();
    let mut out = vec![0u8; key.min_output_size()];
    key.decrypt(ciphertext, &mut out).unwrap().to_vec()
}

fn cbc_decrypt(cipher: ContentCipher, key: &[u8], iv: &[u8], ct: &[u8]) -> Vec<u8> {
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
    fn run<C: BlockModeDecrypt + KeyIvInit>(key: &[u8], iv: &[u8], ct: &[u8]) -> Vec<u8> {
        C::new_from_slices(key, iv)
            .unwrap()
            .decrypt_padded_vec::<Pkcs7>(ct)
            .unwrap()
    }
    match cipher {
        ContentCipher::Aes128Cbc => run::<cbc::Decryptor<aes::Aes128>>(key, iv, ct),
        ContentCipher::Aes192Cbc => run::<cbc::Decryptor<aes::Aes192>>(key, iv, ct),
        ContentCipher::Aes256Cbc => run::<cbc::Decryptor<aes::Aes256>>(key, iv, ct),
        ContentCipher::DesEde3Cbc => run::<cbc::Decryptor<des::TdesEde3>>(key, iv, ct),
        ContentCipher::DesCbc => run::<cbc::Decryptor<des::Des>>(key, iv, ct),
    }
}

/// Opens an envelope addressed to `cert_file` with `key_file` (RSA PKCS#1 v1.5).
fn open_envelope(envelope: &Envelope, cert_file: &str, key_file: &str) -> Vec<u8> {
    let cert = parse_certificate_lenient(&pem_fixture(cert_file)).unwrap();
    let rid = cert.issuer_and_serial();
    let ktri = envelope
        .recipients_for(&rid)
        .next()
        .expect("addressed to us");
    assert_eq!(ktri.key_encryption, KeyEncryption::RsaPkcs1v15);
    let cek = rsa_pkcs1_decrypt(key_file, &ktri.encrypted_key);
    assert_eq!(cek.len(), envelope.content_cipher.key_len());
    cbc_decrypt(
        envelope.content_cipher,
        &cek,
        &envelope.iv,
        &envelope.encrypted_content,
    )
}

fn all_der_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".der"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 18, "every vector is a fixture");
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&n)))
        .collect()
}

// ---------------------------------------------------------------- RFC 8894 §3.3.1 PKCSReq vectors

struct PkcsReqVector {
    file: &'static str,
    transaction_id: &'static str,
    digest: DigestAlgorithm,
    cipher: ContentCipher,
    recipients: usize,
    signer_serial_len: usize,
    /// RA certificate and key to open the envelope, when the key is a file.
    ra: Option<(&'static str, &'static str)>,
}

const PKCS_REQ_VECTORS: &[PkcsReqVector] = &[
    PkcsReqVector {
        file: "micromdm-pkcsreq-desCBC-sha1.der",
        transaction_id: "KCO1lAIe/iTyQpdmEe1a0ZtGVc4=",
        digest: DigestAlgorithm::Sha1,
        cipher: ContentCipher::DesCbc,
        recipients: 1,
        signer_serial_len: 16,
        ra: Some(("micromdm-ca.pem", "micromdm-ca.plain.key")),
    },
    PkcsReqVector {
        file: "micromdm-pkcsreq-to-rust-2recipients-desCBC-sha1.der",
        transaction_id: "fMu5VeRcuNmD/4/iwouXuea19FQ=",
        digest: DigestAlgorithm::Sha1,
        cipher: ContentCipher::DesCbc,
        recipients: 2,
        signer_serial_len: 16,
        ra: Some(("rust-ra.pem", "rust-ra.key")),
    },
    PkcsReqVector {
        file: "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
        transaction_id: "83164508694195306494779901114569924572392199178363167294031430810684669132142",
        digest: DigestAlgorithm::Sha256,
        cipher: ContentCipher::Aes256Cbc,
        recipients: 1,
        signer_serial_len: 33,
        ra: Some(("rust-ra.pem", "rust-ra.key")),
    },
    PkcsReqVector {
        file: "rust-pkcsreq-aes256-sha256.der",
        transaction_id: "rust-client-tid-0001",
        digest: DigestAlgorithm::Sha256,
        cipher: ContentCipher::Aes256Cbc,
        recipients: 1,
        signer_serial_len: 20,
        ra: Some(("rust-ra.pem", "rust-ra.key")),
    },
    PkcsReqVector {
        file: "rust-pkcsreq-to-hsm-ra-aes256-sha256.der",
        transaction_id: "hsm-tid-1",
        digest: DigestAlgorithm::Sha256,
        cipher: ContentCipher::Aes256Cbc,
        recipients: 1,
        signer_serial_len: 20,
        ra: None, // the RA key lives in SoftHSM
    },
];

#[test]
fn rfc8894_3_3_1_pkcsreq_vectors_parse() {
    for v in PKCS_REQ_VECTORS {
        let msg = parse_pki_message(&fixture(v.file)).unwrap();
        assert_eq!(
            msg.message_type,
            MessageTypeField::Known(MessageType::PkcsReq),
            "{}",
            v.file
        );
        assert_eq!(msg.transaction_id.as_deref(), Some(v.transaction_id));
        assert_eq!(msg.sender_nonce.as_ref().map(Vec::len), Some(16));
        assert!(validate_nonce(msg.sender_nonce.as_deref()).is_ok());
        assert_eq!(msg.recipient_nonce, None);
        assert_eq!(msg.signer_info.digest().unwrap(), v.digest, "{}", v.file);
        assert_eq!(msg.certificates.len(), 1);
        let KeyId::IssuerAndSerial { serial, .. } = &msg.signer_info.sid else {
            panic!("{}: expected issuerAndSerialNumber", v.file);
        };
        assert_eq!(serial.len(), v.signer_serial_len, "{}", v.file);
        // The sid points at the embedded certificate (a self-signed signer).
        let signer = parse_certificate_lenient(msg.certificates.first().unwrap()).unwrap();
        assert_eq!(msg.signer_info.sid, signer.issuer_and_serial());
        assert_eq!(
            msg.signer_certificate(),
            msg.certificates.first().map(Vec::as_slice)
        );

        // messageDigest = digest(eContent) and contentType = id-data.
        let content = msg.content.as_deref().unwrap();
        assert_eq!(
            msg.signer_info.message_digest.as_deref(),
            Some(v.digest.digest(content).as_slice())
        );
        assert!(msg.message_digest_matches());
        assert!(msg.signer_info.content_type_is_data);
        // The signed attributes are re-encoded as an explicit SET OF.
        assert_eq!(msg.signer_info.signed_attributes_der.first(), Some(&0x31));
        assert!(!msg.signer_info.signature.is_empty());

        let envelope = parse_envelope(content).unwrap();
        assert_eq!(envelope.content_cipher, v.cipher, "{}", v.file);
        assert_eq!(envelope.recipients.len(), v.recipients, "{}", v.file);
        assert_eq!(envelope.iv.len(), v.cipher.iv_len());
        assert_eq!(envelope.content_type, oids::ID_DATA);
    }
}

#[test]
fn rfc8894_3_3_1_pkcsreq_envelopes_decrypt_to_a_csr() {
    for v in PKCS_REQ_VECTORS {
        let Some((cert, key)) = v.ra else { continue };
        let msg = parse_pki_message(&fixture(v.file)).unwrap();
        let envelope = parse_envelope(msg.content.as_deref().unwrap()).unwrap();
        let plain = open_envelope(&envelope, cert, key);
        let MessageData::CertificationRequest(csr) =
            parse_message_data(MessageType::PkcsReq, &plain).unwrap()
        else {
            panic!("{}: not a CSR", v.file);
        };
        assert_eq!(csr, plain);
        x509_cert::request::CertReq::from_der(&csr).unwrap();
    }
}

#[test]
fn the_reference_clients_csr_is_the_one_in_its_envelope() {
    let msg = parse_pki_message(&fixture("rust-pkcsreq-aes256-sha256.der")).unwrap();
    let envelope = parse_envelope(msg.content.as_deref().unwrap()).unwrap();
    let plain = open_envelope(&envelope, "rust-ra.pem", "rust-ra.key");
    assert_eq!(plain, fixture("rust-aes-client-csr.der"));
}

#[test]
fn micromdm_envelope_is_a_constructed_encrypted_content() {
    // The raw bytes hold `A0 82 02 B4 04 82 02 B0`: a definite-length constructed [0].
    let msg = parse_pki_message(&fixture("micromdm-pkcsreq-desCBC-sha1.der")).unwrap();
    let content = msg.content.unwrap();
    assert!(
        content
            .windows(8)
            .any(|w| w == [0xA0, 0x82, 0x02, 0xB4, 0x04, 0x82, 0x02, 0xB0])
    );
    let envelope = parse_envelope(&content).unwrap();
    assert_eq!(envelope.encrypted_content.len(), 0x2B0);
}

// ---------------------------------------------------------------- RFC 8894 §3.3.2 CertRep vectors

#[test]
fn rfc8894_3_3_2_certrep_vectors_parse() {
    let successes = [
        "micromdm-certrep-success.der",
        "rust-certrep-for-certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
        "rust-certrep-for-micromdm-pkcsreq-desCBC-sha1.der",
        "rust-certrep-for-rust-pkcsreq-aes256-sha256.der",
        "rust-certrep-from-hsm.der",
        "rust-certrep-to-certmonger-success.der",
        "rust-certrep-to-micromdm-success.der",
    ];
    for file in successes {
        let rep = parse_cert_rep(&fixture(file)).unwrap();
        assert_eq!(rep.pki_status, Some(PkiStatus::Success), "{file}");
        assert_eq!(rep.fail_info(), None);
        assert_eq!(rep.recipient_nonce.as_ref().map(Vec::len), Some(16));
        assert!(rep.message_digest_matches(), "{file}");
        assert!(rep.signer_info.content_type_is_data);
        // A CertRep sent to a server is not a request type.
        assert!(rep.message_type.known().is_none());
        parse_envelope(rep.content.as_deref().unwrap()).unwrap();
    }

    let failure = parse_cert_rep(&fixture("rust-certrep-failure-badRequest.der")).unwrap();
    assert_eq!(
        failure.pki_status,
        Some(PkiStatus::Failure(FailInfo::BadRequest))
    );
    assert_eq!(failure.fail_info(), Some(FailInfo::BadRequest));
    assert_eq!(failure.content, None);
    // Signed over empty content, still with contentType and messageDigest.
    assert_eq!(
        failure.signer_info.message_digest,
        Some(DigestAlgorithm::Sha256.digest(b""))
    );
    assert!(failure.signer_info.content_type_is_data);
    assert!(failure.message_digest_matches());

    // A request is not a CertRep.
    assert!(parse_cert_rep(&fixture("rust-pkcsreq-aes256-sha256.der")).is_err());
}

#[test]
fn certmonger_reply_is_addressed_to_its_33_octet_serial_and_decrypts() {
    let req = parse_pki_message(&fixture(
        "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
    ))
    .unwrap();
    let rep = parse_cert_rep(&fixture("rust-certrep-to-certmonger-success.der")).unwrap();
    assert_eq!(rep.transaction_id, req.transaction_id);
    assert_eq!(rep.recipient_nonce, req.sender_nonce);
    let envelope = parse_envelope(rep.content.as_deref().unwrap()).unwrap();
    let RecipientInfoKind::KeyTransport(ktri) = &envelope.recipients.first().unwrap().kind else {
        panic!("expected ktri");
    };
    assert_eq!(ktri.rid, req.signer_info.sid);
    // Decrypt with the client key: the payload is a certs-only SignedData.
    let cek = rsa_pkcs1_decrypt("certmonger-client.key", &ktri.encrypted_key);
    let plain = cbc_decrypt(
        envelope.content_cipher,
        &cek,
        &envelope.iv,
        &envelope.encrypted_content,
    );
    let certs = parse_certs_only(&plain).unwrap();
    assert!(!certs.is_empty());
    for c in &certs {
        parse_certificate_lenient(c).unwrap();
    }
}

#[test]
fn other_vectors_are_certificates_and_a_csr() {
    for file in [
        "micromdm-getcacert-resp.der",
        "rust-issued-for-certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
        "rust-issued-for-micromdm-pkcsreq-desCBC-sha1.der",
    ] {
        parse_certificate_lenient(&fixture(file)).unwrap();
        assert!(parse_pki_message(&fixture(file)).is_err());
    }
    parse_message_data(MessageType::PkcsReq, &fixture("rust-aes-client-csr.der")).unwrap();
}

#[test]
fn every_vector_parses_with_its_parser() {
    for (name, bytes) in all_der_fixtures() {
        let ok = parse_pki_message(&bytes).is_ok()
            || parse_certs_only(&bytes).is_ok()
            || parse_certificate_lenient(&bytes).is_ok()
            || parse_message_data(MessageType::PkcsReq, &bytes).is_ok();
        assert!(ok, "{name}");
    }
}

// ---------------------------------------------------------------- hostile input

#[test]
fn every_truncation_of_every_vector_is_an_error() {
    for (name, bytes) in all_der_fixtures() {
        for len in 0..bytes.len() {
            let prefix = bytes.get(..len).unwrap();
            assert!(parse_pki_message(prefix).is_err(), "{name} at {len}");
            assert!(parse_envelope(prefix).is_err(), "{name} at {len}");
            assert!(parse_certs_only(prefix).is_err(), "{name} at {len}");
            assert!(
                parse_certificate_lenient(prefix).is_err(),
                "{name} at {len}"
            );
        }
    }
}

#[test]
fn every_single_byte_corruption_is_handled_without_panic() {
    for file in [
        "micromdm-pkcsreq-desCBC-sha1.der",
        "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
    ] {
        let original = fixture(file);
        let envelope = parse_pki_message(&original).unwrap().content.unwrap();
        for (bytes, label) in [(original, "message"), (envelope, "envelope")] {
            for i in 0..bytes.len() {
                for flip in [0xFFu8, 0x80, 0x01] {
                    let mut m = bytes.clone();
                    if let Some(b) = m.get_mut(i) {
                        *b ^= flip;
                    }
                    // Ok or Err, never a panic.
                    let _ = parse_pki_message(&m).map(|msg| msg.message_type);
                    let _ = parse_envelope(&m);
                    let _ = (label, i);
                }
            }
        }
    }
}

#[test]
fn garbage_is_an_error() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for len in [0usize, 1, 2, 3, 7, 64, 1000, 4096] {
        for _ in 0..50 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes().first().copied().unwrap_or(0)
                })
                .collect();
            assert!(parse_pki_message(&data).is_err());
            assert!(parse_envelope(&data).is_err());
        }
    }
    for data in [
        &b""[..],
        &[0x30, 0x80][..],
        &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF][..],
        &[0x30, 0x00][..],
        &[0x04, 0x00][..],
    ] {
        assert!(parse_pki_message(data).is_err());
        assert!(parse_envelope(data).is_err());
    }
    // 10,000-deep indefinite nesting inside a ContentInfo.
    let mut deep = vec![0x30, 0x80, 0x06, 0x09];
    deep.extend_from_slice(oids::ID_SIGNED_DATA.as_bytes());
    deep.extend_from_slice(&[0xA0, 0x80]);
    for _ in 0..10_000 {
        deep.extend_from_slice(&[0x30, 0x80]);
    }
    deep.extend(std::iter::repeat_n(0u8, 2 * 10_002));
    assert!(parse_pki_message(&deep).is_err());
    // Oversized input is refused before any parsing.
    assert!(matches!(
        parse_pki_message(&vec![0u8; MAX_INPUT_LEN + 1]),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn errors_carry_a_position() {
    let bytes = fixture("rust-pkcsreq-aes256-sha256.der");
    let err = parse_pki_message(bytes.get(..100).unwrap()).unwrap_err();
    assert_eq!(err.position(), Some(0));
    let err = parse_envelope(&bytes).unwrap_err();
    assert!(matches!(err, CodecError::UnexpectedContentType(_)));
}

// ---------------------------------------------------------------- building

struct Fixtures {
    ra_cert: Vec<u8>,
    ca_cert: Vec<u8>,
    client_cert: Vec<u8>,
    sha256_rsa: Vec<u8>,
}

fn fixtures() -> Fixtures {
    Fixtures {
        ra_cert: pem_fixture("rust-ra.pem"),
        ca_cert: pem_fixture("rust-ca.pem"),
        client_cert: pem_fixture("rust-aes-client-signer.pem"),
        // sha256WithRSAEncryption, NULL parameters.
        sha256_rsa: vec![
            0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05,
            0x00,
        ],
    }
}

fn certmonger_recipient() -> RecipientId {
    let req = parse_pki_message(&fixture(
        "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
    ))
    .unwrap();
    req.signer_info.sid
}

fn sample_envelope(recipient: RecipientId) -> (EnvelopeParams, Vec<u8>) {
    let params = EnvelopeParams {
        recipient,
        key_encryption: KeyEncryption::RsaPkcs1v15,
        encrypted_key: vec![0x5A; 256],
        cipher: ContentCipher::Aes256Cbc,
        iv: vec![7; 16],
        ciphertext: vec![9; 64],
    };
    let der = build_envelope(params.clone()).unwrap();
    (params, der)
}

/// Strict DER check by another implementation: `cms` decodes and re-encodes identically.
fn assert_cms_canonical(der: &[u8]) {
    let ci = cms::content_info::ContentInfo::from_der(der).unwrap();
    assert_eq!(ci.to_der().unwrap(), der);
}

#[test]
fn envelope_round_trip_with_a_33_octet_serial() {
    let recipient = certmonger_recipient();
    let (params, der) = sample_envelope(recipient.clone());
    let parsed = parse_envelope(&der).unwrap();
    assert_eq!(parsed.content_cipher, params.cipher);
    assert_eq!(parsed.iv, params.iv);
    assert_eq!(parsed.encrypted_content, params.ciphertext);
    let [
        RecipientInfo {
            kind: RecipientInfoKind::KeyTransport(ktri),
        },
    ] = parsed.recipients.as_slice()
    else {
        panic!("one ktri");
    };
    assert_eq!(ktri.rid, recipient);
    let KeyId::IssuerAndSerial { serial, .. } = &ktri.rid else {
        panic!("issuerAndSerial");
    };
    assert_eq!(serial.len(), 33);
    assert_eq!(ktri.encrypted_key, params.encrypted_key);
    assert_eq!(ktri.key_encryption, KeyEncryption::RsaPkcs1v15);
    // Rebuilding from the parse gives the same bytes.
    let rebuilt = build_envelope(EnvelopeParams {
        recipient: ktri.rid.clone(),
        key_encryption: ktri.key_encryption.clone(),
        encrypted_key: ktri.encrypted_key.clone(),
        cipher: parsed.content_cipher,
        iv: parsed.iv.clone(),
        ciphertext: parsed.encrypted_content.clone(),
    })
    .unwrap();
    assert_eq!(rebuilt, der);
    // Outer layers are strict DER (cms decodes the ContentInfo; the 33-octet serial inside is
    // beyond its RFC 5280 profile, so the EnvelopedData itself is checked with a normal serial).
    assert_cms_canonical(&der);
    let normal = parse_certificate_lenient(&fixtures().ra_cert).unwrap();
    let (_, der) = sample_envelope(normal.issuer_and_serial());
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let ed: cms::enveloped_data::EnvelopedData = ci.content.decode_as().unwrap();
    assert_eq!(ci.content.to_der().unwrap(), ed.to_der().unwrap());
}

#[test]
fn envelope_with_ski_and_oaep() {
    let (mut params, _) = sample_envelope(KeyId::SubjectKeyId(vec![1; 20]));
    params.key_encryption = KeyEncryption::RsaOaep;
    params.cipher = ContentCipher::DesEde3Cbc;
    params.iv = vec![3; 8];
    let der = build_envelope(params.clone()).unwrap();
    let parsed = parse_envelope(&der).unwrap();
    let [
        RecipientInfo {
            kind: RecipientInfoKind::KeyTransport(ktri),
        },
    ] = parsed.recipients.as_slice()
    else {
        panic!("one ktri");
    };
    assert_eq!(ktri.rid, params.recipient);
    assert_eq!(ktri.key_encryption, KeyEncryption::RsaOaep);
    assert_eq!(parsed.content_cipher, ContentCipher::DesEde3Cbc);
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let ed: cms::enveloped_data::EnvelopedData = ci.content.decode_as().unwrap();
    assert_eq!(ci.content.to_der().unwrap(), ed.to_der().unwrap());
    // Wrong IV length is refused by the builder.
    params.iv = vec![3; 16];
    assert!(build_envelope(params.clone()).is_err());
}

#[test]
fn unsupported_cipher_and_recipient_kinds() {
    let (_, der) = sample_envelope(certmonger_recipient());
    // Swap AES-256-CBC (…01 2A) for AES-256-GCM (…01 2E).
    let mut gcm = der.clone();
    let at = gcm
        .windows(11)
        .position(|w| {
            w == [
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A,
            ]
        })
        .unwrap();
    if let Some(b) = gcm.get_mut(at + 10) {
        *b = 0x2E;
    }
    assert!(matches!(
        parse_envelope(&gcm),
        Err(CodecError::UnsupportedAlgorithm(_))
    ));

    // A PasswordRecipientInfo ([3]) next to the ktri is reported, not fatal.
    let ed = ber::read_single(&der).unwrap().children().unwrap();
    let mut ci = ed;
    ci.require("oid").unwrap();
    let ed = ci.require("content").unwrap().explicit_inner().unwrap();
    let mut f = ed.children().unwrap();
    let version = f.require("v").unwrap().raw;
    let ris = f.require("ris").unwrap().value;
    let eci = f.require("eci").unwrap().raw;
    let pwri = ber::encode_tlv(0xA3, &[0x02, 0x01, 0x00]);
    let ris = ber::encode_tlv(ber::TAG_SET, &[ris, &pwri].concat());
    let ed = ber::encode_constructed(ber::TAG_SEQUENCE, &[version, &ris, eci]);
    let der = signed_data::encode_content_info(oids::ID_ENVELOPED_DATA, &ed);
    let parsed = parse_envelope(&der).unwrap();
    assert_eq!(parsed.recipients.len(), 2);
    assert!(
        parsed
            .recipients
            .iter()
            .any(|r| r.kind == RecipientInfoKind::Unsupported { tag: 0xA3 })
    );
}

fn cert_rep_params(status: PkiStatus, content: Option<Vec<u8>>) -> CertRepParams {
    let f = fixtures();
    CertRepParams {
        transaction_id: "rust-client-tid-0001".into(),
        recipient_nonce: vec![0x11; 16],
        sender_nonce: vec![0x22; 16],
        status,
        fail_info_text: None,
        digest: DigestAlgorithm::Sha256,
        signature_algorithm_der: f.sha256_rsa,
        signer_certificate: f.ra_cert,
        extra_certificates: vec![f.ca_cert],
        enveloped_content: content,
    }
}

#[test]
fn rfc8894_3_3_2_cert_rep_success_round_trip() {
    let (_, envelope) = sample_envelope(certmonger_recipient());
    let params = cert_rep_params(PkiStatus::Success, Some(envelope.clone()));
    let unsigned = prepare_cert_rep(params.clone()).unwrap();
    let to_sign = unsigned.signed_attributes_der().to_vec();
    let der = unsigned.finish([0xAB; 256]);

    let rep = parse_cert_rep(&der).unwrap();
    assert_eq!(rep.pki_status, Some(PkiStatus::Success));
    assert_eq!(rep.transaction_id.as_deref(), Some("rust-client-tid-0001"));
    assert_eq!(rep.recipient_nonce, Some(vec![0x11; 16]));
    assert_eq!(rep.sender_nonce, Some(vec![0x22; 16]));
    assert_eq!(rep.content, Some(envelope));
    assert_eq!(rep.signer_info.signed_attributes_der, to_sign);
    assert_eq!(rep.signer_info.signature, vec![0xAB; 256]);
    assert_eq!(
        rep.signer_info.signature_algorithm_der,
        params.signature_algorithm_der
    );
    assert_eq!(rep.certificates.len(), 2);
    assert!(rep.message_digest_matches());
    assert!(rep.signer_info.content_type_is_data);
    let ra = parse_certificate_lenient(&params.signer_certificate).unwrap();
    assert_eq!(rep.signer_info.sid, ra.issuer_and_serial());
    assert_cms_canonical(&der);
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    assert_eq!(ci.content.to_der().unwrap(), sd.to_der().unwrap());
}

#[test]
fn rfc8894_3_3_2_failure_and_pending_sign_over_empty_content() {
    for (status, text) in [
        (PkiStatus::Failure(FailInfo::BadRequest), Some("bad")),
        (PkiStatus::Failure(FailInfo::BadMessageCheck), None),
        (PkiStatus::Pending, None),
    ] {
        let mut params = cert_rep_params(status, None);
        params.fail_info_text = text.map(str::to_owned);
        let der = prepare_cert_rep(params.clone()).unwrap().finish([1; 256]);
        let rep = parse_cert_rep(&der).unwrap();
        assert_eq!(rep.content, None);
        assert_eq!(
            rep.signer_info.message_digest,
            Some(DigestAlgorithm::Sha256.digest(b""))
        );
        assert!(rep.signer_info.content_type_is_data);
        match status {
            PkiStatus::Failure(info) => {
                assert_eq!(rep.pki_status, Some(status));
                assert_eq!(rep.fail_info(), Some(info));
                assert_eq!(rep.fail_info_text.as_deref(), text);
            }
            _ => {
                assert_eq!(rep.pki_status, Some(PkiStatus::Pending));
                assert_eq!(rep.fail_info(), None);
            }
        }
        assert_cms_canonical(&der);
    }
    // Content with FAILURE, no content with SUCCESS, text without FAILURE: refused.
    assert!(
        prepare_cert_rep(cert_rep_params(
            PkiStatus::Failure(FailInfo::BadAlg),
            Some(vec![1])
        ))
        .is_err()
    );
    assert!(prepare_cert_rep(cert_rep_params(PkiStatus::Success, None)).is_err());
    let mut p = cert_rep_params(PkiStatus::Pending, None);
    p.fail_info_text = Some("x".into());
    assert!(prepare_cert_rep(p).is_err());
    let mut p = cert_rep_params(PkiStatus::Pending, None);
    p.recipient_nonce = vec![];
    assert!(prepare_cert_rep(p).is_err());
}

#[test]
fn the_failure_vector_is_rebuilt_with_present_empty_content() {
    let bytes = fixture("rust-certrep-failure-badRequest.der");
    let rep = parse_cert_rep(&bytes).unwrap();
    let params = CertRepParams {
        transaction_id: rep.transaction_id.clone().unwrap(),
        recipient_nonce: rep.recipient_nonce.clone().unwrap(),
        sender_nonce: rep.sender_nonce.clone().unwrap(),
        status: PkiStatus::Failure(rep.fail_info().unwrap()),
        fail_info_text: rep.fail_info_text.clone(),
        digest: rep.signer_info.digest().unwrap(),
        signature_algorithm_der: rep.signer_info.signature_algorithm_der.clone(),
        signer_certificate: rep.certificates.first().unwrap().clone(),
        extra_certificates: vec![],
        enveloped_content: None,
    };
    let unsigned = prepare_cert_rep(params.clone()).unwrap();
    assert_eq!(
        unsigned.signed_attributes_der(),
        rep.signer_info.signed_attributes_der
    );
    // The reference responder sent the signature detached; we send the same signed
    // attributes and signature over a present, empty eContent, which certmonger (OpenSSL)
    // requires ("PKCS7 routines::no content" otherwise).
    let rebuilt = unsigned.finish(&rep.signer_info.signature);
    let reparsed = parse_cert_rep(&rebuilt).unwrap();
    assert!(reparsed.content.as_deref().unwrap_or_default().is_empty());
    assert!(reparsed.message_digest_matches());
    assert_eq!(
        reparsed.signer_info.signed_attributes_der,
        rep.signer_info.signed_attributes_der
    );
    assert_eq!(reparsed.signer_info.signature, rep.signer_info.signature);
    assert_eq!(
        rebuilt.len(),
        bytes.len() + 4,
        "only `[0] {{ OCTET STRING {{}} }}` was added"
    );
}

fn request_params(message_type: Option<&str>) -> RequestParams {
    let f = fixtures();
    let (_, envelope) = sample_envelope(
        parse_certificate_lenient(&f.ra_cert)
            .unwrap()
            .issuer_and_serial(),
    );
    RequestParams {
        message_type: message_type.map(str::to_owned),
        transaction_id: "tid-hostile".into(),
        sender_nonce: vec![0x33; 16],
        digest: DigestAlgorithm::Sha256,
        signature_algorithm_der: f.sha256_rsa,
        signer_certificate: f.client_cert,
        extra_certificates: vec![],
        enveloped_content: envelope,
        extra_signed_attributes: vec![],
    }
}

#[test]
fn request_round_trip_is_canonical() {
    let params = request_params(Some("19"));
    let unsigned = prepare_request(params.clone()).unwrap();
    let to_sign = unsigned.signed_attributes_der().to_vec();
    let der = unsigned.finish([5; 256]);
    let msg = parse_pki_message(&der).unwrap();
    assert_eq!(
        msg.message_type,
        MessageTypeField::Known(MessageType::PkcsReq)
    );
    assert_eq!(msg.transaction_id.as_deref(), Some("tid-hostile"));
    assert_eq!(msg.sender_nonce, Some(vec![0x33; 16]));
    assert_eq!(
        msg.content.as_deref(),
        Some(params.enveloped_content.as_slice())
    );
    assert_eq!(msg.signer_info.signed_attributes_der, to_sign);
    assert!(msg.message_digest_matches());
    assert_eq!(msg.certificates, vec![params.signer_certificate.clone()]);
    assert_cms_canonical(&der);
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    assert_eq!(ci.content.to_der().unwrap(), sd.to_der().unwrap());

    // The captured reference-client request is rebuilt byte for byte from its parse.
    let bytes = fixture("rust-pkcsreq-aes256-sha256.der");
    let req = parse_pki_message(&bytes).unwrap();
    let rebuilt = prepare_request(RequestParams {
        message_type: Some("19".into()),
        transaction_id: req.transaction_id.clone().unwrap(),
        sender_nonce: req.sender_nonce.clone().unwrap(),
        digest: req.signer_info.digest().unwrap(),
        signature_algorithm_der: req.signer_info.signature_algorithm_der.clone(),
        signer_certificate: req.certificates.first().unwrap().clone(),
        extra_certificates: vec![],
        enveloped_content: req.content.clone().unwrap(),
        extra_signed_attributes: vec![],
    })
    .unwrap();
    assert_eq!(
        rebuilt.signed_attributes_der(),
        req.signer_info.signed_attributes_der
    );
    assert_eq!(rebuilt.finish(&req.signer_info.signature), bytes);
}

/// A DER messageType attribute with the given values (tag, contents).
fn message_type_attribute(values: &[(u8, &[u8])]) -> Vec<u8> {
    let values: Vec<u8> = values
        .iter()
        .flat_map(|(tag, v)| ber::encode_tlv(*tag, v))
        .collect();
    ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &algorithms::encode_oid(&oids::ID_MESSAGE_TYPE),
            &ber::encode_tlv(ber::TAG_SET, &values),
        ],
    )
}

fn assert_unsupported_but_answerable(der: &[u8], label: &str) {
    let msg = parse_pki_message(der).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(
        matches!(msg.message_type, MessageTypeField::Unsupported(_)),
        "{label}: {:?}",
        msg.message_type
    );
    // What a signed FAILURE badRequest needs is still there.
    assert_eq!(
        msg.transaction_id.as_deref(),
        Some("tid-hostile"),
        "{label}"
    );
    assert!(
        validate_nonce(msg.sender_nonce.as_deref()).is_ok(),
        "{label}"
    );
}

#[test]
fn cve_2026_30836_every_unimplemented_message_type_is_unsupported() {
    let implemented = ["17", "19", "20", "21", "22"];
    for n in 0..=255u32 {
        let s = n.to_string();
        let der = prepare_request(request_params(Some(&s)))
            .unwrap()
            .finish([0; 256]);
        let msg = parse_pki_message(&der).unwrap();
        if implemented.contains(&s.as_str()) {
            assert!(msg.message_type.known().is_some(), "{s}");
        } else {
            assert_unsupported_but_answerable(&der, &s);
        }
    }
    for s in ["3", "18", "019", "+19", " 19", "19 ", "0x13", "", "1 9"] {
        let der = prepare_request(request_params(Some(s)))
            .unwrap()
            .finish([0; 256]);
        assert_unsupported_but_answerable(&der, s);
    }
}

#[test]
fn cve_2026_30836_odd_encodings_are_unsupported() {
    let full_width = "１９".as_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("UTF8String 19", message_type_attribute(&[(0x0C, b"19")])),
        ("IA5String 19", message_type_attribute(&[(0x16, b"19")])),
        (
            "BMPString 19",
            message_type_attribute(&[(0x1E, &[0, 0x31, 0, 0x39])]),
        ),
        ("INTEGER 19", message_type_attribute(&[(0x02, &[19])])),
        ("OCTET STRING 19", message_type_attribute(&[(0x04, b"19")])),
        (
            "full-width digits",
            message_type_attribute(&[(0x13, full_width)]),
        ),
        (
            "full-width UTF8",
            message_type_attribute(&[(0x0C, full_width)]),
        ),
        ("empty", message_type_attribute(&[(0x13, b"")])),
        ("no value", message_type_attribute(&[])),
        (
            "two values",
            message_type_attribute(&[(0x13, b"19"), (0x13, b"20")]),
        ),
        (
            "two equal values",
            message_type_attribute(&[(0x13, b"19"), (0x13, b"19")]),
        ),
    ];
    for (label, attr) in cases {
        let mut params = request_params(None);
        params.extra_signed_attributes = vec![attr];
        let der = prepare_request(params.clone()).unwrap().finish([0; 256]);
        assert_unsupported_but_answerable(&der, label);
    }
    // Absent, and a PrintableString "19" attribute sent twice.
    let der = prepare_request(request_params(None))
        .unwrap()
        .finish([0; 256]);
    assert_unsupported_but_answerable(&der, "absent");
    let mut params = request_params(Some("19"));
    params.extra_signed_attributes = vec![message_type_attribute(&[(0x13, b"19")])];
    let der = prepare_request(params.clone()).unwrap().finish([0; 256]);
    assert_unsupported_but_answerable(&der, "duplicate attribute");
}

#[test]
fn full_width_digits_cannot_be_built_as_printable_string() {
    assert!(prepare_request(request_params(Some("１９"))).is_err());
}

/// Rebuilds a request's SignedData with other signers / digest algorithms / certificates.
fn request_with(digests: &[Vec<u8>], signers: usize, certificates: &[Vec<u8>]) -> Vec<u8> {
    let params = request_params(Some("19"));
    let unsigned = prepare_request(params.clone()).unwrap();
    let si = unsigned.signer_info(&[0; 256]);
    let signer_infos: Vec<Vec<u8>> = (0..signers)
        .map(|i| {
            let mut s = si.clone();
            if let Some(last) = s.last_mut() {
                *last = u8::try_from(i).unwrap();
            }
            s
        })
        .collect();
    let sd = signed_data::encode_signed_data(
        1,
        digests,
        Some(&params.enveloped_content),
        certificates,
        &[],
        &signer_infos,
    );
    signed_data::encode_content_info(oids::ID_SIGNED_DATA, &sd)
}

#[test]
fn signer_and_digest_and_certificate_counts() {
    let f = fixtures();
    let sha256 = vec![DigestAlgorithm::Sha256.algorithm_identifier_der()];
    let one_cert = vec![f.client_cert.clone()];
    assert!(parse_pki_message(&request_with(&sha256, 1, &one_cert)).is_ok());
    assert_eq!(
        parse_pki_message(&request_with(&sha256, 0, &one_cert)),
        Err(CodecError::SignerCount(0))
    );
    assert_eq!(
        parse_pki_message(&request_with(&sha256, 2, &one_cert)),
        Err(CodecError::SignerCount(2))
    );
    assert_eq!(
        parse_pki_message(&request_with(&[], 1, &one_cert)),
        Err(CodecError::Missing("digestAlgorithms"))
    );
    let eleven: Vec<Vec<u8>> = (0..11u8)
        .map(|i| {
            let mut c = f.client_cert.clone();
            if let Some(last) = c.last_mut() {
                *last = i;
            }
            c
        })
        .collect();
    assert_eq!(
        parse_pki_message(&request_with(&sha256, 1, &eleven)),
        Err(CodecError::TooManyCertificates { max: 10 })
    );
    assert!(parse_pki_message(&request_with(&sha256, 1, &eleven[..10])).is_ok());
    // No certificates at all is a parse success (the RA then refuses: no signer certificate).
    assert!(parse_pki_message(&request_with(&sha256, 1, &[])).is_ok());
}

#[test]
fn nonce_validation() {
    assert!(validate_nonce(None).is_err());
    assert!(validate_nonce(Some(&[])).is_err());
    assert!(validate_nonce(Some(&[0; 33])).is_err());
    assert!(validate_nonce(Some(&[0; 32])).is_ok());
    assert!(validate_nonce(Some(&[0; 1])).is_ok());
    // A 0-byte or 4 KiB nonce parses (so the RA can answer) but does not validate.
    for nonce in [vec![], vec![1u8; 4096]] {
        let mut params = request_params(Some("19"));
        params.sender_nonce = nonce.clone();
        let der = prepare_request(params.clone()).unwrap().finish([0; 256]);
        let msg = parse_pki_message(&der).unwrap();
        assert_eq!(msg.sender_nonce.as_deref(), Some(nonce.as_slice()));
        assert!(validate_nonce(msg.sender_nonce.as_deref()).is_err());
    }
    // A CertRep is never built with a bad nonce.
    let mut p = cert_rep_params(PkiStatus::Pending, None);
    p.sender_nonce = vec![0; 33];
    assert!(prepare_cert_rep(p).is_err());
}

#[test]
fn ber_indefinite_lengths_are_accepted() {
    // Re-wrap a DER request's ContentInfo and SignedData in indefinite lengths.
    let der = prepare_request(request_params(Some("19")))
        .unwrap()
        .finish([0; 256]);
    let ci = ber::read_single(&der).unwrap();
    let mut f = ci.children().unwrap();
    let oid = f.require("oid").unwrap().raw;
    let sd = f.require("content").unwrap().explicit_inner().unwrap();
    let mut indefinite = vec![0x30, 0x80];
    indefinite.extend_from_slice(oid);
    indefinite.extend_from_slice(&[0xA0, 0x80, 0x30, 0x80]);
    indefinite.extend_from_slice(sd.value);
    indefinite.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let a = parse_pki_message(&der).unwrap();
    let b = parse_pki_message(&indefinite).unwrap();
    assert_eq!(a, b);
}
