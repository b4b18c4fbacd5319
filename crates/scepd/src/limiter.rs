//! Rate limiting of secret-dependent failures per source address (catalogue B2, DESIGN.md §3):
//! a source that gets too many wrong, used or expired challenges — or envelopes that do not
//! decrypt (a Bleichenbacher/Marvin probe) — within a window is locked out for a while and
//! answered HTTP 429 before its requests reach the RA. Other sources are unaffected. The
//! source is the TCP peer; `X-Forwarded-For` is never trusted.
//!
//! A guess spread over many addresses stays under every per-source limit, so failures are
//! also counted globally. When all sources together exceed their budget within a window, an
//! alarm is raised for one window: every source with a failure in its window is then locked
//! out at once (its next failure or request), while sources without failures — the devices
//! enrolling with valid challenges — are still served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most this many sources are tracked; beyond it, the stalest entries are dropped first,
/// so an attacker cycling addresses cannot exhaust memory.
const MAX_TRACKED_SOURCES: usize = 65_536;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
    /// Failures from all sources together within `window` before the global alarm.
    pub global_max_failures: u32,
}

#[derive(Debug)]
struct Source {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

impl Source {
    fn failed_within(&self, now: Instant, window: Duration) -> bool {
        self.failures > 0 && now.duration_since(self.window_start) <= window
    }

    fn lock(&mut self, now: Instant, lockout: Duration) {
        self.locked_until = Some(now + lockout);
        self.failures = 0;
        self.window_start = now;
    }
}

/// Failures of all sources together.
#[derive(Debug)]
struct Global {
    window_start: Instant,
    failures: u32,
    /// While set and in the future, any source with a failure is locked out at once.
    alarm_until: Option<Instant>,
}

impl Global {
    fn alarm_on(&self, now: Instant) -> bool {
        self.alarm_until.is_some_and(|u| u > now)
    }
}

#[derive(Debug)]
struct State {
    sources: HashMap<IpAddr, Source>,
    global: Option<Global>,
}

#[derive(Debug)]
pub struct FailureLimiter {
    limits: Limits,
    state: Mutex<State>,
    lockouts: AtomicU64,
}

/// What recording a failure did.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Recorded {
    /// The source is now locked out (its limit was reached, or the global alarm is on).
    pub locked_out: bool,
    /// This failure exceeded the global budget and raised the alarm: once per window.
    pub global_alarm_raised: bool,
}

