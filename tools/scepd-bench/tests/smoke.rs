//! Smoke run against a real `scepd serve` (embedded default) on loopback: 4 enrollments at
//! concurrency 2, every reply verified.
//!
//! The scepd binary belongs to another crate, so `CARGO_BIN_EXE_scepd` is not available here:
//! the test uses `$SCEPD_BIN`, else `target/{debug,release}/scepd` (which `cargo test
//! --workspace` builds for scepd's own integration tests). Without a binary it says so and
//! passes, so `cargo test -p scepd-bench` alone stays reliable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scepd_bench::{ChallengeSource, Options};

fn scepd_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCEPD_BIN") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("scepd"))
        .find(|p| p.is_file())
}

/// Kills the server it owns when dropped (also when the test fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn smoke_run_against_scepd_serve() {
    let Some(bin) = scepd_binary() else {
        // `cargo test --workspace` (what CI runs) builds the binary before any test runs.
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "no scepd binary in CI: cargo test --workspace must build it"
        );
        eprintln!("SKIPPED: no scepd binary (cargo build -p scepd, or set SCEPD_BIN)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(&bin)
        .args(["serve", "--scep-listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    // Keep draining stdout after the address line: a closed pipe would break the server's
    // later writes.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("scepd listening: SCEP at ") {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("scepd prints where it listens");
    let opts = Options {
        url,
        count: 4,
        concurrency: 2,
        max: Duration::from_secs(60),
        challenges: ChallengeSource::Command(format!(
            "'{}' challenge issue --data-dir '{}'",
            bin.display(),
            data.display()
        )),
        server_pid: Some(server.0.id()),
        key_cache: None,
        prepare_threads: 2,
        label: "smoke".into(),
        verbose: false,
    };
    let report = scepd_bench::run(&opts).unwrap();
    assert_eq!(report.ok, 4, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert_eq!(report.duplicate_serials, 0);
    assert!(report.server_peak_rss_kib.unwrap() > 0);
    assert!(report.p99 >= report.p50);
}
