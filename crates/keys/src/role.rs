//! Key roles.

use std::fmt;

/// The one job a key does.
///
/// DESIGN.md §2, "No key ever does two jobs": RA encryption ≠ RA signing ≠ RA enrollment
/// agent ≠ CA signing.
/// Keeping them apart means that
/// - a decryption oracle on the internet-facing envelope key (Bleichenbacher/Marvin) cannot be
///   turned into signatures by the RA or, worse, by the CA (step-ca and micromdm reuse one key
///   for both; security-catalogue D6);
/// - the RA host, which is exposed, never holds the key that makes certificates;
/// - each key can be rotated, stored (HSM or file) and audited on its own.
///
/// Every loaded key carries its role, and the backends refuse an operation of another role
/// ([`crate::KeyError::WrongRole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The CA key that signs certificates and CRLs.
    CaSigning,
    /// The RA's device-facing signing key: signs CertReps (and, in data directories made
    /// before the enrollment-agent key existed, also counter-signs approved requests).
    RaSigning,
    /// The RA's enrollment-agent key: counter-signs approved requests for the CA and does
    /// nothing else (its certificate carries the Certificate Request Agent EKU
    /// 1.3.6.1.4.1.311.20.2.1). Devices never see it, so it need not be RSA: P-256 by default.
    RaAgent,
    /// The RA "CEP encryption" key: decrypts the envelopes of SCEP requests. Never signs.
    RaDecryption,
}

impl KeyRole {
    /// Fails unless a key loaded for `self` is asked to serve `expected` (a start-up wiring
    /// check shared by every backend).
    pub fn require(self, expected: KeyRole) -> Result<(), crate::KeyError> {
        if self == expected {
            Ok(())
        } else {
            Err(crate::KeyError::WrongRole {
                expected,
                actual: self,
            })
        }
    }

    /// Fails unless a key loaded for `self` may be handed out as a signer for `expected`.
    pub fn require_signer(self, expected: KeyRole) -> Result<(), crate::KeyError> {
        self.require(expected)?;
        if expected.is_signing() {
            Ok(())
        } else {
            Err(crate::KeyError::NotPermitted {
                operation: "sign",
                role: expected,
            })
        }
    }

    /// Every role.
    pub const ALL: [Self; 4] = [
        Self::CaSigning,
        Self::RaSigning,
        Self::RaAgent,
        Self::RaDecryption,
    ];

    /// True for the roles whose key signs.
    pub fn is_signing(self) -> bool {
        matches!(self, Self::CaSigning | Self::RaSigning | Self::RaAgent)
    }

    /// The stable name used in configuration, file names and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaSigning => "ca-signing",
            Self::RaSigning => "ra-signing",
            Self::RaAgent => "ra-agent",
            Self::RaDecryption => "ra-decryption",
        }
    }
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(KeyRole::CaSigning.to_string(), "ca-signing");
        assert_eq!(KeyRole::RaSigning.to_string(), "ra-signing");
        assert_eq!(KeyRole::RaAgent.to_string(), "ra-agent");
        assert!(KeyRole::RaAgent.is_signing());
        assert_eq!(KeyRole::RaDecryption.to_string(), "ra-decryption");
        assert!(KeyRole::CaSigning.is_signing());
        assert!(!KeyRole::RaDecryption.is_signing());
    }
}
