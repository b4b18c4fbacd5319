//! `scepd ca`: the CA service of a split deployment. It holds the CA key only, and answers
//! counter-signed statements from registered RAs (DESIGN.md §2; catalogue F):
//!
//! 1. the TLS handshake admits only a registered, unrevoked RA TLS certificate (checked in
//!    the handshake, [`super::ca_link::tls::AllowListVerifier`]);
//! 2. the RA of that connection is looked up again (revoked since the handshake: refused);
//! 3. the statement must be signed by *that* RA's registered signing certificate, which must be
//!    ours, unexpired, with the Certificate Request Agent EKU; the statement fresh
//!    ([`ca::Ca::verify_statement_from`]);
//! 4. the RA must be authorised for the statement's template;
//! 5. the nonce must be new (a replay of the same statement gets the recorded answer back,
//!    never a second certificate; another statement with a used nonce is refused);
//! 6. [`ca::Ca::issue`] re-inspects the CSR (the one in the signed statement: a swapped CSR
//!    breaks the signature) and applies the template, which always wins.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use ca::CaRefusal;

use super::ca_link::protocol;
use super::ca_link::tls::AllowList;
use crate::config::Config;
use crate::config::deployment::Mode;
use crate::services::listener::Peer;
use crate::services::revocation::RevokeError;

/// How often the allow-list is re-read from the database (`scepd ca revoke-ra` in another
/// process takes effect within this).
pub const ALLOW_LIST_REFRESH: Duration = Duration::from_secs(2);

pub struct CaService {
    ca: Arc<ca::Ca>,
    store: store::Store,
    allow: Arc<AllowList>,
    ca_signer: Arc<dyn keys::Signer>,
    ca_certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    ra_validity_days: u32,
    /// The CA's CRL and OCSP answers; the certificates table it reads is filled as
    /// statements are answered (so `scepd cert list|show|revoke` work on this host).
    revocation: Arc<crate::services::revocation::Revocation>,
}

/// A refusal with its detail.
fn refused(make: fn(String) -> CaRefusal, reason: impl Into<String>) -> CaRefusal {
    make(reason.into())
}

/// The one conversion of a refusal to the link's wire form.
fn refusal_response(refusal: CaRefusal) -> Response {
    let status = StatusCode::from_u16(refusal.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = protocol::Refusal {
        version: protocol::VERSION,
        code: refusal.wire_code().to_owned(),
        bad_alg: refusal.is_bad_alg(),
        reason: refusal.reason().to_owned(),
    };
    (status, axum::Json(body)).into_response()
}

/// Loads the CA key alone (the RA keys are not on this host).
fn load_ca_key(dir: &Path, config: &Config) -> Result<Arc<dyn keys::Signer>, String> {
    use keys::KeyRole;
    match config.keys.backend {
        crate::config::KeyBackend::Software => {
            let path = dir.join(&config.keys.ca_key);
            let key = match crate::keystore::passphrase(dir, config)? {
                Some(p) => keys::software::SoftwareKey::load_encrypted(
                    KeyRole::CaSigning,
                    &path,
                    p.as_bytes(),
                ),
                None => keys::software::SoftwareKey::load(KeyRole::CaSigning, &path),
            }
            .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Arc::new(key))
        }
        crate::config::KeyBackend::Pkcs11 => {
            let token = crate::keystore::open_token(dir, config)?;
            let label = &config.pkcs11.ca_key_label;
            let key = token
                .load_key(KeyRole::CaSigning, label)
                .map_err(|e| format!("PKCS#11 key {label:?}: {e}"))?;
            Ok(Arc::new(key))
        }
    }
}

/// Serial, subject and validity of a certificate, for an answer.
fn describe(der: &[u8]) -> Result<(String, String, i64, i64), String> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| format!("certificate: {e}"))?;
    let tbs = cert.tbs_certificate();
    let secs = |t: &x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    Ok((
        hex::encode(tbs.serial_number().as_bytes()),
        tbs.subject().to_string(),
        secs(&tbs.validity().not_before),
        secs(&tbs.validity().not_after),
    ))
}

fn issued_answer(
    der: &[u8],
    template: &str,
    replayed: bool,
) -> Result<protocol::Issued, CaRefusal> {
    let (serial, subject, not_before, not_after) =
        describe(der).map_err(|e| refused(CaRefusal::Internal, e))?;
    Ok(protocol::Issued {
        version: protocol::VERSION,
        certificate: protocol::b64(der),
        serial,
        subject,
        not_before,
        not_after,
        template: template.to_owned(),
        replayed,
    })
}

