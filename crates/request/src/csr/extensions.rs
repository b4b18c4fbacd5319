//! Requested extensions (RFC 5280 §4.2) decoded just enough for policy to check them. None of
//! them is ever copied into a certificate.

use der::Decode;
use der::asn1::{BitString, Utf8StringRef};
use policy::{RequestedExtension, RequestedValue, SanFact};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, SubjectAltName, SubjectKeyIdentifier,
};

use crate::oids;

/// Decodes one requested extension; a known extension that does not decode is reported as
/// [`RequestedValue::Malformed`] (and refused by policy). SAN names go to `sans`.
pub(super) fn read(ext: &Extension, sans: &mut Vec<SanFact>) -> RequestedExtension {
    let bytes = ext.extn_value.as_bytes();
    let oid = ext.extn_id;
    let value = if oid == oids::CE_EXT_KEY_USAGE {
        ExtendedKeyUsage::from_der(bytes).map(|eku| {
            RequestedValue::ExtendedKeyUsage(eku.0.iter().map(ToString::to_string).collect())
        })
    } else if oid == oids::CE_BASIC_CONSTRAINTS {
        BasicConstraints::from_der(bytes).map(|bc| RequestedValue::BasicConstraints { ca: bc.ca })
    } else if oid == oids::CE_KEY_USAGE {
        BitString::from_der(bytes).map(|bits| RequestedValue::KeyUsage(key_usage_bits(&bits)))
    } else if oid == oids::CE_SUBJECT_KEY_IDENTIFIER {
        SubjectKeyIdentifier::from_der(bytes).map(|_| RequestedValue::SubjectKeyIdentifier)
    } else if oid == oids::CE_SUBJECT_ALT_NAME {
        SubjectAltName::from_der(bytes).map(|san| {
            sans.extend(san.0.iter().map(san_fact));
            RequestedValue::SubjectAltName
        })
    } else {
        Ok(RequestedValue::Other)
    };
    RequestedExtension {
        oid: oid.to_string(),
        critical: ext.critical,
        value: value.unwrap_or(RequestedValue::Malformed),
    }
}

/// KeyUsage bit *n* (RFC 5280 §4.2.1.3 numbering, first bit = MSB of the first octet) as
/// `1 << n`. Bits beyond decipherOnly (8) are folded into bit 15 so they are never silently
/// dropped: policy refuses them as outside any template.
fn key_usage_bits(bits: &BitString) -> u16 {
    bits.bits()
        .enumerate()
        .fold(0u16, |acc, (n, set)| match (set, n) {
            (false, _) => acc,
            (true, 0..=8) => acc | (1 << n),
            (true, _) => acc | (1 << 15),
        })
}

pub(crate) fn san_fact(name: &GeneralName) -> SanFact {
    match name {
        GeneralName::DnsName(s) => SanFact::Dns(s.as_str().to_owned()),
        GeneralName::IpAddress(o) => SanFact::Ip(o.as_bytes().to_vec()),
        GeneralName::Rfc822Name(s) => SanFact::Email(s.as_str().to_owned()),
        GeneralName::UniformResourceIdentifier(s) => SanFact::Uri(s.as_str().to_owned()),
        GeneralName::OtherName(o) => other_name(o),
        GeneralName::DirectoryName(_) => SanFact::Other("directoryName".to_owned()),
        GeneralName::EdiPartyName(_) => SanFact::Other("ediPartyName".to_owned()),
        GeneralName::RegisteredId(_) => SanFact::Other("registeredID".to_owned()),
    }
}

/// A UPN whose value is a UTF8String (MS-WCCE §2.2.2.7.5: `[0] EXPLICIT UTF8String`) is a
/// [`SanFact::Upn`]; any other otherName, a UPN of another string type included, is reported
/// by its type-id only, and policy refuses it.
fn other_name(name: &OtherName) -> SanFact {
    if name.type_id == oids::UPN
        && let Ok(upn) = Utf8StringRef::try_from(&name.value)
    {
        return SanFact::Upn(upn.as_str().to_owned());
    }
    SanFact::OtherName {
        type_id: name.type_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_bit_numbering() {
        // digitalSignature + keyEncipherment: 0b1010_0000, 5 unused bits.
        let bits = BitString::new(5, [0xa0]).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            key_usage_bits(&bits),
            policy::key_usage::DIGITAL_SIGNATURE | policy::key_usage::KEY_ENCIPHERMENT
        );
        // keyCertSign + cRLSign + decipherOnly.
        let bits = BitString::new(7, [0x06, 0x80]).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            key_usage_bits(&bits),
            policy::key_usage::KEY_CERT_SIGN
                | policy::key_usage::CRL_SIGN
                | policy::key_usage::DECIPHER_ONLY
        );
    }
}
