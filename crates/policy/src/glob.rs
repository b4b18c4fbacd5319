//! Value patterns: a glob small enough to read at a glance and to match in linear time.
//!
//! A pattern is split at `.` into labels; a value matches when it has the same number of labels
//! and each label matches. A label is literal or holds one `*`, which stands for one or more
//! characters other than `.`: `dev-*.corp.example` matches `dev-7.corp.example` but neither
//! `dev-.corp.example` nor `dev-7.lab.corp.example`. No regex engine, so no catastrophic
//! backtracking and no surprise from an operator's regex dialect. Comparison is on normalized
//! values (white space folded, lower case), as bindings compare.

use crate::names::normalize_value;

/// Checks a pattern when a template is loaded; the error says what is wrong.
pub(crate) fn check_pattern(pattern: &str) -> Result<String, &'static str> {
    let normalized = normalize_value(pattern);
    if normalized.is_empty() {
        return Err("empty");
    }
    if normalized.chars().any(char::is_control) {
        return Err("control character");
    }
    if normalized
        .split('.')
        .any(|label| label.matches('*').count() > 1)
    {
        return Err("more than one '*' in a label");
    }
    if normalized == "*" {
        // Would accept any single-label value: say so with an explicit absence of pattern.
        return Err("a lone '*' matches everything: leave the attribute without a pattern");
    }
    Ok(normalized)
}

/// Whether `value` matches the (already checked and normalized) `pattern`.
pub(crate) fn matches(pattern: &str, value: &str) -> bool {
    let value = normalize_value(value);
    let mut pattern_labels = pattern.split('.');
    let mut value_labels = value.split('.');
    loop {
        match (pattern_labels.next(), value_labels.next()) {
            (None, None) => return true,
            (Some(p), Some(v)) if label_matches(p, v) => {}
            _ => return false,
        }
    }
}

fn label_matches(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((prefix, suffix)) => {
            value.len() > prefix.len() + suffix.len()
                && value.starts_with(prefix)
                && value.ends_with(suffix)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        matches(&check_pattern(pattern).unwrap(), value)
    }

    #[test]
    fn star_stays_inside_one_label() {
        assert!(m("dev-*.corp.example", "dev-7.corp.example"));
        assert!(m("dev-*.corp.example", "DEV-router.Corp.Example"));
        assert!(!m("dev-*.corp.example", "dev-.corp.example"));
        assert!(!m("dev-*.corp.example", "dev-7.lab.corp.example"));
        assert!(!m("dev-*.corp.example", "dev-7.corp.example.evil"));
        assert!(!m("dev-*.corp.example", "x.dev-7.corp.example"));
        assert!(m("*-router", "edge-router"));
        assert!(!m("*-router", "edge.x-router"));
        assert!(m("a*z", "abz"));
        assert!(!m("a*z", "az"));
        // `*` needs at least one character even when prefix and suffix overlap.
        assert!(!m("ab*ba", "aba"));
    }

    #[test]
    fn literals_compare_normalized() {
        assert!(m("Org  Inc", " org inc"));
        assert!(!m("Org Inc", "Org Inc2"));
        assert!(m("Org, Inc.", "org, inc."));
    }

    #[test]
    fn bad_patterns_refused() {
        assert_eq!(check_pattern(" "), Err("empty"));
        assert_eq!(check_pattern("a**.b"), Err("more than one '*' in a label"));
        assert_eq!(check_pattern("*a*"), Err("more than one '*' in a label"));
        assert!(check_pattern("*").is_err());
        assert_eq!(check_pattern("a\u{7}"), Err("control character"));
        assert_eq!(check_pattern("*.example").as_deref(), Ok("*.example"));
    }
}
