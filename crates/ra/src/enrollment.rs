//! PKCSReq and RenewalReq, from the decrypted CSR to the certificate: proof of possession, the
//! retry and held-request checks, what authorises the request (a challenge, or the
//! certificate it renews), the gate, then counter-signing and recording, or holding it for an
//! officer.

use scep::ContentCipher;
use sha2::{Digest as _, Sha256};

use crate::config::InsecureChallenges;
use crate::context::RequestContext;
use crate::endpoint::{ChallengeCheck, Endpoint};
use crate::error::EnrollError;
use crate::gate::Admitted;
use crate::outcome::{Trace, VerifierDecision};
use crate::possession::DecryptedCsr;
use crate::record::{self, Recorded};
use crate::reply::Granted;
use crate::service::Ra;
use crate::verify::VerifiedSignature;
use crate::{challenge_check, gate, pending, vouching};

/// The two enrollment message types.
#[derive(Clone, Copy)]
pub(crate) enum RequestKind {
    PkcsReq,
    RenewalReq,
}

/// What entitles a requester to a certificate.
#[derive(Clone, Copy)]
enum Authorisation {
    /// PKCSReq: a challenge in the CSR.
    Challenge,
    /// RenewalReq (and sscep's re-enrollment): the message is signed by a current
    /// certificate we issued.
    PreviousCertificate,
}

/// PKCSReq and RenewalReq: the same path, differing only in what authorises the request —
/// a challenge, or a current certificate we issued (then the old certificate's template and
/// names bound the new one, and no challenge is needed).
#[allow(clippy::too_many_arguments)] // one request's facts; `trace` only collects notes
pub(crate) async fn enroll(
    ra: &Ra,
    kind: RequestKind,
    csr_der: Vec<u8>,
    signature: &VerifiedSignature<'_>,
    transaction_id: &str,
    context: &RequestContext,
    cipher: ContentCipher,
    trace: &mut Trace,
) -> Result<Granted, EnrollError> {
    let config = ra.config();
    let endpoint = match context.endpoint.as_deref() {
        Some(name) => Some(
            ra.endpoint(name)
                .ok_or_else(|| EnrollError::UnknownEndpoint(name.to_owned()))?,
        ),
        None => None,
    };
    // NDES's insecure modes are the default endpoint's only: a named endpoint is always strict.
    let strict = InsecureChallenges::default();
    let insecure = match endpoint {
        Some(_) => &strict,
        None => &config.insecure_challenges,
    };
    let csr = DecryptedCsr::read(csr_der)?;
    let authorisation = match kind {
        RequestKind::PkcsReq if !is_re_enrollment(signature, &csr) => Authorisation::Challenge,
        RequestKind::PkcsReq | RequestKind::RenewalReq => Authorisation::PreviousCertificate,
    };
    let csr = match authorisation {
        Authorisation::Challenge => csr.check_signed_by_its_key(signature, config.crypto)?,
        Authorisation::PreviousCertificate => csr.check_self_signature(config.crypto)?,
    };
    let signer_key_hash = signature.signer_key_sha256();
    let request_hash: [u8; 32] = Sha256::digest(csr.der()).into();
    let subject_key_hash: [u8; 32] = Sha256::digest(&csr.inspected().public_key_spki_der).into();
    // Every ledger read this request needs before issuing, in one statement; the checks
    // below still run in their order on its answers, and only what it found (a retry, a
    // held request) is read in full.
    let verifier = match (authorisation, endpoint.map(|e| &e.challenge)) {
        (Authorisation::Challenge, Some(ChallengeCheck::Verifier(verifier))) => Some(verifier),
        _ => None,
    };
    let stored_challenge = match authorisation {
        Authorisation::Challenge if verifier.is_none() => {
            challenge_check::stored_hash(insecure, &csr)
        }
        Authorisation::Challenge | Authorisation::PreviousCertificate => None,
    };
    let mut facts = ra
        .ledger()
        .enrollment_facts(ledger::EnrollmentQuery {
            transaction_id,
            signer_key_sha256: &signer_key_hash,
            challenge_hash: stored_challenge.as_ref(),
            subject_key_sha256: &subject_key_hash,
            subject: &csr.inspected().subject_display,
            now: context.now,
        })
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?;
    let replayed = if facts.transaction_seen {
        replay(ra, transaction_id, &signer_key_hash, &request_hash).await?
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
        pending::held_requests(ra.ledger(), transaction_id, &signer_key_hash).await?
    } else {
        Vec::new()
    };
    if let Some(record) = held
        .into_iter()
        .rev()
        .find(|r| r.request_sha256 == request_hash)
    {
        trace.template = config.configured_template_name(&record.template);
        return pending::answer(ra, record, context, cipher).await;
    }
    let mut asked = None;
    let admitted = match authorisation {
        Authorisation::Challenge => {
            let challenge = match (endpoint, verifier) {
                (Some(endpoint), Some(verifier)) => {
                    let named = (endpoint.name.as_str(), endpoint.template.as_str());
                    let answer =
                        vouching::ask(ra, verifier, named, &csr, transaction_id, context).await;
                    trace.verifier = Some(VerifierDecision::of(
                        &endpoint.name,
                        verifier.kind(),
                        answer.as_ref().map(|_| ()),
                    ));
                    let (proof, verifier_asked) = answer?;
                    asked = Some(verifier_asked);
                    proof
                }
                _ => {
                    let proof = challenge_check::check(insecure, &csr, facts.challenge.take())?;
                    endpoint_allows(endpoint, proof.template())?;
                    proof
                }
            };
            trace.template = config.configured_template_name(challenge.template());
            trace.challenge = Some(challenge.outcome());
            gate::enrollment(config, signature, csr, challenge)
        }
        Authorisation::PreviousCertificate => {
            let old = crate::renewal::check_provenance(
                signature.signer_certificate_der(),
                signature.signer(),
                ra.ca_certificates(),
                ra.ledger(),
                context.now,
            )
            .await?;
            // Signing the renewal proves the holder has the old certificate and its key:
            // collected, whatever becomes of the renewal (RFC 8894 §8.4).
            record::mark_delivered(ra.ledger(), old.serial_hex(), context.now).await;
            endpoint_allows(endpoint, old.template())?;
            trace.template = config.configured_template_name(old.template());
            gate::renewal(config, signature, csr, old, context.now)
        }
    }
    .and_then(|admitted| key_not_certified_elsewhere(facts.key_certified_to).map(|()| admitted));
    // The verifier vouched before the template's checks ran: a request they refuse failed
    // after its yes, and it hears so (Intune's failureNotification) like a CA failure.
    let admitted = match (admitted, &asked) {
        (Err(error), Some(asked)) => {
            asked.report_failure(&error).await;
            return Err(error);
        }
        (admitted, _) => admitted?,
    };
    let hashes = (signer_key_hash, request_hash);
    let approved = match admitted {
        Admitted::CounterSign(approved) => approved,
        Admitted::Hold(held) => {
            return pending::hold(ra, held, transaction_id, hashes, context).await;
        }
    };
    let countersigned = match ra
        .counter_signer()
        .issue(approved, transaction_id, &context.peer, context.now)
        .await
    {
        Ok(countersigned) => countersigned,
        Err(error) => {
            if let Some(asked) = &asked {
                asked.report_failure(&error).await;
            }
            return Err(error);
        }
    };
    // No certificate leaves unless the verifier that vouched acknowledged it (Intune's
    // successNotification); not acknowledged, it is never recorded for delivery.
    if let Some(asked) = &asked {
        let acknowledged = asked
            .acknowledge(&countersigned.issued, ra.issuer_name())
            .await;
        if let Err(error) = acknowledged {
            if let Some(decision) = trace.verifier.as_mut() {
                *decision =
                    VerifierDecision::of(&decision.endpoint, decision.verifier, Err(&error));
            }
            // The device gets no certificate: the verifier hears so, as for any failure
            // after its yes.
            asked.report_failure(&error).await;
            return Err(error);
        }
    }
    let recorded =
        record::issuance(ra.ledger(), &countersigned, transaction_id, hashes, context).await;
    let recorded = match (recorded, &asked) {
        (Err(error), Some(asked)) => {
            asked.report_failure(&error).await;
            return Err(error);
        }
        (recorded, _) => recorded?,
    };
    let certificate = match recorded {
        Recorded::Now => {
            trace.issued_serial = Some(countersigned.issued.serial_hex.clone());
            countersigned.issued.der
        }
        // A concurrent identical request won: its certificate is the answer (and this one,
        // signed but never recorded, never leaves the process).
        Recorded::TransactionTaken => {
            match replay(ra, transaction_id, &signer_key_hash, &request_hash).await? {
                Some(previous) => previous,
                None => return Err(EnrollError::TransactionConflict),
            }
        }
    };
    Ok(Granted::Certificate {
        certificate,
        cipher,
    })
}

