//! Connection limits on every listener (`[connections]`): an idle connection, or one that
//! trickles its request head, is closed after `header_read_timeout` (on the TLS listeners a
//! connection that never starts its handshake after `tls_handshake_timeout`); a source over
//! `max_connections_per_source` is answered 429 while other sources are served, and a full
//! listener answers 503. Checked on the SCEP listener (plain HTTP), the admin listener (TLS)
//! and the CA service's statement listener (mutual TLS).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{SCEPD, Server};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The timeouts the tests configure: short, so each check takes about a second.
const SHORT_TIMEOUTS: &str = "header_read_timeout = \"1s\"\ntls_handshake_timeout = \"1s\"\n";

/// A closure must come no earlier than the configured second (less timer slack)...
const NOT_BEFORE: Duration = Duration::from_millis(900);
/// ...and well before anything a client could hold a connection with.
const NOT_AFTER: Duration = Duration::from_secs(6);

const GET_CA_CAPS: &str = "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: scepd\r\n\r\n";
const GET_HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A TCP connection from the loopback address `127.0.0.{last}` (any 127/8 address is ours on
/// Linux), so one test can be many sources.
fn connect_from(last: u8, to: SocketAddr) -> TcpStream {
    let stream = common::block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from(([127, 0, 0, last], 0)))
            .unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    // Reads poll in short steps, so a test sees a closure about when it happens.
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS client trusting `server_certificate`, presenting `identity` (certificate, key) if given.
fn tls_config(
    server_certificate: &Path,
    identity: Option<(&Path, &Path)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(server_certificate).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(common::certificate_der(cert))],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// A completed TLS handshake from `127.0.0.{last}`.
fn tls_from(last: u8, to: SocketAddr, config: &Arc<rustls::ClientConfig>, name: &str) -> Tls {
    let mut tcp = connect_from(last, to);
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    let started = Instant::now();
    while tls.is_handshaking() {
        match tls.complete_io(&mut tcp) {
            Ok(_) => {}
            Err(e) if would_block(&e) && started.elapsed() < NOT_AFTER => {}
            Err(e) => panic!("TLS handshake with {to}: {e}"),
        }
    }
    rustls::StreamOwned::new(tls, tcp)
}

fn would_block(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Waits for the server to close `stream` (end of stream, a reset, or a TLS peer gone
/// without close_notify) and returns how long after `started` it did.
fn closed(stream: &mut impl Read, started: Instant, what: &str) -> Duration {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(n) => panic!(
                "{what}: unexpected bytes from the server: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) if would_block(&e) => assert!(
                started.elapsed() < NOT_AFTER,
                "{what}: still open after {:?}",
                started.elapsed()
            ),
            Err(_) => return started.elapsed(),
        }
    }
}

fn assert_closed_on_time(stream: &mut impl Read, started: Instant, what: &str) {
    let after = closed(stream, started, what);
    assert!(after >= NOT_BEFORE, "{what}: closed after only {after:?}");
    eprintln!("{what}: closed after {after:?}");
}

/// Sends `head` one byte every 250 ms and returns how many bytes were sent when the server
/// closed the connection; the whole head would take far longer than the timeout.
fn trickle(stream: &mut (impl Read + Write), head: &str, started: Instant, what: &str) -> usize {
    let mut buf = [0u8; 1024];
    for (sent, byte) in head.bytes().enumerate() {
        if stream
            .write_all(&[byte])
            .and_then(|()| stream.flush())
            .is_err()
        {
            return sent;
        }
        // Reads time out after 200 ms: with the write, about one byte every 250 ms.
        std::thread::sleep(Duration::from_millis(50));
        match stream.read(&mut buf) {
            Ok(0) => return sent + 1,
            Ok(n) => panic!(
                "{what}: the server answered an unfinished head: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) if would_block(&e) => {}
            Err(_) => return sent + 1,
        }
        assert!(
            started.elapsed() < NOT_AFTER,
            "{what}: still open after {:?}",
            started.elapsed()
        );
    }
    panic!("{what}: the whole head was accepted at one byte every 250 ms");
}

fn assert_trickle_cut_off(stream: &mut (impl Read + Write), head: &str, what: &str) {
    let started = Instant::now();
    let sent = trickle(stream, head, started, what);
    let after = started.elapsed();
    assert!(
        sent < head.len() / 2,
        "{what}: {sent} bytes of {}",
        head.len()
    );
    assert!(after >= NOT_BEFORE, "{what}: closed after only {after:?}");
    eprintln!("{what}: closed after {after:?} and {sent} bytes");
}

/// An HTTP answer read by its Content-Length, so that the connection can stay open.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads what is there into `raw`; the connection must stay open.
fn read_more(stream: &mut impl Read, raw: &mut Vec<u8>, started: Instant) {
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf) {
        Ok(0) => panic!(
            "connection closed mid-answer: {:?}",
            String::from_utf8_lossy(raw)
        ),
        Ok(n) => raw.extend_from_slice(&buf[..n]),
        Err(e) if would_block(&e) && started.elapsed() < NOT_AFTER => {}
        Err(e) => panic!(
            "reading the answer: {e} after {:?}",
            String::from_utf8_lossy(raw)
        ),
    }
}

fn exchange(stream: &mut (impl Read + Write), request: &str) -> Answer {
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        read_more(stream, &mut raw, started);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let mut answer = Answer {
        status,
        head,
        body: String::new(),
    };
    let length: usize = answer
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length: {}", answer.head));
    while raw.len() < split + 4 + length {
        read_more(stream, &mut raw, started);
    }
    answer.body = String::from_utf8_lossy(&raw[split + 4..]).into_owned();
    answer
}

/// The refusal: status, Retry-After, Connection: close, the one-line text, then the close.
fn assert_refused(stream: &mut (impl Read + Write), request: &str, status: u16, text: &str) {
    let answer = exchange(stream, request);
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.body, text, "{answer:?}");
    let retry_after: u64 = answer
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {answer:?}"));
    assert!(retry_after >= 1, "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    let started = Instant::now();
    closed(stream, started, "after the refusal");
}

#[test]
fn idle_and_trickling_connections_are_closed_on_the_scep_and_admin_listeners() {
    let server = Server::start(&format!("[connections]\n{SHORT_TIMEOUTS}"));
    let scep = server.addr;

    // SCEP: an idle connection, one idle after a first keep-alive request, a trickled head.
    let started = Instant::now();
    assert_closed_on_time(&mut connect_from(1, scep), started, "SCEP idle");
    let mut keep_alive = connect_from(1, scep);
    assert_eq!(exchange(&mut keep_alive, GET_CA_CAPS).status, 200);
    let started = Instant::now();
    assert_closed_on_time(&mut keep_alive, started, "SCEP idle after a request");
    assert_trickle_cut_off(&mut connect_from(1, scep), GET_CA_CAPS, "SCEP trickle");

    // Admin: a connection that never starts its handshake, one idle after it, a trickled head.
    let admin = server.admin_addr.unwrap();
    let config = tls_config(&server.data_dir().join("admin-tls/admin.pem"), None);
    let started = Instant::now();
    assert_closed_on_time(
        &mut connect_from(1, admin),
        started,
        "admin before the handshake",
    );
    let mut tls = tls_from(1, admin, &config, "localhost");
    let started = Instant::now();
    assert_closed_on_time(&mut tls, started, "admin idle after the handshake");
    let mut tls = tls_from(1, admin, &config, "localhost");
    assert_trickle_cut_off(&mut tls, GET_HEALTHZ, "admin trickle");

    // Both still serve.
    assert_eq!(
        exchange(&mut connect_from(1, scep), GET_CA_CAPS).status,
        200
    );
    let answer = exchange(&mut tls_from(1, admin, &config, "localhost"), GET_HEALTHZ);
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok\n"));
}

#[test]
fn a_source_over_its_cap_gets_429_others_are_served_and_a_full_listener_gets_503() {
    let server =
        Server::start("[connections]\nmax_connections = 3\nmax_connections_per_source = 2\n");
    const FROM_SOURCE: &str = "too many connections from this address\n";
    const FULL: &str = "too many connections\n";

    // SCEP: two connections from 127.0.0.2 are its share; the third is refused.
    let scep = server.addr;
    let _held: Vec<TcpStream> = (0..2).map(|_| connect_from(2, scep)).collect();
    assert_refused(&mut connect_from(2, scep), GET_CA_CAPS, 429, FROM_SOURCE);
    // Another source is served, and keeps its connection: the listener is full now.
    let mut other = connect_from(3, scep);
    assert_eq!(exchange(&mut other, GET_CA_CAPS).status, 200);
    assert_refused(&mut connect_from(4, scep), GET_CA_CAPS, 503, FULL);
    assert_eq!(exchange(&mut other, GET_CA_CAPS).status, 200);

    // Admin: the same after the TLS handshake; connections still in their handshake count.
    let admin = server.admin_addr.unwrap();
    let config = tls_config(&server.data_dir().join("admin-tls/admin.pem"), None);
    let _held_admin: Vec<TcpStream> = (0..2).map(|_| connect_from(2, admin)).collect();
    let mut over = tls_from(2, admin, &config, "localhost");
    assert_refused(&mut over, GET_HEALTHZ, 429, FROM_SOURCE);
    let mut other = tls_from(3, admin, &config, "localhost");
    assert_eq!(exchange(&mut other, GET_HEALTHZ).status, 200);
    let mut full = tls_from(4, admin, &config, "localhost");
    assert_refused(&mut full, GET_HEALTHZ, 503, FULL);

    let log = server.stderr();
    assert!(log.contains("connection over the cap refused"), "{log}");
}

/// A running `scepd ca`, killed when dropped.
struct Ca {
    child: Child,
    statements: SocketAddr,
    registration: SocketAddr,
}

impl Drop for Ca {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scepd(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(SCEPD)
        .args(args)
        .env("SCEPD_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scepd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn start_ca(dir: &Path, log: &Path) -> Ca {
    let mut child = Command::new(SCEPD)
        .args(["ca", "--data-dir"])
        .arg(dir)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--registration-listen",
            "127.0.0.1:0",
        ])
        .env("SCEPD_LOG", "info,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let address = |line: &str| -> SocketAddr {
        line.split("https://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line}"))
    };
    let mut registration = None;
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.starts_with("scepd ca registration listening") => {
                registration = Some(address(&line));
            }
            Ok(line) if line.starts_with("scepd ca listening") => {
                return Ca {
                    child,
                    statements: address(&line),
                    registration: registration.unwrap(),
                };
            }
            Ok(_) => {}
            Err(_) => panic!(
                "scepd ca did not start: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
}

#[test]
fn the_ca_statement_listener_closes_idle_and_trickling_connections_and_caps_sources() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let ra_dir = dir.path().join("ra");
    let ca_s = ca_dir.to_str().unwrap();
    scepd(&["init", "--mode", "ca", "--data-dir", ca_s], &[]);
    let toml = ca_dir.join("scepd.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(text.contains("\n[connections]\n"), "{text}");
    let limits = format!("\n[connections]\n{SHORT_TIMEOUTS}max_connections_per_source = 1\n");
    std::fs::write(&toml, text.replacen("\n[connections]\n", &limits, 1)).unwrap();
    let code = scepd(
        &[
            "ca",
            "register-ra",
            "--data-dir",
            ca_s,
            "--name",
            "ra1",
            "--templates",
            "device",
        ],
        &[],
    );
    let ca = start_ca(&ca_dir, &dir.path().join("ca.stderr"));
    // The RA's registration gives it the TLS client certificate the statement listener wants.
    let fingerprint =
        ca::fingerprint_sha256(&common::certificate_der(&ca_dir.join("certs/ca.pem")));
    scepd(
        &[
            "init",
            "--mode",
            "ra",
            "--data-dir",
            ra_dir.to_str().unwrap(),
            "--ca-url",
            &format!("https://{}", ca.statements),
            "--ca-registration-url",
            &format!("https://{}", ca.registration),
            "--ca-fingerprint",
            &fingerprint,
        ],
        &[("SCEPD_REGISTRATION_CODE", code.trim())],
    );
    let config = tls_config(
        &ca_dir.join("certs/ca.pem"),
        Some((
            &ra_dir.join("certs/ra-tls.pem"),
            &ra_dir.join("keys/ra-tls.key"),
        )),
    );
    let statements = ca.statements;
    let crl = "GET /scepd-ca/v1/crl HTTP/1.1\r\nHost: ca\r\n\r\n";

    // Each check from its own source: one connection per source is the cap here.
    let started = Instant::now();
    assert_closed_on_time(
        &mut connect_from(2, statements),
        started,
        "CA statements before the handshake",
    );
    let mut tls = tls_from(3, statements, &config, "127.0.0.1");
    let started = Instant::now();
    assert_closed_on_time(&mut tls, started, "CA statements idle after the handshake");
    let mut tls = tls_from(4, statements, &config, "127.0.0.1");
    assert_trickle_cut_off(&mut tls, crl, "CA statements trickle");

    // A registered RA over its cap is told so after the handshake; another source is served.
    let _held = tls_from(5, statements, &config, "127.0.0.1");
    let mut over = tls_from(5, statements, &config, "127.0.0.1");
    assert_refused(
        &mut over,
        crl,
        429,
        "too many connections from this address\n",
    );
    let answer = exchange(&mut tls_from(6, statements, &config, "127.0.0.1"), crl);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/pkix-crl"));
}

#[test]
fn sigterm_stops_the_service_without_waiting_for_idle_connections() {
    let mut server = Server::start("");
    let mut idle = connect_from(2, server.addr);
    let mut keep_alive = connect_from(3, server.addr);
    assert_eq!(exchange(&mut keep_alive, GET_CA_CAPS).status, 200);
    let admin = server.admin_addr.unwrap();
    let config = tls_config(&server.data_dir().join("admin-tls/admin.pem"), None);
    let mut admin_idle = tls_from(2, admin, &config, "localhost");
    let started = Instant::now();
    // Well before the default header timeout of 10 s.
    let status = server.terminate(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?} after {:?}; stderr:\n{}",
        started.elapsed(),
        server.stderr()
    );
    closed(&mut idle, started, "idle");
    closed(&mut keep_alive, started, "keep-alive");
    closed(&mut admin_idle, started, "admin idle");
    assert!(server.stderr().contains("shutting down"));
}
