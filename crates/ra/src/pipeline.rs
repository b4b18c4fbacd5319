//! Enrollment (PKCSReq, RenewalReq) and held requests, up to the CA and the store.

use scep::ContentCipher;
use sha2::{Digest, Sha256};
use store::{AuditEvent, AuditKind, ChallengeStatus, Issuance, StoreError};

use crate::authority::IssuedCertificate;
use crate::context::RequestContext;
use crate::error::{ChallengeFailure, EnrollError};
use crate::outcome::{ChallengeOutcome, Trace};
use crate::reply::Granted;
use crate::service::Ra;
use crate::verify::{self, ProofOfPossession, VerifiedSignature};

/// What entitles a requester to a certificate.
#[derive(Clone, Copy)]
pub(crate) enum Authorisation {
    /// PKCSReq: a one-time challenge in the CSR.
    Challenge,
    /// RenewalReq: the message is signed by a current certificate we issued.
    PreviousCertificate,
}

/// A request the RA approved, ready to be counter-signed. Only [`Ra::approve`] makes one,
/// and it needs the proofs of signature, possession and challenge.
struct Approved<'a> {
    csr_der: &'a [u8],
    template: String,
    binding: Option<policy::Binding>,
    challenge_hash: Option<[u8; 32]>,
    /// The template wants an operator to approve it first.
    manual_approval: bool,
    /// The insecure setting that let this request through without a one-time challenge; the
    /// audit entry of what it leads to names it.
    insecure_setting: Option<&'static str>,
}

/// What a PKCSReq's challenge check found usable.
enum ChallengeGrant {
    /// A stored one-time challenge (consumed when the certificate is recorded).
    OneTime(store::ChallengeRecord, [u8; 32]),
    /// An NDES insecure mode: decided under a configured template, nothing to consume.
    Insecure {
        template: String,
        setting: &'static str,
    },
}

impl ChallengeGrant {
    fn template(&self) -> &str {
        match self {
            Self::OneTime(record, _) => &record.template,
            Self::Insecure { template, .. } => template,
        }
    }

    fn outcome(&self) -> ChallengeOutcome {
        match self {
            Self::OneTime(..) => ChallengeOutcome::Accepted,
            Self::Insecure { setting, .. } if *setting == crate::config::INSECURE_NO_CHALLENGE => {
                ChallengeOutcome::AcceptedInsecureNone
            }
            Self::Insecure { .. } => ChallengeOutcome::AcceptedInsecureStatic,
        }
    }
}

/// Which challenge an issuance used, by its audit id (never the challenge): the audit log
/// links "challenge issued" to "challenge used".
fn challenge_note(hash: Option<&[u8; 32]>) -> String {
    hash.map(|h| format!(", challenge {} used", store::challenge_audit_id(h)))
        .unwrap_or_default()
}

/// ", authorised by SETTING (insecure)" for audit details, empty for the secure paths.
fn insecure_note(setting: Option<&'static str>) -> String {
    setting
        .map(|s| format!(", authorised by {s} (INSECURE opt-in)"))
        .unwrap_or_default()
}

