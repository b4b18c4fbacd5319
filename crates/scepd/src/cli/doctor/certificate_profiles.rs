//! Each of scepd's own certificates carries the profile of its one job (DESIGN.md §2): the
//! CA signs certificates and CRLs; the RA signing certificate signs CertReps to devices
//! (digitalSignature, EKU emailProtection, so OpenSSL's S/MIME purpose accepts the replies);
//! the enrollment agent counter-signs for the CA (Certificate Request Agent EKU); devices
//! encrypt to the RA encryption certificate (keyEncipherment). A certificate that cannot do
//! its job fails; one that can but also could do another job, or that some clients refuse,
//! is a warning: data directories made before these profiles keep working, and
//! `scepd ra renew` gives them the profiles.

use std::path::Path;

use config::Config;
use config::deployment::Mode;
use der::Decode;
use keys::pem;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use super::finding::{Finding, Severity, finding};

const EKU_AGENT: &str = policy::oid::EKU_CERTIFICATE_REQUEST_AGENT;
const EKU_EMAIL: &str = policy::oid::EKU_EMAIL_PROTECTION;
const EKU_ANY: &str = policy::oid::EKU_ANY;
const RENEW: &str = "`scepd ra renew` issues one that fits";

/// The job a certificate of the data directory does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Signs certificates and CRLs.
    Ca,
    /// Signs CertReps to devices; a separate enrollment agent counter-signs.
    ReplySigning,
    /// Signs CertReps and counter-signs for the CA (no separate enrollment agent).
    ReplySigningAndAgent,
    /// Counter-signs approved requests for the CA.
    Agent,
    /// Devices encrypt their requests to it.
    Encryption,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Self::Ca => "CA certificate",
            Self::ReplySigning => "RA signing certificate",
            Self::ReplySigningAndAgent => "RA signing certificate (also the enrollment agent)",
            Self::Agent => "RA enrollment-agent certificate",
            Self::Encryption => "RA encryption certificate",
        }
    }
}

/// The profile checks of every certificate this host holds: the CA's on every host, the
/// RA's on an RA host and all-in-one.
pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    let keys = &config.keys;
    let mut jobs = vec![(Job::Ca, &keys.ca_certificate)];
    if config.deployment.mode != Mode::Ca {
        match &keys.ra_agent_certificate {
            Some(agent) => {
                jobs.push((Job::ReplySigning, &keys.ra_signing_certificate));
                jobs.push((Job::Agent, agent));
            }
            None => jobs.push((Job::ReplySigningAndAgent, &keys.ra_signing_certificate)),
        }
        jobs.push((Job::Encryption, &keys.ra_encryption_certificate));
    }
    jobs.into_iter()
        .map(|(job, path)| certificate_finding(job, &dir.join(path)))
        .collect()
}

fn certificate_finding(job: Job, path: &Path) -> Finding {
    let der = match pem::read_certificate(path) {
        Ok(der) => der,
        Err(e) => {
            return finding(
                "certs.profile",
                Severity::Fail,
                format!("{}: {e}", job.name()),
            );
        }
    };
    let (severity, problems) = assess(job, &der);
    let what = format!("{} {}", job.name(), path.display());
    if problems.is_empty() {
        finding(
            "certs.profile",
            severity,
            format!("{what}: its profile fits its job"),
        )
    } else {
        finding(
            "certs.profile",
            severity,
            format!("{what}: {}", problems.join("; ")),
        )
    }
}

/// What a certificate's extensions allow.
struct Profile {
    ca: bool,
    /// None: no keyUsage extension (any usage).
    key_usage: Option<KeyUsage>,
    /// None: no extendedKeyUsage extension (any purpose).
    ekus: Option<Vec<String>>,
}

impl Profile {
    fn read(der: &[u8]) -> Result<Self, String> {
        let certificate =
            Certificate::from_der(der).map_err(|e| format!("does not decode: {e}"))?;
        let tbs = certificate.tbs_certificate();
        let unreadable = |e: der::Error| format!("an extension does not decode: {e}");
        let ca = tbs
            .get_extension::<BasicConstraints>()
            .map_err(unreadable)?
            .is_some_and(|(_, bc)| bc.ca);
        let key_usage = tbs
            .get_extension::<KeyUsage>()
            .map_err(unreadable)?
            .map(|(_, ku)| ku);
        let ekus = tbs
            .get_extension::<ExtendedKeyUsage>()
            .map_err(unreadable)?
            .map(|(_, eku)| eku.0.iter().map(ToString::to_string).collect());
        Ok(Self {
            ca,
            key_usage,
            ekus,
        })
    }

    fn has_eku(&self, oid: &str) -> bool {
        self.ekus
            .as_ref()
            .is_some_and(|ekus| ekus.iter().any(|e| e == oid))
    }

    /// Whether OpenSSL's S/MIME purpose (`openssl cms -verify` by default) accepts the
    /// extendedKeyUsage: none at all, emailProtection or anyExtendedKeyUsage.
    fn smime_purpose_accepts(&self) -> bool {
        self.ekus.is_none() || self.has_eku(EKU_EMAIL) || self.has_eku(EKU_ANY)
    }

