//! The CA proper: statement verification and issuance.

use std::sync::Arc;

use keys::{KeyRole, SignatureAlgorithm, Signer};
use policy::{Decision, Template, Vouching};
use request::answer::IssuedCertificate;
use request::{RaStatement, parse_statement};
use sha2::{Digest, Sha256};

use crate::constraints::{CaConstraints, Candidate};
use crate::error::{CaError, StatementRejection};
use crate::extensions;
use crate::serial::random_serial;
use crate::x509::{CertificateDraft, ParsedCertificate};
use crate::{CLOCK_SKEW_SECS, EKU_CERTIFICATE_REQUEST_AGENT};

/// How long an RA approval may be valid: long enough for the RA→CA hop, short enough that a
/// captured statement is useless soon (security-catalogue F4).
pub const MAX_STATEMENT_LIFETIME_SECS: i64 = 10 * 60;
/// How far in the future `approvedAt` may be (clock difference between RA and CA).
pub const STATEMENT_CLOCK_SKEW_SECS: i64 = 60;

const SECONDS_PER_DAY: i64 = 86_400;

/// The issuing CA: its key, its certificate, its templates and the RA certificates it accepts
/// statements from.
#[derive(Debug)]
pub struct Ca {
    signer: Arc<dyn Signer>,
    certificate_der: Vec<u8>,
    subject_der: Vec<u8>,
    spki_der: Vec<u8>,
    subject_key_identifier: Vec<u8>,
    not_after: i64,
    templates: Vec<Template>,
    trusted_ra_certs: Vec<Vec<u8>>,
    legacy_sha1_csr: bool,
    /// Issuer certificates of an intermediate CA, nearest first.
    chain: Vec<Vec<u8>>,
    /// The CA certificate and those of its chain, each with its constraints.
    constraints: Vec<CaConstraints>,
    /// CA certificates this CA replaced in a rollover.
    previous: Vec<PreviousCa>,
}

/// A CA certificate from before a rollover: its name and key still identify certificates it
/// issued.
#[derive(Debug)]
struct PreviousCa {
    certificate_der: Vec<u8>,
    subject_der: Vec<u8>,
    spki_der: Vec<u8>,
}

/// A statement whose RA signature, RA certificate and freshness were checked by
/// [`Ca::verify_statement`], the only place that makes one. [`Ca::issue`] takes it by value.
///
/// Nothing outside this module can make one from an unverified statement:
///
/// ```compile_fail
/// fn forge(statement: request::statement::RaStatement) -> ca::VerifiedStatement {
///     ca::VerifiedStatement {
///         statement,
///         ra_certificate_der: Vec::new(),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct VerifiedStatement {
    statement: RaStatement,
    ra_certificate_der: Vec<u8>,
}

impl VerifiedStatement {
    /// The approved statement (its transaction id and nonce key idempotence and replay checks).
    pub fn statement(&self) -> &RaStatement {
        &self.statement
    }

    /// The RA certificate that signed it.
    pub fn ra_certificate_der(&self) -> &[u8] {
        &self.ra_certificate_der
    }
}

impl Ca {
    /// A CA over `signer` (a [`KeyRole::CaSigning`] key whose public key is the one in
    /// `ca_cert_der`), with its templates and the allow-list of RA signing certificates.
    ///
    /// The CA certificate must be a CA (basicConstraints cA=TRUE) with a subjectKeyIdentifier,
    /// which issued certificates copy into their authorityKeyIdentifier. Its nameConstraints
    /// and EKU constraint, if any, are enforced by [`Ca::issue`].
    pub fn new(
        signer: Arc<dyn Signer>,
        ca_cert_der: Vec<u8>,
        templates: Vec<Template>,
        trusted_ra_certs: Vec<Vec<u8>>,
    ) -> Result<Ca, CaError> {
        if signer.role() != KeyRole::CaSigning {
            return Err(CaError::WrongRole(signer.role()));
        }
        let cert = ParsedCertificate::from_der(&ca_cert_der)
            .map_err(|_| CaError::Certificate("does not decode"))?;
        let spki_der = cert.spki_der()?;
        if spki_der != signer.public_key_spki_der() {
            return Err(CaError::Certificate(
                "the signing key is not the key of the CA certificate",
            ));
        }
        if !cert.is_ca() {
            return Err(CaError::Certificate("not a CA certificate (cA=TRUE)"));
        }
        let subject_key_identifier = match cert.extension(policy::oid::EXT_SUBJECT_KEY_IDENTIFIER) {
            Ok(Some((_, v))) => extensions::read_subject_key_identifier(v)?,
            _ => return Err(CaError::Certificate("no subjectKeyIdentifier")),
        };
        for (i, t) in templates.iter().enumerate() {
            if templates.iter().take(i).any(|o| o.name() == t.name()) {
                return Err(CaError::DuplicateTemplate(t.name().to_owned()));
            }
        }
        let constraints = vec![CaConstraints::of(&cert)?];
        Ok(Ca {
            signer,
            chain: Vec::new(),
            constraints,
            previous: Vec::new(),
            subject_der: cert.subject_der()?,
            not_after: cert.not_after(),
            certificate_der: ca_cert_der,
            spki_der,
            subject_key_identifier,
            templates,
            trusted_ra_certs,
            legacy_sha1_csr: false,
        })
    }

