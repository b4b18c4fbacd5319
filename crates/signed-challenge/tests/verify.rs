//! Signed challenges end to end: minted with a real key, verified as the RA's gate asks for
//! them, and every forgery, expiry and scope mistake refused with its own code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use signed_challenge::{
    ChallengeError, Claims, Settings, SignedChallengeVerifier, TrustedKey, mint,
};
use vouch::{ChallengeQuestion, ChallengeVerifier, VerifierRefusal};
use zeroize::Zeroizing;

const NOW: i64 = 1_767_225_600;

struct Mdm {
    pkcs8: Vec<u8>,
    spki: Vec<u8>,
}

impl Mdm {
    fn p256() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            spki: pair.public_key().as_der().unwrap().as_ref().to_vec(),
        }
    }

    fn ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            spki: pair.public_key().as_der().unwrap().as_ref().to_vec(),
        }
    }

    fn trusted(&self, kid: &str) -> TrustedKey {
        TrustedKey::from_spki_der(kid, &self.spki).unwrap()
    }

    fn mint(&self, kid: &str, claims: &Claims) -> String {
        mint(&self.pkcs8, kid, claims).unwrap()
    }
}

fn claims() -> Claims {
    Claims {
        jti: "6c1e2a9f-0d4b-4b8e-a3f1-5e7d9c2b4a60".into(),
        aud: "mdm".into(),
        tpl: "device".into(),
        exp: NOW + 3600,
        iat: NOW,
        nbf: None,
        sub: Some("CN=dev1,O=Example".into()),
        sans: vec!["dns:dev1.example".into(), "ip:10.0.0.7".into()],
    }
}

fn verifier(keys: Vec<TrustedKey>) -> SignedChallengeVerifier {
    SignedChallengeVerifier::new(Settings::new(keys)).unwrap()
}

fn check(
    v: &SignedChallengeVerifier,
    token: &str,
) -> Result<signed_challenge::Accepted, ChallengeError> {
    v.check(token, "mdm", "device", NOW + 10)
}

/// A token with a header and claims of the test's choosing and a signature over them by
/// `sign`.
fn forge(header: &str, claims: &Claims, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header),
        B64.encode(serde_json::to_vec(claims).unwrap())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

#[test]
fn a_valid_challenge_of_either_algorithm_is_accepted_with_its_binding() {
    for mdm in [Mdm::p256(), Mdm::ed25519()] {
        let v = verifier(vec![mdm.trusted("mdm-1")]);
        let accepted = check(&v, &mdm.mint("mdm-1", &claims())).unwrap();
        assert_eq!(accepted.kid, "mdm-1");
        assert_eq!(accepted.claims, claims());
        let vouched = accepted.vouched();
        assert_eq!(
            vouched.binding,
            policy::Binding {
                template: Some("device".into()),
                subject: Some("CN=dev1,O=Example".into()),
                sans: vec!["dns:dev1.example".into(), "ip:10.0.0.7".into()],
            }
        );
        assert!(!vouched.csr_validated);
        assert_eq!(
            vouched.spend_once.as_deref(),
            Some("signed:mdm-1:6c1e2a9f-0d4b-4b8e-a3f1-5e7d9c2b4a60")
        );
        assert_eq!(vouched.by, "signed kid=mdm-1");
    }
}

#[test]
fn a_replayed_challenge_carries_the_same_id_to_spend() {
    // The verifier is stateless; what makes a replay fail is that the RA sees the same
    // spend_once twice, whatever the signature bytes (ECDSA signatures differ per minting).
    let mdm = Mdm::p256();
    let v = verifier(vec![mdm.trusted("k")]);
    let first = check(&v, &mdm.mint("k", &claims())).unwrap();
    let again = check(&v, &mdm.mint("k", &claims())).unwrap();
    assert_eq!(first.spend_once(), again.spend_once());
}

