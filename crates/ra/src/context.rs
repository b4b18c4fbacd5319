//! Who sent a request and when, as the HTTP layer saw it: the one input every step shares.

/// The time of a request (Unix seconds, from the caller's clock: the RA has none), its
/// network source as the audit log names it, and the SCEP endpoint it came to.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub now: i64,
    pub peer: String,
    /// The named endpoint (`/scep/NAME`); `None` for the default one.
    pub endpoint: Option<String>,
}
