//! GetCACaps capabilities (RFC 8894 §3.5.2).

/// A capability advertised by GetCACaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `AES`: AES-CBC content encryption.
    Aes,
    /// `DES3`: triple DES (legacy opt-in only).
    Des3,
    /// `GetNextCACert`: CA rollover.
    GetNextCaCert,
    /// `POSTPKIOperation`.
    PostPkiOperation,
    /// `Renewal`: RenewalReq.
    Renewal,
    /// `SHA-1` (legacy opt-in only).
    Sha1,
    /// `SHA-256`.
    Sha256,
    /// `SHA-384`: not in RFC 8894's table, but clients that do not know a keyword ignore it
    /// (§3.5.2), and strongSwan 5.9's `pki --scep` needs it: it tests the `SCEPStandard` and
    /// `AES` flags at the bit of the fourth keyword of its list, `SHA-384`, so without it
    /// it refuses SHA-256 and AES against a server that offers both.
    Sha384,
    /// `SHA-512`.
    Sha512,
    /// `SCEPStandard`: RFC 8894 as a whole (implies AES, POSTPKIOperation, SHA-256).
    ScepStandard,
}

impl Capability {
    /// The keyword exactly as RFC 8894 §3.5.2 spells it (`SHA-384` as its drafts did).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aes => "AES",
            Self::Des3 => "DES3",
            Self::GetNextCaCert => "GetNextCACert",
            Self::PostPkiOperation => "POSTPKIOperation",
            Self::Renewal => "Renewal",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::ScepStandard => "SCEPStandard",
        }
    }
}

/// The GetCACaps body: one keyword per line, in the order given, each line ending in `\n`.
#[must_use]
pub fn ca_caps(capabilities: &[Capability]) -> String {
    capabilities
        .iter()
        .map(|c| format!("{}\n", c.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_default_set() {
        let body = ca_caps(&[
            Capability::Aes,
            Capability::PostPkiOperation,
            Capability::Renewal,
            Capability::ScepStandard,
            Capability::Sha256,
            Capability::Sha384,
            Capability::Sha512,
        ]);
        assert_eq!(
            body,
            "AES\nPOSTPKIOperation\nRenewal\nSCEPStandard\nSHA-256\nSHA-384\nSHA-512\n"
        );
        assert_eq!(Capability::GetNextCaCert.as_str(), "GetNextCACert");
        assert_eq!(Capability::Des3.as_str(), "DES3");
        assert_eq!(Capability::Sha1.as_str(), "SHA-1");
    }
}
