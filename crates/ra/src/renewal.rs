//! Renewal authentication: the signer certificate must be one we issued (our CA's signature
//! and our database row) and not revoked; whether it is inside its template's renewal window
//! or grace period, and what the renewed certificate may contain, is the policy's
//! `renewal_decision`. A certificate from another CA is never enough (micromdm #117). What
//! passes is a [`RenewedCertificate`]: for a renewal, the proof the counter-signing gate takes
//! in place of a challenge (see [`crate::proofs`]).

use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::error::EnrollError;

/// The certificate being renewed, as our records know it: one we issued, not revoked, that
/// signed the renewal request. Its template and names bound the new certificate. Only
/// `renewal::check_provenance` makes one; the counter-signing gate consumes it.
///
/// ```compile_fail
/// // Outside the RA a certificate cannot be declared ours, whatever a caller holds.
/// fn forge(binding: policy::Binding, facts: policy::RenewalFacts) -> ra::proofs::RenewedCertificate {
///     ra::proofs::RenewedCertificate {
///         template: "device".to_owned(),
///         binding,
///         facts,
///         extended_key_usages: Vec::new(),
///         serial_hex: String::new(),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct RenewedCertificate {
    template: String,
    binding: policy::Binding,
    facts: policy::RenewalFacts,
    /// The old certificate's extended key usages, dotted: an EKU only an MDM could vouch
    /// for (IPsec tunnel) is kept only if the old certificate had it.
    extended_key_usages: Vec<String>,
    /// The old certificate's serial: its holder proved possession of it by signing.
    serial_hex: String,
}

impl RenewedCertificate {
    /// The template the renewed certificate was issued under (and the new one will be).
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// The serial of the certificate renewed (lower-case hex).
    pub(crate) fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The template, the names as the certificate holds them, the facts the renewal
    /// decision needs and the old extended key usages, for the gate that consumes the proof.
    pub(crate) fn into_parts(self) -> (String, policy::Binding, policy::RenewalFacts, Vec<String>) {
        (
            self.template,
            self.binding,
            self.facts,
            self.extended_key_usages,
        )
    }
}

fn refuse(reason: &str) -> EnrollError {
    EnrollError::Renewal(reason.to_owned())
}

/// Proves the signer certificate was issued by us (by the current CA or, after a rollover, a
/// previous one: `cas`) and is still current.
pub(crate) async fn check_provenance(
    signer_der: &[u8],
    signer: &scep::LenientCertificate,
    cas: &[scep::LenientCertificate],
    ledger: &dyn ledger::ra::RaLedger,
    now: i64,
) -> Result<RenewedCertificate, EnrollError> {
    // After a CA rollover the previous and the current CA have the same name, and anyone can
    // make a CA of that name: the name picks the candidates, a CA key must verify.
    let candidates: Vec<&scep::LenientCertificate> = cas
        .iter()
        .filter(|ca| ca.subject_der == signer.issuer_der)
        .collect();
    if candidates.is_empty() {
        return Err(refuse("signer certificate not issued by our CA"));
    }
    let certificate =
        Certificate::from_der(signer_der).map_err(|_| refuse("signer certificate unreadable"))?;
    let tbs = certificate
        .tbs_certificate()
        .to_der()
        .map_err(|_| refuse("signer certificate unreadable"))?;
    let algorithm_der = certificate
        .signature_algorithm()
        .to_der()
        .map_err(|_| refuse("signer certificate unreadable"))?;
    let algorithm = keys::SignatureAlgorithm::from_x509_algorithm(&algorithm_der)
        .map_err(|_| refuse("signer certificate algorithm"))?;
    let signature = certificate.signature().raw_bytes();
    if !candidates
        .iter()
        .any(|ca| keys::verify::verify_signature(&ca.spki_der, algorithm, &tbs, signature).is_ok())
    {
        return Err(refuse("signer certificate not signed by our CA key"));
    }
    let serial_hex = crate::facts::serial_hex(&signer.serial);
    let record = ledger
        .find_certificate(&serial_hex)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?
        .ok_or_else(|| refuse("signer certificate not in our records"))?;
    if record.certificate_der != signer_der {
        return Err(refuse("signer certificate differs from our record"));
    }
    let revocation = ledger
        .revocation_status(&serial_hex)
        .await
        .map_err(|e| EnrollError::Internal(e.to_string()))?;
    if !matches!(revocation, ledger::RevocationStatus::Good) {
        return Err(refuse("signer certificate is revoked"));
    }
    let _ = now; // the window and grace are the template's: see policy::renewal_decision
    // Every name the old certificate holds binds the new one: the UPN and SID URI an MDM
    // vouched for too, which the template then decides again.
    let certified = request::certified_names(signer_der)
        .map_err(|_| refuse("signer certificate names unreadable"))?;
    let subject = policy::parse_subject_display(&record.subject)
        .map_err(|_| refuse("recorded subject unreadable"))?;
    let facts = policy::RenewalFacts {
        not_before: record.not_before,
        not_after: record.not_after,
        subject,
        sans: certified.sans,
        public_key_sha256: <sha2::Sha256 as sha2::Digest>::digest(&signer.spki_der).into(),
        template: record.template.clone(),
    };
    Ok(RenewedCertificate {
        template: record.template.clone(),
        binding: policy::Binding {
            template: Some(record.template),
            subject: Some(record.subject),
            sans: facts.binding_sans(),
        },
        facts,
        extended_key_usages: certified.extended_key_usages,
        serial_hex,
    })
}
