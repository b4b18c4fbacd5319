//! Server cost from `/proc/PID`: CPU seconds (utime + stime of `stat`, fields 14 and 15,
//! proc(5)) and peak resident set (`VmHWM` of `status`).

use crate::error::BenchError;

/// A snapshot of a process's cost so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcSample {
    /// User + system CPU seconds since the process started.
    pub cpu_seconds: f64,
    /// Peak resident set size, KiB.
    pub vm_hwm_kib: u64,
}

/// Reads `/proc/{pid}`; `ticks_per_second` is `getconf CLK_TCK`.
pub fn sample(pid: u32, ticks_per_second: f64) -> Result<ProcSample, BenchError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(ProcSample {
        cpu_seconds: cpu_ticks(&stat).ok_or(BenchError::Proc { pid, what: "stat" })? as f64
            / ticks_per_second,
        vm_hwm_kib: vm_hwm_kib(&status).ok_or(BenchError::Proc {
            pid,
            what: "status VmHWM",
        })?,
    })
}

/// utime + stime in clock ticks. The command name (field 2) may contain spaces and
/// parentheses: fields are counted after its last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_comm.split_whitespace();
    // After the name come field 3 (state) .. ; utime is field 14, i.e. the 12th here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `getconf CLK_TCK`, 100 when it cannot be asked (the Linux default).
#[must_use]
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 37 0 0 20 0 9 0";
        assert_eq!(cpu_ticks(stat), Some(287));
    }

    #[test]
    fn own_process_has_a_peak_rss() {
        let s = sample(std::process::id(), clock_ticks_per_second()).unwrap();
        assert!(s.vm_hwm_kib > 0);
        assert!(s.cpu_seconds >= 0.0);
        assert_eq!(vm_hwm_kib("Name:\tx\nVmHWM:\t   12345 kB\n"), Some(12345));
    }
}
