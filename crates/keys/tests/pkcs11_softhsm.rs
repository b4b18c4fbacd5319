//! `keys::pkcs11` against SoftHSM2 (packages `softhsm2` and `opensc`).
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and a module is initialised once per
//! process; setting the variable from a test thread would also race with other tests (and is
//! `unsafe` in edition 2024). So the one test here prepares a temporary token directory, then
//! runs itself again as a child process with `SOFTHSM2_CONF` set only for that child, where the
//! scenarios run one after the other on a token made for this run.
//!
//! Without SoftHSM2 the test prints SKIPPED, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::Session;
use keys::pkcs11::{EcCurve, Pkcs11Key, Pkcs11Token};
use keys::verify::verify_signature;
use keys::{ContentCipher, Decrypter, KeyError, KeyRole, SignatureAlgorithm, Signer};
use zeroize::Zeroizing;

const CHILD: &str = "SCEPD_PKCS11_TEST_CHILD";
const TOKEN: &str = "scepd-test";
const OTHER_TOKEN: &str = "scepd-other";
const PIN: &str = "tst-Pin-4921-x";
const SO_PIN: &str = "tst-So-7730-y";

const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

fn find_module() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCEPD_TEST_PKCS11_MODULE") {
        return Some(PathBuf::from(p));
    }
    MODULES.iter().map(PathBuf::from).find(|p| p.exists())
}

fn tool_present(name: &str) -> bool {
    Command::new(name).arg("--help").output().is_ok()
}

#[test]
fn softhsm2() {
    if std::env::var_os(CHILD).is_some() {
        scenarios(&PathBuf::from(
            std::env::var_os("SCEPD_TEST_MODULE").unwrap(),
        ));
        return;
    }
    let module = find_module();
    let (Some(module), true, true) = (
        module,
        tool_present("softhsm2-util"),
        tool_present("pkcs11-tool"),
    ) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "SoftHSM2 is missing: install the Debian packages `softhsm2` and `opensc` \
                 (libsofthsm2.so, softhsm2-util, pkcs11-tool)"
            );
        }
        println!("SKIPPED pkcs11_softhsm: install softhsm2 and opensc to run it");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    for label in [TOKEN, OTHER_TOKEN] {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", SO_PIN, "--pin", PIN])
            .output()
            .unwrap();
        assert!(out.status.success(), "softhsm2-util: {out:?}");
    }

    let out = Command::new(std::env::current_exe().unwrap())
        .args(["softhsm2", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", &conf)
        .env("SCEPD_TEST_MODULE", &module)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "PKCS#11 scenarios failed");
    assert!(stdout.contains("1 passed"), "the child ran no test");
}

fn pin(s: &str) -> Zeroizing<String> {
    Zeroizing::new(s.to_owned())
}

