//! The embedded default's CA and RA certificates, made by `scepd init`.

use keys::Signer;
use x509_cert::ext::Extension;

use crate::constraints::{CaConstraints, Candidate};
use crate::error::CaError;
use crate::extensions;
use crate::serial::random_serial;
use crate::x509::{CertificateDraft, ParsedCertificate};
use crate::{CLOCK_SKEW_SECS, EKU_CERTIFICATE_REQUEST_AGENT, SECONDS_PER_DAY, unix_now};

/// What an RA certificate is for (DESIGN.md §2: separate keys for separate jobs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaCertPurpose {
    /// The RA's CertRep signer (GetCACert serves it to devices). It keeps NDES's profile, EKU
    /// Certificate Request Agent and keyUsage digitalSignature (certmonger requires it on the
    /// reply signer), so data directories made before the separate enrollment-agent key
    /// still counter-sign with it.
    Signing,
    /// The enrollment agent: counter-signs approved requests for the CA, nothing else. EKU
    /// Certificate Request Agent, keyUsage digitalSignature.
    Agent,
    /// CEP encryption: devices encrypt their requests to it. keyUsage keyEncipherment +
    /// dataEncipherment, no EKU.
    Encryption,
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
/// nameConstraints. The CA's EKU constraint is *not* applied: the RA signing certificate needs
/// the Certificate Request Agent EKU, which a clientAuth-only constraint does not list; SCEP
/// clients check the RA certificate's signature on replies, and verifiers that intersect EKUs
/// along the chain (Windows CryptoAPI) would see no usable EKU on it — list the Certificate
/// Request Agent EKU in the constraint if such a verifier must accept the RA certificate.
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
    use policy::key_usage as ku;
    let mut usage = vec![extensions::basic_constraints(false, None)?];
    match purpose {
        RaCertPurpose::Signing | RaCertPurpose::Agent => {
            usage.push(extensions::key_usage(ku::DIGITAL_SIGNATURE)?);
            usage.push(extensions::extended_key_usage(&[
                EKU_CERTIFICATE_REQUEST_AGENT.to_owned(),
            ])?);
        }
        RaCertPurpose::Encryption => {
            usage.push(extensions::key_usage(
                ku::KEY_ENCIPHERMENT | ku::DATA_ENCIPHERMENT,
            )?);
        }
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
