//! An HTTP relay on 127.0.0.1 between a real SCEP client and `scepd serve` that keeps every
//! PKIOperation reply, so a test can check what the client was sent (`openssl cms -verify`)
//! without the client's help. One request per connection: it forwards with
//! `Connection: close` and reads the answer to the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The relay; its thread lives as long as the test process.
pub struct RecordingProxy {
    pub addr: SocketAddr,
    replies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RecordingProxy {
    pub fn start(upstream: SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let replies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&replies);
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || relay(client, upstream, &kept));
            }
        });
        RecordingProxy { addr, replies }
    }

    /// `http://ADDR{path}`: the server's SCEP path seen through the relay.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The bodies of the PKIOperation replies so far, oldest first.
    pub fn pki_replies(&self) -> Vec<Vec<u8>> {
        self.replies.lock().unwrap().clone()
    }
}

fn relay(client: TcpStream, upstream: SocketAddr, kept: &Mutex<Vec<Vec<u8>>>) {
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if request_line.is_empty() {
            request_line = line.clone();
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap();
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).unwrap();

    let mut server = TcpStream::connect(upstream).unwrap();
    server.write_all(&head).unwrap();
    server.write_all(b"Connection: close\r\n\r\n").unwrap();
    server.write_all(&body).unwrap();
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).unwrap();

    if request_line.contains("operation=PKIOperation") {
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        kept.lock().unwrap().push(answer[split + 4..].to_vec());
    }
    let mut client = client;
    let _ = client.write_all(&answer);
}
