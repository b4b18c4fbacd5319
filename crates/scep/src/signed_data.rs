//! Reading the CMS SignedData wrapper shared by PKI messages and certs-only replies.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {                          -- RFC 5652 §3
//!     contentType ContentType,
//!     content [0] EXPLICIT ANY DEFINED BY contentType }
//! SignedData ::= SEQUENCE {                           -- RFC 5652 §5.1
//!     version CMSVersion,
//!     digestAlgorithms DigestAlgorithmIdentifiers,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SignerInfos }
//! EncapsulatedContentInfo ::= SEQUENCE {              -- RFC 5652 §5.2
//!     eContentType ContentType,
//!     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
//! ```

use const_oid::ObjectIdentifier;

use crate::algorithms::read_oid;
use crate::ber::{self, Tlv};
use crate::error::CodecError;
use crate::oids;

/// Most certificates accepted in one SignedData (a client sends its signer, a GetCACert reply
/// RA + CA + maybe an intermediate; anything beyond is an attack on the parser's time).
pub const MAX_CERTIFICATES: usize = 10;

/// Largest input any parse function accepts. The HTTP layer enforces 64 KiB already; this is
/// the codec's own backstop.
pub const MAX_INPUT_LEN: usize = 1 << 20;

pub(crate) struct SignedDataParts<'a> {
    pub digest_algorithms: Vec<Tlv<'a>>,
    /// eContent octets; `None` when absent or empty (detached signature).
    pub content: Option<Vec<u8>>,
    pub certificates: Vec<Vec<u8>>,
    pub signer_infos: Vec<Tlv<'a>>,
}

/// Reads `ContentInfo { contentType = expected, content [0] EXPLICIT ... }` and returns the inner
/// element.
pub(crate) fn read_content_info(
    input: &[u8],
    expected: ObjectIdentifier,
) -> Result<Tlv<'_>, CodecError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(CodecError::malformed(MAX_INPUT_LEN, "input too large"));
    }
    let outer = ber::read_single(input)?.expect(ber::TAG_SEQUENCE, "expected ContentInfo")?;
    let mut fields = outer.children()?;
    let content_type = read_oid(fields.require("missing contentType")?)?;
    if content_type != expected {
        return Err(CodecError::UnexpectedContentType(content_type));
    }
    let content = fields
        .require("missing content")?
        .expect(ber::TAG_CTX0_CONSTRUCTED, "expected [0] content")?
        .explicit_inner()?;
    fields.finish()?;
    Ok(content)
}

pub(crate) fn read_signed_data(input: &[u8]) -> Result<SignedDataParts<'_>, CodecError> {
    let sd = read_content_info(input, oids::ID_SIGNED_DATA)?
        .expect(ber::TAG_SEQUENCE, "expected SignedData")?;
    let mut fields = sd.children()?;
    fields
        .require("missing version")?
        .expect(ber::TAG_INTEGER, "expected CMSVersion")?;

    let digest_set = fields
        .require("missing digestAlgorithms")?
        .expect(ber::TAG_SET, "expected digestAlgorithms SET")?;
    let mut digest_algorithms = Vec::new();
    let mut digests = digest_set.children()?;
    while let Some(alg) = digests.next()? {
        if digest_algorithms.len() >= MAX_CERTIFICATES {
            return Err(CodecError::Invalid("too many digestAlgorithms"));
        }
        digest_algorithms.push(alg.expect(ber::TAG_SEQUENCE, "expected AlgorithmIdentifier")?);
    }

    let content = read_encap_content(fields.require("missing encapContentInfo")?)?;

    let mut certificates = Vec::new();
    if let Some(set) = fields.optional(ber::TAG_CTX0_CONSTRUCTED)? {
        let mut certs = set.children()?;
        while let Some(cert) = certs.next()? {
            if certificates.len() >= MAX_CERTIFICATES {
                return Err(CodecError::TooManyCertificates {
                    max: MAX_CERTIFICATES,
                });
            }
            let cert = cert.expect(ber::TAG_SEQUENCE, "expected a Certificate")?;
            certificates.push(
                cert.definite_raw("indefinite length in a certificate")?
                    .to_vec(),
            );
        }
    }
    // CRLs are of no use to a SCEP peer in a request; their presence is tolerated.
    fields.optional(ber::TAG_CTX1_CONSTRUCTED)?;

    let signer_set = fields
        .require("missing signerInfos")?
        .expect(ber::TAG_SET, "expected signerInfos SET")?;
    fields.finish()?;
    let mut signer_infos = Vec::new();
    let mut signers = signer_set.children()?;
    while let Some(si) = signers.next()? {
        if signer_infos.len() >= MAX_CERTIFICATES {
            return Err(CodecError::SignerCount(signer_infos.len() + 1));
        }
        signer_infos.push(si);
    }

    Ok(SignedDataParts {
        digest_algorithms,
        content,
        certificates,
        signer_infos,
    })
}

