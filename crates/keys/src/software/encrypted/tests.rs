#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use der::Encode;
use der::asn1::OctetStringRef;
use pkcs8::EncryptedPrivateKeyInfo;

use super::*;
use crate::software::SoftwareKey;
use crate::verify::verify_signature;
use crate::{Decrypter, KeyRole, Signer, encrypt_rsa_pkcs1v15};

const PASSPHRASE: &[u8] = b"a long passphrase for the CA key";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn assert_signs(key: &SoftwareKey) {
    let alg = key.default_algorithm();
    let sig = key.sign(alg, b"tbsCertificate").unwrap();
    verify_signature(key.public_key_spki_der(), alg, b"tbsCertificate", &sig).unwrap();
}

fn write_encrypted(dir: &Path, key: &SoftwareKey) -> PathBuf {
    let path = dir.join("key.pem");
    key.write_encrypted_pkcs8_pem(&path, PASSPHRASE).unwrap();
    path
}

#[test]
fn encrypted_round_trip_signs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    for (i, key) in [
        SoftwareKey::generate_rsa(KeyRole::CaSigning, 2048).unwrap(),
        SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap(),
        SoftwareKey::generate_ec_p384(KeyRole::CaSigning).unwrap(),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("key{i}.pem"));
        key.write_encrypted_pkcs8_pem(&path, PASSPHRASE).unwrap();
        let loaded = SoftwareKey::load_encrypted(key.role(), &path, PASSPHRASE).unwrap();
        assert_eq!(loaded.public_key_spki_der(), key.public_key_spki_der());
        assert_eq!(loaded.key_type(), key.key_type());
        assert_signs(&loaded);
    }
}

#[test]
fn encrypted_ra_decryption_key_round_trip_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
    let path = write_encrypted(dir.path(), &key);
    let loaded = SoftwareKey::load_encrypted(KeyRole::RaDecryption, &path, PASSPHRASE).unwrap();
    let ct = encrypt_rsa_pkcs1v15(loaded.public_key_spki_der(), &[7u8; 32]).unwrap();
    assert_eq!(
        loaded.decrypt_rsa_pkcs1v15(&ct).unwrap().as_slice(),
        &[7u8; 32]
    );
}

#[test]
fn encrypted_file_is_0600_and_holds_no_clear_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let path = write_encrypted(dir.path(), &key);
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
        "{text}"
    );
    assert!(!text.contains("BEGIN PRIVATE KEY"));
    assert!(!text.contains("BEGIN RSA PRIVATE KEY"));
    // Not the plain PKCS#8 either, in any encoding.
    let plain = key.pkcs8_der().unwrap();
    let der = der::pem::decode_vec(text.as_bytes()).unwrap().1;
    assert!(!der.windows(32).any(|w| plain.windows(32).any(|p| p == w)));
    // The written parameters: PBES2 with scrypt N = 2^14 and AES-256-CBC.
    let info = EncryptedPrivateKeyInfoRef::from_der(&der).unwrap();
    let params = info.encryption_algorithm.pbes2().unwrap();
    let scrypt = params.kdf.scrypt().unwrap();
    assert_eq!(scrypt.cost_parameter, 1 << 14);
    assert_eq!(scrypt.block_size, 8);
    assert_eq!(scrypt.salt.as_ref().len(), 16);
    assert!(matches!(
        params.encryption,
        pbes2::EncryptionScheme::Aes256Cbc { .. }
    ));
    // Never overwrites.
    assert!(matches!(
        key.write_encrypted_pkcs8_pem(&path, PASSPHRASE),
        Err(KeyError::Io { .. })
    ));
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let path = write_encrypted(dir.path(), &key);
    for wrong in [&b"a long passphrase for the CA keY"[..], b"x", b""] {
        let err = SoftwareKey::load_encrypted(KeyRole::RaSigning, &path, wrong).unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot decrypt {}: wrong passphrase or corrupted file",
                path.display()
            )
        );
    }
}

#[test]
fn a_corrupted_encrypted_file_is_the_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let plain = key.pkcs8_der().unwrap();
    let mut der = encrypt(&plain, PASSPHRASE).unwrap();
    // Flip a bit of the last ciphertext block: the CBC padding or the DER breaks.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let path = dir.path().join("key.der");
    std::fs::write(&path, &der).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = SoftwareKey::load_encrypted(KeyRole::RaSigning, &path, PASSPHRASE).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err:?}");
}

