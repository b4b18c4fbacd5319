//! The counter-signing gate: the one way to a statement the CA will be handed. It takes the
//! proofs (see [`crate::proofs`]) and runs the policy under the template and binding they
//! carry; what passes is an [`Approved`] request, or one to hold for an officer first. A held
//! request comes back through here once approved, with what was recorded when it was held.

use sha2::{Digest as _, Sha256};

use crate::challenge_check::{ChallengeKind, ChallengeProof};
use crate::config::RaConfig;
use crate::error::EnrollError;
use crate::possession::CheckedCsr;
use crate::renewal::RenewedCertificate;
use crate::verify::VerifiedSignature;

/// A request the RA approved, ready to be counter-signed: its CSR, the template and binding
/// the policy decided it under, the challenge it spent (if any) and the certificate of who
/// asked. Made only here, from a verified signature, a checked CSR and a challenge proof (or
/// the certificate a renewal renews), or from a held request an officer approved, which
/// recorded those when it was held. Consumed by counter-signing.
///
/// ```compile_fail
/// // Outside the gate an approval cannot be written down, whatever a caller holds...
/// fn forge(csr_der: Vec<u8>, binding: policy::Binding) -> ra::proofs::Approved {
///     ra::proofs::Approved {
///         csr_der,
///         template: "device".to_owned(),
///         binding: Some(binding),
///         challenge: None,
///         requester_certificate_der: Vec::new(),
///         csr_validated_by: None,
///     }
/// }
/// ```
///
/// ```compile_fail
/// // ...nor made from a held request, approved or not: only the RA does that, on the poll.
/// fn forge(held: ledger::PendingRecord) -> ra::proofs::Approved {
///     ra::proofs::Approved::from_held(held).unwrap()
/// }
/// ```
#[derive(Debug)]
pub struct Approved {
    csr_der: Vec<u8>,
    template: String,
    /// `None` only for a request held before bindings were recorded (store schema 6).
    binding: Option<policy::Binding>,
    /// `None` for a renewal.
    challenge: Option<ChallengeKind>,
    requester_certificate_der: Vec<u8>,
    /// What validated the whole CSR, when the policy let names through only because of it
    /// (an Intune endpoint's verifier; a renewal of a certificate holding such names): the
    /// statement says so, and the CA decides it the same way.
    csr_validated_by: Option<&'static str>,
}

impl Approved {
    /// A held request an officer approved, as it was recorded when it was held: the binding
    /// and challenge it was accepted under go to the CA as if it were issued at once.
    pub(crate) fn from_held(record: ledger::PendingRecord) -> Result<Self, EnrollError> {
        if !matches!(record.state, ledger::PendingState::Approved { .. }) {
            return Err(EnrollError::Internal(format!(
                "held request {} is {}, not approved",
                record.id,
                record.state.as_str()
            )));
        }
        Ok(Self {
            csr_der: record.csr_der,
            template: record.template,
            binding: record.binding,
            challenge: record
                .challenge_hash
                .map(|hash| ChallengeKind::OneTime { hash }),
            requester_certificate_der: record.requester_certificate_der,
            // Requests an MDM validated are never held (see `endpoint::check_endpoints`).
            csr_validated_by: None,
        })
    }

    pub(crate) fn csr_der(&self) -> &[u8] {
        &self.csr_der
    }

    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    pub(crate) fn binding(&self) -> Option<&policy::Binding> {
        self.binding.as_ref()
    }

    pub(crate) fn challenge(&self) -> Option<&ChallengeKind> {
        self.challenge.as_ref()
    }

    pub(crate) fn requester_certificate_der(&self) -> &[u8] {
        &self.requester_certificate_der
    }

    pub(crate) fn csr_validated_by(&self) -> Option<&'static str> {
        self.csr_validated_by
    }

    /// What is left once the statement is signed: the challenge, which the record of the
    /// certificate spends.
    pub(crate) fn into_challenge(self) -> Option<ChallengeKind> {
        self.challenge
    }
}

/// An approved request whose template wants an officer first. It can only be recorded as a
/// held request (`pending::hold`); it returns as [`Approved`] once an officer approved it.
#[derive(Debug)]
pub(crate) struct ForApproval {
    request: Approved,
    /// The requested subject and SANs, as the officer reads them.
    subject: String,
    sans: Vec<String>,
}

impl ForApproval {
    pub(crate) fn request(&self) -> &Approved {
        &self.request
    }

    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    pub(crate) fn sans(&self) -> &[String] {
        &self.sans
    }
}

/// What the gate lets through.
#[derive(Debug)]
pub(crate) enum Admitted {
    CounterSign(Approved),
    /// The template wants manual approval.
    Hold(ForApproval),
}

