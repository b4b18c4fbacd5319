//! scepd as a library: everything the `scepd` binary runs, so that the binary is only the
//! command line and the tests can reach the services in-process.
//!
//! Each layer uses only the layers below it, so that no module imports one that imports it
//! back: [`cli`] (one module per subcommand) over [`ceremony`] (what writes a data directory)
//! over [`services`] (what runs) over the ground modules; `scepd.toml` is the `config` crate. A helper two
//! modules need lives below both. The role keys, their certificates and the certificate files
//! are the `keys` crate's (`keys::keystore`, `keys::key_history`, `keys::pem`), loaded from
//! `config::Config::key_locations`.
#![forbid(unsafe_code)]

pub mod ceremony;
pub mod cli;
pub mod services;

pub mod audit_trail;
pub mod clock;
pub mod timefmt;
pub mod x509;
