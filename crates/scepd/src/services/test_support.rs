//! A SCEP service for in-process tests of the routers: fresh CA and RA keys and certificates
//! made in memory (no ceremony, no key files), a SQLite store in a temporary directory and the
//! default configuration.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keys::KeyRole;
use keys::software::SoftwareKey;

use crate::services::revocation::Revocation;
use crate::services::serve::{Loaded, RaSide, assemble};
use config::Config;

/// The service, and the directory its database lives in (removed when dropped).
pub async fn scep_service() -> (tempfile::TempDir, Loaded) {
    let dir = tempfile::tempdir().unwrap();
    let ca_key: Arc<dyn keys::Signer> =
        Arc::new(SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap());
    let ca_certificate =
        ca::dev::self_signed_ca(ca_key.as_ref(), "scepd router test CA", 30).unwrap();
    let issue = |spki: &[u8], cn: &str, purpose| {
        ca::dev::issue_ra_certificate(ca_key.as_ref(), &ca_certificate, spki, cn, purpose, 30)
            .unwrap()
    };
    let signer = Arc::new(SoftwareKey::generate_rsa(KeyRole::RaSigning, 2048).unwrap());
    let agent = Arc::new(SoftwareKey::generate_ec_p256(KeyRole::RaAgent).unwrap());
    let decrypter = Arc::new(SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap());
    let signing_certificate = issue(
        keys::Signer::public_key_spki_der(signer.as_ref()),
        "scepd router test RA signing",
        ca::dev::RaCertPurpose::Signing,
    );
    let agent_certificate = issue(
        keys::Signer::public_key_spki_der(agent.as_ref()),
        "scepd router test RA agent",
        ca::dev::RaCertPurpose::Agent,
    );
    let encryption_certificate = issue(
        keys::Decrypter::public_key_spki_der(decrypter.as_ref()),
        "scepd router test RA encryption",
        ca::dev::RaCertPurpose::Encryption,
    );
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = store::Store::open(&url).await.unwrap();
    let config = Config::default();
    let templates = config::templates::build(&config.templates).unwrap();
    let ca = ca::Ca::new(
        Arc::clone(&ca_key),
        ca_certificate.clone(),
        templates,
        Vec::new(),
    )
    .unwrap();
    let authority = Arc::new(ca::service::CaService::new(
        Arc::new(ca),
        Arc::new(store.clone()),
        ca::service::Settings::all_in_one(agent_certificate.clone()),
    ));
    let revocation = Arc::new(Revocation::new(
        Arc::clone(&ca_key),
        ca_certificate.clone(),
        store.clone(),
    ));
    let side = RaSide {
        signer,
        signing_certificate,
        agent,
        agent_certificate,
        separate_agent: true,
        decrypter,
        encryption_certificate,
        ca_certificate,
        chain: Vec::new(),
        token: None,
        unencrypted_keys: true,
    };
    let loaded = assemble(dir.path(), config, side, store, authority, revocation).unwrap();
    (dir, loaded)
}