/// PKCSReq: the policy decides the CSR under the template and binding of its challenge.
pub(crate) fn enrollment(
    config: &RaConfig,
    signature: &VerifiedSignature<'_>,
    csr: CheckedCsr,
    challenge: ChallengeProof,
) -> Result<Admitted, EnrollError> {
    // A challenge vouches for the key that signed the message; a CSR whose key did not is
    // someone else's request replayed (see `DecryptedCsr::check_signed_by_its_key`).
    if !csr.signed_the_message() {
        return Err(EnrollError::NoProofOfPossession);
    }
    let (kind, template_name, binding) = challenge.into_parts();
    let template = config.template(&template_name)?;
    let validated_by = kind
        .vouched_by()
        .filter(|vouched| vouched.csr_validated)
        .map(|vouched| vouched.kind);
    let vouching = match validated_by {
        Some(_) => policy::Vouching::CsrValidated,
        None => policy::Vouching::None,
    };
    let facts = &csr.inspected().facts;
    let profile = match policy::decide_vouched(facts, &template, Some(&binding), vouching) {
        policy::Decision::Issue(profile) => profile,
        policy::Decision::Refuse(refusal) => return Err(refusal_error(&refusal)),
    };
    let admission = Admission {
        manual_approval: profile.manual_approval,
        template: template_name,
        binding,
        challenge: Some(kind),
        csr_validated_by: validated_by.filter(|_| profile.mdm_vouched),
    };
    Ok(admit(admission, csr, signature))
}

/// RenewalReq: the old certificate's template and names bound the new one (renewal window,
/// grace, new key: `policy::renewal_decision`).
pub(crate) fn renewal(
    config: &RaConfig,
    signature: &VerifiedSignature<'_>,
    csr: CheckedCsr,
    old: RenewedCertificate,
    now: i64,
) -> Result<Admitted, EnrollError> {
    let (template_name, binding, old_facts, old_extended_key_usages) = old.into_parts();
    let template = config.template(&template_name)?;
    let new_key_sha256: [u8; 32] = Sha256::digest(&csr.inspected().public_key_spki_der).into();
    let decision = policy::renewal_decision_with_ekus(
        &old_facts,
        &old_extended_key_usages,
        &csr.inspected().facts,
        &new_key_sha256,
        &template,
        now,
    );
    let profile = match decision {
        policy::Decision::Issue(profile) => profile,
        policy::Decision::Refuse(refusal) => {
            return Err(EnrollError::Renewal(refusal.reason.to_string()));
        }
    };
    let admission = Admission {
        manual_approval: profile.manual_approval,
        template: template_name,
        binding,
        challenge: None,
        // The old certificate is the proof of names an MDM vouched for when it was issued.
        csr_validated_by: profile.mdm_vouched.then_some(RENEWAL_OF_VALIDATED),
    };
    Ok(admit(admission, csr, signature))
}

/// The statement's word for a renewal that keeps names an MDM validated for the certificate
/// it renews.
const RENEWAL_OF_VALIDATED: &str = "renewal";

/// What the policy decided for a request, besides the CSR and who signed it.
struct Admission {
    manual_approval: bool,
    template: String,
    binding: policy::Binding,
    challenge: Option<ChallengeKind>,
    csr_validated_by: Option<&'static str>,
}

fn admit(admission: Admission, csr: CheckedCsr, signature: &VerifiedSignature<'_>) -> Admitted {
    let (csr_der, inspected) = csr.into_parts();
    let Admission {
        manual_approval,
        template,
        binding,
        challenge,
        csr_validated_by,
    } = admission;
    let request = Approved {
        csr_der,
        template,
        binding: Some(binding),
        challenge,
        requester_certificate_der: signature.signer_certificate_der().to_vec(),
        csr_validated_by,
    };
    if !manual_approval {
        return Admitted::CounterSign(request);
    }
    Admitted::Hold(ForApproval {
        request,
        subject: inspected.subject_display,
        sans: crate::facts::san_texts(&inspected.facts),
    })
}

