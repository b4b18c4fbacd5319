//! PKCS#10 requests (RFC 2986 §4), including the hostile ones the refusal tests send.
//!
//! ```text
//! CertificationRequestInfo ::= SEQUENCE {
//!      version       INTEGER { v1(0) },
//!      subject       Name,
//!      subjectPKInfo SubjectPublicKeyInfo,
//!      attributes    [0] IMPLICIT SET OF Attribute }
//! CertificationRequest ::= SEQUENCE {
//!      certificationRequestInfo CertificationRequestInfo,
//!      signatureAlgorithm       AlgorithmIdentifier,
//!      signature                BIT STRING }
//! ```
//! The challengePassword (RFC 2985 §5.4.1, RFC 8894 §2.2) and the extensionRequest
//! (RFC 2985 §5.4.2) are attributes; anything else can be added raw.

use std::net::IpAddr;
use std::str::FromStr as _;

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};

use crate::der_util::{attribute, bmp_string, oid, tlv};
use crate::error::ClientError;
use crate::key::ClientKey;

/// Well-known OIDs the tests ask for.
pub mod oids {
    use const_oid::ObjectIdentifier;

    /// PKCS#9 challengePassword.
    pub const CHALLENGE_PASSWORD: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.7");
    /// PKCS#9 extensionRequest.
    pub const EXTENSION_REQUEST: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
    /// Microsoft UPN otherName.
    pub const UPN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3");
    /// anyExtendedKeyUsage.
    pub const ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
    /// id-kp-serverAuth.
    pub const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
    /// id-kp-clientAuth.
    pub const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
    /// Microsoft application policies (ESC15).
    pub const MS_APPLICATION_POLICIES: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.21.10");
    /// Microsoft enrollment name-value pair (ESC6: `ExpirationDate:...`).
    pub const MS_NAME_VALUE_PAIR: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.13.2.1");
}

/// One subjectAltName entry (RFC 5280 §4.2.1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SanEntry {
    /// dNSName.
    Dns(String),
    /// rfc822Name.
    Email(String),
    /// iPAddress.
    Ip(IpAddr),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName 1.3.6.1.4.1.311.20.2.3 with a UTF8String value.
    Upn(String),
    /// Any otherName: type-id and the DER of its `[0] EXPLICIT` value.
    OtherName {
        /// The otherName's type-id.
        type_id: ObjectIdentifier,
        /// DER of the value inside `[0]`.
        value_der: Vec<u8>,
    },
}

/// How the challengePassword is encoded (RFC 2985 allows a DirectoryString).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeEncoding {
    /// PrintableString (what openssl and micromdm send).
    Printable,
    /// UTF8String (what certmonger sends).
    Utf8,
    /// IA5String: not a DirectoryString, for hostile tests.
    Ia5,
}

/// A requested extension, as it goes into the extensionRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedExtension {
    /// extnID.
    pub oid: ObjectIdentifier,
    /// critical.
    pub critical: bool,
    /// The DER inside extnValue.
    pub value_der: Vec<u8>,
}

/// Builds a CSR; every setter consumes and returns the builder.
#[derive(Clone, Debug, Default)]
pub struct CsrBuilder {
    subject: String,
    sans: Vec<SanEntry>,
    extensions: Vec<RequestedExtension>,
    challenge: Option<(ChallengeEncoding, String)>,
    attributes: Vec<(ObjectIdentifier, Vec<Vec<u8>>)>,
    corrupt_signature: bool,
}

