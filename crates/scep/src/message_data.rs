//! messageData: what the pkcsPKIEnvelope decrypts to, by message type (RFC 8894 §3.3).
//!
//! ```text
//! PKCSReq / RenewalReq:  CertificationRequest           -- RFC 2986 §4.2
//! CertPoll:              IssuerAndSubject ::= SEQUENCE { -- RFC 8894 §3.3.3
//!                            issuer Name,
//!                            subject Name }
//! GetCert / GetCRL:      IssuerAndSerialNumber           -- RFC 5652 §10.2.4
//! ```

use der::Decode as _;

use crate::ber;
use crate::error::CodecError;
use crate::identifiers::{encode_issuer_and_serial, read_issuer_and_serial, read_name};
use crate::message_type::MessageType;

/// The decrypted content of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageData {
    /// PKCSReq / RenewalReq: the exact DER of one PKCS#10 CertificationRequest.
    CertificationRequest(Vec<u8>),
    /// CertPoll: DER `Name`s of the issuer and of the requested subject.
    IssuerAndSubject {
        /// DER of the issuer `Name`.
        issuer_der: Vec<u8>,
        /// DER of the subject `Name`.
        subject_der: Vec<u8>,
    },
    /// GetCert / GetCRL: DER issuer `Name` and the serial's INTEGER contents octets.
    IssuerAndSerial {
        /// DER of the issuer `Name`.
        issuer_der: Vec<u8>,
        /// Contents octets of the serial INTEGER.
        serial: Vec<u8>,
    },
}

/// Parses the decrypted messageData of a request of `message_type`.
pub fn parse_message_data(
    message_type: MessageType,
    data: &[u8],
) -> Result<MessageData, CodecError> {
    match message_type {
        MessageType::PkcsReq | MessageType::RenewalReq => {
            // One DER CertificationRequest and nothing after it; the bytes are kept exactly so
            // the self-signature can be checked over what was sent.
            x509_cert::request::CertReq::from_der(data)?;
            Ok(MessageData::CertificationRequest(data.to_vec()))
        }
        MessageType::CertPoll => {
            let seq =
                ber::read_single(data)?.expect(ber::TAG_SEQUENCE, "expected IssuerAndSubject")?;
            let mut fields = seq.children()?;
            let issuer_der = read_name(fields.require("missing issuer")?)?;
            let subject_der = read_name(fields.require("missing subject")?)?;
            fields.finish()?;
            Ok(MessageData::IssuerAndSubject {
                issuer_der,
                subject_der,
            })
        }
        MessageType::GetCert | MessageType::GetCrl => {
            let (issuer_der, serial) = read_issuer_and_serial(ber::read_single(data)?)?;
            Ok(MessageData::IssuerAndSerial { issuer_der, serial })
        }
        MessageType::CertRep => Err(CodecError::Invalid("CertRep carries no messageData")),
    }
}

/// Builds the DER of a messageData (the plaintext a client encrypts).
pub fn build_message_data(data: &MessageData) -> Result<Vec<u8>, CodecError> {
    match data {
        MessageData::CertificationRequest(csr) => {
            x509_cert::request::CertReq::from_der(csr)?;
            Ok(csr.clone())
        }
        MessageData::IssuerAndSubject {
            issuer_der,
            subject_der,
        } => {
            x509_cert::name::Name::from_der(issuer_der)?;
            x509_cert::name::Name::from_der(subject_der)?;
            Ok(ber::encode_constructed(
                ber::TAG_SEQUENCE,
                &[issuer_der, subject_der],
            ))
        }
        MessageData::IssuerAndSerial { issuer_der, serial } => {
            encode_issuer_and_serial(issuer_der, serial)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{fixture, pem_to_der};

    #[test]
    fn csr_is_kept_exactly() {
        let csr = fixture("rust-aes-client-csr.der");
        assert_eq!(
            parse_message_data(MessageType::PkcsReq, &csr).unwrap(),
            MessageData::CertificationRequest(csr.clone())
        );
        let mut trailing = csr.clone();
        trailing.push(0);
        assert!(parse_message_data(MessageType::PkcsReq, &trailing).is_err());
        assert!(parse_message_data(MessageType::PkcsReq, &csr[..csr.len() - 1]).is_err());
        assert!(parse_message_data(MessageType::CertRep, &csr).is_err());
    }

    #[test]
    fn issuer_and_subject_and_serial_round_trip() {
        let cert = crate::parse_certificate_lenient(&pem_to_der(
            &String::from_utf8(fixture("rust-ra.pem")).unwrap(),
        ))
        .unwrap();
        let poll = MessageData::IssuerAndSubject {
            issuer_der: cert.issuer_der.clone(),
            subject_der: cert.subject_der.clone(),
        };
        let der = build_message_data(&poll).unwrap();
        assert_eq!(
            parse_message_data(MessageType::CertPoll, &der).unwrap(),
            poll
        );

        let get = MessageData::IssuerAndSerial {
            issuer_der: cert.issuer_der.clone(),
            serial: cert.serial.clone(),
        };
        let der = build_message_data(&get).unwrap();
        assert_eq!(parse_message_data(MessageType::GetCert, &der).unwrap(), get);
        assert_eq!(parse_message_data(MessageType::GetCrl, &der).unwrap(), get);
        // A GetCert body is not an IssuerAndSubject (INTEGER where a Name must be).
        assert!(parse_message_data(MessageType::CertPoll, &der).is_err());
    }
}
