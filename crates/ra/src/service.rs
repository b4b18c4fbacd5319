//! The RA itself: what it holds (its configuration, its keys and certificates parsed once, its
//! ledger and the CA) and its entry points other than a PKIOperation. The steps of a request
//! live in their own modules and borrow from here only what they need.

use std::sync::Arc;

use ledger::ra::RaLedger;

use crate::authority::CertificateAuthority;
use crate::config::{RaConfig, RaIdentity};
use crate::countersign::CounterSigner;
use crate::endpoint::{Endpoint, EndpointConfigError, check_endpoints};
use crate::error::EnrollError;
use crate::reply::{self, ReplySigner};
use crate::verify::RecipientKey;

/// The registration authority.
pub struct Ra {
    config: RaConfig,
    identity: RaIdentity,
    /// The current encryption key first, then the previous ones.
    encryption: Vec<EncryptionKey>,
    /// The current CA certificate first, then the previous ones.
    ca_certificates: Vec<scep::LenientCertificate>,
    ledger: Arc<dyn RaLedger>,
    ca: Arc<dyn CertificateAuthority>,
    /// The named SCEP endpoints (`/scep/NAME`).
    endpoints: Vec<Endpoint>,
    /// The issuing CA's subject, RFC 4514, as verifiers are told it.
    issuer_name: String,
}

/// An RA encryption key with its certificate, parsed once.
struct EncryptionKey {
    certificate: scep::LenientCertificate,
    decrypter: Arc<dyn keys::Decrypter>,
    /// `None` for the current key (its expiry is the operator's to watch, `scepd doctor`);
    /// a previous key stops opening envelopes at its certificate's notAfter.
    not_after: Option<i64>,
}

impl EncryptionKey {
    fn usable_at(&self, now: i64) -> bool {
        self.not_after.is_none_or(|not_after| now < not_after)
    }
}

impl Ra {
    pub fn new(
        config: RaConfig,
        identity: RaIdentity,
        ledger: Arc<dyn RaLedger>,
        ca: Arc<dyn CertificateAuthority>,
    ) -> Result<Self, EnrollError> {
        let current = EncryptionKey {
            certificate: scep::parse_certificate_lenient(&identity.encryption_certificate)
                .map_err(|e| EnrollError::Internal(format!("RA encryption certificate: {e}")))?,
            decrypter: Arc::clone(&identity.decrypter),
            not_after: None,
        };
        let mut encryption = vec![current];
        for (i, (decrypter, certificate)) in identity.previous_encryption.iter().enumerate() {
            encryption.push(previous_encryption_key(i, decrypter, certificate)?);
        }
        let mut ca_certificates = Vec::new();
        for (i, der) in std::iter::once(&identity.ca_certificate)
            .chain(&identity.previous_ca_certificates)
            .enumerate()
        {
            let what = if i == 0 {
                "CA certificate".to_owned()
            } else {
                format!("previous CA certificate #{i}")
            };
            ca_certificates.push(
                scep::parse_certificate_lenient(der)
                    .map_err(|e| EnrollError::Internal(format!("{what}: {e}")))?,
            );
        }
        let issuer_name = ca_certificates
            .first()
            .map(|ca| issuer_display(&ca.subject_der))
            .unwrap_or_default();
        Ok(Self {
            config,
            identity,
            encryption,
            ca_certificates,
            ledger,
            ca,
            endpoints: Vec::new(),
            issuer_name,
        })
    }

    /// The RA with these named endpoints besides the default one. Refused: invalid or
    /// repeated names, unknown templates, a verifier in front of a manual-approval template.
    pub fn with_endpoints(mut self, endpoints: Vec<Endpoint>) -> Result<Self, EndpointConfigError> {
        check_endpoints(&self.config, &endpoints)?;
        self.endpoints = endpoints;
        Ok(self)
    }

    /// Records that the certificate `serial_hex` was delivered at `now`: the reply carrying
    /// it ([`crate::Reply::delivers`]) was written out in full. A failure is logged: the
    /// certificate then stays listed as uncollected, which a retry corrects.
    pub async fn record_delivered(&self, serial_hex: &str, now: i64) {
        crate::record::mark_delivered(self.ledger(), serial_hex, now).await;
    }

