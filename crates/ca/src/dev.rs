//! The embedded default's CA and RA certificates, made by `scepd init`.

use keys::Signer;
use x509_cert::ext::Extension;

use crate::constraints::{CaConstraints, Candidate};
use crate::error::CaError;
use crate::extensions;
use crate::serial::random_serial;
use crate::x509::{CertificateDraft, ParsedCertificate};
use crate::{CLOCK_SKEW_SECS, EKU_CERTIFICATE_REQUEST_AGENT, SECONDS_PER_DAY, unix_now};

/// What an RA certificate is for (DESIGN.md §2: separate keys for separate jobs), and so the
/// profile it gets. Every RA certificate has cA=FALSE; each asks for exactly the keyUsage its
/// job needs (RFC 8894 asks the reply signer for digitalSignature and the certificate devices
/// encrypt to for keyEncipherment, and says nothing of extended key usage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaCertPurpose {
    /// The RA's CertRep signer (GetCACert serves it to devices): keyUsage digitalSignature
    /// (certmonger requires it on the reply signer), EKU emailProtection.
    ///
    /// Why emailProtection and not "no EKU": a CertRep is a CMS SignedData, and the
    /// verifiers that check the signer's purpose check OpenSSL's S/MIME signing purpose
    /// (`openssl cms -verify` by default), which refuses any EKU but emailProtection (the
    /// Certificate Request Agent EKU this certificate used to carry, for one) and accepts
    /// none at all. No EKU would also make the most exposed RA key a valid TLS client (and,
    /// by keyUsage, server) identity for every relying party that trusts this CA, where
    /// emailProtection confines it to CMS signing; an S/MIME mail client would still refuse
    /// it, as it names no mailbox.
    Signing,
    /// The CertRep signer of a data directory without a separate enrollment agent (made
    /// before there was one, or an RA that registered without one): it counter-signs for the
    /// CA as well, so it carries the Certificate Request Agent EKU beside emailProtection;
    /// keyUsage digitalSignature.
    SigningAndAgent,
    /// The enrollment agent: counter-signs approved requests for the CA, nothing else. EKU
    /// Certificate Request Agent, keyUsage digitalSignature. Never shown to devices.
    Agent,
    /// CEP encryption: devices encrypt their requests to it (RSA key transport). keyUsage
    /// keyEncipherment only, no EKU.
    Encryption,
}

impl RaCertPurpose {
    /// The keyUsage bits (policy numbering) of this purpose.
    #[must_use]
    pub fn key_usage(self) -> u16 {
        use policy::key_usage as ku;
        match self {
            Self::Signing | Self::SigningAndAgent | Self::Agent => ku::DIGITAL_SIGNATURE,
            Self::Encryption => ku::KEY_ENCIPHERMENT,
        }
    }

    /// The extendedKeyUsage OIDs (dotted) of this purpose; empty: no extension.
    #[must_use]
    pub fn extended_key_usages(self) -> &'static [&'static str] {
        match self {
            Self::Signing => &[policy::oid::EKU_EMAIL_PROTECTION],
            Self::SigningAndAgent => &[
                EKU_CERTIFICATE_REQUEST_AGENT,
                policy::oid::EKU_EMAIL_PROTECTION,
            ],
            Self::Agent => &[EKU_CERTIFICATE_REQUEST_AGENT],
            Self::Encryption => &[],
        }
    }
}

/// A TLS certificate between the split RA and CA services (issue 5), made by the CA key: the
/// CA service's server certificate, or an RA's client certificate. Separate keys from the RA
/// signing and encryption keys (one key, one job).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsPurpose {
    /// keyUsage digitalSignature, EKU serverAuth, SAN = the given DNS names and IP addresses.
    Server,
    /// keyUsage digitalSignature, EKU clientAuth.
    Client,
}

