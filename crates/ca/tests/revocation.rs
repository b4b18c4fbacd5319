//! CRLs and OCSP responses checked by another implementation (the openssl CLI), through the
//! crate's public API only, the way the server will call it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use base64::Engine;
use ca::crl::{RevocationReason, RevokedEntry, build_crl, serial_hex};
use ca::dev::{RaCertPurpose, issue_ra_certificate_at, self_signed_ca_at};
use ca::ocsp::{self, CertStatusLookup, ErrorStatus};
use der::{Decode, Encode};
use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Pki {
    ca_key: Arc<dyn Signer>,
    ca_cert: Vec<u8>,
    other_ca_cert: Vec<u8>,
    /// Revoked (keyCompromise) in the tests.
    revoked_leaf: Vec<u8>,
    /// Issued and never revoked.
    good_leaf: Vec<u8>,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let t = now();
        let ca_key = SoftwareKey::generate_rsa(KeyRole::CaSigning, 3072)
            .unwrap()
            .into_signer(KeyRole::CaSigning)
            .unwrap();
        let ca_cert =
            self_signed_ca_at(ca_key.as_ref(), "scepd revocation test CA", 3650, t).unwrap();
        let other_key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
            .unwrap()
            .into_signer(KeyRole::CaSigning)
            .unwrap();
        let other_ca_cert =
            self_signed_ca_at(other_key.as_ref(), "scepd revocation test CA", 3650, t).unwrap();
        let leaf = |cn: &str| {
            let device = SoftwareKey::generate_ec_p256(KeyRole::RaSigning).unwrap();
            issue_ra_certificate_at(
                ca_key.as_ref(),
                &ca_cert,
                device.public_key_spki_der(),
                cn,
                RaCertPurpose::Signing,
                365,
                t,
            )
            .unwrap()
        };
        Pki {
            revoked_leaf: leaf("revoked.example"),
            good_leaf: leaf("good.example"),
            ca_key,
            ca_cert,
            other_ca_cert,
        }
    })
}

fn serial_of(cert_der: &[u8]) -> String {
    let cert = Certificate::from_der(cert_der).unwrap();
    serial_hex(cert.tbs_certificate().serial_number().as_bytes())
}

fn pem(dir: &Path, name: &str, label: &str, der: &[u8]) -> PathBuf {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("openssl CLI not found: skipping the openssl cross-check");
    }
    ok
}

/// Runs openssl in `dir`; returns (success, stdout + stderr).
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn entry(serial_hex: &str, at: i64, reason: Option<RevocationReason>) -> RevokedEntry {
    RevokedEntry {
        serial_hex: serial_hex.to_owned(),
        revoked_at: at,
        reason,
    }
}

// ---------------------------------------------------------------- CRL

#[test]
fn rfc5280_5_crl_verifies_with_openssl_and_revokes_the_leaf() {
    if !openssl_available() {
        return;
    }
    let p = pki();
    let t = now();
    let revoked = serial_of(&p.revoked_leaf);
    let crl = build_crl(
        p.ca_key.as_ref(),
        &p.ca_cert,
        &[
            entry(
                "7f0000000000000000000000000000aa",
                t - 50,
                Some(RevocationReason::Superseded),
            ),
            entry(&revoked, t - 10, Some(RevocationReason::KeyCompromise)),
            entry("0102", t - 20, None),
        ],
        42,
        t,
        t + 86_400,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("crl.der"), &crl).unwrap();
    pem(d, "crl.pem", "X509 CRL", &crl);
    pem(d, "ca.pem", "CERTIFICATE", &p.ca_cert);
    pem(d, "revoked.pem", "CERTIFICATE", &p.revoked_leaf);
    pem(d, "good.pem", "CERTIFICATE", &p.good_leaf);

    let (ok, out) = openssl(
        d,
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
        ],
    );
    assert!(ok && out.contains("verify OK"), "{out}");

    let (ok, text) = openssl(
        d,
        &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Version 2 (0x1)"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                42"),
        "{text}"
    );
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(text.contains(&revoked.to_uppercase()), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Superseded"), "{text}");
    // Entries in serial order: 0102 < the 16-octet serials, and the no-reason entry has no
    // reasonCode.
    let first = text
        .find("Serial Number: 0102")
        .expect("short serial listed");
    assert!(first < text.find(&revoked.to_uppercase()).unwrap());
    let after_first = &text[first..];
    let next_entry = after_first[20..].find("Serial Number").unwrap();
    assert!(!after_first[..next_entry].contains("Reason Code"), "{text}");

    let (ok, out) = openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-CAfile",
            "ca.pem",
            "revoked.pem",
        ],
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-CAfile",
            "ca.pem",
            "good.pem",
        ],
    );
    assert!(ok, "{out}");
}

