//! Which role keys a host holds (all-in-one: all four; the CA of a split deployment: the CA key;
//! its RA: the RA keys), and the check that they open as the service opens them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use config::Config;
use config::deployment::Mode;
use keys::keystore::{self, Role, RoleCertificates};
use keys::pkcs11::Pkcs11Token;

use super::finding::{Finding, Severity, finding};

/// The roles whose keys a host of `mode` holds.
pub fn roles(mode: Mode) -> &'static [Role] {
    match mode {
        Mode::AllInOne => &Role::ALL,
        Mode::Ca => &[Role::CaSigning],
        Mode::Ra => &[Role::RaSigning, Role::RaAgent, Role::RaEncryption],
    }
}

/// The key file of `role` (software backend), relative to the data directory; `None` for an
/// enrollment agent the data directory does not have.
pub fn key_file(config: &Config, role: Role) -> Option<PathBuf> {
    let keys = &config.keys;
    match role {
        Role::CaSigning => Some(keys.ca_key.clone()),
        Role::RaSigning => Some(keys.ra_signing_key.clone()),
        Role::RaAgent => keys.ra_agent_key.clone(),
        Role::RaEncryption => Some(keys.ra_encryption_key.clone()),
    }
}

/// `keys.load` (all-in-one): every role key opens as `scepd serve` opens it — through `token`
/// when the doctor is already logged in to it (a PKCS#11 login belongs to the whole process) —
/// no two roles share a key, and each fits its certificate.
pub fn load_finding(dir: &Path, config: &Config, token: Option<&Arc<Pkcs11Token>>) -> Finding {
    let locations = config.key_locations();
    let loaded = RoleCertificates::read(dir, &locations)
        .map_err(|e| e.to_string())
        .and_then(|certificates| {
            keystore::check_loaded(dir, &locations, &certificates, token).map_err(|e| e.to_string())
        });
    match loaded {
        Ok(_) => finding(
            "keys.load",
            Severity::Pass,
            "every role key opens as `scepd serve` opens it, each on its own, each fitting its certificate",
        ),
        Err(e) => finding(
            "keys.load",
            Severity::Fail,
            format!("the role keys do not open as `scepd serve` opens them: {e}"),
        ),
    }
}
