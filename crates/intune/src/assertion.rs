//! The client assertion with which an app registration proves its certificate to Entra ID
//! (RFC 7523 §2.2, as Microsoft's "certificate credentials" describe it): a JWT signed RS256
//! with the certificate's key, naming the certificate by its thumbprints in the header
//! (`x5t`, SHA-1, which Entra ID has always read; `x5t#S256`, SHA-256, which it reads now),
//! for the token endpoint only (`aud`), from the app itself (`iss` = `sub` = client id), used
//! once (`jti`) and valid for minutes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// The `client_assertion_type` that goes with it.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is good for: long enough for one token request and its retry.
pub const LIFETIME: Duration = Duration::from_secs(300);

/// A signed client assertion for `token_url`.
pub fn client_assertion(
    client_id: &str,
    token_url: &str,
    certificate_der: &[u8],
    key: &dyn keys::Signer,
    now: SystemTime,
) -> Result<Zeroizing<String>, keys::KeyError> {
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": URL_SAFE_NO_PAD.encode(keys::DigestAlgorithm::Sha1.digest(certificate_der)),
        "x5t#S256": URL_SAFE_NO_PAD.encode(keys::DigestAlgorithm::Sha256.digest(certificate_der)),
    });
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let claims = serde_json::json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME.as_secs(),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(
        keys::SignatureAlgorithm::RsaPkcs1Sha256,
        signing_input.as_bytes(),
    )?;
    Ok(Zeroizing::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_that_verifies_with_the_certificate_key() {
        let (certificate_der, key) = crate::test_support::rsa_certificate();
        let url = "https://login.example/tenant/oauth2/v2.0/token";
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let jwt = client_assertion("app-id", url, &certificate_der, key.as_ref(), now).unwrap();

        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        let sha1 = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &certificate_der,
        );
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
        let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &certificate_der);
        assert_eq!(header["x5t#S256"], URL_SAFE_NO_PAD.encode(sha256.as_ref()));

        let claims = decode(parts[1]);
        assert_eq!(claims["aud"], url);
        assert_eq!(claims["iss"], "app-id");
        assert_eq!(claims["sub"], "app-id");
        assert_eq!(claims["nbf"], 1_700_000_000);
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_300);
        uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();

        // Verified by aws-lc-rs directly, with the public key from the certificate.
        let spki = key.public_key_spki_der();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            spki,
        )
        .unwrap()
        .verify_sig(message.as_bytes(), &signature)
        .unwrap();
        let mut tampered = message.into_bytes();
        tampered[0] ^= 1;
        assert!(
            aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                spki,
            )
            .unwrap()
            .verify_sig(&tampered, &signature)
            .is_err()
        );
    }

    #[test]
    fn every_assertion_has_its_own_id() {
        let (certificate_der, key) = crate::test_support::rsa_certificate();
        let jti = || {
            let jwt = client_assertion(
                "a",
                "https://l/t",
                &certificate_der,
                key.as_ref(),
                SystemTime::now(),
            )
            .unwrap();
            decode(jwt.split('.').nth(1).unwrap())["jti"].clone()
        };
        assert_ne!(jti(), jti());
    }
}