#[test]
fn rfc5280_5_1_2_6_empty_crl_has_no_revoked_certificates_field() {
    let p = pki();
    let t = now();
    let crl = build_crl(p.ca_key.as_ref(), &p.ca_cert, &[], 1, t, t + 3600).unwrap();
    let parsed = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl).unwrap();
    assert!(parsed.tbs_cert_list.revoked_certificates.is_none());
    assert_eq!(parsed.tbs_cert_list.version, x509_cert::Version::V2);
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), &crl).unwrap();
    pem(dir.path(), "ca.pem", "CERTIFICATE", &p.ca_cert);
    let (ok, out) = openssl(
        dir.path(),
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-text", "-noout",
        ],
    );
    assert!(ok && out.contains("verify OK"), "{out}");
    assert!(out.contains("No Revoked Certificates"), "{out}");
}

#[test]
fn crl_entries_are_sorted_deduplicated_and_carry_their_reason() {
    let p = pki();
    let t = now();
    let crl = build_crl(
        p.ca_key.as_ref(),
        &p.ca_cert,
        &[
            entry("ff", t - 1, Some(RevocationReason::Superseded)),
            entry("00ff", t - 9, Some(RevocationReason::CessationOfOperation)),
            entry("1000", t - 5, Some(RevocationReason::Unspecified)),
            entry("0A", t - 3, Some(RevocationReason::AffiliationChanged)),
        ],
        7,
        t,
        t + 3600,
    )
    .unwrap();
    let parsed = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl).unwrap();
    let entries = parsed.tbs_cert_list.revoked_certificates.unwrap();
    let listed: Vec<(String, u64, Option<Vec<u8>>)> = entries
        .iter()
        .map(|e| {
            (
                serial_hex(e.serial_number.as_bytes()),
                e.revocation_date.to_unix_duration().as_secs(),
                e.crl_entry_extensions.as_ref().map(|exts| {
                    assert_eq!(exts.len(), 1);
                    assert_eq!(exts[0].extn_id.to_string(), "2.5.29.21");
                    assert!(!exts[0].critical);
                    exts[0].extn_value.as_bytes().to_vec()
                }),
            )
        })
        .collect();
    let t = t as u64;
    assert_eq!(
        listed,
        vec![
            ("0a".into(), t - 3, Some(vec![0x0a, 0x01, 3])),
            // ff listed twice (as "ff" and "00ff"): the earlier revocation is kept.
            ("ff".into(), t - 9, Some(vec![0x0a, 0x01, 5])),
            // unspecified: no reasonCode (RFC 5280 §5.3.1, CA/B BR §7.2.2).
            ("1000".into(), t - 5, None),
        ]
    );
}

#[test]
fn crl_refuses_bad_input() {
    let p = pki();
    let t = now();
    for bad in ["", "zz", "-1", "00", &"80".repeat(20)] {
        let e = build_crl(
            p.ca_key.as_ref(),
            &p.ca_cert,
            &[entry(bad, t, None)],
            1,
            t,
            t + 1,
        );
        assert!(matches!(e, Err(ca::CaError::Revocation(_))), "{bad}: {e:?}");
    }
    let e = build_crl(p.ca_key.as_ref(), &p.ca_cert, &[], 1, t, t);
    assert!(matches!(e, Err(ca::CaError::Revocation(_))));
    // A key that is not the CA certificate's.
    let e = build_crl(p.ca_key.as_ref(), &p.other_ca_cert, &[], 1, t, t + 1);
    assert!(matches!(e, Err(ca::CaError::Certificate(_))), "{e:?}");
}

/// Issue 4 item 7 wants a CRL over 1,000,000 revocations in under 2 s. This measures 100,000
/// (no timed assertion: debug builds and shared CI machines vary); the time printed is for
/// the whole call, sorting, encoding and one RSA-3072 signature included.
#[test]
fn hundred_thousand_entries() {
    timed_crl(100_000);
}

/// The full million, for `cargo test -p ca --release --test revocation -- --ignored`.
#[test]
#[ignore = "a million entries: run in release"]
fn a_million_entries() {
    timed_crl(1_000_000);
}

