//! The compact JWS (RFC 7515 §7.1): `BASE64URL(header) "." BASE64URL(claims) "."
//! BASE64URL(signature)`, read in the order that exposes the least to an unsigned input: the
//! header (to pick the key), the signature over the first two parts, and only then the claims.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::error::ChallengeError;
use crate::json::from_json_object;
use crate::keys::{Algorithm, TrustedKey, check_kid};

/// The longest signed challenge: far above what the claims need (a subject and a few SANs),
/// far below what would make parsing it cost anything.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The `typ` every signed challenge carries, so that no other JWT signed with the same key
/// (an access token, a different product's challenge) is accepted as one.
pub const TOKEN_TYPE: &str = "scepd-challenge+jwt";

/// The protected header. Any other parameter is refused: `crit` (extensions scepd would have
/// to understand), `jwk`/`jku`/`x5u` (keys the token brings along), `b64` (an unencoded
/// payload) are all things a verifier must not silently skip.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub alg: String,
    pub kid: String,
    pub typ: String,
}

/// The kid and claims of a token whose signature verified with that kid's key.
pub(crate) fn verify(
    token: &str,
    keys: &HashMap<String, TrustedKey>,
) -> Result<(String, Claims), ChallengeError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ChallengeError::TooLarge(token.len()));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ChallengeError::Malformed(
            "not three base64url parts separated by '.'".into(),
        ));
    };
    let header: Header = from_json_object("header", &decode("header", header_b64)?)?;
    if !header.typ.eq_ignore_ascii_case(TOKEN_TYPE) {
        return Err(ChallengeError::Malformed(format!(
            "header typ is not {TOKEN_TYPE:?}"
        )));
    }
    // The kid is the token's to choose; a malformed one is not echoed into the log.
    check_kid(&header.kid).map_err(|_| ChallengeError::Malformed("header kid".into()))?;
    let algorithm = Algorithm::from_jws_name(&header.alg).ok_or_else(|| {
        let why = match header.alg.as_str() {
            a if a.eq_ignore_ascii_case("none") => "unsigned challenges are never accepted",
            a if a.starts_with("HS") => "scepd holds public keys only, never a shared secret",
            _ => "only ES256 and EdDSA are accepted",
        };
        ChallengeError::Algorithm {
            alg: header.alg.chars().take(16).collect(),
            kid: header.kid.clone(),
            why,
        }
    })?;
    let key = keys
        .get(&header.kid)
        .ok_or_else(|| ChallengeError::UnknownKid(header.kid.clone()))?;
    if key.algorithm() != algorithm {
        return Err(ChallengeError::Algorithm {
            alg: header.alg,
            kid: header.kid,
            why: match key.algorithm() {
                Algorithm::Es256 => "the key is P-256: ES256 only",
                Algorithm::EdDsa => "the key is Ed25519: EdDSA only",
            },
        });
    }
    let signature = decode("signature", signature_b64)?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    if !key.verifies(signing_input.as_bytes(), &signature) {
        return Err(ChallengeError::BadSignature(header.kid));
    }
    let claims = Claims::from_json(&decode("claims", claims_b64)?)?;
    Ok((header.kid, claims))
}

/// Unpadded base64url, canonical (no padding, no stray bits), as RFC 7515 §2 writes it.
fn decode(part: &str, b64: &str) -> Result<Vec<u8>, ChallengeError> {
    URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| ChallengeError::Malformed(format!("{part} is not unpadded base64url")))
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
