//! Certificate revocation lists (RFC 5280 §5), signed by the CA key.
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL,   -- always v2 (1) here
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,      -- always present here
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
//! ```
//!
//! The CRL carries authorityKeyIdentifier (the CA's subjectKeyIdentifier, copied) and
//! cRLNumber (§5.2.1, §5.2.3); each entry carries reasonCode (§5.3.1) unless the reason is
//! unspecified, which RFC 5280 and CA/B BR §7.2.2 say to leave out.
//!
//! Scale: the revoked entries are written straight into one buffer (each entry's reasonCode
//! extension is a constant per reason), not built as a vector of `x509_cert` values. Measured
//! (tests/revocation.rs, release build, 2-core machine, RSA-3072 CA): 1,000,000 entries with
//! 16-octet serials give a 47 MB CRL in about 0.9 s, parsing, sorting, encoding and signing
//! included; 100,000 take about 0.1 s (0.3 s in a debug build).

use const_oid::AssociatedOid;
use der::asn1::{AnyRef, BitString, OctetString, UintRef};
use der::{Decode, Encode, Header, Length, Sequence, Tag};
use keys::{KeyRole, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlNumber;
use x509_cert::time::Time;

use crate::error::{CaError, CrlRejection};
use crate::extensions;
use crate::x509::{ParsedCertificate, time};

pub use policy::{RevocationReason, UnknownRevocationReason};

/// One revoked certificate, as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial as hex (either case, leading zero octets allowed): `IssuedCertificate::
    /// serial_hex` is the form scepd stores.
    pub serial_hex: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
    /// `None` and `Some(Unspecified)` both write no reasonCode.
    pub reason: Option<RevocationReason>,
}

