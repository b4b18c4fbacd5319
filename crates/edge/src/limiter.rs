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
//!
//! Attempts still being checked count against the limit as if they had failed: a burst of
//! concurrent guesses must not all be evaluated before the first failure is recorded. A
//! source is admitted ([`FailureLimiter::admit`]) only while its failures plus its attempts
//! in flight are below the limit; further attempts wait for one in flight to settle — a
//! success frees its place, a failure uses it up — and are refused if none settles in time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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
    /// Admitted attempts not yet settled as a success or a failure.
    in_flight: u32,
}

impl Source {
    fn new(now: Instant) -> Self {
        Source {
            window_start: now,
            failures: 0,
            locked_until: None,
            in_flight: 0,
        }
    }

    /// Starts a new window once the current one is over.
    fn roll_window(&mut self, now: Instant, window: Duration) {
        if now.duration_since(self.window_start) > window {
            self.window_start = now;
            self.failures = 0;
        }
    }

    /// Nothing worth remembering: no failure, no lockout, nothing in flight.
    fn is_idle(&self, now: Instant) -> bool {
        self.failures == 0 && self.in_flight == 0 && self.locked_until.is_none_or(|u| u <= now)
    }

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
    /// Woken whenever an attempt settles, so waiting attempts look again.
    settled: Notify,
}

/// Why an attempt was not admitted.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Refusal {
    /// The source is locked out for this long.
    LockedOut(Duration),
    /// The source's failures and attempts in flight reached the limit, and none settled
    /// within the wait: retry shortly.
    Busy,
}

impl Refusal {
    /// The Retry-After of the answer, in whole seconds (at least 1).
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::LockedOut(d) => d.as_secs().max(1),
            Refusal::Busy => 1,
        }
    }
}

/// What trying to admit an attempt found.
enum Admission {
    Admitted,
    Refused(Refusal),
    Full,
}

/// An admitted attempt: it holds one of its source's places until it is settled. Dropping
/// it unsettled counts as a success (the check ended without a secret-dependent failure).
#[derive(Debug)]
#[must_use = "an attempt holds its source's place until it is settled or dropped"]
pub struct Attempt<'a> {
    limiter: &'a FailureLimiter,
    source: IpAddr,
    settled: bool,
}

