//! Rollover: new RA certificates before the old ones expire, and the next CA.
//!
//! # CA rollover (RFC 4210 §4.4)
//!
//! [`next_ca`] makes the classic three certificates of a root key update (RFC 4210 §4.4,
//! "Root CA Key Update"):
//!
//! - `certificate` — **NewWithNew**: the next CA certificate, self-signed by the new key;
//! - `old_with_new` — **OldWithNew**: the old public key certified by the new key, so a
//!   relying party that already trusts the new root can validate certificates the old key
//!   issued (`-CAfile new -untrusted OldWithNew old-leaf`);
//! - `new_with_old` — **NewWithOld**: the new public key certified by the old key, so a
//!   relying party that still trusts only the old root can validate certificates the new key
//!   issues (`-CAfile old -untrusted NewWithOld new-leaf`).
//!
//! The cross certificates keep the subject DN (both CA certificates have the same name): a
//! cross certificate is then *self-issued* and does not count against pathLenConstraint 0
//! (RFC 5280 §4.2.1.9, §6.1.4 (l)), and chains are told apart by the key identifiers
//! (authorityKeyIdentifier = the issuing key's subjectKeyIdentifier). A different subject DN
//! would make each cross certificate an intermediate that both roots' pathLenConstraint 0
//! forbids, so [`next_ca`] refuses it.
//!
//! # What GetNextCACert serves (for the integrator)
//!
//! RFC 8894 §3.5.2 and §4.7: GetNextCACert returns the *next* CA certificate (`certificate`
//! above) and the *next* RA certificates (issued by the new CA key to new RA keys), as a
//! degenerate certs-only SignedData that is itself signed by the *current* RA signing key, so
//! a client can check it with what it already trusts. After the switch, GetCACert serves the
//! new CA certificate and new RA certificates (and `new_with_old` may be added for relying
//! parties that hold only the old root); [`crate::Ca::with_previous`] keeps recognising
//! certificates issued by the old key for renewal.
//!
//! # RA renewal
//!
//! New RA certificates for new keys are [`crate::dev::issue_ra_certificate`];
//! [`ra_certificate_expiry`] tells when they are due. During the transition the CA's
//! allow-list holds both the old and the new RA signing certificates.

use keys::Signer;

use crate::error::CaError;
use crate::profile::{CaProfile, ca_base_extensions, check_ca_key};
use crate::serial::random_serial;
use crate::x509::{CertificateDraft, ParsedCertificate};
use crate::{CLOCK_SKEW_SECS, unix_now};

/// The three certificates of a CA rollover (RFC 4210 §4.4), DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextCa {
    /// NewWithNew: the next CA certificate, self-signed with the new key. GetNextCACert
    /// returns this one (with the next RA certificates).
    pub certificate: Vec<u8>,
    /// OldWithNew: the current CA key certified by the new key.
    pub old_with_new: Vec<u8>,
    /// NewWithOld: the new CA key certified by the current key.
    pub new_with_old: Vec<u8>,
}

/// Prepares the next CA: `next_signer`'s key, certified by itself under `profile`, plus the
/// two cross certificates. `profile`'s subject must be the current CA's subject (see the module
/// documentation); the keys must differ. The cross certificates are valid from now − 5
/// minutes until the current CA certificate's notAfter (neither can outlive the older key's
/// certificate); OldWithNew carries the current certificate's own nameConstraints and EKU
/// constraint, NewWithOld the profile's.
pub fn next_ca(
    current_signer: &dyn Signer,
    current_cert_der: &[u8],
    next_signer: &dyn Signer,
    profile: &CaProfile,
) -> Result<NextCa, CaError> {
    next_ca_at(
        current_signer,
        current_cert_der,
        next_signer,
        profile,
        unix_now(),
    )
}

/// [`next_ca`] at the given Unix time.
pub fn next_ca_at(
    current_signer: &dyn Signer,
    current_cert_der: &[u8],
    next_signer: &dyn Signer,
    profile: &CaProfile,
    now: i64,
) -> Result<NextCa, CaError> {
    let current = ParsedCertificate::from_der(current_cert_der)
        .map_err(|_| CaError::Certificate("does not decode"))?;
    let current_spki = current.spki_der()?;
    if current_spki != current_signer.public_key_spki_der() {
        return Err(CaError::Certificate(
            "the signing key is not the key of the CA certificate",
        ));
    }
    if !current.is_ca() {
        return Err(CaError::Certificate("not a CA certificate (cA=TRUE)"));
    }
    let current_ski = current
        .subject_key_identifier()
        .ok_or(CaError::Certificate("no subjectKeyIdentifier"))?;
    if now >= current.not_after() {
        return Err(CaError::Rollover(
            "the current CA certificate has expired: NewWithOld could not be verified",
        ));
    }
    check_ca_key(next_signer)?;
    let next_spki = next_signer.public_key_spki_der();
    if next_spki == current_spki.as_slice() {
        return Err(CaError::Rollover(
            "the next CA key is the current one: a rollover needs a new key",
        ));
    }
    let subject = current.subject_der()?;
    if profile.subject_der() != subject.as_slice() {
        return Err(CaError::Rollover(
            "the next CA must keep the current subject DN: with another name each cross \
             certificate is an intermediate that pathLenConstraint 0 forbids",
        ));
    }
    let next_ski = crate::extensions::key_identifier(next_spki)?;
    let not_before = now.saturating_sub(CLOCK_SKEW_SECS);
    let next_not_after = profile.not_after(now);

    let certificate = CertificateDraft {
        serial: &random_serial()?,
        issuer_der: &subject,
        subject_der: &subject,
        spki_der: next_spki,
        not_before,
        not_after: next_not_after,
        extensions: profile.extensions(&next_ski, None)?,
    }
    .sign(next_signer)?;

    let new_with_old = CertificateDraft {
        serial: &random_serial()?,
        issuer_der: &subject,
        subject_der: &subject,
        spki_der: next_spki,
        not_before,
        not_after: current.not_after().min(next_not_after),
        extensions: profile.extensions(&next_ski, Some(&current_ski))?,
    }
    .sign(current_signer)?;

    let mut old_exts = ca_base_extensions(&current_ski, Some(&next_ski))?;
    for oid in [
        policy::oid::EXT_NAME_CONSTRAINTS,
        policy::oid::EXT_EXTENDED_KEY_USAGE,
    ] {
        if let Some(e) = current.raw_extension(oid) {
            old_exts.push(e);
        }
    }
    let old_with_new = CertificateDraft {
        serial: &random_serial()?,
        issuer_der: &subject,
        subject_der: &subject,
        spki_der: &current_spki,
        not_before,
        not_after: current.not_after(),
        extensions: old_exts,
    }
    .sign(next_signer)?;

    Ok(NextCa {
        certificate,
        old_with_new,
        new_with_old,
    })
}

/// The notAfter (Unix time) of a certificate, for deciding when RA certificates are due for
/// renewal (`scepd ra renew`).
pub fn ra_certificate_expiry(cert_der: &[u8]) -> Result<i64, CaError> {
    ParsedCertificate::from_der(cert_der)
        .map(|c| c.not_after())
        .map_err(|_| CaError::Certificate("does not decode"))
}
