//! The RA's counter-signature: the approved request wrapped in a statement the CA verifies,
//! and handed to the CA. The only consumer of [`Approved`]: nothing else signs a statement.

use crate::authority::{CertificateAuthority, IssuedCertificate};
use crate::challenge_check::ChallengeKind;
use crate::error::EnrollError;
use crate::gate::Approved;

/// The longest source text put in a statement (a forwarded-for chain can be long).
const MAX_SOURCE_LEN: usize = 256;

/// What the statement says about the requester (statement version 2): the SHA-256 of the
/// certificate that signed the SCEP request, the audit id of the challenge spent (never the
/// challenge), and the network source.
fn requester_facts(
    requester_certificate_der: &[u8],
    challenge_hash: Option<&[u8; 32]>,
    source: &str,
) -> request::statement::RequesterFacts {
    use sha2::Digest as _;
    request::statement::RequesterFacts {
        certificate_sha256: sha2::Sha256::digest(requester_certificate_der).into(),
        challenge_id: challenge_hash.map(ledger::challenge_audit_id),
        source: (!source.is_empty()).then(|| source.chars().take(MAX_SOURCE_LEN).collect()),
    }
}

/// The enrollment agent and the CA its statements go to.
pub(crate) struct CounterSigner<'a> {
    pub agent: &'a dyn keys::Signer,
    pub agent_certificate: &'a [u8],
    /// How long the CA accepts the statement after it is signed.
    pub statement_ttl_secs: i64,
    pub ca: &'a dyn CertificateAuthority,
}

/// What the CA signed for an approved request, and the challenge the request used: the
/// record of the certificate spends it.
#[derive(Debug)]
pub(crate) struct Countersigned {
    pub issued: IssuedCertificate,
    pub challenge: Option<ChallengeKind>,
}

impl CounterSigner<'_> {
    /// Counter-signs an approved request and hands the statement to the CA, which decides it
    /// again. `peer` is the source of the request being answered (for a held request, of the
    /// poll that found it approved).
    pub(crate) async fn issue(
        &self,
        approved: Approved,
        transaction_id: &str,
        peer: &str,
        now: i64,
    ) -> Result<Countersigned, EnrollError> {
        let spent = approved.challenge().and_then(ChallengeKind::spent_hash);
        let requester = requester_facts(approved.requester_certificate_der(), spent, peer);
        let statement = sign_statement(
            StatementFacts {
                csr_der: approved.csr_der(),
                template: approved.template(),
                transaction_id,
                binding: approved.binding(),
                requester,
                csr_validated_by: approved.csr_validated_by(),
            },
            now,
            self.statement_ttl_secs,
            self.agent,
            self.agent_certificate,
        )?;
        let issued = self
            .ca
            .issue(&statement, now)
            .await
            .map_err(EnrollError::CaRefused)?;
        Ok(Countersigned {
            issued,
            challenge: approved.into_challenge(),
        })
    }
}

/// What a statement says about the request.
struct StatementFacts<'a> {
    csr_der: &'a [u8],
    template: &'a str,
    transaction_id: &'a str,
    binding: Option<&'a policy::Binding>,
    requester: request::statement::RequesterFacts,
    csr_validated_by: Option<&'static str>,
}

/// Builds and signs the statement with the enrollment-agent key.
fn sign_statement(
    facts: StatementFacts<'_>,
    now: i64,
    ttl_secs: i64,
    signer: &dyn keys::Signer,
    signing_certificate: &[u8],
) -> Result<Vec<u8>, EnrollError> {
    let internal = |e: &dyn std::fmt::Display| EnrollError::Internal(format!("statement: {e}"));
    let nonce = keys::random::bytes(16).map_err(|e| internal(&e))?;
    let statement = request::statement::RaStatement::new(
        facts.csr_der.to_vec(),
        facts.template.to_owned(),
        facts.transaction_id.to_owned(),
        facts.binding.cloned(),
        now,
        now.saturating_add(ttl_secs),
        nonce,
    )
    .and_then(|s| s.with_requester(facts.requester))
    .and_then(|s| match facts.csr_validated_by {
        Some(kind) => s.with_csr_validated_by(kind),
        None => Ok(s),
    })
    .map_err(|e| internal(&e))?;
    let algorithm = signer.default_algorithm();
    let unsigned = request::statement::prepare_statement(
        &statement,
        signing_certificate,
        algorithm.digest().algorithm_identifier_der(),
        algorithm.algorithm_identifier_der(),
    )
    .map_err(|e| internal(&e))?;
    let signature = signer
        .sign(algorithm, unsigned.signed_attributes_der())
        .map_err(|e| internal(&e))?;
    unsigned.finish(signature).map_err(|e| internal(&e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requester_facts_name_the_challenge_by_its_audit_id_only() {
        let challenge_hash = [0xab; 32];
        let facts = requester_facts(b"requester cert", Some(&challenge_hash), "192.0.2.7");
        assert_eq!(
            facts.challenge_id.as_deref(),
            Some(ledger::challenge_audit_id(&challenge_hash).as_str())
        );
        assert_eq!(facts.challenge_id.as_deref(), Some("abababababababab"));
        use sha2::Digest as _;
        assert_eq!(
            facts.certificate_sha256,
            <[u8; 32]>::from(sha2::Sha256::digest(b"requester cert"))
        );
        assert_eq!(facts.source.as_deref(), Some("192.0.2.7"));
        // A renewal has no challenge; an unknown source is left out; a long one is cut.
        let renewal = requester_facts(b"old cert", None, "");
        assert!(renewal.challenge_id.is_none() && renewal.source.is_none());
        let long = requester_facts(b"c", None, &"x".repeat(1000));
        assert_eq!(long.source.unwrap().len(), MAX_SOURCE_LEN);
    }
}
