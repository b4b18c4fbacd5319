//! The RA's counter-signature: the approved request wrapped in a statement the CA verifies.

use crate::error::EnrollError;

/// Builds and signs the statement with the enrollment-agent key.
#[allow(clippy::too_many_arguments)]
pub fn sign_statement(
    csr_der: &[u8],
    template: &str,
    transaction_id: &str,
    binding: Option<&policy::Binding>,
    now: i64,
    ttl_secs: i64,
    signer: &dyn keys::Signer,
    signing_certificate: &[u8],
) -> Result<Vec<u8>, EnrollError> {
    let internal = |e: &dyn std::fmt::Display| EnrollError::Internal(format!("statement: {e}"));
    let nonce = keys::random::bytes(16).map_err(|e| internal(&e))?;
    let statement = request::statement::RaStatement::new(
        csr_der.to_vec(),
        template.to_owned(),
        transaction_id.to_owned(),
        binding.cloned(),
        now,
        now.saturating_add(ttl_secs),
        nonce,
    )
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
