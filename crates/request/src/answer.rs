//! The CA's answer to a counter-signed statement, as the RA and the CA both name it: a
//! certificate ([`IssuedCertificate`]) or a refusal ([`CaRefusal`]), and the seam the RA hands
//! statements through ([`CertificateAuthority`]).
//!
//! One vocabulary for both deployments: in `scepd serve` the CA answers in-process, in a split
//! deployment the answer crosses the RA → CA link (docs/ra-ca-protocol.md) as JSON. The wire
//! form is the link's business; it converts to and from these types in one place each way
//! ([`CaRefusal::wire_code`] and [`CaRefusal::from_wire`] give the code names).

use std::future::Future;
use std::pin::Pin;

/// A certificate the CA signed, with everything the recorders (the RA's transaction, the
/// CA's statement log, the audit entries) need, filled once by the CA from the certificate it
/// just built: nobody parses `der` again to learn them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub der: Vec<u8>,
    /// Lower-case hex of the serial's octets (16 octets, first 0x01..=0x7f, for the
    /// certificates scepd issues: already the store's canonical form).
    pub serial_hex: String,
    /// RFC 4514 form of the subject.
    pub subject: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The template that decided the certificate.
    pub template: String,
    /// SHA-256 of the certified SubjectPublicKeyInfo DER (RFC 8894 §8.6 renewal checks, "one
    /// key, one subject").
    pub subject_key_sha256: [u8; 32],
}

/// Which SCEP failInfo (RFC 8894 §3.2.1.4.5) the RA answers a device for a CA refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailInfoChoice {
    /// The key or signature algorithm is not acceptable.
    BadAlg,
    /// Everything else (the detail stays in the audit log).
    BadRequest,
}