impl Ra {
    /// PKCSReq and RenewalReq: the same path, differing only in what authorises the request —
    /// a one-time challenge, or a current certificate we issued (then the old certificate's
    /// template and names bound the new one, and no challenge is needed).
    #[allow(clippy::too_many_arguments)] // one request's facts; `trace` only collects notes
    pub(crate) async fn issue_for(
        &self,
        authorisation: Authorisation,
        csr_der: &[u8],
        signature: &VerifiedSignature,
        transaction_id: &str,
        context: &RequestContext,
        cipher: ContentCipher,
        trace: &mut Trace,
    ) -> Result<Granted, EnrollError> {
        let crypto = self.config().crypto;
        let csr = request::csr::inspect(csr_der).map_err(|_| EnrollError::Undecipherable)?;
        let possession = match authorisation {
            Authorisation::Challenge => verify::pkcs_req_possession(&csr, signature, crypto)?,
            Authorisation::PreviousCertificate => verify::renewal_possession(&csr, crypto)?,
        };
        let signer_key_hash: [u8; 32] = Sha256::digest(&signature.signer.spki_der).into();
        let request_hash: [u8; 32] = Sha256::digest(csr_der).into();
        let subject_key_hash: [u8; 32] = Sha256::digest(&csr.public_key_spki_der).into();
        // Every store read this request needs before issuing, in one statement; the checks
        // below still run in their order on its answers, and only what it found (a retry, a
        // held request) is read in full.
        let stored_challenge = match authorisation {
            Authorisation::Challenge => self.stored_challenge_hash(&csr),
            Authorisation::PreviousCertificate => None,
        };
        let mut facts = self
            .store()
            .enrollment_facts(store::EnrollmentQuery {
                transaction_id,
                signer_key_sha256: &signer_key_hash,
                challenge_hash: stored_challenge.as_ref(),
                subject_key_sha256: &subject_key_hash,
                subject: &csr.subject_display,
                now: context.now,
            })
            .await
            .map_err(|e| EnrollError::Internal(e.to_string()))?;
        let replayed = if facts.transaction_seen {
            self.replay(transaction_id, &signer_key_hash, &request_hash)
                .await?
        } else {
            None
        };
        if let Some(certificate) = replayed {
            return Ok(Granted::Certificate {
                certificate,
                cipher,
            });
        }
        // The same request held earlier: its state answers (PENDING, the certificate once
        // approved, or FAILURE if denied); the challenge was spent when it was held.
        let held = if facts.held_seen {
            self.held_requests(transaction_id, &signer_key_hash).await?
        } else {
            Vec::new()
        };
        if let Some(record) = held
            .into_iter()
            .rev()
            .find(|r| r.request_sha256 == request_hash)
        {
            trace.template = self.config().configured_template_name(&record.template);
            return self.answer_held(record, context, cipher).await;
        }
        let approved = match authorisation {
            Authorisation::Challenge => {
                let challenge = self.check_challenge(&csr, facts.challenge.take())?;
                trace.template = self.config().configured_template_name(challenge.template());
                trace.challenge = Some(challenge.outcome());
                self.approve(&csr, csr_der, &possession, challenge)?
            }
            Authorisation::PreviousCertificate => {
                let old = crate::renewal::check_provenance(
                    &signature.signer_certificate,
                    &signature.signer,
                    self.ca_certificates(),
                    self.store(),
                    context.now,
                )
                .await?;
                trace.template = self.config().configured_template_name(&old.template);
                self.approve_renewal(&csr, csr_der, &possession, old, context.now)?
            }
        };
        key_not_certified_elsewhere(facts.key_certified_to)?;
        if approved.manual_approval {
            return self
                .hold(
                    &approved,
                    &csr,
                    signature,
                    transaction_id,
                    (signer_key_hash, request_hash),
                    context,
                )
                .await;
        }
        let requester = crate::countersign::requester_facts(
            &signature.signer_certificate,
            approved.challenge_hash.as_ref(),
            &context.peer,
        );
        let issued = self
            .counter_signer()
            .issue(
                approved.csr_der,
                &approved.template,
                transaction_id,
                approved.binding.as_ref(),
                requester,
                context.now,
            )
            .await?;
        let (certificate, delivery_recorded) = self
            .record(
                &approved,
                &issued,
                transaction_id,
                signer_key_hash,
                request_hash,
                context,
            )
            .await?;
        trace.delivery_recorded = delivery_recorded;
        Ok(Granted::Certificate {
            certificate,
            cipher,
        })
    }

