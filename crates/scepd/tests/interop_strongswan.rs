//! strongSwan's SCEP client (`pki --scepca`, `pki --scep`; Debian 12's strongswan-pki 5.9.8
//! with the standard and extra plugins) against `scepd serve` on the secure defaults, at
//! `/scep` and at NDES's `/certsrv/mscep/mscep.dll`: it fetches the CA and RA certificates,
//! enrolls with AES and SHA-256 and a one-time challenge, and renews with its old
//! certificate and key for a new key. Every CertRep it is sent also passes
//! `openssl cms -verify` with its default purpose and the CA as trust anchor.
//!
//! What it took (see `scep::Capability::Sha384` and
//! `keys::SignatureAlgorithm::cms_signature_algorithm_der`): strongSwan 5.9 reads its AES and
//! SCEPStandard capability flags from the `SHA-384` keyword, and accepts only bare
//! rsaEncryption as a SignerInfo's signatureAlgorithm.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::recording_proxy::RecordingProxy;
use common::{
    Server, assert_device_template, certificate_der, openssl_cms_verify, openssl_text,
    openssl_verify, require_tool,
};

const PKI: &str = "pki";
const NDES_PATH: &str = "/certsrv/mscep/mscep.dll";

/// Runs `pki ARGS` in `work` (bounded: no test waits for a hung client); success and the
/// combined output.
fn pki(work: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("timeout")
        .arg("60")
        .arg(PKI)
        .args(args)
        .current_dir(work)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), log)
}

