//! Asking a named endpoint's outside verifier (see the `vouch` crate): the question built
//! from the checked CSR, the proof made of its yes, and the two reports after the CA
//! answered — the acknowledgement that must come before a certificate leaves, and the
//! failure report when issuing failed after the verifier vouched.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::authority::IssuedCertificate;
use crate::challenge_check::{self, ChallengeProof};
use crate::context::RequestContext;
use crate::error::EnrollError;
use crate::possession::CheckedCsr;
use crate::service::Ra;

/// A verifier that vouched, with the question it was asked: the reports after issuing go to
/// the same verifier about the same request.
pub(crate) struct Asked {
    verifier: Arc<dyn vouch::ChallengeVerifier>,
    question: vouch::ChallengeQuestion,
}

/// Asks `verifier` about a PKCSReq on the endpoint `endpoint` (issuing under `template`).
/// A yes becomes the challenge proof; a spent signed-challenge id is refused here already,
/// before any CA signature is spent on it (the record of the certificate still decides a race).
pub(crate) async fn ask(
    ra: &Ra,
    verifier: &Arc<dyn vouch::ChallengeVerifier>,
    (endpoint, template): (&str, &str),
    csr: &CheckedCsr,
    transaction_id: &str,
    context: &RequestContext,
) -> Result<(ChallengeProof, Asked), EnrollError> {
    let question = question(endpoint, template, csr, transaction_id, context);
    let refused = |refusal| EnrollError::Vouching {
        verifier: verifier.kind(),
        refusal,
    };
    let vouched = verifier.verify(&question).await.map_err(refused)?;
    if let Some(id) = &vouched.spend_once {
        let spent = ra
            .ledger()
            .voucher_spent(id)
            .await
            .map_err(|e| EnrollError::Internal(e.to_string()))?;
        if spent {
            return Err(refused(vouch::VerifierRefusal::Replayed(id.clone())));
        }
    }
    tracing::info!(
        endpoint,
        transaction_id,
        verifier = verifier.kind(),
        by = %vouched.by,
        csr_validated = vouched.csr_validated,
        "challenge vouched for"
    );
    let proof = challenge_check::vouched(verifier.kind(), template, vouched);
    let asked = Asked {
        verifier: Arc::clone(verifier),
        question,
    };
    Ok((proof, asked))
}

impl Asked {
    /// Tells the verifier the certificate was signed; until it acknowledges, the certificate
    /// does not leave (Intune: successNotification must answer Success).
    pub(crate) async fn acknowledge(
        &self,
        issued: &IssuedCertificate,
        issuer: &str,
    ) -> Result<(), EnrollError> {
        use sha1::Digest as _;
        let facts = vouch::IssuedFacts {
            certificate_der: issued.der.clone(),
            thumbprint_sha1: hex::encode_upper(sha1::Sha1::digest(&issued.der)),
            serial_hex: issued.serial_hex.clone(),
            not_after: issued.not_after,
            issuer: issuer.to_owned(),
        };
        self.verifier
            .issued(&self.question, &facts)
            .await
            .map_err(|refusal| EnrollError::NotAcknowledged {
                verifier: self.verifier.kind(),
                serial: issued.serial_hex.clone(),
                refusal,
            })
    }

    /// Tells the verifier that issuing failed after it vouched (best effort: the device is
    /// answered FAILURE whatever the verifier says).
    pub(crate) async fn report_failure(&self, error: &EnrollError) {
        self.verifier
            .failed(&self.question, &error.to_string())
            .await;
    }
}

/// The question: everything from the checked CSR and the HTTP request.
fn question(
    endpoint: &str,
    template: &str,
    csr: &CheckedCsr,
    transaction_id: &str,
    context: &RequestContext,
) -> vouch::ChallengeQuestion {
    let inspected = csr.inspected();
    let challenge = inspected
        .challenge_password
        .as_ref()
        .map(|p| Zeroizing::new(p.expose().to_owned()))
        .unwrap_or_default();
    let extended_key_usages = inspected
        .facts
        .requested_extensions
        .iter()
        .filter_map(|e| match &e.value {
            policy::RequestedValue::ExtendedKeyUsage(oids) => Some(oids.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    vouch::ChallengeQuestion {
        endpoint: endpoint.to_owned(),
        template: template.to_owned(),
        transaction_id: transaction_id.to_owned(),
        challenge,
        csr_der: csr.der().to_vec(),
        subject: inspected.subject_display.clone(),
        sans: crate::facts::san_texts(&inspected.facts),
        extended_key_usages,
        key: key_description(&inspected.facts.public_key),
        key_sha256: hex::encode(Sha256::digest(&inspected.public_key_spki_der)),
        source: context.peer.clone(),
    }
}

/// `rsa-2048`, `ec-p256`, or the algorithm's OID.
fn key_description(key: &policy::PublicKeyFacts) -> String {
    match key {
        policy::PublicKeyFacts::Rsa { modulus_bits, .. } => format!("rsa-{modulus_bits}"),
        policy::PublicKeyFacts::Ec { curve_oid } => match curve_oid.as_str() {
            policy::oid::CURVE_P256 => "ec-p256".to_owned(),
            policy::oid::CURVE_P384 => "ec-p384".to_owned(),
            policy::oid::CURVE_P521 => "ec-p521".to_owned(),
            other => format!("ec-{other}"),
        },
        policy::PublicKeyFacts::Other { algorithm_oid } => algorithm_oid.clone(),
    }
}
