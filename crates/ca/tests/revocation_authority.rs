//! The revocation authority over the SQL ledger (`store::Store`, SQLite in memory), through
//! the crate's public API only, the way `scepd serve` and `scepd ca` call it: revoking (what is
//! refused, what is committed with its audit entry), CRLs made when due with increasing
//! numbers, and OCSP answers read back from their DER.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ca::revocation_authority::{
    CRL_RENEW_MARGIN_SECS, CRL_VALIDITY_SECS, OCSP_VALIDITY_SECS, RevocationAuthority, RevokeError,
};
use ca::{RevocationReason, crl};
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Sequence, Tag, TagNumber, Tagged};
use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use sha1::{Digest, Sha1};
use spki::AlgorithmIdentifierOwned;
use store::{AuditEvent, AuditKind, Issuance, Store};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

const NOW: i64 = 1_800_000_000;

/// Issued by the CA in every test.
const ISSUED: [&str; 2] = ["0abc", "0def"];
/// Never issued.
const STRANGER: &str = "7f01";

struct Fixture {
    store: Store,
    authority: RevocationAuthority,
    ca_key: Arc<dyn Signer>,
    ca_certificate: Vec<u8>,
}

async fn fixture() -> Fixture {
    let store = Store::open_in_memory().await.unwrap();
    for (i, serial) in ISSUED.iter().enumerate() {
        store
            .record_issuance(Issuance {
                challenge_hash: None,
                voucher: None,
                transaction_id: format!("tx{i}"),
                signer_key_sha256: [7; 32],
                request_sha256: [8; 32],
                serial_hex: (*serial).to_owned(),
                certificate_der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
                subject_key_sha256: [9; 32],
                subject: format!("CN=device {i}"),
                not_before: NOW - 86_400,
                not_after: NOW + 365 * 86_400,
                template: "device".into(),
                now: NOW - 86_400,
                delivered_at: None,
                audit: AuditEvent {
                    at: NOW - 86_400,
                    kind: AuditKind::CertificateIssued,
                    actor: "ra".into(),
                    detail: format!("transaction tx{i}"),
                },
            })
            .await
            .unwrap();
    }
    let ca_key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
        .unwrap()
        .into_signer(KeyRole::CaSigning)
        .unwrap();
    let ca_certificate =
        ca::dev::self_signed_ca_at(ca_key.as_ref(), "revocation authority test CA", 3650, NOW)
            .unwrap();
    let authority = RevocationAuthority::new(
        Arc::clone(&ca_key),
        ca_certificate.clone(),
        Arc::new(store.clone()),
    );
    Fixture {
        store,
        authority,
        ca_key,
        ca_certificate,
    }
}

/// The cRLNumber, thisUpdate, nextUpdate and revoked serials of a CRL, which must verify with
/// the CA key.
fn read_crl(der: &[u8], f: &Fixture) -> (u64, i64, i64, Vec<String>) {
    let inspected = crl::inspect_crl(der, f.ca_key.public_key_spki_der()).unwrap();
    let list = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der).unwrap();
    let serials = list
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| crl::serial_hex(r.serial_number.as_bytes()))
        .collect();
    (
        inspected.number,
        inspected.this_update,
        inspected.next_update,
        serials,
    )
}

#[tokio::test]
async fn an_unknown_reason_or_serial_is_refused_and_nothing_is_written() {
    let f = fixture().await;
    let audit_before = f.store.audit_events(100).await.unwrap().len();
    match f
        .authority
        .revoke("0abc", "compromised", NOW, "alice")
        .await
    {
        Err(RevokeError::UnknownReason(r)) => assert_eq!(r, "compromised"),
        other => panic!("{other:?}"),
    }
    match f
        .authority
        .revoke(STRANGER, "keyCompromise", NOW, "alice")
        .await
    {
        Err(RevokeError::UnknownSerial(s)) => assert_eq!(s, STRANGER),
        other => panic!("{other:?}"),
    }
    assert!(f.store.revocation("0abc").await.unwrap().is_none());
    assert_eq!(f.store.audit_events(100).await.unwrap().len(), audit_before);
    assert_eq!(f.store.crl_state().await.unwrap().revocation_count, 0);
}

