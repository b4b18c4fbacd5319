//! What the MDM end-to-end tests share: a `scepd serve` whose data directory holds the MDM's
//! files (secrets, keys, trust roots) before it starts, and a device that enrolls at a named
//! endpoint with its challenge in a UTF8String (a signed challenge holds `_`, which a
//! PrintableString cannot carry).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod receiver;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use scep_client::{
    ChallengeEncoding, ClientKey, CsrBuilder, PkcsReqBuilder, SanEntry, get_ca_cert,
    pki_operation_post,
};

use crate::common::Server;

/// `scepd init`, then `prepare` writes the MDM's files into the data directory, then
/// `config` is appended to scepd.toml and `scepd serve` starts with `env`.
///
/// Every refusal these tests provoke comes from 127.0.0.1, and each counts toward the
/// guessing lockout; the limit is raised so that the refusals are each refused on their own
/// merits, never because an earlier case locked the source out.
pub fn start(config: &str, prepare: impl FnOnce(&Path), env: &[(&str, &str)]) -> Server {
    let (dir, data) = crate::common::initialised_data_dir();
    prepare(&data);
    let path = data.join("scepd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\n[limits]\n"),
        "no [limits] section to extend"
    );
    let mut text = text.replacen(
        "\n[limits]\n",
        "\n[limits]\nmax_failed_attempts = 1000\nglobal_max_failed_attempts = 1000\n",
        1,
    );
    text.push('\n');
    text.push_str(config);
    std::fs::write(&path, text).unwrap();
    Server::serve_with_env(dir, data, env)
}

/// Writes `contents` to `data/name` with mode 0600 (secrets and private keys) or 0644.
pub fn write_file(data: &Path, name: &str, contents: &[u8], private: bool) -> PathBuf {
    let path = data.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    let mode = if private { 0o600 } else { 0o644 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A random transactionID: each attempt is its own transaction unless a test retries one.
pub fn new_transaction() -> String {
    hex::encode(keys::random::bytes(16).unwrap())
}

/// A device: its RSA key and the subject it asks for (a key is certified to one subject
/// only, RFC 8894 §8.6, so a device keeps its subject).
pub struct Device {
    pub key: ClientKey,
    pub subject: String,
    self_signed: Vec<u8>,
}

impl Device {
    pub fn new(subject: &str) -> Self {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let self_signed = scep_client::self_signed_certificate(&key, subject).unwrap();
        Self {
            key,
            subject: subject.to_owned(),
            self_signed,
        }
    }

    /// A PKCSReq to `url` under `transaction_id` with `challenge` (UTF8String) and `sans`:
    /// the certificate, or the failInfo of the refusal. The CSR is deterministic (RSA
    /// PKCS#1 v1.5), so the same arguments send the same request again: a retry.
    pub fn enroll(
        &self,
        url: &str,
        challenge: &str,
        sans: &[SanEntry],
        transaction_id: &str,
    ) -> Result<Vec<u8>, scep::FailInfo> {
        let bundle = get_ca_cert(url).unwrap();
        let mut csr =
            CsrBuilder::new(&self.subject).challenge_encoded(ChallengeEncoding::Utf8, challenge);
        for san in sans {
            csr = csr.san(san.clone());
        }
        let builder = PkcsReqBuilder::new(
            &self.key,
            &self.self_signed,
            &bundle.ra_encryption,
            csr.build(&self.key).unwrap(),
        )
        .unwrap()
        .transaction_id(transaction_id);
        let reply = pki_operation_post(url, &builder.build().unwrap()).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        let outcome = scep_client::read_cert_rep(
            &reply.body,
            &self.key,
            &self.self_signed,
            builder.get_sender_nonce(),
        )
        .unwrap();
        match outcome.status {
            scep::PkiStatus::Success => Ok(outcome.certificate.unwrap()),
            scep::PkiStatus::Failure(info) => Err(info),
            other => panic!("unexpected status {other:?}"),
        }
    }
}

pub fn dns(name: &str) -> SanEntry {
    SanEntry::Dns(name.to_owned())
}

/// The serial (hex) of a DER certificate.
pub fn serial(certificate: &[u8]) -> String {
    hex::encode(scep::parse_certificate_lenient(certificate).unwrap().serial)
}

/// The audit log as `scepd audit export` prints it.
pub fn audit(server: &Server) -> String {
    server.cli(&["audit", "export"])
}