#[test]
fn forged_challenges_are_refused() {
    let mdm = Mdm::p256();
    let v = verifier(vec![mdm.trusted("k")]);

    // Signed by another key under the trusted kid.
    let other = Mdm::p256().mint("k", &claims());
    assert_eq!(
        check(&v, &other),
        Err(ChallengeError::BadSignature("k".into()))
    );

    // Claims changed after signing (a wider SAN), signature kept.
    let token = mdm.mint("k", &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let wider = Claims {
        sans: vec!["dns:*.example".into()],
        ..claims()
    };
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&wider).unwrap()),
        parts[2]
    );
    assert_eq!(
        check(&v, &tampered),
        Err(ChallengeError::BadSignature("k".into()))
    );

    // The header changed after signing (typ case is the only leeway, and it is signed too).
    let retyped = format!(
        "{}.{}.{}",
        B64.encode(r#"{"alg":"ES256","kid":"k","typ":"SCEPD-CHALLENGE+JWT"}"#),
        parts[1],
        parts[2]
    );
    assert_eq!(
        check(&v, &retyped),
        Err(ChallengeError::BadSignature("k".into()))
    );
}

#[test]
fn algorithm_confusion_is_refused() {
    let p256 = Mdm::p256();
    let ed = Mdm::ed25519();
    let v = verifier(vec![p256.trusted("ec"), ed.trusted("ed")]);

    let unsigned = forge(
        r#"{"alg":"none","kid":"ec","typ":"scepd-challenge+jwt"}"#,
        &claims(),
        |_| Vec::new(),
    );
    assert_eq!(check(&v, &unsigned).unwrap_err().code(), "bad-algorithm");

    // HS256 keyed with the public key, the classic confusion: the key is not a secret.
    for kid in ["ec", "ed"] {
        let spki = if kid == "ec" { &p256.spki } else { &ed.spki };
        let hs256 = forge(
            &format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"scepd-challenge+jwt"}}"#),
            &claims(),
            |input| {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, spki);
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            },
        );
        assert_eq!(check(&v, &hs256).unwrap_err().code(), "bad-algorithm");
    }

    // An ES256 header on the Ed25519 key (and the reverse), signed correctly by that key.
    let ed_pair = Ed25519KeyPair::from_pkcs8(&ed.pkcs8).unwrap();
    let es_on_ed = forge(
        r#"{"alg":"ES256","kid":"ed","typ":"scepd-challenge+jwt"}"#,
        &claims(),
        |input| ed_pair.sign(input).as_ref().to_vec(),
    );
    assert!(matches!(
        check(&v, &es_on_ed),
        Err(ChallengeError::Algorithm { ref kid, .. }) if kid == "ed"
    ));
    let ec_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &p256.pkcs8).unwrap();
    let ed_on_ec = forge(
        r#"{"alg":"EdDSA","kid":"ec","typ":"scepd-challenge+jwt"}"#,
        &claims(),
        |input| {
            ec_pair
                .sign(&SystemRandom::new(), input)
                .unwrap()
                .as_ref()
                .to_vec()
        },
    );
    assert_eq!(check(&v, &ed_on_ec).unwrap_err().code(), "bad-algorithm");

    for alg in ["RS256", "PS256", "ES384", "ES256K"] {
        let token = forge(
            &format!(r#"{{"alg":"{alg}","kid":"ec","typ":"scepd-challenge+jwt"}}"#),
            &claims(),
            |_| vec![0; 64],
        );
        assert_eq!(
            check(&v, &token).unwrap_err().code(),
            "bad-algorithm",
            "{alg}"
        );
    }
}

#[test]
fn headers_other_than_alg_kid_typ_are_refused() {
    let mdm = Mdm::ed25519();
    let pair = Ed25519KeyPair::from_pkcs8(&mdm.pkcs8).unwrap();
    let v = verifier(vec![mdm.trusted("k")]);
    for header in [
        r#"{"alg":"EdDSA","kid":"k","typ":"scepd-challenge+jwt","crit":["exp"]}"#,
        r#"{"alg":"EdDSA","kid":"k","typ":"scepd-challenge+jwt","jwk":{}}"#,
        r#"{"alg":"EdDSA","kid":"k","typ":"JWT"}"#,
        r#"{"alg":"EdDSA","kid":"k"}"#,
        r#"{"alg":"EdDSA","typ":"scepd-challenge+jwt"}"#,
        r#"{"alg":"EdDSA","alg":"EdDSA","kid":"k","typ":"scepd-challenge+jwt"}"#,
        r#"{"alg":"EdDSA","kid":"k:j","typ":"scepd-challenge+jwt"}"#,
        r#"["EdDSA","k","scepd-challenge+jwt"]"#,
    ] {
        let token = forge(header, &claims(), |input| {
            pair.sign(input).as_ref().to_vec()
        });
        assert_eq!(
            check(&v, &token).unwrap_err().code(),
            "malformed",
            "{header}"
        );
    }
}

