//! scepd as a library: everything the `scepd` binary runs, so that the binary is only the
//! command line and the tests can reach the services in-process.
//!
//! Each layer uses only the layers below it, so that no module imports one that imports it
//! back: [`cli`] (one module per subcommand) over [`ceremony`] (what writes a data directory)
//! over [`services`] (what runs) over [`config`], [`keystore`] and [`key_history`], over the
//! ground modules. A helper two modules need lives below both.
#![forbid(unsafe_code)]

pub mod ceremony;
pub mod cli;
pub mod services;

pub mod config;
pub mod key_history;
pub mod keystore;

pub mod audit_trail;
pub mod clock;
pub mod io_context;
pub mod pem;
pub mod timefmt;
pub mod x509;
