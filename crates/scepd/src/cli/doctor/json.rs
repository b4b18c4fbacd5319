//! `scepd doctor --format json`, for monitoring: one document on stdout,
//! `{"checks":[{"id":…,"severity":"pass"|"warn"|"fail","message":…},…],"failures":N}`, in the
//! order the checks ran. Monitoring keys on `id` (see `finding`), never on `message`.

use serde_json::{Map, Value};

use super::finding::{Finding, Severity};

pub fn document(findings: &[Finding]) -> String {
    let checks = findings
        .iter()
        .map(|f| {
            let mut check = Map::new();
            check.insert("id".into(), Value::from(f.id));
            check.insert("severity".into(), Value::from(f.severity.as_str()));
            check.insert("message".into(), Value::from(f.message.as_str()));
            Value::Object(check)
        })
        .collect();
    let failures = findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count();
    let mut report = Map::new();
    report.insert("checks".into(), Value::Array(checks));
    report.insert("failures".into(), Value::from(failures));
    Value::Object(report).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::doctor::finding::finding;

    #[test]
    fn one_document_with_every_check_and_the_failure_count() {
        let findings = [
            finding("ca.path_len", Severity::Pass, "pathLenConstraint 0"),
            finding(
                "keys.file_mode",
                Severity::Fail,
                "mode 644 \"quoted\"\nnewline",
            ),
            finding("crl.freshness", Severity::Warn, "soon"),
        ];
        let text = document(&findings);
        assert!(!text.contains('\n'), "one line: {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["failures"], 1);
        let checks = value["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[1]["id"], "keys.file_mode");
        assert_eq!(checks[1]["severity"], "fail");
        assert_eq!(checks[1]["message"], "mode 644 \"quoted\"\nnewline");
        assert_eq!(checks[2]["severity"], "warn");
        assert_eq!(
            checks[0].as_object().unwrap().len(),
            3,
            "id, severity, message"
        );
    }

    #[test]
    fn no_findings_is_still_a_document() {
        let value: Value = serde_json::from_str(&document(&[])).unwrap();
        assert_eq!(value["failures"], 0);
        assert_eq!(value["checks"].as_array().unwrap().len(), 0);
    }
}