/// The CA's record of a certificate it signed for `statement`, with the audit entry naming
/// the RA and the facts the RA stated it checked.
fn statement_issuance(
    cert: &ca::IssuedCertificate,
    statement: &request::statement::RaStatement,
    ra_name: &str,
    now: i64,
) -> store::StatementIssuance {
    store::StatementIssuance {
        serial_hex: cert.serial_hex.clone(),
        certificate_der: cert.der.clone(),
        subject_key_sha256: cert.subject_key_sha256,
        subject: cert.subject.clone(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        template: cert.template.clone(),
        transaction_id: statement.transaction_id.clone(),
        issued_at: now,
        audit: store::AuditEvent {
            at: now,
            kind: store::AuditKind::CertificateIssued,
            actor: format!("ra:{ra_name}"),
            detail: format!(
                "serial {} subject {} template {} for RA {ra_name}: {}",
                cert.serial_hex,
                cert.subject,
                cert.template,
                statement_facts(statement)
            ),
        },
    }
}

/// What the RA stated it checked, for the audit entry.
fn statement_facts(statement: &request::statement::RaStatement) -> String {
    let mut out = format!("transaction {}", statement.transaction_id);
    if let Some(binding) = &statement.binding {
        if let Some(subject) = &binding.subject {
            out.push_str(&format!(", bound subject {subject:?}"));
        }
        if !binding.sans.is_empty() {
            out.push_str(&format!(", bound SANs {}", binding.sans.join(",")));
        }
    }
    match &statement.requester {
        Some(r) => {
            if let Some(id) = &r.challenge_id {
                out.push_str(&format!(", challenge {id}"));
            }
            out.push_str(&format!(
                ", requester certificate SHA-256 {}",
                hex::encode(r.certificate_sha256)
            ));
            if let Some(source) = &r.source {
                out.push_str(&format!(", source {source:?}"));
            }
        }
        None => out.push_str(", statement version 1 (no requester facts)"),
    }
    out
}

impl CaService {
    /// Builds the service from a data directory prepared with `scepd init --mode ca`.
    pub async fn load(dir: &Path) -> Result<(Arc<CaService>, Config), String> {
        let config = Config::load(dir).map_err(|e| e.to_string())?;
        if config.deployment.mode != Mode::Ca {
            return Err(format!(
                "{} is prepared for {}, not scepd ca (deployment.mode)",
                dir.display(),
                config.deployment.mode.command()
            ));
        }
        let ca_certificate = crate::pem::read_certificate(&dir.join(&config.keys.ca_certificate))?;
        let chain = match &config.keys.ca_chain {
            Some(path) => crate::pem::read_certificates(&dir.join(path))?,
            None => Vec::new(),
        };
        let signer = load_ca_key(dir, &config)?;
        let templates = crate::config::templates::build(&config.templates)?;
        let mut ca = ca::Ca::new(
            Arc::clone(&signer),
            ca_certificate.clone(),
            templates,
            Vec::new(),
        )
        .map_err(|e| format!("CA: {e}"))?
        .with_legacy_sha1_csr_signatures(
            config.crypto.legacy_crypto || config.crypto.insecure_single_des,
        )
        .with_chain(chain.clone())
        .map_err(|e| format!("CA chain: {e}"))?;
        for previous in crate::key_history::previous_ca_certificates(dir)? {
            ca = ca
                .with_previous(previous)
                .map_err(|e| format!("previous CA: {e}"))?;
        }
        let store = config.open_store(dir).await?;
        let revocation = Arc::new(crate::services::revocation::Revocation::new(
            Arc::clone(&signer),
            ca_certificate.clone(),
            store.clone(),
        ));
        let service = Arc::new(CaService {
            ca: Arc::new(ca),
            revocation,
            store,
            allow: Arc::new(AllowList::default()),
            ca_signer: signer,
            ca_certificate,
            chain,
            ra_validity_days: config.ca_service.ra_validity_days,
        });
        service.refresh_allow_list().await?;
        Ok((service, config))
    }

    /// Re-reads the registered, unrevoked RA TLS certificates.
    pub async fn refresh_allow_list(&self) -> Result<(), String> {
        let ras = self
            .store
            .ra_registrations()
            .await
            .map_err(|e| format!("RA registry: {e}"))?;
        let set: HashSet<[u8; 32]> = ras
            .iter()
            .filter(|ra| ra.is_active())
            .filter_map(|ra| ra.certificates.as_ref().map(|c| c.tls_sha256))
            .collect();
        self.allow.replace(set);
        Ok(())
    }

    async fn audit(&self, kind: store::AuditKind, actor: &str, detail: String) {
        crate::audit_trail::append_or_log(&self.store, kind, actor, detail).await;
    }

    /// The active RA whose TLS client certificate has this SHA-256 (it may have been revoked
    /// since the handshake).
    async fn connected_ra(
        &self,
        client_certificate: Option<[u8; 32]>,
    ) -> Result<store::RaRecord, CaRefusal> {
        let Some(fingerprint) = client_certificate else {
            return Err(refused(
                CaRefusal::RaNotRegistered,
                "no TLS client certificate",
            ));
        };
        match self.store.ra_by_tls_certificate(&fingerprint).await {
            Ok(Some(ra)) if ra.is_active() => Ok(ra),
            Ok(_) => Err(refused(
                CaRefusal::RaNotRegistered,
                "the TLS client certificate belongs to no active RA",
            )),
            Err(e) => Err(refused(CaRefusal::Internal, format!("RA registry: {e}"))),
        }
    }

    /// Revokes a certificate for an RA: only one of a template the RA is authorised for
    /// (the template never changes after issuance). Committed, with its audit entry naming
    /// the RA and who asked there, before the answer; the CRL is renewed at once.
    pub async fn revoke_for(
        &self,
        client_certificate: Option<[u8; 32]>,
        request: protocol::Revoke,
        now: i64,
    ) -> Result<protocol::Revoked, CaRefusal> {
        let ra = self.connected_ra(client_certificate).await?;
        if request.version != protocol::VERSION {
            return Err(refused(
                CaRefusal::BadRequest,
                format!("protocol version {} is not supported", request.version),
            ));
        }
        let internal = |e: store::StoreError| refused(CaRefusal::Internal, e.to_string());
        let entry = self
            .store
            .certificate_entry(&request.serial)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                refused(
                    CaRefusal::UnknownSerial,
                    format!("no certificate with serial {}", request.serial),
                )
            })?;
        let template = &entry.certificate.template;
        let actor = format!("ra:{}", ra.name);
        if !ra.templates.contains(template) {
            tracing::warn!(ra = %ra.name, serial = %request.serial, template = %template, "revocation outside the RA's templates refused");
            self.audit(
                store::AuditKind::EnrollmentRefused,
                &actor,
                format!(
                    "revocation of {} (template {template}) refused: RA {} is not authorised for it",
                    entry.certificate.serial_hex, ra.name
                ),
            )
            .await;
            return Err(refused(
                CaRefusal::TemplateNotAuthorized,
                format!(
                    "RA {:?} is not authorised for template {template:?}",
                    ra.name
                ),
            ));
        }
        if let Some(first) = &entry.revocation {
            return Ok(protocol::Revoked {
                version: protocol::VERSION,
                serial: entry.certificate.serial_hex.clone(),
                reason: first.reason.as_str().to_owned(),
                revoked_at: first.revoked_at,
                already_revoked: true,
            });
        }
        // The requester's name is the RA's claim; the RA itself is what the TLS layer proved.
        let requested_by: String = request
            .requested_by
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        let record = match self
            .revocation
            .revoke(
                &entry.certificate.serial_hex,
                &request.reason,
                now,
                &format!("{actor} ({requested_by})"),
            )
            .await
        {
            Ok(record) => record,
            Err(RevokeError::UnknownReason(r)) => {
                return Err(refused(
                    CaRefusal::BadRequest,
                    format!("unknown revocation reason {r:?}"),
                ));
            }
            // Lost a race with another revocation: the first one stands.
            Err(RevokeError::AlreadyRevoked(_)) => {
                let again = self
                    .store
                    .certificate_entry(&entry.certificate.serial_hex)
                    .await
                    .map_err(internal)?
                    .and_then(|e| e.revocation)
                    .ok_or_else(|| refused(CaRefusal::Internal, "revocation vanished"))?;
                return Ok(protocol::Revoked {
                    version: protocol::VERSION,
                    serial: entry.certificate.serial_hex.clone(),
                    reason: again.reason.as_str().to_owned(),
                    revoked_at: again.revoked_at,
                    already_revoked: true,
                });
            }
            Err(e) => return Err(refused(CaRefusal::Internal, e.to_string())),
        };
        tracing::info!(ra = %ra.name, serial = %record.serial_hex, reason = record.reason.as_str(), "certificate revoked for an RA");
        Ok(protocol::Revoked {
            version: protocol::VERSION,
            serial: record.serial_hex,
            reason: record.reason.as_str().to_owned(),
            revoked_at: record.revoked_at,
            already_revoked: false,
        })
    }

    /// Answers one statement that arrived on a connection whose client certificate has the
    /// SHA-256 `client_certificate`.
    pub async fn answer_statement(
        &self,
        client_certificate: Option<[u8; 32]>,
        statement: Vec<u8>,
        now: i64,
    ) -> Result<protocol::Issued, CaRefusal> {
        let ra = self.connected_ra(client_certificate).await?;
        let Some(certificates) = &ra.certificates else {
            return Err(refused(CaRefusal::RaNotRegistered, "RA not registered"));
        };
        let actor = format!("ra:{}", ra.name);
        let result = self
            .decide(&ra, certificates.signing.clone(), statement, now)
            .await;
        match &result {
            Ok(issued) if issued.replayed => {
                self.audit(
                    store::AuditKind::CertificateResent,
                    &actor,
                    format!("replayed statement answered with serial {}", issued.serial),
                )
                .await;
            }
            // Audited with the certificate row, in one transaction (see `decide`).
            Ok(_) => {}
            Err(refused) => {
                tracing::warn!(ra = %ra.name, code = refused.wire_code(), reason = refused.reason(), "statement refused");
                self.audit(
                    store::AuditKind::EnrollmentRefused,
                    &actor,
                    format!("{}: {}", refused.wire_code(), refused.reason()),
                )
                .await;
            }
        }
        result
    }

    async fn decide(
        &self,
        ra: &store::RaRecord,
        signing_certificate: Vec<u8>,
        statement: Vec<u8>,
        now: i64,
    ) -> Result<protocol::Issued, CaRefusal> {
        let statement_sha256: [u8; 32] = Sha256::digest(&statement).into();
        let ca = Arc::clone(&self.ca);
        let verified = tokio::task::spawn_blocking(move || {
            ca.verify_statement_from(&statement, now, &[signing_certificate])
        })
        .await
        .map_err(|e| refused(CaRefusal::Internal, format!("CA task: {e}")))?
        .map_err(|e| refused(CaRefusal::StatementRejected, e.to_string()))?;
        let template = verified.statement().template.clone();
        if !ra.templates.contains(&template) {
            return Err(refused(
                CaRefusal::TemplateNotAuthorized,
                format!(
                    "RA {:?} is not authorised for template {template:?}",
                    ra.name
                ),
            ));
        }
        let nonce_sha256: [u8; 32] = Sha256::digest(&verified.statement().nonce).into();
        let claim = self
            .store
            .claim_statement(&nonce_sha256, &statement_sha256, &ra.name, now)
            .await
            .map_err(|e| refused(CaRefusal::Internal, format!("statement log: {e}")))?;
        match claim {
            store::StatementClaim::Claimed => {}
            store::StatementClaim::Seen {
                same_statement: true,
                ra_name,
                outcome,
            } if ra_name == ra.name => {
                return match outcome {
                    store::StatementOutcome::Issued { certificate } => {
                        issued_answer(&certificate, &template, true)
                    }
                    store::StatementOutcome::Refused { refusal, bad_alg } => Err(if bad_alg {
                        CaRefusal::BadAlgorithm(refusal)
                    } else {
                        CaRefusal::Policy(refusal)
                    }),
                    store::StatementOutcome::Pending => Err(refused(
                        CaRefusal::InProgress,
                        "this statement is being processed",
                    )),
                };
            }
            store::StatementClaim::Seen { .. } => {
                return Err(refused(
                    CaRefusal::NonceReused,
                    "the statement's nonce was already used",
                ));
            }
        }
        let facts = verified.statement().clone();
        let ca = Arc::clone(&self.ca);
        let issued = tokio::task::spawn_blocking(move || ca.issue(verified, now))
            .await
            .map_err(|e| refused(CaRefusal::Internal, format!("CA task: {e}")));
        let outcome = match &issued {
            Ok(Ok(cert)) => store::StatementOutcome::Issued {
                certificate: cert.der.clone(),
            },
            Ok(Err(e)) => store::StatementOutcome::Refused {
                refusal: e.to_string(),
                bad_alg: e.is_bad_alg(),
            },
            Err(e) => store::StatementOutcome::Refused {
                refusal: e.reason().to_owned(),
                bad_alg: false,
            },
        };
        // Recorded before the answer leaves: a replay gets exactly this. A certificate is
        // recorded as the CA's own (listing, revocation, CRL, OCSP), with its audit entry.
        let finished = match &issued {
            Ok(Ok(cert)) => {
                let record = statement_issuance(cert, &facts, &ra.name, now);
                self.store
                    .finish_statement_issued(&nonce_sha256, &record)
                    .await
            }
            _ => self.store.finish_statement(&nonce_sha256, &outcome).await,
        };
        finished.map_err(|e| refused(CaRefusal::Internal, format!("statement log: {e}")))?;
        match issued? {
            Ok(cert) => issued_answer(&cert.der, &cert.template, false),
            Err(e) => Err(if e.is_bad_alg() {
                CaRefusal::BadAlgorithm(e.to_string())
            } else {
                CaRefusal::Policy(e.to_string())
            }),
        }
    }

    /// Registers an RA with its one-time code: issues its certificates (signing, enrollment
    /// agent, encryption, TLS client) and puts its TLS certificate on the allow-list; the
    /// agent's certificate is the one its statements must be signed with.
    pub async fn register(
        &self,
        request: protocol::Registration,
        now: i64,
    ) -> Result<protocol::Registered, CaRefusal> {
        let refuse = |why: String| CaRefusal::RegistrationRefused(why);
        if request.version != protocol::VERSION {
            return Err(refuse(format!(
                "protocol version {} is not supported",
                request.version
            )));
        }
        let code_sha256: [u8; 32] = Sha256::digest(request.code.trim().as_bytes()).into();
        let ra = self
            .store
            .ra_registration_by_code(&code_sha256, now)
            .await
            .map_err(|e| refused(CaRefusal::Internal, format!("RA registry: {e}")))?
            .ok_or_else(|| refuse("unknown, used or expired registration code".into()))?;
        let signing = protocol::unb64(&request.signing_spki, "signing_spki").map_err(refuse)?;
        let agent = request
            .agent_spki
            .as_deref()
            .map(|b64| protocol::unb64(b64, "agent_spki"))
            .transpose()
            .map_err(refuse)?;
        let encryption =
            protocol::unb64(&request.encryption_spki, "encryption_spki").map_err(refuse)?;
        let tls = protocol::unb64(&request.tls_spki, "tls_spki").map_err(refuse)?;
        let ca_spki = self.ca_signer.public_key_spki_der();
        // One key, one job: distinct keys, none of them the CA's.
        let mut given = vec![
            ("signing", &signing),
            ("encryption", &encryption),
            ("tls", &tls),
        ];
        if let Some(agent) = &agent {
            given.push(("agent", agent));
        }
        let distinct = (1..given.len()).all(|i| given[..i].iter().all(|(_, k)| *k != given[i].1));
        if !distinct || given.iter().any(|(_, k)| k.as_slice() == ca_spki) {
            return Err(refuse(
                "the RA's keys must be distinct and none of them the CA's (one key, one job)"
                    .into(),
            ));
        }
        for (what, spki) in &given {
            keys::verify::describe_public_key(spki)
                .map_err(|e| refuse(format!("{what} key: {e}")))?;
        }
        let signer = self.ca_signer.as_ref();
        let days = self.ra_validity_days;
        let name = &ra.name;
        let issue = |spki: &[u8], cn: String, purpose| {
            ca::dev::issue_ra_certificate(signer, &self.ca_certificate, spki, &cn, purpose, days)
                .map_err(|e| refuse(format!("{cn}: {e}")))
        };
        let signing_certificate = issue(
            &signing,
            if agent.is_some() {
                format!("scepd RA {name} signing")
            } else {
                format!("scepd RA {name} enrollment agent")
            },
            ca::dev::RaCertPurpose::Signing,
        )?;
        let agent_certificate = agent
            .as_ref()
            .map(|spki| {
                issue(
                    spki,
                    format!("scepd RA {name} enrollment agent"),
                    ca::dev::RaCertPurpose::Agent,
                )
            })
            .transpose()?;
        let encryption_certificate = issue(
            &encryption,
            format!("scepd RA {name} CEP encryption"),
            ca::dev::RaCertPurpose::Encryption,
        )?;
        let tls_certificate = ca::dev::issue_tls_certificate(
            signer,
            &self.ca_certificate,
            &tls,
            &format!("scepd RA {name} TLS client"),
            ca::dev::TlsPurpose::Client,
            &[],
            &[],
            days,
        )
        .map_err(|e| refuse(format!("TLS client certificate: {e}")))?;
        let certificates = store::RaCertificates {
            signing: agent_certificate
                .clone()
                .unwrap_or_else(|| signing_certificate.clone()),
            encryption: encryption_certificate.clone(),
            tls_sha256: super::ca_link::tls::fingerprint(&tls_certificate),
            tls: tls_certificate.clone(),
        };
        let done = self
            .store
            .complete_ra_registration(&code_sha256, &certificates, now)
            .await
            .map_err(|e| refused(CaRefusal::Internal, format!("RA registry: {e}")))?;
        if !done {
            return Err(refuse(
                "the registration code was used or expired meanwhile".into(),
            ));
        }
        self.allow.insert(certificates.tls_sha256);
        self.audit(
            store::AuditKind::ConfigChanged,
            &format!("ra:{name}"),
            format!(
                "RA {name} registered for templates {}: counter-signing {} TLS {}",
                ra.templates.join(","),
                ca::fingerprint_sha256(&certificates.signing),
                ca::fingerprint_sha256(&tls_certificate)
            ),
        )
        .await;
        Ok(protocol::Registered {
            version: protocol::VERSION,
            name: ra.name.clone(),
            templates: ra.templates.clone(),
            ca_certificate: protocol::b64(&self.ca_certificate),
            ca_chain: self.chain.iter().map(|c| protocol::b64(c)).collect(),
            signing_certificate: protocol::b64(&signing_certificate),
            agent_certificate: agent_certificate.as_deref().map(protocol::b64),
            encryption_certificate: protocol::b64(&encryption_certificate),
            tls_certificate: protocol::b64(&tls_certificate),
        })
    }
}

