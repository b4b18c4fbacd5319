//! A SCEP client library for tests and the load tool: builds (also hostile) requests and reads CertReps.
#![forbid(unsafe_code)]
