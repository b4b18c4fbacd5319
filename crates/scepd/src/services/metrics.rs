//! Prometheus metrics, served by the admin listener at `/metrics`: enrollments by template and
//! result, PKIOperation latency, challenge outcomes, lockouts, the CRL's age, and the open and
//! refused connections of the SCEP and admin listeners.
//!
//! Labels come from closed sets or from the configuration (template names), never from a
//! request: a client cannot create series, and no secret can reach a metric.
//!
//! The exposition is the OpenMetrics text format (content type `application/openmetrics-text;
//! version=1.0.0; charset=utf-8`), which Prometheus scrapes natively; counters carry the
//! `_total` suffix and the text ends with `# EOF`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The template label when no configured template is known (unreadable or unauthorised
/// requests).
const NO_TEMPLATE: &str = "none";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnrollmentLabels {
    template: String,
    /// success, pending or failure.
    result: &'static str,
    /// The failInfo of a failure by its RFC 8894 name; "none" otherwise.
    fail_info: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    listener: &'static str,
    /// too_many_from_source (429), listener_full (503) or closed_unanswered (the refusal
    /// budget was spent).
    refusal: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChallengeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifierLabels {
    /// A configured endpoint name.
    endpoint: String,
    verifier: &'static str,
    decision: &'static str,
}

/// The process's metrics. Counters are updated by the SCEP handlers; the CRL age and the
/// limiter's state are read when scraped.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    enrollments: Family<EnrollmentLabels, Counter>,
    duration: Histogram,
    challenge_outcomes: Family<ChallengeLabels, Counter>,
    verifier_decisions: Family<VerifierLabels, Counter>,
    malformed: Counter,
    /// The listeners whose connections are read at scrape time.
    listeners: Mutex<Vec<Arc<edge::listener::ConnectionTracker>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What is read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrapeState {
    /// thisUpdate of the current CRL (unix seconds), if one has been published.
    pub crl_this_update: Option<i64>,
    pub now: i64,
    pub lockouts_total: u64,
    pub global_alarm: bool,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let enrollments = Family::<EnrollmentLabels, Counter>::default();
        registry.register(
            "scepd_enrollments",
            "PKCSReq, RenewalReq and CertPoll answers by template, result and failInfo",
            enrollments.clone(),
        );
        // 5 ms to ~10 s: a PKIOperation with a software RSA key takes a few ms, with an HSM
        // or a busy database up to seconds.
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "scepd_enrollment_duration_seconds",
            "Time to handle one PKIOperation, from the request read to the reply built",
            duration.clone(),
        );
        let challenge_outcomes = Family::<ChallengeLabels, Counter>::default();
        registry.register(
            "scepd_challenge_outcomes",
            "Challenges presented, by outcome (locked_out: refused before the RA, HTTP 429)",
            challenge_outcomes.clone(),
        );
        let verifier_decisions = Family::<VerifierLabels, Counter>::default();
        registry.register(
            "scepd_verifier_decisions",
            "Decisions of named endpoints' outside verifiers (Intune, webhook, signed), by endpoint, verifier and decision",
            verifier_decisions.clone(),
        );
        let malformed = Counter::default();
        registry.register(
            "scepd_malformed_requests",
            "PKIOperations too malformed to answer with a CertRep (HTTP 400)",
            malformed.clone(),
        );
        Self {
            registry,
            enrollments,
            duration,
            challenge_outcomes,
            verifier_decisions,
            malformed,
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// Reports the open and refused connections of a listener from now on.
    pub fn watch_listener(&self, tracker: Arc<edge::listener::ConnectionTracker>) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tracker);
    }

    /// Records one PKIOperation: its outcome (`None` if it was too malformed for a CertRep)
    /// and how long it took.
    pub fn observe_pki_operation(&self, outcome: Option<&ra::Outcome>, elapsed: Duration) {
        self.duration.observe(elapsed.as_secs_f64());
        let Some(outcome) = outcome else {
            self.malformed.inc();
            return;
        };
        if let Some(challenge) = outcome.challenge {
            self.challenge_outcomes
                .get_or_create(&ChallengeLabels {
                    outcome: challenge.label(),
                })
                .inc();
        }
        if let Some(decision) = &outcome.verifier {
            self.verifier_decisions
                .get_or_create(&VerifierLabels {
                    endpoint: decision.endpoint.clone(),
                    verifier: decision.verifier,
                    decision: decision.decision,
                })
                .inc();
        }
        if outcome.is_enrollment() {
            let fail_info = match outcome.result.fail_info_label() {
                "" => "none",
                name => name,
            };
            self.enrollments
                .get_or_create(&EnrollmentLabels {
                    template: outcome
                        .template
                        .clone()
                        .unwrap_or_else(|| NO_TEMPLATE.to_owned()),
                    result: outcome.result.label(),
                    fail_info,
                })
                .inc();
        }
    }

    /// A PKIOperation refused before the RA because its source is locked out.
    pub fn observe_locked_out(&self) {
        self.challenge_outcomes
            .get_or_create(&ChallengeLabels {
                outcome: "locked_out",
            })
            .inc();
    }

    /// The text exposition, with the CRL age and the SCEP limiter's state read now (the
    /// database is asked for the current CRL's thisUpdate; if it cannot answer, the age is left
    /// out rather than guessed).
    pub async fn render(
        &self,
        store: &store::Store,
        limiter: &edge::limiter::FailureLimiter,
    ) -> String {
        let crl_this_update = match store.crl_state().await {
            Ok(state) => state.published.map(|p| p.this_update),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: CRL state unavailable");
                None
            }
        };
        let instant = std::time::Instant::now();
        self.render_with(ScrapeState {
            crl_this_update,
            now: crate::clock::unix_now(),
            lockouts_total: limiter.lockouts_total(),
            global_alarm: limiter.global_alarm(instant),
        })
    }

    /// [`Self::render`] with the scrape-time values given.
    pub fn render_with(&self, state: ScrapeState) -> String {
        // Scrape-time values go into a registry of their own, made for this scrape, so
        // concurrent scrapes never race on shared gauges.
        let mut scrape = Registry::default();
        if let Some(this_update) = state.crl_this_update {
            let age: Gauge = Gauge::default();
            age.set(state.now.saturating_sub(this_update).max(0));
            scrape.register(
                "scepd_crl_age_seconds",
                "Seconds since thisUpdate of the CRL being served (absent until one is published)",
                age,
            );
        }
        let lockouts: Counter = Counter::default();
        lockouts.inc_by(state.lockouts_total);
        scrape.register(
            "scepd_lockouts",
            "Sources locked out for repeated secret-dependent failures, since start",
            lockouts,
        );
        let alarm: Gauge = Gauge::default();
        alarm.set(i64::from(state.global_alarm));
        scrape.register(
            "scepd_global_failure_alarm",
            "1 while the global failure budget (limits.global_max_failed_attempts) is exceeded",
            alarm,
        );
        let open = Family::<ListenerLabels, Gauge>::default();
        let refused = Family::<RefusalLabels, Counter>::default();
        for tracker in self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let listener = tracker.name();
            open.get_or_create(&ListenerLabels { listener })
                .set(i64::try_from(tracker.open_total()).unwrap_or(i64::MAX));
            let refusals = tracker.refusals();
            for (refusal, count) in [
                ("too_many_from_source", refusals.per_source),
                ("listener_full", refusals.total),
                ("closed_unanswered", refusals.unanswered),
            ] {
                refused
                    .get_or_create(&RefusalLabels { listener, refusal })
                    .inc_by(count);
            }
        }
        scrape.register(
            "scepd_open_connections",
            "Connections open now, by listener (capped by connections.max_connections)",
            open,
        );
        scrape.register(
            "scepd_connections_refused",
            "Connections over a cap of [connections] since start, by listener and answer",
            refused,
        );
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &scrape))
            .and_then(|()| encode_eof(&mut text));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ra::{ChallengeOutcome, Outcome, OutcomeResult, VerifierDecision};
    use scep::{FailInfo, MessageType};

    fn outcome(template: Option<&str>, result: OutcomeResult) -> Outcome {
        Outcome {
            message_type: Some(MessageType::PkcsReq),
            template: template.map(str::to_owned),
            result,
            challenge: Some(ChallengeOutcome::Accepted),
            verifier: None,
        }
    }

    #[test]
    fn enrollments_challenges_and_scrape_values_are_rendered() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(12);
        metrics.observe_pki_operation(Some(&outcome(Some("device"), OutcomeResult::Success)), ms);
        metrics.observe_pki_operation(Some(&outcome(Some("device"), OutcomeResult::Success)), ms);
        metrics.observe_pki_operation(Some(&outcome(Some("vpn"), OutcomeResult::Pending)), ms);
        let mut refused = outcome(None, OutcomeResult::Failure(FailInfo::BadRequest));
        refused.challenge = Some(ChallengeOutcome::Unknown);
        metrics.observe_pki_operation(Some(&refused), ms);
        let mut vouched = outcome(Some("device"), OutcomeResult::Failure(FailInfo::BadRequest));
        vouched.challenge = Some(ChallengeOutcome::RefusedByVerifier);
        vouched.verifier = Some(VerifierDecision {
            endpoint: "intune".into(),
            verifier: "intune",
            decision: "refused",
        });
        metrics.observe_pki_operation(Some(&vouched), ms);
        // GetCRL is not an enrollment: timed, not counted as one.
        let get_crl = Outcome {
            message_type: Some(MessageType::GetCrl),
            template: None,
            result: OutcomeResult::Success,
            challenge: None,
            verifier: None,
        };
        metrics.observe_pki_operation(Some(&get_crl), ms);
        metrics.observe_pki_operation(None, ms);
        metrics.observe_locked_out();
        let text = metrics.render_with(ScrapeState {
            crl_this_update: Some(1_000),
            now: 1_090,
            lockouts_total: 3,
            global_alarm: true,
        });
        for line in [
            "scepd_enrollments_total{template=\"device\",result=\"success\",fail_info=\"none\"} 2",
            "scepd_enrollments_total{template=\"vpn\",result=\"pending\",fail_info=\"none\"} 1",
            "scepd_enrollments_total{template=\"none\",result=\"failure\",fail_info=\"badRequest\"} 1",
            "scepd_verifier_decisions_total{endpoint=\"intune\",verifier=\"intune\",decision=\"refused\"} 1",
            "scepd_challenge_outcomes_total{outcome=\"refused_by_verifier\"} 1",
            "scepd_challenge_outcomes_total{outcome=\"accepted\"} 3",
            "scepd_challenge_outcomes_total{outcome=\"unknown\"} 1",
            "scepd_challenge_outcomes_total{outcome=\"locked_out\"} 1",
            "scepd_enrollment_duration_seconds_count 7",
            "scepd_malformed_requests_total 1",
            "scepd_crl_age_seconds 90",
            "scepd_lockouts_total 3",
            "scepd_global_failure_alarm 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(text.contains("# TYPE scepd_enrollment_duration_seconds histogram"));
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
    }

    #[test]
    fn open_and_refused_connections_are_rendered_per_listener() {
        let metrics = Metrics::new();
        let tracker = edge::listener::ConnectionTracker::new(
            "scep",
            edge::listener::Limits {
                max_connections: 2,
                max_connections_per_source: 1,
                header_read_timeout: Duration::from_secs(1),
                tls_handshake_timeout: Duration::from_secs(1),
            },
        );
        metrics.watch_listener(Arc::clone(&tracker));
        let source = std::net::IpAddr::from([192, 0, 2, 1]);
        let _open = tracker.admit(source);
        let _refused = tracker.admit(source);
        let text = metrics.render_with(ScrapeState::default());
        for line in [
            "scepd_open_connections{listener=\"scep\"} 1",
            "scepd_connections_refused_total{listener=\"scep\",refusal=\"too_many_from_source\"} 1",
            "scepd_connections_refused_total{listener=\"scep\",refusal=\"listener_full\"} 0",
            "scepd_connections_refused_total{listener=\"scep\",refusal=\"closed_unanswered\"} 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn without_a_crl_the_age_is_absent_not_invented() {
        let text = Metrics::new().render_with(ScrapeState::default());
        assert!(!text.contains("scepd_crl_age_seconds"), "{text}");
        assert!(text.contains("scepd_lockouts_total 0"));
        assert!(text.contains("scepd_global_failure_alarm 0"));
    }
}
