//! Proof of possession: the CSR read from the opened envelope, its self-signature verified and,
//! for a PKCSReq, its key the one that signed the SCEP message. What passes is a
//! [`CheckedCsr`], the second proof of the chain (see [`crate::proofs`]).

use keys::SignatureAlgorithm;
use request::csr::InspectedCsr;

use crate::config::CryptoPolicy;
use crate::error::EnrollError;
use crate::verify::{VerifiedSignature, signature_error};

/// A PKCS#10 read from the opened envelope, nothing about it checked yet. What decides its
/// path (a challenge, or the certificate it renews) may be read from it; to go further it
/// must become a [`CheckedCsr`].
pub(crate) struct DecryptedCsr {
    der: Vec<u8>,
    inspected: InspectedCsr,
}

impl DecryptedCsr {
    /// Parses the CSR. A CSR that cannot be read looks exactly like an envelope that did not
    /// decrypt: telling them apart would be a padding oracle.
    pub(crate) fn read(der: Vec<u8>) -> Result<Self, EnrollError> {
        let inspected = request::csr::inspect(&der).map_err(|_| EnrollError::Undecipherable)?;
        Ok(Self { der, inspected })
    }

    pub(crate) fn has_challenge(&self) -> bool {
        self.inspected.challenge_password.is_some()
    }

    /// PKCSReq: the self-signature, and the message must be signed by the key the CSR
    /// certifies (RFC 8894 §2.3 and the re-wrapped-envelope attack: otherwise anyone could
    /// replay a captured CSR under their own key).
    pub(crate) fn check_signed_by_its_key(
        self,
        signature: &VerifiedSignature<'_>,
        crypto: CryptoPolicy,
    ) -> Result<CheckedCsr, EnrollError> {
        self_signature(&self.inspected, crypto)?;
        if self.inspected.public_key_spki_der != signature.signer().spki_der {
            return Err(EnrollError::NoProofOfPossession);
        }
        Ok(CheckedCsr {
            der: self.der,
            inspected: self.inspected,
            signed_the_message: true,
        })
    }

    /// RenewalReq (and sscep's re-enrollment): possession of the new key is shown by the
    /// self-signature alone; the old certificate's key signed the message.
    pub(crate) fn check_self_signature(
        self,
        crypto: CryptoPolicy,
    ) -> Result<CheckedCsr, EnrollError> {
        self_signature(&self.inspected, crypto)?;
        Ok(CheckedCsr {
            der: self.der,
            inspected: self.inspected,
            signed_the_message: false,
        })
    }
}

/// A decrypted CSR whose self-signature verified with an allowed algorithm: the requester
/// holds the key it asks to have certified. Carries the CSR DER and what was read from it.
/// Only the checks of `possession::DecryptedCsr` make one; the counter-signing gate
/// consumes it.
///
/// ```compile_fail
/// // Outside the RA a checked CSR cannot be written down, whatever a caller holds.
/// fn forge(der: Vec<u8>) -> ra::proofs::CheckedCsr {
///     let inspected = request::csr::inspect(&der).unwrap();
///     ra::proofs::CheckedCsr { der, inspected, signed_the_message: true }
/// }
/// ```
pub struct CheckedCsr {
    der: Vec<u8>,
    inspected: InspectedCsr,
    /// The CSR's key also signed the SCEP message (a PKCSReq); a renewal's was signed by the
    /// certificate it renews.
    signed_the_message: bool,
}

impl CheckedCsr {
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    pub(crate) fn inspected(&self) -> &InspectedCsr {
        &self.inspected
    }

    pub(crate) fn signed_the_message(&self) -> bool {
        self.signed_the_message
    }

    /// The DER and the facts read from it, for the gate that consumes the proof.
    pub(crate) fn into_parts(self) -> (Vec<u8>, InspectedCsr) {
        (self.der, self.inspected)
    }
}

/// Verifies the CSR's self-signature with an allowed algorithm.
fn self_signature(csr: &InspectedCsr, crypto: CryptoPolicy) -> Result<(), EnrollError> {
    let algorithm = SignatureAlgorithm::from_x509_algorithm(&csr.signature_algorithm_der)
        .map_err(|e| EnrollError::AlgorithmNotAllowed(e.to_string()))?;
    if algorithm.is_legacy() && !crypto.allows_legacy() {
        return Err(EnrollError::AlgorithmNotAllowed(format!(
            "CSR signed with {algorithm:?}"
        )));
    }
    keys::verify::verify_signature(
        &csr.public_key_spki_der,
        algorithm,
        &csr.tbs_der,
        &csr.signature,
    )
    .map_err(|e| match signature_error(e) {
        EnrollError::BadSignature(_) => EnrollError::BadCsrSignature,
        weak_key => weak_key,
    })
}
