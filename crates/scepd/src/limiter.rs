//! Rate limiting of secret-dependent failures per source address (catalogue B2, DESIGN.md §3):
//! a source that gets too many wrong, used or expired challenges — or envelopes that do not
//! decrypt (a Bleichenbacher/Marvin probe) — within a window is locked out for a while and
//! answered HTTP 429 before its requests reach the RA. Other sources are unaffected. The
//! source is the TCP peer; `X-Forwarded-For` is never trusted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many sources are tracked; beyond it, the stalest entries are dropped first,
/// so an attacker cycling addresses cannot exhaust memory.
const MAX_TRACKED_SOURCES: usize = 65_536;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
}

#[derive(Debug)]
struct Source {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct FailureLimiter {
    limits: Limits,
    sources: Mutex<HashMap<IpAddr, Source>>,
}

/// What recording a failure did.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// This failure crossed the threshold: the source is now locked out.
    LockedOut,
}

impl FailureLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            sources: Mutex::new(HashMap::new()),
        }
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Source>> {
        // A poisoned lock only means another request panicked mid-update: the counters are
        // still usable, and refusing all enrollment would be worse.
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` while `source` is locked out.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.sources().get(&source).and_then(|s| s.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts one secret-dependent failure from `source`.
    pub fn record_failure(&self, source: IpAddr, now: Instant) -> Recorded {
        let mut sources = self.sources();
        if sources.len() >= MAX_TRACKED_SOURCES && !sources.contains_key(&source) {
            evict_stalest(&mut sources, now, self.limits);
        }
        let entry = sources.entry(source).or_insert(Source {
            window_start: now,
            failures: 0,
            locked_until: None,
        });
        if now.duration_since(entry.window_start) > self.limits.window {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= self.limits.max_failures && entry.locked_until.is_none_or(|u| u <= now)
        {
            entry.locked_until = Some(now + self.limits.lockout);
            entry.failures = 0;
            entry.window_start = now;
            Recorded::LockedOut
        } else {
            Recorded::Counted
        }
    }
}

fn evict_stalest(sources: &mut HashMap<IpAddr, Source>, now: Instant, limits: Limits) {
    sources.retain(|_, s| {
        now.duration_since(s.window_start) <= limits.window
            || s.locked_until.is_some_and(|u| u > now)
    });
    if sources.len() >= MAX_TRACKED_SOURCES
        && let Some(oldest) = sources
            .iter()
            .min_by_key(|(_, s)| s.window_start)
            .map(|(ip, _)| *ip)
    {
        sources.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(300),
    };

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_guessing_source_is_locked_out_and_others_are_not() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        assert_eq!(limiter.record_failure(ip(1), t0), Recorded::Counted);
        assert_eq!(limiter.record_failure(ip(1), t0), Recorded::Counted);
        assert!(limiter.check(ip(1), t0).is_ok());
        assert_eq!(limiter.record_failure(ip(1), t0), Recorded::LockedOut);
        assert_eq!(limiter.check(ip(1), t0), Err(Duration::from_secs(300)));
        assert!(
            limiter.check(ip(2), t0).is_ok(),
            "another source is not affected"
        );
        // The lockout ends.
        assert!(limiter.check(ip(1), t0 + Duration::from_secs(301)).is_ok());
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        for minute in 0..10 {
            let t = t0 + Duration::from_secs(61 * minute);
            assert_eq!(limiter.record_failure(ip(3), t), Recorded::Counted);
            assert_eq!(limiter.record_failure(ip(3), t), Recorded::Counted);
        }
        assert!(limiter.check(ip(3), t0 + Duration::from_secs(700)).is_ok());
    }

    #[test]
    fn memory_stays_bounded_when_addresses_cycle() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_SOURCES as u32 + 1000) {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            limiter.record_failure(addr, t0);
        }
        assert!(limiter.sources().len() <= MAX_TRACKED_SOURCES);
    }
}