fn timed_crl(n: u64) {
    let p = pki();
    let t = now();
    let revoked: Vec<RevokedEntry> = (0..n)
        .map(|i| {
            let mut serial = [0u8; 16];
            keys::random::fill(&mut serial).unwrap();
            serial[0] = (serial[0] & 0x7f) | 1;
            RevokedEntry {
                serial_hex: serial_hex(&serial),
                revoked_at: t - (i as i64 % 86_400),
                reason: Some(RevocationReason::ALL[(i % 8) as usize]),
            }
        })
        .collect();
    let start = Instant::now();
    let crl = build_crl(p.ca_key.as_ref(), &p.ca_cert, &revoked, 99, t, t + 86_400).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "CRL over {n} entries: {} bytes in {elapsed:?} ({:.2} s per million if linear)",
        crl.len(),
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    let parsed = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl).unwrap();
    let entries = parsed.tbs_cert_list.revoked_certificates.as_ref().unwrap();
    assert_eq!(entries.len() as u64, n);
    assert!(entries.windows(2).all(|w| {
        let (a, b) = (w[0].serial_number.as_bytes(), w[1].serial_number.as_bytes());
        (a.len(), a) < (b.len(), b)
    }));
    let tbs = parsed.tbs_cert_list.to_der().unwrap();
    keys::verify::verify_signature(
        p.ca_key.public_key_spki_der(),
        p.ca_key.default_algorithm(),
        &tbs,
        parsed.signature.as_bytes().unwrap(),
    )
    .unwrap();
}

// ---------------------------------------------------------------- OCSP

/// The CA's view of the world: the revoked leaf is revoked (keyCompromise), the good leaf is
/// good, anything else was never issued.
fn lookup(serial: &str) -> CertStatusLookup {
    let p = pki();
    if serial == serial_of(&p.revoked_leaf) {
        CertStatusLookup::Revoked {
            at: 1_700_000_000,
            reason: Some(RevocationReason::KeyCompromise),
        }
    } else if serial == serial_of(&p.good_leaf) {
        CertStatusLookup::Good
    } else {
        CertStatusLookup::NotIssued
    }
}

/// Files of one OCSP exchange: the certificates, then req.der / resp.der.
fn ocsp_dir() -> tempfile::TempDir {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    pem(dir.path(), "ca.pem", "CERTIFICATE", &p.ca_cert);
    pem(dir.path(), "other-ca.pem", "CERTIFICATE", &p.other_ca_cert);
    pem(dir.path(), "revoked.pem", "CERTIFICATE", &p.revoked_leaf);
    pem(dir.path(), "good.pem", "CERTIFICATE", &p.good_leaf);
    dir
}

/// Makes a request with `openssl ocsp` (`request_args` name the issuer and the certificates),
/// answers it, and has openssl check the answer (signature, nonce if any, status).
fn ocsp_round_trip(request_args: &[&str], check_args: &[&str]) -> String {
    let p = pki();
    let dir = ocsp_dir();
    let d = dir.path();
    let mut args = vec!["ocsp", "-reqout", "req.der"];
    args.extend_from_slice(request_args);
    let (ok, out) = openssl(d, &args);
    assert!(ok, "{out}");
    let req = std::fs::read(d.join("req.der")).unwrap();
    let t = now();
    let resp = ocsp::respond(&req, p.ca_key.as_ref(), &p.ca_cert, lookup, t, 3600);
    std::fs::write(d.join("resp.der"), &resp).unwrap();
    let mut args = vec![
        "ocsp", "-respin", "resp.der", "-CAfile", "ca.pem", "-VAfile", "ca.pem",
    ];
    args.extend_from_slice(check_args);
    let (ok, out) = openssl(d, &args);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    out
}

