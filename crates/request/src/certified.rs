//! The names and usages of a certificate scepd issued, in policy's terms: a renewal is bound
//! by the certificate it renews (`policy::renewal_decision_with_ekus`), so its names are read
//! exactly as a CSR's are, UPNs and the SID URI included.

use der::Decode;
use policy::SanFact;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};

use crate::csr::extensions::san_fact;

/// What a certificate says about its subject beyond the subject name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertifiedNames {
    /// Every GeneralName of its subjectAltName, in order (a UTF8String UPN as
    /// [`SanFact::Upn`]).
    pub sans: Vec<SanFact>,
    /// Its extended key usages, dotted; empty without the extension.
    pub extended_key_usages: Vec<String>,
}

/// Reads the subjectAltName and extKeyUsage of a DER certificate. A certificate that does not
/// decode, or carries either extension twice or undecodable, is an error: a renewal then has
/// nothing to be bound by.
pub fn certified_names(certificate_der: &[u8]) -> Result<CertifiedNames, der::Error> {
    let certificate = Certificate::from_der(certificate_der)?;
    let tbs = certificate.tbs_certificate();
    let sans = tbs
        .get_extension::<SubjectAltName>()?
        .map(|(_, san)| san.0.iter().map(san_fact).collect())
        .unwrap_or_default();
    let extended_key_usages = tbs
        .get_extension::<ExtendedKeyUsage>()?
        .map(|(_, eku)| eku.0.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    Ok(CertifiedNames {
        sans,
        extended_key_usages,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RA_CERT: &[u8] = include_bytes!("../tests/fixtures/rust-ra.der");

    #[test]
    fn garbage_is_an_error_and_a_certificate_without_names_has_none() {
        assert!(certified_names(b"junk").is_err());
        assert!(certified_names(&RA_CERT[..RA_CERT.len() / 2]).is_err());
        let names = certified_names(RA_CERT).unwrap();
        assert!(names.sans.is_empty(), "{names:?}");
    }
}
