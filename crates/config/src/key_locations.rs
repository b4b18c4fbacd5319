//! Where `[keys]` and `[pkcs11]` put the role keys and certificates, in the plain form the
//! `keys` crate loads them from (it never reads scepd's configuration).

use keys::locations::{Backend, KeyLocations, RoleFiles, TokenKeys};

use crate::{Config, KeyBackend};

impl Config {
    /// The key and certificate locations of `[keys]` and `[pkcs11]`.
    pub fn key_locations(&self) -> KeyLocations {
        let k = &self.keys;
        let p11 = &self.pkcs11;
        KeyLocations {
            backend: match k.backend {
                KeyBackend::Software => Backend::Software,
                KeyBackend::Pkcs11 => Backend::Pkcs11,
            },
            passphrase_file: k.passphrase_file.clone(),
            key_files: RoleFiles {
                ca: k.ca_key.clone(),
                ra_signing: k.ra_signing_key.clone(),
                ra_agent: k.ra_agent_key.clone(),
                ra_encryption: k.ra_encryption_key.clone(),
            },
            certificates: RoleFiles {
                ca: k.ca_certificate.clone(),
                ra_signing: k.ra_signing_certificate.clone(),
                ra_agent: k.ra_agent_certificate.clone(),
                ra_encryption: k.ra_encryption_certificate.clone(),
            },
            token: TokenKeys {
                module: p11.module.clone(),
                token_label: p11.token_label.clone(),
                pin_file: p11.pin_file.clone(),
                ca_label: p11.ca_key_label.clone(),
                ra_signing_label: p11.ra_signing_key_label.clone(),
                ra_agent_label: p11.ra_agent_key_label.clone(),
                ra_encryption_label: p11.ra_encryption_key_label.clone(),
            },
        }
    }
}
