//! Hostile clients that send many attempts at once: a source's attempts still being checked
//! count against its lockout limit, so a concurrent burst is never evaluated past it — for
//! the admin login, API tokens and SCEP challenges alike — and a login flood from many
//! sources runs at most a few password verifications at once, in bounded memory.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::Server;
use common::admin::{Https, Reply};
use scep::{FailInfo, PkiStatus};
use scep_client::{
    ClientKey, CsrBuilder, PkcsReqBuilder, get_ca_cert, pki_operation_post, read_cert_rep,
    self_signed_certificate,
};

fn login(client: &Https, password: &str) -> Reply {
    let form = format!("username=admin&password={password}");
    client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
}

fn token_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("scepd_"))
        .unwrap_or_else(|| panic!("no token in {text:?}"))
        .to_owned()
}

/// How many audit entries contain `needle`.
fn audited(server: &Server, needle: &str) -> usize {
    server
        .cli(&["audit", "export"])
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn a_login_burst_is_checked_only_up_to_the_limit_and_the_right_password_in_it_does_not_log_in() {
    // One verification at a time, so the burst is still being checked when the right
    // password arrives.
    let server =
        Server::start("[admin]\nmax_failed_logins = 5\nmax_concurrent_password_checks = 1\n");
    let password = server.initial_admin_password();
    let client = Arc::new(server.admin());
    let wrong: Vec<_> = (0..19)
        .map(|i| {
            let client = Arc::clone(&client);
            thread::spawn(move || login(&client, &format!("wrong-guess-{i}")).status)
        })
        .collect();
    // Sent once the burst has had ample time to be admitted: whether the right password then
    // finds the burst still being checked or the address already locked out, it must not
    // be checked at all.
    thread::sleep(Duration::from_secs(1));
    let right = login(&client, &password);
    let statuses: Vec<u16> = wrong.into_iter().map(|t| t.join().unwrap()).collect();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(checked, 5, "only the limit is checked: {statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 429),
        "{statuses:?}"
    );
    assert_eq!(right.status, 429, "{}", right.body);
    assert!(right.header("retry-after").is_some());
    assert!(right.header("set-cookie").is_none(), "{:?}", right.headers);
    assert_eq!(
        audited(&server, "password login as \\\"admin\\\" refused"),
        5
    );
    assert_eq!(
        audited(&server, "\"kind\":\"admin-login\""),
        0,
        "nobody logged in"
    );
}

#[test]
fn a_burst_of_wrong_api_tokens_is_checked_only_up_to_the_limit() {
    let server = Server::start("[admin]\nmax_failed_logins = 4\n");
    let good = token_in(&server.cli(&["user", "token", "admin"]));
    let client = Arc::new(server.admin());
    let guesses: Vec<_> = (0..24)
        .map(|i| {
            let client = Arc::clone(&client);
            thread::spawn(move || {
                let authorization = format!("Bearer scepd_wrong_guess_{i}");
                client
                    .get("/admin/api/v1/whoami", &[("Authorization", &authorization)])
                    .status
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        4,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 429),
        "{statuses:?}"
    );
    let locked = client.get(
        "/admin/api/v1/whoami",
        &[("Authorization", &format!("Bearer {good}"))],
    );
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(audited(&server, "unknown API token"), 4);
    // Another address is served.
    let elsewhere = client.connecting_from(IpAddr::from([127, 0, 0, 2])).get(
        "/admin/api/v1/whoami",
        &[("Authorization", &format!("Bearer {good}"))],
    );
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
}

#[test]
fn a_burst_of_wrong_challenges_is_checked_only_up_to_the_limit() {
    let server = Server::start("[limits]\nmax_failed_attempts = 5\nlockout = \"10m\"\n");
    let bundle = get_ca_cert(&server.url()).unwrap();
    // Each request from a fresh key (its own transaction), built before the burst.
    let request = |challenge: &str, n: usize| {
        let key = ClientKey::generate_rsa(2048).unwrap();
        let subject = format!("CN=guesser-{n}");
        let cert = self_signed_certificate(&key, &subject).unwrap();
        let csr = CsrBuilder::new(&subject)
            .challenge(challenge)
            .build(&key)
            .unwrap();
        let builder = PkcsReqBuilder::new(&key, &cert, &bundle.ra_encryption, csr).unwrap();
        let message = builder.build().unwrap();
        let nonce = builder.get_sender_nonce().to_vec();
        drop(builder);
        (key, cert, nonce, message)
    };
    let guesses: Vec<_> = (0..40)
        .map(|n| request("WrongWrongWrongWrongWrongWrong00", n))
        .collect();
    let valid = server.challenge(&[]);
    let (valid_key, valid_cert, valid_nonce, valid_message) = request(&valid, 99);
    let url = server.url();
    let burst: Vec<_> = guesses
        .into_iter()
        .map(|(key, cert, nonce, message)| {
            let url = url.clone();
            thread::spawn(move || {
                let reply = pki_operation_post(&url, &message).unwrap();
                let status = (reply.status == 200).then(|| {
                    read_cert_rep(&reply.body, &key, &cert, &nonce)
                        .unwrap()
                        .status
                });
                (reply.status, status)
            })
        })
        .collect();
    // As for the login burst: still being checked or already locked out, never checked.
    thread::sleep(Duration::from_secs(1));
    let with_valid = pki_operation_post(&url, &valid_message).unwrap();
    let outcomes: Vec<_> = burst.into_iter().map(|t| t.join().unwrap()).collect();
    let checked: Vec<_> = outcomes.iter().filter(|(http, _)| *http == 200).collect();
    assert_eq!(checked.len(), 5, "{outcomes:?}");
    assert!(
        checked
            .iter()
            .all(|(_, s)| *s == Some(PkiStatus::Failure(FailInfo::BadRequest))),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|(http, _)| *http == 200 || *http == 429),
        "{outcomes:?}"
    );
    // The valid challenge came in the burst, past the limit: refused, and not spent.
    if with_valid.status == 200 {
        let status = read_cert_rep(&with_valid.body, &valid_key, &valid_cert, &valid_nonce)
            .unwrap()
            .status;
        panic!("the valid request past the limit was checked: {status:?}");
    }
    assert_eq!(with_valid.status, 429);
    assert_eq!(server.certificate_count(), 0);
    let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(valid.as_bytes()).into();
    let status = common::block_on(server.store().challenge_status(&hash, 0)).unwrap();
    assert!(
        matches!(status, store::ChallengeStatus::Usable(_)),
        "{status:?}"
    );
}

/// Hundreds of logins at once from many addresses: at most `max_concurrent_password_checks`
/// argon2id verifications run at a time, in reused memory, so the server's memory stays
/// bounded; afterwards it answers normally. Prints the figures SECURITY.md quotes
/// (`cargo test -p scepd --test hostile_bursts flood -- --nocapture`).
#[test]
fn a_login_flood_stays_in_bounded_memory_and_the_server_answers_normally_after() {
    const SOURCES: u8 = 100;
    const PER_SOURCE: usize = 3;
    let server =
        Server::start("[admin]\nmax_failed_logins = 3\n[connections]\nmax_connections = 512\n");
    let password = server.initial_admin_password();
    let client = server.admin();
    // One login first, so the baseline includes what any login allocates once.
    assert_eq!(login(&client, &password).status, 303);
    let (before, _) = server.memory_kib();
    let started = std::time::Instant::now();
    let flood: Vec<_> = (1..=SOURCES)
        .flat_map(|source| (0..PER_SOURCE).map(move |k| (source, k)))
        .map(|(source, k)| {
            let client = client.connecting_from(IpAddr::from([127, 0, 1, source]));
            thread::spawn(move || login(&client, &format!("flood-{source}-{k}")).status)
        })
        .collect();
    let statuses: Vec<u16> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let (settled, peak) = server.memory_kib();
    let count = |status: u16| statuses.iter().filter(|&&s| s == status).count();
    println!(
        "login flood: {} attempts from {SOURCES} addresses in {:.1} s: {} x 401, {} x 429, {} x 503; server RSS {} MiB before, peak {} MiB, {} MiB after",
        statuses.len(),
        elapsed.as_secs_f64(),
        count(401),
        count(429),
        count(503),
        before / 1024,
        peak / 1024,
        settled / 1024,
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(count(401) > 0, "the flood was checked at all");
    // Unbounded, each login in flight held 19 MiB: 300 at once took gigabytes. Two
    // verifications at a time need 38 MiB; the rest is connections and buffers.
    assert!(
        peak.saturating_sub(before) < 128 * 1024,
        "peak {peak} KiB from {before} KiB"
    );
    // The server answers normally: a login from an address that took no part.
    let fresh = client.connecting_from(IpAddr::from([127, 0, 2, 1]));
    assert_eq!(login(&fresh, &password).status, 303);
    assert!(scep_client::get_ca_caps(&server.url()).is_ok());
}
