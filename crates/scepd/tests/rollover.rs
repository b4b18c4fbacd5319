//! RA and CA rollover end to end: devices that enrolled before keep working.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{SCEPD, Server, openssl_verify, write_pem};
use scep_client::http::http_get;
use scep_client::{
    CaBundle, ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post,
    read_cert_rep, self_signed_certificate,
};

fn scepd(args: &[&str], data: &Path) {
    let out = Command::new(SCEPD)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Device {
    key: ClientKey,
    certificate: Vec<u8>,
    /// The RA signing certificate that signed the reply.
    reply_signer: Vec<u8>,
}

/// Enrolls (PKCSReq with a challenge) or renews (RenewalReq signed by `renewing`), encrypting
/// to `encrypt_to` — possibly an RA certificate the client cached earlier.
fn request(server: &Server, encrypt_to: &[u8], cn: &str, renewing: Option<&Device>) -> Device {
    let key = ClientKey::generate_rsa(2048).unwrap();
    let (signer_key, signer_cert, message_type, csr) = match renewing {
        Some(old) => {
            let csr = CsrBuilder::new(&format!("CN={cn}")).build(&key).unwrap();
            (&old.key, old.certificate.clone(), "17", csr)
        }
        None => {
            let challenge = server.challenge(&[]);
            let csr = CsrBuilder::new(&format!("CN={cn}"))
                .challenge(&challenge)
                .build(&key)
                .unwrap();
            (
                &key,
                self_signed_certificate(&key, &format!("CN={cn}")).unwrap(),
                "19",
                csr,
            )
        }
    };
    let builder = PkcsReqBuilder::new(signer_key, &signer_cert, encrypt_to, csr)
        .unwrap()
        .message_type(Some(message_type));
    let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let outcome = read_cert_rep(
        &reply.body,
        signer_key,
        &signer_cert,
        builder.get_sender_nonce(),
    )
    .unwrap();
    assert_eq!(
        outcome.status,
        scep::PkiStatus::Success,
        "{:?}\n{}",
        outcome.fail_info_text,
        server.stderr()
    );
    Device {
        key,
        certificate: outcome.certificate.unwrap(),
        reply_signer: outcome.signer_certificate,
    }
}

#[test]
fn ra_renewal_keeps_clients_with_a_cached_ra_certificate_working() {
    let server = Server::start("");
    let before = get_ca_cert(&server.url()).unwrap();
    let data = server.data_dir();
    let old_signing_key = std::fs::read(data.join("keys/ra-signing.key")).unwrap();
    let old_agent_key = std::fs::read(data.join("keys/ra-agent.key")).unwrap();
    let old_agent_certificate = std::fs::read(data.join("certs/ra-agent.pem")).unwrap();

    scepd(&["ra", "renew"], &data);
    let server = server.restart();
    let after = get_ca_cert(&server.url()).unwrap();
    assert_ne!(after.ra_encryption, before.ra_encryption);
    assert_ne!(after.ra_signing, before.ra_signing);
    assert_eq!(after.ca, before.ca, "the CA does not change");
    // The old signing and enrollment-agent keys are gone (the agent's certificate is kept
    // in previous/ for the record); the old encryption key is kept for a while.
    assert_ne!(
        std::fs::read(data.join("keys/ra-signing.key")).unwrap(),
        old_signing_key
    );
    assert_ne!(
        std::fs::read(data.join("keys/ra-agent.key")).unwrap(),
        old_agent_key
    );
    assert_ne!(
        std::fs::read(data.join("certs/ra-agent.pem")).unwrap(),
        old_agent_certificate
    );
    assert!(
        std::fs::read_dir(data.join("certs/previous"))
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("ra-agent-"))
    );
    assert_eq!(
        std::fs::read_dir(data.join("keys/previous"))
            .unwrap()
            .count(),
        1
    );

    // A client that cached the old RA encryption certificate still enrolls; the reply is
    // signed by the new enrollment agent.
    let device = request(&server, &before.ra_encryption, "cached-ra", None);
    assert_eq!(Some(&device.reply_signer), after.ra_signing.as_ref());
    openssl_verify(
        &server.ca_pem(),
        &write_pem(&server, "cached.pem", &device.certificate),
    );
    let fresh = request(&server, &after.ra_encryption, "fresh-ra", None);
    openssl_verify(
        &server.ca_pem(),
        &write_pem(&server, "fresh.pem", &fresh.certificate),
    );
}

