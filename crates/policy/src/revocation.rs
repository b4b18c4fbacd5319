//! Why a certificate was revoked: one type for the CA (CRL entries, OCSP answers), the store
//! and the command line.

use std::fmt;
use std::str::FromStr;

/// RFC 5280 §5.3.1:
///
/// ```asn1
/// CRLReason ::= ENUMERATED {
///      unspecified             (0),
///      keyCompromise           (1),
///      cACompromise            (2),
///      affiliationChanged      (3),
///      superseded              (4),
///      cessationOfOperation    (5),
///      certificateHold         (6),
///           -- value 7 is not used
///      removeFromCRL           (8),
///      privilegeWithdrawn      (9),
///      aACompromise           (10) }
/// ```
///
/// `certificateHold` and `removeFromCRL` are absent on purpose: a revocation here is
/// permanent (the CA/Browser Forum Baseline Requirements forbid certificateHold), and
/// removeFromCRL only exists in delta CRLs.
/// Not `#[non_exhaustive]`: RFC 5280 fixes the set, and matches on it (OCSP's CRLReason) must
/// stay exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in code order.
    pub const ALL: [RevocationReason; 8] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The RFC 5280 name (`keyCompromise`, …): what the CLI accepts and prints, and what the
    /// store keeps.
    pub const fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// The CRLReason ENUMERATED value (for the CRL entry's reasonCode and OCSP).
    pub const fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The reason for a `CRLReason` value (a stored code read back); `None` for 6, 7, 8 and
    /// anything unknown.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether the reason is written at all: RFC 5280 §5.3.1 says unspecified SHOULD be
    /// absent, and CA/B BR §7.2.2 and §7.3 forbid it in CRL entries and OCSP responses.
    pub fn is_written(self) -> bool {
        self != RevocationReason::Unspecified
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a revocation reason scepd accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown revocation reason")]
pub struct UnknownRevocationReason;

impl FromStr for RevocationReason {
    type Err = UnknownRevocationReason;

    /// The RFC 5280 name in any case, with or without `-`/`_` (`keyCompromise`,
    /// `key-compromise`, `KEY_COMPROMISE`), or the numeric code.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(&folded) || r.code().to_string() == folded)
            .ok_or(UnknownRevocationReason)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for r in RevocationReason::ALL {
            assert_eq!(r.as_str().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(r.code().to_string().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(RevocationReason::from_code(r.code()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        for folded in ["KEYCOMPROMISE", "key-compromise", "key_compromise"] {
            assert_eq!(
                folded.parse::<RevocationReason>().unwrap(),
                RevocationReason::KeyCompromise
            );
        }
    }

    #[test]
    fn hold_remove_and_unused_codes_are_refused() {
        for bad in [
            "",
            "certificateHold",
            "removeFromCRL",
            "6",
            "7",
            "8",
            "11",
            "hold",
        ] {
            assert!(bad.parse::<RevocationReason>().is_err(), "{bad}");
        }
        for code in [6, 7, 8, 11, 255] {
            assert_eq!(RevocationReason::from_code(code), None);
        }
        assert!(!RevocationReason::Unspecified.is_written());
        assert!(RevocationReason::KeyCompromise.is_written());
    }
}
