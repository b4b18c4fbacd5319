//! The load generator's one error enum.

/// Why a benchmark could not be prepared or run (a failed *enrollment* is counted, not raised).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    #[error("SCEP client: {0}")]
    Client(#[from] scep_client::ClientError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("key generation failed")]
    KeyGeneration,
    #[error("key cache {0}: malformed")]
    KeyCache(String),
    #[error("challenge command failed: {0}")]
    Challenge(String),
    #[error("/proc/{pid}: {what}")]
    Proc { pid: u32, what: &'static str },
    #[error("invalid option: {0}")]
    Option(String),
}
