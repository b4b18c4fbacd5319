//! A small lenient BER reader for the container layers of CMS.
//!
//! `der` 0.8 with `ber` accepts indefinite lengths but refuses constructed strings with a
//! *definite* length, and its `SET OF` / certificate types enforce RFC 5280 profiles. Real SCEP
//! clients send exactly those productions (micromdm wraps `encryptedContent` in a definite-length
//! constructed `[0]`; certmonger's signer has a 33-octet serial), so the outer layers are walked
//! here and only leaf values are handed to `der`.
//!
//! Limits: single-octet tags only (every CMS/SCEP tag is below 31), lengths of at most four
//! octets, nesting depth [`MAX_DEPTH`]. Scanning an indefinite length is iterative, so hostile
//! nesting cannot exhaust the stack.

use std::borrow::Cow;

use crate::error::CodecError;

/// Deepest nesting accepted anywhere (the security catalogue's E2 asks for a cap of about 32).
pub(crate) const MAX_DEPTH: usize = 32;

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_OCTET_STRING_CONSTRUCTED: u8 = 0x24;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;
pub(crate) const TAG_CTX0_CONSTRUCTED: u8 = 0xA0;
pub(crate) const TAG_CTX1_CONSTRUCTED: u8 = 0xA1;
pub(crate) const TAG_CTX0_PRIMITIVE: u8 = 0x80;

const CONSTRUCTED_BIT: u8 = 0x20;

/// One decoded tag-length-value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets (for an indefinite length: up to, not including, the end-of-contents).
    pub value: &'a [u8],
    /// The whole encoding, header to end (including any end-of-contents).
    pub raw: &'a [u8],
    /// Absolute byte offset of `value` in the outermost input, for error positions.
    pub value_offset: usize,
    /// Absolute byte offset of the identifier octet.
    pub offset: usize,
    /// Nesting depth of this element.
    depth: usize,
}

impl<'a> Tlv<'a> {
    pub(crate) fn is_constructed(&self) -> bool {
        self.tag & CONSTRUCTED_BIT != 0
    }

