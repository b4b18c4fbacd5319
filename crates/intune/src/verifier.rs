//! Intune as the RA's challenge verifier: `validateRequest` decides, `successNotification`
//! must answer `Success` before the certificate leaves, `failureNotification` tells Intune
//! when issuing failed after it vouched.

use std::sync::Arc;

use vouch::{
    ChallengeQuestion, ChallengeVerifier, IssuedFacts, VerifierFuture, VerifierRefusal, Vouched,
};

use crate::client::IntuneClient;
use crate::error::IntuneError;

/// The HRESULT Intune is told when issuing failed after it validated a request: E_FAIL
/// (MS-ERREF §2.1.1); the description says what failed.
pub const ISSUANCE_FAILED_HRESULT: u32 = 0x8000_4005;

/// The verifier of an endpoint with `challenge = "intune"`.
#[derive(Debug, Clone)]
pub struct IntuneVerifier {
    client: Arc<IntuneClient>,
}

impl IntuneVerifier {
    pub fn new(client: Arc<IntuneClient>) -> Self {
        Self { client }
    }

    /// The client, for the revocation poller that shares its tokens and discovery.
    pub fn client(&self) -> &Arc<IntuneClient> {
        &self.client
    }
}

impl From<IntuneError> for VerifierRefusal {
    /// Intune's own code for a refusal; everything else (no answer, an answer outside the
    /// contract, a token Entra ID would not give) is "unavailable": fail closed either way.
    fn from(error: IntuneError) -> Self {
        match error {
            IntuneError::Refused {
                code, description, ..
            } => VerifierRefusal::Refused {
                code,
                detail: description,
            },
            other => VerifierRefusal::Unavailable(other.to_string()),
        }
    }
}

impl ChallengeVerifier for IntuneVerifier {
    fn kind(&self) -> &'static str {
        "intune"
    }

    /// Intune validated the whole CSR against the device's SCEP profile: it vouches for the
    /// names in it (`csr_validated`), within what the endpoint's template allows.
    fn verify<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
    ) -> VerifierFuture<'a, Result<Vouched, VerifierRefusal>> {
        Box::pin(async move {
            self.client
                .validate_request(&question.transaction_id, &question.csr_der)
                .await?;
            Ok(Vouched {
                binding: policy::Binding {
                    template: Some(question.template.clone()),
                    subject: None,
                    sans: Vec::new(),
                },
                csr_validated: true,
                spend_once: None,
                by: "intune".to_owned(),
            })
        })
    }

    fn issued<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        issued: &'a IssuedFacts,
    ) -> VerifierFuture<'a, Result<(), VerifierRefusal>> {
        Box::pin(async move {
            self.client
                .send_success_notification(&question.transaction_id, &question.csr_der, issued)
                .await?;
            Ok(())
        })
    }

    fn failed<'a>(
        &'a self,
        question: &'a ChallengeQuestion,
        description: &'a str,
    ) -> VerifierFuture<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self
                .client
                .send_failure_notification(
                    &question.transaction_id,
                    &question.csr_der,
                    ISSUANCE_FAILED_HRESULT,
                    description,
                )
                .await
            {
                tracing::warn!(transaction_id = %question.transaction_id, %error,
                    "telling Intune that issuing failed did not work");
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::{Call, Failure, Step};

    #[test]
    fn intune_s_code_is_the_refusal_s_code_and_everything_else_is_unavailable() {
        let refused: VerifierRefusal = IntuneError::Refused {
            call: Call::ValidateRequest,
            url: "https://u".into(),
            code: "SubjectNameMismatch".into(),
            description: "CN differs".into(),
        }
        .into();
        assert_eq!(
            refused,
            VerifierRefusal::Refused {
                code: "SubjectNameMismatch".into(),
                detail: "CN differs".into()
            }
        );
        assert_eq!(refused.code(), "SubjectNameMismatch");

        let unavailable: VerifierRefusal = IntuneError::Unavailable {
            step: Step::Call(Call::SuccessNotification),
            url: "https://u/ScepActions/successNotification".into(),
            failure: Failure::Status {
                status: 500,
                detail: String::new(),
            },
        }
        .into();
        assert_eq!(unavailable.code(), "unavailable");
        assert!(unavailable.to_string().contains("successNotification"));

        let missing: VerifierRefusal = IntuneError::ServiceNotFound {
            service: "PkiConnectorFEService",
            url: "https://g".into(),
        }
        .into();
        assert_eq!(missing.code(), "unavailable");
    }
}
