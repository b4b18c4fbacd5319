//! One PKIOperation, from the HTTP body to the signed CertRep: read the message, refuse what
//! is not on the allow-list of message types, verify the signature, open the envelope, hand
//! the content to the step for its message type, and put what it granted (or why not) on the
//! wire. The one place an error becomes a FAILURE reply and an audit entry.

use ledger::AuditKind;
use scep::{ContentCipher, MessageData, MessageType, MessageTypeField, PkiMessage, PkiStatus};

use crate::context::RequestContext;
use crate::enrollment::{self, RequestKind};
use crate::error::{BadEnvelope, EnrollError};
use crate::outcome::{ChallengeOutcome, Outcome, OutcomeResult, Trace};
use crate::record;
use crate::reply::{self, Granted, ReplyContext, ReplySigner};
use crate::service::Ra;
use crate::{lookup, pending, verify};

/// A signed CertRep, and whether it refuses a secret-dependent check.
#[derive(Debug)]
pub struct Reply {
    pub bytes: Vec<u8>,
    /// The serial of the certificate this SUCCESS carries (issued now, a retry, a poll,
    /// GetCert): it counts as delivered (RFC 8894 §8.4) only once the reply was written out,
    /// which the caller knows and the RA does not — see `Ra::record_delivered`.
    pub delivers: Option<String>,
    /// A wrong, used, expired or wrong-binding challenge, or an envelope that did not
    /// decrypt: what a guessing source produces (see [`EnrollError::is_secret_failure`]).
    pub secret_failure: bool,
    /// What became of the request, for metrics.
    pub outcome: Outcome,
}

impl Ra {
    /// Handles one PKIOperation body. `Err` means nothing could be read to answer with a
    /// signed CertRep (HTTP 400); every other outcome is a signed CertRep.
    pub async fn handle_pki_operation(
        &self,
        body: &[u8],
        context: &RequestContext,
    ) -> Result<Reply, BadEnvelope> {
        let message = match scep::parse_pki_message(body) {
            Ok(m) => m,
            Err(e) => {
                record::audit(
                    self.ledger(),
                    context,
                    AuditKind::RequestMalformed,
                    format!("unparseable: {e}"),
                )
                .await;
                return Err(BadEnvelope(e.to_string()));
            }
        };
        // Without a transactionID and a senderNonce we can echo, no CertRep can be built.
        let transaction_id = message.transaction_id.clone();
        let nonce = scep::validate_nonce(message.sender_nonce.as_deref()).map(<[u8]>::to_vec);
        let (Some(transaction_id), Ok(nonce)) = (transaction_id, nonce) else {
            record::audit(
                self.ledger(),
                context,
                AuditKind::RequestMalformed,
                "no transactionID, or senderNonce missing or not 1..=32 octets".into(),
            )
            .await;
            return Err(BadEnvelope(
                "transactionID and a 1..=32 octet senderNonce are required".into(),
            ));
        };
        let mut reply_context = ReplyContext {
            transaction_id: &transaction_id,
            recipient_nonce: &nonce,
            request_algorithm: None,
        };
        let signer = self.reply_signer();
        let mut trace = Trace::default();
        let outcome = self
            .process(&message, context, &mut reply_context, &mut trace)
            .await;
        let mut result = OutcomeResult::Success;
        let mut delivers = None;
        let built = match outcome {
            Ok((
                Granted::Certificate {
                    certificate,
                    cipher,
                },
                requester,
            )) => {
                // The serial of a certificate issued just now is known; a retry, poll or
                // GetCert answer parses it again.
                delivers = match trace.issued_serial.take() {
                    Some(serial) => Some(serial),
                    None => scep::parse_certificate_lenient(&certificate)
                        .ok()
                        .map(|c| crate::facts::serial_hex(&c.serial)),
                };
                scep::build_certs_only(&[certificate])
                    .map_err(|e| EnrollError::Internal(format!("certs-only: {e}")))
                    .and_then(|inner| success(&signer, &reply_context, &requester, cipher, &inner))
            }
            Ok((Granted::Pending, _)) => {
                result = OutcomeResult::Pending;
                reply::cert_rep(&signer, &reply_context, PkiStatus::Pending, None, None)
            }
            Ok((Granted::Crl { crl, cipher }, requester)) => scep::build_crls_only(&[crl])
                .map_err(|e| EnrollError::Internal(format!("CRL reply: {e}")))
                .and_then(|inner| success(&signer, &reply_context, &requester, cipher, &inner)),
            Err(error) => Err(error),
        };
        let mut outcome = Outcome {
            message_type: message.message_type.known(),
            template: trace.template,
            result,
            challenge: trace.challenge,
            verifier: trace.verifier,
        };
        let error = match built {
            Ok(bytes) => {
                return Ok(Reply {
                    bytes,
                    delivers,
                    secret_failure: false,
                    outcome,
                });
            }
            Err(error) => error,
        };
        let kind = match &error {
            EnrollError::Challenge(_)
            | EnrollError::BindingViolated(_)
            | EnrollError::Vouching { .. } => AuditKind::ChallengeRejected,
            EnrollError::Internal(_) => AuditKind::InternalError,
            _ => AuditKind::EnrollmentRefused,
        };
        tracing::info!(transaction_id = %transaction_id, peer = %context.peer, reason = %error, "enrollment refused");
        record::audit(
            self.ledger(),
            context,
            kind,
            format!("transaction {transaction_id}: {error}"),
        )
        .await;
        let (fail_info, text) = error.wire();
        let secret_failure = error.is_secret_failure();
        outcome.result = OutcomeResult::Failure(fail_info);
        if let Some(challenge) = ChallengeOutcome::of_error(&error) {
            outcome.challenge = Some(challenge);
        }
        reply::cert_rep(
            &signer,
            &reply_context,
            PkiStatus::Failure(fail_info),
            Some(text),
            None,
        )
        .map(|bytes| Reply {
            bytes,
            delivers: None,
            secret_failure,
            outcome,
        })
        .map_err(|e| {
            tracing::error!(error = %e, "could not sign a FAILURE reply");
            BadEnvelope("internal error".into())
        })
    }

