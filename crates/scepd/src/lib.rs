//! scepd as a library: everything the `scepd` binary runs, so that the binary is only the
//! command line and the tests can reach the services in-process.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit_cmd;
pub mod audit_trail;
pub mod bootstrap_admin;
pub mod cert_cmd;
pub mod challenge_cmd;
pub mod cli_audit;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod http;
pub mod in_process_ca;
pub mod init;
pub mod io_context;
pub mod keystore;
pub mod limiter;
pub mod listener;
pub mod metrics;
pub mod password_gate;
pub mod pem;
pub mod query;
pub mod request_cmd;
pub mod revocation;
pub mod rollover;
pub mod serve;
pub mod split;
pub mod templates;
pub mod timefmt;
pub mod user_cmd;