/// A named endpoint issues under its own template only: a one-time challenge minted for
/// another template, or a certificate of another template renewed there, is refused like a
/// challenge bound elsewhere.
fn endpoint_allows(endpoint: Option<&Endpoint>, template: &str) -> Result<(), EnrollError> {
    match endpoint {
        Some(endpoint) if endpoint.template != template => {
            Err(EnrollError::BindingViolated(format!(
                "template {template:?} presented at endpoint {:?}, which issues {:?}",
                endpoint.name, endpoint.template
            )))
        }
        _ => Ok(()),
    }
}

/// A transactionID seen before: the same key and request get the same certificate back (a
/// client retrying after a lost reply); anything else is refused.
async fn replay(
    ra: &Ra,
    transaction_id: &str,
    signer_key_hash: &[u8; 32],
    request_hash: &[u8; 32],
) -> Result<Option<Vec<u8>>, EnrollError> {
    let previous = crate::lookup::transactions(ra.ledger(), transaction_id).await?;
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

/// RFC 8894 §8.6: a public key certified to one subject is never certified to another (a
/// stolen or shared device key must not move to a new identity). `certified_to` is a subject
/// other than the CSR's that the ledger found certified for the CSR's key.
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
fn is_re_enrollment(signature: &VerifiedSignature<'_>, csr: &DecryptedCsr) -> bool {
    let signer = signature.signer();
    let self_signed = signer.issuer_der == signer.subject_der;
    !self_signed && !csr.has_challenge()
}
