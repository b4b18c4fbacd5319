//! The authority's decisions over a ledger kept in memory (the SQL one is exercised in
//! `tests/revocation_authority.rs`): what a failing ledger turns into, and what is never
//! written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use keys::KeyRole;
use keys::software::SoftwareKey;
use ledger::{CrlState, LedgerFuture, RevokedEntry};
use x509_cert::ext::pkix::CrlReason;

use super::*;
use crate::crl::{parse_serial_hex, serial_hex};
use crate::ocsp::testing::{Answer, answers, request};

const NOW: i64 = 1_800_000_000;

/// Every future here completes at once (the ledger is memory): poll it once.
fn run<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory ledger never waits"),
    }
}

#[derive(Default)]
struct Kept {
    /// Canonical serials issued.
    issued: Vec<String>,
    revoked: BTreeMap<String, RevocationRecord>,
    last_number: u64,
    revocation_count: u64,
    published: Option<PublishedCrl>,
}

/// A ledger in memory, with the `Store`'s rules (canonical serials, the first revocation
/// kept, only allocated CRL numbers recorded, the newest CRL wins); `down` makes every call
/// fail, `calls` counts them.
#[derive(Default)]
struct Memory {
    kept: Mutex<Kept>,
    down: AtomicBool,
    calls: AtomicUsize,
}

impl Memory {
    fn with_issued(serials: &[&str]) -> Arc<Self> {
        let memory = Memory::default();
        memory.kept.lock().unwrap().issued =
            serials.iter().map(|s| canonical(s).unwrap()).collect();
        Arc::new(memory)
    }

    fn answer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Kept) -> Result<T, StoreError>,
    ) -> LedgerFuture<'_, T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let out = if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Busy)
        } else {
            f(&mut self.kept.lock().unwrap())
        };
        Box::pin(std::future::ready(out))
    }
}

fn canonical(serial: &str) -> Option<String> {
    parse_serial_hex(serial).ok().map(|m| serial_hex(&m))
}

impl RevocationLedger for Memory {
    fn revoke<'a>(
        &'a self,
        serial_hex: &'a str,
        reason: RevocationReason,
        at: i64,
        actor: &'a str,
    ) -> LedgerFuture<'a, RevocationRecord> {
        self.answer(move |kept| {
            let serial = canonical(serial_hex).ok_or(StoreError::UnknownSerial)?;
            if !kept.issued.contains(&serial) {
                return Err(StoreError::UnknownSerial);
            }
            if kept.revoked.contains_key(&serial) {
                return Err(StoreError::AlreadyRevoked);
            }
            let record = RevocationRecord {
                serial_hex: serial.clone(),
                revoked_at: at,
                reason,
                revoked_by: actor.to_owned(),
            };
            kept.revoked.insert(serial, record.clone());
            kept.revocation_count += 1;
            Ok(record)
        })
    }

    fn revocation_status<'a>(&'a self, serial_hex: &'a str) -> LedgerFuture<'a, RevocationStatus> {
        self.answer(move |kept| {
            Ok(match canonical(serial_hex) {
                Some(s) if kept.issued.contains(&s) => match kept.revoked.get(&s) {
                    Some(r) => RevocationStatus::Revoked {
                        at: r.revoked_at,
                        reason: r.reason,
                    },
                    None => RevocationStatus::Good,
                },
                _ => RevocationStatus::NotIssued,
            })
        })
    }

    fn revoked_certificates(&self) -> LedgerFuture<'_, Vec<RevokedEntry>> {
        self.answer(|kept| {
            Ok(kept
                .revoked
                .values()
                .map(|r| RevokedEntry {
                    serial_hex: r.serial_hex.clone(),
                    revoked_at: r.revoked_at,
                    reason: r.reason,
                    not_after: NOW + 86_400,
                })
                .collect())
        })
    }

    fn crl_state(&self) -> LedgerFuture<'_, CrlState> {
        self.answer(|kept| {
            Ok(CrlState {
                last_number: kept.last_number,
                revocation_count: kept.revocation_count,
                published: kept.published.clone(),
            })
        })
    }

    fn next_crl_number(&self) -> LedgerFuture<'_, u64> {
        self.answer(|kept| {
            kept.last_number += 1;
            Ok(kept.last_number)
        })
    }

    fn record_crl(&self, crl: PublishedCrl) -> LedgerFuture<'_, bool> {
        self.answer(move |kept| {
            if crl.number == 0 || crl.number > kept.last_number {
                return Err(StoreError::InvalidInput("CRL number was never allocated"));
            }
            if kept
                .published
                .as_ref()
                .is_some_and(|p| p.number >= crl.number)
            {
                return Ok(false);
            }
            kept.published = Some(crl);
            Ok(true)
        })
    }
}