/// Why the CA did not answer with a certificate. Each variant carries the detail for logs,
/// the audit trail and operators (never shown to a device); the RA answers the device only
/// with [`CaRefusal::fail_info`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaRefusal {
    /// The template (or the CA's name and EKU constraints) refused the request.
    #[error("policy-refused: {0}")]
    Policy(String),
    /// The template refused the key algorithm or curve, or the CSR is signed with an
    /// algorithm the CA does not accept.
    #[error("bad-algorithm: {0}")]
    BadAlgorithm(String),
    /// The statement is malformed, unsigned, signed by another certificate than the RA's
    /// counter-signing certificate, or that certificate fails the CA's checks, or it is stale.
    #[error("statement-rejected: {0}")]
    StatementRejected(String),
    /// The caller is no active RA (no TLS client certificate, unknown, revoked since the
    /// handshake).
    #[error("ra-not-registered: {0}")]
    RaNotRegistered(String),
    /// The RA is not authorised for the statement's (or the certificate's) template.
    #[error("template-not-authorized: {0}")]
    TemplateNotAuthorized(String),
    /// The statement's nonce was already used by another statement.
    #[error("nonce-reused: {0}")]
    NonceReused(String),
    /// The same statement is being answered right now.
    #[error("in-progress: {0}")]
    InProgress(String),
    /// Revocation: the CA never issued this serial.
    #[error("unknown-serial: {0}")]
    UnknownSerial(String),
    /// The request is malformed (protocol version, unknown revocation reason, body).
    #[error("bad-request: {0}")]
    BadRequest(String),
    /// Registration: the code is unknown, used or expired, or the keys are unacceptable.
    #[error("registration-refused: {0}")]
    RegistrationRefused(String),
    /// Something failed inside the CA (database, key, task).
    #[error("internal: {0}")]
    Internal(String),
    /// The RA side only: the CA could not be reached, or its answer was unusable (does not
    /// parse, another protocol version, a certificate not signed by the CA key). Never sent
    /// by a CA; on the wire it would read `internal`.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl CaRefusal {
    /// The failInfo for the device: badAlg for [`CaRefusal::BadAlgorithm`], badRequest for
    /// everything else.
    pub fn fail_info(&self) -> FailInfoChoice {
        match self {
            CaRefusal::BadAlgorithm(_) => FailInfoChoice::BadAlg,
            _ => FailInfoChoice::BadRequest,
        }
    }

    /// True for [`CaRefusal::BadAlgorithm`] (the link's `bad_alg` flag, the statement log's).
    pub fn is_bad_alg(&self) -> bool {
        self.fail_info() == FailInfoChoice::BadAlg
    }

    /// The detail, without the code.
    pub fn reason(&self) -> &str {
        match self {
            CaRefusal::Policy(r)
            | CaRefusal::BadAlgorithm(r)
            | CaRefusal::StatementRejected(r)
            | CaRefusal::RaNotRegistered(r)
            | CaRefusal::TemplateNotAuthorized(r)
            | CaRefusal::NonceReused(r)
            | CaRefusal::InProgress(r)
            | CaRefusal::UnknownSerial(r)
            | CaRefusal::BadRequest(r)
            | CaRefusal::RegistrationRefused(r)
            | CaRefusal::Internal(r)
            | CaRefusal::Unavailable(r) => r,
        }
    }

    /// The refusal's code on the RA → CA link (docs/ra-ca-protocol.md). A bad algorithm is a
    /// policy refusal there, told apart by the `bad_alg` flag ([`CaRefusal::is_bad_alg`]).
    pub fn wire_code(&self) -> &'static str {
        match self {
            CaRefusal::Policy(_) | CaRefusal::BadAlgorithm(_) => "policy-refused",
            CaRefusal::StatementRejected(_) => "statement-rejected",
            CaRefusal::RaNotRegistered(_) => "ra-not-registered",
            CaRefusal::TemplateNotAuthorized(_) => "template-not-authorized",
            CaRefusal::NonceReused(_) => "nonce-reused",
            CaRefusal::InProgress(_) => "in-progress",
            CaRefusal::UnknownSerial(_) => "unknown-serial",
            CaRefusal::BadRequest(_) => "bad-request",
            CaRefusal::RegistrationRefused(_) => "registration-refused",
            CaRefusal::Internal(_) | CaRefusal::Unavailable(_) => "internal",
        }
    }

    /// The HTTP status the CA service answers the refusal with.
    pub fn http_status(&self) -> u16 {
        match self {
            CaRefusal::RaNotRegistered(_)
            | CaRefusal::TemplateNotAuthorized(_)
            | CaRefusal::RegistrationRefused(_) => 403,
            CaRefusal::NonceReused(_) | CaRefusal::InProgress(_) => 409,
            CaRefusal::StatementRejected(_) | CaRefusal::Policy(_) | CaRefusal::BadAlgorithm(_) => {
                422
            }
            CaRefusal::UnknownSerial(_) => 404,
            CaRefusal::BadRequest(_) => 400,
            CaRefusal::Internal(_) | CaRefusal::Unavailable(_) => 500,
        }
    }

    /// The refusal a CA sent as `code`, `reason` and `bad_alg`. A code this RA does not know
    /// (a newer CA) is [`CaRefusal::Internal`] with the code kept in the detail.
    pub fn from_wire(code: &str, reason: String, bad_alg: bool) -> CaRefusal {
        if bad_alg {
            return CaRefusal::BadAlgorithm(reason);
        }
        match code {
            "policy-refused" => CaRefusal::Policy(reason),
            "statement-rejected" => CaRefusal::StatementRejected(reason),
            "ra-not-registered" => CaRefusal::RaNotRegistered(reason),
            "template-not-authorized" => CaRefusal::TemplateNotAuthorized(reason),
            "nonce-reused" => CaRefusal::NonceReused(reason),
            "in-progress" => CaRefusal::InProgress(reason),
            "unknown-serial" => CaRefusal::UnknownSerial(reason),
            "bad-request" => CaRefusal::BadRequest(reason),
            "registration-refused" => CaRefusal::RegistrationRefused(reason),
            "internal" => CaRefusal::Internal(reason),
            other => CaRefusal::Internal(format!("unknown refusal code {other:?}: {reason}")),
        }
    }
}

