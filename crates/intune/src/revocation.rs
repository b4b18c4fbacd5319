//! The bodies of the `PkiConnectorFEService` calls (`CertificateAuthorityRequests/…`,
//! `api-version: 5019-05-05`): downloading the revocations Intune asks for (a device was
//! wiped, retired, its profile removed) and uploading what became of them.

use serde::Deserialize;
use serde_json::{Value, json};

pub const API_VERSION: &str = "5019-05-05";
/// The most revocation requests one download may ask for.
pub const MAX_REQUESTS: u16 = 500;

pub(crate) const DOWNLOAD: &str = "CertificateAuthorityRequests/downloadRevocationRequests";
pub(crate) const UPLOAD: &str = "CertificateAuthorityRequests/uploadRevocationResults";

/// One certificate Intune wants revoked. Field names are read in the Java library's
/// camelCase or the C# library's PascalCase.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationRequest {
    /// Intune's handle for the request, to be named again in its result.
    #[serde(alias = "RequestContext")]
    pub request_context: String,
    /// The certificate's serial number, hex as Intune has it.
    #[serde(alias = "SerialNumber")]
    pub serial_number: String,
    /// The issuer's name as Intune has it, when it says.
    #[serde(default, alias = "IssuerName")]
    pub issuer_name: Option<String>,
    /// The CA configuration string (NDES: `host\CA name`), when Intune says.
    #[serde(default, alias = "CaConfiguration")]
    pub ca_configuration: Option<String>,
}

/// Why a revocation was not carried out, as Intune numbers it (`CARequestErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationErrorCode {
    NonRetryableServiceException = 4000,
    DataSerializationError = 4001,
    ParameterDataInvalidError = 4002,
    CryptographyError = 4003,
    /// No certificate with that serial number was issued here.
    CertificateNotFoundError = 4004,
    /// Already revoked, for instance.
    ConflictError = 4005,
    NotSupportedError = 4006,
    PayloadTooLargeError = 4007,
    RetryableServiceException = 4100,
    ServiceUnavailableException = 4101,
    ServiceTooBusyException = 4102,
    AuthenticationException = 4103,
}

/// What became of one [`RevocationRequest`]. Made only as a success or as a failure with a
/// code, so `errorCode` is 0 (`None`) exactly when `succeeded` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationResult {
    request_context: String,
    failure: Option<(RevocationErrorCode, String)>,
}

impl RevocationResult {
    pub fn succeeded(request_context: impl Into<String>) -> Self {
        Self {
            request_context: request_context.into(),
            failure: None,
        }
    }

    pub fn failed(
        request_context: impl Into<String>,
        code: RevocationErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            request_context: request_context.into(),
            failure: Some((code, message.into())),
        }
    }

    pub fn request_context(&self) -> &str {
        &self.request_context
    }

    /// The code and message of a failure; `None` for a success.
    pub fn failure(&self) -> Option<(RevocationErrorCode, &str)> {
        self.failure
            .as_ref()
            .map(|(code, message)| (*code, message.as_str()))
    }

    fn to_json(&self) -> Value {
        match &self.failure {
            None => json!({
                "requestContext": self.request_context,
                "succeeded": true,
                "errorCode": 0,
                "errorMessage": null,
            }),
            Some((code, message)) => json!({
                "requestContext": self.request_context,
                "succeeded": false,
                "errorCode": *code as u16,
                "errorMessage": message,
            }),
        }
    }
}

/// `{"downloadParameters": {"maxRequests": N, "issuerName": "…" | null}}`.
pub(crate) fn download_body(max_requests: u16, issuer_name: Option<&str>) -> Value {
    json!({
        "downloadParameters": {
            "maxRequests": max_requests,
            "issuerName": issuer_name,
        }
    })
}

/// `{"value": [request, …]}`.
pub(crate) fn read_requests(json: &Value) -> Result<Vec<RevocationRequest>, String> {
    let list = json
        .get("value")
        .ok_or_else(|| "no \"value\" list".to_owned())?;
    Vec::<RevocationRequest>::deserialize(list).map_err(|e| format!("revocation requests: {e}"))
}

/// `{"results": [result, …]}`.
pub(crate) fn upload_body(results: &[RevocationResult]) -> Value {
    json!({ "results": results.iter().map(RevocationResult::to_json).collect::<Vec<_>>() })
}

/// Intune took the results only if it answered `{"value": true}`.
pub(crate) fn read_upload_answer(json: &Value) -> Result<(), String> {
    match json.get("value") {
        Some(Value::Bool(true)) => Ok(()),
        other => Err(format!(
            "uploadRevocationResults answered {} instead of true",
            other.map_or_else(|| "no value".to_owned(), Value::to_string)
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_download_asks_for_a_number_and_perhaps_an_issuer() {
        assert_eq!(
            download_body(500, None),
            json!({"downloadParameters": {"maxRequests": 500, "issuerName": null}})
        );
        assert_eq!(
            download_body(1, Some("CN=CA"))["downloadParameters"]["issuerName"],
            "CN=CA"
        );
    }

    #[test]
    fn requests_are_read_in_either_library_s_spelling() {
        let json = json!({"value": [
            {"requestContext": "c1", "serialNumber": "01ab", "issuerName": "CN=CA",
             "caConfiguration": "host\\CA"},
            {"RequestContext": "c2", "SerialNumber": "02", "IssuerName": null},
        ]});
        let requests = read_requests(&json).unwrap();
        assert_eq!(
            requests,
            [
                RevocationRequest {
                    request_context: "c1".into(),
                    serial_number: "01ab".into(),
                    issuer_name: Some("CN=CA".into()),
                    ca_configuration: Some("host\\CA".into()),
                },
                RevocationRequest {
                    request_context: "c2".into(),
                    serial_number: "02".into(),
                    issuer_name: None,
                    ca_configuration: None,
                },
            ]
        );
        assert!(read_requests(&json!({"value": [{"requestContext": "c"}]})).is_err());
        assert!(
            read_requests(&json!({"value": [{"requestContext": 1, "serialNumber": "1"}]})).is_err()
        );
        assert!(read_requests(&json!({"values": []})).is_err());
        assert!(read_requests(&json!({"value": []})).unwrap().is_empty());
    }

    #[test]
    fn results_carry_code_zero_exactly_on_success() {
        let body = upload_body(&[
            RevocationResult::succeeded("c1"),
            RevocationResult::failed(
                "c2",
                RevocationErrorCode::CertificateNotFoundError,
                "no such serial",
            ),
        ]);
        assert_eq!(
            body,
            json!({"results": [
                {"requestContext": "c1", "succeeded": true, "errorCode": 0, "errorMessage": null},
                {"requestContext": "c2", "succeeded": false, "errorCode": 4004,
                 "errorMessage": "no such serial"},
            ]})
        );
    }

    #[test]
    fn only_value_true_accepts_an_upload() {
        read_upload_answer(&json!({"value": true})).unwrap();
        assert!(read_upload_answer(&json!({"value": false})).is_err());
        assert!(read_upload_answer(&json!({"value": "true"})).is_err());
        assert!(read_upload_answer(&json!({})).is_err());
    }
}
