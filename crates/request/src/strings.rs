//! Decoding of the X.520 DirectoryString family into Rust strings.

use der::asn1::{BmpString, Ia5StringRef, PrintableStringRef, TeletexStringRef};
use der::{Any, Tag, Tagged};

/// The text of a DirectoryString (RFC 5280 §4.1.2.4) or of the IA5String used by
/// emailAddress / DC. `None` for any other type or an invalid encoding.
pub(crate) fn directory_string(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(value.value()).ok().map(str::to_owned),
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => value
            .decode_as::<Ia5StringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::TeletexString => value
            .decode_as::<TeletexStringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString => value
            .decode_as::<BmpString>()
            .ok()
            .map(|s| s.chars().collect()),
        _ => None,
    }
}
