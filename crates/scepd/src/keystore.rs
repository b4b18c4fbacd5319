//! Loads the role keys and their certificates, and refuses any set-up in which a key could do
//! two jobs (DESIGN.md §2): two roles on one key file, label or public key, or a certificate
//! whose key or key usage does not fit its role. Every refusal names both roles.

use std::path::Path;
use std::sync::Arc;

use keys::role_fit::RoleFitError;

use crate::config::{Config, KeyBackend};
use crate::pem::{self, PemError};

/// The roles, as operators read them in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    CaSigning,
    RaSigning,
    RaAgent,
    RaEncryption,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::CaSigning,
        Role::RaSigning,
        Role::RaAgent,
        Role::RaEncryption,
    ];

    pub fn key_role(self) -> keys::KeyRole {
        match self {
            Role::CaSigning => keys::KeyRole::CaSigning,
            Role::RaSigning => keys::KeyRole::RaSigning,
            Role::RaAgent => keys::KeyRole::RaAgent,
            Role::RaEncryption => keys::KeyRole::RaDecryption,
        }
    }

    pub fn of_key_role(role: keys::KeyRole) -> Role {
        match role {
            keys::KeyRole::CaSigning => Role::CaSigning,
            keys::KeyRole::RaSigning => Role::RaSigning,
            keys::KeyRole::RaAgent => Role::RaAgent,
            keys::KeyRole::RaDecryption => Role::RaEncryption,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::CaSigning => "CA signing",
            Role::RaSigning => "RA signing (CertRep)",
            Role::RaAgent => "RA enrollment agent",
            Role::RaEncryption => "RA encryption (CEP encryption)",
        }
    }
}

