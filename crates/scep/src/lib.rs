//! RFC 8894 SCEP codec: parse (BER-lenient) and build (DER) PKI messages.
//!
//! Pure: bytes in, typed values out. No I/O, clock, randomness, policy or private-key crypto;
//! `sha1`/`sha2` are used only to compute messageDigest. Nothing parsed here is verified: the
//! RA checks the signature over [`SignerInfo::signed_attributes_der`], the messageDigest
//! ([`PkiMessage::message_digest_matches`]) and decrypts the envelope with its own keys.
//!
//! # Parsing (server side)
//! - [`parse_pki_message`] — `ContentInfo(signedData)` with exactly one SignerInfo: the
//!   [`MessageTypeField`] (fail-closed: only the exact PrintableString of an implemented
//!   request type is [`MessageTypeField::Known`]; CVE-2026-30836's `"18"`, `"019"`, UTF8String
//!   encodings... are `Unsupported`, never an error, so a signed FAILURE badRequest can still be
//!   sent), transactionID, nonces ([`validate_nonce`]), the signer, raw certificates (≤ 10)
//!   and the eContent octets.
//! - [`parse_envelope`] — EnvelopedData: every RecipientInfo, [`ContentCipher`], IV and
//!   ciphertext (micromdm's constructed `[0]` accepted).
//! - [`parse_message_data`] — the decrypted CSR / IssuerAndSubject / IssuerAndSerialNumber.
//! - [`parse_certificate_lenient`] — a signer certificate beyond RFC 5280 (33-octet serials).
//!
//! # Parsing (client side)
//! [`parse_cert_rep`] (messageType "3"), [`parse_certs_only`] (GetCACert, SUCCESS payload),
//! [`parse_signed_certs`] (GetNextCACert).
//!
//! # Building (DER)
//! [`prepare_cert_rep`] / [`prepare_request`] / [`prepare_signed_certs`] (GetNextCACert)
//! return an [`UnsignedPkiMessage`]: sign
//! [`UnsignedPkiMessage::signed_attributes_der`] with the caller's key, then
//! [`UnsignedPkiMessage::finish`]. Also [`build_envelope`], [`build_certs_only`],
//! [`build_message_data`] and [`ca_caps`].
//!
//! The container layers are encoded here rather than with `cms` types because a reply must be
//! addressed to the requester's certificate by issuer and serial, and x509-cert 0.3's
//! `SerialNumber` (inside `cms`'s `IssuerAndSerialNumber`) refuses serials longer than 20
//! octets — certmonger's are 33. Tests decode built messages with `cms` (where its profile
//! allows the serial) and check that re-encoding gives the same bytes.
//!
//! # Robustness
//! The container layers are read by a small lenient BER reader (definite and indefinite
//! lengths, constructed strings) with a nesting cap of 32 and no unbounded recursion; leaf
//! values go through `der` / `x509-cert`. Every function returns [`CodecError`] on bad input
//! and never panics.
#![forbid(unsafe_code)]

mod algorithms;
mod ber;
mod build;
mod caps;
mod certificate;
mod envelope;
mod error;
pub mod http_query;
mod identifiers;
mod message_data;
mod message_type;
pub mod oids;
mod pki_message;
mod signed_certs;
mod signed_data;
mod status;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use algorithms::{ContentCipher, DigestAlgorithm, KeyEncryption};
pub use build::{
    CertRepParams, RequestParams, SignedCertsParams, UnsignedCertRep, UnsignedPkiMessage,
    UnsignedRequest, prepare_cert_rep, prepare_request, prepare_signed_certs,
};
pub use caps::{Capability, ca_caps};
pub use certificate::{CertExtension, LenientCertificate, parse_certificate_lenient};
pub use envelope::{
    Envelope, EnvelopeParams, KeyTransRecipientInfo, RecipientInfo, RecipientInfoKind,
    build_envelope, parse_envelope,
};
pub use error::CodecError;
pub use identifiers::{KeyId, MAX_SERIAL_LEN, RecipientId, SignerId};
pub use message_data::{MessageData, build_message_data, parse_message_data};
pub use message_type::{MessageType, MessageTypeField};
pub use pki_message::{
    MAX_NONCE_LEN, PkiMessage, SignerInfo, parse_cert_rep, parse_pki_message, validate_nonce,
};
pub use signed_certs::{SignedCerts, parse_signed_certs};
pub use signed_data::{
    MAX_CERTIFICATES, MAX_INPUT_LEN, build_certs_only, build_crls_only, parse_certs_only,
};
pub use status::{FailInfo, PkiStatus};
