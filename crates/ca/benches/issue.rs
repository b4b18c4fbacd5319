//! Issuing one certificate: verify the RA's counter-signed statement, then build and sign the
//! certificate from the template. The CA key is RSA-3072 (scepd's default CA key, see
//! `RECOMMENDED_CA_RSA_BITS`) and, for comparison with micromdm, RSA-2048; the RA's enrollment agent
//! is P-256 and the device key RSA-2048, as `scepd init` makes them (`ca_rsa2048_rsa_agent`:
//! an RSA-2048 agent, as in data directories made before the separate agent key).
//!
//! `cargo bench -p ca --bench issue`
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::str::FromStr as _;
use std::sync::Arc;

use ca::Ca;
use ca::dev::{RaCertPurpose, issue_ra_certificate, self_signed_ca};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use der::asn1::{BitString, SetOfVec, Utf8StringRef};
use der::{Any, Decode as _, Encode as _};
use keys::software::SoftwareKey;
use keys::{KeyRole, Signer};
use policy::Template;
use request::{RaStatement, prepare_statement};
use x509_cert::attr::Attribute;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signer(role: KeyRole, bits: usize) -> Arc<dyn Signer> {
    SoftwareKey::generate_rsa(role, bits)
        .unwrap()
        .into_signer(role)
        .unwrap()
}

/// A self-signed PKCS#10 request with a challengePassword, as devices send.
fn csr(key: &dyn Signer, subject: &str) -> Vec<u8> {
    let mut attributes = SetOfVec::new();
    attributes
        .insert(Attribute {
            oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.7"),
            values: SetOfVec::try_from(vec![
                Any::encode_from(&Utf8StringRef::new("secret").unwrap()).unwrap(),
            ])
            .unwrap(),
        })
        .unwrap();
    let info = CertReqInfo {
        version: Version::V1,
        subject: Name::from_str(subject).unwrap(),
        public_key: SubjectPublicKeyInfoOwned::from_der(key.public_key_spki_der()).unwrap(),
        attributes,
    };
    let alg = key.default_algorithm();
    let signature = key.sign(alg, &info.to_der().unwrap()).unwrap();
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned::from_der(alg.algorithm_identifier_der()).unwrap(),
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap()
}

struct Setup {
    ca: Ca,
    statement: Vec<u8>,
}

/// `rsa_agent`: the statement signed by an RSA-2048 key, as data directories made before the
/// separate P-256 enrollment-agent key still do.
fn setup(ca_bits: usize, rsa_agent: bool) -> Setup {
    let ca_key = signer(KeyRole::CaSigning, ca_bits);
    let ca_cert = self_signed_ca(ca_key.as_ref(), "bench CA", 3650).unwrap();
    let (ra_key, purpose) = if rsa_agent {
        (
            signer(KeyRole::RaSigning, 2048),
            RaCertPurpose::SigningAndAgent,
        )
    } else {
        let agent = SoftwareKey::generate_ec_p256(KeyRole::RaAgent)
            .unwrap()
            .into_signer(KeyRole::RaAgent)
            .unwrap();
        (agent, RaCertPurpose::Agent)
    };
    let ra_cert = issue_ra_certificate(
        ca_key.as_ref(),
        &ca_cert,
        ra_key.public_key_spki_der(),
        "bench RA",
        purpose,
        365,
    )
    .unwrap();
    let device = signer(KeyRole::RaSigning, 2048);
    let t = now();
    let statement = RaStatement {
        csr: csr(device.as_ref(), "CN=device-1,O=Bench"),
        template: "device".into(),
        transaction_id: "TX1".into(),
        binding: None,
        requester: None,
        csr_validated_by: None,
        approved_at: t,
        // Long enough for the whole benchmark.
        not_after: t + 600,
        nonce: vec![7; 16],
    };
    let alg = ra_key.default_algorithm();
    let unsigned = prepare_statement(
        &statement,
        &ra_cert,
        alg.digest().algorithm_identifier_der(),
        alg.algorithm_identifier_der(),
    )
    .unwrap();
    let signature = ra_key.sign(alg, unsigned.signed_attributes_der()).unwrap();
    let statement = unsigned.finish(signature).unwrap();
    let ca = Ca::new(ca_key, ca_cert, vec![Template::device()], vec![ra_cert]).unwrap();
    Setup { ca, statement }
}

fn issue(c: &mut Criterion) {
    for (bits, rsa_agent, name) in [
        (3072, false, "ca_rsa3072"),
        (2048, false, "ca_rsa2048"),
        (2048, true, "ca_rsa2048_rsa_agent"),
    ] {
        let s = setup(bits, rsa_agent);
        let mut g = c.benchmark_group(name);
        g.bench_function("verify_statement", |b| {
            b.iter(|| {
                s.ca.verify_statement(black_box(&s.statement), now())
                    .unwrap()
            });
        });
        g.bench_function("issue_only", |b| {
            b.iter_batched(
                || s.ca.verify_statement(&s.statement, now()).unwrap(),
                |verified| s.ca.issue(verified, now()).unwrap(),
                BatchSize::SmallInput,
            );
        });
        g.bench_function("verify_statement_and_issue", |b| {
            b.iter(|| {
                let verified =
                    s.ca.verify_statement(black_box(&s.statement), now())
                        .unwrap();
                s.ca.issue(verified, now()).unwrap()
            });
        });
        g.finish();
    }
}

criterion_group!(benches, issue);
criterion_main!(benches);
