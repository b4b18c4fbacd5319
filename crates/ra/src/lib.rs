//! The RA pipeline: decode, verify, decrypt, check possession, check challenge, policy, counter-sign, forward to the CA.
#![forbid(unsafe_code)]
