//! The CA service over the SQL store (in-memory SQLite), as `scepd ca` runs it: an RA
//! registers with its one-time code, then sends statements; the store's atomic steps (code
//! spent once, nonce claimed once, certificate recorded with its audit entry) hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ca::service::{CaService, Caller, RaPublicKeys, Settings};
use ca::{CaRefusal, dev};
use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use sha2::{Digest, Sha256};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn ec(role: KeyRole) -> SoftwareKey {
    SoftwareKey::generate_ec_p256(role).unwrap()
}

fn statement(agent: &dyn Signer, agent_certificate: &[u8], nonce: u8) -> Vec<u8> {
    let device = scep_client::ClientKey::generate_ec_p256().unwrap();
    let csr = scep_client::CsrBuilder::new("CN=dev1")
        .dns("dev1.example.net")
        .build(&device)
        .unwrap();
    let t = now();
    let s = request::RaStatement::new(
        csr,
        "device".into(),
        format!("tx-{nonce}"),
        None,
        t,
        t + 300,
        vec![nonce; 16],
    )
    .unwrap();
    let alg = agent.default_algorithm();
    let unsigned = request::prepare_statement(
        &s,
        agent_certificate,
        alg.digest().algorithm_identifier_der(),
        alg.algorithm_identifier_der(),
    )
    .unwrap();
    let signature = agent.sign(alg, unsigned.signed_attributes_der()).unwrap();
    unsigned.finish(signature).unwrap()
}

#[test]
fn an_ra_registers_once_and_its_statements_are_answered_once() {
    block_on(async {
        let store = store::Store::open_in_memory().await.unwrap();
        let ca_key: Arc<dyn Signer> = Arc::new(ec(KeyRole::CaSigning));
        let ca_certificate =
            dev::self_signed_ca(ca_key.as_ref(), "scepd store test CA", 30).unwrap();
        let ca = ca::Ca::new(
            ca_key,
            ca_certificate,
            vec![policy::Template::device()],
            Vec::new(),
        )
        .unwrap();
        let service = CaService::new(Arc::new(ca), Arc::new(store.clone()), Settings::split(30));

        let code = "ONE-TIME-CODE";
        store
            .create_ra_registration(store::NewRaRegistration {
                name: "ra1".into(),
                templates: vec!["device".into()],
                code_sha256: Sha256::digest(code.as_bytes()).into(),
                code_expires_at: now() + 3600,
                created_at: now(),
            })
            .await
            .unwrap();
        let agent = ec(KeyRole::RaAgent);
        let keys = RaPublicKeys {
            signing: ec(KeyRole::RaSigning).public_key_spki_der().to_vec(),
            agent: Some(agent.public_key_spki_der().to_vec()),
            encryption: ec(KeyRole::RaSigning).public_key_spki_der().to_vec(),
            tls: ec(KeyRole::RaSigning).public_key_spki_der().to_vec(),
        };
        let open = service.open_registration(code, now()).await.unwrap();
        let registered = service
            .complete_registration(open, keys, now())
            .await
            .unwrap();
        // The code is spent.
        assert!(matches!(
            service.open_registration(code, now()).await,
            Err(CaRefusal::RegistrationRefused(_))
        ));
        assert!(
            service
                .active_ra_tls_certificates()
                .await
                .unwrap()
                .contains(&registered.tls_sha256)
        );

        let caller = Caller::Tls(Some(registered.tls_sha256));
        let ra = service.connected(caller).await.unwrap();
        let agent_certificate = registered.agent_certificate.unwrap();
        let bytes = statement(&agent, &agent_certificate, 1);
        let first = service
            .answer_statement(&ra, bytes.clone(), now())
            .await
            .unwrap();
        let again = service.answer_statement(&ra, bytes, now()).await.unwrap();
        assert!(!first.replayed && again.replayed);
        assert_eq!(again.certificate, first.certificate);
        assert_eq!(store.count_issued_statements().await.unwrap(), 1);
        // The CA's own record of it, audited with the RA as actor.
        let serial = &first.certificate.serial_hex;
        let entry = store.certificate_entry(serial).await.unwrap().unwrap();
        assert_eq!(entry.certificate.template, "device");
        assert_eq!(entry.certificate.transaction_id, "tx-1");
        let audit = store.audit_events(100).await.unwrap();
        assert!(
            audit.iter().any(|r| r.kind == "certificate-issued"
                && r.subject == *serial
                && r.actor == "ra:ra1"),
            "{audit:?}"
        );
        // Another statement reusing the nonce: refused, nothing issued.
        let reused = statement(&agent, &agent_certificate, 1);
        assert!(matches!(
            service.answer_statement(&ra, reused, now()).await,
            Err(CaRefusal::NonceReused(_))
        ));
        assert_eq!(store.count_issued_statements().await.unwrap(), 1);

        // Revoked at the CA: the next request on that connection is refused.
        assert!(store.revoke_ra("ra1", now()).await.unwrap());
        assert!(matches!(
            service.connected(caller).await,
            Err(CaRefusal::RaNotRegistered(_))
        ));
    });
}