fn read_encap_content(tlv: Tlv<'_>) -> Result<Option<Vec<u8>>, CodecError> {
    let tlv = tlv.expect(ber::TAG_SEQUENCE, "expected EncapsulatedContentInfo")?;
    let mut fields = tlv.children()?;
    let content_type = read_oid(fields.require("missing eContentType")?)?;
    if content_type != oids::ID_DATA {
        return Err(CodecError::UnexpectedContentType(content_type));
    }
    let content = match fields.optional(ber::TAG_CTX0_CONSTRUCTED)? {
        None => None,
        Some(wrapper) => {
            let inner = wrapper.explicit_inner()?;
            if inner.tag != ber::TAG_OCTET_STRING && inner.tag != ber::TAG_OCTET_STRING_CONSTRUCTED
            {
                return Err(CodecError::malformed(
                    inner.offset,
                    "eContent is not an OCTET STRING",
                ));
            }
            Some(inner.octets()?.into_owned()).filter(|c| !c.is_empty())
        }
    };
    fields.finish()?;
    Ok(content)
}

/// Parses a degenerate certs-only SignedData (RFC 8894 §3.4, GetCACert RA+CA and the SUCCESS
/// payload): returns the certificates as raw DER, in the order sent.
///
/// Signers, if any, are ignored: a certs-only message carries none and is trusted (or not) by
/// other means (the GetCACert fingerprint, or the signed CertRep around it).
pub fn parse_certs_only(input: &[u8]) -> Result<Vec<Vec<u8>>, CodecError> {
    let parts = read_signed_data(input)?;
    if parts.certificates.is_empty() {
        return Err(CodecError::Missing("certificates"));
    }
    Ok(parts.certificates)
}

/// Builds a degenerate certs-only SignedData ContentInfo (no signers, no content), DER.
///
/// Each certificate must be one DER certificate (read leniently: a 33-octet serial is
/// carried as it is). They are DER `SET OF` ordered, as X.690 requires; clients pick the RA
/// certificate by its key usage, not by position.
pub fn build_certs_only(certificates: &[Vec<u8>]) -> Result<Vec<u8>, CodecError> {
    if certificates.is_empty() {
        return Err(CodecError::InvalidParameter("no certificates"));
    }
    for certificate in certificates {
        crate::certificate::parse_certificate_lenient(certificate)?;
    }
    let signed_data = encode_signed_data(1, &[], None, certificates, &[], &[]);
    Ok(encode_content_info(oids::ID_SIGNED_DATA, &signed_data))
}

/// A degenerate SignedData carrying one or more CRLs and no certificates: the content of a
/// SUCCESS reply to GetCRL (RFC 8894 §3.3.4).
///
/// ```text
/// SignedData ::= SEQUENCE { version 1, digestAlgorithms {}, encapContentInfo { id-data },
///     crls [1] IMPLICIT SET OF CertificateList, signerInfos {} }
/// ```
pub fn build_crls_only(crls: &[Vec<u8>]) -> Result<Vec<u8>, CodecError> {
    if crls.is_empty() {
        return Err(CodecError::InvalidParameter("no CRLs"));
    }
    for crl in crls {
        let tlv = ber::read_single(crl)?;
        tlv.expect(ber::TAG_SEQUENCE, "a CRL is a SEQUENCE")?;
    }
    let signed_data = encode_signed_data(1, &[], None, &[], crls, &[]);
    Ok(encode_content_info(oids::ID_SIGNED_DATA, &signed_data))
}

