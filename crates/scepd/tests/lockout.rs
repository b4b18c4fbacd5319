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

/// POSTs a PKIOperation from the loopback address `127.0.0.{last}` (any 127/8 address is
/// ours on Linux), so one test can be many sources: (HTTP status, body).
fn post_from(last: u8, server: &Server, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    common::block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, last], 0)))
            .unwrap();
        let mut stream = socket.connect(server.addr).await.unwrap();
        let head = format!(
            "POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-pki-message\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.unwrap();
        let split = reply
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP head in {reply:?}"));
        let head = String::from_utf8_lossy(&reply[..split]).into_owned();
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding"),
            "{head}"
        );
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {head}"));
        (status, reply[split + 4..].to_vec())
    })
}

#[test]
fn a_guess_spread_over_many_sources_trips_the_global_budget() {
    let server = Server::start(
        "[limits]\nmax_failed_attempts = 5\nglobal_max_failed_attempts = 4\nfailure_window = \"10m\"\nlockout = \"10m\"\n",
    );
    let bundle = get_ca_cert(&server.url()).unwrap();
    // One PKCSReq from `127.0.0.{source}`: the HTTP status, and the pkiStatus of a CertRep.
    let attempt = |source: u8, challenge: &str| {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let subject = format!("CN=source-{source}.example");
        let cert = self_signed_certificate(&key, &subject).unwrap();
        let csr = CsrBuilder::new(&subject)
            .dns(&format!("source-{source}.example"))
            .challenge(challenge)
            .build(&key)
            .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
        let (status, body) = post_from(source, &server, &builder.build().unwrap());
        let pki_status = (status == 200).then(|| {
            read_cert_rep(&body, &key, &cert, builder.get_sender_nonce())
                .unwrap()
                .status
        });
        (status, pki_status)
    };
    let wrong = "WrongWrongWrongWrongWrongWrong00";
    let refused = (200, Some(PkiStatus::Failure(FailInfo::BadRequest)));
    // Four sources, one wrong challenge each: far below the per-source limit of 5, but the
    // fourth failure exceeds the global budget.
    for source in 2..=5 {
        assert_eq!(attempt(source, wrong), refused, "source {source}");
    }
    // Every source that guessed is now locked out, even with a valid challenge...
    for source in [2, 3, 5] {
        let valid = server.challenge(&[]);
        assert_eq!(attempt(source, &valid).0, 429, "source {source}");
    }
    // ...while a source that never failed still enrolls.
    let valid = server.challenge(&[]);
    assert_eq!(attempt(9, &valid), (200, Some(PkiStatus::Success)));
    // A new guesser is locked out by its first failure.
    assert_eq!(attempt(10, wrong), refused);
    assert_eq!(attempt(10, wrong).0, 429);
    assert_eq!(server.certificate_count(), 1);
    // One alert for the window, not one per failure.
    let events = common::block_on(server.store().audit_events(200)).unwrap();
    let alerts = events
        .iter()
        .filter(|e| e.detail.contains("global failure budget exceeded"))
        .count();
    assert_eq!(alerts, 1, "{events:?}");
    assert!(
        server.stderr().contains("global failure budget exceeded"),
        "no warning logged"
    );
}