/// Why the keys of a data directory cannot be used; every message names the role, the
/// setting or the file.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error(transparent)]
    Certificates(#[from] PemError),
    #[error(
        "{setting} is set but keys.ra_agent_certificate is not: the enrollment agent needs both"
    )]
    AgentCertificateMissing { setting: &'static str },
    #[error(
        "keys.ra_agent_certificate is set but {setting} is not: the enrollment agent needs both"
    )]
    AgentKeyMissing { setting: &'static str },
    #[error(
        "{} and {} are both {value:?}: the {} and {} roles may not share a key",
        first.1, second.1, first.0.name(), second.0.name()
    )]
    SharedLocation {
        first: (Role, &'static str),
        second: (Role, &'static str),
        value: String,
    },
    #[error(
        "the {} and {} roles use the same key: each role needs its own key",
        .0.name(),
        .1.name()
    )]
    SharedKey(Role, Role),
    #[error("the {} role has a key or a certificate but not both", .0.name())]
    Incomplete(Role),
    #[error("{} certificate: unreadable: {source}", role.name())]
    UnreadableCertificate { role: Role, source: der::Error },
    #[error("{} certificate: {source}", role.name())]
    CertificateKey { role: Role, source: der::Error },
    #[error("the {} certificate does not certify the {} key", .0.name(), .0.name())]
    NotCertified(Role),
    #[error("{} certificate extensions: {source}", role.name())]
    UnreadableExtensions { role: Role, source: der::Error },
    #[error("the {} certificate does not fit its role: {why}", role.name())]
    UnfitCertificate { role: Role, why: &'static str },
    #[error("the {} certificate: {source}", role.name())]
    RoleFit { role: Role, source: RoleFitError },
    #[error("key passphrase: {0}")]
    Passphrase(#[source] keys::KeyError),
    #[error("{}: {source}", path.display())]
    KeyFile {
        path: std::path::PathBuf,
        source: keys::KeyError,
    },
    #[error("PKCS#11 PIN: {0}")]
    Pin(#[source] keys::KeyError),
    #[error("PKCS#11 token {label:?} in {}: {source}", module.display())]
    Token {
        label: String,
        module: std::path::PathBuf,
        source: keys::KeyError,
    },
    #[error("PKCS#11 key {label:?} ({role}): {source}")]
    TokenKey {
        label: String,
        role: keys::KeyRole,
        source: keys::KeyError,
    },
}

/// For the callers whose errors are still messages.
impl From<KeystoreError> for String {
    fn from(error: KeystoreError) -> String {
        error.to_string()
    }
}

/// The certificates of the roles, DER. `ra_agent` is `None` in a data directory made before
/// the separate enrollment-agent key: the RA signing key then counter-signs as well.
pub struct RoleCertificates {
    pub ca: Vec<u8>,
    pub ra_signing: Vec<u8>,
    pub ra_agent: Option<Vec<u8>>,
    pub ra_encryption: Vec<u8>,
}

impl RoleCertificates {
    pub fn read(dir: &Path, config: &Config) -> Result<Self, PemError> {
        let keys = &config.keys;
        Ok(Self {
            ca: pem::read_certificate(&dir.join(&keys.ca_certificate))?,
            ra_signing: pem::read_certificate(&dir.join(&keys.ra_signing_certificate))?,
            ra_agent: match &keys.ra_agent_certificate {
                Some(path) => Some(pem::read_certificate(&dir.join(path))?),
                None => None,
            },
            ra_encryption: pem::read_certificate(&dir.join(&keys.ra_encryption_certificate))?,
        })
    }

    fn of(&self, role: Role) -> Option<&[u8]> {
        match role {
            Role::CaSigning => Some(&self.ca),
            Role::RaSigning => Some(&self.ra_signing),
            Role::RaAgent => self.ra_agent.as_deref(),
            Role::RaEncryption => Some(&self.ra_encryption),
        }
    }

    /// The certificate that counter-signs: the agent's, or the signing one's without it.
    pub fn counter_signing(&self) -> &[u8] {
        self.ra_agent.as_deref().unwrap_or(&self.ra_signing)
    }
}

/// The private keys, each usable only for its job.
pub struct RoleKeys {
    pub ca: Arc<dyn keys::Signer>,
    pub ra_signing: Arc<dyn keys::Signer>,
    /// `None` exactly when [`RoleCertificates::ra_agent`] is.
    pub ra_agent: Option<Arc<dyn keys::Signer>>,
    pub ra_decryption: Arc<dyn keys::Decrypter>,
    /// Whether any key sits unencrypted on disk (the embedded development default).
    pub unencrypted_software_keys: bool,
    /// The token the keys are in (logged in once for the whole process), if any.
    pub token: Option<Arc<keys::pkcs11::Pkcs11Token>>,
}

impl RoleKeys {
    fn public_key(&self, role: Role) -> Option<&[u8]> {
        match role {
            Role::CaSigning => Some(self.ca.public_key_spki_der()),
            Role::RaSigning => Some(self.ra_signing.public_key_spki_der()),
            Role::RaAgent => self.ra_agent.as_ref().map(|k| k.public_key_spki_der()),
            Role::RaEncryption => Some(self.ra_decryption.public_key_spki_der()),
        }
    }

    /// The key that counter-signs: the agent, or the signing key without one.
    pub fn counter_signer(&self) -> Arc<dyn keys::Signer> {
        Arc::clone(self.ra_agent.as_ref().unwrap_or(&self.ra_signing))
    }
}

/// The enrollment-agent key's location for the configured backend, if the data directory has
/// one; an agent certificate without its key (or the reverse) is refused, naming the setting.
pub fn agent_location(config: &Config) -> Result<Option<(&'static str, String)>, KeystoreError> {
    let keys = &config.keys;
    let (setting, value) = match keys.backend {
        KeyBackend::Software => (
            "keys.ra_agent_key",
            keys.ra_agent_key.as_ref().map(|p| p.display().to_string()),
        ),
        KeyBackend::Pkcs11 => (
            "pkcs11.ra_agent_key_label",
            config.pkcs11.ra_agent_key_label.clone(),
        ),
    };
    match (value, &keys.ra_agent_certificate) {
        (Some(value), Some(_)) => Ok(Some((setting, value))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(KeystoreError::AgentCertificateMissing { setting }),
        (None, Some(_)) => Err(KeystoreError::AgentKeyMissing { setting }),
    }
}

/// Refuses configurations that point two roles at one key file or token label.
pub fn check_distinct_locations(config: &Config) -> Result<(), KeystoreError> {
    let keys = &config.keys;
    let p11 = &config.pkcs11;
    let path = |p: &Path| p.display().to_string();
    let mut locations: Vec<(Role, &'static str, String)> = match keys.backend {
        KeyBackend::Software => vec![
            (Role::CaSigning, "keys.ca_key", path(&keys.ca_key)),
            (
                Role::RaSigning,
                "keys.ra_signing_key",
                path(&keys.ra_signing_key),
            ),
            (
                Role::RaEncryption,
                "keys.ra_encryption_key",
                path(&keys.ra_encryption_key),
            ),
        ],
        KeyBackend::Pkcs11 => vec![
            (
                Role::CaSigning,
                "pkcs11.ca_key_label",
                p11.ca_key_label.clone(),
            ),
            (
                Role::RaSigning,
                "pkcs11.ra_signing_key_label",
                p11.ra_signing_key_label.clone(),
            ),
            (
                Role::RaEncryption,
                "pkcs11.ra_encryption_key_label",
                p11.ra_encryption_key_label.clone(),
            ),
        ],
    };
    if let Some((setting, value)) = agent_location(config)? {
        locations.push((Role::RaAgent, setting, value));
    }
    for (i, (role_a, setting_a, value_a)) in locations.iter().enumerate() {
        for (role_b, setting_b, value_b) in locations.iter().skip(i + 1) {
            if value_a == value_b {
                return Err(KeystoreError::SharedLocation {
                    first: (*role_a, setting_a),
                    second: (*role_b, setting_b),
                    value: value_a.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Refuses keys and certificates that would let one key do two jobs or a certificate
/// vouch for a role it does not fit (the rules are `keys::role_fit`'s).
pub fn check_roles(keys: &RoleKeys, certificates: &RoleCertificates) -> Result<(), KeystoreError> {
    let present: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| keys.public_key(*role).is_some() || certificates.of(*role).is_some())
        .collect();
    let public_keys: Vec<(keys::KeyRole, &[u8])> = present
        .iter()
        .filter_map(|role| keys.public_key(*role).map(|key| (role.key_role(), key)))
        .collect();
    if let Some((a, b)) = keys::role_fit::shared_key(&public_keys) {
        return Err(KeystoreError::SharedKey(
            Role::of_key_role(a),
            Role::of_key_role(b),
        ));
    }
    for role in present {
        let (Some(der), Some(public_key)) = (certificates.of(role), keys.public_key(role)) else {
            return Err(KeystoreError::Incomplete(role));
        };
        keys::role_fit::check_certificate(
            role.key_role(),
            der,
            public_key,
            certificates.ra_agent.is_some(),
        )
        .map_err(|e| match e {
            RoleFitError::Unreadable(source) => {
                KeystoreError::UnreadableCertificate { role, source }
            }
            RoleFitError::CertificateKey(source) => KeystoreError::CertificateKey { role, source },
            RoleFitError::NotCertified => KeystoreError::NotCertified(role),
            RoleFitError::UnreadableExtensions(source) => {
                KeystoreError::UnreadableExtensions { role, source }
            }
            RoleFitError::Unfit(why) => KeystoreError::UnfitCertificate { role, why },
            other => KeystoreError::RoleFit {
                role,
                source: other,
            },
        })?;
    }
    Ok(())
}

/// Loads the role keys from the configured backend and checks them against their
/// certificates.
pub fn load(
    dir: &Path,
    config: &Config,
    certificates: &RoleCertificates,
) -> Result<RoleKeys, KeystoreError> {
    check_loaded(dir, config, certificates, None)
}

/// [`load`] through a token this process is already logged in to (PKCS#11 login belongs to
/// the whole process: a second login is refused), e.g. to check a prepared rollover.
pub fn check_loaded(
    dir: &Path,
    config: &Config,
    certificates: &RoleCertificates,
    token: Option<&Arc<keys::pkcs11::Pkcs11Token>>,
) -> Result<RoleKeys, KeystoreError> {
    check_distinct_locations(config)?;
    let keys = match config.keys.backend {
        KeyBackend::Software => load_software(dir, config)?,
        KeyBackend::Pkcs11 => {
            let token = match token {
                Some(token) => Arc::clone(token),
                None => open_token(dir, config)?,
            };
            load_pkcs11(token, config)?
        }
    };
    check_roles(&keys, certificates)?;
    Ok(keys)
}

/// Environment variables the secrets may come from when no file is configured.
pub const PASSPHRASE_ENV: &str = "SCEPD_KEY_PASSPHRASE";
pub const PIN_ENV: &str = "SCEPD_PKCS11_PIN";

/// The key passphrase, if the operator gave one (a configured file, else the environment).
pub fn passphrase(
    dir: &Path,
    config: &Config,
) -> Result<Option<zeroize::Zeroizing<String>>, KeystoreError> {
    let file = config.keys.passphrase_file.as_ref().map(|f| dir.join(f));
    if file.is_none() && std::env::var_os(PASSPHRASE_ENV).is_none() {
        return Ok(None);
    }
    keys::secret::read_secret(file.as_deref(), PASSPHRASE_ENV)
        .map(Some)
        .map_err(KeystoreError::Passphrase)
}

fn load_software(dir: &Path, config: &Config) -> Result<RoleKeys, KeystoreError> {
    use keys::KeyRole;
    use keys::software::SoftwareKey;
    let k = &config.keys;
    // With a passphrase every key must be encrypted: a plain file is refused, not accepted.
    let passphrase = passphrase(dir, config)?;
    let load = |role: KeyRole, path: &Path| {
        let path = dir.join(path);
        let key = match &passphrase {
            Some(p) => SoftwareKey::load_encrypted(role, &path, p.as_bytes()),
            None => SoftwareKey::load(role, &path),
        };
        key.map_err(|source| KeystoreError::KeyFile { path, source })
    };
    let ca = load(KeyRole::CaSigning, &k.ca_key)?;
    let ra_signing = load(KeyRole::RaSigning, &k.ra_signing_key)?;
    let ra_agent = match agent_location(config)? {
        Some(_) => k
            .ra_agent_key
            .as_deref()
            .map(|path| load(KeyRole::RaAgent, path))
            .transpose()?
            .map(|key| Arc::new(key) as Arc<dyn keys::Signer>),
        None => None,
    };
    let ra_decryption = load(KeyRole::RaDecryption, &k.ra_encryption_key)?;
    Ok(RoleKeys {
        ca: Arc::new(ca),
        ra_signing: Arc::new(ra_signing),
        ra_agent,
        ra_decryption: Arc::new(ra_decryption),
        unencrypted_software_keys: passphrase.is_none(),
        token: None,
    })
}

/// Opens the configured token once (PKCS#11 login belongs to the whole process).
pub fn open_token(
    dir: &Path,
    config: &Config,
) -> Result<Arc<keys::pkcs11::Pkcs11Token>, KeystoreError> {
    let p11 = &config.pkcs11;
    let pin_file = p11.pin_file.as_ref().map(|f| dir.join(f));
    let pin =
        keys::secret::read_secret(pin_file.as_deref(), PIN_ENV).map_err(KeystoreError::Pin)?;
    keys::pkcs11::Pkcs11Token::open(&p11.module, &p11.token_label, pin).map_err(|source| {
        KeystoreError::Token {
            label: p11.token_label.clone(),
            module: p11.module.clone(),
            source,
        }
    })
}

fn load_pkcs11(
    token: Arc<keys::pkcs11::Pkcs11Token>,
    config: &Config,
) -> Result<RoleKeys, KeystoreError> {
    use keys::KeyRole;
    let p11 = &config.pkcs11;
    let load = |role: KeyRole, label: &str| {
        let key = token
            .load_key(role, label)
            .map_err(|source| KeystoreError::TokenKey {
                label: label.to_owned(),
                role,
                source,
            })?;
        if key.attributes().never_extractable == Some(false)
            || key.attributes().always_sensitive == Some(false)
        {
            tracing::warn!(label, %role, "this token key was imported or was once extractable: a copy may exist outside the HSM");
        }
        Ok::<_, KeystoreError>(key)
    };
    let ca = load(KeyRole::CaSigning, &p11.ca_key_label)?;
    let ra_signing = load(KeyRole::RaSigning, &p11.ra_signing_key_label)?;
    let ra_agent = match agent_location(config)? {
        Some((_, label)) => {
            Some(Arc::new(load(KeyRole::RaAgent, &label)?) as Arc<dyn keys::Signer>)
        }
        None => None,
    };
    let ra_decryption = load(KeyRole::RaDecryption, &p11.ra_encryption_key_label)?;
    Ok(RoleKeys {
        ca: Arc::new(ca),
        ra_signing: Arc::new(ra_signing),
        ra_agent,
        ra_decryption: Arc::new(ra_decryption),
        unencrypted_software_keys: false,
        token: Some(token),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ca::dev::RaCertPurpose::{self, Agent, Encryption, Signing};
    use keys::KeyRole;
    use keys::software::SoftwareKey;

    fn issue(ca: &RoleKeys, ca_cert: &[u8], spki: &[u8], purpose: RaCertPurpose) -> Vec<u8> {
        ca::dev::issue_ra_certificate(ca.ca.as_ref(), ca_cert, spki, "t", purpose, 10).unwrap()
    }

    /// A complete, valid set of role keys and certificates.
    fn set() -> (RoleKeys, RoleCertificates) {
        let ca = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        let ca_cert = ca::dev::self_signed_ca(&ca, "t CA", 10).unwrap();
        let keys = RoleKeys {
            ca: Arc::new(ca),
            ra_signing: Arc::new(SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap()),
            ra_agent: Some(Arc::new(
                SoftwareKey::generate_ec_p256(KeyRole::RaAgent).unwrap(),
            )),
            ra_decryption: Arc::new(
                SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap(),
            ),
            unencrypted_software_keys: true,
            token: None,
        };
        let agent = keys.ra_agent.clone().unwrap();
        let certificates = RoleCertificates {
            ra_signing: issue(
                &keys,
                &ca_cert,
                keys.ra_signing.public_key_spki_der(),
                Signing,
            ),
            ra_agent: Some(issue(&keys, &ca_cert, agent.public_key_spki_der(), Agent)),
            ra_encryption: issue(
                &keys,
                &ca_cert,
                keys.ra_decryption.public_key_spki_der(),
                Encryption,
            ),
            ca: ca_cert,
        };
        (keys, certificates)
    }

    #[test]
    fn a_complete_set_passes() {
        let (keys, certificates) = set();
        check_roles(&keys, &certificates).unwrap();
    }

    #[test]
    fn an_agent_certificate_without_the_agent_eku_is_refused() {
        let (keys, mut certificates) = set();
        let agent = keys.ra_agent.clone().unwrap();
        certificates.ra_agent = Some(issue(
            &keys,
            &certificates.ca,
            agent.public_key_spki_der(),
            Encryption,
        ));
        let error = check_roles(&keys, &certificates).unwrap_err().to_string();
        assert!(
            error.contains("the RA enrollment agent certificate does not fit its role")
                && error.contains("Certificate Request Agent"),
            "{error}"
        );
    }

    #[test]
    fn the_agent_and_the_signing_role_may_not_share_a_key() {
        let (mut keys, mut certificates) = set();
        keys.ra_agent = Some(Arc::clone(&keys.ra_signing));
        certificates.ra_agent = Some(certificates.ra_signing.clone());
        let error = check_roles(&keys, &certificates).unwrap_err().to_string();
        assert!(
            error.contains("RA signing (CertRep)")
                && error.contains("RA enrollment agent")
                && error.contains("use the same key"),
            "{error}"
        );
    }

    #[test]
    fn without_an_agent_the_signing_certificate_needs_the_agent_eku() {
        let (mut keys, mut certificates) = set();
        keys.ra_agent = None;
        certificates.ra_agent = None;
        check_roles(&keys, &certificates).unwrap();
        // A signing certificate without the EKU is fine beside an agent, not without one.
        let plain = ca::dev::issue_tls_certificate(
            keys.ca.as_ref(),
            &certificates.ca,
            keys.ra_signing.public_key_spki_der(),
            "t",
            ca::dev::TlsPurpose::Client,
            &[],
            &[],
            10,
        )
        .unwrap();
        certificates.ra_signing = plain;
        let error = check_roles(&keys, &certificates).unwrap_err().to_string();
        assert!(
            error.contains("without a separate enrollment-agent key"),
            "{error}"
        );
    }
}
