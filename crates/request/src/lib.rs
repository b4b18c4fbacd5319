//! The request as the RA and the CA both read it: PKCS#10 inspection into policy facts and the RA counter-signed statement format.
#![forbid(unsafe_code)]
