//! scepd as a library: everything the `scepd` binary runs, so that the binary is only the
//! command line and the tests can reach the services in-process.
#![forbid(unsafe_code)]

pub mod ceremony;
pub mod cli;
pub mod services;

pub mod audit_trail;
pub mod clock;
pub mod config;
pub mod io_context;
pub mod key_history;
pub mod keystore;
pub mod pem;
pub mod timefmt;
pub mod x509;
