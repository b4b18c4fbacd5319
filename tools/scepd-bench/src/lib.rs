//! `scepd-bench`: a SCEP load generator that compares servers by what they spend per
//! enrollment.
//!
//! Outside the clock: GetCACert once, RSA-2048 client keys (cached on disk so every server
//! sees the same keys), signer certificates, challenges, CSRs and complete PKCSReq messages
//! (AES-256-CBC, SHA-256). On the clock: `concurrency` threads POST them. After the clock:
//! every reply is verified ([`verify::verify_reply`]) and serials are checked for duplicates.
//! With a server PID, the server's CPU seconds over the timed phase and its peak RSS come
//! from `/proc`, so the client's own cost does not blur the comparison.
#![forbid(unsafe_code)]

pub mod drive;
mod error;
pub mod keypool;
pub mod prepare;
pub mod procstat;
pub mod stats;
pub mod verify;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use error::BenchError;
pub use prepare::ChallengeSource;
pub use stats::Report;

/// One benchmark run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The SCEP URL, e.g. `http://127.0.0.1:8080/scep`.
    pub url: String,
    /// Enrollments to send.
    pub count: usize,
    /// Concurrent workers.
    pub concurrency: usize,
    /// Stop sending after this long.
    pub max: Duration,
    /// Challenge passwords.
    pub challenges: ChallengeSource,
    /// Read CPU and RSS of this process.
    pub server_pid: Option<u32>,
    /// Key pool file (created and extended as needed).
    pub key_cache: Option<PathBuf>,
    /// Threads for key generation, request building and verification.
    pub prepare_threads: usize,
    /// Name printed with the report.
    pub label: String,
    /// Progress on stderr.
    pub verbose: bool,
}

/// Runs one benchmark: prepare, drive, verify, report.
pub fn run(opts: &Options) -> Result<Report, BenchError> {
    if opts.count == 0 || opts.concurrency == 0 {
        return Err(BenchError::Option(
            "count and concurrency must be > 0".into(),
        ));
    }
    let say = |msg: String| {
        if opts.verbose {
            eprintln!("scepd-bench: {msg}");
        }
    };
    let bundle = scep_client::get_ca_cert(&opts.url)?;
    say(format!(
        "GetCACert: {} certificate(s), RA signing certificate {}",
        bundle.certificates.len(),
        if bundle.ra_signing.is_some() {
            "present"
        } else {
            "absent (CA signs)"
        }
    ));
    let t = Instant::now();
    let keys = keypool::rsa2048_keys(opts.count, opts.key_cache.as_deref(), opts.prepare_threads)?;
    say(format!(
        "{} RSA-2048 keys in {:.1} s",
        keys.len(),
        t.elapsed().as_secs_f64()
    ));
    let t = Instant::now();
    let tag = run_tag()?;
    let devices = prepare::devices(&keys, &bundle, &opts.challenges, &tag, opts.prepare_threads)?;
    say(format!(
        "{} requests (challenge, CSR, PKCSReq) prepared in {:.1} s",
        devices.len(),
        t.elapsed().as_secs_f64()
    ));

    let ticks = procstat::clock_ticks_per_second();
    let server_before = opts
        .server_pid
        .map(|pid| procstat::sample(pid, ticks))
        .transpose()?;
    let client_before = procstat::sample(std::process::id(), ticks).ok();
    let driven = drive::drive(&opts.url, &devices, opts.concurrency, opts.max);
    let client_after = procstat::sample(std::process::id(), ticks).ok();
    let server_after = opts
        .server_pid
        .map(|pid| procstat::sample(pid, ticks))
        .transpose()?;
    say(format!(
        "{} requests in {:.2} s{}; verifying",
        driven.outcomes.len(),
        driven.wall.as_secs_f64(),
        if driven.timed_out {
            " (cut by --max-seconds)"
        } else {
            ""
        }
    ));

    let verdicts = verify_all(&driven.outcomes, &devices, &bundle, opts.prepare_threads);
    let mut report = Report {
        label: opts.label.clone(),
        count: opts.count,
        concurrency: opts.concurrency,
        sent: driven.outcomes.len(),
        wall: driven.wall,
        ..Report::default()
    };
    let mut serials = HashSet::new();
    for verdict in verdicts {
        match verdict {
            Ok(serial) => {
                report.ok += 1;
                if !serials.insert(serial) {
                    report.duplicate_serials += 1;
                }
            }
            Err(e) => {
                report.errors += 1;
                if report.error_samples.len() < 5 && !report.error_samples.contains(&e) {
                    report.error_samples.push(e);
                }
            }
        }
    }
    let mut latencies: Vec<Duration> = driven.outcomes.iter().map(|o| o.latency).collect();
    latencies.sort_unstable();
    report.p50 = stats::percentile(&latencies, 50.0);
    report.p95 = stats::percentile(&latencies, 95.0);
    report.p99 = stats::percentile(&latencies, 99.0);
    report.max = latencies.last().copied().unwrap_or_default();
    if let (Some(before), Some(after)) = (server_before, server_after) {
        report.server_cpu_seconds = Some(after.cpu_seconds - before.cpu_seconds);
        report.server_peak_rss_kib = Some(after.vm_hwm_kib);
    }
    if let (Some(before), Some(after)) = (client_before, client_after) {
        report.client_cpu_seconds = Some(after.cpu_seconds - before.cpu_seconds);
    }
    Ok(report)
}

fn verify_all(
    outcomes: &[drive::Outcome],
    devices: &[prepare::Device],
    bundle: &scep_client::CaBundle,
    threads: usize,
) -> Vec<Result<Vec<u8>, String>> {
    let per = outcomes.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = outcomes
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|o| {
                            let reply = o.reply.as_ref().map_err(|e| format!("transport: {e}"))?;
                            let device = devices
                                .get(o.index)
                                .ok_or_else(|| "no such device".to_owned())?;
                            verify::verify_reply(device, reply, bundle)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("verification thread panicked".to_owned())])
            })
            .collect()
    })
}

/// 8 random hex digits, so subjects differ between runs.
fn run_tag() -> Result<String, BenchError> {
    let bytes = keys::random::bytes(4).map_err(scep_client::ClientError::from)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
