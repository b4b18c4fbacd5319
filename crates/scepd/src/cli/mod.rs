//! The command line: one module per subcommand.

pub mod audit;
pub mod ca;
pub mod cert;
pub mod doctor;
pub mod request;
pub mod user;
