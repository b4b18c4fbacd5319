//! The link between the two hosts of a split deployment (DESIGN.md §2): `scepd ca` holds only
//! the CA key and answers counter-signed statements from registered RAs over mutual TLS;
//! `scepd ra` holds only the RA keys and serves SCEP. The protocol is in
//! `docs/ra-ca-protocol.md` and its messages `request::link`; the HTTPS client is
//! `edge::https_client`; the two services are [`super::ca_service`] and
//! [`super::ra_service`].

pub mod remote_ca;
pub mod tls;
