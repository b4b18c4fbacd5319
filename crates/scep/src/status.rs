//! pkiStatus and failInfo (RFC 8894 §3.2.1.3, §3.2.1.4).
//!
//! ```text
//! pkiStatus ATTRIBUTE ::= { WITH SYNTAX PrintableString ID id-pkiStatus }  -- "0" | "2" | "3"
//! failInfo  ATTRIBUTE ::= { WITH SYNTAX PrintableString ID id-failInfo }   -- "0" .. "4"
//! failInfoText ATTRIBUTE ::= { WITH SYNTAX UTF8String ID id-scep-failInfoText }
//! ```

/// The reply status (RFC 8894 §3.2.1.3), with the failInfo a FAILURE must carry (§3.3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkiStatus {
    /// SUCCESS ("0"): the content is the pkcsPKIEnvelope holding the certs-only reply.
    Success,
    /// FAILURE ("2") with its failInfo: signed over empty content.
    Failure(FailInfo),
    /// PENDING ("3"): signed over empty content.
    Pending,
}

impl PkiStatus {
    /// The pkiStatus decimal string carried on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "0",
            Self::Failure(_) => "2",
            Self::Pending => "3",
        }
    }

    /// The failInfo of a FAILURE.
    #[must_use]
    pub fn fail_info(self) -> Option<FailInfo> {
        match self {
            Self::Failure(info) => Some(info),
            _ => None,
        }
    }

    /// Combines the exact wire strings of pkiStatus and failInfo: FAILURE needs a failInfo,
    /// the others must not have one.
    #[must_use]
    pub fn from_wire(status: &str, fail_info: Option<&str>) -> Option<Self> {
        match (status, fail_info) {
            ("0", None) => Some(Self::Success),
            ("3", None) => Some(Self::Pending),
            ("2", Some(info)) => FailInfo::from_wire(info).map(Self::Failure),
            _ => None,
        }
    }
}

/// Why a request failed (RFC 8894 §3.2.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailInfo {
    /// badAlg (0): unrecognized or unsupported algorithm.
    BadAlg = 0,
    /// badMessageCheck (1): integrity check (signature verification) failed.
    BadMessageCheck = 1,
    /// badRequest (2): transaction not permitted or supported.
    BadRequest = 2,
    /// badTime (3): signingTime not close enough to the system time.
    BadTime = 3,
    /// badCertId (4): no certificate could be identified matching the criteria.
    BadCertId = 4,
}

impl FailInfo {
    /// The decimal string carried on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadAlg => "0",
            Self::BadMessageCheck => "1",
            Self::BadRequest => "2",
            Self::BadTime => "3",
            Self::BadCertId => "4",
        }
    }

    /// Parses the exact wire string.
    #[must_use]
    pub fn from_wire(s: &str) -> Option<Self> {
        [
            Self::BadAlg,
            Self::BadMessageCheck,
            Self::BadRequest,
            Self::BadTime,
            Self::BadCertId,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings() {
        assert_eq!(
            PkiStatus::from_wire("2", Some("2")),
            Some(PkiStatus::Failure(FailInfo::BadRequest))
        );
        assert_eq!(PkiStatus::from_wire("2", None), None);
        assert_eq!(PkiStatus::from_wire("0", Some("2")), None);
        assert_eq!(PkiStatus::from_wire("0", None), Some(PkiStatus::Success));
        assert_eq!(PkiStatus::from_wire("1", None), None);
        assert_eq!(FailInfo::from_wire("2"), Some(FailInfo::BadRequest));
        assert_eq!(FailInfo::from_wire("02"), None);
        assert_eq!(FailInfo::BadCertId as u8, 4);
    }
}