/// Parses a serial in hex into its magnitude (big-endian, no leading zero octets). A
/// CertificateSerialNumber is a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2).
pub(crate) fn parse_serial_hex(hex: &str) -> Result<Vec<u8>, CaError> {
    let bad = || CaError::Revocation(format!("serial {hex:?} is not a positive hex number"));
    let digits = hex.as_bytes();
    if digits.is_empty() || digits.len() > 64 {
        return Err(bad());
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    // An odd number of digits has an implicit leading 0.
    let (head, rest) = digits.split_at(digits.len() % 2);
    if let Some(&c) = head.first() {
        out.push(nibble(c).ok_or_else(bad)?);
    }
    for pair in rest.chunks_exact(2) {
        let (hi, lo) = match pair {
            [hi, lo] => (nibble(*hi).ok_or_else(bad)?, nibble(*lo).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        out.push(hi << 4 | lo);
    }
    let first = out.iter().position(|&b| b != 0).ok_or_else(bad)?;
    out.drain(..first);
    // The DER INTEGER may need one more octet (0x00) to stay positive.
    let der_len = out.len() + usize::from(out.first().is_some_and(|&b| b & 0x80 != 0));
    if der_len > 20 {
        return Err(CaError::Revocation(format!(
            "serial {hex:?} is longer than 20 octets (RFC 5280 §4.1.2.2)"
        )));
    }
    Ok(out)
}

/// Lower-case hex of a serial's magnitude, leading zero octets dropped: for every serial
/// scepd issues (16 octets, first 0x01..=0x7f) this is exactly `IssuedCertificate::serial_hex`.
pub fn serial_hex(magnitude: &[u8]) -> String {
    let start = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    magnitude
        .iter()
        .skip(start)
        .fold(String::with_capacity(magnitude.len() * 2), |mut s, b| {
            s.push_str(&format!("{b:02x}"));
            s
        })
}

/// What CRLs and OCSP responses need from the CA certificate, checked once against the key.
pub(crate) struct Issuer {
    pub subject_der: Vec<u8>,
    pub subject_key_identifier: Vec<u8>,
    /// The subjectPublicKey BIT STRING value (without the unused-bits octet).
    pub public_key_bits: Vec<u8>,
}

impl Issuer {
    /// Reads the CA certificate and checks that `signer` is its key, a CA signing key, and that
    /// the certificate may sign revocation information (keyUsage cRLSign, RFC 5280 §4.2.1.3;
    /// openssl refuses CRLs signed without it).
    pub(crate) fn new(signer: &dyn Signer, ca_certificate_der: &[u8]) -> Result<Self, CaError> {
        if signer.role() != KeyRole::CaSigning {
            return Err(CaError::WrongRole(signer.role()));
        }
        let ca = ParsedCertificate::from_der(ca_certificate_der)
            .map_err(|_| CaError::Certificate("does not decode"))?;
        let spki_der = ca.spki_der()?;
        if spki_der != signer.public_key_spki_der() {
            return Err(CaError::Certificate(
                "the signing key is not the key of the CA certificate",
            ));
        }
        match ca.extension(policy::oid::EXT_KEY_USAGE) {
            Ok(Some((_, v)))
                if extensions::read_key_usage(v)? & policy::key_usage::CRL_SIGN != 0 => {}
            Ok(None) => {}
            _ => return Err(CaError::Certificate("keyUsage lacks cRLSign")),
        }
        let subject_key_identifier = ca
            .subject_key_identifier()
            .ok_or(CaError::Certificate("no subjectKeyIdentifier"))?;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&spki_der)?;
        Ok(Issuer {
            subject_der: ca.subject_der()?,
            subject_key_identifier,
            public_key_bits: spki.subject_public_key.raw_bytes().to_vec(),
        })
    }
}

/// TBSCertList with the revoked entries already encoded (one borrowed SEQUENCE OF), so
/// nothing is copied per entry.
#[derive(Sequence)]
struct TbsCertListAsn1<'a> {
    version: u8,
    signature: AlgorithmIdentifierOwned,
    issuer: AnyRef<'a>,
    this_update: Time,
    next_update: Time,
    revoked_certificates: Option<AnyRef<'a>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    crl_extensions: Option<Vec<Extension>>,
}

#[derive(Sequence)]
struct CertificateListAsn1<'a> {
    tbs_cert_list: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A v2 CRL of `revoked`, issued by the CA of `ca_signer` / `ca_certificate_der`, number
/// `crl_number`, valid from `this_update` to `next_update` (Unix seconds), signed with the
/// key's default algorithm. Entries are sorted by serial; a serial listed twice keeps its
/// earliest revocation. Returns the CertificateList DER.
pub fn build_crl(
    ca_signer: &dyn Signer,
    ca_certificate_der: &[u8],
    revoked: &[RevokedEntry],
    crl_number: u64,
    this_update: i64,
    next_update: i64,
) -> Result<Vec<u8>, CaError> {
    let issuer = Issuer::new(ca_signer, ca_certificate_der)?;
    if next_update <= this_update {
        return Err(CaError::Revocation(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let entries = encode_entries(revoked)?;
    let alg = ca_signer.default_algorithm();
    let alg_id = AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der())?;
    let crl_number = Extension {
        extn_id: <CrlNumber as AssociatedOid>::OID,
        critical: false,
        extn_value: OctetString::new(CrlNumber::try_from(crl_number)?.to_der()?)?,
    };
    let tbs = TbsCertListAsn1 {
        version: 1,
        signature: alg_id.clone(),
        issuer: AnyRef::from_der(&issuer.subject_der)?,
        this_update: time(this_update)?,
        next_update: time(next_update)?,
        revoked_certificates: match &entries {
            Some(body) => Some(AnyRef::new(Tag::Sequence, body)?),
            None => None,
        },
        crl_extensions: Some(vec![
            extensions::authority_key_identifier(&issuer.subject_key_identifier)?,
            crl_number,
        ]),
    }
    .to_der()?;
    let signature = ca_signer.sign(alg, &tbs)?;
    Ok(CertificateListAsn1 {
        tbs_cert_list: AnyRef::from_der(&tbs)?,
        signature_algorithm: alg_id,
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()?)
}

/// What [`inspect_crl`] read from a CRL whose signature checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InspectedCrl {
    /// Its cRLNumber (RFC 5280 §5.2.3).
    pub number: u64,
    /// thisUpdate and nextUpdate (Unix seconds).
    pub this_update: i64,
    pub next_update: i64,
}

/// Reads a CRL made elsewhere (an RA mirrors its CA's): its number, thisUpdate and nextUpdate,
/// once its signature checks against the CA public key `ca_spki_der` (a DER
/// SubjectPublicKeyInfo). A CRL without nextUpdate, or without a cRLNumber of at most 8
/// octets, is refused: it could not be served or ordered.
pub fn inspect_crl(der: &[u8], ca_spki_der: &[u8]) -> Result<InspectedCrl, CrlRejection> {
    let crl = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
        .map_err(CrlRejection::DoesNotDecode)?;
    let tbs = crl.tbs_cert_list.to_der().map_err(CrlRejection::Encoding)?;
    let alg = crl
        .signature_algorithm
        .to_der()
        .map_err(CrlRejection::Encoding)?;
    let alg = keys::SignatureAlgorithm::from_x509(&alg).map_err(CrlRejection::Algorithm)?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or(CrlRejection::UnalignedSignature)?;
    keys::verify::verify_signature(ca_spki_der, alg, &tbs, signature)
        .map_err(CrlRejection::NotSignedByCa)?;
    let secs = |t: &Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let number = crl
        .tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == <CrlNumber as AssociatedOid>::OID)
        .and_then(|e| CrlNumber::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|n| {
            let bytes = n.0.as_bytes();
            (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
        })
        .ok_or(CrlRejection::NoNumber)?;
    let next_update = crl
        .tbs_cert_list
        .next_update
        .as_ref()
        .map(secs)
        .ok_or(CrlRejection::NoNextUpdate)?;
    Ok(InspectedCrl {
        number,
        this_update: secs(&crl.tbs_cert_list.this_update),
        next_update,
    })
}

/// The content octets of `revokedCertificates` (the SEQUENCE OF without its header), or
/// `None` when nothing is revoked: RFC 5280 §5.1.2.6 wants the field absent then.
fn encode_entries(revoked: &[RevokedEntry]) -> Result<Option<Vec<u8>>, CaError> {
    let mut parsed = revoked
        .iter()
        .map(|e| Ok((parse_serial_hex(&e.serial_hex)?, e.revoked_at, e.reason)))
        .collect::<Result<Vec<_>, CaError>>()?;
    if parsed.is_empty() {
        return Ok(None);
    }
    // Numeric order of magnitudes without leading zeros: shorter first, then bytewise; the
    // earliest revocation of a serial first, so dedup keeps it.
    parsed.sort_unstable_by(|a, b| {
        (a.0.len(), &a.0, a.1, a.2.map(RevocationReason::code)).cmp(&(
            b.0.len(),
            &b.0,
            b.1,
            b.2.map(RevocationReason::code),
        ))
    });
    parsed.dedup_by(|later, earlier| later.0 == earlier.0);

    let reason_extensions = ReasonExtensions::new()?;
    // ~49 octets per entry with 16-octet serials and a reason.
    let mut out = Vec::with_capacity(parsed.len().saturating_mul(52));
    let mut last_time: Option<(i64, Time)> = None;
    for (serial, revoked_at, reason) in &parsed {
        let serial = UintRef::new(serial)?;
        // Many revocations share a second (bulk revocation): skip the calendar arithmetic.
        let date = match last_time {
            Some((t, date)) if t == *revoked_at => date,
            _ => {
                let date = time(*revoked_at)?;
                last_time = Some((*revoked_at, date));
                date
            }
        };
        let ext = reason_extensions.get(*reason);
        let body_len = (serial.encoded_len()? + date.encoded_len()?)?;
        let body_len = (body_len + Length::try_from(ext.len())?)?;
        Header::new(Tag::Sequence, body_len).encode(&mut out)?;
        serial.encode(&mut out)?;
        date.encode(&mut out)?;
        out.extend_from_slice(ext);
    }
    Ok(Some(out))
}

/// The encoded `crlEntryExtensions` for each reason: `SEQUENCE { reasonCode }`, or nothing.
struct ReasonExtensions(Vec<(u8, Vec<u8>)>);

impl ReasonExtensions {
    fn new() -> Result<Self, CaError> {
        RevocationReason::ALL
            .into_iter()
            .filter(|r| r.is_written())
            .map(|r| Ok((r.code(), vec![reason_code_extension(r)?].to_der()?)))
            .collect::<Result<Vec<_>, CaError>>()
            .map(ReasonExtensions)
    }

    fn get(&self, reason: Option<RevocationReason>) -> &[u8] {
        reason
            .and_then(|r| self.0.iter().find(|(code, _)| *code == r.code()))
            .map_or(&[], |(_, der)| der.as_slice())
    }
}

/// reasonCode (2.5.29.21), not critical (RFC 5280 §5.3.1).
fn reason_code_extension(reason: RevocationReason) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: REASON_CODE,
        critical: false,
        extn_value: OctetString::new(reason_enumerated(reason))?,
    })
}

