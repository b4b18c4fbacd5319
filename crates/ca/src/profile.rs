//! The CA certificate a key ceremony makes (`scepd init`, `scepd ca rollover`): its subject,
//! validity and constraints, and the key algorithms a CA may use.

use std::str::FromStr;

use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use keys::{KeyRole, Signer};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::ext::Extension;
use x509_cert::name::Name;

use crate::constraints;
use crate::error::CaError;
use crate::extensions;
use crate::serial::random_serial;
use crate::x509::CertificateDraft;
use crate::{CLOCK_SKEW_SECS, SECONDS_PER_DAY, unix_now};

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// The smallest RSA modulus a CA key may have at all (NIST SP 800-57: 112-bit security,
/// acceptable until 2030). Below [`RECOMMENDED_CA_RSA_BITS`] it is allowed for throughput
/// (an RSA-2048 signature costs less than half of an RSA-3072 one) and `scepd doctor` warns.
pub const MIN_CA_RSA_BITS: u32 = 2048;
/// The RSA modulus a CA key that signs for years should have (NIST SP 800-57: 128-bit
/// security); `scepd init` makes RSA-3072 unless asked otherwise.
pub const RECOMMENDED_CA_RSA_BITS: u32 = 3072;

/// The options of a new CA certificate.
///
/// Always: basicConstraints cA=TRUE pathLenConstraint 0 (critical; the CA issues end-entity
/// and RA certificates only), keyUsage keyCertSign + cRLSign + digitalSignature (critical),
/// subjectKeyIdentifier. Optional: nameConstraints with permitted dNSName subtrees (critical)
/// and an EKU constraint (an extendedKeyUsage extension in the CA certificate), which the seed
/// recommends for a CA dedicated to SCEP. [`crate::Ca::issue`] enforces both before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaProfile {
    subject_der: Vec<u8>,
    subject: String,
    validity_days: u32,
    permitted_dns: Vec<String>,
    eku_constraint: Vec<String>,
}

impl CaProfile {
    /// A profile for the subject `subject`, an RFC 4514 string such as
    /// `CN=scepd CA,O=Example` (the last RDN first, as RFC 4514 writes them; no spaces around
    /// the commas), valid `validity_days` from the ceremony.
    pub fn new(subject: &str, validity_days: u32) -> Result<CaProfile, CaError> {
        let subject_der = parse_dn(subject)?;
        if validity_days == 0 {
            return Err(CaError::Profile("validity must be at least one day".into()));
        }
        Ok(CaProfile {
            subject: Name::from_der(&subject_der)?.to_string(),
            subject_der,
            validity_days,
            permitted_dns: Vec::new(),
            eku_constraint: Vec::new(),
        })
    }

    /// Adds a permitted dNSName subtree: `example.net` (the domain and every name below it)
    /// or `.example.net` (only names below it).
    pub fn permit_dns(mut self, subtree: &str) -> Result<CaProfile, CaError> {
        let s = constraints::dns_subtree(subtree)?;
        if !self.permitted_dns.contains(&s) {
            self.permitted_dns.push(s);
        }
        Ok(self)
    }

    /// Sets the EKU constraint: the dotted OIDs the CA's certificates may carry.
    /// anyExtendedKeyUsage is refused (it is no constraint).
    pub fn eku_constraint(mut self, ekus: &[&str]) -> Result<CaProfile, CaError> {
        let mut out = Vec::new();
        for e in ekus {
            if der::asn1::ObjectIdentifier::new(e).is_err() || *e == policy::oid::EKU_ANY {
                return Err(CaError::Profile(format!(
                    "{e:?} cannot be part of an EKU constraint"
                )));
            }
            out.push((*e).to_owned());
        }
        if out.is_empty() {
            return Err(CaError::Profile(
                "an EKU constraint needs at least one EKU".into(),
            ));
        }
        self.eku_constraint = out;
        Ok(self)
    }

    /// The EKU constraint of a CA dedicated to SCEP device certificates: clientAuth only.
    pub fn client_auth_only(mut self) -> CaProfile {
        self.eku_constraint = vec![policy::oid::EKU_CLIENT_AUTH.to_owned()];
        self
    }

