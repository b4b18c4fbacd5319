//! The one place that reads the wall clock. Everything below the command line and the
//! handlers takes `now` as an argument (unix seconds), so that it can be tested at any time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix seconds. A clock before 1970 reads as 0 and one past `i64::MAX` seconds as
/// `i64::MAX`: neither happens on a working host, and neither may panic.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_the_code_was_written() {
        // 2025-01-01T00:00:00Z
        assert!(unix_now() > 1_735_689_600);
    }
}
