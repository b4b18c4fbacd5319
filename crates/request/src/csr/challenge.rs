//! The challengePassword attribute (RFC 2985 §5.4.1), the SCEP one-time password
//! (RFC 8894 §2.2).

use der::asn1::PrintableStringRef;
use der::{Any, Tag, Tagged};
use zeroize::Zeroizing;

use super::CsrError;

/// A challenge password as received. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct ChallengePassword(Zeroizing<String>);

impl ChallengePassword {
    /// The secret, for a constant-time comparison of its hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret's UTF-8 bytes (what a challenge hash is computed over).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for ChallengePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengePassword(..)")
    }
}

/// Strict reading of one challengePassword value: PrintableString or UTF8String (every client
/// we know sends one of them; certmonger, micromdm and openssl send PrintableString), no
/// control characters, not empty.
pub(super) fn read(value: &Any) -> Result<ChallengePassword, CsrError> {
    let text = match value.tag() {
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .map_err(|_| CsrError::ChallengePassword("invalid PrintableString"))?
            .as_str()
            .to_owned(),
        Tag::Utf8String => std::str::from_utf8(value.value())
            .map_err(|_| CsrError::ChallengePassword("invalid UTF8String"))?
            .to_owned(),
        _ => {
            return Err(CsrError::ChallengePassword(
                "neither PrintableString nor UTF8String",
            ));
        }
    };
    let text = Zeroizing::new(text);
    if text.is_empty() {
        return Err(CsrError::ChallengePassword("empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(CsrError::ChallengePassword("control character"));
    }
    Ok(ChallengePassword(text))
}