impl FailureLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::new(State {
                sources: HashMap::new(),
                global: None,
            }),
            lockouts: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another request panicked mid-update: the counters are
        // still usable, and refusing all enrollment would be worse.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many times a source has been locked out since start (for metrics).
    pub fn lockouts_total(&self) -> u64 {
        self.lockouts.load(Ordering::Relaxed)
    }

    /// Whether the global failure budget is exceeded right now.
    pub fn global_alarm(&self, now: Instant) -> bool {
        self.state()
            .global
            .as_ref()
            .is_some_and(|g| g.alarm_on(now))
    }

    /// `Err(retry_after)` while `source` is locked out. While the global alarm is on, a source
    /// with a failure in its window is locked out here, before its request is read.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut state = self.state();
        let alarm = state.global.as_ref().is_some_and(|g| g.alarm_on(now));
        let Some(entry) = state.sources.get_mut(&source) else {
            return Ok(());
        };
        match entry.locked_until {
            Some(until) if until > now => return Err(until - now),
            _ => {}
        }
        if alarm && entry.failed_within(now, self.limits.window) {
            entry.lock(now, self.limits.lockout);
            self.lockouts.fetch_add(1, Ordering::Relaxed);
            return Err(self.limits.lockout);
        }
        Ok(())
    }

    /// Counts one secret-dependent failure from `source`.
    pub fn record_failure(&self, source: IpAddr, now: Instant) -> Recorded {
        let mut state = self.state();
        let global_alarm_raised = self.count_globally(&mut state, now);
        let alarm = state.global.as_ref().is_some_and(|g| g.alarm_on(now));
        let sources = &mut state.sources;
        if sources.len() >= MAX_TRACKED_SOURCES && !sources.contains_key(&source) {
            evict_stalest(sources, now, self.limits);
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
        let over = entry.failures >= self.limits.max_failures || alarm;
        let locked_out = over && entry.locked_until.is_none_or(|u| u <= now);
        if locked_out {
            entry.lock(now, self.limits.lockout);
            self.lockouts.fetch_add(1, Ordering::Relaxed);
        }
        Recorded {
            locked_out,
            global_alarm_raised,
        }
    }

    /// Adds one failure to the global count; true when it raises the alarm.
    fn count_globally(&self, state: &mut State, now: Instant) -> bool {
        let window = self.limits.window;
        let global = state.global.get_or_insert(Global {
            window_start: now,
            failures: 0,
            alarm_until: None,
        });
        // One alarm per window: failures during it lock their sources but are not counted
        // again; the count starts afresh when it ends.
        if global.alarm_on(now) {
            return false;
        }
        if global.alarm_until.take().is_some() || now.duration_since(global.window_start) > window {
            global.window_start = now;
            global.failures = 0;
        }
        global.failures = global.failures.saturating_add(1);
        if global.failures >= self.limits.global_max_failures {
            global.alarm_until = Some(now + window);
            true
        } else {
            false
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
        global_max_failures: 1000,
    };
    const COUNTED: Recorded = Recorded {
        locked_out: false,
        global_alarm_raised: false,
    };
    const LOCKED_OUT: Recorded = Recorded {
        locked_out: true,
        global_alarm_raised: false,
    };

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_guessing_source_is_locked_out_and_others_are_not() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        assert_eq!(limiter.record_failure(ip(1), t0), COUNTED);
        assert_eq!(limiter.record_failure(ip(1), t0), COUNTED);
        assert!(limiter.check(ip(1), t0).is_ok());
        assert_eq!(limiter.record_failure(ip(1), t0), LOCKED_OUT);
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
            assert_eq!(limiter.record_failure(ip(3), t), COUNTED);
            assert_eq!(limiter.record_failure(ip(3), t), COUNTED);
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
        assert!(limiter.state().sources.len() <= MAX_TRACKED_SOURCES);
    }

    #[test]
    fn a_distributed_guess_raises_one_alarm_and_locks_every_guessing_source() {
        let limiter = FailureLimiter::new(Limits {
            global_max_failures: 4,
            ..LIMITS
        });
        let t0 = Instant::now();
        // Four sources, one failure each: every one under its own limit of 3.
        for last in 1..=3 {
            assert_eq!(limiter.record_failure(ip(last), t0), COUNTED);
        }
        assert!(!limiter.global_alarm(t0));
        let fourth = limiter.record_failure(ip(4), t0);
        assert!(
            fourth.global_alarm_raised && fourth.locked_out,
            "{fourth:?}"
        );
        assert!(limiter.global_alarm(t0));
        // The sources that failed are locked out at their next request...
        for last in 1..=3 {
            assert_eq!(limiter.check(ip(last), t0), Err(LIMITS.lockout));
        }
        // ...a source without failures is still served...
        assert!(limiter.check(ip(9), t0).is_ok());
        // ...and a new guesser is locked out by its first failure, without a second alarm.
        assert_eq!(limiter.record_failure(ip(5), t0), LOCKED_OUT);
        for _ in 0..10 {
            assert!(!limiter.record_failure(ip(6), t0).global_alarm_raised);
        }
        assert_eq!(limiter.lockouts_total(), 6);
        // The alarm lasts one window; then failures count from zero again.
        let later = t0 + Duration::from_secs(61);
        assert!(!limiter.global_alarm(later));
        assert_eq!(limiter.record_failure(ip(7), later), COUNTED);
        assert!(limiter.check(ip(7), later).is_ok());
    }

    #[test]
    fn a_source_whose_failures_aged_out_is_not_locked_by_the_alarm() {
        let limiter = FailureLimiter::new(Limits {
            global_max_failures: 2,
            ..LIMITS
        });
        let t0 = Instant::now();
        limiter.record_failure(ip(1), t0);
        let t1 = t0 + Duration::from_secs(50);
        limiter.record_failure(ip(2), t1);
        assert!(limiter.global_alarm(t1));
        let t2 = t0 + Duration::from_secs(70);
        assert!(
            limiter.check(ip(1), t2).is_ok(),
            "its failure left the window"
        );
        assert!(limiter.check(ip(2), t2).is_err());
    }
}