impl CsrBuilder {
    /// A request for `subject` (RFC 4514, e.g. `CN=device-1,O=Example`; empty: no subject).
    #[must_use]
    pub fn new(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            ..Self::default()
        }
    }

    /// Adds a subjectAltName entry (all entries go into one extension).
    #[must_use]
    pub fn san(mut self, entry: SanEntry) -> Self {
        self.sans.push(entry);
        self
    }

    /// Adds a dNSName.
    #[must_use]
    pub fn dns(self, name: &str) -> Self {
        self.san(SanEntry::Dns(name.to_owned()))
    }

    /// The challengePassword as a PrintableString.
    #[must_use]
    pub fn challenge(self, password: &str) -> Self {
        self.challenge_encoded(ChallengeEncoding::Printable, password)
    }

    /// The challengePassword in a chosen encoding.
    #[must_use]
    pub fn challenge_encoded(mut self, encoding: ChallengeEncoding, password: &str) -> Self {
        self.challenge = Some((encoding, password.to_owned()));
        self
    }

    /// Requests an extKeyUsage extension with these purposes.
    #[must_use]
    pub fn extended_key_usage(self, purposes: &[ObjectIdentifier]) -> Self {
        let value = ExtendedKeyUsage(purposes.to_vec())
            .to_der()
            .unwrap_or_default();
        self.extension(<ExtendedKeyUsage as AssociatedOid>::OID, false, value)
    }

    /// Requests basicConstraints.
    #[must_use]
    pub fn basic_constraints(self, ca: bool, critical: bool) -> Self {
        let value = BasicConstraints {
            ca,
            path_len_constraint: None,
        }
        .to_der()
        .unwrap_or_default();
        self.extension(<BasicConstraints as AssociatedOid>::OID, critical, value)
    }

    /// Requests any extension, its value given as DER.
    #[must_use]
    pub fn extension(mut self, oid: ObjectIdentifier, critical: bool, value_der: Vec<u8>) -> Self {
        self.extensions.push(RequestedExtension {
            oid,
            critical,
            value_der,
        });
        self
    }

    /// Adds a request attribute with the given DER values (duplicates allowed).
    #[must_use]
    pub fn attribute(mut self, oid: ObjectIdentifier, values_der: Vec<Vec<u8>>) -> Self {
        self.attributes.push((oid, values_der));
        self
    }

    /// The Microsoft enrollment name-value pair attribute (1.3.6.1.4.1.311.13.2.1):
    /// `SEQUENCE { name BMPString, value BMPString }`, e.g. `ExpirationDate`, `2099-01-01`.
    #[must_use]
    pub fn ms_name_value_pair(self, name: &str, value: &str) -> Self {
        let pair = tlv(0x30, &[bmp_string(name), bmp_string(value)].concat());
        self.attribute(oids::MS_NAME_VALUE_PAIR, vec![pair])
    }

    /// Flip a byte of the self-signature (a CSR without proof of possession).
    #[must_use]
    pub fn corrupt_signature(mut self) -> Self {
        self.corrupt_signature = true;
        self
    }

    /// The DER CertificationRequest, signed by `key` with SHA-256.
    pub fn build(&self, key: &ClientKey) -> Result<Vec<u8>, ClientError> {
        let subject = x509_cert::name::Name::from_str(&self.subject)?.to_der()?;
        let mut attributes = Vec::new();
        if let Some((encoding, password)) = &self.challenge {
            let tag = match encoding {
                ChallengeEncoding::Printable => 0x13,
                ChallengeEncoding::Utf8 => 0x0C,
                ChallengeEncoding::Ia5 => 0x16,
            };
            attributes.push(attribute(
                &oids::CHALLENGE_PASSWORD,
                vec![tlv(tag, password.as_bytes())],
            ));
        }
        let mut extensions = Vec::new();
        if !self.sans.is_empty() {
            let names = self
                .sans
                .iter()
                .map(general_name)
                .collect::<Result<Vec<_>, _>>()?;
            extensions.push(
                Extension {
                    extn_id: <SubjectAltName as AssociatedOid>::OID,
                    critical: false,
                    extn_value: OctetString::new(SubjectAltName(names).to_der()?)?,
                }
                .to_der()?,
            );
        }
        for e in &self.extensions {
            extensions.push(
                Extension {
                    extn_id: e.oid,
                    critical: e.critical,
                    extn_value: OctetString::new(e.value_der.clone())?,
                }
                .to_der()?,
            );
        }
        if !extensions.is_empty() {
            attributes.push(attribute(
                &oids::EXTENSION_REQUEST,
                vec![tlv(0x30, &extensions.concat())],
            ));
        }
        for (attr_oid, values) in &self.attributes {
            attributes.push(attribute(attr_oid, values.clone()));
        }
        attributes.sort();
        let info = tlv(
            0x30,
            &[
                tlv(0x02, &[0]),
                subject,
                key.spki_der().to_vec(),
                tlv(0xA0, &attributes.concat()),
            ]
            .concat(),
        );
        let alg = key.signature_algorithm(scep::DigestAlgorithm::Sha256)?;
        let mut signature = key.sign(alg, &info)?;
        let middle = signature.len() / 2;
        if self.corrupt_signature
            && let Some(b) = signature.get_mut(middle)
        {
            *b ^= 0x01;
        }
        let mut bits = vec![0u8];
        bits.extend(signature);
        Ok(tlv(
            0x30,
            &[
                info,
                alg.algorithm_identifier_der().to_vec(),
                tlv(0x03, &bits),
            ]
            .concat(),
        ))
    }
}