    /// A transactionID seen before: the same key and request get the same certificate back
    /// (a client retrying after a lost reply); anything else is refused.
    async fn replay(
        &self,
        transaction_id: &str,
        signer_key_hash: &[u8; 32],
        request_hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, EnrollError> {
        let previous = crate::lookup::transactions(self.store(), transaction_id).await?;
        // A transactionID belongs to the key that first used it.
        if previous
            .iter()
            .any(|t| t.signer_key_sha256 != *signer_key_hash)
        {
            return Err(EnrollError::TransactionConflict);
        }
        // The same key may send new requests under its ID (clients derive the ID from the key
        // and renew with the same key); only an identical request is a retry.
        Ok(previous
            .into_iter()
            .find(|t| t.request_sha256 == *request_hash)
            .map(|t| t.certificate_der))
    }

    /// The hash of the CSR's challenge password when it is to be looked up in the store:
    /// there is one, and it is not the operator's static insecure challenge.
    fn stored_challenge_hash(&self, csr: &request::csr::InspectedCsr) -> Option<[u8; 32]> {
        let password = csr.challenge_password.as_ref()?;
        let hash = crate::challenge::hash(password.as_bytes());
        match self.static_challenge_template(&hash) {
            Some(_) => None,
            None => Some(hash),
        }
    }

    /// The template of the static insecure challenge, if one is configured and `hash` is its.
    fn static_challenge_template(&self, hash: &[u8; 32]) -> Option<&str> {
        use subtle::ConstantTimeEq as _;
        let fixed = self
            .config()
            .insecure_challenges
            .static_challenge
            .as_ref()?;
        bool::from(fixed.hash.ct_eq(hash)).then_some(fixed.template.as_str())
    }

    /// Checks the challenge is usable now, given what the store said about the hash
    /// [`Self::stored_challenge_hash`] chose (`stored`). It is consumed later, in the
    /// transaction that records the certificate. The insecure modes, when the operator
    /// enabled them, are tried only where the secure path has nothing: a request without a
    /// challenge (`insecure_no_challenge`), or a password that is not a stored challenge and
    /// equals the static one (`insecure_static_challenge_file`).
    fn check_challenge(
        &self,
        csr: &request::csr::InspectedCsr,
        stored: Option<ChallengeStatus>,
    ) -> Result<ChallengeGrant, EnrollError> {
        let insecure = &self.config().insecure_challenges;
        let Some(password) = csr.challenge_password.as_ref() else {
            return match &insecure.no_challenge_template {
                Some(template) => Ok(ChallengeGrant::Insecure {
                    template: template.clone(),
                    setting: crate::config::INSECURE_NO_CHALLENGE,
                }),
                None => Err(EnrollError::Challenge(ChallengeFailure::Missing)),
            };
        };
        let hash = crate::challenge::hash(password.as_bytes());
        if let Some(template) = self.static_challenge_template(&hash) {
            return Ok(ChallengeGrant::Insecure {
                template: template.to_owned(),
                setting: crate::config::INSECURE_STATIC_CHALLENGE,
            });
        }
        // `stored` is the answer for this very hash (see `stored_challenge_hash`); without
        // one nothing was looked up, which cannot happen here, and refuses like an unknown.
        match stored {
            Some(ChallengeStatus::Usable(record)) if record.hash == hash => {
                Ok(ChallengeGrant::OneTime(record, hash))
            }
            Some(ChallengeStatus::Expired) => {
                Err(EnrollError::Challenge(ChallengeFailure::Expired))
            }
            Some(ChallengeStatus::Used) => Err(EnrollError::Challenge(ChallengeFailure::Used)),
            _ => Err(EnrollError::Challenge(ChallengeFailure::Unknown)),
        }
    }

    /// Runs the policy for a PKCSReq. Needs the proof of possession and a usable challenge.
    fn approve<'a>(
        &self,
        csr: &request::csr::InspectedCsr,
        csr_der: &'a [u8],
        _possession: &ProofOfPossession,
        grant: ChallengeGrant,
    ) -> Result<Approved<'a>, EnrollError> {
        let (binding, challenge_hash, insecure_setting) = match grant {
            ChallengeGrant::OneTime(challenge, hash) => (
                policy::Binding {
                    template: Some(challenge.template),
                    subject: challenge.binding_subject,
                    sans: challenge.binding_sans,
                },
                Some(hash),
                None,
            ),
            // No names are bound: the template alone decides them, as with an unbound
            // one-time challenge.
            ChallengeGrant::Insecure { template, setting } => (
                policy::Binding {
                    template: Some(template),
                    subject: None,
                    sans: Vec::new(),
                },
                None,
                Some(setting),
            ),
        };
        let template_name = binding.template.clone().unwrap_or_default();
        let template = self.config().template(&template_name)?;
        match policy::decide(&csr.facts, &template, Some(&binding)) {
            policy::Decision::Issue(profile) => Ok(Approved {
                csr_der,
                template: template_name,
                binding: Some(binding),
                challenge_hash,
                manual_approval: profile.manual_approval,
                insecure_setting,
            }),
            policy::Decision::Refuse(refusal) => Err(refusal_error(&refusal)),
        }
    }

    /// Runs the policy for a RenewalReq: the old certificate's template and names bound it.
    fn approve_renewal<'a>(
        &self,
        csr: &request::csr::InspectedCsr,
        csr_der: &'a [u8],
        _possession: &ProofOfPossession,
        old: crate::renewal::RenewedCertificate,
        now: i64,
    ) -> Result<Approved<'a>, EnrollError> {
        let template = self.config().template(&old.template)?;
        let new_key_sha256: [u8; 32] = Sha256::digest(&csr.public_key_spki_der).into();
        let renewal =
            policy::renewal_decision(&old.facts, &csr.facts, &new_key_sha256, &template, now);
        match renewal {
            policy::Decision::Issue(profile) => Ok(Approved {
                csr_der,
                template: old.template,
                binding: Some(old.binding),
                challenge_hash: None,
                manual_approval: profile.manual_approval,
                insecure_setting: None,
            }),
            policy::Decision::Refuse(refusal) => {
                Err(EnrollError::Renewal(refusal.reason.to_string()))
            }
        }
    }

    /// Commits the certificate (and consumes the challenge) before any reply leaves, recorded
    /// as delivered (the SUCCESS reply is built from it next). Also returns whether that
    /// delivery was recorded: not when a concurrent identical request won and its
    /// certificate is answered instead.
    async fn record(
        &self,
        approved: &Approved<'_>,
        issued: &IssuedCertificate,
        transaction_id: &str,
        signer_key_sha256: [u8; 32],
        request_sha256: [u8; 32],
        context: &RequestContext,
    ) -> Result<(Vec<u8>, bool), EnrollError> {
        let issuance = Issuance {
            challenge_hash: approved.challenge_hash,
            transaction_id: transaction_id.to_owned(),
            signer_key_sha256,
            request_sha256,
            serial_hex: issued.serial_hex.clone(),
            certificate_der: issued.der.clone(),
            subject_key_sha256: crate::facts::certified_key_sha256(&issued.der)?,
            subject: issued.subject.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            template: issued.template.clone(),
            now: context.now,
            delivered_at: Some(context.now),
            audit: AuditEvent {
                at: context.now,
                kind: AuditKind::CertificateIssued,
                actor: context.peer.clone(),
                detail: format!(
                    "transaction {transaction_id}: serial {} subject {:?} template {}{}{}",
                    issued.serial_hex,
                    issued.subject,
                    issued.template,
                    challenge_note(approved.challenge_hash.as_ref()),
                    insecure_note(approved.insecure_setting)
                ),
            },
        };
        match self.store().record_issuance(issuance).await {
            Ok(()) => {
                tracing::info!(transaction_id, serial = %issued.serial_hex, subject = %issued.subject, "certificate issued");
                Ok((issued.der.clone(), true))
            }
            // Lost the race for the challenge to a concurrent request: the certificate was
            // signed but never leaves this process and is not valid anywhere it matters.
            Err(StoreError::ChallengeUnavailable) => {
                Err(EnrollError::Challenge(ChallengeFailure::Used))
            }
            Err(StoreError::TransactionConflict) => {
                match self
                    .replay(transaction_id, &signer_key_sha256, &request_sha256)
                    .await?
                {
                    Some(previous) => Ok((previous, false)),
                    None => Err(EnrollError::TransactionConflict),
                }
            }
            Err(e) => Err(EnrollError::Internal(e.to_string())),
        }
    }

    /// CertPoll (GetCertInitial): only the requester that signed the original transaction
    /// gets its certificate; everyone else learns nothing.
    pub(crate) async fn poll(
        &self,
        signature: &VerifiedSignature,
        context: &RequestContext,
        transaction_id: &str,
        (issuer_der, subject_der): (&[u8], &[u8]),
        cipher: ContentCipher,
        trace: &mut Trace,
    ) -> Result<Granted, EnrollError> {
        let signer_key_hash: [u8; 32] = Sha256::digest(&signature.signer.spki_der).into();
        let found = crate::lookup::transactions(self.store(), transaction_id)
            .await?
            .into_iter()
            .filter(|t| t.signer_key_sha256 == signer_key_hash)
            .map(|t| t.certificate_der)
            .rfind(|der| {
                scep::parse_certificate_lenient(der)
                    .is_ok_and(|c| c.issuer_der == issuer_der && c.subject_der == subject_der)
            });
        if let Some(certificate) = found {
            return Ok(Granted::Certificate {
                certificate,
                cipher,
            });
        }
        // A held request of this requester, for this subject: its state answers.
        let held = self
            .held_requests(transaction_id, &signer_key_hash)
            .await?
            .into_iter()
            .rev()
            .find(|r| {
                request::csr::inspect(&r.csr_der).is_ok_and(|c| c.subject_der == subject_der)
            });
        match held {
            Some(record) => {
                trace.template = self.config().configured_template_name(&record.template);
                self.answer_held(record, context, cipher).await
            }
            None => Err(EnrollError::NotFound(format!(
                "poll for transaction {transaction_id}"
            ))),
        }
    }

    /// Requests held for approval under this transactionID and signer key (never another
    /// requester's), oldest first.
    async fn held_requests(
        &self,
        transaction_id: &str,
        signer_key_hash: &[u8; 32],
    ) -> Result<Vec<store::PendingRecord>, EnrollError> {
        self.store()
            .find_pending(transaction_id, signer_key_hash)
            .await
            .map_err(|e| EnrollError::Internal(e.to_string()))
    }

    /// Holds an approved-by-policy request for an operator (template `manual_approval`). The
    /// challenge is spent now, in the same transaction, so it cannot be replayed meanwhile.
    async fn hold(
        &self,
        approved: &Approved<'_>,
        csr: &request::csr::InspectedCsr,
        signature: &VerifiedSignature,
        transaction_id: &str,
        (signer_key_sha256, request_sha256): ([u8; 32], [u8; 32]),
        context: &RequestContext,
    ) -> Result<Granted, EnrollError> {
        let held = store::PendingRequest {
            transaction_id: transaction_id.to_owned(),
            signer_key_sha256,
            request_sha256,
            csr_der: approved.csr_der.to_vec(),
            template: approved.template.clone(),
            subject: csr.subject_display.clone(),
            sans: csr
                .facts
                .subject_alt_names
                .iter()
                .map(crate::facts::san_text)
                .collect(),
            challenge_hash: approved.challenge_hash,
            binding: approved.binding.clone(),
            requester_certificate_der: signature.signer_certificate.clone(),
            created_at: context.now,
            audit: AuditEvent {
                at: context.now,
                kind: AuditKind::EnrollmentPending,
                actor: context.peer.clone(),
                detail: format!(
                    "transaction {transaction_id}: held for approval, subject {:?} template {}{}",
                    csr.subject_display,
                    approved.template,
                    insecure_note(approved.insecure_setting)
                ),
            },
        };
        match self.store().record_pending(held).await {
            Ok(id) => {
                tracing::info!(transaction_id, request = id, "request held for approval");
                Ok(Granted::Pending)
            }
            Err(StoreError::ChallengeUnavailable) => {
                Err(EnrollError::Challenge(ChallengeFailure::Used))
            }
            Err(StoreError::TransactionConflict) => Err(EnrollError::TransactionConflict),
            Err(e) => Err(EnrollError::Internal(e.to_string())),
        }
    }

    /// The answer for a held request: PENDING while it waits, the certificate once approved
    /// (issued now, on this poll, through the CA like any other request), FAILURE if denied.
    async fn answer_held(
        &self,
        record: store::PendingRecord,
        context: &RequestContext,
        cipher: ContentCipher,
    ) -> Result<Granted, EnrollError> {
        match &record.state {
            store::PendingState::Pending => Ok(Granted::Pending),
            store::PendingState::Denied { reason, .. } => Err(EnrollError::Denied(reason.clone())),
            store::PendingState::Issued { serial_hex, .. } => {
                crate::lookup::issued_certificate(self.store(), serial_hex, cipher).await
            }
            store::PendingState::Approved { .. } => {
                self.issue_approved(record, context, cipher).await
            }
            _ => Err(EnrollError::Internal("unknown held request state".into())),
        }
    }

    /// Issues an approved request. The CA re-checks the template (an operator's approval never
    /// widens it); a refusal moves the request to denied so the device stops polling.
    async fn issue_approved(
        &self,
        record: store::PendingRecord,
        context: &RequestContext,
        cipher: ContentCipher,
    ) -> Result<Granted, EnrollError> {
        let approved = Approved {
            csr_der: &record.csr_der,
            template: record.template.clone(),
            // What the request was held under; none for a request held before bindings were
            // recorded, which the CA then decides as it did.
            binding: record.binding.clone(),
            challenge_hash: None,
            manual_approval: false,
            insecure_setting: None,
        };
        // The requester and challenge of the held request; the source is this poll's.
        let requester = crate::countersign::requester_facts(
            &record.requester_certificate_der,
            record.challenge_hash.as_ref(),
            &context.peer,
        );
        let issued = match self
            .counter_signer()
            .issue(
                approved.csr_der,
                &approved.template,
                &record.transaction_id,
                approved.binding.as_ref(),
                requester,
                context.now,
            )
            .await
        {
            Ok(issued) => issued,
            Err(error) => {
                let reason = error.to_string();
                if let Err(e) = self
                    .store()
                    .refuse_approved(record.id, "ca", &reason, context.now)
                    .await
                {
                    tracing::warn!(request = record.id, error = %e, "could not record the CA's refusal");
                }
                return Err(error);
            }
        };
        let completion = store::PendingIssuance {
            serial_hex: issued.serial_hex.clone(),
            certificate_der: issued.der.clone(),
            subject_key_sha256: crate::facts::certified_key_sha256(&issued.der)?,
            subject: issued.subject.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            now: context.now,
            audit: AuditEvent {
                at: context.now,
                kind: AuditKind::CertificateIssued,
                actor: context.peer.clone(),
                detail: format!(
                    "transaction {}: request {} approved and issued: serial {} subject {:?} template {}",
                    record.transaction_id,
                    record.id,
                    issued.serial_hex,
                    issued.subject,
                    issued.template
                ),
            },
        };
        match self.store().complete_pending(record.id, completion).await {
            Ok(certificate) => Ok(Granted::Certificate {
                certificate: certificate.certificate_der,
                cipher,
            }),
            // A concurrent poll completed it first: answer with that certificate.
            Err(StoreError::RequestState { .. }) => {
                let again = self
                    .store()
                    .pending_request(record.id)
                    .await
                    .map_err(|e| EnrollError::Internal(e.to_string()))?;
                match again.map(|r| r.state) {
                    Some(store::PendingState::Issued { serial_hex, .. }) => {
                        crate::lookup::issued_certificate(self.store(), &serial_hex, cipher).await
                    }
                    _ => Err(EnrollError::Internal("held request changed state".into())),
                }
            }
            Err(e) => Err(EnrollError::Internal(e.to_string())),
        }
    }
}