#[test]
fn rfc6960_revoked_good_and_unknown_with_openssl() {
    if !openssl_available() {
        return;
    }
    let leaves = [
        "-issuer",
        "ca.pem",
        "-cert",
        "revoked.pem",
        "-cert",
        "good.pem",
    ];
    let mut req = vec!["-no_nonce"];
    req.extend_from_slice(&leaves);
    let out = ocsp_round_trip(&req, &leaves);
    assert!(out.contains("revoked.pem: revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    assert!(out.contains("good.pem: good"), "{out}");

    // A serial we never issued: unknown, never good.
    let random = "-serial";
    let req = [
        "-no_nonce",
        "-issuer",
        "ca.pem",
        random,
        "0x1234567890ABCDEF",
    ];
    let out = ocsp_round_trip(&req, &["-issuer", "ca.pem", random, "0x1234567890ABCDEF"]);
    assert!(out.contains("0x1234567890ABCDEF: unknown"), "{out}");
}

#[test]
fn rfc8954_nonce_is_echoed() {
    if !openssl_available() {
        return;
    }
    // With -reqin, openssl compares the response nonce with the request's ("Nonce Verify
    // error" on a mismatch, "WARNING: no nonce in response" without one). Not with -cert:
    // that makes a new request and ignores -reqin, so the status is read from -resp_text.
    let p = pki();
    let dir = ocsp_dir();
    let d = dir.path();
    let (ok, out) = openssl(
        d,
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "revoked.pem",
            "-nonce",
            "-reqout",
            "req.der",
        ],
    );
    assert!(ok, "{out}");
    let req = std::fs::read(d.join("req.der")).unwrap();
    let resp = ocsp::respond(&req, p.ca_key.as_ref(), &p.ca_cert, lookup, now(), 3600);
    std::fs::write(d.join("resp.der"), &resp).unwrap();
    let (ok, out) = openssl(
        d,
        &[
            "ocsp",
            "-reqin",
            "req.der",
            "-respin",
            "resp.der",
            "-CAfile",
            "ca.pem",
            "-VAfile",
            "ca.pem",
            "-resp_text",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    assert!(out.contains("OCSP Nonce"), "{out}");
    assert!(out.contains("Cert Status: revoked"), "{out}");
    // byKey: openssl prints the key hash itself.
    assert!(out.contains("Responder Id: "), "{out}");
    // The check is real: the answer to another request (another nonce) fails it.
    let (ok, out) = openssl(
        d,
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "revoked.pem",
            "-nonce",
            "-reqout",
            "req2.der",
        ],
    );
    assert!(ok, "{out}");
    let req2 = std::fs::read(d.join("req2.der")).unwrap();
    let resp2 = ocsp::respond(&req2, p.ca_key.as_ref(), &p.ca_cert, lookup, now(), 3600);
    std::fs::write(d.join("resp2.der"), &resp2).unwrap();
    let (ok, out2) = openssl(
        d,
        &[
            "ocsp",
            "-reqin",
            "req.der",
            "-respin",
            "resp2.der",
            "-CAfile",
            "ca.pem",
            "-VAfile",
            "ca.pem",
        ],
    );
    assert!(!ok && out2.contains("Nonce Verify error"), "{out2}");
}

#[test]
fn rfc6960_sha256_cert_ids_are_answered() {
    if !openssl_available() {
        return;
    }
    let args = [
        "-sha256",
        "-issuer",
        "ca.pem",
        "-cert",
        "revoked.pem",
        "-cert",
        "good.pem",
    ];
    let mut req = vec!["-no_nonce"];
    req.extend_from_slice(&args);
    let out = ocsp_round_trip(&req, &args);
    assert!(out.contains("revoked.pem: revoked"), "{out}");
    assert!(out.contains("good.pem: good"), "{out}");
}

#[test]
fn rfc6960_cert_id_of_another_issuer_is_unknown() {
    if !openssl_available() {
        return;
    }
    // Same issuer name, another key: the issuerKeyHash does not match, so even our good
    // leaf's serial is unknown under that issuer.
    let args = ["-issuer", "other-ca.pem", "-cert", "good.pem"];
    let mut req = vec!["-no_nonce"];
    req.extend_from_slice(&args);
    let out = ocsp_round_trip(&req, &args);
    assert!(out.contains("good.pem: unknown"), "{out}");
}

#[test]
fn rfc6960_garbage_gets_malformed_request() {
    let p = pki();
    for garbage in [
        &b""[..],
        b"GET / HTTP/1.1",
        b"\x30\x00",
        b"\x30\x80\x00\x00",
    ] {
        let resp = ocsp::respond(garbage, p.ca_key.as_ref(), &p.ca_cert, lookup, now(), 60);
        assert_eq!(resp, ocsp::error_response(ErrorStatus::MalformedRequest));
    }
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let resp = ocsp::respond(b"garbage", p.ca_key.as_ref(), &p.ca_cert, lookup, now(), 60);
    std::fs::write(dir.path().join("resp.der"), resp).unwrap();
    let (_, out) = openssl(dir.path(), &["ocsp", "-respin", "resp.der", "-resp_text"]);
    assert!(out.contains("malformedrequest (1)"), "{out}");
}

#[test]
fn ocsp_with_a_key_that_is_not_the_cas_is_an_internal_error() {
    let p = pki();
    let resp = ocsp::respond(b"x", p.ca_key.as_ref(), &p.other_ca_cert, lookup, now(), 60);
    assert_eq!(resp, ocsp::error_response(ErrorStatus::InternalError));
    assert!(ocsp::Responder::new(p.ca_key.as_ref(), &p.other_ca_cert).is_err());
}