    /// A reader over the contents of a constructed element.
    pub(crate) fn children(&self) -> Result<Reader<'a>, CodecError> {
        if !self.is_constructed() {
            return Err(CodecError::malformed(
                self.offset,
                "expected a constructed element",
            ));
        }
        if self.depth + 1 > MAX_DEPTH {
            return Err(CodecError::malformed(self.offset, "nesting too deep"));
        }
        Ok(Reader {
            data: self.value,
            pos: 0,
            base: self.value_offset,
            depth: self.depth + 1,
        })
    }

    /// Checks the identifier octet.
    pub(crate) fn expect(self, tag: u8, what: &'static str) -> Result<Self, CodecError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(CodecError::malformed(self.offset, what))
        }
    }

    /// The octets of a string type, primitive or (BER) constructed of primitive chunks
    /// (X.690 §8.7.3), whatever the outer tag (so `[0] IMPLICIT OCTET STRING` works too).
    pub(crate) fn octets(&self) -> Result<Cow<'a, [u8]>, CodecError> {
        if !self.is_constructed() {
            return Ok(Cow::Borrowed(self.value));
        }
        let mut out = Vec::with_capacity(self.value.len());
        self.append_chunks(&mut out)?;
        Ok(Cow::Owned(out))
    }

    fn append_chunks(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut children = self.children()?;
        while let Some(chunk) = children.next()? {
            match chunk.tag {
                TAG_OCTET_STRING => out.extend_from_slice(chunk.value),
                // Depth is bounded by `children()`, so this recursion is too.
                TAG_OCTET_STRING_CONSTRUCTED => chunk.append_chunks(out)?,
                _ => {
                    return Err(CodecError::malformed(
                        chunk.offset,
                        "constructed string chunk is not an OCTET STRING",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The value of a `[n] EXPLICIT` wrapper: exactly one inner element.
    pub(crate) fn explicit_inner(&self) -> Result<Tlv<'a>, CodecError> {
        let mut children = self.children()?;
        let inner = children.require("empty explicit tag")?;
        children.finish()?;
        Ok(inner)
    }

    /// This element as canonical DER when it was sent with definite lengths: `raw` itself.
    /// Indefinite-length elements are refused where exact DER bytes are needed.
    pub(crate) fn definite_raw(&self, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.raw.get(1) == Some(&0x80) {
            return Err(CodecError::malformed(self.offset, what));
        }
        Ok(self.raw)
    }
}

/// Iterates the elements of one constructed value (or of a whole input).
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            base: 0,
            depth: 0,
        }
    }

    /// Absolute position of the next byte.
    pub(crate) fn position(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next element, or `None` at the end of this value.
    pub(crate) fn next(&mut self) -> Result<Option<Tlv<'a>>, CodecError> {
        if self.is_empty() {
            return Ok(None);
        }
        let start = self.pos;
        let rest = self.data.get(start..).unwrap_or_default();
        let header = parse_header(rest, self.base + start)?;
        let value_start = start + header.len;
        let (value_len, total_len) = match header.length {
            Some(len) => (len, header.len + len),
            None => {
                if header.tag & CONSTRUCTED_BIT == 0 {
                    return Err(CodecError::malformed(
                        self.base + start,
                        "indefinite length on a primitive element",
                    ));
                }
                let inner = rest.get(header.len..).unwrap_or_default();
                let content_len = scan_indefinite(inner, self.base + value_start, self.depth)?;
                (content_len, header.len + content_len + 2)
            }
        };
        let end = start
            .checked_add(total_len)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| CodecError::malformed(self.base + start, "length exceeds input"))?;
        let value = self
            .data
            .get(value_start..value_start + value_len)
            .ok_or_else(|| CodecError::malformed(self.base + start, "length exceeds input"))?;
        let raw = self
            .data
            .get(start..end)
            .ok_or_else(|| CodecError::malformed(self.base + start, "length exceeds input"))?;
        self.pos = end;
        Ok(Some(Tlv {
            tag: header.tag,
            value,
            raw,
            value_offset: self.base + value_start,
            offset: self.base + start,
            depth: self.depth,
        }))
    }

    /// The next element, which must exist.
    pub(crate) fn require(&mut self, what: &'static str) -> Result<Tlv<'a>, CodecError> {
        let at = self.position();
        self.next()?.ok_or_else(|| CodecError::malformed(at, what))
    }

    /// The next element if it has `tag`, without consuming anything otherwise.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, CodecError> {
        if self.data.get(self.pos) != Some(&tag) {
            return Ok(None);
        }
        self.next()
    }

    /// Requires that nothing follows.
    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CodecError::malformed(self.position(), "trailing data"))
        }
    }
}

/// Reads exactly one element spanning the whole input.
pub(crate) fn read_single(data: &[u8]) -> Result<Tlv<'_>, CodecError> {
    let mut reader = Reader::new(data);
    let tlv = reader.require("empty input")?;
    reader.finish()?;
    Ok(tlv)
}

struct Header {
    tag: u8,
    /// `None` for the indefinite form.
    length: Option<usize>,
    /// Identifier plus length octets.
    len: usize,
}

fn parse_header(data: &[u8], at: usize) -> Result<Header, CodecError> {
    let tag = *data
        .first()
        .ok_or_else(|| CodecError::malformed(at, "missing tag"))?;
    if tag & 0x1F == 0x1F {
        return Err(CodecError::malformed(
            at,
            "multi-octet tags are not supported",
        ));
    }
    if tag == 0 {
        return Err(CodecError::malformed(at, "unexpected end-of-contents"));
    }
    let first = *data
        .get(1)
        .ok_or_else(|| CodecError::malformed(at, "missing length"))?;
    if first < 0x80 {
        return Ok(Header {
            tag,
            length: Some(usize::from(first)),
            len: 2,
        });
    }
    if first == 0x80 {
        return Ok(Header {
            tag,
            length: None,
            len: 2,
        });
    }
    let count = usize::from(first & 0x7F);
    if count > 4 {
        return Err(CodecError::malformed(at, "length too large"));
    }
    let octets = data
        .get(2..2 + count)
        .ok_or_else(|| CodecError::malformed(at, "truncated length"))?;
    let length = octets
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok(Header {
        tag,
        length: Some(length),
        len: 2 + count,
    })
}

