//! The codec's one error type.

use const_oid::ObjectIdentifier;

/// Why bytes could not be parsed as (or built into) a SCEP structure.
///
/// The RA maps any of these, before the envelope is verified, to a bare HTTP 400; the detail is
/// for logs and tests, never for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The BER/DER structure is broken (truncated, bad length, wrong tag, too deep).
    #[error("malformed encoding at byte {position}: {reason}")]
    Malformed {
        /// Byte offset in the input where the problem was found.
        position: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A leaf value rejected by `der` (position relative to that value, where `der` gives one).
    #[error("invalid DER value: {0}")]
    Der(#[from] der::Error),
    /// A ContentInfo or eContent of another type than the one required.
    #[error("unexpected content type {0}")]
    UnexpectedContentType(ObjectIdentifier),
    /// A cipher or digest algorithm this codec does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// SCEP messages carry exactly one SignerInfo (RFC 8894 §3.2).
    #[error("expected exactly one SignerInfo, found {0}")]
    SignerCount(usize),
    /// More certificates than [`crate::MAX_CERTIFICATES`].
    #[error("more than {max} certificates")]
    TooManyCertificates {
        /// The cap.
        max: usize,
    },
    /// A required field or attribute is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A field is present but its value is not acceptable.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// A builder was given parameters it cannot encode.
    #[error("invalid builder parameter: {0}")]
    InvalidParameter(&'static str),
}

impl CodecError {
    pub(crate) fn malformed(position: usize, reason: &'static str) -> Self {
        Self::Malformed { position, reason }
    }

    /// The byte position of the problem, where one is known.
    #[must_use]
    pub fn position(&self) -> Option<usize> {
        match self {
            Self::Malformed { position, .. } => Some(*position),
            Self::Der(e) => e
                .position()
                .map(|p| usize::try_from(p).unwrap_or(usize::MAX)),
            _ => None,
        }
    }
}
