//! The JSON bodies scepd delivers. Version 1; a field is never removed or changes meaning
//! within a version, so a receiver may ignore fields it does not know.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use vouch::{ChallengeQuestion, IssuedFacts};

/// The body format's version.
pub const VERSION: u32 = 1;

/// The fields every event begins with: the format's version, what happened, this delivery's
/// id, and which request on which endpoint it is about.
#[derive(Debug, Serialize)]
pub struct About<'a> {
    pub version: u32,
    pub event: &'static str,
    pub delivery_id: &'a str,
    pub endpoint: &'a str,
    pub template: &'a str,
    pub transaction_id: &'a str,
}

impl<'a> About<'a> {
    fn new(event: &'static str, delivery_id: &'a str, q: &'a ChallengeQuestion) -> Self {
        Self {
            version: VERSION,
            event,
            delivery_id,
            endpoint: &q.endpoint,
            template: &q.template,
            transaction_id: &q.transaction_id,
        }
    }
}

/// `scep.challenge.verify`: the request's facts, for the receiver to allow or deny.
#[derive(Debug, Serialize)]
pub struct VerifyEvent<'a> {
    /// What every event carries first.
    #[serde(flatten)]
    pub about: About<'a>,
    /// The challenge password the device presented ("" when none).
    pub challenge: &'a str,
    /// RFC 4514, last RDN first.
    pub subject: &'a str,
    /// `dns:…`, `ip:…`, `email:…`, `upn:…`, `uri:…`.
    pub sans: &'a [String],
    /// Dotted OIDs.
    pub extended_key_usages: &'a [String],
    /// `rsa-2048`, `ec-p256`, `ed25519`.
    pub key: &'a str,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex.
    pub key_sha256: &'a str,
    /// The network source of the request.
    pub source: &'a str,
    /// The whole PKCS#10 request, DER, standard base64.
    pub csr: String,
}

impl<'a> VerifyEvent<'a> {
    pub fn new(delivery_id: &'a str, q: &'a ChallengeQuestion) -> Self {
        Self {
            about: About::new("scep.challenge.verify", delivery_id, q),
            challenge: &q.challenge,
            subject: &q.subject,
            sans: &q.sans,
            extended_key_usages: &q.extended_key_usages,
            key: &q.key,
            key_sha256: &q.key_sha256,
            source: &q.source,
            csr: B64.encode(&q.csr_der),
        }
    }
}

/// `scep.certificate.issued`: what the CA signed for a request the webhook allowed.
#[derive(Debug, Serialize)]
pub struct IssuedEvent<'a> {
    /// What every event carries first.
    #[serde(flatten)]
    pub about: About<'a>,
    /// Lower-case hex.
    pub serial: &'a str,
    /// SHA-1 of the certificate, upper-case hex.
    pub thumbprint_sha1: &'a str,
    /// Unix seconds.
    pub not_after: i64,
    /// The issuing CA's subject, RFC 4514.
    pub issuer: &'a str,
    /// The certificate, DER, standard base64.
    pub certificate: String,
}

impl<'a> IssuedEvent<'a> {
    pub fn new(delivery_id: &'a str, q: &'a ChallengeQuestion, issued: &'a IssuedFacts) -> Self {
        Self {
            about: About::new("scep.certificate.issued", delivery_id, q),
            serial: &issued.serial_hex,
            thumbprint_sha1: &issued.thumbprint_sha1,
            not_after: issued.not_after,
            issuer: &issued.issuer,
            certificate: B64.encode(&issued.certificate_der),
        }
    }
}

/// `scep.certificate.failed`: issuing failed after the webhook allowed the request.
#[derive(Debug, Serialize)]
pub struct FailedEvent<'a> {
    /// What every event carries first.
    #[serde(flatten)]
    pub about: About<'a>,
    /// What went wrong, as the RA describes it.
    pub reason: &'a str,
}

impl<'a> FailedEvent<'a> {
    pub fn new(delivery_id: &'a str, q: &'a ChallengeQuestion, reason: &'a str) -> Self {
        Self {
            about: About::new("scep.certificate.failed", delivery_id, q),
            reason,
        }
    }
}