/// What [`CertificateAuthority::issue`] returns: a boxed future, so the RA holds its CA as
/// `Arc<dyn CertificateAuthority>`.
pub type IssueFuture<'a> =
    Pin<Box<dyn Future<Output = Result<IssuedCertificate, CaRefusal>> + Send + 'a>>;

/// A CA that answers counter-signed statements: in-process (`ca::service` in `scepd serve`)
/// or across the link (`scepd ra`'s remote CA). Either way the CA verifies the RA's signature
/// itself. It sits here, beside the answer, so that both sides implement or call it without
/// depending on each other.
pub trait CertificateAuthority: Send + Sync {
    /// Hands over the DER of a signed statement (`request::statement`); `now` is unix
    /// seconds on the RA's clock.
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every() -> Vec<CaRefusal> {
        let r = || "why".to_owned();
        vec![
            CaRefusal::Policy(r()),
            CaRefusal::BadAlgorithm(r()),
            CaRefusal::StatementRejected(r()),
            CaRefusal::RaNotRegistered(r()),
            CaRefusal::TemplateNotAuthorized(r()),
            CaRefusal::NonceReused(r()),
            CaRefusal::InProgress(r()),
            CaRefusal::UnknownSerial(r()),
            CaRefusal::BadRequest(r()),
            CaRefusal::RegistrationRefused(r()),
            CaRefusal::Internal(r()),
            CaRefusal::Unavailable(r()),
        ]
    }

    #[test]
    fn every_refusal_a_ca_sends_reads_back_as_itself() {
        for refusal in every() {
            let back = CaRefusal::from_wire(
                refusal.wire_code(),
                refusal.reason().to_owned(),
                refusal.is_bad_alg(),
            );
            match refusal {
                // RA side only: it reads back as what it says on the wire.
                CaRefusal::Unavailable(r) => assert_eq!(back, CaRefusal::Internal(r)),
                refusal => assert_eq!(back, refusal),
            }
        }
    }

    #[test]
    fn only_a_bad_algorithm_is_bad_alg_for_the_device() {
        for refusal in every() {
            let expected = if matches!(refusal, CaRefusal::BadAlgorithm(_)) {
                FailInfoChoice::BadAlg
            } else {
                FailInfoChoice::BadRequest
            };
            assert_eq!(refusal.fail_info(), expected, "{refusal}");
        }
    }

    #[test]
    fn the_link_keeps_its_codes_and_statuses() {
        let pairs: Vec<(&str, u16)> = every()
            .iter()
            .map(|r| (r.wire_code(), r.http_status()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("policy-refused", 422),
                ("policy-refused", 422),
                ("statement-rejected", 422),
                ("ra-not-registered", 403),
                ("template-not-authorized", 403),
                ("nonce-reused", 409),
                ("in-progress", 409),
                ("unknown-serial", 404),
                ("bad-request", 400),
                ("registration-refused", 403),
                ("internal", 500),
                ("internal", 500),
            ]
        );
        let unknown = CaRefusal::from_wire("from-the-future", "x".into(), false);
        assert!(matches!(unknown, CaRefusal::Internal(r) if r.contains("from-the-future")));
    }

    #[test]
    fn the_display_names_the_code_and_keeps_the_detail() {
        assert_eq!(
            CaRefusal::BadAlgorithm("RSA 1024".into()).to_string(),
            "bad-algorithm: RSA 1024"
        );
        assert_eq!(
            CaRefusal::TemplateNotAuthorized(
                "RA \"a\" is not authorised for template \"vpn\"".into()
            )
            .to_string(),
            "template-not-authorized: RA \"a\" is not authorised for template \"vpn\""
        );
    }
}