    fn signs(&self) -> Option<bool> {
        self.key_usage.map(|ku| ku.digital_signature())
    }
}

/// The worst severity and the problems of a certificate doing `job`; no problem: Pass.
pub fn assess(job: Job, der: &[u8]) -> (Severity, Vec<String>) {
    let profile = match Profile::read(der) {
        Ok(p) => p,
        Err(e) => return (Severity::Fail, vec![e]),
    };
    let mut problems = Problems {
        severity: Severity::Pass,
        found: Vec::new(),
    };
    if job == Job::Ca {
        ca_problems(&profile, &mut problems);
    } else {
        if profile.ca {
            problems.fail("is a CA certificate (cA=TRUE): an RA certificate must not issue");
        }
        match job {
            Job::ReplySigning | Job::ReplySigningAndAgent => {
                reply_signer_problems(job, &profile, &mut problems);
            }
            Job::Agent => agent_problems(&profile, &mut problems),
            Job::Encryption => encryption_problems(&profile, &mut problems),
            Job::Ca => {}
        }
    }
    (problems.severity, problems.found)
}

struct Problems {
    severity: Severity,
    found: Vec<String>,
}

impl Problems {
    fn fail(&mut self, problem: impl Into<String>) {
        self.add(Severity::Fail, problem.into());
    }

    fn warn(&mut self, problem: impl Into<String>) {
        self.add(Severity::Warn, problem.into());
    }

    fn add(&mut self, severity: Severity, problem: String) {
        self.severity = self.severity.max(severity);
        self.found.push(problem);
    }
}

fn ca_problems(profile: &Profile, problems: &mut Problems) {
    if !profile.ca {
        problems.fail("is not a CA certificate (no basicConstraints cA=TRUE)");
    }
    match profile.key_usage {
        None => problems.warn("has no keyUsage: RFC 5280 asks keyCertSign and cRLSign of a CA"),
        Some(ku) if !ku.key_cert_sign() => {
            problems.fail("keyUsage lacks keyCertSign: what it issues does not verify");
        }
        Some(ku) if !ku.crl_sign() => {
            problems.warn("keyUsage lacks cRLSign: relying parties refuse its CRLs");
        }
        Some(_) => {}
    }
    if !profile.smime_purpose_accepts() {
        problems.warn(
            "its EKU constraint lacks emailProtection: OpenSSL's S/MIME purpose (`openssl cms -verify` by default) refuses every CertRep signed under it; add emailProtection to the constraint if such clients must enroll",
        );
    }
}

fn reply_signer_problems(job: Job, profile: &Profile, problems: &mut Problems) {
    match profile.signs() {
        Some(false) => problems.fail(
            "keyUsage lacks digitalSignature: clients refuse the CertReps it signs (certmonger does)",
        ),
        None => problems.warn("has no keyUsage: it may be used for any key operation"),
        Some(true) => {}
    }
    if profile
        .key_usage
        .is_some_and(|ku| ku.key_encipherment() || ku.key_cert_sign())
    {
        problems.warn("keyUsage allows encipherment or certificate signing too: one key, one job");
    }
    if !profile.smime_purpose_accepts() {
        problems.warn(format!(
            "its extendedKeyUsage lacks emailProtection: OpenSSL's S/MIME signing purpose (`openssl cms -verify` by default) refuses the CertReps it signs; {RENEW}"
        ));
    }
    if profile.ekus.is_none() {
        problems.warn(format!(
            "has no extendedKeyUsage: it is a valid TLS client identity for whoever trusts this CA; {RENEW}"
        ));
    }
    match job {
        Job::ReplySigningAndAgent if !profile.has_eku(EKU_AGENT) => problems.fail(
            "no separate enrollment agent is configured and it lacks the Certificate Request Agent EKU: the CA refuses what it counter-signs",
        ),
        Job::ReplySigning if profile.has_eku(EKU_AGENT) => problems.warn(format!(
            "carries the Certificate Request Agent EKU although a separate enrollment agent counter-signs: the key devices see holds an enrollment agent's power; {RENEW}"
        )),
        _ => {}
    }
}

fn agent_problems(profile: &Profile, problems: &mut Problems) {
    if profile.signs() != Some(true) {
        problems.fail("keyUsage lacks digitalSignature: the CA refuses what it counter-signs");
    }
    if !profile.has_eku(EKU_AGENT) {
        problems
            .fail("lacks the Certificate Request Agent EKU: the CA refuses what it counter-signs");
    }
    if profile.ekus.as_ref().is_some_and(|ekus| ekus.len() > 1) {
        problems.warn("carries EKUs besides Certificate Request Agent: one key, one job");
    }
}

