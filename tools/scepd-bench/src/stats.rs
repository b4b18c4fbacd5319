//! Latency percentiles and the printed report.

use std::fmt;
use std::time::Duration;

/// Nearest-rank percentile (`p` in 0..=100) of sorted samples; zero when there are none.
#[must_use]
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or_default()
}

/// What one run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Free-form name of the run (server and settings).
    pub label: String,
    /// Enrollments asked for.
    pub count: usize,
    /// Concurrent workers.
    pub concurrency: usize,
    /// Requests actually sent (fewer when --max-seconds cut the run).
    pub sent: usize,
    /// Verified SUCCESS replies with a certificate for our key.
    pub ok: usize,
    /// Everything else (transport errors, HTTP errors, FAILURE, bad replies).
    pub errors: usize,
    /// Certificates whose serial number was already seen in this run.
    pub duplicate_serials: usize,
    /// Wall time of the timed phase.
    pub wall: Duration,
    /// Latency percentiles over every request sent.
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Server CPU seconds spent during the timed phase, when --server-pid was given.
    pub server_cpu_seconds: Option<f64>,
    /// Server peak RSS (VmHWM) after the run, KiB.
    pub server_peak_rss_kib: Option<u64>,
    /// The load generator's own CPU seconds in the timed phase.
    pub client_cpu_seconds: Option<f64>,
    /// The first few distinct error messages.
    pub error_samples: Vec<String>,
}

impl Report {
    /// Verified enrollments per second of wall time.
    #[must_use]
    pub fn rate(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// Server CPU milliseconds per verified enrollment.
    #[must_use]
    pub fn server_cpu_ms_per_enrollment(&self) -> Option<f64> {
        let cpu = self.server_cpu_seconds?;
        (self.ok > 0).then(|| cpu * 1000.0 / self.ok as f64)
    }

    /// The header of [`Report::markdown_row`].
    #[must_use]
    pub fn markdown_header() -> &'static str {
        "| run | C | ok/sent | errors | dup serials | enroll/s | p50 ms | p95 ms | p99 ms | server CPU ms/enroll | server peak RSS MiB | client CPU s |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    }

    /// One table row for BENCHMARKS.md.
    #[must_use]
    pub fn markdown_row(&self) -> String {
        let opt = |v: Option<f64>, digits: usize| {
            v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
        };
        format!(
            "| {} | {} | {}/{} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
            self.label,
            self.concurrency,
            self.ok,
            self.sent,
            self.errors,
            self.duplicate_serials,
            self.rate(),
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            opt(self.server_cpu_ms_per_enrollment(), 2),
            opt(self.server_peak_rss_kib.map(|k| k as f64 / 1024.0), 1),
            opt(self.client_cpu_seconds, 2),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "run:               {}", self.label)?;
        writeln!(
            f,
            "enrollments:       {} ok of {} sent ({} asked), concurrency {}",
            self.ok, self.sent, self.count, self.concurrency
        )?;
        writeln!(f, "errors:            {}", self.errors)?;
        for e in &self.error_samples {
            writeln!(f, "  e.g.             {e}")?;
        }
        writeln!(f, "duplicate serials: {}", self.duplicate_serials)?;
        writeln!(
            f,
            "throughput:        {:.1} enrollments/s over {:.2} s",
            self.rate(),
            self.wall.as_secs_f64()
        )?;
        writeln!(
            f,
            "latency ms:        p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max)
        )?;
        if let Some(cpu) = self.server_cpu_seconds {
            writeln!(
                f,
                "server CPU:        {cpu:.2} s, {} ms per enrollment",
                self.server_cpu_ms_per_enrollment()
                    .map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
            )?;
        }
        if let Some(kib) = self.server_peak_rss_kib {
            writeln!(f, "server peak RSS:   {:.1} MiB", kib as f64 / 1024.0)?;
        }
        if let Some(cpu) = self.client_cpu_seconds {
            writeln!(f, "client CPU:        {cpu:.2} s (timed phase)")?;
        }
        writeln!(f, "{}", Self::markdown_header())?;
        write!(f, "{}", self.markdown_row())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn rates_per_enrollment() {
        let r = Report {
            ok: 500,
            wall: Duration::from_secs(2),
            server_cpu_seconds: Some(1.0),
            ..Report::default()
        };
        assert!((r.rate() - 250.0).abs() < 1e-9);
        assert_eq!(r.server_cpu_ms_per_enrollment(), Some(2.0));
        assert!(r.markdown_row().contains("| 250 |"));
    }
}