#[tokio::test]
async fn a_revocation_is_committed_with_its_audit_entry_and_the_first_one_stands() {
    let f = fixture().await;
    let record = f
        .authority
        .revoke("0ABC", "keyCompromise", NOW, "alice (admin)")
        .await
        .unwrap();
    assert_eq!(record.serial_hex, "0abc");
    assert_eq!(record.reason, RevocationReason::KeyCompromise);
    let audit = f.store.audit_events(1).await.unwrap();
    assert_eq!(audit[0].kind, AuditKind::CertificateRevoked.as_str());
    assert_eq!(audit[0].actor, "alice (admin)");
    assert_eq!(audit[0].subject, "0abc");
    f.store.verify_audit_chain().await.unwrap();

    match f
        .authority
        .revoke("0abc", "superseded", NOW + 60, "bob")
        .await
    {
        Err(e @ RevokeError::AlreadyRevoked(_)) => {
            assert_eq!(e.to_string(), "certificate 0abc is already revoked");
        }
        other => panic!("{other:?}"),
    }
    let kept = f.store.revocation("0abc").await.unwrap().unwrap();
    assert_eq!(
        (kept.revoked_at, kept.reason, kept.revoked_by.as_str()),
        (NOW, RevocationReason::KeyCompromise, "alice (admin)")
    );
}

#[tokio::test]
async fn the_crl_is_renewed_after_a_revocation_and_near_its_next_update() {
    let f = fixture().await;
    let first = f.authority.crl(NOW).await.unwrap();
    assert_eq!(
        read_crl(&first, &f),
        (1, NOW, NOW + CRL_VALIDITY_SECS, vec![])
    );
    // Not due: the same bytes, and no CRL number spent.
    assert_eq!(f.authority.crl(NOW + 10).await.unwrap(), first);
    assert_eq!(f.store.crl_state().await.unwrap().last_number, 1);

    // A revocation: a new CRL at once, with the next number, listing it.
    f.authority
        .revoke("0def", "superseded", NOW + 20, "alice")
        .await
        .unwrap();
    let state = f.store.crl_state().await.unwrap();
    let published = state.published.unwrap();
    assert_eq!(
        read_crl(&published.der, &f),
        (
            2,
            NOW + 20,
            NOW + 20 + CRL_VALIDITY_SECS,
            vec!["0def".into()]
        )
    );
    assert_eq!(published.covered_revocations, 1);
    assert_eq!(f.authority.crl(NOW + 30).await.unwrap(), published.der);

    // Within the margin of nextUpdate: renewed, numbers still increasing.
    let due = published.next_update - CRL_RENEW_MARGIN_SECS;
    assert_eq!(f.authority.crl(due - 1).await.unwrap(), published.der);
    let renewed = f.authority.crl(due).await.unwrap();
    assert_eq!(
        read_crl(&renewed, &f),
        (3, due, due + CRL_VALIDITY_SECS, vec!["0def".into()])
    );
}

// ------------------------------------------------------------------ OCSP, read as DER

/// RFC 6960 §4.1.1 `CertID`.
#[derive(Sequence)]
struct CertId {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: Int,
}

/// `Request` without singleRequestExtensions.
#[derive(Sequence)]
struct Request {
    req_cert: CertId,
}

/// `TBSRequest`: v1 (default), no requestorName, no extensions.
#[derive(Sequence)]
struct TbsRequest {
    request_list: Vec<Request>,
}

/// `OCSPRequest`, unsigned.
#[derive(Sequence)]
struct OcspRequest {
    tbs_request: TbsRequest,
}

/// `OCSPResponse`: status, then `[0] EXPLICIT ResponseBytes`.
#[derive(Sequence)]
struct OcspResponse {
    response_status: Any,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    response_bytes: Option<ResponseBytes>,
}

#[derive(Sequence)]
struct ResponseBytes {
    response_type: der::asn1::ObjectIdentifier,
    response: OctetString,
}

