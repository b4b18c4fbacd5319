//! KeyUsage bits as RFC 5280 §4.2.1.3 numbers them: bit *n* of the ASN.1 BIT STRING is
//! `1 << n` here.
//!
//! ```text
//! KeyUsage ::= BIT STRING {
//!      digitalSignature        (0), nonRepudiation (1), keyEncipherment (2),
//!      dataEncipherment        (3), keyAgreement   (4), keyCertSign     (5),
//!      cRLSign                 (6), encipherOnly   (7), decipherOnly    (8) }
//! ```

pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
pub const NON_REPUDIATION: u16 = 1 << 1;
pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
pub const DATA_ENCIPHERMENT: u16 = 1 << 3;
pub const KEY_AGREEMENT: u16 = 1 << 4;
pub const KEY_CERT_SIGN: u16 = 1 << 5;
pub const CRL_SIGN: u16 = 1 << 6;
pub const ENCIPHER_ONLY: u16 = 1 << 7;
pub const DECIPHER_ONLY: u16 = 1 << 8;