/// Length of the contents of an indefinite-length element starting at `data` (just after its
/// header), not counting the final end-of-contents. Iterative: `open` counts the indefinite
/// elements still awaiting their end-of-contents.
fn scan_indefinite(data: &[u8], base: usize, depth: usize) -> Result<usize, CodecError> {
    let mut pos = 0usize;
    let mut open = 1usize;
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        if rest.len() < 2 {
            return Err(CodecError::malformed(base + pos, "missing end-of-contents"));
        }
        if rest.first() == Some(&0) && rest.get(1) == Some(&0) {
            open -= 1;
            if open == 0 {
                return Ok(pos);
            }
            pos += 2;
            continue;
        }
        let header = parse_header(rest, base + pos)?;
        match header.length {
            None => {
                if header.tag & CONSTRUCTED_BIT == 0 {
                    return Err(CodecError::malformed(
                        base + pos,
                        "indefinite length on a primitive element",
                    ));
                }
                open += 1;
                if depth + open > MAX_DEPTH {
                    return Err(CodecError::malformed(base + pos, "nesting too deep"));
                }
                pos += header.len;
            }
            Some(len) => {
                pos = pos
                    .checked_add(header.len)
                    .and_then(|p| p.checked_add(len))
                    .filter(|p| *p <= data.len())
                    .ok_or_else(|| CodecError::malformed(base + pos, "length exceeds input"))?;
            }
        }
    }
}

/// Encodes a DER TLV with a definite, minimal length.
pub(crate) fn encode_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        // Lossless: checked just above.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// A DER `SEQUENCE` (or any constructed tag) of already-encoded elements.
pub(crate) fn encode_constructed(tag: u8, elements: &[&[u8]]) -> Vec<u8> {
    encode_tlv(tag, &elements.concat())
}

/// A DER `SET OF`: X.690 §11.6 orders the elements by their encodings. Complete TLVs are
/// self-delimiting, so plain lexicographic order equals the padded comparison X.690 asks for.
pub(crate) fn encode_set_of(tag: u8, mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    encode_tlv(tag, &elements.concat())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        let data = [0x30, 0x80, 0x04, 0x01, 0xAA, 0x00, 0x00];
        let tlv = read_single(&data).unwrap();
        assert_eq!(tlv.value, &[0x04, 0x01, 0xAA]);
        let inner = tlv.explicit_inner().unwrap();
        assert_eq!(inner.value, &[0xAA]);
    }

    #[test]
    fn constructed_octets_definite_and_nested() {
        // [0] constructed definite, holding an indefinite constructed OCTET STRING and a chunk.
        let data = [
            0xA0, 0x0B, 0x24, 0x80, 0x04, 0x01, 0x01, 0x00, 0x00, 0x04, 0x02, 0x02, 0x03,
        ];
        let mut reader = Reader::new(&data);
        let tlv = reader.require("x").unwrap();
        assert_eq!(tlv.octets().unwrap().as_ref(), &[1, 2, 3]);
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let depth = 100_000;
        let mut data = Vec::new();
        for _ in 0..depth {
            data.extend_from_slice(&[0x30, 0x80]);
        }
        data.extend(std::iter::repeat_n(0u8, depth * 2));
        assert!(read_single(&data).is_err());

        let mut definite = vec![0x05, 0x00];
        for _ in 0..(MAX_DEPTH + 5) {
            definite = encode_tlv(0x30, &definite);
        }
        let mut tlv = read_single(&definite).unwrap();
        let mut result = Ok(());
        for _ in 0..(MAX_DEPTH + 5) {
            match tlv.explicit_inner() {
                Ok(inner) => tlv = inner,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        assert!(result.is_err());
    }

    #[test]
    fn hostile_lengths() {
        assert!(read_single(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(read_single(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(read_single(&[0x04, 0x80, 0x00, 0x00]).is_err());
        assert!(read_single(&[0x30, 0x80, 0x00]).is_err());
        assert!(read_single(&[0x1F, 0x01, 0x00]).is_err());
        assert!(read_single(&[]).is_err());
    }

    #[test]
    fn set_of_is_sorted_and_lengths_minimal() {
        let set = encode_set_of(0x31, vec![vec![0x04, 0x01, 0x02], vec![0x02, 0x01, 0x01]]);
        assert_eq!(set, vec![0x31, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x02]);
        let long = encode_tlv(0x04, &[0u8; 300]);
        assert_eq!(long.get(..4).unwrap(), &[0x04, 0x82, 0x01, 0x2C]);
    }
}
