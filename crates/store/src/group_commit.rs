//! Group commit of issuances (SQLite): one writer task takes every issuance waiting and
//! commits them in one transaction, so one fsync makes a whole batch durable, the audit head
//! is read once per batch, and the pool's connections no longer queue on SQLite's write lock
//! with its sleeping busy handler.
//!
//! Batches form by themselves: while one commits (its fsync), the next requests queue, and
//! the writer takes all of them at once. Nothing waits for a timer, so a lone request is
//! committed as soon as it arrives.
//!
//! Every issuance is still all-or-nothing and is answered only after its batch committed.
//! A refused one (challenge spent, transaction id taken) writes nothing and the batch carries
//! on; any other failure rolls the batch back and commits each issuance of it alone, so one
//! bad issuance never loses the others.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::Issuance;
use crate::audit::head_in;
use crate::backend::{Backend, with_retry};
use crate::batch_insert::{Claimed, insert_claimed_in};
use crate::issuance::{claim_in, insert_issuance_in};
use crate::{Store, StoreError};

/// The most issuances in one transaction: bounds the time the write lock is held and the
/// work redone if a batch must be split.
const MAX_BATCH: usize = 64;
/// Issuances queued for the writer beyond which submitters wait (back-pressure).
const QUEUE: usize = 1024;

struct Job {
    issuance: Issuance,
    serial: String,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle [`Store`] keeps on its writer task.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer on the current tokio runtime. It stops when every handle is gone.
    pub(crate) fn spawn(store: Store) -> GroupCommit {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, queue));
        GroupCommit { jobs }
    }

    /// Queues an issuance and waits until its batch is committed (or it was refused).
    pub(crate) async fn submit(
        &self,
        store: &Store,
        issuance: Issuance,
        serial: String,
    ) -> Result<(), StoreError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            issuance,
            serial,
            answer,
        };
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(job).await {
            // The writer is gone (its runtime was shut down): nothing of this issuance was
            // written, so it can be committed here.
            return store
                .record_issuance_alone(&job.issuance, &job.serial)
                .await;
        }
        // A dropped answer means the writer stopped mid-batch: whether the batch committed
        // is unknown, so this is an error (the client's retry finds the certificate if so).
        answered.await.unwrap_or(Err(StoreError::WriterStopped))
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Job>) {
    // The writer's own handle must not keep itself alive: it holds no GroupCommit.
    let store = Store {
        writer: None,
        ..store
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = queue.recv().await {
        batch.push(job);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&store, std::mem::take(&mut batch)).await;
    }
}

/// Commits `batch` and answers every job in it.
async fn commit(store: &Store, batch: Vec<Job>) {
    let together = with_retry(store.backend, || {
        try_batch(&store.pool, store.backend, &batch)
    })
    .await;
    match together {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                // The submitter may have gone away (client disconnected); the issuance
                // stays committed, and a retry gets the same certificate.
                let _ = job.answer.send(outcome);
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, size = batch.len(), "group commit failed; committing one by one");
            for job in batch {
                let outcome = store
                    .record_issuance_alone(&job.issuance, &job.serial)
                    .await;
                let _ = job.answer.send(outcome);
            }
        }
    }
}

/// One transaction for the whole batch. `Ok`: committed; per job `Ok(())` (written) or the
/// refusal (nothing written for it). `Err`: rolled back, nothing written.
async fn try_batch(
    pool: &AnyPool,
    backend: Backend,
    batch: &[Job],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut tx = backend.begin_write(pool).await?;
    let mut head = head_in(&mut tx).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    if shares_a_transaction_id(batch) {
        // A claim must then see the rows of the issuance claimed before it in this batch
        // (a retry, or another key under the same ID): each is written before the next claim.
        for job in batch {
            // `?` drops `tx`, which rolls the batch back.
            match claim_in(&mut tx, &job.issuance).await? {
                Some(refusal) => outcomes.push(Err(refusal)),
                None => {
                    insert_issuance_in(&mut tx, &job.issuance, &job.serial, &mut head).await?;
                    outcomes.push(Ok(()));
                }
            }
        }
    } else {
        // Distinct transaction IDs: no claim depends on another issuance's rows (a challenge
        // spent by an earlier claim of the batch is already marked used), so every claim
        // runs first and the rows are then written with multi-row INSERTs.
        let mut claimed = Vec::with_capacity(batch.len());
        for job in batch {
            match claim_in(&mut tx, &job.issuance).await? {
                Some(refusal) => outcomes.push(Err(refusal)),
                None => {
                    claimed.push(Claimed {
                        issuance: &job.issuance,
                        serial: &job.serial,
                    });
                    outcomes.push(Ok(()));
                }
            }
        }
        insert_claimed_in(&mut tx, &claimed, &mut head).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

fn shares_a_transaction_id(batch: &[Job]) -> bool {
    let mut ids: Vec<&str> = batch
        .iter()
        .map(|j| j.issuance.transaction_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.windows(2).any(|w| w.first() == w.get(1))
}

/// Commits `issuances` as ONE batch (what the writer does when they all queued together),
/// so tests can exercise a batch's refusals and its split deterministically.
#[cfg(test)]
pub(crate) async fn commit_as_one_batch(
    store: &Store,
    issuances: Vec<Issuance>,
) -> Vec<Result<(), StoreError>> {
    let mut batch = Vec::new();
    let mut answers = Vec::new();
    for issuance in issuances {
        let (answer, answered) = oneshot::channel();
        let serial = crate::codec::normalize_serial(&issuance.serial_hex).unwrap_or_default();
        batch.push(Job {
            issuance,
            serial,
            answer,
        });
        answers.push(answered);
    }
    commit(store, batch).await;
    let mut out = Vec::new();
    for answered in answers {
        out.push(answered.await.unwrap_or(Err(StoreError::WriterStopped)));
    }
    out
}
