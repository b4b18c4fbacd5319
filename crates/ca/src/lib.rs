//! The CA: verify the RA statement, re-check the template, build and sign certificates.
#![forbid(unsafe_code)]