fn encryption_problems(profile: &Profile, problems: &mut Problems) {
    match profile.key_usage {
        None => problems.warn("has no keyUsage: it may be used for any key operation"),
        Some(ku) if !ku.key_encipherment() => problems.fail(
            "keyUsage lacks keyEncipherment: devices cannot encrypt their requests to it (RSA key transport)",
        ),
        Some(ku) if ku.digital_signature() || ku.key_cert_sign() => {
            problems.fail("keyUsage allows signing too, the signing roles' job (serve refuses it)");
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use ca::dev::{RaCertPurpose, issue_ra_certificate, self_signed_ca};
    use keys::KeyRole;
    use keys::software::SoftwareKey;

    use super::*;

    struct Pki {
        ca_key: Arc<SoftwareKey>,
        ca: Vec<u8>,
    }

    impl Pki {
        fn new() -> Self {
            let ca_key = Arc::new(SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap());
            let ca = self_signed_ca(ca_key.as_ref(), "profile test CA", 30).unwrap();
            Self { ca_key, ca }
        }

        fn ra(&self, purpose: RaCertPurpose) -> Vec<u8> {
            let key = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
            let spki = key.public_key_spki_der();
            issue_ra_certificate(self.ca_key.as_ref(), &self.ca, spki, "ra", purpose, 30).unwrap()
        }
    }

    /// The data directory's four certificates, written where `config` expects them.
    fn write_set(dir: &Path, config: &Config, set: [&[u8]; 4]) {
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        let k = &config.keys;
        let agent = k.ra_agent_certificate.as_ref().unwrap();
        for (path, der) in [
            (&k.ca_certificate, set[0]),
            (&k.ra_signing_certificate, set[1]),
            (agent, set[2]),
            (&k.ra_encryption_certificate, set[3]),
        ] {
            pem::write_certificate(&dir.join(path), der).unwrap();
        }
    }

    fn config_with_agent() -> Config {
        let mut config = Config::default();
        config.keys.ra_agent_certificate = Some("certs/ra-agent.pem".into());
        config
    }

    #[test]
    fn the_profiles_scepd_issues_fit_and_swapped_certificates_fail() {
        let pki = Pki::new();
        let signing = pki.ra(RaCertPurpose::Signing);
        let agent = pki.ra(RaCertPurpose::Agent);
        let encryption = pki.ra(RaCertPurpose::Encryption);
        let dir = tempfile::tempdir().unwrap();
        let config = config_with_agent();

        write_set(
            dir.path(),
            &config,
            [&pki.ca, &signing, &agent, &encryption],
        );
        let found = findings(dir.path(), &config);
        assert_eq!(found.len(), 4);
        for f in &found {
            assert_eq!(f.severity, Severity::Pass, "{}", f.message);
        }

        // The encryption certificate in the CA's place, the reply signer as the agent, the CA
        // as the encryption certificate. The agent as the reply signer still works (it is
        // what data directories made before these profiles have): a warning.
        write_set(
            dir.path(),
            &config,
            [&encryption, &agent, &signing, &pki.ca],
        );
        let found = findings(dir.path(), &config);
        let severities: Vec<Severity> = found.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [
                Severity::Fail,
                Severity::Warn,
                Severity::Fail,
                Severity::Fail
            ]
        );
        assert!(
            found[0].message.contains("not a CA"),
            "{}",
            found[0].message
        );
        assert!(found[2].message.contains("Certificate Request Agent EKU"));
        assert!(found[3].message.contains("is a CA certificate"));
    }

    #[test]
    fn an_ndes_style_reply_signer_is_flagged_and_still_counter_signs_without_an_agent() {
        let pki = Pki::new();
        // What `scepd init` made before: the agent's profile on the reply signer.
        let old_signer = pki.ra(RaCertPurpose::Agent);
        let (severity, problems) = assess(Job::ReplySigning, &old_signer);
        assert_eq!(severity, Severity::Warn, "{problems:?}");
        let text = problems.join("\n");
        assert!(text.contains("lacks emailProtection"), "{text}");
        assert!(text.contains("holds an enrollment agent's power"), "{text}");

        // Without a separate agent it counter-signs: fit for that, but OpenSSL refuses replies.
        let (severity, problems) = assess(Job::ReplySigningAndAgent, &old_signer);
        assert_eq!(severity, Severity::Warn, "{problems:?}");
        let (severity, problems) = assess(
            Job::ReplySigningAndAgent,
            &pki.ra(RaCertPurpose::SigningAndAgent),
        );
        assert_eq!(
            (severity, problems.len()),
            (Severity::Pass, 0),
            "{problems:?}"
        );

        // A reply-only signer cannot counter-sign.
        let (severity, _) = assess(Job::ReplySigningAndAgent, &pki.ra(RaCertPurpose::Signing));
        assert_eq!(severity, Severity::Fail);
    }

    #[test]
    fn a_ca_whose_eku_constraint_lacks_email_protection_is_flagged() {
        let key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        let profile = ca::CaProfile::new("CN=constrained CA", 30)
            .unwrap()
            .client_auth_only();
        let constrained = profile.self_signed(&key).unwrap();
        let (severity, problems) = assess(Job::Ca, &constrained);
        assert_eq!(severity, Severity::Warn, "{problems:?}");
        assert!(problems[0].contains("emailProtection"), "{problems:?}");

        let (severity, problems) = assess(Job::Ca, b"not a certificate");
        assert_eq!(severity, Severity::Fail, "{problems:?}");
    }
}