impl Attempt<'_> {
    /// Settles the attempt as a secret-dependent failure, in the same step that frees its
    /// place, so no other attempt can be admitted in between.
    pub fn failed(mut self, now: Instant) -> Recorded {
        self.settled = true;
        let recorded = self.limiter.settle(self.source, now, true);
        recorded.unwrap_or(Recorded {
            locked_out: false,
            global_alarm_raised: false,
        })
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(self.source, Instant::now(), false);
        }
    }
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
            settled: Notify::new(),
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

    /// Admits an attempt from `source` before its expensive check runs. While the source's
    /// failures plus attempts in flight are at the limit it waits, up to `wait`, for one of
    /// them to settle. While the global alarm is on, a source with a failure in its window is
    /// locked out here.
    pub async fn admit(&self, source: IpAddr, wait: Duration) -> Result<Attempt<'_>, Refusal> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a settlement between the look and the wait is
            // not missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match self.try_admit(source, Instant::now()) {
                Err(Refusal::Busy) => {}
                admitted_or_refused => return admitted_or_refused,
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return Err(Refusal::Busy);
            }
        }
    }

    /// Admits an attempt from `source` if it has a place free right now.
    pub fn try_admit(&self, source: IpAddr, now: Instant) -> Result<Attempt<'_>, Refusal> {
        match self.admission(source, now) {
            Admission::Admitted => Ok(Attempt {
                limiter: self,
                source,
                settled: false,
            }),
            Admission::Refused(refusal) => Err(refusal),
            Admission::Full => Err(Refusal::Busy),
        }
    }

    fn admission(&self, source: IpAddr, now: Instant) -> Admission {
        let mut state = self.state();
        let alarm = state.global.as_ref().is_some_and(|g| g.alarm_on(now));
        let limits = self.limits;
        let entry = tracked(&mut state.sources, source, now, limits);
        match entry.locked_until {
            Some(until) if until > now => {
                return Admission::Refused(Refusal::LockedOut(until - now));
            }
            _ => {}
        }
        if alarm && entry.failed_within(now, limits.window) {
            entry.lock(now, limits.lockout);
            self.lockouts.fetch_add(1, Ordering::Relaxed);
            return Admission::Refused(Refusal::LockedOut(limits.lockout));
        }
        entry.roll_window(now, limits.window);
        if entry.failures.saturating_add(entry.in_flight) >= limits.max_failures {
            return Admission::Full;
        }
        entry.in_flight += 1;
        Admission::Admitted
    }

    /// Frees an attempt's place, counting it as a failure when `failed`; `None` when the
    /// source was no longer tracked (it cannot be while an attempt is in flight).
    fn settle(&self, source: IpAddr, now: Instant, failed: bool) -> Option<Recorded> {
        let recorded = {
            let mut state = self.state();
            let global_alarm_raised = failed && self.count_globally(&mut state, now);
            let alarm = state.global.as_ref().is_some_and(|g| g.alarm_on(now));
            let entry = state.sources.get_mut(&source)?;
            entry.in_flight = entry.in_flight.saturating_sub(1);
            let recorded = if failed {
                Some(self.count_failure(entry, now, alarm, global_alarm_raised))
            } else {
                None
            };
            if entry.is_idle(now) {
                state.sources.remove(&source);
            }
            recorded
        };
        self.settled.notify_waiters();
        recorded
    }

    /// Counts one secret-dependent failure from `source` outside an admitted attempt.
    #[cfg(test)]
    pub fn record_failure(&self, source: IpAddr, now: Instant) -> Recorded {
        let mut state = self.state();
        let global_alarm_raised = self.count_globally(&mut state, now);
        let alarm = state.global.as_ref().is_some_and(|g| g.alarm_on(now));
        let entry = tracked(&mut state.sources, source, now, self.limits);
        self.count_failure(entry, now, alarm, global_alarm_raised)
    }

    fn count_failure(
        &self,
        entry: &mut Source,
        now: Instant,
        alarm: bool,
        global_alarm_raised: bool,
    ) -> Recorded {
        entry.roll_window(now, self.limits.window);
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

/// The entry of `source`, created (after making room, if the table is full) when it is new.
fn tracked(
    sources: &mut HashMap<IpAddr, Source>,
    source: IpAddr,
    now: Instant,
    limits: Limits,
) -> &mut Source {
    if sources.len() >= MAX_TRACKED_SOURCES && !sources.contains_key(&source) {
        evict_stalest(sources, now, limits);
    }
    sources.entry(source).or_insert_with(|| Source::new(now))
}

fn evict_stalest(sources: &mut HashMap<IpAddr, Source>, now: Instant, limits: Limits) {
    // An entry with attempts in flight is never dropped: its count would be lost.
    sources.retain(|_, s| {
        s.in_flight > 0
            || now.duration_since(s.window_start) <= limits.window
            || s.locked_until.is_some_and(|u| u > now)
    });
    if sources.len() >= MAX_TRACKED_SOURCES
        && let Some(oldest) = sources
            .iter()
            .filter(|(_, s)| s.in_flight == 0)
            .min_by_key(|(_, s)| s.window_start)
            .map(|(ip, _)| *ip)
    {
        sources.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
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
        assert!(limiter.try_admit(ip(1), t0).is_ok());
        assert_eq!(limiter.record_failure(ip(1), t0), LOCKED_OUT);
        assert_eq!(
            limiter.try_admit(ip(1), t0).err(),
            Some(Refusal::LockedOut(Duration::from_secs(300)))
        );
        assert!(
            limiter.try_admit(ip(2), t0).is_ok(),
            "another source is not affected"
        );
        // The lockout ends.
        assert!(
            limiter
                .try_admit(ip(1), t0 + Duration::from_secs(301))
                .is_ok()
        );
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
        assert!(
            limiter
                .try_admit(ip(3), t0 + Duration::from_secs(700))
                .is_ok()
        );
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
            assert_eq!(
                limiter.try_admit(ip(last), t0).err(),
                Some(Refusal::LockedOut(LIMITS.lockout))
            );
        }
        // ...a source without failures is still served...
        assert!(limiter.try_admit(ip(9), t0).is_ok());
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
        assert!(limiter.try_admit(ip(7), later).is_ok());
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
            limiter.try_admit(ip(1), t2).is_ok(),
            "its failure left the window"
        );
        assert!(limiter.try_admit(ip(2), t2).is_err());
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        let first = limiter.try_admit(ip(1), t0).unwrap();
        let second = limiter.try_admit(ip(1), t0).unwrap();
        let third = limiter.try_admit(ip(1), t0).unwrap();
        assert_eq!(
            limiter.try_admit(ip(1), t0).err(),
            Some(Refusal::Busy),
            "three checks in flight fill a limit of three"
        );
        assert!(
            limiter.try_admit(ip(2), t0).is_ok(),
            "other sources are not affected"
        );
        // A success frees its place; a failure uses it up.
        drop(first);
        let fourth = limiter.try_admit(ip(1), t0).unwrap();
        assert_eq!(second.failed(t0), COUNTED);
        assert_eq!(limiter.try_admit(ip(1), t0).err(), Some(Refusal::Busy));
        assert_eq!(third.failed(t0), COUNTED);
        assert_eq!(fourth.failed(t0), LOCKED_OUT);
        assert_eq!(
            limiter.try_admit(ip(1), t0).err(),
            Some(Refusal::LockedOut(LIMITS.lockout))
        );
    }

    #[test]
    fn a_source_with_nothing_to_remember_is_forgotten() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        drop(limiter.try_admit(ip(1), t0).unwrap());
        assert!(limiter.state().sources.is_empty());
        let attempt = limiter.try_admit(ip(1), t0).unwrap();
        attempt.failed(t0);
        assert_eq!(limiter.state().sources.len(), 1);
    }

    #[test]
    fn eviction_keeps_sources_with_attempts_in_flight() {
        let limiter = FailureLimiter::new(LIMITS);
        let t0 = Instant::now();
        let held = limiter.try_admit(ip(1), t0).unwrap();
        let later = t0 + Duration::from_secs(3600);
        for i in 0..(MAX_TRACKED_SOURCES as u32 + 10) {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            limiter.record_failure(addr, later);
        }
        assert_eq!(
            limiter.state().sources.get(&ip(1)).map(|s| s.in_flight),
            Some(1)
        );
        drop(held);
    }

    /// A burst of concurrent guesses from one source: only as many are evaluated as the limit
    /// allows; the others wait, then find the source locked out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_concurrent_burst_is_evaluated_only_up_to_the_limit() {
        let limiter = std::sync::Arc::new(FailureLimiter::new(LIMITS));
        let evaluated = std::sync::Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let limiter = std::sync::Arc::clone(&limiter);
            let evaluated = std::sync::Arc::clone(&evaluated);
            tasks.push(tokio::spawn(async move {
                let attempt = limiter.admit(ip(7), Duration::from_secs(10)).await?;
                evaluated.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                attempt.failed(Instant::now());
                Ok::<(), Refusal>(())
            }));
        }
        let mut locked_out = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => {}
                Err(Refusal::LockedOut(_)) => locked_out += 1,
                Err(Refusal::Busy) => panic!("no attempt should time out here"),
            }
        }
        assert_eq!(evaluated.load(Ordering::SeqCst), 3);
        assert_eq!(locked_out, 37);
    }

    #[tokio::test]
    async fn a_waiting_attempt_is_admitted_when_one_in_flight_succeeds_and_refused_when_none_does()
    {
        let limiter = FailureLimiter::new(Limits {
            max_failures: 1,
            ..LIMITS
        });
        let held = limiter.try_admit(ip(1), Instant::now()).unwrap();
        assert_eq!(
            limiter.admit(ip(1), Duration::from_millis(50)).await.err(),
            Some(Refusal::Busy)
        );
        let (admitted, ()) = tokio::join!(limiter.admit(ip(1), Duration::from_secs(10)), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(held);
        });
        assert!(admitted.is_ok());
    }
}
