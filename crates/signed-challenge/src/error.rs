//! Why a signed challenge is refused. Messages name what was wrong, never the token itself
//! (it is the device's challenge password).

/// A signed challenge scepd does not accept. [`ChallengeError::code`] is the short label the
/// RA's audit log and metrics carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    #[error("the challenge is {0} bytes long; a signed challenge has at most {max}", max = crate::MAX_TOKEN_LEN)]
    TooLarge(usize),
    /// Not three base64url parts, or a part that is not the JSON it should be.
    #[error("not a signed challenge: {0}")]
    Malformed(String),
    /// `none`, an HMAC or RSA algorithm, or an algorithm the key's type does not verify.
    #[error("algorithm {alg:?} is refused for kid {kid:?}: {why}")]
    Algorithm {
        alg: String,
        kid: String,
        why: &'static str,
    },
    #[error("no trusted key has kid {0:?}")]
    UnknownKid(String),
    #[error("the signature does not verify with kid {0:?}")]
    BadSignature(String),
    #[error("expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("not valid before {from} (now {now})")]
    NotYetValid { from: i64, now: i64 },
    #[error("lifetime of {lifetime} s exceeds the {max} s allowed (exp - iat)")]
    LifetimeTooLong { lifetime: i64, max: i64 },
    #[error("minted for endpoint {minted_for:?}, presented at {endpoint:?}")]
    WrongEndpoint {
        minted_for: String,
        endpoint: String,
    },
    #[error("minted for template {minted_for:?}; endpoint issues {template:?}")]
    WrongTemplate {
        minted_for: String,
        template: String,
    },
    #[error("bound names: {0}")]
    BadBinding(#[from] policy::BindingError),
    /// A `sans` entry naming a UPN or a SID URI: only an MDM that validated the whole CSR
    /// vouches for those (ESC1), and a signed challenge was minted without seeing the CSR.
    #[error("bound names: {0:?}: a signed challenge binds dns:, ip: and email: names only")]
    UnbindableSan(String),
}

impl ChallengeError {
    /// The short label for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too-large",
            Self::Malformed(_) => "malformed",
            Self::Algorithm { .. } => "bad-algorithm",
            Self::UnknownKid(_) => "unknown-kid",
            Self::BadSignature(_) => "bad-signature",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not-yet-valid",
            Self::LifetimeTooLong { .. } => "lifetime-too-long",
            Self::WrongEndpoint { .. } => "wrong-endpoint",
            Self::WrongTemplate { .. } => "wrong-template",
            Self::BadBinding(_) | Self::UnbindableSan(_) => "bad-binding",
        }
    }
}

impl From<ChallengeError> for vouch::VerifierRefusal {
    fn from(error: ChallengeError) -> Self {
        Self::Refused {
            code: error.code().to_owned(),
            detail: error.to_string(),
        }
    }
}
