//! The timed phase: `concurrency` threads POST the pre-built requests, one connection each
//! (what devices do), and keep the raw replies for verification after the clock stops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scep_client::HttpReply;

use crate::prepare::Device;

/// One request's fate.
#[derive(Debug)]
pub struct Outcome {
    /// Which device sent it.
    pub index: usize,
    /// From just before connecting to the last byte of the reply.
    pub latency: Duration,
    /// The HTTP reply, or why there was none.
    pub reply: Result<HttpReply, String>,
}

/// What the timed phase produced.
#[derive(Debug)]
pub struct Driven {
    /// Every request sent, in completion order per worker.
    pub outcomes: Vec<Outcome>,
    /// Wall time from the first request to the last reply.
    pub wall: Duration,
    /// True when `max` cut the run short.
    pub timed_out: bool,
}

/// Sends every device's message to `url` with `concurrency` workers, stopping early once
/// `max` has passed (requests in flight are finished, not abandoned).
#[must_use]
pub fn drive(url: &str, devices: &[Device], concurrency: usize, max: Duration) -> Driven {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let workers = concurrency.clamp(1, devices.len().max(1));
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while start.elapsed() < max {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(device) = devices.get(index) else {
                            break;
                        };
                        let t0 = Instant::now();
                        let reply = scep_client::pki_operation_post(url, &device.message)
                            .map_err(|e| e.to_string());
                        mine.push(Outcome {
                            index,
                            latency: t0.elapsed(),
                            reply,
                        });
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    let wall = start.elapsed();
    Driven {
        timed_out: outcomes.len() < devices.len(),
        outcomes,
        wall,
    }
}
