//! Reading a GetNextCACert reply (RFC 8894 §3.5.2, §4.7.1), client side: a SignedData whose
//! signed content is a degenerate certs-only SignedData with the next CA (and RA) certificates,
//! signed by the current RA or CA key. Built by [`crate::prepare_signed_certs`] (see
//! [`crate::SignedCertsParams`] for the layout).
//!
//! Nothing here is verified: the client checks [`SignerInfo::signed_attributes_der`] against
//! the key of the certificate [`SignedCerts::signed_by`] names, one it already trusts (from
//! GetCACert), never one carried in the message.

use der::Decode as _;
use der::asn1::SetOfVec;

use crate::certificate::LenientCertificate;
use crate::error::CodecError;
use crate::oids;
use crate::pki_message::{SignerInfo, parse_pki_message};

/// The attributes that make a SignedData a pkiMessage (RFC 8894 §3.2.1).
const SCEP_ATTRIBUTES: [const_oid::ObjectIdentifier; 7] = [
    oids::ID_MESSAGE_TYPE,
    oids::ID_PKI_STATUS,
    oids::ID_FAIL_INFO,
    oids::ID_SENDER_NONCE,
    oids::ID_RECIPIENT_NONCE,
    oids::ID_TRANSACTION_ID,
    oids::ID_SCEP_FAIL_INFO_TEXT,
];

/// A parsed (unverified) GetNextCACert reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCerts {
    /// The next certificates, from the signed content, raw DER as sent (at most
    /// [`crate::MAX_CERTIFICATES`]).
    pub certificates: Vec<Vec<u8>>,
    /// The one SignerInfo; contentType is id-data and messageDigest matches the content, both
    /// checked by [`parse_signed_certs`].
    pub signer_info: SignerInfo,
    /// The outer (unsigned) certificates, e.g. the signer's: never trust anchors.
    pub embedded_certificates: Vec<Vec<u8>>,
}

impl SignedCerts {
    /// Whether the SignerInfo's `sid` names `certificate` (by issuer and serial or key id).
    #[must_use]
    pub fn signed_by(&self, certificate: &LenientCertificate) -> bool {
        certificate.matches(&self.signer_info.sid)
    }
}

/// Parses a GetNextCACert reply: one SignerInfo whose signed attributes carry contentType
/// id-data and a messageDigest of the content, a content that is a certs-only SignedData with
/// at least one certificate, and none of the SCEP attributes (a CertRep signed by the same key
/// must not pass for one).
pub fn parse_signed_certs(input: &[u8]) -> Result<SignedCerts, CodecError> {
    let message = parse_pki_message(input)?;
    if carries_scep_attributes(&message.signer_info.signed_attributes_der)? {
        return Err(CodecError::Invalid(
            "SCEP attributes in a GetNextCACert reply",
        ));
    }
    if !message.signer_info.content_type_is_data {
        return Err(CodecError::Invalid("contentType"));
    }
    if !message.message_digest_matches() {
        return Err(CodecError::Invalid("messageDigest"));
    }
    let content = message
        .content
        .as_deref()
        .ok_or(CodecError::Missing("the next certificates"))?;
    Ok(SignedCerts {
        certificates: crate::parse_certs_only(content)?,
        signer_info: message.signer_info,
        embedded_certificates: message.certificates,
    })
}

