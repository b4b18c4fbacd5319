//! Loads the three keys and their certificates, and refuses any set-up in which a key could do
//! two jobs (DESIGN.md §2): two roles on one key file, label or public key, or a certificate
//! whose key or key usage does not fit its role. Every refusal names both roles.

use std::path::Path;
use std::sync::Arc;

use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

use crate::config::{Config, KeyBackend};
use crate::pem;

/// Certificate Request Agent (the NDES enrollment agent's application policy).
const CERTIFICATE_REQUEST_AGENT: &str = "1.3.6.1.4.1.311.20.2.1";

/// The roles, as operators read them in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    CaSigning,
    RaSigning,
    RaEncryption,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::CaSigning, Role::RaSigning, Role::RaEncryption];

    pub fn name(self) -> &'static str {
        match self {
            Role::CaSigning => "CA signing",
            Role::RaSigning => "RA signing (enrollment agent)",
            Role::RaEncryption => "RA encryption (CEP encryption)",
        }
    }
}

/// The certificates of the three roles, DER.
pub struct RoleCertificates {
    pub ca: Vec<u8>,
    pub ra_signing: Vec<u8>,
    pub ra_encryption: Vec<u8>,
}

impl RoleCertificates {
    pub fn read(dir: &Path, config: &Config) -> Result<Self, String> {
        let keys = &config.keys;
        Ok(Self {
            ca: pem::read_certificate(&dir.join(&keys.ca_certificate))?,
            ra_signing: pem::read_certificate(&dir.join(&keys.ra_signing_certificate))?,
            ra_encryption: pem::read_certificate(&dir.join(&keys.ra_encryption_certificate))?,
        })
    }

    fn of(&self, role: Role) -> &[u8] {
        match role {
            Role::CaSigning => &self.ca,
            Role::RaSigning => &self.ra_signing,
            Role::RaEncryption => &self.ra_encryption,
        }
    }
}

/// The three private keys, each usable only for its job.
pub struct RoleKeys {
    pub ca: Arc<dyn keys::Signer>,
    pub ra_signing: Arc<dyn keys::Signer>,
    pub ra_decryption: Arc<dyn keys::Decrypter>,
    /// Whether any key sits unencrypted on disk (the embedded development default).
    pub unencrypted_software_keys: bool,
    /// The token the keys are in (logged in once for the whole process), if any.
    pub token: Option<Arc<keys::pkcs11::Pkcs11Token>>,
}

impl RoleKeys {
    fn public_key(&self, role: Role) -> &[u8] {
        match role {
            Role::CaSigning => self.ca.public_key_spki_der(),
            Role::RaSigning => self.ra_signing.public_key_spki_der(),
            Role::RaEncryption => self.ra_decryption.public_key_spki_der(),
        }
    }
}

