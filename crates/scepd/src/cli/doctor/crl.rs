//! `crl.freshness` and `crl.coverage` on a host that holds the CA key: the CRL recorded in the
//! database (what `/crl` and GetCRL serve) against the clock, and against the revocations
//! committed since. A running service renews the CRL [`CRL_RENEW_MARGIN_SECS`] before its
//! nextUpdate and within a minute of a revocation, so a CRL inside that margin, past it, or
//! behind the revocations means the publisher is not running (or failing).
//!
//! [`CRL_RENEW_MARGIN_SECS`]: crate::services::revocation::CRL_RENEW_MARGIN_SECS

use store::CrlState;

use super::finding::{Finding, Severity, finding};
use crate::services::revocation::CRL_RENEW_MARGIN_SECS;
use crate::timefmt;

pub async fn findings(store: &store::Store, now: i64) -> Vec<Finding> {
    match store.crl_state().await {
        Ok(state) => judge(&state, now),
        Err(e) => vec![finding(
            "crl.freshness",
            Severity::Fail,
            format!("CRL state: {e}"),
        )],
    }
}

fn judge(state: &CrlState, now: i64) -> Vec<Finding> {
    let Some(crl) = &state.published else {
        return vec![if state.revocation_count == 0 {
            finding(
                "crl.freshness",
                Severity::Pass,
                "no CRL published yet and nothing revoked: the service publishes one when it starts",
            )
        } else {
            finding(
                "crl.freshness",
                Severity::Warn,
                format!(
                    "{} revocation(s) but no CRL published yet: start the service, which publishes one at once",
                    state.revocation_count
                ),
            )
        }];
    };
    let next_update = timefmt::rfc3339(crl.next_update);
    let freshness = if now >= crl.next_update {
        finding(
            "crl.freshness",
            Severity::Fail,
            format!(
                "CRL #{} expired at its nextUpdate {next_update}: relying parties that check revocation refuse every certificate of this CA; is the service running?",
                crl.number
            ),
        )
    } else if now >= crl.next_update.saturating_sub(CRL_RENEW_MARGIN_SECS) {
        finding(
            "crl.freshness",
            Severity::Warn,
            format!(
                "CRL #{} reaches its nextUpdate {next_update} in {} hour(s) and was not renewed (a running service renews it {} days ahead): is the service running?",
                crl.number,
                (crl.next_update - now) / 3600,
                CRL_RENEW_MARGIN_SECS / 86_400
            ),
        )
    } else {
        finding(
            "crl.freshness",
            Severity::Pass,
            format!(
                "CRL #{} issued {}, next update {next_update}",
                crl.number,
                timefmt::rfc3339(crl.this_update)
            ),
        )
    };
    let coverage = if crl.covered_revocations < state.revocation_count {
        finding(
            "crl.coverage",
            Severity::Warn,
            format!(
                "{} revocation(s) are not in CRL #{} yet: a running service publishes them within a minute",
                state.revocation_count - crl.covered_revocations,
                crl.number
            ),
        )
    } else {
        finding(
            "crl.coverage",
            Severity::Pass,
            format!(
                "CRL #{} covers every revocation ({})",
                crl.number, state.revocation_count
            ),
        )
    };
    vec![freshness, coverage]
}

#[cfg(test)]
mod tests {
    use store::PublishedCrl;

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn state(next_update: i64, revocations: u64, covered: u64) -> CrlState {
        CrlState {
            last_number: 3,
            revocation_count: revocations,
            published: Some(PublishedCrl {
                number: 3,
                this_update: next_update - 7 * DAY,
                next_update,
                covered_revocations: covered,
                der: Vec::new(),
            }),
        }
    }

    fn severity(found: &[Finding], id: &str) -> Severity {
        found
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.severity)
            .unwrap_or(Severity::Fail)
    }

    #[test]
    fn a_fresh_crl_covering_every_revocation_passes() {
        let found = judge(&state(NOW + 6 * DAY, 2, 2), NOW);
        assert_eq!(severity(&found, "crl.freshness"), Severity::Pass);
        assert_eq!(severity(&found, "crl.coverage"), Severity::Pass);
    }

    #[test]
    fn a_crl_close_to_its_next_update_warns() {
        let found = judge(&state(NOW + DAY, 0, 0), NOW);
        assert_eq!(severity(&found, "crl.freshness"), Severity::Warn);
    }

    #[test]
    fn a_crl_past_its_next_update_fails() {
        let found = judge(&state(NOW - 1, 0, 0), NOW);
        assert_eq!(severity(&found, "crl.freshness"), Severity::Fail);
        let found = judge(&state(NOW, 0, 0), NOW);
        assert_eq!(severity(&found, "crl.freshness"), Severity::Fail);
    }

    #[test]
    fn a_revocation_not_in_the_crl_warns() {
        let found = judge(&state(NOW + 6 * DAY, 3, 2), NOW);
        assert_eq!(severity(&found, "crl.coverage"), Severity::Warn);
    }

    #[test]
    fn no_crl_is_fine_until_something_is_revoked() {
        let none = |revocations| CrlState {
            last_number: 0,
            revocation_count: revocations,
            published: None,
        };
        assert_eq!(
            severity(&judge(&none(0), NOW), "crl.freshness"),
            Severity::Pass
        );
        assert_eq!(
            severity(&judge(&none(1), NOW), "crl.freshness"),
            Severity::Warn
        );
    }
}