#[test]
fn expired_not_yet_valid_and_too_long_lived_challenges_are_refused() {
    let mdm = Mdm::ed25519();
    let v = verifier(vec![mdm.trusted("k")]);
    let expired = mdm.mint(
        "k",
        &Claims {
            iat: NOW - 7200,
            exp: NOW - 120,
            ..claims()
        },
    );
    assert!(matches!(
        check(&v, &expired),
        Err(ChallengeError::Expired { .. })
    ));
    let early = mdm.mint(
        "k",
        &Claims {
            nbf: Some(NOW + 600),
            ..claims()
        },
    );
    assert!(matches!(
        check(&v, &early),
        Err(ChallengeError::NotYetValid { .. })
    ));
    let from_the_future = mdm.mint(
        "k",
        &Claims {
            iat: NOW + 600,
            exp: NOW + 1200,
            ..claims()
        },
    );
    assert!(matches!(
        check(&v, &from_the_future),
        Err(ChallengeError::NotYetValid { .. })
    ));
    let eight_days = mdm.mint(
        "k",
        &Claims {
            exp: NOW + 8 * 24 * 3600,
            ..claims()
        },
    );
    assert!(matches!(
        check(&v, &eight_days),
        Err(ChallengeError::LifetimeTooLong { .. })
    ));
    // A shorter configured lifetime applies.
    let short = SignedChallengeVerifier::new(Settings {
        max_lifetime: std::time::Duration::from_secs(1800),
        ..Settings::new(vec![mdm.trusted("k")])
    })
    .unwrap();
    assert!(matches!(
        short.check(&mdm.mint("k", &claims()), "mdm", "device", NOW),
        Err(ChallengeError::LifetimeTooLong {
            lifetime: 3600,
            max: 1800
        })
    ));
}

#[test]
fn out_of_scope_challenges_are_refused() {
    let mdm = Mdm::p256();
    let v = verifier(vec![mdm.trusted("k")]);
    let token = mdm.mint("k", &claims());
    assert!(matches!(
        v.check(&token, "intune", "device", NOW),
        Err(ChallengeError::WrongEndpoint { .. })
    ));
    assert!(matches!(
        v.check(&token, "mdm", "server", NOW),
        Err(ChallengeError::WrongTemplate { .. })
    ));
    let unknown = Mdm::p256().mint("other", &claims());
    assert_eq!(
        check(&v, &unknown),
        Err(ChallengeError::UnknownKid("other".into()))
    );
}

#[test]
fn malformed_challenges_are_refused() {
    let mdm = Mdm::p256();
    let v = verifier(vec![mdm.trusted("k")]);
    let token = mdm.mint("k", &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let malformed = [
        String::new(),
        "not a jws".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.{}", parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0].replace('e', "+"), parts[1], parts[2]),
        format!("{}.{}!.{}", parts[0], parts[1], parts[2]),
        "e30.e30.".into(),
        "...".into(),
    ];
    for bad in &malformed {
        assert!(check(&v, bad).is_err(), "{bad:?}");
    }
    assert_eq!(check(&v, "a.b").unwrap_err().code(), "malformed");
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(5000), parts[2]);
    assert_eq!(check(&v, &huge), Err(ChallengeError::TooLarge(huge.len())));
}

#[test]
fn minting_refuses_what_the_verifier_would() {
    let mdm = Mdm::p256();
    assert!(mint(&mdm.pkcs8, "a:b", &claims()).is_err());
    assert!(mint(b"not a key", "k", &claims()).is_err());
    assert!(
        mint(
            &mdm.pkcs8,
            "k",
            &Claims {
                sans: vec!["dns:".into()],
                ..claims()
            }
        )
        .is_err()
    );
    assert!(
        mint(
            &mdm.pkcs8,
            "k",
            &Claims {
                exp: NOW,
                ..claims()
            }
        )
        .is_err()
    );
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_pkcs8 =
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
    assert!(matches!(
        mint(rsa_pkcs8.as_ref(), "k", &claims()),
        Err(signed_challenge::MintError::NotASigningKey)
    ));
}