    /// The subject, DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The subject, RFC 4514.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn validity_days(&self) -> u32 {
        self.validity_days
    }

    pub fn permitted_dns(&self) -> &[String] {
        &self.permitted_dns
    }

    pub fn eku(&self) -> &[String] {
        &self.eku_constraint
    }

    /// The self-signed CA certificate for `signer`, valid from now − 5 minutes. The key must
    /// be a [`KeyRole::CaSigning`] RSA key of at least 2048 bits or an ECDSA P-256 / P-384
    /// key; the certificate is signed with the signer's default algorithm.
    pub fn self_signed(&self, signer: &dyn Signer) -> Result<Vec<u8>, CaError> {
        self.self_signed_at(signer, unix_now())
    }

    /// [`CaProfile::self_signed`] at the given Unix time.
    pub fn self_signed_at(&self, signer: &dyn Signer, now: i64) -> Result<Vec<u8>, CaError> {
        check_ca_key(signer)?;
        let spki = signer.public_key_spki_der();
        let serial = random_serial()?;
        CertificateDraft {
            serial: &serial,
            issuer_der: &self.subject_der,
            subject_der: &self.subject_der,
            spki_der: spki,
            not_before: now.saturating_sub(CLOCK_SKEW_SECS),
            not_after: self.not_after(now),
            extensions: self.extensions(&extensions::key_identifier(spki)?, None)?,
        }
        .sign(signer)
    }

    pub(crate) fn not_after(&self, now: i64) -> i64 {
        now.saturating_add(i64::from(self.validity_days) * SECONDS_PER_DAY)
    }

    /// The extensions of a certificate for this CA's key (`ski`), issued by the key `aki`
    /// (None when self-signed).
    pub(crate) fn extensions(
        &self,
        ski: &[u8],
        aki: Option<&[u8]>,
    ) -> Result<Vec<Extension>, CaError> {
        let mut exts = ca_base_extensions(ski, aki)?;
        if !self.permitted_dns.is_empty() {
            exts.push(constraints::permitted_dns_extension(&self.permitted_dns)?);
        }
        if !self.eku_constraint.is_empty() {
            exts.push(extensions::extended_key_usage(&self.eku_constraint)?);
        }
        Ok(exts)
    }
}

/// basicConstraints cA pathLen 0, keyUsage, SKI and (for a cross certificate) AKI.
pub(crate) fn ca_base_extensions(
    ski: &[u8],
    aki: Option<&[u8]>,
) -> Result<Vec<Extension>, CaError> {
    use policy::key_usage as ku;
    let mut exts = vec![
        extensions::basic_constraints(true, Some(0))?,
        extensions::key_usage(ku::DIGITAL_SIGNATURE | ku::KEY_CERT_SIGN | ku::CRL_SIGN)?,
        extensions::subject_key_identifier_value(ski)?,
    ];
    if let Some(aki) = aki {
        exts.push(extensions::authority_key_identifier(aki)?);
    }
    Ok(exts)
}

/// Parses an RFC 4514 distinguished name into DER, refusing an empty one.
pub fn parse_dn(dn: &str) -> Result<Vec<u8>, CaError> {
    let bad = |why: &str| {
        CaError::Profile(format!(
            "subject {dn:?}: {why} (expected e.g. \"CN=scepd CA,O=Example\")"
        ))
    };
    let name = Name::from_str(dn).map_err(|_| bad("not an RFC 4514 distinguished name"))?;
    if name.is_empty() {
        return Err(bad("empty"));
    }
    for atv in name.iter() {
        let empty = atv.value.value().is_empty();
        if empty {
            return Err(bad("an attribute has no value"));
        }
    }
    Ok(name.to_der()?)
}

/// RSAPublicKey (RFC 8017 §A.1.1), for the modulus size.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The modulus size of an RSA SubjectPublicKeyInfo; `None` for any other key.
pub fn rsa_modulus_bits(spki_der: &[u8]) -> Option<u32> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
        return None;
    }
    let key = RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()).ok()?;
    let m = key.modulus.as_bytes();
    Some(m.first().map_or(0, |b| {
        u32::try_from(m.len() * 8).unwrap_or(u32::MAX) - b.leading_zeros()
    }))
}

/// What an operator should hear about a CA key that is allowed but weaker than recommended
/// (an RSA key of [`MIN_CA_RSA_BITS`] up to [`RECOMMENDED_CA_RSA_BITS`]); `None` otherwise.
pub fn ca_key_strength_warning(spki_der: &[u8]) -> Option<String> {
    let bits = rsa_modulus_bits(spki_der)?;
    (bits < RECOMMENDED_CA_RSA_BITS).then(|| {
        format!(
            "the CA key is RSA-{bits}: 112-bit security (NIST SP 800-57: until 2030); \
             RSA-{RECOMMENDED_CA_RSA_BITS} or P-256 is recommended for a CA that signs for years"
        )
    })
}

/// A CA key must be a CA signing key: RSA ≥ 2048 bits, or ECDSA P-256 / P-384.
pub(crate) fn check_ca_key(signer: &dyn Signer) -> Result<(), CaError> {
    if signer.role() != KeyRole::CaSigning {
        return Err(CaError::WrongRole(signer.role()));
    }
    let spki = SubjectPublicKeyInfoRef::from_der(signer.public_key_spki_der())?;
    match spki.algorithm.oid.to_string().as_str() {
        RSA_ENCRYPTION => {
            let bits = rsa_modulus_bits(signer.public_key_spki_der()).unwrap_or(0);
            if bits < MIN_CA_RSA_BITS {
                return Err(CaError::Profile(format!(
                    "an RSA CA key needs at least {MIN_CA_RSA_BITS} bits, this one has {bits}"
                )));
            }
            Ok(())
        }
        EC_PUBLIC_KEY => {
            let curve = spki.algorithm.parameters_oid().map(|o| o.to_string());
            match curve.as_deref() {
                Ok(policy::oid::CURVE_P256 | policy::oid::CURVE_P384) => Ok(()),
                _ => Err(CaError::Profile(
                    "an EC CA key must be on P-256 or P-384".into(),
                )),
            }
        }
        other => Err(CaError::Profile(format!(
            "a CA key must be RSA or ECDSA, not {other}"
        ))),
    }
}