    /// Accept CSRs self-signed with SHA-1 (the operator's legacy opt-in; off by default).
    pub fn with_legacy_sha1_csr_signatures(mut self, allow: bool) -> Self {
        self.legacy_sha1_csr = allow;
        self
    }

    /// Adds the issuer certificates of an intermediate CA (nearest first, DER or PEM). They
    /// must link up from the CA certificate (name and signature); their nameConstraints and
    /// EKU constraints are enforced too. GetCACert serves them after the CA certificate.
    pub fn with_chain(mut self, chain: Vec<Vec<u8>>) -> Result<Self, CaError> {
        let cert = ParsedCertificate::from_der(&self.certificate_der)
            .map_err(|_| CaError::Certificate("does not decode"))?;
        let chain = crate::import::check_chain(cert, &chain, None)?;
        for c in &chain {
            let parsed = ParsedCertificate::from_der(c)
                .map_err(|_| CaError::Certificate("does not decode"))?;
            self.constraints.push(CaConstraints::of(&parsed)?);
        }
        self.chain = chain;
        Ok(self)
    }

    /// After a rollover (see [`crate::rollover`]): also recognise certificates issued by the
    /// previous CA certificate's key, in [`Ca::issued_by_us`] (renewals of devices enrolled
    /// before the switch) and for RA certificates in [`Ca::verify_statement`] (the allow-list
    /// still decides which RA certificates count). Can be called more than once.
    pub fn with_previous(mut self, previous_cert_der: Vec<u8>) -> Result<Self, CaError> {
        let cert = ParsedCertificate::from_der(&previous_cert_der)
            .map_err(|_| CaError::Certificate("the previous CA certificate does not decode"))?;
        if !cert.is_ca() {
            return Err(CaError::Certificate(
                "the previous CA certificate is not a CA certificate (cA=TRUE)",
            ));
        }
        self.previous.push(PreviousCa {
            subject_der: cert.subject_der()?,
            spki_der: cert.spki_der()?,
            certificate_der: previous_cert_der,
        });
        Ok(self)
    }

    /// The CA key, for the certificates the CA service issues to registering RAs.
    pub(crate) fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The CA certificate followed by its chain (nearest issuer first): what GetCACert serves
    /// besides the RA certificates.
    pub fn ca_certificates(&self) -> Vec<&[u8]> {
        std::iter::once(self.certificate_der.as_slice())
            .chain(self.chain.iter().map(Vec::as_slice))
            .collect()
    }

    /// The CA certificates given to [`Ca::with_previous`].
    pub fn previous_certificates(&self) -> Vec<&[u8]> {
        self.previous
            .iter()
            .map(|p| p.certificate_der.as_slice())
            .collect()
    }

    /// True when `cert_der` names this CA (or a previous one) as issuer and that CA's key
    /// verifies its signature. Validity and revocation are not checked here.
    pub fn issued_by_us(&self, cert_der: &[u8]) -> bool {
        ParsedCertificate::from_der(cert_der).is_ok_and(|c| self.issued_by_us_parsed(&c))
    }

    fn issued_by_us_parsed(&self, cert: &ParsedCertificate) -> bool {
        let Ok(issuer) = cert.issuer_der() else {
            return false;
        };
        std::iter::once((&self.subject_der, &self.spki_der))
            .chain(self.previous.iter().map(|p| (&p.subject_der, &p.spki_der)))
            .any(|(subject, spki)| issuer == *subject && cert.verify_signed_by(spki).is_ok())
    }

