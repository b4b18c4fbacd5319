//! Password verification for strangers: every login runs argon2id (19 MiB, ~20 ms) before
//! anyone is authenticated, so a flood of logins must not be able to take memory or CPU
//! without bound. At most `max_concurrent_password_checks` verifications run at once, in
//! working memory that is reused; a login that finds no free slot within a short wait is
//! refused with 503 and Retry-After.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Longest a login waits for a verification slot: a burst of a few legitimate logins rides
/// it out, a flood is turned away quickly.
const SLOT_WAIT: Duration = Duration::from_secs(5);

/// Every verification slot stayed busy for the whole wait.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many logins are being checked right now; retry shortly")]
pub struct Busy;

#[derive(Debug)]
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    memory: Arc<accounts::VerifierMemory>,
    wait: Duration,
}

impl PasswordGate {
    pub fn new(concurrent: usize) -> Self {
        Self::with_wait(concurrent, SLOT_WAIT)
    }

    fn with_wait(concurrent: usize, wait: Duration) -> Self {
        PasswordGate {
            slots: Arc::new(Semaphore::new(concurrent)),
            memory: Arc::new(accounts::VerifierMemory::new()),
            wait,
        }
    }

    /// Whether `password` matches the PHC string `phc`, checked on a blocking thread once a
    /// slot is free.
    pub async fn verify(&self, password: Zeroizing<String>, phc: String) -> Result<bool, Busy> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let memory = Arc::clone(&self.memory);
        // The slot travels with the work: a request abandoned mid-check (the client went
        // away, the request timed out) keeps its slot until the verification really ends.
        let verified = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            memory.verify(&password, &phc)
        })
        .await;
        Ok(verified.unwrap_or(false))
    }

    /// Working memories allocated so far: never more than the slots.
    #[cfg(test)]
    fn memories_allocated(&self) -> usize {
        self.memory.allocated()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_runs_at_most_the_slots_at_once_in_reused_memory() {
        let phc = accounts::hash_password("the-right-password").unwrap();
        let gate = Arc::new(PasswordGate::with_wait(2, Duration::from_secs(60)));
        let mut checks = Vec::new();
        for i in 0..12 {
            let gate = Arc::clone(&gate);
            let phc = phc.clone();
            checks.push(tokio::spawn(async move {
                let guess = if i == 5 {
                    "the-right-password"
                } else {
                    "a-wrong-password"
                };
                gate.verify(Zeroizing::new(guess.into()), phc).await
            }));
        }
        let mut matched = 0;
        for check in checks {
            if check.await.unwrap().unwrap() {
                matched += 1;
            }
        }
        assert_eq!(matched, 1);
        assert!(
            (1..=2).contains(&gate.memories_allocated()),
            "{} memories for 2 slots",
            gate.memories_allocated()
        );
    }

    #[tokio::test]
    async fn a_login_finding_every_slot_busy_is_refused_after_the_wait() {
        let gate = PasswordGate::with_wait(1, Duration::from_millis(50));
        let _held = Arc::clone(&gate.slots).acquire_owned().await.unwrap();
        let phc = accounts::hash_password("whatever-password").unwrap();
        assert_eq!(
            gate.verify(Zeroizing::new("whatever-password".into()), phc)
                .await,
            Err(Busy)
        );
    }
}
