//! What scepd serves.

pub mod admin;
pub mod ca_link;
pub mod ca_service;
pub mod challenges;
pub mod endpoints;
pub mod intune_revocation;
pub mod metrics;
pub mod ra_service;
pub mod revocation;
pub mod scep_http;
pub mod serve;
#[cfg(test)]
pub mod test_support;
pub mod tls;
