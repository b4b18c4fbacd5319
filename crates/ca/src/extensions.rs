//! The extensions the CA writes (RFC 5280 §4.2). Each is built from the issuance profile or
//! the CA's own certificate; none is copied from a request.

use der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Any, Encode};
use sha1::{Digest, Sha1};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::error::CaError;

pub(crate) const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.14");
pub(crate) const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(crate) const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub(crate) const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.35");
pub(crate) const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
pub(crate) const CRL_DISTRIBUTION_POINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.31");
pub(crate) const AUTHORITY_INFO_ACCESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
/// Microsoft's UPN otherName (szOID_NT_PRINCIPAL_NAME).
pub(crate) const UPN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3");
const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

fn extension<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, der::Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// basicConstraints, always critical (RFC 5280 §4.2.1.9).
pub(crate) fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, der::Error> {
    extension(
        BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

/// keyUsage, critical, from bits numbered as in `policy::key_usage` (bit n = `1 << n`). The
/// DER named-bit BIT STRING drops trailing zero bits (X.690 §11.2.2).
pub(crate) fn key_usage(bits: u16) -> Result<Extension, der::Error> {
    let bit_len = 16 - bits.leading_zeros() as usize;
    let byte_len = bit_len.div_ceil(8);
    let mut bytes = vec![0u8; byte_len];
    for n in 0..bit_len {
        if bits & (1 << n) != 0
            && let Some(b) = bytes.get_mut(n / 8)
        {
            *b |= 0x80 >> (n % 8);
        }
    }
    let unused = u8::try_from(byte_len * 8 - bit_len).map_err(|_| der::ErrorKind::Overflow)?;
    extension(KEY_USAGE, true, &BitString::new(unused, bytes)?)
}

/// extKeyUsage, not critical (RFC 5280 §4.2.1.12 leaves it to the CA; clients that check it do
/// so either way).
pub(crate) fn extended_key_usage(oids: &[String]) -> Result<Extension, CaError> {
    let oids = oids
        .iter()
        .map(|o| ObjectIdentifier::new(o).map_err(|_| CaError::Certificate("template EKU OID")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(extension(EXT_KEY_USAGE, false, &ExtendedKeyUsage(oids))?)
}

/// The names of a subjectAltName, by form, each already checked by policy.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SanNames<'a> {
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [Vec<u8>],
    pub emails: &'a [String],
    /// otherName UPNs (MDM-vouched only).
    pub upns: &'a [String],
    /// uniformResourceIdentifiers: the SID URI (MDM-vouched only).
    pub uris: &'a [String],
}

impl<'a> SanNames<'a> {
    /// Every name of an issuance profile.
    pub(crate) fn of(profile: &'a policy::IssuanceProfile) -> Self {
        SanNames {
            dns_names: &profile.dns_names,
            ip_addresses: &profile.ip_addresses,
            emails: &profile.emails,
            upns: &profile.upns,
            uris: &profile.uris,
        }
    }
}

/// subjectAltName; critical when the subject is empty (RFC 5280 §4.2.1.6). A UPN is the
/// otherName Microsoft defines (MS-WCCE §2.2.2.7.5):
///
/// ```text
/// OtherName ::= SEQUENCE {
///     type-id    OBJECT IDENTIFIER,             -- 1.3.6.1.4.1.311.20.2.3
///     value      [0] EXPLICIT ANY DEFINED BY type-id }  -- UTF8String
/// ```
pub(crate) fn subject_alt_name(
    san: &SanNames<'_>,
    subject_empty: bool,
) -> Result<Option<Extension>, der::Error> {
    let mut names = Vec::new();
    for n in san.dns_names {
        names.push(GeneralName::DnsName(Ia5String::new(n)?));
    }
    for a in san.ip_addresses {
        names.push(GeneralName::IpAddress(OctetString::new(a.as_slice())?));
    }
    for e in san.emails {
        names.push(GeneralName::Rfc822Name(Ia5String::new(e)?));
    }
    for upn in san.upns {
        names.push(GeneralName::OtherName(OtherName {
            type_id: UPN,
            value: Any::encode_from(&Utf8StringRef::new(upn)?)?,
        }));
    }
    for uri in san.uris {
        names.push(GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?));
    }
    if names.is_empty() {
        return Ok(None);
    }
    Ok(Some(extension(
        SUBJECT_ALT_NAME,
        subject_empty,
        &SubjectAltName(names),
    )?))
}

/// The RFC 5280 §4.2.1.2 method (1) key identifier: SHA-1 of the subjectPublicKey BIT STRING
/// value (without tag, length and unused-bits octet).
pub(crate) fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, der::Error> {
    use der::Decode;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)?;
    Ok(Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())
}

pub(crate) fn subject_key_identifier(spki_der: &[u8]) -> Result<Extension, der::Error> {
    subject_key_identifier_value(&key_identifier(spki_der)?)
}

/// subjectKeyIdentifier with a given identifier: a cross certificate keeps the identifier the
/// key already has, whatever method made it, so chains built by key identifier still link.
pub(crate) fn subject_key_identifier_value(ski: &[u8]) -> Result<Extension, der::Error> {
    let ski = SubjectKeyIdentifier(OctetString::new(ski)?);
    extension(SUBJECT_KEY_IDENTIFIER, false, &ski)
}

/// authorityKeyIdentifier with the issuer's own subjectKeyIdentifier, copied: recomputing it
/// breaks chains to CAs that used another method (DESIGN.md, interop facts).
pub(crate) fn authority_key_identifier(issuer_ski: &[u8]) -> Result<Extension, der::Error> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer_ski)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    extension(AUTHORITY_KEY_IDENTIFIER, false, &aki)
}