async fn issue_handler(
    State(service): State<Arc<CaService>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    match service
        .answer_statement(
            peer.client_certificate,
            body.to_vec(),
            crate::clock::unix_now(),
        )
        .await
    {
        Ok(issued) => axum::Json(issued).into_response(),
        Err(refused) => refusal_response(refused),
    }
}

async fn revoke_handler(
    State(service): State<Arc<CaService>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let request: protocol::Revoke = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refusal_response(refused(CaRefusal::BadRequest, format!("body: {e}")));
        }
    };
    match service
        .revoke_for(peer.client_certificate, request, crate::clock::unix_now())
        .await
    {
        Ok(revoked) => axum::Json(revoked).into_response(),
        Err(refused) => refusal_response(refused),
    }
}

/// The CA's current CRL, for an RA to serve (`/crl`, GetCRL).
async fn crl_handler(
    State(service): State<Arc<CaService>>,
    Extension(peer): Extension<Peer>,
) -> Response {
    if let Err(refused) = service.connected_ra(peer.client_certificate).await {
        return refusal_response(refused);
    }
    match service.revocation.crl(crate::clock::unix_now()).await {
        Ok(crl) => (
            [(axum::http::header::CONTENT_TYPE, "application/pkix-crl")],
            crl,
        )
            .into_response(),
        Err(e) => refusal_response(refused(CaRefusal::Internal, format!("CRL: {e}"))),
    }
}

