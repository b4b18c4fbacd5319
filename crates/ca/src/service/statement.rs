//! Answering a counter-signed statement (steps 2–5 of the module doc of [`crate::service`]).

use std::sync::Arc;

use ledger::{AuditEvent, AuditKind, StatementClaim, StatementIssuance, StatementOutcome};
use request::answer::{CaRefusal, IssuedCertificate};
use request::statement::RaStatement;
use sha2::{Digest, Sha256};

use super::ca_service::{CaService, blocking};
use super::connected::ConnectedRa;
use super::settings::Recording;

/// The CA's certificate for a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub certificate: IssuedCertificate,
    /// True when the statement was answered before and this is that answer again
    /// ([`Recording::ByCa`] only).
    pub replayed: bool,
}

impl CaService {
    /// Answers one statement (the DER of a signed `request::statement`) from `ra`. With
    /// [`Recording::ByCa`], a replay is audited as certificate-resent and a refusal as
    /// enrollment-refused (actor `ra:NAME`); the issuance itself is audited with its
    /// certificate, in the same transaction.
    pub async fn answer_statement(
        &self,
        ra: &ConnectedRa,
        statement: Vec<u8>,
        now: i64,
    ) -> Result<Answer, CaRefusal> {
        let result = self.decide(ra, statement, now).await;
        if self.settings().recording == Recording::ByCa {
            match &result {
                Ok(answer) if answer.replayed => {
                    let detail = format!(
                        "replayed statement answered with serial {}",
                        answer.certificate.serial_hex
                    );
                    self.audit(AuditKind::CertificateResent, &ra.actor(), detail, now)
                        .await;
                }
                Ok(_) => {}
                Err(refused) => {
                    tracing::warn!(ra = %ra.name(), code = refused.wire_code(), reason = refused.reason(), "statement refused");
                    let detail = format!("{}: {}", refused.wire_code(), refused.reason());
                    self.audit(AuditKind::EnrollmentRefused, &ra.actor(), detail, now)
                        .await;
                }
            }
        }
        result
    }

    async fn decide(
        &self,
        ra: &ConnectedRa,
        statement: Vec<u8>,
        now: i64,
    ) -> Result<Answer, CaRefusal> {
        let recording = self.settings().recording;
        if recording == Recording::ByRa {
            // Nothing to log between the checks and the signature: one trip to the blocking
            // pool for both, as the RA's own enrollment costs one.
            let ca = Arc::clone(self.ca());
            let ra = ra.clone();
            let certificate = blocking(move || {
                let verified = verified_from(&ca, &ra, &statement, now)?;
                ca.issue(verified, now).map_err(CaRefusal::from)
            })
            .await??;
            return Ok(Answer {
                certificate,
                replayed: false,
            });
        }
        // The statement log keys the answer by nonce and statement.
        let statement_sha256: [u8; 32] = Sha256::digest(&statement).into();
        let ca = Arc::clone(self.ca());
        let caller = ra.clone();
        let verified = blocking(move || verified_from(&ca, &caller, &statement, now)).await??;
        let template = verified.statement().template.clone();
        let nonce_sha256: [u8; 32] = Sha256::digest(&verified.statement().nonce).into();
        let claim = self
            .ledger()
            .claim_statement(&nonce_sha256, &statement_sha256, ra.name(), now)
            .await
            .map_err(|e| CaRefusal::Internal(format!("statement log: {e}")))?;
        if let Some(earlier) = earlier_answer(claim, ra, &template) {
            return earlier;
        }
        let facts = verified.statement().clone();
        let ca = Arc::clone(self.ca());
        let issued = match blocking(move || ca.issue(verified, now)).await {
            Ok(issued) => issued.map_err(CaRefusal::from),
            Err(task) => Err(task),
        };
        // Recorded before the answer leaves: a replay gets exactly this. A certificate is
        // recorded as the CA's own (listing, revocation, CRL, OCSP), with its audit entry.
        let finished = match &issued {
            Ok(certificate) => {
                let record = statement_issuance(certificate, &facts, ra, now);
                self.ledger()
                    .finish_statement_issued(&nonce_sha256, &record)
                    .await
            }
            Err(refused) => {
                let outcome = StatementOutcome::Refused {
                    refusal: refused.reason().to_owned(),
                    bad_alg: refused.is_bad_alg(),
                };
                self.ledger()
                    .finish_statement(&nonce_sha256, &outcome)
                    .await
            }
        };
        finished.map_err(|e| CaRefusal::Internal(format!("statement log: {e}")))?;
        Ok(Answer {
            certificate: issued?,
            replayed: false,
        })
    }
}

/// The statement, verified against the counter-signing certificate of `ra` (its signature,
/// that certificate's checks, freshness), for a template `ra` is authorised for.
fn verified_from(
    ca: &crate::Ca,
    ra: &ConnectedRa,
    statement: &[u8],
    now: i64,
) -> Result<crate::VerifiedStatement, CaRefusal> {
    let allowed = [ra.counter_signing_certificate().to_vec()];
    let verified = ca
        .verify_statement_from(statement, now, &allowed)
        .map_err(|e| CaRefusal::StatementRejected(e.to_string()))?;
    let template = &verified.statement().template;
    if !ra.is_authorised_for(template) {
        return Err(ra.not_authorised(template));
    }
    Ok(verified)
}

