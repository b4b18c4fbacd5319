//! Loads the role keys and their certificates, and refuses any set-up in which a key could do
//! two jobs (DESIGN.md §2): two roles on one key file, label or public key, or a certificate
//! whose key or key usage does not fit its role. Every refusal names both roles.

use std::path::Path;
use std::sync::Arc;

use crate::locations::{Backend, KeyLocations};
use crate::pem::{self, PemError};
use crate::pkcs11::Pkcs11Token;
use crate::role_fit::RoleFitError;
use crate::{Decrypter, KeyError, KeyRole, Signer};

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

    pub fn key_role(self) -> KeyRole {
        match self {
            Role::CaSigning => KeyRole::CaSigning,
            Role::RaSigning => KeyRole::RaSigning,
            Role::RaAgent => KeyRole::RaAgent,
            Role::RaEncryption => KeyRole::RaDecryption,
        }
    }

    pub fn of_key_role(role: KeyRole) -> Role {
        match role {
            KeyRole::CaSigning => Role::CaSigning,
            KeyRole::RaSigning => Role::RaSigning,
            KeyRole::RaAgent => Role::RaAgent,
            KeyRole::RaDecryption => Role::RaEncryption,
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
    #[error("key passphrase: {0}")]
    Passphrase(#[source] KeyError),
    #[error("{}: {source}", path.display())]
    KeyFile {
        path: std::path::PathBuf,
        source: KeyError,
    },
    #[error("PKCS#11 PIN: {0}")]
    Pin(#[source] KeyError),
    #[error("PKCS#11 token {label:?} in {}: {source}", module.display())]
    Token {
        label: String,
        module: std::path::PathBuf,
        source: KeyError,
    },
    #[error("PKCS#11 key {label:?} ({role}): {source}")]
    TokenKey {
        label: String,
        role: KeyRole,
        source: KeyError,
    },
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
    pub fn read(dir: &Path, locations: &KeyLocations) -> Result<Self, PemError> {
        let files = &locations.certificates;
        Ok(Self {
            ca: pem::read_certificate(&dir.join(&files.ca))?,
            ra_signing: pem::read_certificate(&dir.join(&files.ra_signing))?,
            ra_agent: match &files.ra_agent {
                Some(path) => Some(pem::read_certificate(&dir.join(path))?),
                None => None,
            },
            ra_encryption: pem::read_certificate(&dir.join(&files.ra_encryption))?,
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
    pub ca: Arc<dyn Signer>,
    pub ra_signing: Arc<dyn Signer>,
    /// `None` exactly when [`RoleCertificates::ra_agent`] is.
    pub ra_agent: Option<Arc<dyn Signer>>,
    pub ra_decryption: Arc<dyn Decrypter>,
    /// Whether any key sits unencrypted on disk (the embedded development default).
    pub unencrypted_software_keys: bool,
    /// The token the keys are in (logged in once for the whole process), if any.
    pub token: Option<Arc<Pkcs11Token>>,
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
    pub fn counter_signer(&self) -> Arc<dyn Signer> {
        Arc::clone(self.ra_agent.as_ref().unwrap_or(&self.ra_signing))
    }
}

/// The enrollment-agent key's location for the configured backend, if the data directory has
/// one; an agent certificate without its key (or the reverse) is refused, naming the setting.
pub fn agent_location(
    locations: &KeyLocations,
) -> Result<Option<(&'static str, String)>, KeystoreError> {
    let (setting, value) = match locations.backend {
        Backend::Software => (
            "keys.ra_agent_key",
            locations
                .key_files
                .ra_agent
                .as_ref()
                .map(|p| p.display().to_string()),
        ),
        Backend::Pkcs11 => (
            "pkcs11.ra_agent_key_label",
            locations.token.ra_agent_label.clone(),
        ),
    };
    match (value, &locations.certificates.ra_agent) {
        (Some(value), Some(_)) => Ok(Some((setting, value))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(KeystoreError::AgentCertificateMissing { setting }),
        (None, Some(_)) => Err(KeystoreError::AgentKeyMissing { setting }),
    }
}

/// Refuses configurations that point two roles at one key file or token label.
pub fn check_distinct_locations(locations: &KeyLocations) -> Result<(), KeystoreError> {
    let files = &locations.key_files;
    let p11 = &locations.token;
    let path = |p: &Path| p.display().to_string();
    let mut found: Vec<(Role, &'static str, String)> = match locations.backend {
        Backend::Software => vec![
            (Role::CaSigning, "keys.ca_key", path(&files.ca)),
            (
                Role::RaSigning,
                "keys.ra_signing_key",
                path(&files.ra_signing),
            ),
            (
                Role::RaEncryption,
                "keys.ra_encryption_key",
                path(&files.ra_encryption),
            ),
        ],
        Backend::Pkcs11 => vec![
            (Role::CaSigning, "pkcs11.ca_key_label", p11.ca_label.clone()),
            (
                Role::RaSigning,
                "pkcs11.ra_signing_key_label",
                p11.ra_signing_label.clone(),
            ),
            (
                Role::RaEncryption,
                "pkcs11.ra_encryption_key_label",
                p11.ra_encryption_label.clone(),
            ),
        ],
    };
    if let Some((setting, value)) = agent_location(locations)? {
        found.push((Role::RaAgent, setting, value));
    }
    for (i, (role_a, setting_a, value_a)) in found.iter().enumerate() {
        for (role_b, setting_b, value_b) in found.iter().skip(i + 1) {
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
/// vouch for a role it does not fit (the rules are [`crate::role_fit`]'s).
pub fn check_roles(keys: &RoleKeys, certificates: &RoleCertificates) -> Result<(), KeystoreError> {
    let present: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| keys.public_key(*role).is_some() || certificates.of(*role).is_some())
        .collect();
    let public_keys: Vec<(KeyRole, &[u8])> = present
        .iter()
        .filter_map(|role| keys.public_key(*role).map(|key| (role.key_role(), key)))
        .collect();
    if let Some((a, b)) = crate::role_fit::shared_key(&public_keys) {
        return Err(KeystoreError::SharedKey(
            Role::of_key_role(a),
            Role::of_key_role(b),
        ));
    }
    for role in present {
        let (Some(der), Some(public_key)) = (certificates.of(role), keys.public_key(role)) else {
            return Err(KeystoreError::Incomplete(role));
        };
        crate::role_fit::check_certificate(
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
        })?;
    }
    Ok(())
}

/// Loads the role keys from the configured backend and checks them against their
/// certificates.
pub fn load(
    dir: &Path,
    locations: &KeyLocations,
    certificates: &RoleCertificates,
) -> Result<RoleKeys, KeystoreError> {
    check_loaded(dir, locations, certificates, None)
}

/// [`load`] through a token this process is already logged in to (PKCS#11 login belongs to
/// the whole process: a second login is refused), e.g. to check a prepared rollover.
pub fn check_loaded(
    dir: &Path,
    locations: &KeyLocations,
    certificates: &RoleCertificates,
    token: Option<&Arc<Pkcs11Token>>,
) -> Result<RoleKeys, KeystoreError> {
    check_distinct_locations(locations)?;
    let keys = load_all(&KeySource::open(dir, locations, token)?)?;
    check_roles(&keys, certificates)?;
    Ok(keys)
}

/// Environment variables the secrets may come from when no file is configured.
pub const PASSPHRASE_ENV: &str = crate::secret::KEY_PASSPHRASE_ENV;
pub const PIN_ENV: &str = crate::secret::PKCS11_PIN_ENV;

/// The key passphrase, if the operator gave one (a configured file, else the environment).
pub fn passphrase(
    dir: &Path,
    locations: &KeyLocations,
) -> Result<Option<zeroize::Zeroizing<String>>, KeystoreError> {
    let file = locations.passphrase_file.as_ref().map(|f| dir.join(f));
    if file.is_none() && std::env::var_os(PASSPHRASE_ENV).is_none() {
        return Ok(None);
    }
    crate::secret::read_secret(file.as_deref(), PASSPHRASE_ENV)
        .map(Some)
        .map_err(KeystoreError::Passphrase)
}

/// Where one data directory's keys are opened from: its key files under one passphrase, or one
/// token session. Every host loads its role keys through it (`scepd serve` all four, the CA and
/// the RA of a split deployment theirs), so a key is opened, checked and refused the same way
/// wherever it is used.
pub enum KeySource<'a> {
    Files {
        dir: &'a Path,
        locations: &'a KeyLocations,
        /// With a passphrase every key must be encrypted: a plain file is refused, not accepted.
        passphrase: Option<zeroize::Zeroizing<String>>,
    },
    Token {
        locations: &'a KeyLocations,
        token: Arc<Pkcs11Token>,
    },
}

/// A role's key as its backend loaded it.
pub enum RoleKey {
    Software(crate::software::SoftwareKey),
    Token(crate::pkcs11::Pkcs11Key),
}

impl RoleKey {
    pub fn into_signer(self) -> Arc<dyn Signer> {
        match self {
            RoleKey::Software(key) => Arc::new(key),
            RoleKey::Token(key) => Arc::new(key),
        }
    }

    pub fn into_decrypter(self) -> Arc<dyn Decrypter> {
        match self {
            RoleKey::Software(key) => Arc::new(key),
            RoleKey::Token(key) => Arc::new(key),
        }
    }
}

impl<'a> KeySource<'a> {
    /// The configured backend, opened: the passphrase read, or the token logged in to (through
    /// `token` when this process is already logged in: PKCS#11 login belongs to the process).
    pub fn open(
        dir: &'a Path,
        locations: &'a KeyLocations,
        token: Option<&Arc<Pkcs11Token>>,
    ) -> Result<Self, KeystoreError> {
        Ok(match locations.backend {
            Backend::Software => KeySource::Files {
                dir,
                locations,
                passphrase: passphrase(dir, locations)?,
            },
            Backend::Pkcs11 => KeySource::Token {
                locations,
                token: match token {
                    Some(token) => Arc::clone(token),
                    None => open_token(dir, locations)?,
                },
            },
        })
    }

    /// The key of `role`; `None` only for an enrollment agent the data directory does not have.
    pub fn key(&self, role: Role) -> Result<Option<RoleKey>, KeystoreError> {
        let key_role = role.key_role();
        match self {
            KeySource::Files {
                dir,
                locations,
                passphrase,
            } => {
                use crate::software::SoftwareKey;
                let files = &locations.key_files;
                let file = match role {
                    Role::CaSigning => &files.ca,
                    Role::RaSigning => &files.ra_signing,
                    Role::RaEncryption => &files.ra_encryption,
                    Role::RaAgent => match (agent_location(locations)?, &files.ra_agent) {
                        (Some(_), Some(file)) => file,
                        _ => return Ok(None),
                    },
                };
                let path = dir.join(file);
                let key = match passphrase {
                    Some(p) => SoftwareKey::load_encrypted(key_role, &path, p.as_bytes()),
                    None => SoftwareKey::load(key_role, &path),
                };
                let key = key.map_err(|source| KeystoreError::KeyFile { path, source })?;
                Ok(Some(RoleKey::Software(key)))
            }
            KeySource::Token { locations, token } => {
                let p11 = &locations.token;
                let label = match role {
                    Role::CaSigning => p11.ca_label.clone(),
                    Role::RaSigning => p11.ra_signing_label.clone(),
                    Role::RaEncryption => p11.ra_encryption_label.clone(),
                    Role::RaAgent => match agent_location(locations)? {
                        Some((_, label)) => label,
                        None => return Ok(None),
                    },
                };
                let key =
                    token
                        .load_key(key_role, &label)
                        .map_err(|source| KeystoreError::TokenKey {
                            label: label.clone(),
                            role: key_role,
                            source,
                        })?;
                if key.attributes().never_extractable == Some(false)
                    || key.attributes().always_sensitive == Some(false)
                {
                    tracing::warn!(label, role = %key_role, "this token key was imported or was once extractable: a copy may exist outside the HSM");
                }
                Ok(Some(RoleKey::Token(key)))
            }
        }
    }

    /// The key of a role every data directory of this kind has.
    pub fn required(&self, role: Role) -> Result<RoleKey, KeystoreError> {
        self.key(role)?.ok_or(KeystoreError::AgentKeyMissing {
            setting: "keys.ra_agent_key",
        })
    }

    /// The token the keys are in, if any.
    pub fn token(&self) -> Option<&Arc<Pkcs11Token>> {
        match self {
            KeySource::Token { token, .. } => Some(token),
            KeySource::Files { .. } => None,
        }
    }

    /// Whether the key files sit unencrypted on disk (the embedded development default).
    pub fn unencrypted(&self) -> bool {
        matches!(
            self,
            KeySource::Files {
                passphrase: None,
                ..
            }
        )
    }
}

fn load_all(source: &KeySource<'_>) -> Result<RoleKeys, KeystoreError> {
    Ok(RoleKeys {
        ca: source.required(Role::CaSigning)?.into_signer(),
        ra_signing: source.required(Role::RaSigning)?.into_signer(),
        ra_agent: source.key(Role::RaAgent)?.map(RoleKey::into_signer),
        ra_decryption: source.required(Role::RaEncryption)?.into_decrypter(),
        unencrypted_software_keys: source.unencrypted(),
        token: source.token().cloned(),
    })
}

/// Opens the configured token once (PKCS#11 login belongs to the whole process).
pub fn open_token(dir: &Path, locations: &KeyLocations) -> Result<Arc<Pkcs11Token>, KeystoreError> {
    let p11 = &locations.token;
    let pin_file = p11.pin_file.as_ref().map(|f| dir.join(f));
    let pin =
        crate::secret::read_secret(pin_file.as_deref(), PIN_ENV).map_err(KeystoreError::Pin)?;
    Pkcs11Token::open(&p11.module, &p11.token_label, pin).map_err(|source| KeystoreError::Token {
        label: p11.token_label.clone(),
        module: p11.module.clone(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::software::SoftwareKey;
    use Purpose::{Agent, Encryption, Signing};

    /// The certificate profiles of `ca::dev` the checks look at: basicConstraints, keyUsage
    /// and extendedKeyUsage.
    #[derive(Clone, Copy)]
    enum Purpose {
        Ca,
        Signing,
        Agent,
        Encryption,
        TlsClient,
    }

    /// A role key's public key, for rcgen to certify.
    struct PublicKey(Vec<u8>, &'static rcgen::SignatureAlgorithm);

    impl rcgen::PublicKeyData for PublicKey {
        fn der_bytes(&self) -> &[u8] {
            &self.0
        }

        fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
            self.1
        }
    }

    /// A certificate of `purpose` for the key `spki`. The checks compare keys and usages, not
    /// signatures, so a throwaway key signs it.
    fn issue(spki: &[u8], purpose: Purpose) -> Vec<u8> {
        use der::{Decode, Encode};
        use rcgen::{
            BasicConstraints, ExtendedKeyUsagePurpose as Eku, IsCa, KeyUsagePurpose as Ku,
        };
        let info = spki::SubjectPublicKeyInfoRef::from_der(spki).unwrap();
        let algorithm = if info.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
            &rcgen::PKCS_RSA_SHA256
        } else {
            &rcgen::PKCS_ECDSA_P256_SHA256
        };
        let key = PublicKey(info.subject_public_key.raw_bytes().to_vec(), algorithm);
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "t");
        let agent = Eku::Other(vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 1]);
        (params.is_ca, params.key_usages, params.extended_key_usages) = match purpose {
            Purpose::Ca => (
                IsCa::Ca(BasicConstraints::Constrained(0)),
                vec![Ku::DigitalSignature, Ku::KeyCertSign, Ku::CrlSign],
                vec![],
            ),
            Signing | Agent => (IsCa::ExplicitNoCa, vec![Ku::DigitalSignature], vec![agent]),
            Encryption => (
                IsCa::ExplicitNoCa,
                vec![Ku::KeyEncipherment, Ku::DataEncipherment],
                vec![],
            ),
            Purpose::TlsClient => (
                IsCa::ExplicitNoCa,
                vec![Ku::DigitalSignature],
                vec![Eku::ClientAuth],
            ),
        };
        let issuer_key = rcgen::KeyPair::generate().unwrap();
        let issuer_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let issuer = rcgen::Issuer::new(issuer_params, issuer_key);
        let certificate = params.signed_by(&key, &issuer).unwrap();
        let der = certificate.der().to_vec();
        assert_eq!(
            x509_cert::Certificate::from_der(&der)
                .unwrap()
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .unwrap(),
            spki,
            "the certificate must certify the role key"
        );
        der
    }

    /// A complete, valid set of role keys and certificates.
    fn set() -> (RoleKeys, RoleCertificates) {
        let ca = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        let ca_cert = issue(ca.public_key_spki_der(), Purpose::Ca);
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
            ra_signing: issue(keys.ra_signing.public_key_spki_der(), Signing),
            ra_agent: Some(issue(agent.public_key_spki_der(), Agent)),
            ra_encryption: issue(keys.ra_decryption.public_key_spki_der(), Encryption),
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
        certificates.ra_agent = Some(issue(agent.public_key_spki_der(), Encryption));
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
        let plain = issue(keys.ra_signing.public_key_spki_der(), Purpose::TlsClient);
        certificates.ra_signing = plain;
        let error = check_roles(&keys, &certificates).unwrap_err().to_string();
        assert!(
            error.contains("without a separate enrollment-agent key"),
            "{error}"
        );
    }
}
