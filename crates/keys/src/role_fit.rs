//! Whether a set of role keys and their certificates keeps every key to its one job
//! (DESIGN.md §2): no two roles on one key, and each certificate certifying its role's key
//! with the usages of that role and no other's. Every service that loads role keys — the
//! all-in-one service, the RA and the CA of a two-host deployment, `scepd doctor` — asks here.

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

use crate::KeyRole;

/// Certificate Request Agent (the NDES enrollment agent's application policy).
const CERTIFICATE_REQUEST_AGENT: &str = "1.3.6.1.4.1.311.20.2.1";

/// Why a certificate does not fit the role of its key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleFitError {
    #[error("unreadable: {0}")]
    Unreadable(#[source] der::Error),
    #[error("its public key cannot be encoded: {0}")]
    CertificateKey(#[source] der::Error),
    #[error("it does not certify the role's key")]
    NotCertified,
    #[error("unreadable extensions: {0}")]
    UnreadableExtensions(#[source] der::Error),
    #[error("{0}")]
    Unfit(&'static str),
}

/// The first two roles that share a public key, if any.
pub fn shared_key(keys: &[(KeyRole, &[u8])]) -> Option<(KeyRole, KeyRole)> {
    keys.iter().enumerate().find_map(|(i, (a, key_a))| {
        keys.iter()
            .skip(i + 1)
            .find(|(_, key_b)| key_a == key_b)
            .map(|(b, _)| (*a, *b))
    })
}

/// Checks that `certificate_der` certifies `public_key_spki` and fits `role`: a CA
/// certificate with keyCertSign for the CA key; for the RA keys never a CA certificate, and
/// only their own usages (the decryption key must not be able to sign). `separate_agent`:
/// whether an enrollment-agent key exists; without one the RA signing key counter-signs and
/// needs the Certificate Request Agent EKU itself.
pub fn check_certificate(
    role: KeyRole,
    certificate_der: &[u8],
    public_key_spki: &[u8],
    separate_agent: bool,
) -> Result<(), RoleFitError> {
    let certificate = Certificate::from_der(certificate_der).map_err(RoleFitError::Unreadable)?;
    let tbs = certificate.tbs_certificate();
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(RoleFitError::CertificateKey)?;
    if spki != public_key_spki {
        return Err(RoleFitError::NotCertified);
    }
    let unreadable = RoleFitError::UnreadableExtensions;
    let key_usage = tbs
        .get_extension::<KeyUsage>()
        .map_err(unreadable)?
        .map(|(_, ku)| ku);
    let has = |usage: KeyUsages| key_usage.is_some_and(|ku| ku.0.contains(usage));
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(unreadable)?
        .map(|(_, e)| e.0.iter().map(ToString::to_string).collect::<Vec<_>>())
        .unwrap_or_default();
    let is_ca = tbs
        .get_extension::<BasicConstraints>()
        .map_err(unreadable)?
        .is_some_and(|(_, bc)| bc.ca);
    let agent = eku.iter().any(|o| o == CERTIFICATE_REQUEST_AGENT);
    let problem = match role {
        KeyRole::CaSigning if !is_ca || !has(KeyUsages::KeyCertSign) => {
            Some("it is not a CA certificate with keyCertSign")
        }
        KeyRole::RaSigning | KeyRole::RaAgent if is_ca => Some("it is a CA certificate"),
        KeyRole::RaSigning if !has(KeyUsages::DigitalSignature) => {
            Some("it needs digitalSignature")
        }
        KeyRole::RaSigning if !separate_agent && !agent => Some(
            "without a separate enrollment-agent key it counter-signs requests and needs the Certificate Request Agent EKU",
        ),
        KeyRole::RaAgent if !has(KeyUsages::DigitalSignature) || !agent => {
            Some("it needs digitalSignature and the Certificate Request Agent EKU")
        }
        KeyRole::RaDecryption if is_ca => Some("it is a CA certificate"),
        KeyRole::RaDecryption if !has(KeyUsages::KeyEncipherment) => {
            Some("it needs keyEncipherment")
        }
        KeyRole::RaDecryption if agent || has(KeyUsages::DigitalSignature) => Some(
            "it may also sign (digitalSignature or the Certificate Request Agent EKU), which is the RA signing and agent roles' job",
        ),
        _ => None,
    };
    match problem {
        Some(why) => Err(RoleFitError::Unfit(why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_keys_are_named_by_their_roles() {
        let (a, b, c) = (&[1u8][..], &[2u8][..], &[1u8][..]);
        assert_eq!(
            shared_key(&[(KeyRole::CaSigning, a), (KeyRole::RaSigning, b)]),
            None
        );
        assert_eq!(
            shared_key(&[
                (KeyRole::CaSigning, a),
                (KeyRole::RaSigning, b),
                (KeyRole::RaAgent, c)
            ]),
            Some((KeyRole::CaSigning, KeyRole::RaAgent))
        );
    }

    #[test]
    fn garbage_is_unreadable_not_unfit() {
        assert!(matches!(
            check_certificate(KeyRole::CaSigning, b"not a certificate", b"", true),
            Err(RoleFitError::Unreadable(_))
        ));
    }
}
