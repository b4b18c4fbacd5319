//! The bodies of the `ScepRequestValidationFEService` calls (`ScepActions/…`,
//! `api-version: 2018-02-20`) and the reading of their answer, `{"code", "errorDescription"}`:
//! only the code `Success` lets a request go on.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub const API_VERSION: &str = "2018-02-20";
/// The one code that lets a request go on.
pub const SUCCESS: &str = "Success";
/// Intune keeps at most this many characters of a failure's description.
pub const MAX_DESCRIPTION_CHARS: usize = 255;

pub(crate) const VALIDATE: &str = "ScepActions/validateRequest";
pub(crate) const SUCCESS_NOTIFICATION: &str = "ScepActions/successNotification";
pub(crate) const FAILURE_NOTIFICATION: &str = "ScepActions/failureNotification";

/// `{"request": {"transactionId", "certificateRequest", "callerInfo"}}`, the CSR as the
/// device sent it, DER in base64.
pub(crate) fn validate_body(transaction_id: &str, csr_der: &[u8], caller: &str) -> Value {
    json!({
        "request": {
            "transactionId": transaction_id,
            "certificateRequest": STANDARD.encode(csr_der),
            "callerInfo": caller,
        }
    })
}

/// What Intune is told about an issued certificate.
pub(crate) fn success_body(
    transaction_id: &str,
    csr_der: &[u8],
    issued: &vouch::IssuedFacts,
    caller: &str,
) -> Result<Value, String> {
    Ok(json!({
        "notification": {
            "transactionId": transaction_id,
            "certificateRequest": STANDARD.encode(csr_der),
            "certificateThumbprint": issued.thumbprint_sha1,
            "certificateSerialNumber": issued.serial_hex,
            "certificateExpirationDateUtc": expiration(issued.not_after)?,
            "issuingCertificateAuthority": issued.issuer,
            "callerInfo": caller,
        }
    }))
}

/// What Intune is told when issuing failed after it validated the request. `hresult` goes
/// as the signed 32-bit number it is (`0x8000FFFF` is -2147418113), as the Java reference
/// library sends the HRESULT literals of its example; the description is cut to 255
/// characters and never empty.
pub(crate) fn failure_body(
    transaction_id: &str,
    csr_der: &[u8],
    hresult: u32,
    description: &str,
    caller: &str,
) -> Value {
    json!({
        "notification": {
            "transactionId": transaction_id,
            "certificateRequest": STANDARD.encode(csr_der),
            "hResult": i64::from(hresult as i32),
            "errorDescription": bounded_description(description),
            "callerInfo": caller,
        }
    })
}

fn bounded_description(description: &str) -> String {
    let cleaned: String = description
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DESCRIPTION_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "certificate issuance failed".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// A code as a metrics label and a log word: letters, digits, `_`, `.`, `-`, the others
/// shown as `?`, at most 64 characters.
fn label(code: &str) -> String {
    let label: String = code
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '?'
            }
        })
        .collect();
    if label.is_empty() {
        "?".to_owned()
    } else {
        label
    }
}

/// ISO 8601 in UTC with milliseconds, `2026-05-01T12:00:00.000Z`.
fn expiration(not_after: i64) -> Result<String, String> {
    let secs = u64::try_from(not_after)
        .map_err(|_| format!("the certificate expires before 1970 ({not_after})"))?;
    let at = UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(|| format!("the certificate's expiry {not_after} is out of range"))?;
    Ok(humantime::format_rfc3339_millis(at).to_string())
}

/// What Intune answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Refused { code: String, description: String },
}

/// `{"code": "…", "errorDescription": "…"}`: exactly `Success` passes, any other code
/// (known to the reference libraries or not) is a refusal; no code at all is not an answer.
pub(crate) fn read_verdict(json: &Value) -> Result<Verdict, String> {
    let code = json
        .get("code")
        .and_then(Value::as_str)
        .ok_or_else(|| "no \"code\"".to_owned())?;
    if code == SUCCESS {
        return Ok(Verdict::Success);
    }
    let description = json
        .get("errorDescription")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(Verdict::Refused {
        code: label(code),
        description: crate::error::clean_detail(description),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn validate_request_carries_the_whole_csr_in_base64() {
        let body = validate_body("tx-1", &[0x30, 0x82, 0x01, 0xff], "scepd/1");
        assert_eq!(
            body,
            json!({"request": {"transactionId": "tx-1", "certificateRequest": "MIIB/w==",
                               "callerInfo": "scepd/1"}})
        );
    }

    #[test]
    fn success_notification_describes_the_certificate() {
        let issued = vouch::IssuedFacts {
            certificate_der: vec![1, 2, 3],
            thumbprint_sha1: "A".repeat(40),
            serial_hex: "01ab".to_owned(),
            not_after: 1_777_636_800,
            issuer: "CN=Issuing CA,O=Example".to_owned(),
        };
        let body = success_body("tx-2", b"csr", &issued, "scepd/1").unwrap();
        assert_eq!(
            body,
            json!({"notification": {
                "transactionId": "tx-2",
                "certificateRequest": "Y3Ny",
                "certificateThumbprint": "A".repeat(40),
                "certificateSerialNumber": "01ab",
                "certificateExpirationDateUtc": "2026-05-01T12:00:00.000Z",
                "issuingCertificateAuthority": "CN=Issuing CA,O=Example",
                "callerInfo": "scepd/1",
            }})
        );
        let before_1970 = vouch::IssuedFacts {
            not_after: -1,
            ..issued
        };
        assert!(success_body("tx", b"c", &before_1970, "p").is_err());
    }

    #[test]
    fn failure_notification_sends_a_signed_hresult_and_a_bounded_description() {
        let body = failure_body("tx-3", b"csr", 0x8000_FFFF, &"é".repeat(300), "p");
        let notification = &body["notification"];
        assert_eq!(notification["hResult"], -2_147_418_113_i64);
        assert_eq!(
            notification["errorDescription"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_DESCRIPTION_CHARS
        );
        assert_eq!(notification["transactionId"], "tx-3");
        assert_eq!(notification["certificateRequest"], "Y3Ny");
        let empty = failure_body("tx", b"c", 1, " \n", "p");
        assert_eq!(
            empty["notification"]["errorDescription"],
            "certificate issuance failed"
        );
        assert_eq!(empty["notification"]["hResult"], 1);
    }

    #[test]
    fn only_success_passes() {
        assert_eq!(
            read_verdict(&json!({"code": "Success", "errorDescription": ""})).unwrap(),
            Verdict::Success
        );
        for (code, label) in [
            ("ChallengeExpired", "ChallengeExpired"),
            ("Unknown", "Unknown"),
            ("success", "success"),
            ("SUCCESS", "SUCCESS"),
            ("1", "1"),
            ("Success ", "Success?"),
            ("", "?"),
            ("Bad\ncode", "Bad?code"),
            ("SomethingNewIn2030", "SomethingNewIn2030"),
        ] {
            let verdict = read_verdict(&json!({"code": code, "errorDescription": "why"})).unwrap();
            assert_eq!(
                verdict,
                Verdict::Refused {
                    code: label.to_owned(),
                    description: "why".to_owned()
                },
                "{code:?}"
            );
        }
        assert!(read_verdict(&json!({"errorDescription": "no code"})).is_err());
        assert!(read_verdict(&json!({"code": 0})).is_err());
        assert!(read_verdict(&json!(["Success"])).is_err());
    }
}