#[test]
fn a_client_that_fetched_get_next_ca_cert_validates_replies_after_the_switch() {
    let server = Server::start(common::RENEW_ANY_TIME);
    let data = server.data_dir();
    let current = get_ca_cert(&server.url()).unwrap();
    let next_url = |server: &Server| format!("{}?operation=GetNextCACert", server.url());
    assert_eq!(
        http_get(&next_url(&server)).unwrap().status,
        404,
        "nothing to announce yet"
    );
    assert!(
        !scep_client::get_ca_caps(&server.url())
            .unwrap()
            .contains("GetNextCACert")
    );
    let early = request(&server, &current.ra_encryption, "early-device", None);
    let old_root = write_pem(&server, "old-root.pem", &current.ca);
    let old_root_copy = std::env::temp_dir().join(format!("old-root-{}.pem", std::process::id()));
    std::fs::copy(&old_root, &old_root_copy).unwrap();

    scepd(&["ca", "rollover"], &data);
    let server = server.restart();
    assert!(
        scep_client::get_ca_caps(&server.url())
            .unwrap()
            .contains("GetNextCACert")
    );
    let reply = http_get(&next_url(&server)).unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/x-x509-next-ca-cert")
    );
    common::openssl_cms_verify(&server.ca_pem(), &reply.body);
    let signed = scep::parse_signed_certs(&reply.body).unwrap();
    let current_ra = scep::parse_certificate_lenient(current.ra_signing.as_ref().unwrap()).unwrap();
    assert!(
        signed.signed_by(&current_ra),
        "GetNextCACert must be signed by the current RA"
    );
    let announced =
        CaBundle::from_get_ca_cert(&scep::build_certs_only(&signed.certificates).unwrap()).unwrap();
    assert_ne!(announced.ca, current.ca);
    // Still the old CA until activation.
    assert_eq!(get_ca_cert(&server.url()).unwrap().ca, current.ca);

    scepd(&["ca", "rollover", "--activate"], &data);
    let server = server.restart();
    let switched = get_ca_cert(&server.url()).unwrap();
    assert_eq!(
        switched.ca, announced.ca,
        "GetCACert now serves the CA announced by GetNextCACert"
    );
    assert_eq!(switched.ra_signing, announced.ra_signing);

    // The client validates the new replies with what GetNextCACert gave it.
    let late = request(&server, &announced.ra_encryption, "late-device", None);
    assert_eq!(Some(&late.reply_signer), announced.ra_signing.as_ref());
    let next_root = write_pem(&server, "next-root.pem", &announced.ca);
    openssl_verify(
        &next_root,
        &write_pem(&server, "late.pem", &late.certificate),
    );

    // A relying party that trusts only the old root validates the new CA's certificates
    // through the NewWithOld cross certificate.
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&old_root_copy)
        .arg("-untrusted")
        .arg(data.join("certs/ca-new-with-old.pem"))
        .arg(server.dir.path().join("late.pem"))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&old_root_copy);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A device enrolled under the old CA renews without a challenge.
    let renewed = request(
        &server,
        &switched.ra_encryption,
        "early-device",
        Some(&early),
    );
    openssl_verify(
        &next_root,
        &write_pem(&server, "renewed.pem", &renewed.certificate),
    );
    assert_eq!(server.certificate_count(), 3);
}

#[test]
fn rollovers_with_keys_in_a_pkcs11_token() {
    if !common::require_tool(common::SOFTHSM_MODULE) || !common::require_tool("softhsm2-util") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (conf, pin_file) = common::softhsm_token(dir.path(), "scepd", "502938471");
    let env = [("SOFTHSM2_CONF", conf.as_str())];
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = Command::new(SCEPD)
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .envs(env)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let pin = pin_file.to_str().unwrap();
    run(&[
        "init",
        "--hsm-module",
        common::SOFTHSM_MODULE,
        "--hsm-token",
        "scepd",
        "--hsm-pin-file",
        pin,
    ]);
    let config = data.join("scepd.toml");
    let toml = std::fs::read_to_string(&config).unwrap() + common::RENEW_ANY_TIME;
    std::fs::write(&config, toml).unwrap();
    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data.clone(), &env);
    let before = get_ca_cert(&server.url()).unwrap();
    let early = request(&server, &before.ra_encryption, "hsm-early", None);
    drop(server);

    // RA renewal in the token: a client with the cached RA certificate still enrolls.
    run(&["ra", "renew"]);
    let toml = std::fs::read_to_string(data.join("scepd.toml")).unwrap();
    assert!(
        toml.contains("ra_signing_key_label = \"scepd-ra-signing-")
            && toml.contains("ra_agent_key_label = \"scepd-ra-agent-"),
        "{toml}"
    );
    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data.clone(), &env);
    let after = get_ca_cert(&server.url()).unwrap();
    assert_ne!(after.ra_signing, before.ra_signing);
    request(&server, &before.ra_encryption, "hsm-cached", None);
    drop(server);

    // CA rollover in the token, announced, activated; the early device renews.
    run(&["ca", "rollover"]);
    run(&["ca", "rollover", "--activate"]);
    let server = Server::serve_with_env(tempfile::tempdir().unwrap(), data.clone(), &env);
    let switched = get_ca_cert(&server.url()).unwrap();
    assert_ne!(switched.ca, before.ca);
    let renewed = request(&server, &switched.ra_encryption, "hsm-early", Some(&early));
    let root = write_pem(&server, "hsm-root.pem", &switched.ca);
    openssl_verify(
        &root,
        &write_pem(&server, "hsm-renewed.pem", &renewed.certificate),
    );
    // No key ever left the token.
    assert_eq!(
        std::fs::read_dir(data.join("keys"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .count(),
        0
    );
}