/// An OCSP request relayed by an RA, answered with the CA key.
async fn ocsp_handler(
    State(service): State<Arc<CaService>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    if let Err(refused) = service.connected_ra(peer.client_certificate).await {
        return refusal_response(refused);
    }
    let answer = service
        .revocation
        .ocsp(&body, crate::clock::unix_now())
        .await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/ocsp-response",
        )],
        answer,
    )
        .into_response()
}

async fn register_handler(
    State(service): State<Arc<CaService>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let request: protocol::Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refusal_response(CaRefusal::RegistrationRefused(format!("body: {e}")));
        }
    };
    match service.register(request, crate::clock::unix_now()).await {
        Ok(registered) => {
            tracing::info!(ra = %registered.name, peer = %peer.addr, "RA registered");
            axum::Json(registered).into_response()
        }
        Err(refused) => {
            tracing::warn!(peer = %peer.addr, reason = refused.reason(), "RA registration refused");
            refusal_response(refused)
        }
    }
}

fn tls_identity(
    dir: &Path,
    config: &Config,
    service: &CaService,
) -> Result<(Vec<Vec<u8>>, std::path::PathBuf), String> {
    let mut chain = vec![crate::pem::read_certificate(
        &dir.join(&config.ca_service.tls_certificate),
    )?];
    // The CA certificate travels in the chain: a registering RA finds its pin there.
    chain.push(service.ca_certificate.clone());
    chain.extend(service.chain.iter().cloned());
    Ok((chain, dir.join(&config.ca_service.tls_key)))
}