    /// The named endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The named endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The issuing CA's subject, RFC 4514.
    pub(crate) fn issuer_name(&self) -> &str {
        &self.issuer_name
    }

    pub fn identity(&self) -> &RaIdentity {
        &self.identity
    }

    /// The GetNextCACert reply body: `next_certificates` (the next CA certificate and the next
    /// RA certificates, DER) in a SignedData signed by the current RA signing key. The caller
    /// decides what is "next" (`scepd ca rollover`, `scepd ra renew`); an empty list is an
    /// error, as there is then nothing to announce (answer GetNextCACert with 404 instead).
    pub fn next_ca_certificates_reply(
        &self,
        next_certificates: &[Vec<u8>],
    ) -> Result<Vec<u8>, EnrollError> {
        reply::next_ca_certificates(&self.reply_signer(), next_certificates)
    }

    pub(crate) fn config(&self) -> &RaConfig {
        &self.config
    }

    /// What the RA keeps and reads (see [`RaLedger`]).
    pub(crate) fn ledger(&self) -> &dyn RaLedger {
        self.ledger.as_ref()
    }

    /// The current CA certificate first, then the previous ones.
    pub(crate) fn ca_certificates(&self) -> &[scep::LenientCertificate] {
        &self.ca_certificates
    }

    /// The encryption keys that may open an envelope at `now`, the current one first.
    pub(crate) fn recipient_keys(&self, now: i64) -> Vec<RecipientKey<'_>> {
        self.encryption
            .iter()
            .filter(|k| k.usable_at(now))
            .map(|k| RecipientKey {
                certificate: &k.certificate,
                decrypter: k.decrypter.as_ref(),
            })
            .collect()
    }

    /// The key and certificate CertReps are signed with.
    pub(crate) fn reply_signer(&self) -> ReplySigner<'_> {
        ReplySigner {
            signer: self.identity.signer.as_ref(),
            certificate: &self.identity.signing_certificate,
        }
    }

    /// The enrollment agent and the CA it hands counter-signed statements to.
    pub(crate) fn counter_signer(&self) -> CounterSigner<'_> {
        CounterSigner {
            agent: self.identity.agent.as_ref(),
            agent_certificate: &self.identity.agent_certificate,
            statement_ttl_secs: self.config.statement_ttl_secs,
            ca: self.ca.as_ref(),
        }
    }
}

/// A Name (DER) as RFC 4514 text; the hex of the DER if it does not parse (it did, as the
/// CA certificate was read before).
fn issuer_display(name_der: &[u8]) -> String {
    use der::Decode as _;
    x509_cert::name::Name::from_der(name_der)
        .map(|name| name.to_string())
        .unwrap_or_else(|_| hex::encode(name_der))
}

/// A previous RA encryption key: its certificate must hold its public key (a key paired
/// with the wrong certificate would silently fail every envelope addressed to it).
fn previous_encryption_key(
    index: usize,
    decrypter: &Arc<dyn keys::Decrypter>,
    certificate_der: &[u8],
) -> Result<EncryptionKey, EnrollError> {
    use der::Decode as _;
    let what = format!("previous RA encryption certificate #{}", index + 1);
    let certificate = scep::parse_certificate_lenient(certificate_der)
        .map_err(|e| EnrollError::Internal(format!("{what}: {e}")))?;
    if certificate.spki_der != decrypter.public_key_spki_der() {
        return Err(EnrollError::Internal(format!(
            "{what}: its public key is not the key given with it"
        )));
    }
    let not_after = x509_cert::Certificate::from_der(certificate_der)
        .map_err(|e| EnrollError::Internal(format!("{what}: {e}")))?
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs();
    Ok(EncryptionKey {
        certificate,
        decrypter: Arc::clone(decrypter),
        not_after: Some(i64::try_from(not_after).unwrap_or(i64::MAX)),
    })
}
