//! What scepd serves.

pub mod admin;
pub mod challenges;
pub mod in_process_ca;
pub mod limiter;
pub mod listener;
pub mod metrics;
pub mod revocation;
pub mod scep_http;
pub mod scep_query;
pub mod serve;
pub mod split;
pub mod tls;
