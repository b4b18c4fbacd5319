//! Importing an existing CA (certificate + key) so scepd can sit under an existing PKI.
//!
//! Each check fails with its own [`ImportRejection`] that says what to fix. A CA that is not
//! self-signed (an intermediate) may come with its issuer certificates, which are checked to
//! link up and which GetCACert serves after the CA certificate (RFC 8894 §4.2.1.2: a
//! certs-only SignedData holding the CA certificate, the RA certificates and any chain).

use keys::{KeyRole, Signer};

use crate::constraints::CaConstraints;
use crate::error::{CaError, ImportRejection};
use crate::fingerprint::fingerprint_sha256;
use crate::unix_now;
use crate::x509::ParsedCertificate;

/// A CA certificate and key that passed [`check_ca`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedCa {
    /// The CA certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Its issuer certificates, nearest first (empty for a self-signed CA, or when the
    /// operator gave none).
    pub chain: Vec<Vec<u8>>,
    /// RFC 4514 subject.
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// Issuer name equals subject name and the certificate's own key verifies its signature.
    pub self_signed: bool,
    /// What devices and MDM profiles pin: SHA-256 of the CA certificate, `AB:CD:…`.
    pub fingerprint_sha256: String,
}

/// Checks that `cert_der` (DER or PEM) is a CA certificate `signer` can act for, now:
/// basicConstraints cA=TRUE, keyUsage keyCertSign, the signer's public key equals the
/// certificate's, a subjectKeyIdentifier, within validity, a self-signature that verifies if
/// it claims one, and nameConstraints this CA can honour.
pub fn check_ca(cert_der: &[u8], signer: &dyn Signer) -> Result<ImportedCa, CaError> {
    check_ca_with_chain_at(cert_der, &[], signer, unix_now())
}

/// [`check_ca`] for an intermediate CA with its issuer certificates (nearest first): each
/// must be a CA whose key verifies the signature of the certificate below it, under whose
/// name it was issued, within validity.
pub fn check_ca_with_chain(
    cert_der: &[u8],
    chain: &[Vec<u8>],
    signer: &dyn Signer,
) -> Result<ImportedCa, CaError> {
    check_ca_with_chain_at(cert_der, chain, signer, unix_now())
}

/// [`check_ca_with_chain`] at the given Unix time.
pub fn check_ca_with_chain_at(
    cert_der: &[u8],
    chain: &[Vec<u8>],
    signer: &dyn Signer,
    now: i64,
) -> Result<ImportedCa, CaError> {
    if signer.role() != KeyRole::CaSigning {
        return Err(ImportRejection::WrongRole(signer.role()).into());
    }
    let der = pem_or_der(cert_der)?;
    let cert = ParsedCertificate::from_der(&der).map_err(|_| ImportRejection::DoesNotDecode)?;
    if !cert.is_ca() {
        return Err(ImportRejection::NotCa.into());
    }
    if !cert.can_sign_certificates() {
        return Err(ImportRejection::NoKeyCertSign.into());
    }
    let spki = cert.spki_der()?;
    if spki != signer.public_key_spki_der() {
        return Err(ImportRejection::KeyMismatch.into());
    }
    match cert.extension(policy::oid::EXT_SUBJECT_KEY_IDENTIFIER) {
        Ok(Some(_)) => {}
        _ => return Err(ImportRejection::NoSubjectKeyIdentifier.into()),
    }
    check_validity(&cert, now).map_err(CaError::Import)?;
    let self_issued = cert.issuer_der()? == cert.subject_der()?;
    let self_signed = self_issued && cert.verify_signed_by(&spki).is_ok();
    // A self-issued certificate is a root (or a rollover's cross certificate, which has an
    // authorityKeyIdentifier of another key); a root that does not verify is corrupt.
    if self_issued && !self_signed && !has_foreign_aki(&cert) {
        return Err(ImportRejection::BadSelfSignature.into());
    }
    CaConstraints::of(&cert)?;

    let chain_der = check_chain(cert, chain, Some(now))?;

    let cert = ParsedCertificate::from_der(&der).map_err(|_| ImportRejection::DoesNotDecode)?;
    Ok(ImportedCa {
        fingerprint_sha256: fingerprint_sha256(&der),
        subject: cert.cert.tbs_certificate().subject().to_string(),
        not_before: cert.not_before(),
        not_after: cert.not_after(),
        self_signed,
        chain: chain_der,
        certificate_der: der,
    })
}

/// Checks that `chain` (nearest first) links up from `cert`: each a CA with keyCertSign,
/// named as the issuer of the one below, whose key verifies it, within validity at `now` if
/// given, with nameConstraints this CA can honour. Returns the chain as DER.
pub(crate) fn check_chain(
    cert: ParsedCertificate,
    chain: &[Vec<u8>],
    now: Option<i64>,
) -> Result<Vec<Vec<u8>>, CaError> {
    let mut chain_der = Vec::with_capacity(chain.len());
    let mut below = cert;
    for (index, c) in chain.iter().enumerate() {
        let fail = |reason| CaError::Import(ImportRejection::Chain { index, reason });
        let c_der = pem_or_der(c)?;
        let parsed = ParsedCertificate::from_der(&c_der).map_err(|_| fail("does not decode"))?;
        if !parsed.is_ca() || !parsed.can_sign_certificates() {
            return Err(fail("not a CA certificate with keyCertSign"));
        }
        if below.issuer_der()? != parsed.subject_der()? {
            return Err(fail(
                "its subject is not the issuer of the certificate below it",
            ));
        }
        if below.verify_signed_by(&parsed.spki_der()?).is_err() {
            return Err(fail("its key does not verify the certificate below it"));
        }
        if let Some(now) = now
            && check_validity(&parsed, now).is_err()
        {
            return Err(fail("outside its validity"));
        }
        CaConstraints::of(&parsed)?;
        chain_der.push(c_der);
        below = parsed;
    }
    Ok(chain_der)
}

fn check_validity(cert: &ParsedCertificate, now: i64) -> Result<(), ImportRejection> {
    if now < cert.not_before() {
        return Err(ImportRejection::NotYetValid {
            not_before: cert.not_before(),
        });
    }
    if now > cert.not_after() {
        return Err(ImportRejection::Expired {
            not_after: cert.not_after(),
        });
    }
    Ok(())
}

fn has_foreign_aki(cert: &ParsedCertificate) -> bool {
    use der::Decode;
    let ski = match cert.extension(policy::oid::EXT_SUBJECT_KEY_IDENTIFIER) {
        Ok(Some((_, v))) => crate::extensions::read_subject_key_identifier(v).ok(),
        _ => None,
    };
    match cert.extension("2.5.29.35") {
        Ok(Some((_, v))) => x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v)
            .ok()
            .and_then(|a| a.key_identifier)
            .is_some_and(|k| Some(k.as_bytes().to_vec()) != ski),
        _ => false,
    }
}

/// Certificates come as files; accept one PEM CERTIFICATE block or DER.
fn pem_or_der(input: &[u8]) -> Result<Vec<u8>, CaError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(input.to_vec());
    };
    let Some(start) = text.find(BEGIN) else {
        return Ok(input.to_vec());
    };
    let body = text
        .get(start + BEGIN.len()..)
        .and_then(|rest| rest.find(END).and_then(|e| rest.get(..e)))
        .ok_or(ImportRejection::DoesNotDecode)?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| ImportRejection::DoesNotDecode.into())
}

use base64::Engine as _;