/// Refuses configurations that point two roles at one key file or token label.
pub fn check_distinct_locations(config: &Config) -> Result<(), String> {
    let keys = &config.keys;
    let p11 = &config.pkcs11;
    let path = |p: &Path| p.display().to_string();
    let locations: [(Role, &str, String); 3] = match keys.backend {
        KeyBackend::Software => [
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
        KeyBackend::Pkcs11 => [
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
    for (i, (role_a, setting_a, value_a)) in locations.iter().enumerate() {
        for (role_b, setting_b, value_b) in locations.iter().skip(i + 1) {
            if value_a == value_b {
                return Err(format!(
                    "{setting_a} and {setting_b} are both {value_a:?}: the {} and {} roles may not share a key",
                    role_a.name(),
                    role_b.name()
                ));
            }
        }
    }
    Ok(())
}

/// Refuses keys and certificates that would let one key do two jobs or a certificate
/// vouch for a role it does not fit.
pub fn check_roles(keys: &RoleKeys, certificates: &RoleCertificates) -> Result<(), String> {
    for (i, a) in Role::ALL.iter().enumerate() {
        for b in Role::ALL.iter().skip(i + 1) {
            if keys.public_key(*a) == keys.public_key(*b) {
                return Err(format!(
                    "the {} and {} roles use the same key: each role needs its own key",
                    a.name(),
                    b.name()
                ));
            }
        }
    }
    for role in Role::ALL {
        let der = certificates.of(role);
        let certificate = Certificate::from_der(der)
            .map_err(|e| format!("{} certificate: unreadable: {e}", role.name()))?;
        let tbs = certificate.tbs_certificate();
        let spki = der::Encode::to_der(tbs.subject_public_key_info())
            .map_err(|e| format!("{} certificate: {e}", role.name()))?;
        if spki != keys.public_key(role) {
            return Err(format!(
                "the {} certificate does not certify the {} key",
                role.name(),
                role.name()
            ));
        }
        check_usage(role, &certificate)?;
    }
    Ok(())
}

fn check_usage(role: Role, certificate: &Certificate) -> Result<(), String> {
    let tbs = certificate.tbs_certificate();
    let unreadable = |e: der::Error| format!("{} certificate extensions: {e}", role.name());
    let key_usage = tbs
        .get_extension::<KeyUsage>()
        .map_err(unreadable)?
        .map(|(_, ku)| ku);
    let has = |usage: KeyUsages| key_usage.is_some_and(|ku| ku.0.contains(usage));
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(unreadable)?
        .map(|(_, e)| e.0.iter().map(ToString::to_string).collect::<Vec<_>>())
        .unwrap_or_default();
    let is_ca = tbs
        .get_extension::<BasicConstraints>()
        .map_err(unreadable)?
        .is_some_and(|(_, bc)| bc.ca);
    let agent = eku.iter().any(|o| o == CERTIFICATE_REQUEST_AGENT);
    let problem = match role {
        Role::CaSigning if !is_ca || !has(KeyUsages::KeyCertSign) => {
            Some("it is not a CA certificate with keyCertSign")
        }
        Role::RaSigning if is_ca => Some("it is a CA certificate"),
        Role::RaSigning if !has(KeyUsages::DigitalSignature) || !agent => {
            Some("it needs digitalSignature and the Certificate Request Agent EKU")
        }
        Role::RaEncryption if is_ca => Some("it is a CA certificate"),
        Role::RaEncryption if !has(KeyUsages::KeyEncipherment) => Some("it needs keyEncipherment"),
        Role::RaEncryption if agent || has(KeyUsages::DigitalSignature) => Some(
            "it may also sign (digitalSignature or the Certificate Request Agent EKU), which is the RA signing role's job",
        ),
        _ => None,
    };
    match problem {
        Some(why) => Err(format!(
            "the {} certificate does not fit its role: {why}",
            role.name()
        )),
        None => Ok(()),
    }
}

/// Loads the three keys from the configured backend and checks them against their
/// certificates.
pub fn load(
    dir: &Path,
    config: &Config,
    certificates: &RoleCertificates,
) -> Result<RoleKeys, String> {
    check_loaded(dir, config, certificates, None)
}

/// [`load`] through a token this process is already logged in to (PKCS#11 login belongs to
/// the whole process: a second login is refused), e.g. to check a prepared rollover.
pub fn check_loaded(
    dir: &Path,
    config: &Config,
    certificates: &RoleCertificates,
    token: Option<&Arc<keys::pkcs11::Pkcs11Token>>,
) -> Result<RoleKeys, String> {
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
) -> Result<Option<zeroize::Zeroizing<String>>, String> {
    let file = config.keys.passphrase_file.as_ref().map(|f| dir.join(f));
    if file.is_none() && std::env::var_os(PASSPHRASE_ENV).is_none() {
        return Ok(None);
    }
    keys::secret::read_secret(file.as_deref(), PASSPHRASE_ENV)
        .map(Some)
        .map_err(|e| format!("key passphrase: {e}"))
}

fn load_software(dir: &Path, config: &Config) -> Result<RoleKeys, String> {
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
        key.map_err(|e| format!("{}: {e}", path.display()))
    };
    let ca = load(KeyRole::CaSigning, &k.ca_key)?;
    let ra_signing = load(KeyRole::RaSigning, &k.ra_signing_key)?;
    let ra_decryption = load(KeyRole::RaDecryption, &k.ra_encryption_key)?;
    Ok(RoleKeys {
        ca: Arc::new(ca),
        ra_signing: Arc::new(ra_signing),
        ra_decryption: Arc::new(ra_decryption),
        unencrypted_software_keys: passphrase.is_none(),
        token: None,
    })
}

/// Opens the configured token once (PKCS#11 login belongs to the whole process).
pub fn open_token(dir: &Path, config: &Config) -> Result<Arc<keys::pkcs11::Pkcs11Token>, String> {
    let p11 = &config.pkcs11;
    let pin_file = p11.pin_file.as_ref().map(|f| dir.join(f));
    let pin = keys::secret::read_secret(pin_file.as_deref(), PIN_ENV)
        .map_err(|e| format!("PKCS#11 PIN: {e}"))?;
    keys::pkcs11::Pkcs11Token::open(&p11.module, &p11.token_label, pin).map_err(|e| {
        format!(
            "PKCS#11 token {:?} in {}: {e}",
            p11.token_label,
            p11.module.display()
        )
    })
}

fn load_pkcs11(token: Arc<keys::pkcs11::Pkcs11Token>, config: &Config) -> Result<RoleKeys, String> {
    use keys::KeyRole;
    let p11 = &config.pkcs11;
    let load = |role: KeyRole, label: &str| {
        let key = token
            .load_key(role, label)
            .map_err(|e| format!("PKCS#11 key {label:?} ({role}): {e}"))?;
        if key.attributes().never_extractable == Some(false)
            || key.attributes().always_sensitive == Some(false)
        {
            tracing::warn!(label, %role, "this token key was imported or was once extractable: a copy may exist outside the HSM");
        }
        Ok::<_, String>(key)
    };
    let ca = load(KeyRole::CaSigning, &p11.ca_key_label)?;
    let ra_signing = load(KeyRole::RaSigning, &p11.ra_signing_key_label)?;
    let ra_decryption = load(KeyRole::RaDecryption, &p11.ra_encryption_key_label)?;
    Ok(RoleKeys {
        ca: Arc::new(ca),
        ra_signing: Arc::new(ra_signing),
        ra_decryption: Arc::new(ra_decryption),
        unencrypted_software_keys: false,
        token: Some(token),
    })
}
