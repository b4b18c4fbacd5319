//! Signed challenges (`challenge = "signed"`): an MDM mints a per-device challenge itself,
//! offline, with a private key whose public half scepd is configured with; the device
//! presents it as its SCEP challenge password; scepd verifies it and the RA spends its id
//! exactly once. Intune's signed blob, without Intune.
//!
//! # The format
//!
//! A compact JWS (RFC 7515 §7.1): `BASE64URL(header).BASE64URL(claims).BASE64URL(signature)`,
//! base64url without padding, at most 4096 characters ([`MAX_TOKEN_LEN`]; SCEP clients
//! carry the challenge in a PKCS#9 challengePassword, which some limit to 255 characters,
//! so keep the claims short).
//!
//! Header, exactly these three parameters (anything else, `crit` included, is refused):
//!
//! ```json
//! {"alg": "ES256", "kid": "mdm-2026", "typ": "scepd-challenge+jwt"}
//! ```
//!
//! - `alg`: `ES256` (ECDSA P-256, SHA-256, the signature as 64 bytes `r || s`, RFC 7518
//!   §3.4) for a P-256 key, `EdDSA` (Ed25519, RFC 8037) for an Ed25519 key. The algorithm
//!   must be the key's own: `none`, `HS*`, `RS*`, `PS*` and an algorithm that does not match
//!   the key's type are refused.
//! - `kid`: the name scepd's configuration gives the public key, `[A-Za-z0-9._-]{1,64}`.
//! - `typ`: `scepd-challenge+jwt`, so that no other token the same key signs is a challenge.
//!
//! Claims (unknown and duplicate claims are refused):
//!
//! ```json
//! {"jti": "0b6f7a4e-5d1c-4f0e-9a57-2f4c1e0d9b21", "aud": "mdm", "tpl": "device",
//!  "iat": 1767225600, "exp": 1767229200, "nbf": 1767225600,
//!  "sub": "CN=dev1,O=Example", "sans": ["dns:dev1.example", "email:ops@example.com"]}
//! ```
//!
//! - `jti` (required): unique per challenge, 1 to 128 printable ASCII characters. The RA
//!   records `signed:KID:JTI` with the certificate and refuses it the second time.
//! - `aud` (required): the SCEP endpoint's name (`/scep/NAME`). A string, not an array.
//! - `tpl` (required): the endpoint's template.
//! - `iat`, `exp` (required), `nbf` (optional): Unix seconds. `exp - iat` at most the
//!   configured lifetime (7 days by default, [`DEFAULT_MAX_LIFETIME`]); clocks may disagree
//!   by [`DEFAULT_LEEWAY`].
//! - `sub` (optional): the subject the certificate must have, RFC 4514, last RDN first.
//! - `sans` (optional): the only subjectAltNames the certificate may have, as `dns:NAME`,
//!   `ip:ADDRESS` or `email:ADDRESS`. With `sub` or `sans` present every SAN is bound; with
//!   neither, names are left to the template.
//!
//! What is issued still goes through the template's policy: a signed challenge narrows what
//! the template allows, it never widens it.
//!
//! # Example
//!
//! ```
//! use aws_lc_rs::encoding::AsDer;
//! use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
//! use signed_challenge::{Claims, Settings, SignedChallengeVerifier, TrustedKey, mint};
//!
//! // The MDM's key pair; scepd is given the public half (a PEM or DER SubjectPublicKeyInfo).
//! let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
//! let spki = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap().public_key().as_der().unwrap();
//!
//! let now = 1_767_225_600;
//! let claims = Claims {
//!     jti: "0b6f7a4e".into(), aud: "mdm".into(), tpl: "device".into(),
//!     iat: now, exp: now + 3600, nbf: None,
//!     sub: Some("CN=dev1".into()), sans: vec!["dns:dev1.example".into()],
//! };
//! let challenge = mint(pkcs8.as_ref(), "mdm-2026", &claims).unwrap();
//!
//! let key = TrustedKey::from_spki_der("mdm-2026", spki.as_ref()).unwrap();
//! let verifier = SignedChallengeVerifier::new(Settings::new(vec![key])).unwrap();
//! let accepted = verifier.check(&challenge, "mdm", "device", now + 60).unwrap();
//! assert_eq!(accepted.spend_once(), "signed:mdm-2026:0b6f7a4e");
//! assert!(verifier.check(&challenge, "other-endpoint", "device", now + 60).is_err());
//! ```
#![forbid(unsafe_code)]

mod claims;
mod error;
mod json;
mod keys;
mod mint;
mod token;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub use claims::{Claims, MAX_JTI_LEN};
pub use error::ChallengeError;
pub use keys::{Algorithm, KeyError, MAX_KID_LEN, TrustedKey};
pub use mint::{MintError, mint};
pub use token::{MAX_TOKEN_LEN, TOKEN_TYPE};
use vouch::{
    ChallengeQuestion, ChallengeVerifier, IssuedFacts, VerifierFuture, VerifierRefusal, Vouched,
};