#[test]
fn a_upn_or_sid_uri_binding_is_refused_when_minted_and_when_verified() {
    // Only an MDM that validated the whole CSR vouches for these (ESC1); an MDM minting a
    // challenge offline has not seen the CSR.
    let mdm = Mdm::ed25519();
    let v = verifier(vec![mdm.trusted("k")]);
    let pair = Ed25519KeyPair::from_pkcs8(&mdm.pkcs8).unwrap();
    let header = r#"{"alg":"EdDSA","kid":"k","typ":"scepd-challenge+jwt"}"#;
    for san in [
        "upn:admin@example.com",
        "uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1104",
    ] {
        let bound = Claims {
            sans: vec![san.into()],
            ..claims()
        };
        assert!(
            matches!(
                mint(&mdm.pkcs8, "k", &bound),
                Err(signed_challenge::MintError::Claims(
                    ChallengeError::UnbindableSan(_)
                ))
            ),
            "{san}"
        );
        let signed = forge(header, &bound, |input| pair.sign(input).as_ref().to_vec());
        let refused = check(&v, &signed).unwrap_err();
        assert_eq!(refused, ChallengeError::UnbindableSan(san.into()), "{san}");
        assert_eq!(refused.code(), "bad-binding");
    }
}

#[test]
fn settings_are_checked() {
    use signed_challenge::SettingsError;
    let mdm = Mdm::p256();
    assert_eq!(
        SignedChallengeVerifier::new(Settings::new(vec![])).unwrap_err(),
        SettingsError::NoKeys
    );
    assert_eq!(
        SignedChallengeVerifier::new(Settings::new(vec![
            mdm.trusted("k"),
            Mdm::ed25519().trusted("k")
        ]))
        .unwrap_err(),
        SettingsError::DuplicateKid("k".into())
    );
}

fn question(challenge: &str, endpoint: &str) -> ChallengeQuestion {
    ChallengeQuestion {
        endpoint: endpoint.into(),
        template: "device".into(),
        transaction_id: "tx".into(),
        challenge: Zeroizing::new(challenge.into()),
        csr_der: Vec::new(),
        subject: "CN=dev1,O=Example".into(),
        sans: vec!["dns:dev1.example".into()],
        extended_key_usages: Vec::new(),
        key: "ec-p256".into(),
        key_sha256: "00".into(),
        source: "127.0.0.1".into(),
    }
}

#[tokio::test]
async fn the_gate_gets_a_vouch_or_a_refusal_with_a_code() {
    let mdm = Mdm::ed25519();
    let v = verifier(vec![mdm.trusted("k")]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = mdm.mint(
        "k",
        &Claims {
            iat: now,
            exp: now + 300,
            ..claims()
        },
    );
    assert_eq!(v.kind(), "signed");
    let vouched = v.verify(&question(&token, "mdm")).await.unwrap();
    assert_eq!(vouched.by, "signed kid=k");
    match v.verify(&question(&token, "other")).await {
        Err(VerifierRefusal::Refused { code, detail }) => {
            assert_eq!(code, "wrong-endpoint");
            assert!(!detail.contains(&token), "the token is never in a refusal");
        }
        other => panic!("{other:?}"),
    }
    let refused = v.verify(&question("", "mdm")).await.unwrap_err();
    assert_eq!(refused.code(), "malformed");
}

#[test]
fn keys_as_openssl_writes_them_mint_and_verify() {
    // What an MDM operator is told to run: `openssl genpkey -algorithm ed25519` (PKCS#8 v1,
    // no public key) or `-algorithm EC -pkeyopt ec_paramgen_curve:P-256`, each through
    // `openssl pkcs8 -topk8 -nocrypt -outform DER` (genpkey's DER for EC is SEC 1, not
    // PKCS#8), and `openssl pkey -pubout` for the public half scepd is given.
    for (private, public) in [
        (
            &include_bytes!("fixtures/openssl-ed25519.pk8.der")[..],
            &include_bytes!("fixtures/openssl-ed25519.pub.pem")[..],
        ),
        (
            &include_bytes!("fixtures/openssl-p256.pk8.der")[..],
            &include_bytes!("fixtures/openssl-p256.pub.pem")[..],
        ),
    ] {
        let token = mint(private, "ops", &claims()).unwrap();
        let v = verifier(vec![TrustedKey::from_spki_pem("ops", public).unwrap()]);
        assert_eq!(check(&v, &token).unwrap().kid, "ops");
    }
}
