//! RFC 8894 SCEP codec: parse (BER-lenient) and build (DER) PKI messages. Pure: no I/O, clock, randomness or policy.
#![forbid(unsafe_code)]
