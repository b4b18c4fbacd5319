//! A blocking HTTPS client for the admin listener (rustls, one request per connection), with
//! an optional client certificate, for the admin tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// An answer of the admin listener.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 (lossy); `bytes` holds it as sent (NDES's page is UTF-16).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

pub struct Https {
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    /// The loopback address to connect from (any 127/8 address is ours on Linux), so one
    /// test can be many sources.
    source: Option<std::net::IpAddr>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(server_certificate: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(server_certificate).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

impl Https {
    /// Trusts exactly `server_certificate` (the development certificate in `admin-tls/`).
    pub fn new(addr: SocketAddr, server_certificate: &Path) -> Https {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(server_certificate))
            .with_no_client_auth();
        Https {
            addr,
            config: Arc::new(config),
            source: None,
        }
    }

    /// The same, presenting a client certificate.
    pub fn with_client_certificate(
        addr: SocketAddr,
        server_certificate: &Path,
        certificate_der: &[u8],
        key_pem: &Path,
    ) -> Https {
        let key = PrivateKeyDer::from_pem_file(key_pem).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(server_certificate))
            .with_client_auth_cert(vec![CertificateDer::from(certificate_der.to_vec())], key)
            .unwrap();
        Https {
            addr,
            config: Arc::new(config),
            source: None,
        }
    }

    /// The same client, connecting from `source`.
    pub fn connecting_from(&self, source: std::net::IpAddr) -> Https {
        Https {
            addr: self.addr,
            config: Arc::clone(&self.config),
            source: Some(source),
        }
    }

    fn connect(&self) -> TcpStream {
        let Some(source) = self.source else {
            return TcpStream::connect(self.addr).unwrap();
        };
        let socket = if source.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let stream = super::block_on(socket.connect(self.addr))
            .unwrap()
            .into_std()
            .unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers, None)
    }

    pub fn post_json(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        json: &serde_json::Value,
    ) -> Reply {
        let body = json.to_string();
        self.request(
            "POST",
            path,
            headers,
            Some(("application/json", body.as_bytes())),
        )
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Reply {
        let name = ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(Arc::clone(&self.config), name).unwrap();
        let tcp = self.connect();
        tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body_bytes = match body {
            Some((content_type, bytes)) => {
                head.push_str(&format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                    bytes.len()
                ));
                bytes
            }
            None if method == "POST" || method == "DELETE" => {
                head.push_str("Content-Length: 0\r\n");
                &[][..]
            }
            None => &[][..],
        };
        head.push_str("\r\n");
        tls.write_all(head.as_bytes()).unwrap();
        tls.write_all(body_bytes).unwrap();
        tls.flush().unwrap();
        let mut raw = Vec::new();
        // A peer that closes without close_notify is an error to rustls; what was read counts.
        let _ = tls.read_to_end(&mut raw);
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let bytes = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        let rest = &body[line_end + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
    out
}