/// The longest `exp - iat` accepted unless configured otherwise.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far scepd's clock and the MDM's may disagree.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// What the verifier is configured with (`[[endpoints]]` with `challenge = "signed"`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub keys: Vec<TrustedKey>,
    /// The longest `exp - iat` accepted.
    pub max_lifetime: Duration,
    /// How far clocks may disagree, applied to `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl Settings {
    /// `keys` with the default lifetime and leeway.
    pub fn new(keys: Vec<TrustedKey>) -> Self {
        Self {
            keys,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            leeway: DEFAULT_LEEWAY,
        }
    }
}

/// A configuration the verifier cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("no trusted key: every signed challenge would be refused")]
    NoKeys,
    #[error("kid {0:?} names two keys")]
    DuplicateKid(String),
    #[error("max_lifetime must be between 1 s and 10 years")]
    Lifetime,
    #[error("leeway must be at most 1 hour")]
    Leeway,
}

/// A signed challenge that verified, for one endpoint and template at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub kid: String,
    pub claims: Claims,
}

impl Accepted {
    /// What the RA spends once: `signed:KID:JTI` (a kid never contains `:`).
    pub fn spend_once(&self) -> String {
        format!("signed:{}:{}", self.kid, self.claims.jti)
    }

    /// The verifier's yes: the claims' binding, the id to spend.
    pub fn vouched(&self) -> Vouched {
        Vouched {
            binding: self.claims.binding(),
            csr_validated: false,
            spend_once: Some(self.spend_once()),
            by: format!("signed kid={}", self.kid),
        }
    }
}

/// Verifies signed challenges against the configured keys. Stateless: spending the id once
/// is the RA's.
#[derive(Debug)]
pub struct SignedChallengeVerifier {
    keys: HashMap<String, TrustedKey>,
    max_lifetime: i64,
    leeway: i64,
}

impl SignedChallengeVerifier {
    pub fn new(settings: Settings) -> Result<Self, SettingsError> {
        if settings.keys.is_empty() {
            return Err(SettingsError::NoKeys);
        }
        let max_lifetime = seconds(settings.max_lifetime, 10 * 365 * 24 * 3600)
            .filter(|s| *s > 0)
            .ok_or(SettingsError::Lifetime)?;
        let leeway = seconds(settings.leeway, 3600).ok_or(SettingsError::Leeway)?;
        let mut keys = HashMap::with_capacity(settings.keys.len());
        for key in settings.keys {
            let kid = key.kid().to_owned();
            if keys.insert(kid.clone(), key).is_some() {
                return Err(SettingsError::DuplicateKid(kid));
            }
        }
        Ok(Self {
            keys,
            max_lifetime,
            leeway,
        })
    }

    /// Verifies `token` for `endpoint` and its `template` at `now` (Unix seconds): the
    /// signature with the kid's key and algorithm, the times, the scope, the names.
    pub fn check(
        &self,
        token: &str,
        endpoint: &str,
        template: &str,
        now: i64,
    ) -> Result<Accepted, ChallengeError> {
        let (kid, claims) = token::verify(token, &self.keys)?;
        claims.check_time(now, self.leeway, self.max_lifetime)?;
        claims.check_scope(endpoint, template)?;
        Ok(Accepted { kid, claims })
    }
}

/// Whole seconds of `duration`, if at most `max`.
fn seconds(duration: Duration, max: i64) -> Option<i64> {
    i64::try_from(duration.as_secs()).ok().filter(|s| *s <= max)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl ChallengeVerifier for SignedChallengeVerifier {
    fn kind(&self) -> &'static str {
        "signed"
    }

    fn verify<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
    ) -> VerifierFuture<'a, Result<Vouched, VerifierRefusal>> {
        Box::pin(async move {
            let checked = self.check(
                &question.challenge,
                &question.endpoint,
                &question.template,
                unix_now(),
            );
            match checked {
                Ok(accepted) => {
                    tracing::debug!(
                        endpoint = %question.endpoint,
                        kid = %accepted.kid,
                        jti = %accepted.claims.jti,
                        "signed challenge verified"
                    );
                    Ok(accepted.vouched())
                }
                Err(error) => {
                    tracing::debug!(
                        endpoint = %question.endpoint,
                        code = error.code(),
                        %error,
                        "signed challenge refused"
                    );
                    Err(error.into())
                }
            }
        })
    }

    /// Nothing to acknowledge: the MDM minted the challenge and is not asked again.
    fn issued<'a>(
        &'a self,
        _question: &'a ChallengeQuestion,
        _issued: &'a IssuedFacts,
    ) -> VerifierFuture<'a, Result<(), VerifierRefusal>> {
        Box::pin(async { Ok(()) })
    }

    fn failed<'a>(
        &'a self,
        _question: &'a ChallengeQuestion,
        _description: &'a str,
    ) -> VerifierFuture<'a, ()> {
        Box::pin(async {})
    }
}