/// authorityInfoAccess, not critical (RFC 5280 §4.2.2.1), from the template's URLs; `None`
/// when it has neither.
///
/// ```text
/// AuthorityInfoAccessSyntax  ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
/// AccessDescription  ::=  SEQUENCE {
///         accessMethod          OBJECT IDENTIFIER,   -- id-ad-caIssuers / id-ad-ocsp
///         accessLocation        GeneralName  }       -- uniformResourceIdentifier
/// ```
pub(crate) fn authority_info_access(
    ca_issuers_url: Option<&str>,
    ocsp_url: Option<&str>,
) -> Result<Option<Extension>, der::Error> {
    let mut descriptions = Vec::new();
    for (method, url) in [(AD_CA_ISSUERS, ca_issuers_url), (AD_OCSP, ocsp_url)] {
        if let Some(url) = url {
            descriptions.push(AccessDescription {
                access_method: method,
                access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
            });
        }
    }
    if descriptions.is_empty() {
        return Ok(None);
    }
    Ok(Some(extension(
        AUTHORITY_INFO_ACCESS,
        false,
        &AuthorityInfoAccessSyntax(descriptions),
    )?))
}

/// cRLDistributionPoints, not critical (RFC 5280 §4.2.1.13): one DistributionPoint whose
/// fullName is the template's URL, with neither reasons nor cRLIssuer (the CA signs one CRL
/// covering every reason); `None` without a URL.
///
/// ```text
/// CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
/// DistributionPoint ::= SEQUENCE {
///      distributionPoint       [0]     DistributionPointName OPTIONAL,
///      reasons                 [1]     ReasonFlags OPTIONAL,
///      cRLIssuer               [2]     GeneralNames OPTIONAL }
/// DistributionPointName ::= CHOICE {
///      fullName                [0]     GeneralNames,
///      nameRelativeToCRLIssuer [1]     RelativeDistinguishedName }
/// ```
pub(crate) fn crl_distribution_points(url: Option<&str>) -> Result<Option<Extension>, der::Error> {
    let Some(url) = url else {
        return Ok(None);
    };
    let point = DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
        ])),
        reasons: None,
        crl_issuer: None,
    };
    Ok(Some(extension(
        CRL_DISTRIBUTION_POINTS,
        false,
        &CrlDistributionPoints(vec![point]),
    )?))
}

