//! The few hand-made DER pieces: hostile requests need encodings (duplicate or unsorted
//! attributes, raw OIDs) that typed encoders refuse to produce.

/// DER TLV with a definite length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0x7F));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// DER SET OF: the encodings sorted bytewise (X.690 §11.6), duplicates kept.
pub(crate) fn set_of(tag: u8, mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    tlv(tag, &items.concat())
}

/// DER OBJECT IDENTIFIER.
pub(crate) fn oid(oid: &const_oid::ObjectIdentifier) -> Vec<u8> {
    tlv(0x06, oid.as_bytes())
}

/// DER `Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }`.
pub(crate) fn attribute(oid_value: &const_oid::ObjectIdentifier, values: Vec<Vec<u8>>) -> Vec<u8> {
    let mut content = oid(oid_value);
    content.extend(set_of(0x31, values));
    tlv(0x30, &content)
}

/// BMPString (UCS-2 big-endian) of `s`.
pub(crate) fn bmp_string(s: &str) -> Vec<u8> {
    let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
    tlv(0x1E, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths() {
        assert_eq!(tlv(0x04, &[0; 3])[..2], [0x04, 0x03]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2C]);
    }
}
