//! The RA → CA link, version 1 (docs/ra-ca-protocol.md): the JSON forms of what crosses it
//! besides the statement itself, and its endpoints:
//!
//! - `POST /scepd-ca/v1/issue` on the statement listener (mutual TLS): body the DER
//!   ContentInfo of a signed RA statement (`application/vnd.scepd.ra-statement`); answer 200
//!   with [`Issued`], or 4xx/5xx with [`Refusal`].
//! - `POST /scepd-ca/v1/revoke` (mutual TLS): body [`Revoke`]; answer 200 with [`Revoked`]
//!   once the revocation is committed at the CA, or a [`Refusal`] (the RA may revoke only
//!   certificates of its templates).
//! - `GET /scepd-ca/v1/crl` (mutual TLS): the CA's current CRL, DER.
//! - `POST /scepd-ca/v1/ocsp` (mutual TLS): an OCSP request (RFC 6960), answered by the CA.
//! - `POST /scepd-ca/v1/register` on the registration listener (server TLS): body
//!   [`Registration`]; answer 200 with [`Registered`], or a [`Refusal`].

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
pub const ISSUE_PATH: &str = "/scepd-ca/v1/issue";
pub const REGISTER_PATH: &str = "/scepd-ca/v1/register";
pub const REVOKE_PATH: &str = "/scepd-ca/v1/revoke";
pub const CRL_PATH: &str = "/scepd-ca/v1/crl";
pub const OCSP_PATH: &str = "/scepd-ca/v1/ocsp";
/// The largest OCSP request the CA reads (a request names a few certificates).
pub const MAX_OCSP_REQUEST_LEN: usize = 16 * 1024;
/// The largest CRL the RA reads.
pub const MAX_CRL_LEN: usize = 16 * 1024 * 1024;
pub const STATEMENT_CONTENT_TYPE: &str = "application/vnd.scepd.ra-statement";
/// The largest answer the RA reads (a certificate chain fits many times over).
pub const MAX_ANSWER_LEN: usize = 256 * 1024;

/// The CA signed a certificate (or this statement was answered before: the same one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub version: u32,
    /// Base64 DER.
    pub certificate: String,
    pub serial: String,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub template: String,
    /// True when this answers a replay of an already answered statement.
    pub replayed: bool,
}

/// An RA asks the CA to revoke a certificate (of a template the RA is authorised for).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoke {
    pub version: u32,
    /// Hex serial, any case.
    pub serial: String,
    /// RFC 5280 CRLReason name (`keyCompromise`, `superseded`, ...).
    pub reason: String,
    /// Who asked at the RA (administrator or CLI user), for the CA's audit trail.
    pub requested_by: String,
}

/// The revocation as committed at the CA (or as it was, when the certificate was already
/// revoked: the first revocation stands).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoked {
    pub version: u32,
    pub serial: String,
    pub reason: String,
    pub revoked_at: i64,
    pub already_revoked: bool,
}

/// Why the CA said no: the wire form of a `request::answer::CaRefusal` (its `wire_code`,
/// `reason` and `is_bad_alg`; read back with `CaRefusal::from_wire`). The RA answers the
/// device failInfo badAlg when `bad_alg`, else badRequest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refusal {
    pub version: u32,
    pub code: String,
    pub reason: String,
    /// The RA answers failInfo badAlg instead of badRequest.
    pub bad_alg: bool,
}

/// An RA's registration: its one-time code and its public keys (base64 DER
/// SubjectPublicKeyInfo). Without `agent_spki` (an RA of an earlier version) the signing key
/// also counter-signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    pub version: u32,
    pub code: String,
    pub signing_spki: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_spki: Option<String>,
    pub encryption_spki: String,
    pub tls_spki: String,
}

/// What a registered RA gets (base64 DER).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    pub version: u32,
    pub name: String,
    pub templates: Vec<String>,
    pub ca_certificate: String,
    pub ca_chain: Vec<String>,
    pub signing_certificate: String,
    /// The enrollment agent's certificate, when the registration had `agent_spki`: the only
    /// certificate whose statements the CA accepts from this RA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_certificate: Option<String>,
    pub encryption_certificate: String,
    pub tls_certificate: String,
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, NotBase64> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| NotBase64(what.to_owned()))
}

/// A field of a link message that should hold base64 does not; it names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: not base64")]
pub struct NotBase64(pub String);