/// Reads KeyUsage bits (policy numbering) from a keyUsage extension value.
pub(crate) fn read_key_usage(value: &[u8]) -> Result<u16, der::Error> {
    use der::Decode;
    let bits = BitString::from_der(value)?;
    Ok(bits
        .bits()
        .take(9)
        .enumerate()
        .fold(0, |acc, (n, set)| if set { acc | (1 << n) } else { acc }))
}

/// Reads the key identifier of a subjectKeyIdentifier extension value.
pub(crate) fn read_subject_key_identifier(value: &[u8]) -> Result<Vec<u8>, der::Error> {
    use der::Decode;
    Ok(SubjectKeyIdentifier::from_der(value)?.0.as_bytes().to_vec())
}

/// Reads the dotted OIDs of an extKeyUsage extension value.
pub(crate) fn read_extended_key_usage(value: &[u8]) -> Result<Vec<String>, der::Error> {
    use der::Decode;
    Ok(ExtendedKeyUsage::from_der(value)?
        .0
        .iter()
        .map(ToString::to_string)
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use der::Decode;
    use policy::key_usage as ku;

    #[test]
    fn key_usage_encodings() {
        // digitalSignature only: 03 02 07 80.
        let e = key_usage(ku::DIGITAL_SIGNATURE).unwrap();
        assert_eq!(e.extn_value.as_bytes(), [0x03, 0x02, 0x07, 0x80]);
        assert!(e.critical);
        // digitalSignature + keyEncipherment: 03 02 05 a0.
        let e = key_usage(ku::DIGITAL_SIGNATURE | ku::KEY_ENCIPHERMENT).unwrap();
        assert_eq!(e.extn_value.as_bytes(), [0x03, 0x02, 0x05, 0xa0]);
        // digitalSignature + keyCertSign + cRLSign: 03 02 01 86.
        let e = key_usage(ku::DIGITAL_SIGNATURE | ku::KEY_CERT_SIGN | ku::CRL_SIGN).unwrap();
        assert_eq!(e.extn_value.as_bytes(), [0x03, 0x02, 0x01, 0x86]);
        // decipherOnly needs a second octet: 03 03 07 80 80 with digitalSignature.
        let e = key_usage(ku::DIGITAL_SIGNATURE | ku::DECIPHER_ONLY).unwrap();
        assert_eq!(e.extn_value.as_bytes(), [0x03, 0x03, 0x07, 0x80, 0x80]);
        for bits in [
            ku::DIGITAL_SIGNATURE,
            ku::KEY_ENCIPHERMENT | ku::DATA_ENCIPHERMENT,
            ku::DIGITAL_SIGNATURE | ku::DECIPHER_ONLY,
        ] {
            let e = key_usage(bits).unwrap();
            assert_eq!(read_key_usage(e.extn_value.as_bytes()).unwrap(), bits);
        }
    }

    #[test]
    fn basic_constraints_false_is_an_empty_sequence() {
        let e = basic_constraints(false, None).unwrap();
        assert_eq!(e.extn_value.as_bytes(), [0x30, 0x00]);
        assert!(e.critical);
        let e = basic_constraints(true, Some(0)).unwrap();
        assert_eq!(
            e.extn_value.as_bytes(),
            [0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]
        );
    }

    #[test]
    fn aia_and_cdp_only_with_urls() {
        assert!(authority_info_access(None, None).unwrap().is_none());
        assert!(crl_distribution_points(None).unwrap().is_none());

        let e = authority_info_access(Some("http://a/ca.crt"), Some("http://a/ocsp"))
            .unwrap()
            .unwrap();
        assert!(!e.critical);
        assert_eq!(e.extn_id, AUTHORITY_INFO_ACCESS);
        let aia = AuthorityInfoAccessSyntax::from_der(e.extn_value.as_bytes()).unwrap();
        let uri = |s: &str| GeneralName::UniformResourceIdentifier(Ia5String::new(s).unwrap());
        assert_eq!(
            aia.0,
            [
                AccessDescription {
                    access_method: AD_CA_ISSUERS,
                    access_location: uri("http://a/ca.crt"),
                },
                AccessDescription {
                    access_method: AD_OCSP,
                    access_location: uri("http://a/ocsp"),
                },
            ]
        );
        let e = authority_info_access(None, Some("http://a/ocsp"))
            .unwrap()
            .unwrap();
        let aia = AuthorityInfoAccessSyntax::from_der(e.extn_value.as_bytes()).unwrap();
        assert_eq!(aia.0.len(), 1);
        assert_eq!(aia.0[0].access_method, AD_OCSP);

        let e = crl_distribution_points(Some("http://a/ca.crl"))
            .unwrap()
            .unwrap();
        assert!(!e.critical);
        assert_eq!(e.extn_id, CRL_DISTRIBUTION_POINTS);
        // SEQUENCE { SEQUENCE { [0] { [0] { [6] "http://a/ca.crl" } } } }
        let url = b"http://a/ca.crl";
        let mut expected = vec![0x30, 0x17, 0x30, 0x15, 0xa0, 0x13, 0xa0, 0x11, 0x86, 0x0f];
        expected.extend_from_slice(url);
        assert_eq!(e.extn_value.as_bytes(), expected);

        // A URI must be IA5: a non-ASCII one is an error, never a mangled extension.
        assert!(crl_distribution_points(Some("http://é/")).is_err());
    }

    #[test]
    fn san_critical_only_without_subject() {
        assert!(
            subject_alt_name(&SanNames::default(), false)
                .unwrap()
                .is_none()
        );
        let dns = ["a.example".to_owned()];
        let names = SanNames {
            dns_names: &dns,
            ..SanNames::default()
        };
        let e = subject_alt_name(&names, false).unwrap().unwrap();
        assert!(!e.critical);
        let e = subject_alt_name(&names, true).unwrap().unwrap();
        assert!(e.critical);
    }

    #[test]
    fn upn_is_an_other_name_with_a_utf8_string_and_the_sid_a_uri() {
        let upns = ["alice@corp.example".to_owned()];
        let uris = ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1104".to_owned()];
        let names = SanNames {
            upns: &upns,
            uris: &uris,
            ..SanNames::default()
        };
        let e = subject_alt_name(&names, false).unwrap().unwrap();
        let san = SubjectAltName::from_der(e.extn_value.as_bytes()).unwrap();
        let [
            GeneralName::OtherName(upn),
            GeneralName::UniformResourceIdentifier(uri),
        ] = san.0.as_slice()
        else {
            panic!("{san:?}")
        };
        assert_eq!(upn.type_id.to_string(), policy::oid::SAN_OTHER_NAME_UPN);
        // [0] EXPLICIT UTF8String (tag 0x0c), as Windows reads it.
        assert_eq!(der::Tagged::tag(&upn.value), der::Tag::Utf8String);
        assert_eq!(
            Utf8StringRef::try_from(&upn.value).unwrap().as_str(),
            "alice@corp.example"
        );
        assert_eq!(uri.as_str(), uris[0]);
        // Byte for byte: SEQUENCE { [0] { OID, [0] { UTF8String } }, [6] IA5String }.
        let der = e.extn_value.as_bytes();
        let upn_der = [
            0xa0, 0x22, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03,
            0xa0, 0x14, 0x0c, 0x12,
        ];
        assert_eq!(der.get(2..2 + upn_der.len()), Some(&upn_der[..]));
    }
}
