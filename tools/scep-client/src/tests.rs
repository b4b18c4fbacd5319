//! Round trips of the builders through the `scep` codec and the reference RA key.
#![allow(clippy::unwrap_used)]

use scep::{CertRepParams, ContentCipher, DigestAlgorithm, FailInfo, MessageType, PkiStatus};

use crate::bundle::tests::pem_to_der;
use crate::message::key_cipher;
use crate::{
    ClientKey, CsrBuilder, PkcsReqBuilder, Tamper, read_cert_rep, self_signed_certificate,
};

struct Ra {
    key: ClientKey,
    cert: Vec<u8>,
}

fn ra() -> Ra {
    Ra {
        key: ClientKey::from_pkcs8(include_bytes!("../testdata/rust-ra.key")).unwrap(),
        cert: pem_to_der(include_str!("../testdata/rust-ra.pem")),
    }
}

fn open(ra: &Ra, message: &scep::PkiMessage) -> Result<Vec<u8>, crate::ClientError> {
    let envelope = scep::parse_envelope(message.content.as_deref().unwrap()).unwrap();
    let ours = scep::parse_certificate_lenient(&ra.cert)
        .unwrap()
        .issuer_and_serial();
    let recipient = envelope.recipients_for(&ours).next().unwrap();
    let key = ra.key.decrypt_rsa_pkcs1v15(&recipient.encrypted_key)?;
    Ok(keys::decrypt_cbc(
        key_cipher(envelope.content_cipher)?,
        &key,
        &envelope.iv,
        &envelope.encrypted_content,
    )?
    .to_vec())
}

fn verify_outer(message: &scep::PkiMessage) -> bool {
    let signer = scep::parse_certificate_lenient(message.signer_certificate().unwrap()).unwrap();
    let info = &message.signer_info;
    let alg = keys::SignatureAlgorithm::from_cms(
        &info.digest_algorithm_der,
        &info.signature_algorithm_der,
    )
    .unwrap();
    keys::verify::verify_signature(
        &signer.spki_der,
        alg,
        &info.signed_attributes_der,
        &info.signature,
    )
    .is_ok()
}

#[test]
fn a_pkcs_req_parses_verifies_and_decrypts_with_the_ra_key() {
    let ra = ra();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, "CN=device-1").unwrap();
    let csr = CsrBuilder::new("CN=device-1")
        .challenge("pw")
        .build(&key)
        .unwrap();
    for cipher in [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::DesEde3Cbc,
        ContentCipher::DesCbc,
    ] {
        let builder = PkcsReqBuilder::new(&key, &cert, &ra.cert, csr.clone())
            .unwrap()
            .cipher(cipher)
            .transaction_id("tx-1");
        let message = scep::parse_pki_message(&builder.build().unwrap()).unwrap();
        assert_eq!(message.message_type.known(), Some(MessageType::PkcsReq));
        assert_eq!(message.transaction_id.as_deref(), Some("tx-1"));
        assert_eq!(
            message.sender_nonce.as_deref(),
            Some(builder.get_sender_nonce())
        );
        assert!(message.message_digest_matches());
        assert!(verify_outer(&message));
        assert_eq!(open(&ra, &message).unwrap(), csr, "{cipher:?}");
    }
}

#[test]
fn raw_message_types_are_sent_as_given() {
    let ra = ra();
    let key = ClientKey::generate_ec_p256().unwrap();
    let cert = self_signed_certificate(&key, "CN=x").unwrap();
    let csr = CsrBuilder::new("CN=x").build(&key).unwrap();
    for raw in ["18", "019", " 19", "3"] {
        let der = PkcsReqBuilder::new(&key, &cert, &ra.cert, csr.clone())
            .unwrap()
            .message_type(Some(raw))
            .build()
            .unwrap();
        let message = scep::parse_pki_message(&der).unwrap();
        assert_eq!(
            message.message_type,
            scep::MessageTypeField::Unsupported(raw.to_owned())
        );
    }
}