    async fn process(
        &self,
        message: &PkiMessage,
        context: &RequestContext,
        reply_context: &mut ReplyContext<'_>,
        trace: &mut Trace,
    ) -> Result<(Granted, scep::LenientCertificate), EnrollError> {
        // The allow-list comes first: an unimplemented type never reaches any other check
        // (step-ca CVE-2026-30836 issued certificates for type 18 without a challenge).
        let message_type = match &message.message_type {
            MessageTypeField::Known(t) if *t != MessageType::CertRep => *t,
            MessageTypeField::Known(t) => {
                return Err(EnrollError::UnsupportedMessageType(format!("{t:?}")));
            }
            MessageTypeField::Unsupported(raw) => {
                return Err(EnrollError::UnsupportedMessageType(raw.clone()));
            }
        };
        let crypto = self.config().crypto;
        let signature = verify::outer_signature(message, crypto)?;
        reply_context.request_algorithm = Some(signature.algorithm());
        let envelope = scep::parse_envelope(signature.signed_content())
            .map_err(|_| EnrollError::Undecipherable)?;
        let decrypted =
            verify::open_envelope(&envelope, &self.recipient_keys(context.now), crypto)?;
        let data = scep::parse_message_data(message_type, &decrypted.plaintext)
            .map_err(|_| EnrollError::Undecipherable)?;
        let transaction_id = reply_context.transaction_id;
        let cipher = decrypted.cipher;
        let granted = match (message_type, data) {
            (MessageType::PkcsReq, MessageData::CertificationRequest(csr)) => {
                let kind = RequestKind::PkcsReq;
                enrollment::enroll(
                    self,
                    kind,
                    csr,
                    &signature,
                    transaction_id,
                    context,
                    cipher,
                    trace,
                )
                .await?
            }
            (MessageType::RenewalReq, MessageData::CertificationRequest(csr)) => {
                let kind = RequestKind::RenewalReq;
                enrollment::enroll(
                    self,
                    kind,
                    csr,
                    &signature,
                    transaction_id,
                    context,
                    cipher,
                    trace,
                )
                .await?
            }
            (
                MessageType::CertPoll,
                MessageData::IssuerAndSubject {
                    issuer_der,
                    subject_der,
                },
            ) => {
                pending::poll(
                    self,
                    &signature,
                    context,
                    transaction_id,
                    (&issuer_der, &subject_der),
                    cipher,
                    trace,
                )
                .await?
            }
            (MessageType::GetCert, MessageData::IssuerAndSerial { issuer_der, serial }) => {
                lookup::get_cert(
                    self.ledger(),
                    self.ca_certificates(),
                    &issuer_der,
                    &serial,
                    cipher,
                )
                .await?
            }
            (MessageType::GetCrl, MessageData::IssuerAndSerial { issuer_der, .. }) => {
                lookup::get_crl(self.ledger(), self.ca_certificates(), &issuer_der, cipher).await?
            }
            _ => return Err(EnrollError::Undecipherable),
        };
        Ok((granted, signature.into_signer()))
    }
}

/// A SUCCESS CertRep whose content is `inner` (a degenerate SignedData) encrypted to the
/// requester.
fn success(
    signer: &ReplySigner<'_>,
    context: &ReplyContext<'_>,
    requester: &scep::LenientCertificate,
    cipher: ContentCipher,
    inner: &[u8],
) -> Result<Vec<u8>, EnrollError> {
    let envelope = reply::envelope_to(requester, reply::reply_cipher(Some(cipher)), inner)?;
    reply::cert_rep(signer, context, PkiStatus::Success, None, Some(envelope))
}