/// A client that trickles its request body (the listener bounds only the head) loses the
/// connection with a 408, as on the SCEP and admin listeners.
fn request_timeout() -> tower_http::timeout::TimeoutLayer {
    tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        crate::services::listener::REQUEST_TIMEOUT,
    )
}

/// Serves until SIGINT/SIGTERM.
pub async fn run(
    dir: &Path,
    listen: Option<SocketAddr>,
    registration_listen: Option<SocketAddr>,
) -> Result<(), String> {
    let (service, config) = CaService::load(dir).await?;
    let (chain, key_path) = tls_identity(dir, &config, &service)?;
    let mut client_roots = vec![service.ca_certificate.clone()];
    client_roots.extend(crate::key_history::previous_ca_certificates(dir)?);
    let statement_tls = super::ca_link::tls::statement_server_config(
        chain.clone(),
        crate::services::tls::read_key(&key_path)?,
        &client_roots,
        Arc::clone(&service.allow),
    )?;
    let addr = listen.unwrap_or(config.ca_service.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let statements = Router::new()
        .route(protocol::ISSUE_PATH, post(issue_handler))
        .route(protocol::REVOKE_PATH, post(revoke_handler))
        .route(protocol::CRL_PATH, get(crl_handler))
        .route(protocol::OCSP_PATH, post(ocsp_handler))
        .layer(DefaultBodyLimit::max(request::statement::MAX_STATEMENT_LEN))
        .layer(request_timeout())
        .with_state(Arc::clone(&service));

    let limits = crate::services::listener::Limits::from(&config.connections);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let registration = match registration_listen.or(config.ca_service.registration_listen) {
        Some(raddr) => {
            let tls = super::ca_link::tls::registration_server_config(
                chain,
                crate::services::tls::read_key(&key_path)?,
            )?;
            let rlistener = tokio::net::TcpListener::bind(raddr)
                .await
                .map_err(|e| format!("cannot listen on {raddr}: {e}"))?;
            let rlocal = rlistener.local_addr().map_err(|e| e.to_string())?;
            let app = Router::new()
                .route(protocol::REGISTER_PATH, post(register_handler))
                .layer(DefaultBodyLimit::max(16 * 1024))
                .layer(request_timeout())
                .with_state(Arc::clone(&service));
            let shutdown = wait(stopped.clone());
            tokio::spawn(crate::services::listener::serve(
                rlistener,
                crate::services::listener::Transport::Tls(Arc::new(tls)),
                app,
                crate::services::listener::ConnectionTracker::new("ca-registration", limits),
                shutdown,
            ));
            Some(rlocal)
        }
        None => None,
    };
    service.revocation.spawn_publisher();
    {
        let service = Arc::clone(&service);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(ALLOW_LIST_REFRESH) => {}
                    _ = stopped.changed() => return,
                }
                if let Err(e) = service.refresh_allow_list().await {
                    tracing::error!(error = %e, "RA allow-list refresh failed; keeping the previous one");
                }
            }
        });
    }
    service
        .audit(
            store::AuditKind::ServiceStarted,
            "scepd ca",
            format!("CA service: statements on {local}, registration on {registration:?}"),
        )
        .await;
    if let Some(r) = registration {
        println!(
            "scepd ca registration listening: https://{r}{}",
            protocol::REGISTER_PATH
        );
    }
    println!(
        "scepd ca listening: https://{local}{}",
        protocol::ISSUE_PATH
    );
    crate::services::listener::serve(
        listener,
        crate::services::listener::Transport::Tls(Arc::new(statement_tls)),
        statements,
        crate::services::listener::ConnectionTracker::new("ca-statements", limits),
        crate::services::listener::shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    Ok(())
}
