//! What a check found: the check's stable id, a severity and a sentence for the operator.
//!
//! Ids name the check, not the file or object it looked at: one check (`keys.file_mode`) may
//! report several findings. Monitoring keys on them, so an id, once released, keeps its meaning.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Pass,
    Warn,
    Fail,
}

impl Severity {
    /// The name in `--format json`: `pass`, `warn`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    /// The check's stable id, `area.check` (e.g. `ca.path_len`, `keys.file_mode`).
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
}

pub fn finding(id: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
    Finding {
        id,
        severity,
        message: message.into(),
    }
}