/// A TLS certificate issued by the CA of `ca_signer` / `ca_cert_der` for the key
/// `subject_public_key_spki`: `CN=<subject_cn>`, cA=FALSE, the key usage and EKU of `purpose`,
/// the SANs given (`ip_addresses` as 4 or 16 octets), key identifiers; valid from now − 5
/// minutes, notAfter capped at the CA's notAfter. Names must fit the CA's nameConstraints.
#[allow(clippy::too_many_arguments)]
pub fn issue_tls_certificate(
    ca_signer: &dyn Signer,
    ca_cert_der: &[u8],
    subject_public_key_spki: &[u8],
    subject_cn: &str,
    purpose: TlsPurpose,
    dns_names: &[String],
    ip_addresses: &[Vec<u8>],
    validity_days: u32,
) -> Result<Vec<u8>, CaError> {
    use policy::key_usage as ku;
    let eku = match purpose {
        TlsPurpose::Server => policy::oid::EKU_SERVER_AUTH,
        TlsPurpose::Client => policy::oid::EKU_CLIENT_AUTH,
    };
    let mut usage = vec![
        extensions::basic_constraints(false, None)?,
        extensions::key_usage(ku::DIGITAL_SIGNATURE)?,
        extensions::extended_key_usage(&[eku.to_owned()])?,
    ];
    let names = extensions::SanNames {
        dns_names,
        ip_addresses,
        ..extensions::SanNames::default()
    };
    if let Some(san) = extensions::subject_alt_name(&names, false)? {
        usage.push(san);
    }
    issue_service_certificate(
        ca_signer,
        ca_cert_der,
        &ServiceCertificate {
            spki: subject_public_key_spki,
            cn: subject_cn,
            dns_names,
            ip_addresses,
            validity_days,
            now: unix_now(),
        },
        usage,
    )
}

/// `CN=<cn>` as a DER Name.
fn common_name(cn: &str) -> Result<Vec<u8>, CaError> {
    use der::Encode;
    use der::asn1::{SetOfVec, Utf8StringRef};
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::{RdnSequence, RelativeDistinguishedName};

    let atv = AttributeTypeAndValue {
        oid: der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3"),
        value: der::Any::encode_from(&Utf8StringRef::new(cn)?)?,
    };
    let rdn = RelativeDistinguishedName::from(SetOfVec::try_from(vec![atv])?);
    let mut seq = RdnSequence::default();
    seq.push(rdn);
    Ok(seq.to_der()?)
}

/// A self-signed CA certificate for `signer`: `CN=<subject_cn>`, basicConstraints cA=TRUE
/// pathLen 0 (critical), keyUsage keyCertSign + cRLSign + digitalSignature (critical),
/// subjectKeyIdentifier. Valid from now − 5 minutes for `validity_days`.
pub fn self_signed_ca(
    signer: &dyn Signer,
    subject_cn: &str,
    validity_days: u32,
) -> Result<Vec<u8>, CaError> {
    self_signed_ca_at(signer, subject_cn, validity_days, unix_now())
}

/// [`self_signed_ca`] at the given Unix time.
pub fn self_signed_ca_at(
    signer: &dyn Signer,
    subject_cn: &str,
    validity_days: u32,
    now: i64,
) -> Result<Vec<u8>, CaError> {
    use policy::key_usage as ku;
    let name = common_name(subject_cn)?;
    let spki = signer.public_key_spki_der();
    let serial = random_serial()?;
    CertificateDraft {
        serial: &serial,
        issuer_der: &name,
        subject_der: &name,
        spki_der: spki,
        not_before: now.saturating_sub(CLOCK_SKEW_SECS),
        not_after: now.saturating_add(i64::from(validity_days) * SECONDS_PER_DAY),
        extensions: vec![
            extensions::basic_constraints(true, Some(0))?,
            extensions::key_usage(ku::DIGITAL_SIGNATURE | ku::KEY_CERT_SIGN | ku::CRL_SIGN)?,
            extensions::subject_key_identifier(spki)?,
        ],
    }
    .sign(signer)
}