/// RFC 8894 §8.6: a public key certified to one subject is never certified to another
/// (a stolen or shared device key must not move to a new identity). `certified_to` is a
/// subject other than the CSR's that the store found certified for the CSR's key.
fn key_not_certified_elsewhere(certified_to: Option<String>) -> Result<(), EnrollError> {
    match certified_to {
        Some(other) => Err(EnrollError::Policy(format!(
            "the public key is already certified to {other:?} (RFC 8894 §8.6)"
        ))),
        None => Ok(()),
    }
}

/// sscep re-enrolls with a PKCSReq signed by the certificate it holds and no challenge: that
/// is a renewal and takes the renewal path (provenance, window, names, new key). A PKCSReq
/// with a challenge, or signed by a self-signed certificate, is an enrollment.
pub(crate) fn is_re_enrollment(signature: &VerifiedSignature, csr_der: &[u8]) -> bool {
    let self_signed = signature.signer.issuer_der == signature.signer.subject_der;
    !self_signed && request::csr::inspect(csr_der).is_ok_and(|csr| csr.challenge_password.is_none())
}

/// Maps a policy refusal for a challenge-authorised request. A name or template outside the
/// challenge's binding is a challenge failure: it must look exactly like a wrong challenge,
/// or the answer would tell an attacker holding a stolen challenge what it is bound to.
pub(crate) fn refusal_error(refusal: &policy::Refusal) -> EnrollError {
    use policy::RefusalReason as R;
    match (&refusal.reason, refusal.code) {
        (R::TemplateMismatch { .. } | R::NameNotAuthorized { .. } | R::BindingInvalid(_), _) => {
            EnrollError::BindingViolated(refusal.reason.to_string())
        }
        (_, policy::RefusalCode::BadAlg) => {
            EnrollError::PolicyAlgorithm(refusal.reason.to_string())
        }
        _ => EnrollError::Policy(refusal.reason.to_string()),
    }
}
