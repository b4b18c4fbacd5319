//! RA registration: a one-time code opens a registration ([`CaService::open_registration`]),
//! the RA's public keys complete it ([`CaService::complete_registration`]): the CA issues the
//! RA's certificates and records them, with the templates the code was made for.

use std::sync::Arc;

use ledger::{AuditKind, RaCertificates, RaRecord};
use request::answer::CaRefusal;
use sha2::{Digest, Sha256};

use super::ca_service::{CaService, blocking};
use super::settings::Ras;
use crate::authority::Ca;
use crate::dev::{RaCertPurpose, TlsPurpose, issue_ra_certificate, issue_tls_certificate};
use crate::fingerprint::fingerprint_sha256;

/// The public keys a registering RA sends, DER SubjectPublicKeyInfo each. Without `agent` (an
/// RA of an earlier version) the signing key also counter-signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaPublicKeys {
    pub signing: Vec<u8>,
    pub agent: Option<Vec<u8>>,
    pub encryption: Vec<u8>,
    pub tls: Vec<u8>,
}

/// A registration that a valid one-time code opened: made only by
/// [`CaService::open_registration`], consumed by [`CaService::complete_registration`], so no
/// certificate is issued to an RA whose code was not checked first.
///
/// ```compile_fail
/// fn forge(ra: ledger::RaRecord) -> ca::service::OpenRegistration {
///     ca::service::OpenRegistration { code_sha256: [0; 32], ra }
/// }
/// ```
#[derive(Debug)]
pub struct OpenRegistration {
    code_sha256: [u8; 32],
    ra: RaRecord,
}

impl OpenRegistration {
    /// The name the RA was announced with (`scepd ca register-ra --name`).
    pub fn name(&self) -> &str {
        &self.ra.name
    }
}

/// What a registered RA gets (DER certificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredRa {
    pub name: String,
    pub templates: Vec<String>,
    /// Signs CertReps to devices (and counter-signs, when there is no agent certificate).
    pub signing_certificate: Vec<u8>,
    /// The enrollment agent's: with one, the only certificate whose statements the CA accepts
    /// from this RA.
    pub agent_certificate: Option<Vec<u8>>,
    pub encryption_certificate: Vec<u8>,
    pub tls_certificate: Vec<u8>,
    /// SHA-256 of `tls_certificate`: its entry on the TLS allow-list.
    pub tls_sha256: [u8; 32],
}

fn refused(why: impl Into<String>) -> CaRefusal {
    CaRefusal::RegistrationRefused(why.into())
}

impl CaService {
    /// The registration `code` opens: unspent and unexpired at `now`.
    pub async fn open_registration(
        &self,
        code: &str,
        now: i64,
    ) -> Result<OpenRegistration, CaRefusal> {
        if !matches!(self.settings().ras, Ras::Registry { .. }) {
            return Err(refused("this CA takes no RA registrations"));
        }
        let code_sha256: [u8; 32] = Sha256::digest(code.trim().as_bytes()).into();
        let ra = self
            .ledger()
            .ra_registration_by_code(&code_sha256, now)
            .await
            .map_err(|e| CaRefusal::Internal(format!("RA registry: {e}")))?
            .ok_or_else(|| refused("unknown, used or expired registration code"))?;
        Ok(OpenRegistration { code_sha256, ra })
    }