/// `CRLReason` ENUMERATED DER: 0a 01 nn (every code fits one octet).
pub(crate) fn reason_enumerated(reason: RevocationReason) -> [u8; 3] {
    [0x0a, 0x01, reason.code()]
}

const REASON_CODE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.21");

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn serials_parse_to_positive_magnitudes() {
        assert_eq!(parse_serial_hex("0a1B").unwrap(), [0x0a, 0x1b]);
        assert_eq!(parse_serial_hex("abc").unwrap(), [0x0a, 0xbc]);
        assert_eq!(parse_serial_hex("0000ff").unwrap(), [0xff]);
        // 20 octets as DER, the RFC 5280 limit, with and without the sign octet.
        assert!(parse_serial_hex(&"7f".repeat(20)).is_ok());
        assert!(parse_serial_hex(&"80".repeat(20)).is_err());
        assert!(parse_serial_hex(&"80".repeat(19)).is_ok());
        for bad in ["", "0", "00", "xyz", "0x12", "12 34", "12:34", "+1", "-1"] {
            assert!(parse_serial_hex(bad).is_err(), "{bad}");
        }
        assert_eq!(serial_hex(&[0, 0, 0x0a, 0xff]), "0aff");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn inspect_crl_reads_a_crl_of_the_ca_and_refuses_any_other() {
        use keys::software::SoftwareKey;
        const NOW: i64 = 1_800_000_000;
        let ca = |name: &str| {
            let key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
                .unwrap()
                .into_signer(KeyRole::CaSigning)
                .unwrap();
            let cert = crate::dev::self_signed_ca_at(key.as_ref(), name, 30, NOW).unwrap();
            (key, cert)
        };
        let (key, cert) = ca("inspect CA");
        let (other_key, _) = ca("inspect CA");
        let entry = RevokedEntry {
            serial_hex: "0abc".into(),
            revoked_at: NOW - 5,
            reason: Some(RevocationReason::Superseded),
        };
        let der = build_crl(key.as_ref(), &cert, &[entry], 258, NOW, NOW + 600).unwrap();
        assert_eq!(
            inspect_crl(&der, key.public_key_spki_der()).unwrap(),
            InspectedCrl {
                number: 258,
                this_update: NOW,
                next_update: NOW + 600,
            }
        );
        assert!(matches!(
            inspect_crl(&der, other_key.public_key_spki_der()),
            Err(CrlRejection::NotSignedByCa(_))
        ));
        assert!(matches!(
            inspect_crl(b"not a CRL", key.public_key_spki_der()),
            Err(CrlRejection::DoesNotDecode(_))
        ));
        // One flipped bit in the signed part.
        let mut tampered = der.clone();
        let at = tampered.len() / 2;
        tampered[at] ^= 0x01;
        assert!(inspect_crl(&tampered, key.public_key_spki_der()).is_err());
    }
}
