//! The link between the two hosts of a split deployment (DESIGN.md §2): `scepd ca` holds only
//! the CA key and answers counter-signed statements from registered RAs over mutual TLS;
//! `scepd ra` holds only the RA keys and serves SCEP. The protocol is in
//! `docs/ra-ca-protocol.md`; the two services are [`super::ca_service`] and
//! [`super::ra_service`].

pub mod client;
pub mod protocol;
pub mod remote_ca;
pub mod tls;