fn backend_message(r: Result<impl std::fmt::Debug, KeyError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn scenarios(module: &Path) {
    refuses_default_and_wrong_pins(module);

    let token = Pkcs11Token::open(module, TOKEN, pin(PIN)).unwrap();
    assert!(!format!("{token:?}").contains(PIN));
    let again = backend_message(Pkcs11Token::open(module, TOKEN, pin(PIN)));
    assert!(again.contains("already logged in"), "{again}");

    let ca_rsa = token
        .generate_rsa(KeyRole::CaSigning, "ca-rsa", 3072)
        .unwrap();
    let ca_p384 = token
        .generate_ec(KeyRole::CaSigning, "ca-p384", EcCurve::P384)
        .unwrap();
    let ra_sign = token
        .generate_ec(KeyRole::RaSigning, "ra-sign", EcCurve::P256)
        .unwrap();
    let ra_sign_rsa = token
        .generate_rsa(KeyRole::RaSigning, "ra-sign-rsa", 2048)
        .unwrap();
    let ra_enc = token
        .generate_rsa(KeyRole::RaDecryption, "ra-enc", 2048)
        .unwrap();
    assert_eq!(ca_rsa.key_type(), "RSA-3072");
    assert_eq!(ca_p384.key_type(), "P-384");
    let debug = format!("{ra_enc:?}");
    assert!(debug.contains("ra-enc") && !debug.contains(PIN), "{debug}");

    signs_and_verifies(&ca_rsa, &ca_p384, &ra_sign, &ra_sign_rsa);
    decrypts(&ra_enc);
    keys_stay_in_the_token(module, &token);
    refuses_unfit_keys(module, &token);
    reloads_and_shares(&token, &ca_rsa, &ra_enc);

    // Generation refuses an existing label, and EC for the decryption role.
    let dup = backend_message(token.generate_rsa(KeyRole::CaSigning, "ca-rsa", 2048));
    assert!(dup.contains("already exists"), "{dup}");
    assert!(
        token
            .generate_ec(KeyRole::RaDecryption, "ra-enc-ec", EcCurve::P256)
            .is_err()
    );
    assert!(matches!(
        token.generate_rsa(KeyRole::CaSigning, "tiny", 1024),
        Err(KeyError::UnsupportedKeySize(1024))
    ));
}

fn refuses_default_and_wrong_pins(module: &Path) {
    for default in ["1234", "123456", "0000", "password", "0001password", ""] {
        let m = backend_message(Pkcs11Token::open(module, TOKEN, pin(default)));
        assert!(m.contains("default") && m.contains("ESC12"), "{m}");
    }
    let wrong = "Wr0ng-pin-5517";
    let m = backend_message(Pkcs11Token::open(module, OTHER_TOKEN, pin(wrong)));
    assert!(m.contains("wrong PIN") && m.contains(OTHER_TOKEN), "{m}");
    assert!(!m.contains(wrong), "the PIN leaked into {m}");
    let m = backend_message(Pkcs11Token::open(module, "no-such-token", pin(PIN)));
    assert!(m.contains("no-such-token") && m.contains(TOKEN), "{m}");
    let m = backend_message(Pkcs11Token::open(
        Path::new("/nonexistent/libpkcs11.so"),
        TOKEN,
        pin(PIN),
    ));
    assert!(m.contains("/nonexistent/libpkcs11.so"), "{m}");
}

fn signs_and_verifies(ca_rsa: &Pkcs11Key, ca_p384: &Pkcs11Key, ra: &Pkcs11Key, ra_rsa: &Pkcs11Key) {
    let msg = b"CertRep signed attributes";
    for key in [ca_rsa, ra_rsa] {
        assert_eq!(key.default_algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
        for alg in [
            SignatureAlgorithm::RsaPkcs1Sha256,
            SignatureAlgorithm::RsaPkcs1Sha384,
            SignatureAlgorithm::RsaPkcs1Sha512,
        ] {
            assert!(key.supports(alg));
            let sig = key.sign(alg, msg).unwrap();
            verify_signature(Signer::public_key_spki_der(key), alg, msg, &sig).unwrap();
            assert!(
                verify_signature(Signer::public_key_spki_der(key), alg, b"other", &sig).is_err()
            );
        }
        assert!(matches!(
            key.sign(SignatureAlgorithm::RsaPkcs1Sha1, msg),
            Err(KeyError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            key.sign(SignatureAlgorithm::EcdsaP256Sha256, msg),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
    }
    for (key, alg) in [
        (ca_p384, SignatureAlgorithm::EcdsaP384Sha384),
        (ra, SignatureAlgorithm::EcdsaP256Sha256),
    ] {
        assert_eq!(key.default_algorithm(), alg);
        let sig = key.sign(alg, msg).unwrap();
        verify_signature(Signer::public_key_spki_der(key), alg, msg, &sig).unwrap();
        assert!(key.sign(SignatureAlgorithm::RsaPkcs1Sha256, msg).is_err());
    }
    assert!(matches!(
        ca_p384.sign(SignatureAlgorithm::EcdsaP256Sha256, msg),
        Err(KeyError::UnsupportedAlgorithm(_))
    ));

    // Shared across threads: more callers than pooled sessions, all served.
    let signer: Arc<dyn Signer> = Arc::new(ra_rsa_clone_via_reload(ra_rsa));
    let threads: Vec<_> = (0..(Pkcs11Token::MAX_SESSIONS * 2))
        .map(|i| {
            let signer = Arc::clone(&signer);
            std::thread::spawn(move || {
                let msg = format!("message {i}");
                let alg = signer.default_algorithm();
                let sig = signer.sign(alg, msg.as_bytes()).unwrap();
                verify_signature(signer.public_key_spki_der(), alg, msg.as_bytes(), &sig).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn ra_rsa_clone_via_reload(key: &Pkcs11Key) -> Pkcs11Key {
    key.token().load_key(key.role(), key.label()).unwrap()
}

fn decrypts(ra_enc: &Pkcs11Key) {
    let spki = Decrypter::public_key_spki_der(ra_enc);
    let cek = [0x5au8; 32];
    let ct = keys::encrypt_rsa_pkcs1v15(spki, &cek).unwrap();
    assert_eq!(ra_enc.decrypt_rsa_pkcs1v15(&ct).unwrap().as_slice(), &cek);

    let want = ContentCipher::Aes256Cbc.key_len();
    assert_eq!(keys::unwrap_content_key(ra_enc, &ct, want).as_slice(), &cek);

    let mut corrupted = ct.clone();
    corrupted[0] ^= 0x80;
    assert!(matches!(
        ra_enc.decrypt_rsa_pkcs1v15(&corrupted),
        Err(KeyError::Decrypt)
    ));
    let a = keys::unwrap_content_key(ra_enc, &corrupted, want);
    let b = keys::unwrap_content_key(ra_enc, &corrupted, want);
    assert_eq!(a.len(), want);
    assert_ne!(a.as_slice(), &cek);
    assert_ne!(a, b, "a fresh random key each time");
    // A valid ciphertext of a key of the wrong length: random, of the length asked for.
    let short = keys::unwrap_content_key(ra_enc, &ct, 16);
    assert_eq!(short.len(), 16);
    assert_ne!(short.as_slice(), &cek[..16]);
    assert!(matches!(
        ra_enc.decrypt_rsa_pkcs1v15(&ct[1..]),
        Err(KeyError::Decrypt)
    ));
    // The decryption key never signs.
    assert!(matches!(
        ra_enc.sign(SignatureAlgorithm::RsaPkcs1Sha256, b"x"),
        Err(KeyError::NotPermitted { .. })
    ));
    assert!(!ra_enc.supports(SignatureAlgorithm::RsaPkcs1Sha256));
}

/// A session of this process on `label`'s token, through cryptoki directly: the module is
/// already initialised (and logged in: login is per application) by `Pkcs11Token`.
fn raw_session(module: &Path, label: &str) -> Session {
    let ctx = Pkcs11::new(module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == label)
        .unwrap();
    ctx.open_rw_session(slot).unwrap()
}

fn private_key(session: &Session, label: &str) -> cryptoki::object::ObjectHandle {
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1, "{label}");
    found[0]
}

fn keys_stay_in_the_token(module: &Path, token: &Arc<Pkcs11Token>) {
    let _ = token;
    for label in ["ca-rsa", "ca-p384", "ra-sign", "ra-sign-rsa", "ra-enc"] {
        // OpenSC's pkcs11-tool (another application, own login) gets no key bytes: it exits
        // non-zero, or (0.23) says "reading private keys not (yet) supported" and prints
        // nothing.
        let out = Command::new("pkcs11-tool")
            .arg("--module")
            .arg(module)
            .args(["--token-label", TOKEN, "--login", "--pin", PIN])
            .args(["--read-object", "--type", "privkey", "--label", label])
            .output()
            .unwrap();
        assert!(
            !out.status.success() || out.stdout.is_empty(),
            "pkcs11-tool read {label}: {out:?}"
        );
    }

    // The token itself refuses: the private exponent is sensitive, wrapping is refused.
    let session = raw_session(module, TOKEN);
    let wrapping = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(false),
                Attribute::ValueLen(32.into()),
                Attribute::Wrap(true),
                Attribute::Label(b"test-wrap".to_vec()),
            ],
        )
        .unwrap();
    for label in ["ca-rsa", "ra-enc"] {
        let key = private_key(&session, label);
        let attrs = session
            .get_attributes(key, &[AttributeType::PrivateExponent])
            .unwrap();
        assert!(
            attrs.is_empty(),
            "{label}: CKA_PRIVATE_EXPONENT readable: {attrs:?}"
        );
        let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key);
        assert!(
            matches!(wrapped, Err(Error::Pkcs11(RvError::KeyUnextractable, _))),
            "{label}: {wrapped:?}"
        );
    }
    let key = private_key(&session, "ra-sign");
    assert!(matches!(
        session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key),
        Err(Error::Pkcs11(RvError::KeyUnextractable, _))
    ));
    session.destroy_object(wrapping).unwrap();
}

fn refuses_unfit_keys(module: &Path, token: &Arc<Pkcs11Token>) {
    // A key generated extractable (a plain `C_GenerateKeyPair` with CKA_EXTRACTABLE=true): it
    // can be wrapped out, and load_key refuses it for every role, naming label and attribute.
    let session = raw_session(module, TOKEN);
    session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Label(b"exportable".to_vec()),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(true),
                Attribute::Label(b"exportable".to_vec()),
                Attribute::Sign(true),
                Attribute::Decrypt(false),
                Attribute::Unwrap(false),
            ],
        )
        .unwrap();
    drop(session);
    for role in [KeyRole::CaSigning, KeyRole::RaSigning] {
        let m = backend_message(token.load_key(role, "exportable"));
        assert!(
            m.contains("\"exportable\"") && m.contains("CKA_EXTRACTABLE"),
            "{m}"
        );
    }

    // What `pkcs11-tool --keypairgen --usage-sign` makes (OpenSC 0.23 adds decrypt and
    // unwrap): one key for two jobs, refused for a signing role.
    let out = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(module)
        .args(["--token-label", TOKEN, "--login", "--pin", PIN])
        .args([
            "--keypairgen",
            "--key-type",
            "rsa:2048",
            "--label",
            "tool-made",
        ])
        .arg("--usage-sign")
        .output()
        .unwrap();
    assert!(out.status.success(), "pkcs11-tool --keypairgen: {out:?}");
    let m = backend_message(token.load_key(KeyRole::CaSigning, "tool-made"));
    assert!(m.contains("\"tool-made\"") && m.contains("CKA_"), "{m}");

    // A signing role on the decryption key: no CKA_SIGN. The decryption role on a signing key:
    // no CKA_DECRYPT. An EC key for decryption: refused.
    let m = backend_message(token.load_key(KeyRole::RaSigning, "ra-enc"));
    assert!(m.contains("\"ra-enc\"") && m.contains("CKA_SIGN"), "{m}");
    let m = backend_message(token.load_key(KeyRole::RaDecryption, "ca-rsa"));
    assert!(m.contains("\"ca-rsa\"") && m.contains("CKA_DECRYPT"), "{m}");
    assert!(token.load_key(KeyRole::RaDecryption, "ra-sign").is_err());

    let m = backend_message(token.load_key(KeyRole::CaSigning, "missing"));
    assert!(m.contains("\"missing\"") && m.contains(TOKEN), "{m}");
}

fn reloads_and_shares(token: &Arc<Pkcs11Token>, ca: &Pkcs11Key, ra_enc: &Pkcs11Key) {
    // As at a restart: the same labels give the same public keys.
    let again = token.load_key(KeyRole::CaSigning, "ca-rsa").unwrap();
    assert_eq!(
        Signer::public_key_spki_der(&again),
        Signer::public_key_spki_der(ca)
    );
    let attrs = again.attributes();
    assert!(attrs.sensitive && !attrs.extractable && attrs.private && attrs.sign);
    assert_eq!(attrs.never_extractable, Some(true));
    assert_eq!(attrs.always_sensitive, Some(true));

    let signer = again.into_signer(KeyRole::CaSigning).unwrap();
    assert_eq!(signer.role(), KeyRole::CaSigning);
    let dec = token
        .load_key(KeyRole::RaDecryption, "ra-enc")
        .unwrap()
        .into_decrypter()
        .unwrap();
    assert_eq!(
        dec.public_key_spki_der(),
        Decrypter::public_key_spki_der(ra_enc)
    );
    let shared = backend_message(token.load_key(KeyRole::RaSigning, "ca-rsa"));
    assert!(
        shared.contains("ca-signing") && shared.contains("ra-signing"),
        "{shared}"
    );
    let wrong = token.load_key(KeyRole::RaSigning, "ra-sign").unwrap();
    assert!(matches!(
        wrong.into_signer(KeyRole::CaSigning),
        Err(KeyError::WrongRole { .. })
    ));
    let _ = KeyType::RSA;
}
