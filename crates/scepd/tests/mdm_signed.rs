//! Signed-challenge endpoints (`challenge = "signed"`) on a running `scepd serve`, with MDM
//! keys made in the test (P-256 and Ed25519) and challenges minted by `scepd challenge
//! mint-signed` and by `signed_challenge::mint`: a valid one enrolls a real SCEP client
//! once; replayed, forged, tampered, expired, not-yet-valid, too long-lived and out-of-scope
//! ones (another endpoint, template, subject or SAN) issue nothing, nor does a signed
//! challenge at a one-time endpoint or the default one; no token reaches a log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod mdm;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use common::{SCEPD, Server, require_tool};
use mdm::{Device, dns, new_transaction};
use rcgen::KeyPair;
use scep_client::SanEntry;
use signed_challenge::Claims;

const P256_KID: &str = "mdm-p256";
const ED25519_KID: &str = "mdm-ed";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

const CONFIG: &str = r#"
[[endpoints]]
name = "mdm"
template = "device"
challenge = "signed"
[endpoints.signed]
keys = [
  { kid = "mdm-p256", public_key_file = "certs/mdm-p256.pub.pem" },
  { kid = "mdm-ed", public_key_file = "certs/mdm-ed.pub.pem" },
]
max_lifetime = "1d"

[[endpoints]]
name = "other"
template = "device"
challenge = "signed"
[endpoints.signed]
keys = [{ kid = "mdm-p256", public_key_file = "certs/mdm-p256.pub.pem" }]

[[endpoints]]
name = "wifi"
template = "device"

# A user template that lets a CSR-validating MDM vouch for UPNs: a signed challenge is not one.
[[templates]]
name = "user"
extended_key_usages = ["clientAuth"]
san_dns = false
[templates.mdm_vouched]
upn = true

[[endpoints]]
name = "mdm-user"
template = "user"
challenge = "signed"
[endpoints.signed]
keys = [{ kid = "mdm-ed", public_key_file = "certs/mdm-ed.pub.pem" }]
"#;

