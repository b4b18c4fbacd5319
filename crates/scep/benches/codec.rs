//! Codec micro-benchmarks on captured vectors: what the RA's parse and reply-building cost
//! without any crypto (signatures and RSA are the callers' and are not measured here).
//!
//! `cargo bench -p scep --bench codec`
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scep::{
    CertRepParams, ContentCipher, EnvelopeParams, KeyEncryption, PkiStatus, build_certs_only,
    build_envelope, parse_cert_rep, parse_certificate_lenient, parse_envelope, parse_pki_message,
    prepare_cert_rep,
};

const PKCSREQ_AES: &[u8] = include_bytes!("../tests/fixtures/rust-pkcsreq-aes256-sha256.der");
const PKCSREQ_CERTMONGER: &[u8] =
    include_bytes!("../tests/fixtures/certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der");
const PKCSREQ_MICROMDM: &[u8] =
    include_bytes!("../tests/fixtures/micromdm-pkcsreq-desCBC-sha1.der");
const CERTREP_AES: &[u8] =
    include_bytes!("../tests/fixtures/rust-certrep-for-rust-pkcsreq-aes256-sha256.der");
const ISSUED: &[u8] =
    include_bytes!("../tests/fixtures/rust-issued-for-micromdm-pkcsreq-desCBC-sha1.der");

/// The outer SignedData and the EnvelopedData inside it: everything the RA parses before it
/// verifies and decrypts.
fn parse_request(der: &[u8]) -> usize {
    let message = parse_pki_message(der).unwrap();
    let envelope = parse_envelope(message.content.as_deref().unwrap()).unwrap();
    envelope.encrypted_content.len() + message.certificates.len()
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_pkcsreq");
    for (name, der) in [
        ("scep-client_aes256_sha256", PKCSREQ_AES),
        ("certmonger_aes256_sha256", PKCSREQ_CERTMONGER),
        ("micromdm_des_sha1", PKCSREQ_MICROMDM),
    ] {
        g.bench_function(name, |b| b.iter(|| parse_request(black_box(der))));
    }
    g.finish();
}

fn build(c: &mut Criterion) {
    // The parameters of a real SUCCESS reply, rebuilt: same sizes as production replies.
    let rep = parse_cert_rep(CERTREP_AES).unwrap();
    let params = CertRepParams {
        transaction_id: rep.transaction_id.clone().unwrap(),
        recipient_nonce: rep.recipient_nonce.clone().unwrap(),
        sender_nonce: rep.sender_nonce.clone().unwrap(),
        status: PkiStatus::Success,
        fail_info_text: None,
        digest: rep.signer_info.digest().unwrap(),
        signature_algorithm_der: rep.signer_info.signature_algorithm_der.clone(),
        signer_certificate: rep.certificates.first().unwrap().clone(),
        extra_certificates: rep.certificates.iter().skip(1).cloned().collect(),
        enveloped_content: rep.content.clone(),
    };
    let signature = rep.signer_info.signature.clone();
    c.bench_function("build_certrep/prepare_and_finish", |b| {
        b.iter(|| {
            let unsigned = prepare_cert_rep(black_box(params.clone())).unwrap();
            black_box(unsigned.signed_attributes_der().len());
            unsigned.finish(&signature)
        });
    });

    // The reply's inner layers: certs-only of the issued certificate, then the envelope
    // around (already encrypted) content addressed to the requester.
    let recipient = parse_certificate_lenient(ISSUED)
        .unwrap()
        .issuer_and_serial();
    c.bench_function("build_certrep/certs_only_and_envelope", |b| {
        b.iter(|| {
            let certs_only = build_certs_only(&[black_box(ISSUED.to_vec())]).unwrap();
            let padded = (certs_only.len() / 16 + 1) * 16;
            build_envelope(EnvelopeParams {
                recipient: recipient.clone(),
                key_encryption: KeyEncryption::RsaPkcs1v15,
                encrypted_key: vec![0x5A; 256],
                cipher: ContentCipher::Aes256Cbc,
                iv: vec![0x01; 16],
                ciphertext: vec![0xA5; padded],
            })
            .unwrap()
        });
    });
}

criterion_group!(benches, parse, build);
criterion_main!(benches);
