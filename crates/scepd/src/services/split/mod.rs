//! The split deployment (issue 5; DESIGN.md §2): `scepd ca` holds only the CA key and answers
//! counter-signed statements from registered RAs over mutual TLS; `scepd ra` holds only the
//! RA keys and serves SCEP. The protocol is in `docs/ra-ca-protocol.md`.

pub mod ca_service;
pub mod client;
pub mod protocol;
pub mod ra_service;
pub mod remote_ca;
pub mod tls;