#[test]
fn each_tamper_switch_breaks_its_layer_only() {
    let ra = ra();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, "CN=x").unwrap();
    let csr = CsrBuilder::new("CN=x").build(&key).unwrap();
    let build = |tamper: Tamper| {
        let der = PkcsReqBuilder::new(&key, &cert, &ra.cert, csr.clone())
            .unwrap()
            .tamper(tamper)
            .build()
            .unwrap();
        scep::parse_pki_message(&der).unwrap()
    };
    let m = build(Tamper {
        signature: true,
        ..Tamper::default()
    });
    assert!(!verify_outer(&m));
    assert!(m.message_digest_matches());
    let m = build(Tamper {
        content: true,
        ..Tamper::default()
    });
    assert!(verify_outer(&m));
    assert!(!m.message_digest_matches());
    let m = build(Tamper {
        encrypted_key: true,
        ..Tamper::default()
    });
    assert!(verify_outer(&m) && m.message_digest_matches());
    assert!(open(&ra, &m).map_or(true, |plain| plain != csr));
}

#[test]
fn read_cert_rep_verifies_and_opens_a_success() {
    let ra = ra();
    let key = ClientKey::generate_rsa(2048).unwrap();
    let cert = self_signed_certificate(&key, "CN=x").unwrap();
    let issued = self_signed_certificate(&key, "CN=issued").unwrap();
    // The reply envelope: built exactly like a client envelope, addressed to the client.
    let payload = scep::build_certs_only(std::slice::from_ref(&issued)).unwrap();
    let envelope = PkcsReqBuilder::new(&ra.key, &ra.cert, &cert, payload)
        .unwrap()
        .envelope()
        .unwrap();
    let nonce = b"0123456789abcdef".to_vec();
    let reply = |status: PkiStatus, enveloped: Option<Vec<u8>>, signer: &ClientKey| {
        let alg = keys::SignatureAlgorithm::RsaPkcs1Sha256;
        let unsigned = scep::prepare_cert_rep(CertRepParams {
            transaction_id: "tx".into(),
            recipient_nonce: nonce.clone(),
            sender_nonce: b"server-nonce".to_vec(),
            status,
            fail_info_text: status.fail_info().map(|_| "request refused".to_owned()),
            digest: DigestAlgorithm::Sha256,
            signature_algorithm_der: alg.algorithm_identifier_der().to_vec(),
            signer_certificate: ra.cert.clone(),
            extra_certificates: Vec::new(),
            enveloped_content: enveloped,
        })
        .unwrap();
        let sig = signer.sign(alg, unsigned.signed_attributes_der()).unwrap();
        unsigned.finish(sig)
    };
    let ok = read_cert_rep(
        &reply(PkiStatus::Success, Some(envelope), &ra.key),
        &key,
        &cert,
        &nonce,
    )
    .unwrap();
    assert_eq!(ok.status, PkiStatus::Success);
    assert_eq!(ok.certificate, Some(issued));
    assert_eq!(ok.signer_certificate, ra.cert);
    assert_eq!(ok.transaction_id.as_deref(), Some("tx"));

    let failure = reply(PkiStatus::Failure(FailInfo::BadRequest), None, &ra.key);
    let out = read_cert_rep(&failure, &key, &cert, &nonce).unwrap();
    assert_eq!(out.fail_info(), Some(FailInfo::BadRequest));
    assert_eq!(out.fail_info_text.as_deref(), Some("request refused"));
    assert!(matches!(
        read_cert_rep(&failure, &key, &cert, b"another nonce"),
        Err(crate::ClientError::NonceMismatch)
    ));
    // Signed by another key than the certificate it names.
    let forged = reply(PkiStatus::Failure(FailInfo::BadRequest), None, &key);
    assert!(matches!(
        read_cert_rep(&forged, &key, &cert, &nonce),
        Err(crate::ClientError::BadReplySignature)
    ));
}
