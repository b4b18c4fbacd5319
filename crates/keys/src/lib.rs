//! Key roles, Signer/Decrypter traits, software key backend, signature verification and envelope ciphers.
#![forbid(unsafe_code)]
