//! What the mock checks in what it receives, as pure functions: each returns what is wrong.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// The body must be an object with exactly these keys.
pub(crate) fn exact_object<'a>(
    value: &'a Value,
    what: &str,
    keys: &[&str],
) -> Result<&'a Map<String, Value>, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{what} is not a JSON object"))?;
    let expected: HashSet<&str> = keys.iter().copied().collect();
    let got: HashSet<&str> = object.keys().map(String::as_str).collect();
    if expected != got {
        let mut missing: Vec<&str> = expected.difference(&got).copied().collect();
        let mut extra: Vec<&str> = got.difference(&expected).copied().collect();
        missing.sort_unstable();
        extra.sort_unstable();
        return Err(format!(
            "{what} has the wrong keys (missing {missing:?}, unexpected {extra:?})"
        ));
    }
    Ok(object)
}

/// A non-empty string field.
pub(crate) fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(other) => Err(format!("{key} is not a non-empty string: {other}")),
        None => Err(format!("{key} is missing")),
    }
}

/// A string field or null (or absent).
pub(crate) fn optional_text<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} is neither a string nor null: {other}")),
    }
}

/// `certificateRequest`: base64 of a DER PKCS#10 request.
pub(crate) fn pkcs10_base64(encoded: &str) -> Result<(), String> {
    use der::Decode;
    let der = STANDARD
        .decode(encoded)
        .map_err(|e| format!("certificateRequest is not base64: {e}"))?;
    x509_cert::request::CertReq::from_der(&der)
        .map_err(|e| format!("certificateRequest is not a DER PKCS#10 request: {e}"))?;
    Ok(())
}

/// A `client-request-id`: a UUID.
pub(crate) fn request_id(value: Option<&str>) -> Result<String, String> {
    let value = value.ok_or_else(|| "no client-request-id header".to_owned())?;
    uuid::Uuid::parse_str(value)
        .map_err(|_| format!("client-request-id {value:?} is not a UUID"))?;
    Ok(value.to_owned())
}

/// What a client assertion must be, besides unseen (`jti`).
pub(crate) struct AssertionRules<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) token_url: &'a str,
    pub(crate) certificate_der: &'a [u8],
}

/// Checks a client assertion (RFC 7523, Entra ID's certificate credentials): an RS256 JWT
/// naming the registered certificate by `x5t` or `x5t#S256`, signed by its key, for the
/// token URL, from the app, current and short-lived. Returns its `jti`.
pub(crate) fn client_assertion(jwt: &str, rules: &AssertionRules<'_>) -> Result<String, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("the client assertion is not a compact JWS".to_owned());
    };
    let decode_json = |part: &str, what: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| format!("the assertion's {what} is not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("the assertion's {what}: {e}"))
    };
    let header = decode_json(header, "header")?;
    let claims_json = decode_json(claims, "claims")?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(format!(
            "the assertion's alg is {}, not RS256",
            header["alg"]
        ));
    }
    let sha1 = keys::DigestAlgorithm::Sha1.digest(rules.certificate_der);
    let sha256 = keys::DigestAlgorithm::Sha256.digest(rules.certificate_der);
    let names_certificate = header.get("x5t").and_then(Value::as_str)
        == Some(URL_SAFE_NO_PAD.encode(&sha1).as_str())
        || header.get("x5t#S256").and_then(Value::as_str)
            == Some(URL_SAFE_NO_PAD.encode(&sha256).as_str());
    if !names_certificate {
        return Err(
            "the assertion's x5t / x5t#S256 does not name the registered certificate".to_owned(),
        );
    }

    let spki = {
        use der::{Decode, Encode};
        let certificate = x509_cert::Certificate::from_der(rules.certificate_der)
            .map_err(|e| format!("the registered certificate: {e}"))?;
        certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("the registered certificate's key: {e}"))?
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("the assertion's signature is not base64url: {e}"))?;
    let signing_input = &jwt[..jwt.len() - parts[2].len() - 1];
    keys::verify::verify_signature(
        &spki,
        keys::SignatureAlgorithm::RsaPkcs1Sha256,
        signing_input.as_bytes(),
        &signature,
    )
    .map_err(|e| format!("the assertion's signature does not verify: {e}"))?;

    let claims = claims_json
        .as_object()
        .ok_or_else(|| "the assertion's claims are not an object".to_owned())?;
    if claims.get("aud").and_then(Value::as_str) != Some(rules.token_url) {
        return Err(format!(
            "the assertion's aud is {}, not the token URL",
            claims.get("aud").unwrap_or(&Value::Null)
        ));
    }
    for key in ["iss", "sub"] {
        if claims.get(key).and_then(Value::as_str) != Some(rules.client_id) {
            return Err(format!("the assertion's {key} is not the client id"));
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let time = |key: &str| {
        claims
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the assertion has no numeric {key}"))
    };
    let (nbf, exp) = (time("nbf")?, time("exp")?);
    // Entra ID allows some clock skew; the mock allows a minute.
    if nbf > now + 60 {
        return Err("the assertion is not yet valid (nbf)".to_owned());
    }
    if exp <= now {
        return Err("the assertion has expired (exp)".to_owned());
    }
    if exp.saturating_sub(nbf) > 3600 {
        return Err("the assertion is valid for more than an hour".to_owned());
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|jti| !jti.is_empty())
        .ok_or_else(|| "the assertion has no jti".to_owned())?;
    Ok(jti.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_must_have_exactly_its_keys() {
        let value = json!({"transactionId": "t", "certificateRequest": "c", "callerinfo": "x"});
        let err = exact_object(
            &value,
            "request",
            &["transactionId", "certificateRequest", "callerInfo"],
        )
        .unwrap_err();
        assert!(
            err.contains("missing [\"callerInfo\"]") && err.contains("unexpected [\"callerinfo\"]"),
            "{err}"
        );
        assert!(exact_object(&json!([]), "request", &[]).is_err());
    }

    #[test]
    fn a_csr_must_be_base64_der_pkcs10() {
        assert!(
            pkcs10_base64("not base64!")
                .unwrap_err()
                .contains("not base64")
        );
        assert!(pkcs10_base64("MIIB/w==").unwrap_err().contains("PKCS#10"));
    }

    #[test]
    fn a_request_id_must_be_a_uuid() {
        assert!(request_id(None).is_err());
        assert!(request_id(Some("1234")).is_err());
        request_id(Some("0f8fad5b-d9cb-469f-a165-70867728950e")).unwrap();
    }
}