/// DER `ContentInfo`.
pub(crate) fn encode_content_info(content_type: ObjectIdentifier, content: &[u8]) -> Vec<u8> {
    ber::encode_constructed(
        ber::TAG_SEQUENCE,
        &[
            &crate::algorithms::encode_oid(&content_type),
            &ber::encode_tlv(ber::TAG_CTX0_CONSTRUCTED, content),
        ],
    )
}

/// DER `SignedData` from already-encoded pieces. `content: None` leaves eContent out
/// (detached / empty, as FAILURE and PENDING replies and certs-only are sent).
pub(crate) fn encode_signed_data(
    version: u8,
    digest_algorithms: &[Vec<u8>],
    content: Option<&[u8]>,
    certificates: &[Vec<u8>],
    crls: &[Vec<u8>],
    signer_infos: &[Vec<u8>],
) -> Vec<u8> {
    let mut encap = vec![crate::algorithms::encode_oid(&oids::ID_DATA)];
    if let Some(content) = content {
        encap.push(ber::encode_tlv(
            ber::TAG_CTX0_CONSTRUCTED,
            &ber::encode_tlv(ber::TAG_OCTET_STRING, content),
        ));
    }
    let mut fields = vec![
        ber::encode_tlv(ber::TAG_INTEGER, &[version]),
        ber::encode_set_of(ber::TAG_SET, digest_algorithms.to_vec()),
        ber::encode_tlv(ber::TAG_SEQUENCE, &encap.concat()),
    ];
    if !certificates.is_empty() {
        let mut unique = certificates.to_vec();
        unique.sort();
        unique.dedup();
        fields.push(ber::encode_set_of(ber::TAG_CTX0_CONSTRUCTED, unique));
    }
    if !crls.is_empty() {
        fields.push(ber::encode_set_of(ber::TAG_CTX1_CONSTRUCTED, crls.to_vec()));
    }
    fields.push(ber::encode_set_of(ber::TAG_SET, signer_infos.to_vec()));
    ber::encode_tlv(ber::TAG_SEQUENCE, &fields.concat())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::fixture;

    #[test]
    fn crls_only_carries_the_crl_in_the_crls_field() {
        // A CertificateList-shaped SEQUENCE: the codec checks only the outer tag, the CRL
        // itself is the CA's business.
        let crl = vec![0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00];
        let der = build_crls_only(std::slice::from_ref(&crl)).unwrap();
        let mut crls_field = vec![0xa1, 0x09];
        crls_field.extend_from_slice(&crl);
        assert!(
            der.windows(crls_field.len())
                .any(|w| w == crls_field.as_slice())
        );
        // No certificates field ([0]) after the encapsulated content; empty signerInfos last.
        assert!(der.ends_with(&[0x31, 0x00]));
        assert!(
            !der.windows(2)
                .any(|w| w == [0xa0, 0x82] || w == [0xa0, 0x81])
        );
        assert!(build_crls_only(&[]).is_err());
        assert!(build_crls_only(&[vec![0x04, 0x00]]).is_err());
    }

    #[test]
    fn reads_the_getcacert_ra_ca_bundle() {
        let input = fixture("rust-getcacert-ra-ca-certsonly.der");
        let certs = parse_certs_only(&input).unwrap();
        assert_eq!(certs.len(), 2);
        for cert in &certs {
            crate::parse_certificate_lenient(cert).unwrap();
        }
        // Canonical: rebuilding gives the same bytes.
        assert_eq!(build_certs_only(&certs).unwrap(), input);
        assert!(build_certs_only(&[]).is_err());
        assert!(build_certs_only(&[vec![0x30, 0x00]]).is_err());
    }

    #[test]
    fn eleven_certificates_are_refused() {
        let certs = parse_certs_only(&fixture("rust-getcacert-ra-ca-certsonly.der")).unwrap();
        let first = certs.first().unwrap();
        // Distinct byte strings (the builder removes duplicates): vary a trailing octet.
        let many: Vec<Vec<u8>> = (0..11u8)
            .map(|i| {
                let mut c = first.clone();
                if let Some(last) = c.last_mut() {
                    *last = i;
                }
                c
            })
            .collect();
        let bundle = build_certs_only(&many).unwrap();
        assert_eq!(
            parse_certs_only(&bundle),
            Err(CodecError::TooManyCertificates { max: 10 })
        );
        let ten = build_certs_only(&many[..10]).unwrap();
        assert_eq!(parse_certs_only(&ten).unwrap().len(), 10);
    }
}