/// Maps a policy refusal for a challenge-authorised request. A name or template outside the
/// challenge's binding is a challenge failure: it must look exactly like a wrong challenge,
/// or the answer would tell an attacker holding a stolen challenge what it is bound to.
fn refusal_error(refusal: &policy::Refusal) -> EnrollError {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use scep::{MessageData, MessageType};

    use super::*;
    use crate::challenge_check::InsecureMode;
    use crate::config::{CryptoPolicy, InsecureChallenges};
    use crate::possession::DecryptedCsr;
    use crate::test_support::{Device, csr, device, now, pki_message};

    /// A PKCSReq for `csr` signed by `signer`, as the signature check reads it.
    fn signed_by(signer: &Device, csr: &[u8]) -> scep::PkiMessage {
        let message = pki_message(
            signer,
            &signer.certificate,
            MessageType::PkcsReq,
            "gate-tx",
            &MessageData::CertificationRequest(csr.to_vec()),
        );
        scep::parse_pki_message(&message).unwrap()
    }

    /// The no-challenge insecure mode: a challenge proof that binds no names, for a CSR
    /// without a challenge.
    fn no_challenge(csr: &CheckedCsr) -> ChallengeProof {
        let insecure = InsecureChallenges {
            no_challenge_template: Some(policy::Template::DEVICE.into()),
            static_challenge: None,
        };
        crate::challenge_check::check(&insecure, csr, None).unwrap()
    }

    #[test]
    fn a_challenge_only_admits_a_csr_whose_key_signed_the_message() {
        let crypto = CryptoPolicy::default();
        let config = RaConfig::default();
        let (device, stranger) = (device(), device());
        let csr = csr(&device, "CN=gate-device", "gate.example", None);

        // A stranger re-wraps the device's CSR under its own key: the PKCSReq check refuses,
        // and a CSR checked only for its self-signature (as a renewal's is) does not get
        // through the challenge gate either.
        let message = signed_by(&stranger, &csr);
        let signature = crate::verify::outer_signature(&message, crypto).unwrap();
        let read = || DecryptedCsr::read(csr.clone()).unwrap();
        assert!(matches!(
            read().check_signed_by_its_key(&signature, crypto),
            Err(EnrollError::NoProofOfPossession)
        ));
        let self_signed_only = read().check_self_signature(crypto).unwrap();
        let proof = no_challenge(&self_signed_only);
        assert!(matches!(
            enrollment(&config, &signature, self_signed_only, proof),
            Err(EnrollError::NoProofOfPossession)
        ));

        // Signed by the device itself: approved, carrying what the proofs carried.
        let message = signed_by(&device, &csr);
        let signature = crate::verify::outer_signature(&message, crypto).unwrap();
        let checked = read().check_signed_by_its_key(&signature, crypto).unwrap();
        let proof = no_challenge(&checked);
        let approved = match enrollment(&config, &signature, checked, proof).unwrap() {
            Admitted::CounterSign(approved) => approved,
            Admitted::Hold(held) => panic!("held: {held:?}"),
        };
        assert_eq!(approved.csr_der(), csr.as_slice());
        assert_eq!(approved.template(), policy::Template::DEVICE);
        assert_eq!(
            approved.binding(),
            Some(&policy::Binding {
                template: Some(policy::Template::DEVICE.into()),
                subject: None,
                sans: Vec::new(),
            })
        );
        assert_eq!(
            approved.challenge(),
            Some(&ChallengeKind::Insecure(InsecureMode::NoChallenge))
        );
        assert_eq!(approved.requester_certificate_der(), device.certificate);
    }

    #[test]
    fn only_an_approved_held_request_passes_the_gate() {
        let binding = policy::Binding {
            template: Some(policy::Template::DEVICE.into()),
            subject: Some("CN=held".into()),
            sans: vec!["dns:held.example".into()],
        };
        let record = |state| ledger::PendingRecord {
            id: 7,
            transaction_id: "held-tx".into(),
            signer_key_sha256: [1; 32],
            request_sha256: [2; 32],
            csr_der: vec![0x30, 0x00],
            template: policy::Template::DEVICE.into(),
            subject: "CN=held".into(),
            sans: vec!["dns:held.example".into()],
            challenge_hash: Some([3; 32]),
            binding: Some(binding.clone()),
            requester_certificate_der: vec![0x30, 0x01],
            created_at: now(),
            state,
        };
        for waiting in [
            ledger::PendingState::Pending,
            ledger::PendingState::Denied {
                by: "officer".into(),
                at: now(),
                reason: "no".into(),
            },
        ] {
            assert!(matches!(
                Approved::from_held(record(waiting)),
                Err(EnrollError::Internal(_))
            ));
        }
        let approved = Approved::from_held(record(ledger::PendingState::Approved {
            by: "officer".into(),
            at: now(),
        }))
        .unwrap();
        // What was recorded when it was held reaches the statement: the binding, and the
        // challenge it spent (named in the statement by its audit id).
        assert_eq!(approved.binding(), Some(&binding));
        assert_eq!(
            approved.challenge(),
            Some(&ChallengeKind::OneTime { hash: [3; 32] })
        );
    }
}
