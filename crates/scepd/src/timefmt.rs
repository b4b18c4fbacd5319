//! How times are written for people: the command line's listings, the audit export and the
//! admin page all say the same instant the same way.

use std::time::Duration;

/// Unix seconds as an RFC 3339 UTC time (`2025-01-01T00:00:00Z`); a time before 1970 or past
/// 9999, which no certificate or record of ours holds, as the plain number.
pub fn rfc3339(unix: i64) -> String {
    u64::try_from(unix)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(Duration::from_secs(s)).ok())
        .map_or_else(|| unix.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_and_the_unwritable_stay_numbers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "-1");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
