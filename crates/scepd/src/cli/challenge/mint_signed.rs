//! `scepd challenge mint-signed`: mints a signed challenge (`challenge = "signed"` endpoints)
//! the way an MDM does, from the MDM's private key, and prints it, and nothing else, on stdout.
//! It reads no data directory and stores nothing: the challenge is whole in itself, and the
//! scepd that verifies it may run anywhere else. For MDM developers, scripts and tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject as _;
use signed_challenge::{ChallengeError, Claims, MAX_JTI_LEN, MintError};
use zeroize::Zeroizing;

/// No endpoint accepts a longer lifetime (`[endpoints.signed] max_lifetime` is at most 10
/// years): a longer one would mint a challenge that can never be used.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(clap::Args)]
pub struct MintSignedArgs {
    /// The MDM's private key: PKCS#8 PEM ("BEGIN PRIVATE KEY"), P-256 (ES256) or Ed25519
    /// (EdDSA), readable by its owner only (chmod 600).
    #[arg(long)]
    pub key: PathBuf,
    /// The key's id: the `kid` scepd's `[endpoints.signed] keys` give its public half.
    #[arg(long)]
    pub kid: String,
    /// The endpoint the challenge is for (`/scep/NAME`).
    #[arg(long)]
    pub endpoint: String,
    /// The endpoint's template.
    #[arg(long)]
    pub template: String,
    /// Subject the certificate must have, e.g. "CN=dev1,O=Example".
    #[arg(long)]
    pub subject: Option<String>,
    /// A subject alternative name the certificate may carry (dns:NAME, ip:ADDRESS,
    /// email:ADDRESS); repeatable. With --subject or --san, no other SAN is allowed.
    #[arg(long = "san")]
    pub sans: Vec<String>,
    /// Lifetime, e.g. 15m, 1h, 7d (at most the endpoint's max_lifetime, 7 days by default).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// The challenge's unique id, spent once by scepd (default: 128 random bits in hex).
    #[arg(long)]
    pub id: Option<String>,
}

