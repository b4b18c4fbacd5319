#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use der::{Decode, Encode};

use super::*;
use crate::cipher::{ContentCipher, decrypt_cbc, encrypt_rsa_pkcs1v15};
use crate::verify::verify_signature;
use crate::{KeyError, VerifyError, unwrap_content_key};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Copy a fixture key into `dir` with `mode` (git does not keep 0600).
fn key_file(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, fixture(name)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn assert_sign_verify(key: &SoftwareKey, alg: SignatureAlgorithm) {
    let msg = b"signed attributes of a CertRep";
    let sig = key.sign(alg, msg).unwrap();
    verify_signature(key.public_key_spki_der(), alg, msg, &sig).unwrap();
    assert_eq!(
        verify_signature(key.public_key_spki_der(), alg, b"another message", &sig),
        Err(VerifyError::BadSignature)
    );
    if alg.is_ecdsa() {
        assert_eq!(
            sig.first(),
            Some(&0x30),
            "ECDSA signatures are DER Ecdsa-Sig-Value"
        );
    }
}

#[test]
fn rsa_signs_and_verifies_sha256_384_512() {
    let key = SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap();
    assert_eq!(key.key_type(), "RSA-2048");
    assert_eq!(key.default_algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
    for alg in [
        SignatureAlgorithm::RsaPkcs1Sha256,
        SignatureAlgorithm::RsaPkcs1Sha384,
        SignatureAlgorithm::RsaPkcs1Sha512,
    ] {
        assert!(key.supports(alg));
        assert_sign_verify(&key, alg);
    }
    assert!(!key.supports(SignatureAlgorithm::RsaPkcs1Sha1));
    assert!(matches!(
        key.sign(SignatureAlgorithm::RsaPkcs1Sha1, b"m"),
        Err(KeyError::UnsupportedAlgorithm(
            SignatureAlgorithm::RsaPkcs1Sha1
        ))
    ));
    for alg in [
        SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::EcdsaP384Sha384,
    ] {
        assert!(!key.supports(alg));
        assert!(matches!(
            key.sign(alg, b"m"),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
    }
}

#[test]
fn ec_keys_sign_only_with_their_own_algorithm() {
    let cases = [
        (
            SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
            SignatureAlgorithm::EcdsaP256Sha256,
            "P-256",
        ),
        (
            SoftwareKey::generate_ec_p384(KeyRole::CaSigning).unwrap(),
            SignatureAlgorithm::EcdsaP384Sha384,
            "P-384",
        ),
    ];
    for (key, own, name) in cases {
        assert_eq!(key.key_type(), name);
        assert_eq!(key.default_algorithm(), own);
        assert_sign_verify(&key, own);
        for alg in SignatureAlgorithm::ALL.into_iter().filter(|a| *a != own) {
            assert!(!key.supports(alg));
            assert!(matches!(
                key.sign(alg, b"m"),
                Err(KeyError::AlgorithmMismatch { .. })
            ));
        }
    }
}

#[test]
fn generates_only_supported_rsa_sizes() {
    let key = SoftwareKey::generate_rsa(KeyRole::RaSigning, 3072).unwrap();
    assert_eq!(key.key_type(), "RSA-3072");
    assert_eq!(
        crate::verify::rsa_modulus_bits(key.public_key_spki_der()).unwrap(),
        3072
    );
    let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 4096).unwrap();
    assert_eq!(key.key_type(), "RSA-4096");
    for bits in [1024, 2047, 8192] {
        assert!(matches!(
            SoftwareKey::generate_rsa(KeyRole::CaSigning, bits),
            Err(KeyError::UnsupportedKeySize(b)) if b == bits
        ));
    }
}

#[test]
fn write_then_load_round_trips_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    for (key, role) in [
        (
            SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap(),
            KeyRole::CaSigning,
        ),
        (
            SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap(),
            KeyRole::RaDecryption,
        ),
        (
            SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
            KeyRole::RaSigning,
        ),
        (
            SoftwareKey::generate_ec_p384(KeyRole::CaSigning).unwrap(),
            KeyRole::CaSigning,
        ),
    ] {
        let path = dir.path().join(format!("{role}-{}.key", key.key_type()));
        key.write_pkcs8_pem(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));

        let loaded = SoftwareKey::load(role, &path).unwrap();
        assert_eq!(loaded.public_key_spki_der(), key.public_key_spki_der());
        assert_eq!(loaded.role(), role);
        if role.is_signing() {
            let alg = loaded.default_algorithm();
            let sig = loaded.sign(alg, b"m").unwrap();
            verify_signature(key.public_key_spki_der(), alg, b"m", &sig).unwrap();
        }
        // Never overwrites an existing key.
        assert!(matches!(
            key.write_pkcs8_pem(&path),
            Err(KeyError::Io { .. })
        ));
    }
}

#[test]
fn refuses_a_key_file_readable_by_group_or_others() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o601] {
        let path = key_file(dir.path(), "rust-ra.key", mode);
        let err = SoftwareKey::load(KeyRole::RaDecryption, &path).unwrap_err();
        match &err {
            KeyError::InsecurePermissions { path: p, mode: m } => {
                assert_eq!(p, &path);
                assert_eq!(*m, mode);
            }
            other => panic!("expected InsecurePermissions, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        std::fs::remove_file(&path).unwrap();
    }
    for mode in [0o600, 0o400] {
        let path = key_file(dir.path(), "rust-ra.key", mode);
        SoftwareKey::load(KeyRole::RaDecryption, &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn roles_are_enforced() {
    let decrypt = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
    assert!(matches!(
        decrypt.sign(SignatureAlgorithm::RsaPkcs1Sha256, b"m"),
        Err(KeyError::NotPermitted {
            operation: "sign",
            role: KeyRole::RaDecryption
        })
    ));
    assert!(!decrypt.supports(SignatureAlgorithm::RsaPkcs1Sha256));

    let sign = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let ct = encrypt_rsa_pkcs1v15(sign.public_key_spki_der(), &[1u8; 16]).unwrap();
    assert!(matches!(
        sign.decrypt_rsa_pkcs1v15(&ct),
        Err(KeyError::NotPermitted {
            operation: "decrypt",
            role: KeyRole::RaSigning
        })
    ));
    assert!(matches!(
        sign.into_signer(KeyRole::CaSigning),
        Err(KeyError::WrongRole {
            expected: KeyRole::CaSigning,
            actual: KeyRole::RaSigning
        })
    ));
    let sign = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    assert!(matches!(
        sign.into_decrypter(),
        Err(KeyError::WrongRole {
            expected: KeyRole::RaDecryption,
            ..
        })
    ));
    assert!(matches!(
        decrypt.into_signer(KeyRole::RaDecryption),
        Err(KeyError::NotPermitted { .. })
    ));
    let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    assert_eq!(signer.role(), KeyRole::CaSigning);

    assert!(matches!(
        SoftwareKey::generate_ec_p256(KeyRole::RaDecryption),
        Err(KeyError::Unsupported(_))
    ));
    let ec = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let ec_pkcs8 = ec.pkcs8_der().unwrap();
    assert!(matches!(
        SoftwareKey::from_pkcs8_der(KeyRole::RaDecryption, &ec_pkcs8),
        Err(KeyError::Unsupported(_))
    ));
}

#[test]
fn debug_shows_role_and_type_only() {
    let key = SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap();
    let debug = format!("{key:?}");
    assert_eq!(
        debug,
        r#"SoftwareKey { role: CaSigning, type: "RSA-2048", .. }"#
    );
}

#[test]
fn reads_pkcs1_pem_and_refuses_encrypted_and_sec1() {
    let pkcs8 = fixture("rust-ra.key");
    let key = SoftwareKey::from_pkcs8(KeyRole::RaSigning, &pkcs8).unwrap();
    // Re-wrap the same key as an OpenSSL "traditional" RSA PRIVATE KEY.
    let doc = file::decode_pkcs8(&pkcs8).unwrap();
    let info = pkcs8::PrivateKeyInfoRef::from_der(doc.as_bytes()).unwrap();
    let pkcs1_pem = der::pem::encode_string(
        "RSA PRIVATE KEY",
        der::pem::LineEnding::LF,
        info.private_key.as_bytes(),
    )
    .unwrap();
    let from_pkcs1 = SoftwareKey::from_pkcs8(KeyRole::RaSigning, pkcs1_pem.as_bytes()).unwrap();
    assert_eq!(from_pkcs1.public_key_spki_der(), key.public_key_spki_der());
    // DER works too.
    let from_der = SoftwareKey::from_pkcs8(KeyRole::RaSigning, doc.as_bytes()).unwrap();
    assert_eq!(from_der.public_key_spki_der(), key.public_key_spki_der());

    let encrypted = der::pem::encode_string(
        "ENCRYPTED PRIVATE KEY",
        der::pem::LineEnding::LF,
        &[0x30, 0],
    )
    .unwrap();
    assert!(matches!(
        SoftwareKey::from_pkcs8(KeyRole::RaSigning, encrypted.as_bytes()),
        Err(KeyError::EncryptedKey)
    ));
    let sec1 =
        der::pem::encode_string("EC PRIVATE KEY", der::pem::LineEnding::LF, &[0x30, 0]).unwrap();
    assert!(matches!(
        SoftwareKey::from_pkcs8(KeyRole::RaSigning, sec1.as_bytes()),
        Err(KeyError::Format(_))
    ));
    assert!(matches!(
        SoftwareKey::from_pkcs8(KeyRole::RaSigning, b"garbage"),
        Err(KeyError::Format(_))
    ));
}

/// The KeyTransRecipientInfo encryptedKey, content cipher, IV and ciphertext of the envelope
/// inside a PKCSReq (RFC 8894 §3.2: SignedData { EnvelopedData { CSR } }).
fn envelope_parts(pki_message: &[u8]) -> (Vec<u8>, ContentCipher, Vec<u8>, Vec<u8>) {
    let outer = cms::content_info::ContentInfo::from_der(pki_message).unwrap();
    // Only walk to encapContentInfo: certmonger's 33-octet signer serial is more than the
    // `cms` certificate types accept, and the certificates are not needed here.
    let mut reader = der::SliceReader::new(outer.content.value()).unwrap();
    let _version = der::asn1::AnyRef::decode(&mut reader).unwrap();
    let _digest_algorithms = der::asn1::AnyRef::decode(&mut reader).unwrap();
    let encap = cms::signed_data::EncapsulatedContentInfo::decode(&mut reader).unwrap();
    let econtent = encap.econtent.unwrap();
    let octets: der::asn1::OctetString = econtent.decode_as().unwrap();
    let env_info = cms::content_info::ContentInfo::from_der(octets.as_bytes()).unwrap();
    let env: cms::enveloped_data::EnvelopedData = env_info.content.decode_as().unwrap();
    let ktri = env
        .recip_infos
        .0
        .iter()
        .find_map(|ri| match ri {
            cms::enveloped_data::RecipientInfo::Ktri(k) => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    let alg = &env.encrypted_content.content_enc_alg;
    let cipher = ContentCipher::from_oid(alg.oid).unwrap();
    let iv: der::asn1::OctetString = alg.parameters.as_ref().unwrap().decode_as().unwrap();
    let ct = env.encrypted_content.encrypted_content.unwrap();
    (
        ktri.enc_key.as_bytes().to_vec(),
        cipher,
        iv.as_bytes().to_vec(),
        ct.as_bytes().to_vec(),
    )
}

fn ra_decryption_key() -> SoftwareKey {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(dir.path(), "rust-ra.key", 0o600);
    SoftwareKey::load(KeyRole::RaDecryption, &path).unwrap()
}

#[test]
fn decrypts_real_envelopes_from_the_vectors() {
    let ra = ra_decryption_key();
    for vector in [
        "rust-pkcsreq-aes256-sha256.der",
        "certmonger-pkcsreq-GET-aes256-sha256-33octet-serial.der",
    ] {
        let (enc_key, cipher, iv, ct) = envelope_parts(&fixture(vector));
        assert_eq!(cipher, ContentCipher::Aes256Cbc);

        let direct = ra.decrypt_rsa_pkcs1v15(&enc_key).unwrap();
        assert_eq!(direct.len(), 32);
        let cek = unwrap_content_key(&ra, &enc_key, cipher.key_len());
        assert_eq!(cek.as_slice(), direct.as_slice());

        let csr_der = decrypt_cbc(cipher, &cek, &iv, &ct).unwrap();
        let csr = x509_cert::request::CertReq::from_der(&csr_der).unwrap();
        // The decrypted CSR is genuine: its self-signature verifies.
        let spki = csr.info.public_key.to_der().unwrap();
        let alg = SignatureAlgorithm::from_x509(&csr.algorithm.to_der().unwrap()).unwrap();
        verify_signature(
            &spki,
            alg,
            &csr.info.to_der().unwrap(),
            csr.signature.as_bytes().unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn a_corrupted_encrypted_key_yields_random_keys_of_the_declared_length() {
    let ra = ra_decryption_key();
    let (mut enc_key, cipher, iv, ct) = envelope_parts(&fixture("rust-pkcsreq-aes256-sha256.der"));
    let real = ra.decrypt_rsa_pkcs1v15(&enc_key).unwrap();
    if let Some(b) = enc_key.get_mut(10) {
        *b ^= 0x40;
    }
    assert!(matches!(
        ra.decrypt_rsa_pkcs1v15(&enc_key),
        Err(KeyError::Decrypt)
    ));
    for declared in [
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Cbc,
        ContentCipher::DesEde3Cbc,
    ] {
        let a = unwrap_content_key(&ra, &enc_key, declared.key_len());
        let b = unwrap_content_key(&ra, &enc_key, declared.key_len());
        assert_eq!(a.len(), declared.key_len());
        assert_eq!(b.len(), declared.key_len());
        assert_ne!(a, b);
        assert_ne!(a.as_slice(), real.as_slice());
    }
    // A valid ciphertext whose key has the wrong length for the declared cipher is handled
    // the same way.
    let (good_key, ..) = envelope_parts(&fixture("rust-pkcsreq-aes256-sha256.der"));
    let wrong = unwrap_content_key(&ra, &good_key, 16);
    assert_eq!(wrong.len(), 16);
    assert_ne!(wrong.as_slice(), real.get(..16).unwrap());
    // Truncated or empty ciphertexts too.
    assert_eq!(unwrap_content_key(&ra, &[], 32).len(), 32);
    assert_eq!(
        unwrap_content_key(&ra, good_key.get(..100).unwrap(), 32).len(),
        32
    );
    // The random key does not decrypt the content into a CSR.
    let random = unwrap_content_key(&ra, &enc_key, cipher.key_len());
    let outcome = decrypt_cbc(cipher, &random, &iv, &ct);
    assert!(
        outcome
            .map(|pt| x509_cert::request::CertReq::from_der(&pt).is_err())
            .unwrap_or(true)
    );
}

#[test]
fn rsa_key_transport_round_trip() {
    let ra = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
    for len in [8usize, 16, 24, 32] {
        let cek = crate::random::bytes(len).unwrap();
        let ct = encrypt_rsa_pkcs1v15(ra.public_key_spki_der(), &cek).unwrap();
        assert_eq!(ct.len(), 256);
        assert_eq!(unwrap_content_key(&ra, &ct, len).as_slice(), cek.as_slice());
    }
    let ec = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    assert!(matches!(
        encrypt_rsa_pkcs1v15(ec.public_key_spki_der(), &[0u8; 16]),
        Err(crate::CipherError::RecipientKey(_))
    ));
    assert!(matches!(
        encrypt_rsa_pkcs1v15(ra.public_key_spki_der(), &[0u8; 300]),
        Err(crate::CipherError::Encrypt)
    ));
}

/// micromdm's scepclient: single DES, a BER constructed `[0]` encryptedContent, and two
/// KeyTransRecipientInfos (RA and CA). Only the one our key opens yields the CSR; the other
/// gives a random key, through the same call.
#[test]
fn decrypts_the_micromdm_single_des_envelope() {
    let ra = ra_decryption_key();
    let msg = fixture("micromdm-pkcsreq-to-rust-2recipients-desCBC-sha1.der");
    let outer = cms::content_info::ContentInfo::from_ber(&msg).unwrap();
    let mut reader = der::SliceReader::new(outer.content.value()).unwrap();
    let _version = der::asn1::AnyRef::decode(&mut reader).unwrap();
    let _digest_algorithms = der::asn1::AnyRef::decode(&mut reader).unwrap();
    let encap = cms::signed_data::EncapsulatedContentInfo::decode(&mut reader).unwrap();
    let octets: der::asn1::OctetString = encap.econtent.unwrap().decode_as().unwrap();
    let env_info = cms::content_info::ContentInfo::from_ber(octets.as_bytes()).unwrap();
    // `cms` rejects the constructed `[0] IMPLICIT OCTET STRING`: walk EnvelopedData by hand
    // (RFC 5652 §6.1) and join the OCTET STRING segments (X.690 §8.7.3.2).
    let mut fields = der::SliceReader::new(env_info.content.value()).unwrap();
    let _version = der::asn1::AnyRef::decode(&mut fields).unwrap();
    let recipients = cms::enveloped_data::RecipientInfos::decode(&mut fields).unwrap();
    let eci = der::asn1::AnyRef::decode(&mut fields).unwrap();
    let mut eci = der::SliceReader::new(eci.value()).unwrap();
    let _content_type: der::asn1::ObjectIdentifier = Decode::decode(&mut eci).unwrap();
    let alg = spki::AlgorithmIdentifierOwned::decode(&mut eci).unwrap();
    let cipher = ContentCipher::from_oid(alg.oid).unwrap();
    assert_eq!(cipher, ContentCipher::DesCbc);
    let iv: der::asn1::OctetString = alg.parameters.as_ref().unwrap().decode_as().unwrap();
    let segments = der::asn1::AnyRef::decode(&mut eci).unwrap();
    let mut segments = der::SliceReader::new(segments.value()).unwrap();
    let mut ct = Vec::new();
    while !der::Reader::is_finished(&segments) {
        let segment = <&der::asn1::OctetStringRef>::decode(&mut segments).unwrap();
        ct.extend_from_slice(segment.as_bytes());
    }
    let mut csrs = 0;
    assert_eq!(recipients.0.len(), 2);
    for ri in recipients.0.iter() {
        let cms::enveloped_data::RecipientInfo::Ktri(ktri) = ri else {
            continue;
        };
        let cek = unwrap_content_key(&ra, ktri.enc_key.as_bytes(), cipher.key_len());
        assert_eq!(cek.len(), 8);
        if let Ok(pt) = decrypt_cbc(cipher, &cek, iv.as_bytes(), &ct)
            && x509_cert::request::CertReq::from_der(&pt).is_ok()
        {
            csrs += 1;
        }
    }
    assert_eq!(csrs, 1);
}
