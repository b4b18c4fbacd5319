//! Who sent a request and when, as the HTTP layer saw it: the one input every step shares.

/// The time of a request (Unix seconds, from the caller's clock: the RA has none) and its
/// network source as the audit log names it.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub now: i64,
    pub peer: String,
}