/// Whether the (canonical DER) signed attributes hold any pkiMessage attribute, in any
/// encoding: other attributes (signingTime, from other servers) are tolerated.
fn carries_scep_attributes(signed_attributes_der: &[u8]) -> Result<bool, CodecError> {
    let set = SetOfVec::<x509_cert::attr::Attribute>::from_der(signed_attributes_der)?;
    Ok(set.iter().any(|a| SCEP_ATTRIBUTES.contains(&a.oid)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use der::{Decode as _, Encode as _};

    use super::*;
    use crate::test_support::{fixture, pem_to_der};
    use crate::{DigestAlgorithm, SignedCertsParams, parse_certificate_lenient};

    fn pem_fixture(name: &str) -> Vec<u8> {
        pem_to_der(&String::from_utf8(fixture(name)).unwrap())
    }

    /// sha256WithRSAEncryption, NULL parameters.
    const SHA256_RSA: [u8; 15] = [
        0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00,
    ];

    fn params() -> SignedCertsParams {
        SignedCertsParams {
            // Stand-ins for the next CA and RA certificates.
            certificates: vec![
                pem_fixture("micromdm-ca.pem"),
                pem_fixture("rust-aes-client-signer.pem"),
            ],
            digest: DigestAlgorithm::Sha256,
            signature_algorithm_der: SHA256_RSA.to_vec(),
            signer_certificate: pem_fixture("rust-ra.pem"),
        }
    }

    fn sign_with_rust_ra(message: &[u8]) -> Vec<u8> {
        use aws_lc_rs::{rand::SystemRandom, signature};
        let key = signature::RsaKeyPair::from_pkcs8(&pem_fixture("rust-ra.key")).unwrap();
        let mut out = vec![0; key.public_modulus_len()];
        key.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut out,
        )
        .unwrap();
        out
    }

    fn verify_with(certificate: &[u8], message: &[u8], sig: &[u8]) -> bool {
        use aws_lc_rs::signature;
        let cert = parse_certificate_lenient(certificate).unwrap();
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&cert.spki_der).unwrap();
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            spki.subject_public_key.raw_bytes(),
        )
        .verify(message, sig)
        .is_ok()
    }

    #[test]
    fn rfc8894_4_7_get_next_ca_cert_round_trip() {
        let params = params();
        let unsigned = crate::prepare_signed_certs(params.clone()).unwrap();
        let signature = sign_with_rust_ra(unsigned.signed_attributes_der());
        let der = unsigned.finish(&signature);

        let parsed = parse_signed_certs(&der).unwrap();
        let mut expected = params.certificates.clone();
        expected.sort();
        assert_eq!(
            parsed.certificates, expected,
            "exactly the next certificates"
        );
        let ra = parse_certificate_lenient(&params.signer_certificate).unwrap();
        assert!(parsed.signed_by(&ra));
        assert!(verify_with(
            &params.signer_certificate,
            &parsed.signer_info.signed_attributes_der,
            &parsed.signer_info.signature,
        ));
        assert!(!verify_with(
            &pem_fixture("rust-aes-client-signer.pem"),
            &parsed.signer_info.signed_attributes_der,
            &parsed.signer_info.signature,
        ));

        // The signer travels outside the signed content, never mixed with the next ones.
        assert_eq!(
            parsed.embedded_certificates,
            vec![params.signer_certificate.clone()]
        );

        // DER: another implementation decodes and re-encodes it identically, and sees an
        // id-data eContent holding the certs-only SignedData, two signed attributes, one signer.
        let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
        assert_eq!(ci.to_der().unwrap(), der);
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        assert_eq!(sd.encap_content_info.econtent_type, oids::ID_DATA);
        let econtent = sd.encap_content_info.econtent.as_ref().unwrap();
        let inner = der::asn1::OctetString::from_der(&econtent.to_der().unwrap()).unwrap();
        assert_eq!(
            inner.as_bytes(),
            crate::build_certs_only(&params.certificates).unwrap()
        );
        let signer = sd.signer_infos.0.get(0).unwrap();
        assert_eq!(signer.signed_attrs.as_ref().unwrap().len(), 2);
        assert!(signer.unsigned_attrs.is_none());
        assert_eq!(sd.certificates.as_ref().unwrap().0.len(), 1);
    }

    #[test]
    fn builder_refuses_what_it_cannot_send() {
        let mut none = params();
        none.certificates.clear();
        assert!(crate::prepare_signed_certs(none).is_err());
        let mut garbage = params();
        garbage.certificates.push(vec![0x30, 0x00]);
        assert!(crate::prepare_signed_certs(garbage).is_err());
        let mut eleven = params();
        eleven.certificates = vec![pem_fixture("rust-ca.pem"); 11];
        assert!(crate::prepare_signed_certs(eleven).is_err());
    }

    #[test]
    fn a_signed_reply_of_another_kind_is_not_a_get_next_ca_cert_reply() {
        // A FAILURE CertRep is signed by the same key over empty content.
        assert_eq!(
            parse_signed_certs(&fixture("rust-certrep-failure-badRequest.der")),
            Err(CodecError::Invalid(
                "SCEP attributes in a GetNextCACert reply"
            ))
        );
        // A certs-only bundle has no signer.
        assert!(parse_signed_certs(&fixture("rust-getcacert-ra-ca-certsonly.der")).is_err());
        // A SUCCESS CertRep has SCEP attributes and an EnvelopedData for content.
        assert!(parse_signed_certs(&fixture("rust-certrep-to-micromdm-success.der")).is_err());
    }

    #[test]
    fn the_next_certificates_are_under_the_signature() {
        // A different set of next certificates changes the signed attributes (messageDigest).
        let unsigned = crate::prepare_signed_certs(params()).unwrap();
        let mut other = params();
        other.certificates = vec![pem_fixture("rust-ca.pem")];
        let other = crate::prepare_signed_certs(other).unwrap();
        assert_ne!(
            other.signed_attributes_der(),
            unsigned.signed_attributes_der()
        );

        // A certificate byte changed on the path no longer matches the messageDigest.
        let der = unsigned.finish(sign_with_rust_ra(b"irrelevant"));
        let ca = pem_fixture("micromdm-ca.pem");
        let at = der
            .windows(ca.len())
            .position(|w| w == ca.as_slice())
            .unwrap();
        let mut tampered = der.clone();
        tampered[at + ca.len() - 1] ^= 1;
        assert_eq!(
            parse_signed_certs(&tampered),
            Err(CodecError::Invalid("messageDigest"))
        );
    }
}