    /// The template called `name`.
    pub fn template(&self, name: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.name() == name)
    }

    /// Checks an RA statement: it parses; its signer certificate is byte-equal to an
    /// allow-listed RA certificate, issued by this CA (signature checked), within validity,
    /// with the Certificate Request Agent EKU and digitalSignature; the messageDigest matches;
    /// the signature over the signed attributes verifies; and it is fresh (approvedAt no more
    /// than 60 s ahead, notAfter not passed, at most 10 minutes between them).
    pub fn verify_statement(&self, der: &[u8], now: i64) -> Result<VerifiedStatement, CaError> {
        self.verify_statement_from(der, now, &self.trusted_ra_certs)
    }

    /// [`Ca::verify_statement`] against another allow-list: in the split deployment, the one
    /// signing certificate registered together with the TLS client certificate of the
    /// connection the statement came on (a statement of RA A sent over RA B's connection is
    /// refused as not allow-listed).
    pub fn verify_statement_from(
        &self,
        der: &[u8],
        now: i64,
        allowed_ra_certs: &[Vec<u8>],
    ) -> Result<VerifiedStatement, CaError> {
        let parsed = parse_statement(der).map_err(StatementRejection::Malformed)?;
        if !allowed_ra_certs.contains(&parsed.ra_certificate_der) {
            return Err(StatementRejection::NotAllowListed.into());
        }
        let ra = ParsedCertificate::from_der(&parsed.ra_certificate_der)
            .map_err(|_| StatementRejection::RaCertificate)?;
        if !self.issued_by_us_parsed(&ra) {
            return Err(StatementRejection::NotIssuedByCa.into());
        }
        if now < ra.not_before() || now > ra.not_after() {
            return Err(StatementRejection::RaCertificateValidity.into());
        }
        let is_agent = match ra.extension(policy::oid::EXT_EXTENDED_KEY_USAGE) {
            Ok(Some((_, v))) => extensions::read_extended_key_usage(v)
                .is_ok_and(|ekus| ekus.iter().any(|e| e == EKU_CERTIFICATE_REQUEST_AGENT)),
            _ => false,
        };
        if !is_agent {
            return Err(StatementRejection::NotEnrollmentAgent.into());
        }
        let signs = match ra.extension(policy::oid::EXT_KEY_USAGE) {
            Ok(Some((_, v))) => extensions::read_key_usage(v)
                .is_ok_and(|bits| bits & policy::key_usage::DIGITAL_SIGNATURE != 0),
            _ => false,
        };
        if !signs {
            return Err(StatementRejection::KeyUsage.into());
        }
        if !parsed.message_digest_ok {
            return Err(StatementRejection::MessageDigest.into());
        }
        let alg = SignatureAlgorithm::from_cms(
            &parsed.digest_algorithm_der,
            &parsed.signature_algorithm_der,
        )
        .map_err(StatementRejection::Signature)?;
        if alg.is_legacy() {
            return Err(StatementRejection::LegacyAlgorithm.into());
        }
        let ra_spki = ra
            .spki_der()
            .map_err(|_| StatementRejection::RaCertificate)?;
        keys::verify::verify_signature(
            &ra_spki,
            alg,
            &parsed.signed_attributes_der,
            &parsed.signature,
        )
        .map_err(StatementRejection::Signature)?;

        let s = &parsed.statement;
        if s.approved_at > now.saturating_add(STATEMENT_CLOCK_SKEW_SECS) {
            return Err(StatementRejection::NotYetValid.into());
        }
        if s.not_after < now {
            return Err(StatementRejection::Expired.into());
        }
        let lifetime = s.not_after.saturating_sub(s.approved_at);
        if !(0..=MAX_STATEMENT_LIFETIME_SECS).contains(&lifetime) {
            return Err(StatementRejection::LifetimeTooLong.into());
        }
        Ok(VerifiedStatement {
            statement: parsed.statement,
            ra_certificate_der: parsed.ra_certificate_der,
        })
    }

    /// Issues the certificate for a verified statement: the CSR is inspected and its
    /// self-signature verified again, the statement's template applied with
    /// `policy::decide_vouched` (with the statement's binding, and `Vouching::CsrValidated` iff
    /// the statement names a CSR validator), and the certificate built from the resulting profile
    /// only (the template's AIA and CRL distribution point URLs included, never the request's).
    /// notBefore is `now` − 5 minutes; notAfter is the template's validity from `now`,
    /// capped at the CA's own notAfter. A certificate that the nameConstraints or EKU
    /// constraint of the CA (or its chain) forbid is refused before signing
    /// ([`CaError::OutsideCaConstraints`]): verifiers would reject it.
    pub fn issue(
        &self,
        verified: VerifiedStatement,
        now: i64,
    ) -> Result<IssuedCertificate, CaError> {
        let statement = verified.statement;
        let csr = request::csr::inspect(&statement.csr)?;
        let alg = SignatureAlgorithm::from_x509(&csr.signature_algorithm_der)
            .map_err(CaError::CsrSignature)?;
        if alg.is_legacy() && !self.legacy_sha1_csr {
            return Err(CaError::CsrSignature(
                keys::VerifyError::UnsupportedAlgorithm(alg.oid().to_string()),
            ));
        }
        keys::verify::verify_signature(&csr.public_key_spki_der, alg, &csr.tbs_der, &csr.signature)
            .map_err(CaError::CsrSignature)?;

        let template = self
            .template(&statement.template)
            .ok_or_else(|| CaError::UnknownTemplate(statement.template.clone()))?;
        let binding = statement
            .binding
            .as_ref()
            .map(|b| b.to_policy(&statement.template));
        // Only a statement saying that the whole CSR was validated (version 3) lets a
        // template's MDM-vouched names through; the template still decides what they may be.
        let vouching = if statement.csr_validated_by.is_some() {
            Vouching::CsrValidated
        } else {
            Vouching::None
        };
        let profile = match policy::decide_vouched(&csr.facts, template, binding.as_ref(), vouching)
        {
            Decision::Issue(profile) => profile,
            Decision::Refuse(refusal) => return Err(CaError::Refused(refusal)),
        };

        let candidate = Candidate {
            subject_der: &csr.subject_der,
            dns_names: &profile.dns_names,
            ip_addresses: &profile.ip_addresses,
            emails: &profile.emails,
            upns: &profile.upns,
            uris: &profile.uris,
            extended_key_usages: &profile.extended_key_usages,
        };
        for c in &self.constraints {
            c.check(&candidate)?;
        }

        if now >= self.not_after {
            return Err(CaError::Certificate("the CA certificate has expired"));
        }
        let not_before = now.saturating_sub(CLOCK_SKEW_SECS);
        let not_after = now
            .saturating_add(i64::from(profile.validity_days) * SECONDS_PER_DAY)
            .min(self.not_after);

        let mut exts = vec![
            extensions::basic_constraints(false, None)?,
            extensions::key_usage(profile.key_usage_bits)?,
            extensions::extended_key_usage(&profile.extended_key_usages)?,
        ];
        if let Some(san) = extensions::subject_alt_name(
            &extensions::SanNames::of(&profile),
            csr.facts.subject.is_empty(),
        )? {
            exts.push(san);
        }
        exts.push(extensions::subject_key_identifier(
            &csr.public_key_spki_der,
        )?);
        exts.push(extensions::authority_key_identifier(
            &self.subject_key_identifier,
        )?);
        exts.extend(extensions::authority_info_access(
            profile.aia_ca_issuers_url.as_deref(),
            profile.ocsp_url.as_deref(),
        )?);
        exts.extend(extensions::crl_distribution_points(
            profile.crl_distribution_url.as_deref(),
        )?);

        let serial = random_serial()?;
        let der = CertificateDraft {
            serial: &serial,
            issuer_der: &self.subject_der,
            subject_der: &csr.subject_der,
            spki_der: &csr.public_key_spki_der,
            not_before,
            not_after,
            extensions: exts,
        }
        .sign(self.signer.as_ref())?;
        // The certificate carries the CSR's SubjectPublicKeyInfo byte for byte: its hash is
        // the certified key's, without parsing the certificate again.
        Ok(IssuedCertificate {
            der,
            serial_hex: hex::encode(serial),
            subject: csr.subject_display,
            not_before,
            not_after,
            template: profile.template,
            subject_key_sha256: Sha256::digest(&csr.public_key_spki_der).into(),
        })
    }
}