/// What a claimed nonce says: `None` to go on (first time), or the answer to give now (the
/// recorded one for the same statement from the same RA, else a refusal).
fn earlier_answer(
    claim: StatementClaim,
    ra: &ConnectedRa,
    template: &str,
) -> Option<Result<Answer, CaRefusal>> {
    match claim {
        StatementClaim::Claimed => None,
        StatementClaim::Seen {
            same_statement: true,
            ra_name,
            outcome,
        } if ra_name == ra.name() => Some(match outcome {
            StatementOutcome::Issued { certificate } => recorded_certificate(certificate, template)
                .map(|certificate| Answer {
                    certificate,
                    replayed: true,
                }),
            // The recorded refusal stands: a policy refusal, told apart by its failInfo.
            StatementOutcome::Refused { refusal, bad_alg } => Err(if bad_alg {
                CaRefusal::BadAlgorithm(refusal)
            } else {
                CaRefusal::Policy(refusal)
            }),
            StatementOutcome::Pending => Err(CaRefusal::InProgress(
                "this statement is being processed".into(),
            )),
        }),
        StatementClaim::Seen { .. } => Some(Err(CaRefusal::NonceReused(
            "the statement's nonce was already used".into(),
        ))),
    }
}

/// A certificate the statement log recorded, described again for its replay (the log keeps
/// the DER only).
fn recorded_certificate(der: Vec<u8>, template: &str) -> Result<IssuedCertificate, CaRefusal> {
    use der::{Decode, Encode};
    let internal = |e: der::Error| CaRefusal::Internal(format!("certificate: {e}"));
    let cert = x509_cert::Certificate::from_der(&der).map_err(internal)?;
    let tbs = cert.tbs_certificate();
    let secs = |t: &x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let spki = tbs.subject_public_key_info().to_der().map_err(internal)?;
    Ok(IssuedCertificate {
        serial_hex: hex::encode(tbs.serial_number().as_bytes()),
        subject: tbs.subject().to_string(),
        not_before: secs(&tbs.validity().not_before),
        not_after: secs(&tbs.validity().not_after),
        template: template.to_owned(),
        subject_key_sha256: Sha256::digest(&spki).into(),
        der,
    })
}

/// The CA's record of a certificate it signed for `statement`, with the audit entry naming
/// the RA and the facts the RA stated it checked.
fn statement_issuance(
    certificate: &IssuedCertificate,
    statement: &RaStatement,
    ra: &ConnectedRa,
    now: i64,
) -> StatementIssuance {
    StatementIssuance {
        serial_hex: certificate.serial_hex.clone(),
        certificate_der: certificate.der.clone(),
        subject_key_sha256: certificate.subject_key_sha256,
        subject: certificate.subject.clone(),
        not_before: certificate.not_before,
        not_after: certificate.not_after,
        template: certificate.template.clone(),
        transaction_id: statement.transaction_id.clone(),
        issued_at: now,
        audit: AuditEvent {
            at: now,
            kind: AuditKind::CertificateIssued,
            actor: ra.actor(),
            detail: format!(
                "serial {} subject {} template {} for RA {}: {}",
                certificate.serial_hex,
                certificate.subject,
                certificate.template,
                ra.name(),
                statement_facts(statement)
            ),
        },
    }
}

/// What the RA stated it checked, for the audit entry.
fn statement_facts(statement: &RaStatement) -> String {
    let mut out = format!("transaction {}", statement.transaction_id);
    if let Some(binding) = &statement.binding {
        if let Some(subject) = &binding.subject {
            out.push_str(&format!(", bound subject {subject:?}"));
        }
        if !binding.sans.is_empty() {
            out.push_str(&format!(", bound SANs {}", binding.sans.join(",")));
        }
    }
    match &statement.requester {
        Some(r) => {
            if let Some(id) = &r.challenge_id {
                out.push_str(&format!(", challenge {id}"));
            }
            out.push_str(&format!(
                ", requester certificate SHA-256 {}",
                hex::encode(r.certificate_sha256)
            ));
            if let Some(source) = &r.source {
                out.push_str(&format!(", source {source:?}"));
            }
        }
        None => out.push_str(", statement version 1 (no requester facts)"),
    }
    if let Some(kind) = &statement.csr_validated_by {
        out.push_str(&format!(", CSR validated by {kind}"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_names_what_validated_the_csr() {
        let requester = request::RequesterFacts {
            certificate_sha256: [1; 32],
            challenge_id: None,
            source: None,
        };
        let statement = RaStatement::new(
            vec![0x30, 0x00],
            "t".into(),
            "tx".into(),
            None,
            1,
            2,
            vec![],
        )
        .unwrap()
        .with_requester(requester)
        .unwrap();
        assert!(!statement_facts(&statement).contains("CSR validated"));
        let validated = statement.with_csr_validated_by("intune").unwrap();
        assert!(statement_facts(&validated).ends_with(", CSR validated by intune"));
    }
}