/// An RA certificate issued by the CA of `ca_signer` / `ca_cert_der` for the key
/// `subject_public_key_spki`: `CN=<subject_cn>`, cA=FALSE (critical), the key usage and EKU of
/// `purpose`, subjectKeyIdentifier, authorityKeyIdentifier = the CA's subjectKeyIdentifier.
/// Valid from now − 5 minutes; notAfter is capped at the CA's notAfter.
///
/// Also the RA renewal of `scepd ra renew` (new keys, new certificates; see
/// [`crate::rollover`]). A subject CN that looks like a host name must fit the CA's
/// nameConstraints. The CA's EKU constraint is *not* applied: the RA certificates need
/// emailProtection and the Certificate Request Agent EKU, which a clientAuth-only constraint
/// does not list. Verifiers that intersect EKUs along the chain (Windows CryptoAPI), and
/// OpenSSL's S/MIME purpose, which refuses a CA certificate whose EKU lacks emailProtection,
/// then refuse CertReps: list emailProtection in the constraint if such a verifier must
/// accept them (`scepd doctor` says so).
pub fn issue_ra_certificate(
    ca_signer: &dyn Signer,
    ca_cert_der: &[u8],
    subject_public_key_spki: &[u8],
    subject_cn: &str,
    purpose: RaCertPurpose,
    validity_days: u32,
) -> Result<Vec<u8>, CaError> {
    issue_ra_certificate_at(
        ca_signer,
        ca_cert_der,
        subject_public_key_spki,
        subject_cn,
        purpose,
        validity_days,
        unix_now(),
    )
}

/// [`issue_ra_certificate`] at the given Unix time.
pub fn issue_ra_certificate_at(
    ca_signer: &dyn Signer,
    ca_cert_der: &[u8],
    subject_public_key_spki: &[u8],
    subject_cn: &str,
    purpose: RaCertPurpose,
    validity_days: u32,
    now: i64,
) -> Result<Vec<u8>, CaError> {
    let mut usage = vec![
        extensions::basic_constraints(false, None)?,
        extensions::key_usage(purpose.key_usage())?,
    ];
    let ekus = purpose.extended_key_usages();
    if !ekus.is_empty() {
        let ekus: Vec<String> = ekus.iter().map(|e| (*e).to_owned()).collect();
        usage.push(extensions::extended_key_usage(&ekus)?);
    }
    issue_service_certificate(
        ca_signer,
        ca_cert_der,
        &ServiceCertificate {
            spki: subject_public_key_spki,
            cn: subject_cn,
            dns_names: &[],
            ip_addresses: &[],
            validity_days,
            now,
        },
        usage,
    )
}

/// A certificate the CA issues to scepd's own services (RA keys, TLS endpoints).
struct ServiceCertificate<'a> {
    spki: &'a [u8],
    cn: &'a str,
    dns_names: &'a [String],
    ip_addresses: &'a [Vec<u8>],
    validity_days: u32,
    now: i64,
}

/// What every service certificate shares: the CA key must be the CA certificate's, the name
/// must pass the CA's own constraints, and the certificate gets `usage` plus the key
/// identifiers, a random serial and a validity clamped to the CA's.
fn issue_service_certificate(
    ca_signer: &dyn Signer,
    ca_cert_der: &[u8],
    cert: &ServiceCertificate<'_>,
    mut usage: Vec<Extension>,
) -> Result<Vec<u8>, CaError> {
    let ca = ParsedCertificate::from_der(ca_cert_der)
        .map_err(|_| CaError::Certificate("does not decode"))?;
    if ca.spki_der()? != ca_signer.public_key_spki_der() {
        return Err(CaError::Certificate(
            "the signing key is not the key of the CA certificate",
        ));
    }
    let ca_ski = match ca.extension(policy::oid::EXT_SUBJECT_KEY_IDENTIFIER) {
        Ok(Some((_, v))) => extensions::read_subject_key_identifier(v)?,
        _ => return Err(CaError::Certificate("no subjectKeyIdentifier")),
    };
    let subject_der = common_name(cert.cn)?;
    CaConstraints::of(&ca)?.check(&Candidate {
        subject_der: &subject_der,
        dns_names: cert.dns_names,
        ip_addresses: cert.ip_addresses,
        emails: &[],
        upns: &[],
        uris: &[],
        extended_key_usages: &[],
    })?;
    usage.push(extensions::subject_key_identifier(cert.spki)?);
    usage.push(extensions::authority_key_identifier(&ca_ski)?);
    let serial = random_serial()?;
    CertificateDraft {
        serial: &serial,
        issuer_der: &ca.subject_der()?,
        subject_der: &subject_der,
        spki_der: cert.spki,
        not_before: cert.now.saturating_sub(CLOCK_SKEW_SECS),
        not_after: cert
            .now
            .saturating_add(i64::from(cert.validity_days) * SECONDS_PER_DAY)
            .min(ca.not_after()),
        extensions: usage,
    }
    .sign(ca_signer)
}
