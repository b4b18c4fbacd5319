//! The messageType attribute (RFC 8894 §3.2.1.2), decided fail-closed.
//!
//! ```text
//! messageType ATTRIBUTE ::= { WITH SYNTAX PrintableString ID id-messageType }
//! ```
//!
//! step-ca CVE-2026-30836 issued certificates for `"18"` (UpdateReq, unassigned) because an
//! unknown-but-parsable type skipped the challenge check. Here only the exact decimal strings of
//! implemented *request* types, as a PrintableString, are [`MessageTypeField::Known`]; everything
//! else is [`MessageTypeField::Unsupported`] and never a parse error, so the RA can still answer
//! with a signed FAILURE badRequest.

/// Message types of RFC 8894 §3.2.1.2 that scepd implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// CertRep (3): the server's reply.
    CertRep = 3,
    /// RenewalReq (17).
    RenewalReq = 17,
    /// PKCSReq (19).
    PkcsReq = 19,
    /// CertPoll (20), GetCertInitial in older drafts.
    CertPoll = 20,
    /// GetCert (21).
    GetCert = 21,
    /// GetCRL (22).
    GetCrl = 22,
}

impl MessageType {
    const REQUESTS: [Self; 5] = [
        Self::RenewalReq,
        Self::PkcsReq,
        Self::CertPoll,
        Self::GetCert,
        Self::GetCrl,
    ];

    /// The decimal string carried on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertRep => "3",
            Self::RenewalReq => "17",
            Self::PkcsReq => "19",
            Self::CertPoll => "20",
            Self::GetCert => "21",
            Self::GetCrl => "22",
        }
    }

    /// Whether a client may send this type.
    #[must_use]
    pub fn is_request(self) -> bool {
        self != Self::CertRep
    }
}

/// The messageType attribute as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageTypeField {
    /// An implemented type, in its one exact encoding.
    Known(MessageType),
    /// Anything else, described for the audit log: a PrintableString's value as sent; for other
    /// encodings `"<tag 0xNN>"` plus the lossy text; `"<absent>"`, `"<2 values>"`,
    /// `"<duplicate attribute>"`.
    Unsupported(String),
}

impl MessageTypeField {
    /// The implemented type, if any.
    #[must_use]
    pub fn known(&self) -> Option<MessageType> {
        match self {
            Self::Known(t) => Some(*t),
            Self::Unsupported(_) => None,
        }
    }

    /// Decides the field of a *request*: only `"17" | "19" | "20" | "21" | "22"` are known.
    pub(crate) fn for_request(raw: &RawMessageType) -> Self {
        Self::decide(raw, &MessageType::REQUESTS)
    }

    /// Decides the field of a *reply* (client side): only `"3"` is known.
    pub(crate) fn for_reply(raw: &RawMessageType) -> Self {
        Self::decide(raw, &[MessageType::CertRep])
    }

    fn decide(raw: &RawMessageType, allowed: &[MessageType]) -> Self {
        match raw {
            RawMessageType::Absent => Self::Unsupported("<absent>".into()),
            RawMessageType::Duplicate => Self::Unsupported("<duplicate attribute>".into()),
            RawMessageType::Values(values) => match values.as_slice() {
                [(tag, bytes)] => {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    if *tag != PRINTABLE_STRING_TAG {
                        return Self::Unsupported(format!("<tag 0x{tag:02x}> {text}"));
                    }
                    allowed
                        .iter()
                        .find(|t| t.as_str().as_bytes() == bytes.as_slice())
                        .map_or(Self::Unsupported(text), |t| Self::Known(*t))
                }
                other => Self::Unsupported(format!("<{} values>", other.len())),
            },
        }
    }
}

const PRINTABLE_STRING_TAG: u8 = 0x13;

/// The attribute exactly as it was found, before any decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawMessageType {
    Absent,
    Duplicate,
    /// Each value's tag and contents octets.
    Values(Vec<(u8, Vec<u8>)>),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn printable(s: &[u8]) -> RawMessageType {
        RawMessageType::Values(vec![(0x13, s.to_vec())])
    }

    #[test]
    fn only_exact_request_types_are_known() {
        for (s, t) in [
            ("17", MessageType::RenewalReq),
            ("19", MessageType::PkcsReq),
            ("20", MessageType::CertPoll),
            ("21", MessageType::GetCert),
            ("22", MessageType::GetCrl),
        ] {
            assert_eq!(
                MessageTypeField::for_request(&printable(s.as_bytes())),
                MessageTypeField::Known(t)
            );
        }
        let known = ["17", "19", "20", "21", "22"];
        for n in 0..=255u32 {
            let s = n.to_string();
            if known.contains(&s.as_str()) {
                continue;
            }
            assert_eq!(
                MessageTypeField::for_request(&printable(s.as_bytes())),
                MessageTypeField::Unsupported(s.clone()),
                "{s}"
            );
        }
    }

    #[test]
    fn odd_encodings_are_unsupported() {
        for s in [
            "3", "18", "019", "+19", " 19", "19 ", "0x13", "", "19\0", "1 9",
        ] {
            assert!(
                MessageTypeField::for_request(&printable(s.as_bytes()))
                    .known()
                    .is_none(),
                "{s:?}"
            );
        }
        // Full-width digits in a PrintableString tag (not even valid PrintableString).
        let full_width = "１９".as_bytes();
        assert!(
            MessageTypeField::for_request(&printable(full_width))
                .known()
                .is_none()
        );
        for tag in [0x0C, 0x16, 0x04, 0x1E, 0x02] {
            let raw = RawMessageType::Values(vec![(tag, b"19".to_vec())]);
            assert!(MessageTypeField::for_request(&raw).known().is_none());
        }
        let two = RawMessageType::Values(vec![(0x13, b"19".to_vec()), (0x13, b"19".to_vec())]);
        assert_eq!(
            MessageTypeField::for_request(&two),
            MessageTypeField::Unsupported("<2 values>".into())
        );
        let none = RawMessageType::Values(vec![]);
        assert!(MessageTypeField::for_request(&none).known().is_none());
        assert!(
            MessageTypeField::for_request(&RawMessageType::Absent)
                .known()
                .is_none()
        );
        assert!(
            MessageTypeField::for_request(&RawMessageType::Duplicate)
                .known()
                .is_none()
        );
    }

    #[test]
    fn cert_rep_is_known_only_in_replies() {
        assert_eq!(
            MessageTypeField::for_reply(&printable(b"3")),
            MessageTypeField::Known(MessageType::CertRep)
        );
        assert!(
            MessageTypeField::for_request(&printable(b"3"))
                .known()
                .is_none()
        );
        assert!(
            MessageTypeField::for_reply(&printable(b"19"))
                .known()
                .is_none()
        );
    }
}
