//! RFC 8894 §8.4 on a running `scepd serve`: a certificate counts as delivered only once its
//! CertRep was written out to the client, or its holder later showed it has it (a retry
//! answered). A client that hangs up before the reply leaves the certificate uncollected,
//! and `scepd cert list --uncollected` says so until the same transaction is retried.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::intune::{Device, GENEROUS_LIMITS, Intune, csr};
use common::{Server, enroll};
use intune_mock::{MockAnswer, Route};
use scep_client::{PkcsReqBuilder, get_ca_cert, pki_operation_post};

/// An Intune endpoint: Intune answering slowly keeps the enrollment in progress long enough
/// for the client to hang up in the middle of it.
const ENDPOINT: &str = r#"
[[templates]]
name = "intune-device"
extended_key_usages = ["clientAuth"]
dns_domains = ["corp.example"]

[[endpoints]]
name = "intune"
template = "intune-device"
challenge = "intune"
"#;

/// `scepd cert list --uncollected`'s count, once it is `expected` or after `within` (a
/// delivery is recorded just after the reply is written, a moment after the client has it).
fn uncollected_settles_at(server: &Server, expected: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let out = server.cli(&["cert", "list", "--uncollected"]);
        let count = out
            .lines()
            .find_map(|l| l.trim().strip_suffix(" certificate(s)"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no count in {out:?}"));
        if count == expected || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_reply_the_client_never_took_leaves_its_certificate_uncollected_until_a_retry() {
    let intune = Intune::start();
    let server = Server::start(&format!(
        "{ENDPOINT}\n{GENEROUS_LIMITS}\n{}",
        intune.config()
    ));
    // An ordinary enrollment: written out, delivered.
    enroll(&server, "CN=collected", &["collected.example.net"]).unwrap();
    assert_eq!(
        uncollected_settles_at(&server, 0, Duration::from_secs(5)),
        0
    );

    let url = format!("{}/intune", server.url());
    let device = Device::rsa(2048);
    let request = csr(&device, "CN=hung-up", |b| b.dns("hung-up.corp.example"));
    let bundle = get_ca_cert(&url).unwrap();
    let builder = PkcsReqBuilder::new(
        &device.key,
        &device.self_signed,
        &bundle.ra_encryption,
        request,
    )
    .unwrap()
    .transaction_id("hung-up-1");
    let message = builder.build().unwrap();

    // The request is sent whole; while Intune thinks it over, the client resets the
    // connection without waiting for the answer.
    intune.mock.set_answer(
        Route::ValidateRequest,
        MockAnswer::Slow(Duration::from_millis(1500)),
    );
    let address = server.addr.to_string();
    let mut tcp = TcpStream::connect(&address).unwrap();
    write!(
        tcp,
        "POST /scep/intune?operation=PKIOperation HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/x-pki-message\r\nContent-Length: {}\r\n\r\n",
        message.len()
    )
    .unwrap();
    tcp.write_all(&message).unwrap();
    intune.wait_for("validateRequest", Duration::from_secs(10), |mock| {
        !mock.calls_to(Route::ValidateRequest).is_empty()
    });
    let socket = socket2::Socket::from(tcp);
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    drop(socket);

    // The enrollment ran to its end: the certificate is recorded, and not delivered.
    intune.wait_for("successNotification", Duration::from_secs(10), |mock| {
        !mock.calls_to(Route::SuccessNotification).is_empty()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.certificate_count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the certificate was never recorded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(uncollected_settles_at(&server, 1, Duration::ZERO), 1);
    let listed = server.cli(&["cert", "list", "--uncollected"]);
    assert!(listed.contains("hung-up"), "{listed}");

    // The device retries the same transaction: the same certificate, now delivered.
    intune
        .mock
        .set_answer(Route::ValidateRequest, MockAnswer::Success);
    let reply = pki_operation_post(&url, &message).unwrap();
    assert_eq!(reply.status, 200);
    let answer = scep_client::read_cert_rep(
        &reply.body,
        &device.key,
        &device.self_signed,
        builder.get_sender_nonce(),
    )
    .unwrap();
    assert_eq!(answer.status, scep::PkiStatus::Success);
    assert_eq!(server.certificate_count(), 2, "a retry issues nothing new");
    assert_eq!(
        uncollected_settles_at(&server, 0, Duration::from_secs(5)),
        0
    );
}
