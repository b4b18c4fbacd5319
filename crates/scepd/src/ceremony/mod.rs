//! The ceremonies that write a data directory's keys, certificates and configuration.

pub mod ca_init;
pub mod error;
pub mod init;
pub mod initial_admin;
pub mod ra_init;
pub mod rollover;
