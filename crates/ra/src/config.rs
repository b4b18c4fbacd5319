//! What the operator decides about the RA; loaded by the binary, checked there.

use std::sync::Arc;

use crate::error::EnrollError;

/// Which legacy algorithms a deployment has opted into. Both default to off; each is logged as
/// a warning at every start and fails `scepd doctor`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CryptoPolicy {
    /// `legacy_crypto = true`: also accept 3DES content encryption and SHA-1 digests.
    pub legacy_crypto: bool,
    /// `insecure_single_des = true`: also accept single DES (micromdm's scepclient needs it).
    pub insecure_single_des: bool,
}

impl CryptoPolicy {
    /// SHA-1 and 3DES. Single DES is weaker than both, so enabling it enables them too: a
    /// client old enough for DES (micromdm's) also signs with SHA-1.
    pub fn allows_legacy(self) -> bool {
        self.legacy_crypto || self.insecure_single_des
    }

    pub fn allows_single_des(self) -> bool {
        self.insecure_single_des
    }
}

/// The setting names of the NDES insecure challenge modes, as `scepd.toml` spells them; the
/// audit entry of every request they let through names them.
pub const INSECURE_NO_CHALLENGE: &str = "insecure_no_challenge";
pub const INSECURE_STATIC_CHALLENGE: &str = "insecure_static_challenge_file";

/// NDES's insecure challenge modes. Both default to off; the binary warns at every start and
/// `scepd doctor` fails while either is on. A request that presents a challenge is always
/// checked as usual: these modes only add ways in, they never relax the one-time path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsecureChallenges {
    /// `insecure_no_challenge` (NDES EnforcePassword=0): a PKCSReq without a challenge is
    /// decided under this template (its rules still apply).
    pub no_challenge_template: Option<String>,
    /// `insecure_static_challenge_file` (NDES UseSinglePassword=1): one reusable password.
    pub static_challenge: Option<StaticChallenge>,
}

/// The one reusable password of `insecure_static_challenge_file`: only its SHA-256 is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticChallenge {
    pub hash: [u8; 32],
    /// The template requests with this password are decided under.
    pub template: String,
}

impl std::fmt::Debug for StaticChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An operator-chosen password may be guessable from its unsalted hash: never print it.
        f.debug_struct("StaticChallenge")
            .field("template", &self.template)
            .field("hash", &"<redacted>")
            .finish()
    }
}

/// The RA's settings.
#[derive(Debug, Clone)]
pub struct RaConfig {
    pub crypto: CryptoPolicy,
    /// The NDES insecure challenge modes (off by default).
    pub insecure_challenges: InsecureChallenges,
    /// Template used for a challenge minted without one.
    pub default_template: String,
    /// How long the CA accepts a counter-signed statement after the RA signed it.
    pub statement_ttl_secs: i64,
    /// The templates requests may be bound to (the CA holds and enforces the same set).
    pub templates: Vec<policy::Template>,
}

impl RaConfig {
    /// The configured template called `name`. An unknown name is a refusal, never a fallback
    /// to something wider.
    pub(crate) fn template(&self, name: &str) -> Result<policy::Template, EnrollError> {
        self.templates
            .iter()
            .find(|t| t.name() == name)
            .cloned()
            .ok_or_else(|| EnrollError::Policy(format!("unknown template {name:?}")))
    }

    /// `name` if it is a configured template: what metrics may carry as a label (never a
    /// name a client chose).
    pub(crate) fn configured_template_name(&self, name: &str) -> Option<String> {
        self.templates
            .iter()
            .find(|t| t.name() == name)
            .map(|t| t.name().to_owned())
    }
}

impl Default for RaConfig {
    fn default() -> Self {
        Self {
            crypto: CryptoPolicy::default(),
            insecure_challenges: InsecureChallenges::default(),
            default_template: "device".into(),
            statement_ttl_secs: 300,
            templates: vec![policy::Template::device()],
        }
    }
}

/// The RA's keys and their certificates: the signing key (signs replies to devices), the
/// enrollment agent (counter-signs approved requests for the CA) and the CEP encryption key
/// (decrypts envelopes). Never the same key for two of them, except that a data directory made
/// before the separate agent key passes its signing key and certificate as the agent too.
#[derive(Clone)]
pub struct RaIdentity {
    pub signer: Arc<dyn keys::Signer>,
    pub signing_certificate: Vec<u8>,
    /// Counter-signs the statements the CA verifies (RSA not needed: only the CA reads them,
    /// so a P-256 key saves an RSA private-key operation per enrollment).
    pub agent: Arc<dyn keys::Signer>,
    pub agent_certificate: Vec<u8>,
    pub decrypter: Arc<dyn keys::Decrypter>,
    pub encryption_certificate: Vec<u8>,
    /// The issuing CA's certificate: GetCACert serves it and renewals must chain to it.
    pub ca_certificate: Vec<u8>,
    /// RA encryption keys whose certificates `scepd ra renew` replaced, each with its
    /// certificate (DER), newest first. Clients cache the RA certificate they fetched
    /// (certmonger does), so envelopes addressed to these still open until the certificate
    /// expires; an expired one is ignored.
    pub previous_encryption: Vec<(Arc<dyn keys::Decrypter>, Vec<u8>)>,
    /// CA certificates replaced by `scepd ca rollover` (DER), newest first: renewals signed
    /// with a certificate they issued are accepted (their key must verify it; the name alone
    /// is never enough, as a rollover keeps the name) and GetCert finds those certificates.
    pub previous_ca_certificates: Vec<Vec<u8>>,
}
