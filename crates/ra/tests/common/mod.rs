//! What the RA's integration tests share: a device ([`device`]), a real CA behind a
//! `CertificateAuthority` that keeps every statement it was handed ([`CapturingCa`]), and an
//! RA over an in-memory `store::Store` as its ledger ([`setup`]). Everything runs in process:
//! no socket, no `scepd`.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

pub mod device;

use std::sync::{Arc, Mutex};

use keys::KeyRole;
use keys::software::SoftwareKey;
use ra::{CaRefusal, CertificateAuthority, IssueFuture};
use ra::{Ra, RaConfig, RaIdentity};

/// A certificate serial as the ledger keys it: lowercase hex without leading zero octets.
pub fn serial_hex(serial: &[u8]) -> String {
    let start = serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial.len().saturating_sub(1));
    hex::encode(&serial[start..])
}

/// The real CA, every statement the RA handed it, and optionally a refusal it answers with
/// instead of deciding (the CA said no, whatever the RA thought).
pub struct CapturingCa {
    ca: ca::Ca,
    statements: Mutex<Vec<Vec<u8>>>,
    refusal: Mutex<Option<CaRefusal>>,
}

impl CapturingCa {
    /// How many statements the RA handed the CA.
    pub fn statement_count(&self) -> usize {
        self.statements.lock().unwrap().len()
    }

    /// The statements the RA handed the CA, in order.
    pub fn statements(&self) -> Vec<request::statement::RaStatement> {
        self.statements
            .lock()
            .unwrap()
            .iter()
            .map(|der| request::statement::parse_statement(der).unwrap().statement)
            .collect()
    }

    /// The binding of each statement, in order.
    pub fn bindings(&self) -> Vec<Option<request::statement::StatementBinding>> {
        self.statements().into_iter().map(|s| s.binding).collect()
    }

    /// From now on the CA refuses every statement with `refusal`.
    pub fn refuse_with(&self, refusal: CaRefusal) {
        *self.refusal.lock().unwrap() = Some(refusal);
    }
}

impl CertificateAuthority for CapturingCa {
    fn issue<'a>(&'a self, statement_der: &'a [u8], now: i64) -> IssueFuture<'a> {
        self.statements.lock().unwrap().push(statement_der.to_vec());
        let refusal = self.refusal.lock().unwrap().clone();
        let issued = self
            .ca
            .verify_statement(statement_der, now)
            .and_then(|verified| self.ca.issue(verified, now));
        Box::pin(async move {
            if let Some(refusal) = refusal {
                return Err(refusal);
            }
            issued.map_err(CaRefusal::from)
        })
    }
}

/// A CA, the RA's three keys under it, the RA in front of a capturing CA, and the ledger.
pub struct Setup {
    pub ra: Ra,
    /// The RA's ledger, for what a test arranges or checks behind the RA's back.
    pub store: store::Store,
    pub ca: Arc<CapturingCa>,
    pub config: RaConfig,
    pub ca_signer: Arc<dyn keys::Signer>,
    pub ca_certificate: Vec<u8>,
    pub ca_subject_der: Vec<u8>,
    pub signing_certificate: Vec<u8>,
    pub encryption_certificate: Vec<u8>,
}

/// [`setup`] under a CA named `CN=RA Test CA,O=scepd`: the RA and the CA hold the same
/// templates, those of `config`.
pub async fn setup(config: RaConfig) -> Setup {
    setup_named("CN=RA Test CA,O=scepd", config).await
}

/// A CA of this name (P-256), the RA's signing, agent and encryption keys (RSA) certified by
/// it, the CA trusting that agent, and the RA with an in-memory ledger.
pub async fn setup_named(ca_name: &str, config: RaConfig) -> Setup {
    let ca_signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let ca_certificate = ca::CaProfile::new(ca_name, 3650)
        .unwrap()
        .self_signed(ca_signer.as_ref())
        .unwrap();
    let ra_certificate = |role, purpose, cn: &str| {
        let key = SoftwareKey::generate_rsa(role, 2048).unwrap();
        let certificate = ca::dev::issue_ra_certificate(
            ca_signer.as_ref(),
            &ca_certificate,
            key.public_key_spki_der(),
            cn,
            purpose,
            365,
        )
        .unwrap();
        (key, certificate)
    };
    let (signing, signing_certificate) = ra_certificate(
        KeyRole::RaSigning,
        ca::dev::RaCertPurpose::Signing,
        "RA signing",
    );
    let (agent, agent_certificate) = ra_certificate(
        KeyRole::RaSigning,
        ca::dev::RaCertPurpose::Agent,
        "RA agent",
    );
    let (encryption, encryption_certificate) = ra_certificate(
        KeyRole::RaDecryption,
        ca::dev::RaCertPurpose::Encryption,
        "RA encryption",
    );
    let ca = Arc::new(CapturingCa {
        ca: ca::Ca::new(
            Arc::clone(&ca_signer),
            ca_certificate.clone(),
            config.templates.clone(),
            vec![agent_certificate.clone()],
        )
        .unwrap(),
        statements: Mutex::new(Vec::new()),
        refusal: Mutex::new(None),
    });
    let identity = RaIdentity {
        signer: signing.into_signer(KeyRole::RaSigning).unwrap(),
        signing_certificate: signing_certificate.clone(),
        agent: agent.into_signer(KeyRole::RaSigning).unwrap(),
        agent_certificate,
        decrypter: encryption.into_decrypter().unwrap(),
        encryption_certificate: encryption_certificate.clone(),
        ca_certificate: ca_certificate.clone(),
        previous_encryption: Vec::new(),
        previous_ca_certificates: Vec::new(),
    };
    let store = store::Store::open_in_memory().await.unwrap();
    let authority: Arc<dyn CertificateAuthority> = ca.clone();
    let ra = Ra::new(config.clone(), identity, Arc::new(store.clone()), authority).unwrap();
    Setup {
        ra,
        store,
        ca,
        config,
        ca_signer,
        ca_subject_der: scep::parse_certificate_lenient(&ca_certificate)
            .unwrap()
            .subject_der,
        ca_certificate,
        signing_certificate,
        encryption_certificate,
    }
}
