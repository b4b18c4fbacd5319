//! The contract between the RA's counter-signing gate and a challenge verifier that is not
//! the local one-time store: Intune's validation API, an MDM's webhook, a challenge the MDM
//! signed. The RA asks a [`ChallengeVerifier`] a [`ChallengeQuestion`] only after the
//! envelope's signature, its decryption and proof of possession were checked, and what the
//! verifier answers ([`Vouched`]) still goes through the template's policy: a verifier can
//! narrow what is issued, never skip a check.
//!
//! Every verifier fails closed: an error, a timeout or an answer it cannot read is a
//! [`VerifierRefusal`], never an issuance.
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;

use zeroize::Zeroizing;

/// A verifier's future (verifiers are called through `Arc<dyn ChallengeVerifier>`).
pub type VerifierFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the RA knows about a PKCSReq when it asks a verifier: everything is from the
/// checked CSR and the HTTP request, nothing from the verifier's own state.
#[derive(Debug, Clone)]
pub struct ChallengeQuestion {
    /// The SCEP endpoint's name (`/scep/NAME`).
    pub endpoint: String,
    /// The template the endpoint issues under.
    pub template: String,
    /// The SCEP transactionID.
    pub transaction_id: String,
    /// The challenge password the device presented (empty when it presented none). Never
    /// logged; zeroized when dropped.
    pub challenge: Zeroizing<String>,
    /// The whole PKCS#10 request, DER, exactly as the device sent it.
    pub csr_der: Vec<u8>,
    /// The requested subject, RFC 4514.
    pub subject: String,
    /// The requested subjectAltNames, each as `dns:…`, `ip:…`, `email:…`, `upn:…` or `uri:…`.
    pub sans: Vec<String>,
    /// The requested extended key usages, dotted OIDs.
    pub extended_key_usages: Vec<String>,
    /// The subject key, as `rsa-2048`, `ec-p256`, `ed25519`.
    pub key: String,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex.
    pub key_sha256: String,
    /// The network source of the request, as the audit log names it.
    pub source: String,
}

/// A verifier's yes: what it vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched {
    /// The names the verifier bound the request to (the template is always the endpoint's,
    /// whatever this says). An empty binding leaves names to the template.
    pub binding: policy::Binding,
    /// The verifier validated the whole CSR against the MDM's own record of the device
    /// (Intune's validateRequest does): names only such a verifier can vouch for (UPN, the
    /// SID URI, email of user certificates, the IPsec tunnel EKU) may then be issued, where
    /// the template allows them. A verifier that saw only the challenge says false.
    pub csr_validated: bool,
    /// An identifier to spend exactly once (a signed challenge's id): the RA records it in
    /// the same transaction as the certificate, and a second request with it is refused.
    pub spend_once: Option<String>,
    /// What vouched, as the audit log names it (`intune`, `webhook`, `signed kid=…`):
    /// never the challenge or a token.
    pub by: String,
}

/// A certificate the CA signed for a vouched request, as a verifier is told about it.
#[derive(Debug, Clone)]
pub struct IssuedFacts {
    pub certificate_der: Vec<u8>,
    /// SHA-1 of the certificate, upper-case hex (what Intune calls the thumbprint).
    pub thumbprint_sha1: String,
    /// Lower-case hex of the serial number.
    pub serial_hex: String,
    /// Unix seconds.
    pub not_after: i64,
    /// The issuing CA's subject, RFC 4514.
    pub issuer: String,
}

/// Why a verifier did not vouch, or did not acknowledge an issuance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierRefusal {
    /// The verifier answered, and the answer is no (an Intune code other than `Success`, a
    /// webhook's deny, a forged, expired or out-of-scope signed challenge). `code` is the
    /// verifier's own word for it, safe to log and to count.
    #[error("refused ({code}): {detail}")]
    Refused { code: String, detail: String },
    /// The signed challenge's id was already spent.
    #[error("already used: {0}")]
    Replayed(String),
    /// The verifier could not be asked or did not answer in time (network, 5xx, timeout,
    /// authentication to it failed, an answer that is not what its contract says).
    #[error("verifier unavailable: {0}")]
    Unavailable(String),
}

impl VerifierRefusal {
    /// The short label metrics and the audit log carry.
    pub fn code(&self) -> &str {
        match self {
            Self::Refused { code, .. } => code,
            Self::Replayed(_) => "replayed",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// A challenge verifier. `verify` decides; `issued` must succeed before the certificate is
/// returned to the device (Intune's successNotification: no certificate leaves unless the
/// MDM acknowledged it); `failed` tells the verifier that issuing failed after it vouched
/// (best effort: the device gets FAILURE either way).
pub trait ChallengeVerifier: Send + Sync {
    /// The verifier kind, as configuration names it (`intune`, `webhook`, `signed`).
    fn kind(&self) -> &'static str;

    fn verify<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
    ) -> VerifierFuture<'a, Result<Vouched, VerifierRefusal>>;

    fn issued<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        issued: &'a IssuedFacts,
    ) -> VerifierFuture<'a, Result<(), VerifierRefusal>>;

    fn failed<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        description: &'a str,
    ) -> VerifierFuture<'a, ()>;
}
