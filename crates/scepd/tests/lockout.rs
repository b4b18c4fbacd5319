//! A source that guesses challenges is locked out (catalogue B2): after the configured number
//! of wrong challenges it is answered HTTP 429 with Retry-After — even with a valid challenge —
//! and the lockout is in the audit log.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Server;
use scep::{FailInfo, PkiStatus};
use scep_client::{
    ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post, read_cert_rep,
    self_signed_certificate,
};

#[test]
fn a_source_guessing_challenges_is_locked_out() {
    let server = Server::start("[limits]\nmax_failed_attempts = 3\nlockout = \"10m\"\n");
    let bundle = get_ca_cert(&server.url()).unwrap();
    // One PKCSReq with `challenge` from a fresh key; the HTTP reply, and the pkiStatus when
    // it is a CertRep.
    let attempt = |challenge: &str| {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let cert = self_signed_certificate(&key, "CN=guesser").unwrap();
        let csr = CsrBuilder::new("CN=guesser")
            .challenge(challenge)
            .build(&key)
            .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
        let reply = pki_operation_post(&server.url(), &builder.build().unwrap()).unwrap();
        let status = (reply.status == 200).then(|| {
            read_cert_rep(&reply.body, &key, &cert, builder.get_sender_nonce())
                .unwrap()
                .status
        });
        (reply, status)
    };
    for guess in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
    ] {
        let (_, status) = attempt(guess);
        assert_eq!(status, Some(PkiStatus::Failure(FailInfo::BadRequest)));
    }
    // Locked out now, even with a valid challenge; the challenge is not spent.
    let valid = server.challenge(&[]);
    let (reply, _) = attempt(&valid);
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert_eq!(server.certificate_count(), 0);
    let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(valid.as_bytes()).into();
    let status = common::block_on(server.store().challenge_status(&hash, 0)).unwrap();
    assert!(
        matches!(status, store::ChallengeStatus::Usable(_)),
        "{status:?}"
    );
    let events = common::block_on(server.store().audit_events(50)).unwrap();
    assert!(
        events.iter().any(|e| e.detail.contains("locked out")),
        "no lockout in the audit log"
    );
    // GetCACaps and GetCACert still answer: only PKIOperation is gated.
    assert!(scep_client::get_ca_caps(&server.url()).is_ok());
}