fn general_name(entry: &SanEntry) -> Result<GeneralName, ClientError> {
    Ok(match entry {
        SanEntry::Dns(n) => GeneralName::DnsName(Ia5String::new(n)?),
        SanEntry::Email(n) => GeneralName::Rfc822Name(Ia5String::new(n)?),
        SanEntry::Uri(n) => GeneralName::UniformResourceIdentifier(Ia5String::new(n)?),
        SanEntry::Ip(ip) => GeneralName::from(*ip),
        SanEntry::Upn(n) => GeneralName::OtherName(OtherName {
            type_id: oids::UPN,
            value: der::Any::encode_from(&Utf8StringRef::new(n)?)?,
        }),
        SanEntry::OtherName { type_id, value_der } => GeneralName::OtherName(OtherName {
            type_id: *type_id,
            value: der::Any::from_der(value_der)?,
        }),
    })
}

/// DER of an OBJECT IDENTIFIER, for raw extension values.
#[must_use]
pub fn oid_der(value: &ObjectIdentifier) -> Vec<u8> {
    oid(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_is_what_the_ra_expects() {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let csr = CsrBuilder::new("CN=device-1")
            .dns("device-1.example")
            .challenge("abc123")
            .build(&key)
            .unwrap();
        let inspected = request::csr::inspect(&csr).unwrap();
        assert_eq!(inspected.challenge_password.unwrap().expose(), "abc123");
        assert_eq!(inspected.public_key_spki_der, key.spki_der());
        assert_eq!(
            inspected.facts.subject_alt_names,
            vec![policy::SanFact::Dns("device-1.example".into())]
        );
        let alg = keys::SignatureAlgorithm::from_x509(&inspected.signature_algorithm_der).unwrap();
        keys::verify::verify_signature(
            key.spki_der(),
            alg,
            &inspected.tbs_der,
            &inspected.signature,
        )
        .unwrap();
    }

    #[test]
    fn hostile_requests_carry_what_they_ask_for() {
        let key = ClientKey::generate_ec_p256().unwrap();
        let csr = CsrBuilder::new("CN=x")
            .san(SanEntry::Upn("admin@corp".into()))
            .san(SanEntry::Ip("10.0.0.1".parse().unwrap()))
            .san(SanEntry::Email("a@example.com".into()))
            .san(SanEntry::Uri("https://example.com".into()))
            .extended_key_usage(&[oids::ANY_EKU, oids::SERVER_AUTH])
            .basic_constraints(true, true)
            .extension(oids::MS_APPLICATION_POLICIES, false, tlv(0x30, &[]))
            .ms_name_value_pair("ExpirationDate", "2099-01-01")
            .challenge_encoded(ChallengeEncoding::Utf8, "pw")
            .corrupt_signature()
            .build(&key)
            .unwrap();
        let inspected = request::csr::inspect(&csr).unwrap();
        let facts = &inspected.facts;
        assert!(
            facts
                .subject_alt_names
                .contains(&policy::SanFact::Upn("admin@corp".into()))
        );
        assert_eq!(facts.subject_alt_names.len(), 4);
        let ext_oids: Vec<&str> = facts
            .requested_extensions
            .iter()
            .map(|e| e.oid.as_str())
            .collect();
        assert!(ext_oids.contains(&"2.5.29.37"));
        assert!(ext_oids.contains(&"2.5.29.19"));
        assert!(ext_oids.contains(&"1.3.6.1.4.1.311.21.10"));
        assert_eq!(facts.attributes, vec!["1.3.6.1.4.1.311.13.2.1".to_owned()]);
        let alg = keys::SignatureAlgorithm::from_x509(&inspected.signature_algorithm_der).unwrap();
        assert!(
            keys::verify::verify_signature(
                key.spki_der(),
                alg,
                &inspected.tbs_der,
                &inspected.signature
            )
            .is_err()
        );
    }

    #[test]
    fn no_challenge_means_no_attribute() {
        let key = ClientKey::generate_ec_p256().unwrap();
        let csr = CsrBuilder::new("CN=x").build(&key).unwrap();
        assert!(
            request::csr::inspect(&csr)
                .unwrap()
                .challenge_password
                .is_none()
        );
    }
}