/// Why no challenge was minted; each message names the flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum MintSignedError {
    #[error("--key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("--kid: {0}")]
    Kid(#[source] signed_challenge::KeyError),
    #[error(
        "--endpoint: {0:?} is not an endpoint name (1 to {max} of a-z, 0-9, '-', '_')",
        max = ra::endpoint::MAX_ENDPOINT_NAME_LEN
    )]
    Endpoint(String),
    #[error("--template: must not be empty")]
    Template,
    #[error("--ttl: {0}")]
    Ttl(&'static str),
    #[error("--id: 1 to {MAX_JTI_LEN} printable ASCII characters without spaces")]
    Id,
    #[error("--subject/--san: {0}")]
    Names(#[source] signed_challenge::ChallengeError),
    #[error("challenge not minted: {0}")]
    Mint(#[source] MintError),
    #[error("challenge not minted: no randomness for its id: {0}")]
    Random(#[source] keys::KeyError),
}

/// The signed challenge for `args`, issued at `now` (Unix seconds).
pub fn mint_signed(args: MintSignedArgs, now: i64) -> Result<Zeroizing<String>, MintSignedError> {
    if !ra::endpoint::is_valid_endpoint_name(&args.endpoint) {
        return Err(MintSignedError::Endpoint(args.endpoint));
    }
    if args.template.is_empty() {
        return Err(MintSignedError::Template);
    }
    let ttl = lifetime(args.ttl)?;
    let jti = match args.id {
        Some(id) if is_valid_id(&id) => id,
        Some(_) => return Err(MintSignedError::Id),
        None => hex::encode(keys::random::bytes(16).map_err(MintSignedError::Random)?),
    };
    let claims = Claims {
        jti,
        aud: args.endpoint,
        tpl: args.template,
        iat: now,
        exp: now.saturating_add(ttl),
        nbf: None,
        sub: args.subject,
        sans: args.sans,
    };
    let key = signing_key(&args.key)?;
    signed_challenge::mint(&key, &args.kid, &claims)
        .map(Zeroizing::new)
        .map_err(|error| match error {
            MintError::Kid(e) => MintSignedError::Kid(e),
            MintError::NotASigningKey => MintSignedError::Key {
                path: args.key.clone(),
                reason: error.to_string(),
            },
            MintError::Claims(
                e @ (ChallengeError::BadBinding(_) | ChallengeError::UnbindableSan(_)),
            ) => MintSignedError::Names(e),
            other => MintSignedError::Mint(other),
        })
}

fn lifetime(ttl: Duration) -> Result<i64, MintSignedError> {
    if ttl < Duration::from_secs(1) {
        return Err(MintSignedError::Ttl("must be at least 1 s"));
    }
    if ttl > MAX_TTL {
        return Err(MintSignedError::Ttl(
            "at most 10 years: no endpoint accepts a longer lifetime",
        ));
    }
    i64::try_from(ttl.as_secs()).map_err(|_| MintSignedError::Ttl("too long"))
}

/// What the verifier accepts as a `jti` (checked here to name the flag, not the claim).
fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_JTI_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The PKCS#8 DER of the key file, which only its owner may read (the rule for key files).
fn signing_key(path: &Path) -> Result<Zeroizing<Vec<u8>>, MintSignedError> {
    let fail = |reason: String| MintSignedError::Key {
        path: path.to_owned(),
        reason,
    };
    let pem = keys::secret::read_secret(Some(path), "").map_err(|e| match e {
        keys::KeyError::Secret { problem, .. } => fail(problem),
        other => fail(other.to_string()),
    })?;
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        fail(
            "not an unencrypted PKCS#8 PEM private key (\"BEGIN PRIVATE KEY\"; \
             `openssl pkcs8 -topk8 -nocrypt` converts one)"
                .into(),
        )
    })?;
    Ok(Zeroizing::new(der.secret_pkcs8_der().to_vec()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use signed_challenge::{Settings, SignedChallengeVerifier, TrustedKey};

    const NOW: i64 = 1_767_225_600;

    fn key_file(dir: &Path, algorithm: &'static rcgen::SignatureAlgorithm) -> (PathBuf, String) {
        let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
        let path = dir.join("mdm.key");
        std::fs::write(&path, key.serialize_pem()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        (path, key.public_key_pem())
    }

    fn args(key: &Path) -> MintSignedArgs {
        MintSignedArgs {
            key: key.to_owned(),
            kid: "mdm-2026".into(),
            endpoint: "mdm".into(),
            template: "device".into(),
            subject: Some("CN=dev1,O=Example".into()),
            sans: vec!["dns:dev1.example".into()],
            ttl: Duration::from_secs(3600),
            id: None,
        }
    }

    fn verifier(public_pem: &str) -> SignedChallengeVerifier {
        let key = TrustedKey::from_spki_pem("mdm-2026", public_pem.as_bytes()).unwrap();
        SignedChallengeVerifier::new(Settings::new(vec![key])).unwrap()
    }

    #[test]
    fn p256_and_ed25519_keys_mint_what_the_verifier_accepts() {
        for algorithm in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519] {
            let dir = tempfile::tempdir().unwrap();
            let (path, public) = key_file(dir.path(), algorithm);
            let token = mint_signed(args(&path), NOW).unwrap();
            let accepted = verifier(&public)
                .check(&token, "mdm", "device", NOW + 10)
                .unwrap();
            assert_eq!(accepted.claims.exp - accepted.claims.iat, 3600);
            assert_eq!(accepted.claims.sub.as_deref(), Some("CN=dev1,O=Example"));
            assert_eq!(accepted.claims.sans, ["dns:dev1.example"]);
            // The default id is 128 random bits, so two challenges never share it.
            assert_eq!(accepted.claims.jti.len(), 32);
            let again = mint_signed(args(&path), NOW).unwrap();
            let second = verifier(&public)
                .check(&again, "mdm", "device", NOW)
                .unwrap();
            assert_ne!(second.claims.jti, accepted.claims.jti);
        }
    }

    #[test]
    fn a_given_id_is_the_jti() {
        let dir = tempfile::tempdir().unwrap();
        let (path, public) = key_file(dir.path(), &rcgen::PKCS_ED25519);
        let token = mint_signed(
            MintSignedArgs {
                id: Some("device-42".into()),
                ..args(&path)
            },
            NOW,
        )
        .unwrap();
        let accepted = verifier(&public)
            .check(&token, "mdm", "device", NOW)
            .unwrap();
        assert_eq!(accepted.spend_once(), "signed:mdm-2026:device-42");
    }

    #[test]
    fn a_key_others_can_read_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = key_file(dir.path(), &rcgen::PKCS_ECDSA_P256_SHA256);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = mint_signed(args(&path), NOW).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("--key {}: ", path.display())),
            "{error}"
        );
        assert!(
            error.contains("0644") && error.contains("chmod 600"),
            "{error}"
        );
    }

    #[test]
    fn wrong_flags_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = key_file(dir.path(), &rcgen::PKCS_ECDSA_P256_SHA256);
        let rsa = dir.path().join("rsa.key");
        std::fs::write(
            &rsa,
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::set_permissions(&rsa, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cases: Vec<(MintSignedArgs, &str)> = vec![
            (
                MintSignedArgs {
                    kid: "a:b".into(),
                    ..args(&path)
                },
                "--kid: ",
            ),
            (
                MintSignedArgs {
                    endpoint: "Mdm/x".into(),
                    ..args(&path)
                },
                "--endpoint: ",
            ),
            (
                MintSignedArgs {
                    template: String::new(),
                    ..args(&path)
                },
                "--template: ",
            ),
            (
                MintSignedArgs {
                    ttl: Duration::ZERO,
                    ..args(&path)
                },
                "--ttl: ",
            ),
            (
                MintSignedArgs {
                    ttl: MAX_TTL + Duration::from_secs(1),
                    ..args(&path)
                },
                "--ttl: ",
            ),
            (
                MintSignedArgs {
                    id: Some("a b".into()),
                    ..args(&path)
                },
                "--id: ",
            ),
            (
                MintSignedArgs {
                    id: Some("x".repeat(129)),
                    ..args(&path)
                },
                "--id: ",
            ),
            (
                MintSignedArgs {
                    subject: Some("not a DN".into()),
                    ..args(&path)
                },
                "--subject/--san: ",
            ),
            (
                MintSignedArgs {
                    sans: vec!["upn:admin@example.com".into()],
                    ..args(&path)
                },
                "--subject/--san: ",
            ),
            (
                MintSignedArgs {
                    sans: vec!["dns:not a name".into()],
                    ..args(&path)
                },
                "--subject/--san: ",
            ),
            (MintSignedArgs { ..args(&rsa) }, "--key "),
            (
                MintSignedArgs {
                    ..args(&dir.path().join("missing"))
                },
                "--key ",
            ),
        ];
        for (args, flag) in cases {
            let error = mint_signed(args, NOW).unwrap_err().to_string();
            assert!(error.starts_with(flag), "{flag}: {error}");
        }
    }
}