/// A new RSA-2048 key (PEM) in `work`.
fn new_key(work: &Path, name: &str) -> PathBuf {
    let out = Command::new(PKI)
        .args([
            "--gen",
            "--type",
            "rsa",
            "--size",
            "2048",
            "--outform",
            "pem",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = work.join(name);
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// The CA and RA certificates as `pki --scepca` stored them.
struct Fetched {
    ca: PathBuf,
    ra_signing: PathBuf,
    ra_encryption: PathBuf,
}

/// `pki --scepca`: the CA and both RA certificates, checked against the data directory.
fn fetch_ca_and_ra(server: &Server, url: &str, work: &Path) -> Fetched {
    let (ok, log) = pki(
        work,
        &[
            "--scepca", "--url", url, "--caout", "ca.der", "--raout", "ra.der",
        ],
    );
    assert!(
        ok,
        "pki --scepca failed:\n{log}\nserver:\n{}",
        server.stderr()
    );
    let data = server.data_dir();
    let ca = work.join("ca.der");
    assert_eq!(
        std::fs::read(&ca).unwrap(),
        certificate_der(&data.join("certs/ca.pem"))
    );
    // Two RA certificates: pki names them ra.der and ra-2.der in the order received.
    let signing = certificate_der(&data.join("certs/ra-signing.pem"));
    let encryption = certificate_der(&data.join("certs/ra-encryption.pem"));
    let (first, second) = (work.join("ra.der"), work.join("ra-2.der"));
    let first_der = std::fs::read(&first).unwrap();
    let second_der = std::fs::read(&second).unwrap();
    let (ra_signing, ra_encryption) = if first_der == signing {
        assert_eq!(second_der, encryption);
        (first, second)
    } else {
        assert_eq!((&first_der, &second_der), (&encryption, &signing));
        (second, first)
    };
    Fetched {
        ca,
        ra_signing,
        ra_encryption,
    }
}

/// `pki --scep`: enrolls `key` for `dn`, with `extra` (a challenge, or the old certificate
/// and key of a renewal); AES and SHA-256 as asked of the CA's capabilities.
fn enroll(
    url: &str,
    fetched: &Fetched,
    work: &Path,
    key: &Path,
    dn: &str,
    extra: &[&str],
) -> (bool, String) {
    let paths = |p: &Path| p.display().to_string();
    let (key, enc, sig, ca) = (
        paths(key),
        paths(&fetched.ra_encryption),
        paths(&fetched.ra_signing),
        paths(&fetched.ca),
    );
    let mut args = vec![
        "--scep",
        "--url",
        url,
        "--in",
        &key,
        "--dn",
        dn,
        "--cacert-enc",
        &enc,
        "--cacert-sig",
        &sig,
        "--cacert",
        &ca,
        "--cipher",
        "aes",
        "--digest",
        "sha256",
        "--interval",
        "1",
        "--maxpolltime",
        "5",
        "--outform",
        "pem",
    ];
    args.extend_from_slice(extra);
    pki(work, &args)
}

/// Writes the PEM certificate `pki --scep` printed to `work/name`.
fn save_certificate(log: &str, work: &Path, name: &str) -> PathBuf {
    let begin = log
        .find("-----BEGIN CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate in:\n{log}"));
    let end = log[begin..].find("-----END CERTIFICATE-----").unwrap() + begin;
    let path = work.join(name);
    std::fs::write(
        &path,
        format!("{}-----END CERTIFICATE-----\n", &log[begin..end]),
    )
    .unwrap();
    path
}

/// Fetch, enroll with a one-time challenge, see the spent challenge refused, renew.
fn enrolls_and_renews_at(path: &str) {
    if !require_tool(PKI) {
        return;
    }
    // Only the renewal window differs from the default: the template's, opened from the
    // start so the test can renew at once (nothing legacy is enabled).
    let server = Server::start(common::RENEW_ANY_TIME);
    let proxy = RecordingProxy::start(server.addr);
    let url = proxy.url(path);
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let fetched = fetch_ca_and_ra(&server, &url, work);

    let challenge = server.challenge(&["--subject", "CN=ipsec-gw1"]);
    let key = new_key(work, "gw1.key");
    let (ok, log) = enroll(
        &url,
        &fetched,
        work,
        &key,
        "CN=ipsec-gw1",
        &["--password", &challenge],
    );
    assert!(
        ok,
        "pki --scep failed:\n{log}\nserver:\n{}",
        server.stderr()
    );
    let first = save_certificate(&log, work, "gw1.pem");
    openssl_verify(&server.ca_pem(), &first);
    let text = openssl_text(&first);
    assert_device_template(&text);
    assert!(text.contains("CN = ipsec-gw1"), "{text}");
    assert_eq!(server.certificate_count(), 1);

    // The challenge is spent: a second key with it gets a FAILURE, and nothing.
    let other = new_key(work, "other.key");
    let (ok, log) = enroll(
        &url,
        &fetched,
        work,
        &other,
        "CN=ipsec-gw1",
        &["--password", &challenge],
    );
    assert!(!ok && log.contains("badRequest"), "reuse must fail:\n{log}");
    assert_eq!(server.certificate_count(), 1);

    // Renewal: a new key, signed with the old certificate and key, no challenge.
    let renewed_key = new_key(work, "gw1-2.key");
    let (first_str, key_str) = (first.display().to_string(), key.display().to_string());
    let (ok, log) = enroll(
        &url,
        &fetched,
        work,
        &renewed_key,
        "CN=ipsec-gw1",
        &["--cert", &first_str, "--key", &key_str],
    );
    assert!(ok, "renewal failed:\n{log}\nserver:\n{}", server.stderr());
    let renewed = save_certificate(&log, work, "gw1-2.pem");
    openssl_verify(&server.ca_pem(), &renewed);
    assert_ne!(
        std::fs::read(&renewed).unwrap(),
        std::fs::read(&first).unwrap()
    );
    assert!(openssl_text(&renewed).contains("CN = ipsec-gw1"));
    assert_eq!(server.certificate_count(), 2);

    // SUCCESS, FAILURE, SUCCESS: each verifies with OpenSSL's default purpose.
    let replies = proxy.pki_replies();
    assert_eq!(replies.len(), 3, "one CertRep per request");
    for reply in &replies {
        openssl_cms_verify(&server.ca_pem(), reply);
    }
}

#[test]
fn strongswan_enrolls_and_renews_at_scep_on_the_defaults() {
    enrolls_and_renews_at("/scep");
}

#[test]
fn strongswan_enrolls_and_renews_at_the_ndes_path_on_the_defaults() {
    enrolls_and_renews_at(NDES_PATH);
}