    /// Registers the RA: its keys must be distinct and none of them the CA's (one key, one
    /// job); the CA issues its certificates (signing, enrollment agent, encryption, TLS
    /// client), spends the code and records them, and audits the registration. The caller
    /// puts `tls_sha256` on the TLS allow-list.
    pub async fn complete_registration(
        &self,
        open: OpenRegistration,
        public_keys: RaPublicKeys,
        now: i64,
    ) -> Result<RegisteredRa, CaRefusal> {
        let Ras::Registry { ra_validity_days } = self.settings().ras else {
            return Err(refused("this CA takes no RA registrations"));
        };
        let ca_spki = self.ca().signer().public_key_spki_der();
        let mut given = vec![
            ("signing", &public_keys.signing),
            ("encryption", &public_keys.encryption),
            ("tls", &public_keys.tls),
        ];
        if let Some(agent) = &public_keys.agent {
            given.push(("agent", agent));
        }
        let distinct = (1..given.len()).all(|i| given[..i].iter().all(|(_, k)| *k != given[i].1));
        if !distinct || given.iter().any(|(_, k)| k.as_slice() == ca_spki) {
            return Err(refused(
                "the RA's keys must be distinct and none of them the CA's (one key, one job)",
            ));
        }
        for (what, spki) in &given {
            keys::verify::describe_public_key(spki)
                .map_err(|e| refused(format!("{what} key: {e}")))?;
        }
        let ca = Arc::clone(self.ca());
        let name = open.ra.name.clone();
        let issued =
            blocking(move || issue_certificates(&ca, &name, &public_keys, ra_validity_days))
                .await??;
        let tls_sha256: [u8; 32] = Sha256::digest(&issued.tls_certificate).into();
        let certificates = RaCertificates {
            signing: issued
                .agent_certificate
                .clone()
                .unwrap_or_else(|| issued.signing_certificate.clone()),
            encryption: issued.encryption_certificate.clone(),
            tls: issued.tls_certificate.clone(),
            tls_sha256,
        };
        let done = self
            .ledger()
            .complete_ra_registration(&open.code_sha256, &certificates, now)
            .await
            .map_err(|e| CaRefusal::Internal(format!("RA registry: {e}")))?;
        if !done {
            return Err(refused(
                "the registration code was used or expired meanwhile",
            ));
        }
        let ra = open.ra;
        let detail = format!(
            "RA {} registered for templates {}: counter-signing {} TLS {}",
            ra.name,
            ra.templates.join(","),
            fingerprint_sha256(&certificates.signing),
            fingerprint_sha256(&certificates.tls)
        );
        self.audit(
            AuditKind::ConfigChanged,
            &format!("ra:{}", ra.name),
            detail,
            now,
        )
        .await;
        Ok(RegisteredRa {
            name: ra.name,
            templates: ra.templates,
            signing_certificate: issued.signing_certificate,
            agent_certificate: issued.agent_certificate,
            encryption_certificate: issued.encryption_certificate,
            tls_certificate: issued.tls_certificate,
            tls_sha256,
        })
    }
}

/// The certificates of a registering RA.
struct Issued {
    signing_certificate: Vec<u8>,
    agent_certificate: Option<Vec<u8>>,
    encryption_certificate: Vec<u8>,
    tls_certificate: Vec<u8>,
}

/// Signs the RA's four certificates with the CA key (blocking).
fn issue_certificates(
    ca: &Ca,
    name: &str,
    public_keys: &RaPublicKeys,
    days: u32,
) -> Result<Issued, CaRefusal> {
    let signer = ca.signer();
    let ca_certificate = ca.certificate_der();
    let issue = |spki: &[u8], cn: String, purpose| {
        issue_ra_certificate(signer, ca_certificate, spki, &cn, purpose, days)
            .map_err(|e| refused(format!("{cn}: {e}")))
    };
    // An RA that registers without an agent key counter-signs with its reply signer.
    let (signing_name, signing_purpose) = if public_keys.agent.is_some() {
        (format!("scepd RA {name} signing"), RaCertPurpose::Signing)
    } else {
        (
            format!("scepd RA {name} enrollment agent"),
            RaCertPurpose::SigningAndAgent,
        )
    };
    let signing_certificate = issue(&public_keys.signing, signing_name, signing_purpose)?;
    let agent_certificate = public_keys
        .agent
        .as_ref()
        .map(|spki| {
            issue(
                spki,
                format!("scepd RA {name} enrollment agent"),
                RaCertPurpose::Agent,
            )
        })
        .transpose()?;
    let encryption_certificate = issue(
        &public_keys.encryption,
        format!("scepd RA {name} CEP encryption"),
        RaCertPurpose::Encryption,
    )?;
    let tls_certificate = issue_tls_certificate(
        signer,
        ca_certificate,
        &public_keys.tls,
        &format!("scepd RA {name} TLS client"),
        TlsPurpose::Client,
        &[],
        &[],
        days,
    )
    .map_err(|e| refused(format!("TLS client certificate: {e}")))?;
    Ok(Issued {
        signing_certificate,
        agent_certificate,
        encryption_certificate,
        tls_certificate,
    })
}
