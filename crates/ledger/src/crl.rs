//! CRL bookkeeping shared by every CA node: the CRL number, the newest CRL, and whether it is
//! out of date.

/// The CRL state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlState {
    /// The last number [`Store::next_crl_number`] handed out (0: none yet).
    pub last_number: u64,
    /// Revocations committed so far (never decreases).
    pub revocation_count: u64,
    /// The newest CRL recorded with [`Store::record_crl`], if any.
    pub published: Option<PublishedCrl>,
}

impl CrlState {
    /// Whether a new CRL must be issued at `now`: none yet, a revocation it does not cover,
    /// or `now` within `margin` seconds of its nextUpdate.
    pub fn needs_new_crl(&self, now: i64, margin: i64) -> bool {
        match &self.published {
            None => true,
            Some(p) => {
                p.covered_revocations < self.revocation_count
                    || now >= p.next_update.saturating_sub(margin)
            }
        }
    }
}

/// A signed CRL and what it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCrl {
    /// Its cRLNumber (allocated by [`Store::next_crl_number`]).
    pub number: u64,
    pub this_update: i64,
    pub next_update: i64,
    /// [`CrlState::revocation_count`] as read *before* listing the revoked certificates
    /// for this CRL: every revocation counted was then already committed, so it is in the
    /// list.
    pub covered_revocations: u64,
    pub der: Vec<u8>,
}