struct Mdm {
    p256: KeyPair,
    ed25519: KeyPair,
    /// Where the P-256 private key is (0600), for the command line.
    p256_file: std::path::PathBuf,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// Claims for endpoint `mdm`, template `device`, an hour from now, binding no names.
fn claims(jti: &str) -> Claims {
    let now = now();
    Claims {
        jti: jti.into(),
        aud: "mdm".into(),
        tpl: "device".into(),
        iat: now,
        exp: now + 3600,
        nbf: None,
        sub: None,
        sans: Vec::new(),
    }
}

fn mint(key: &KeyPair, kid: &str, claims: &Claims) -> String {
    signed_challenge::mint(&key.serialize_der(), kid, claims).unwrap()
}

/// `scepd challenge mint-signed ARGS`, run where there is no data directory: its stdout.
fn mint_cli(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(SCEPD)
        .args(["challenge", "mint-signed"])
        .args(args)
        .current_dir(cwd)
        .env_remove("SCEPD_DATA_DIR")
        .output()
        .unwrap()
}

/// The claims of a token, as JSON.
fn claims_json(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

fn start() -> (Server, Mdm) {
    let p256 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ed25519 = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut p256_file = None;
    let server = mdm::start(
        CONFIG,
        |data| {
            let public = |key: &KeyPair| key.public_key_pem().into_bytes();
            mdm::write_file(data, "certs/mdm-p256.pub.pem", &public(&p256), false);
            mdm::write_file(data, "certs/mdm-ed.pub.pem", &public(&ed25519), false);
            p256_file = Some(mdm::write_file(
                data,
                "keys/mdm-p256.key",
                p256.serialize_pem().as_bytes(),
                true,
            ));
        },
        &[(
            "SCEPD_LOG",
            "debug,sqlx=warn,hyper=warn,hyper_util=warn,rustls=warn,tower=warn,axum=warn",
        )],
    );
    let mdm = Mdm {
        p256,
        ed25519,
        p256_file: p256_file.unwrap(),
    };
    (server, mdm)
}

/// An EdDSA challenge signed without `mint`'s checks of the claims, as a careless MDM could.
fn sign_ed25519_by_hand(key: &KeyPair, claims: &Claims) -> String {
    use rcgen::SigningKey as _;
    let header = format!(
        r#"{{"alg":"EdDSA","kid":"{ED25519_KID}","typ":"{}"}}"#,
        signed_challenge::TOKEN_TYPE
    );
    let input = format!(
        "{}.{}",
        B64.encode(header),
        B64.encode(serde_json::to_vec(claims).unwrap())
    );
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(signature))
}

/// No token, nor its signature alone, is in scepd's log or audit log.
fn assert_tokens_never_recorded(server: &Server, tokens: &[&str]) {
    let log = server.stderr();
    let audit = mdm::audit(server);
    assert!(log.contains("signed challenge"), "nothing logged at debug");
    for token in tokens {
        let signature = token.rsplit('.').next().unwrap();
        for (what, text) in [("log", &log), ("audit log", &audit)] {
            assert!(!text.contains(signature), "a token is in scepd's {what}");
        }
    }
}

fn refused(result: Result<Vec<u8>, scep::FailInfo>, case: &str) {
    assert_eq!(result, Err(scep::FailInfo::BadRequest), "{case}");
}

#[test]
fn a_signed_challenge_enrolls_once_and_only_where_and_for_whom_it_was_minted() {
    let (server, mdm) = start();
    let url = |endpoint: &str| format!("{}/{endpoint}", server.url());

    // The MDM mints with the command line, offline: P-256, bound to the device's names.
    let work = tempfile::tempdir().unwrap();
    let out = mint_cli(
        &[
            "--key",
            mdm.p256_file.to_str().unwrap(),
            "--kid",
            P256_KID,
            "--endpoint",
            "mdm",
            "--template",
            "device",
            "--subject",
            "CN=dev1,O=Example",
            "--san",
            "dns:dev1.example",
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap();
    let token = minted.strip_suffix('\n').unwrap().to_owned();
    assert!(!token.contains('\n'));
    let jti = claims_json(&token)["jti"].as_str().unwrap().to_owned();

    let dev1 = Device::new("CN=dev1,O=Example");
    let sans = [dns("dev1.example")];
    let transaction = new_transaction();
    let certificate = dev1
        .enroll(&url("mdm"), &token, &sans, &transaction)
        .unwrap();
    assert_eq!(server.certificate_count(), 1);
    let audit = mdm::audit(&server);
    assert!(
        audit.contains(&format!("vouched by signed kid={P256_KID}")),
        "{audit}"
    );

    // A retry of the same transaction gets the same certificate; nothing is spent twice.
    assert_eq!(
        dev1.enroll(&url("mdm"), &token, &sans, &transaction)
            .unwrap(),
        certificate
    );
    // The same challenge in a new transaction, or from another device, is a replay.
    refused(
        dev1.enroll(&url("mdm"), &token, &sans, &new_transaction()),
        "replayed by the same device",
    );
    let thief = Device::new("CN=dev1,O=Example");
    refused(
        thief.enroll(&url("mdm"), &token, &sans, &new_transaction()),
        "replayed by another device",
    );
    assert_eq!(server.certificate_count(), 1);
    let audit = mdm::audit(&server);
    assert!(
        audit.contains(&format!("already used: signed:{P256_KID}:{jti}")),
        "{audit}"
    );

    // Ed25519, names left to the template.
    let ed_token = mint(&mdm.ed25519, ED25519_KID, &claims("ed-1"));
    let dev2 = Device::new("CN=dev2,O=Example");
    dev2.enroll(
        &url("mdm"),
        &ed_token,
        &[dns("dev2.example")],
        &new_transaction(),
    )
    .unwrap();
    assert_eq!(server.certificate_count(), 2);

    // Bound names are the only names: another subject, an extra SAN, are refused.
    let refusing = Device::new("CN=refused,O=Example");
    let bound = Claims {
        sub: Some("CN=dev9,O=Example".into()),
        sans: vec!["dns:dev9.example".into()],
        ..claims("bound-sub")
    };
    let other_subject = mint(&mdm.p256, P256_KID, &bound);
    refused(
        refusing.enroll(
            &url("mdm"),
            &other_subject,
            &[dns("dev9.example")],
            &new_transaction(),
        ),
        "another subject",
    );
    let bound_sans = Claims {
        sans: vec!["dns:refused.example".into()],
        ..claims("bound-sans")
    };
    let extra_san = mint(&mdm.p256, P256_KID, &bound_sans);
    refused(
        refusing.enroll(
            &url("mdm"),
            &extra_san,
            &[dns("refused.example"), dns("admin.example")],
            &new_transaction(),
        ),
        "a SAN outside the binding",
    );
    // A signed challenge never vouches for a UPN (ESC1), even on a template that lets a
    // CSR-validating MDM issue one. Signed by hand: `mint` refuses to make such a challenge.
    let upn = sign_ed25519_by_hand(
        &mdm.ed25519,
        &Claims {
            aud: "mdm-user".into(),
            tpl: "user".into(),
            sub: Some("CN=admin".into()),
            sans: vec!["upn:admin@example.com".into()],
            ..claims("upn")
        },
    );
    let by_hand = sign_ed25519_by_hand(&mdm.ed25519, &claims("by-hand"));
    let trusted = signed_challenge::TrustedKey::from_spki_pem(
        ED25519_KID,
        mdm.ed25519.public_key_pem().as_bytes(),
    )
    .unwrap();
    let local =
        signed_challenge::SignedChallengeVerifier::new(signed_challenge::Settings::new(vec![
            trusted,
        ]))
        .unwrap();
    assert!(
        local.check(&by_hand, "mdm", "device", now()).is_ok(),
        "signed by hand wrongly"
    );
    let admin = Device::new("CN=admin");
    refused(
        admin.enroll(
            &url("mdm-user"),
            &upn,
            &[SanEntry::Upn("admin@example.com".into())],
            &new_transaction(),
        ),
        "a UPN bound by a signed challenge",
    );

    // Minted for another endpoint, or another template.
    let for_other = mint(
        &mdm.p256,
        P256_KID,
        &Claims {
            aud: "other".into(),
            ..claims("aud-other")
        },
    );
    refused(
        refusing.enroll(&url("mdm"), &for_other, &[], &new_transaction()),
        "aud = another endpoint",
    );
    let for_kiosk = mint(
        &mdm.p256,
        P256_KID,
        &Claims {
            tpl: "kiosk".into(),
            ..claims("tpl-kiosk")
        },
    );
    refused(
        refusing.enroll(&url("mdm"), &for_kiosk, &[], &new_transaction()),
        "tpl = another template",
    );

    // A signed challenge is not a one-time challenge: the one-time endpoint and the default
    // endpoint refuse it (and spend nothing: it still works where it was minted for).
    let unspent = mint(&mdm.p256, P256_KID, &claims("elsewhere"));
    refused(
        refusing.enroll(&url("wifi"), &unspent, &[], &new_transaction()),
        "at a one-time endpoint",
    );
    refused(
        refusing.enroll(&server.url(), &unspent, &[], &new_transaction()),
        "at the default endpoint",
    );
    assert_eq!(server.certificate_count(), 2);

    // The token minted for "other" was refused at "mdm" for its audience alone.
    let dev3 = Device::new("CN=dev3,O=Example");
    dev3.enroll(&url("other"), &for_other, &[], &new_transaction())
        .unwrap();
    let dev4 = Device::new("CN=dev4,O=Example");
    dev4.enroll(&url("mdm"), &unspent, &[], &new_transaction())
        .unwrap();
    assert_eq!(server.certificate_count(), 4);

    let audit = mdm::audit(&server);
    for said in [
        "name not authorized by challenge",
        "minted for endpoint \\\"other\\\"",
        "minted for template \\\"kiosk\\\"",
        "(bad-binding)",
    ] {
        assert!(audit.contains(said), "{said}: {audit}");
    }
    assert_tokens_never_recorded(
        &server,
        &[
            &token,
            &ed_token,
            &other_subject,
            &extra_san,
            &for_other,
            &for_kiosk,
            &unspent,
            &upn,
        ],
    );
}

#[test]
fn forged_tampered_and_badly_timed_challenges_issue_nothing() {
    let (server, mdm) = start();
    let url = format!("{}/mdm", server.url());
    let device = Device::new("CN=dev5,O=Example");
    let sans = [dns("dev5.example")];
    let bound = Claims {
        sub: Some("CN=dev5,O=Example".into()),
        sans: vec!["dns:dev5.example".into()],
        ..claims("dev5")
    };

    // Signed by a key scepd is not configured with, under a configured kid and under its own.
    let rogue = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let forged = mint(&rogue, P256_KID, &bound);
    refused(
        device.enroll(&url, &forged, &sans, &new_transaction()),
        "forged",
    );
    let rogue_kid = mint(&rogue, "mdm-rogue", &bound);
    refused(
        device.enroll(&url, &rogue_kid, &sans, &new_transaction()),
        "unknown kid",
    );
    // An Ed25519 signature presented as the P-256 key's.
    let confused = mint(&mdm.ed25519, P256_KID, &bound);
    refused(
        device.enroll(&url, &confused, &sans, &new_transaction()),
        "another key's signature under a kid",
    );

    // A genuine challenge with its claims changed (another device's subject), signature kept.
    let genuine = mint(&mdm.p256, P256_KID, &bound);
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut changed = claims_json(&genuine);
    changed["sub"] = "CN=intruder,O=Example".into();
    changed["sans"] = serde_json::json!(["dns:intruder.example"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&changed).unwrap()),
        parts[2]
    );
    let intruder = Device::new("CN=intruder,O=Example");
    refused(
        intruder.enroll(
            &url,
            &tampered,
            &[dns("intruder.example")],
            &new_transaction(),
        ),
        "tampered claims",
    );

    // Expired (past the minute of leeway), not yet valid, longer-lived than max_lifetime.
    let now = now();
    let expired = mint(
        &mdm.p256,
        P256_KID,
        &Claims {
            iat: now - 7200,
            exp: now - 3600,
            ..bound.clone()
        },
    );
    refused(
        device.enroll(&url, &expired, &sans, &new_transaction()),
        "expired",
    );
    let early = mint(
        &mdm.p256,
        P256_KID,
        &Claims {
            nbf: Some(now + 1800),
            ..bound.clone()
        },
    );
    refused(
        device.enroll(&url, &early, &sans, &new_transaction()),
        "not yet valid",
    );
    let long_lived = mint(
        &mdm.ed25519,
        ED25519_KID,
        &Claims {
            exp: now + 2 * 24 * 3600,
            ..bound.clone()
        },
    );
    refused(
        device.enroll(&url, &long_lived, &sans, &new_transaction()),
        "lifetime over max_lifetime",
    );
    assert_eq!(server.certificate_count(), 0);

    let audit = mdm::audit(&server);
    for code in [
        "(bad-signature)",
        "(unknown-kid)",
        "(bad-algorithm)",
        "(expired)",
        "(not-yet-valid)",
        "(lifetime-too-long)",
    ] {
        assert!(audit.contains(code), "{code}: {audit}");
    }

    // The genuine challenge, untouched, was never spent by the attempts above.
    device
        .enroll(&url, &genuine, &sans, &new_transaction())
        .unwrap();
    assert_eq!(server.certificate_count(), 1);
    assert_tokens_never_recorded(
        &server,
        &[
            &forged,
            &rogue_kid,
            &confused,
            &tampered,
            &genuine,
            &expired,
            &early,
            &long_lived,
        ],
    );
}

#[test]
fn mint_signed_needs_no_data_dir_prints_only_the_token_and_guards_the_key() {
    let work = tempfile::tempdir().unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let key_file = mdm::write_file(work.path(), "mdm.key", key.serialize_pem().as_bytes(), true);
    let key_arg = key_file.to_str().unwrap();
    let args = [
        "--key",
        key_arg,
        "--kid",
        "mdm-2026",
        "--endpoint",
        "mdm",
        "--template",
        "device",
        "--subject",
        "CN=dev1,O=Example",
        "--san",
        "dns:dev1.example",
        "--san",
        "ip:192.0.2.7",
        "--ttl",
        "15m",
        "--id",
        "device-42",
    ];
    let out = mint_cli(&args, work.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let [token] = stdout.lines().collect::<Vec<_>>().try_into().unwrap();
    let claims = claims_json(token);
    assert_eq!(claims["jti"], "device-42");
    assert_eq!(claims["aud"], "mdm");
    assert_eq!(claims["tpl"], "device");
    assert_eq!(claims["sub"], "CN=dev1,O=Example");
    assert_eq!(
        claims["sans"],
        serde_json::json!(["dns:dev1.example", "ip:192.0.2.7"])
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        15 * 60
    );
    // What scepd's verifier makes of it, with the public half.
    let trusted =
        signed_challenge::TrustedKey::from_spki_pem("mdm-2026", key.public_key_pem().as_bytes())
            .unwrap();
    let verifier =
        signed_challenge::SignedChallengeVerifier::new(signed_challenge::Settings::new(vec![
            trusted,
        ]))
        .unwrap();
    let accepted = verifier.check(token, "mdm", "device", now()).unwrap();
    assert_eq!(accepted.spend_once(), "signed:mdm-2026:device-42");

    // A key file the group or others can read is refused, naming it; nothing is printed.
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let out = mint_cli(&args, work.path());
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("--key {key_arg}")) && said.contains("chmod 600"),
        "{said}"
    );

    // A wrong flag is named.
    let out = mint_cli(
        &[
            "--key",
            key_arg,
            "--kid",
            "k",
            "--endpoint",
            "MDM!",
            "--template",
            "device",
        ],
        work.path(),
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--endpoint: "));

    // An Ed25519 key as openssl writes it works as well.
    if require_tool("openssl") {
        let ed_key = work.path().join("ed25519.key");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&ed_key)
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::set_permissions(&ed_key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let public = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&ed_key)
            .output()
            .unwrap();
        assert!(public.status.success());
        let out = mint_cli(
            &[
                "--key",
                ed_key.to_str().unwrap(),
                "--kid",
                "ed",
                "--endpoint",
                "mdm",
                "--template",
                "device",
            ],
            work.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap();
        let trusted = signed_challenge::TrustedKey::from_spki_pem("ed", &public.stdout).unwrap();
        let verifier =
            signed_challenge::SignedChallengeVerifier::new(signed_challenge::Settings::new(vec![
                trusted,
            ]))
            .unwrap();
        let accepted = verifier
            .check(token.trim_end(), "mdm", "device", now())
            .unwrap();
        assert_eq!(
            accepted.claims.exp - accepted.claims.iat,
            3600,
            "--ttl defaults to 1h"
        );
        assert_eq!(
            accepted.claims.jti.len(),
            32,
            "--id defaults to 128 random bits"
        );
    }
}
