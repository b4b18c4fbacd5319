//! `scepd-bench`: drive concurrent SCEP enrollments against a URL and report throughput,
//! latency and the server's CPU per enrollment. See BENCHMARKS.md for the commands used.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use scepd_bench::{ChallengeSource, Options, Report};

/// SCEP load generator (PKCSReq, RSA-2048 client keys, AES-256-CBC, SHA-256).
#[derive(Debug, Parser)]
#[command(name = "scepd-bench", version)]
struct Cli {
    /// SCEP URL, e.g. http://127.0.0.1:8080/scep (micromdm: http://127.0.0.1:8080/scep).
    #[arg(long)]
    url: String,
    /// Enrollments to send.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Stop sending after this many seconds of the timed phase.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// A static challenge password for every device (micromdm scepserver -challenge).
    #[arg(long, conflicts_with = "challenge_command")]
    challenge: Option<String>,
    /// Shell command printing one challenge, run once per device before the clock starts,
    /// e.g. "scepd challenge issue --data-dir DIR".
    #[arg(long)]
    challenge_command: Option<String>,
    /// The server's PID: its CPU seconds (utime+stime) over the timed phase and peak RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// File of cached RSA-2048 client keys (created or extended as needed).
    #[arg(long)]
    key_cache: Option<PathBuf>,
    /// Threads for preparation and verification (default: available parallelism).
    #[arg(long)]
    threads: Option<usize>,
    /// Name of the run in the report.
    #[arg(long, default_value = "run")]
    label: String,
    /// A tiny run for CI: 4 enrollments, concurrency 2, 60 s at most.
    #[arg(long)]
    smoke: bool,
    /// Only print the markdown table row.
    #[arg(long)]
    row: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let (count, concurrency, max_seconds) = if cli.smoke {
        (4, 2, 60)
    } else {
        (cli.count, cli.concurrency, cli.max_seconds)
    };
    let challenges = match (cli.challenge, cli.challenge_command) {
        (Some(s), _) => ChallengeSource::Static(s),
        (None, Some(cmd)) => ChallengeSource::Command(cmd),
        (None, None) => ChallengeSource::None,
    };
    let opts = Options {
        url: cli.url,
        count,
        concurrency,
        max: Duration::from_secs(max_seconds),
        challenges,
        server_pid: cli.server_pid,
        key_cache: cli.key_cache,
        prepare_threads: threads,
        label: cli.label,
        verbose: !cli.row,
    };
    match scepd_bench::run(&opts) {
        Ok(report) => {
            if cli.row {
                println!("{}", report.markdown_row());
            } else {
                println!("{report}");
            }
            if failed(&report) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("scepd-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// A run with any error or duplicate serial fails, so the smoke run can gate CI.
fn failed(report: &Report) -> bool {
    report.errors > 0 || report.duplicate_serials > 0 || report.ok == 0
}
