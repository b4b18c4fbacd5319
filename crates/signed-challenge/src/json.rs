//! The two JSON parts of a token (header and claims), read strictly.

use crate::error::ChallengeError;

/// A JSON object as `T`. serde would read a struct from an array too (`["ES256","k",…]`);
/// RFC 7515 §4 and RFC 7519 §7.2 say both parts are objects.
pub(crate) fn from_json_object<T: serde::de::DeserializeOwned>(
    part: &str,
    json: &[u8],
) -> Result<T, ChallengeError> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(ChallengeError::Malformed(format!(
            "{part} is not a JSON object"
        )));
    }
    serde_json::from_slice(json).map_err(|e| ChallengeError::Malformed(format!("{part}: {e}")))
}
