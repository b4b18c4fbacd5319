//! What stands between the network and scepd's services: the accept loop with its connection
//! limits and timeouts ([`listener`]), per-source lockouts after secret-dependent failures
//! ([`limiter`]), and the TLS policy every listener and link shares — versions, suites,
//! private key files ([`tls`]) — and the refusal of state-changing requests a browser was made
//! to send from another site ([`cross_site`]).
//!
//! No SCEP, no policy, no storage: a router comes in from the binary, already built, and
//! requests go to it with the connection's [`listener::Peer`] attached. The limits are plain
//! values; reading them from `scepd.toml` is the binary's job.
#![forbid(unsafe_code)]

pub mod cross_site;
pub mod https_client;
pub mod limiter;
pub mod listener;
pub mod pinning;
pub mod tls;
pub mod written;