#[derive(Sequence)]
struct BasicOcspResponse {
    tbs_response_data: ResponseData,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: der::asn1::BitString,
}

#[derive(Sequence)]
struct ResponseData {
    responder_id: Any,
    produced_at: GeneralizedTime,
    responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    response_extensions: Option<Any>,
}

#[derive(Sequence)]
struct SingleResponse {
    cert_id: CertId,
    /// `[0]` good, `[1]` revoked, `[2]` unknown.
    cert_status: Any,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<GeneralizedTime>,
}

fn ocsp_request(ca_certificate: &[u8], serials: &[&str]) -> Vec<u8> {
    let ca = Certificate::from_der(ca_certificate).unwrap();
    let tbs = ca.tbs_certificate();
    let name_hash = Sha1::digest(tbs.subject().to_der().unwrap());
    let key_hash = Sha1::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes());
    OcspRequest {
        tbs_request: TbsRequest {
            request_list: serials
                .iter()
                .map(|s| Request {
                    req_cert: CertId {
                        hash_algorithm: AlgorithmIdentifierOwned {
                            oid: der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
                            parameters: None,
                        },
                        issuer_name_hash: OctetString::new(name_hash.to_vec()).unwrap(),
                        issuer_key_hash: OctetString::new(key_hash.to_vec()).unwrap(),
                        serial_number: Int::new(&hex_bytes(s)).unwrap(),
                    },
                })
                .collect(),
        },
    }
    .to_der()
    .unwrap()
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// "good", "revoked" or "unknown" for each CertID of a successful response, with its
/// validity (nextUpdate − thisUpdate).
fn ocsp_statuses(response: &[u8]) -> Vec<(&'static str, Option<i64>)> {
    let outer = OcspResponse::from_der(response).unwrap();
    assert_eq!(outer.response_status.value(), [0], "not successful");
    let basic =
        BasicOcspResponse::from_der(outer.response_bytes.unwrap().response.as_bytes()).unwrap();
    let secs = |t: &GeneralizedTime| i64::try_from(t.to_unix_duration().as_secs()).unwrap();
    basic
        .tbs_response_data
        .responses
        .iter()
        .map(|single| {
            let kind = match single.cert_status.tag() {
                Tag::ContextSpecific {
                    number: TagNumber(0),
                    ..
                } => "good",
                Tag::ContextSpecific {
                    number: TagNumber(1),
                    ..
                } => "revoked",
                Tag::ContextSpecific {
                    number: TagNumber(2),
                    ..
                } => "unknown",
                other => panic!("certStatus {other:?}"),
            };
            let validity = single
                .next_update
                .as_ref()
                .map(|n| secs(n) - secs(&single.this_update));
            (kind, validity)
        })
        .collect()
}

#[tokio::test]
async fn ocsp_answers_good_revoked_and_unknown_never_good_for_a_serial_not_issued() {
    let f = fixture().await;
    f.authority
        .revoke("0def", "keyCompromise", NOW - 100, "alice")
        .await
        .unwrap();
    let request = ocsp_request(&f.ca_certificate, &["0abc", "0def", STRANGER]);
    let answer = f.authority.ocsp(&request, NOW).await;
    let validity = Some(OCSP_VALIDITY_SECS);
    assert_eq!(
        ocsp_statuses(&answer),
        [
            ("good", validity),
            ("revoked", validity),
            ("unknown", validity)
        ]
    );
    // The same answer the crate's responder gives from the same statuses: the authority adds
    // only the lookup.
    let direct = ca::ocsp::respond(
        &request,
        f.ca_key.as_ref(),
        &f.ca_certificate,
        |serial| match serial {
            "0abc" => ca::ocsp::CertStatusLookup::Good,
            "0def" => ca::ocsp::CertStatusLookup::Revoked {
                at: NOW - 100,
                reason: Some(RevocationReason::KeyCompromise),
            },
            _ => ca::ocsp::CertStatusLookup::NotIssued,
        },
        NOW,
        OCSP_VALIDITY_SECS,
    );
    assert_eq!(ocsp_statuses(&direct), ocsp_statuses(&answer));
}