fn ca_key() -> (Arc<dyn Signer>, Vec<u8>) {
    let key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let cert = crate::dev::self_signed_ca_at(key.as_ref(), "revocation authority unit CA", 30, NOW)
        .unwrap();
    (key, cert)
}

fn authority(ledger: &Arc<Memory>) -> (RevocationAuthority, Arc<dyn Signer>, Vec<u8>) {
    let (key, cert) = ca_key();
    let ledger_dyn: Arc<dyn RevocationLedger> = Arc::clone(ledger) as Arc<dyn RevocationLedger>;
    (
        RevocationAuthority::new(Arc::clone(&key), cert.clone(), ledger_dyn),
        key,
        cert,
    )
}

/// The cRLNumber and the revoked serials (canonical hex) of a CRL signed by `key`.
fn read_crl(der: &[u8], key: &dyn Signer) -> (u64, Vec<String>) {
    use der::Decode;
    let crl =
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der).unwrap();
    let serials = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| serial_hex(r.serial_number.as_bytes()))
        .collect();
    let number = crl::inspect_crl(der, key.public_key_spki_der())
        .unwrap()
        .number;
    (number, serials)
}

#[test]
fn an_unknown_reason_is_refused_before_the_ledger_is_asked() {
    let ledger = Memory::with_issued(&["0abc"]);
    let (authority, ..) = authority(&ledger);
    // certificateHold (6) and removeFromCRL (8) are not reasons this CA gives.
    for name in [
        "compromised",
        "",
        "certificateHold",
        "removeFromCRL",
        "6",
        "8",
        "11",
    ] {
        match run(authority.revoke("0abc", name, NOW, "alice")) {
            Err(RevokeError::UnknownReason(r)) => assert_eq!(r, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert_eq!(ledger.calls.load(Ordering::SeqCst), 0);
    let message = RevokeError::UnknownReason("x".into()).to_string();
    assert!(message.contains("keyCompromise"), "{message}");
}

#[test]
fn a_second_revocation_keeps_the_first() {
    let ledger = Memory::with_issued(&["0abc"]);
    let (authority, ..) = authority(&ledger);
    let first = run(authority.revoke("0ABC", "keyCompromise", NOW, "alice")).unwrap();
    assert_eq!(first.serial_hex, "0abc");
    assert_eq!(first.reason, RevocationReason::KeyCompromise);
    assert_eq!(first.revoked_by, "alice");
    match run(authority.revoke("0abc", "superseded", NOW + 10, "bob")) {
        Err(RevokeError::AlreadyRevoked(s)) => assert_eq!(s, "0abc"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(ledger.revocation_status("0abc")).unwrap(),
        RevocationStatus::Revoked {
            at: NOW,
            reason: RevocationReason::KeyCompromise
        }
    );
}

#[test]
fn an_unknown_serial_and_a_failing_ledger_are_told_apart() {
    let ledger = Memory::with_issued(&["0abc"]);
    let (authority, ..) = authority(&ledger);
    match run(authority.revoke("0def", "superseded", NOW, "alice")) {
        Err(RevokeError::UnknownSerial(s)) => assert_eq!(s, "0def"),
        other => panic!("{other:?}"),
    }
    ledger.down.store(true, Ordering::SeqCst);
    match run(authority.revoke("0abc", "superseded", NOW, "alice")) {
        Err(e @ RevokeError::Failed(RevokeFailure::Ledger { .. })) => {
            assert_eq!(e.to_string(), "revoking 0abc: database busy");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_crl_is_made_only_when_due() {
    let ledger = Memory::with_issued(&["0abc", "0def"]);
    let (authority, key, _) = authority(&ledger);
    let key = key.as_ref();
    let first = run(authority.refresh(NOW)).unwrap();
    assert_eq!(read_crl(&first, key), (1, vec![]));
    // Nothing revoked, nextUpdate far: the recorded CRL, byte for byte, and no number spent.
    let later = NOW + CRL_VALIDITY_SECS - CRL_RENEW_MARGIN_SECS - 1;
    assert_eq!(run(authority.refresh(later)).unwrap(), first);
    assert_eq!(ledger.kept.lock().unwrap().last_number, 1);

    // A revocation renews it at once, with a higher number.
    run(authority.revoke("0def", "keyCompromise", NOW + 5, "alice")).unwrap();
    let published = ledger.kept.lock().unwrap().published.clone().unwrap();
    assert_eq!(read_crl(&published.der, key), (2, vec!["0def".to_owned()]));
    assert_eq!(
        (published.this_update, published.covered_revocations),
        (NOW + 5, 1)
    );
    assert_eq!(published.next_update, NOW + 5 + CRL_VALIDITY_SECS);
    assert_eq!(run(authority.crl(NOW + 6)).unwrap(), published.der);

    // Within the margin of nextUpdate: renewed.
    let margin = published.next_update - CRL_RENEW_MARGIN_SECS;
    assert_eq!(run(authority.refresh(margin - 1)).unwrap(), published.der);
    let renewed = run(authority.refresh(margin)).unwrap();
    assert_eq!(read_crl(&renewed, key), (3, vec!["0def".to_owned()]));
}

#[test]
fn a_revocation_stands_when_the_crl_cannot_follow() {
    let ledger = Memory::with_issued(&["0abc"]);
    let (key, _) = ca_key();
    // A certificate that is not the key's: every CRL fails to build.
    let (_, other_cert) = ca_key();
    let authority = RevocationAuthority::new(key, other_cert, ledger.clone());
    let record = run(authority.revoke("0abc", "cessationOfOperation", NOW, "alice")).unwrap();
    assert_eq!(record.reason, RevocationReason::CessationOfOperation);
    assert!(matches!(
        run(authority.refresh(NOW)),
        Err(CrlError::Build { .. })
    ));
}

#[test]
fn the_last_crl_is_served_while_the_ledger_is_down() {
    let ledger = Memory::with_issued(&[]);
    let (authority, ..) = authority(&ledger);
    ledger.down.store(true, Ordering::SeqCst);
    let e = run(authority.crl(NOW)).unwrap_err();
    assert_eq!(e.to_string(), "CRL state: database busy");
    ledger.down.store(false, Ordering::SeqCst);
    let made = run(authority.crl(NOW)).unwrap();
    ledger.down.store(true, Ordering::SeqCst);
    assert_eq!(run(authority.crl(NOW + 1)).unwrap(), made);
    assert!(run(authority.refresh(NOW + 1)).is_err());
}

#[test]
fn ocsp_is_good_revoked_or_unknown_never_good_for_a_serial_not_issued() {
    let ledger = Memory::with_issued(&["0abc", "0def"]);
    let (authority, key, cert) = authority(&ledger);
    run(authority.revoke("0def", "keyCompromise", NOW - 100, "alice")).unwrap();
    let asked: [&[u8]; 3] = [&[0x0a, 0xbc], &[0x0d, 0xef], &[0x7f, 0x01]];
    let answer = run(authority.ocsp(&request(key.as_ref(), &cert, &asked), NOW));
    assert_eq!(
        answers(&answer),
        [
            Answer::Good,
            Answer::Revoked {
                at: NOW - 100,
                reason: Some(CrlReason::KeyCompromise)
            },
            Answer::Unknown,
        ]
    );
    assert_eq!(
        run(authority.ocsp(b"not a request", NOW)),
        ocsp::error_response(ErrorStatus::MalformedRequest)
    );
    // A ledger that cannot answer: internalError, never a guess.
    ledger.down.store(true, Ordering::SeqCst);
    assert_eq!(
        run(authority.ocsp(&request(key.as_ref(), &cert, &asked[..1]), NOW)),
        ocsp::error_response(ErrorStatus::InternalError)
    );
}

#[test]
fn ocsp_with_a_key_that_is_not_the_cas_is_an_internal_error() {
    let ledger = Memory::with_issued(&["0abc"]);
    let (key, cert) = ca_key();
    let (other_key, _) = ca_key();
    let authority = RevocationAuthority::new(other_key, cert.clone(), ledger.clone());
    assert_eq!(
        run(authority.ocsp(&request(key.as_ref(), &cert, &[&[0x0a, 0xbc]]), NOW)),
        ocsp::error_response(ErrorStatus::InternalError)
    );
    assert_eq!(ledger.calls.load(Ordering::SeqCst), 0);
}