#[test]
fn load_refuses_an_encrypted_file_and_says_how_to_give_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let path = write_encrypted(dir.path(), &key);
    let err = SoftwareKey::load(KeyRole::RaSigning, &path).unwrap_err();
    assert!(matches!(err, KeyError::PassphraseNeeded { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("SCEPD_KEY_PASSPHRASE"), "{text}");
    assert!(text.contains("passphrase_file"), "{text}");
    // In-memory bytes too.
    let pem = std::fs::read(&path).unwrap();
    assert!(matches!(
        SoftwareKey::from_pkcs8(KeyRole::RaSigning, &pem),
        Err(KeyError::EncryptedKey)
    ));
}

#[test]
fn load_encrypted_refuses_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let path = dir.path().join("plain.pem");
    key.write_pkcs8_pem(&path).unwrap();
    let err = SoftwareKey::load_encrypted(KeyRole::RaSigning, &path, PASSPHRASE).unwrap_err();
    assert!(matches!(err, KeyError::NotEncrypted { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn an_encrypted_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let path = write_encrypted(dir.path(), &key);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = SoftwareKey::load_encrypted(KeyRole::RaSigning, &path, PASSPHRASE).unwrap_err();
    assert!(
        matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }),
        "{err:?}"
    );
}

#[test]
fn an_empty_passphrase_is_refused_when_writing() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let path = dir.path().join("key.pem");
    assert!(matches!(
        key.write_encrypted_pkcs8_pem(&path, b""),
        Err(KeyError::Unsupported(_))
    ));
    assert!(!path.exists());
}

#[test]
fn reads_encrypted_der_too() {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap();
    let der = encrypt(&key.pkcs8_der().unwrap(), PASSPHRASE).unwrap();
    let path = dir.path().join("key.der");
    std::fs::write(&path, &der).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = SoftwareKey::load_encrypted(KeyRole::RaSigning, &path, PASSPHRASE).unwrap();
    assert_eq!(loaded.public_key_spki_der(), key.public_key_spki_der());
    assert!(matches!(
        SoftwareKey::load(KeyRole::RaSigning, &path),
        Err(KeyError::PassphraseNeeded { .. })
    ));
}

#[test]
fn refuses_key_derivation_parameters_that_would_exhaust_memory() {
    // scrypt N = 2^24, r = 8: 16 GiB. Refused before any derivation is attempted.
    let cost = scrypt::Params::new(24, 8, 1).unwrap();
    let params = pbes2::Parameters::generate_scrypt_aes256cbc(cost, &[1u8; 16], [2u8; 16]).unwrap();
    let data = [0u8; 64];
    let der = EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: OctetStringRef::new(&data).unwrap(),
    }
    .to_der()
    .unwrap();
    let err = decrypt(Path::new("k.pem"), &der, PASSPHRASE).unwrap_err();
    assert!(matches!(err, KeyError::Unsupported(_)), "{err:?}");
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Operators may encrypt a key they bring with OpenSSL, and inspect ours with it.
#[test]
fn interoperates_with_openssl_scrypt_pkcs8() {
    if !openssl_available() {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, PASSPHRASE).unwrap();
    let pass_arg = format!("file:{}", pass_file.display());

    // OpenSSL reads what we write.
    let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
    let ours = write_encrypted(dir.path(), &key);
    let out = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(&ours)
        .args(["-passin", &pass_arg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        SoftwareKey::from_pkcs8(KeyRole::RaSigning, &out.stdout)
            .unwrap()
            .public_key_spki_der(),
        key.public_key_spki_der()
    );

    // We read what OpenSSL writes (scrypt and PBKDF2-SHA256 flavours).
    let plain = dir.path().join("plain.pem");
    key.write_pkcs8_pem(&plain).unwrap();
    for (name, kdf) in [
        ("scrypt.pem", &["-scrypt"][..]),
        ("pbkdf2.pem", &["-v2prf", "hmacWithSHA256"][..]),
    ] {
        let theirs = dir.path().join(name);
        let out = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc"])
            .args(kdf)
            .arg("-in")
            .arg(&plain)
            .arg("-out")
            .arg(&theirs)
            .args(["-passout", &pass_arg])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).unwrap();
        let loaded = SoftwareKey::load_encrypted(KeyRole::RaSigning, &theirs, PASSPHRASE).unwrap();
        assert_eq!(loaded.public_key_spki_der(), key.public_key_spki_der());
        assert_signs(&loaded);
    }
}
