//! SCEP over HTTP (RFC 8894 §4): a minimal blocking HTTP/1.1 client on `std::net`.
//!
//! One request per connection (`Connection: close`), plain `http://` only: SCEP content is
//! signed and encrypted itself, and the test server listens on loopback. The request body is
//! written from a second thread while the reply is read, so a server that answers 413 and
//! closes before reading a 10 MiB body is still heard.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;

use crate::bundle::CaBundle;
use crate::error::ClientError;

const TIMEOUT: Duration = Duration::from_secs(60);

/// An HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body (chunked transfer decoded).
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The body as text (lossy), for assertions on plain-text errors.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET {url}?operation=GetCACaps`: the capabilities text.
pub fn get_ca_caps(url: &str) -> Result<String, ClientError> {
    let reply = http_get(&format!("{url}?operation=GetCACaps"))?;
    if reply.status != 200 {
        return Err(ClientError::Http(format!(
            "GetCACaps: HTTP {}",
            reply.status
        )));
    }
    Ok(reply.text())
}

/// `GET {url}?operation=GetCACert`, sorted into CA and RA certificates.
pub fn get_ca_cert(url: &str) -> Result<CaBundle, ClientError> {
    let reply = http_get(&format!("{url}?operation=GetCACert"))?;
    if reply.status != 200 {
        return Err(ClientError::Http(format!(
            "GetCACert: HTTP {}",
            reply.status
        )));
    }
    CaBundle::from_get_ca_cert(&reply.body)
}

/// `POST {url}?operation=PKIOperation` with the DER message as the body.
pub fn pki_operation_post(url: &str, message: &[u8]) -> Result<HttpReply, ClientError> {
    http_post(
        &format!("{url}?operation=PKIOperation"),
        "application/x-pki-message",
        message,
    )
}

/// `GET {url}?operation=PKIOperation&message=...`: standard base64 with `+`, `/` and `=`
/// percent-encoded (RFC 8894 §4.1).
pub fn pki_operation_get(url: &str, message: &[u8]) -> Result<HttpReply, ClientError> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(message);
    http_get(&format!(
        "{url}?operation=PKIOperation&message={}",
        percent_encode_base64(&b64)
    ))
}

/// Percent-encodes the three base64 characters that are not URL-safe.
#[must_use]
pub fn percent_encode_base64(b64: &str) -> String {
    b64.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// A GET of `url` (with its query as given).
pub fn http_get(url: &str) -> Result<HttpReply, ClientError> {
    request("GET", url, None)
}

/// A POST of `body` to `url`.
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> Result<HttpReply, ClientError> {
    request("POST", url, Some((content_type, body)))
}

fn request(method: &str, url: &str, body: Option<(&str, &[u8])>) -> Result<HttpReply, ClientError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or(ClientError::Unsupported("only http:// URLs"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_owned()
    };
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: scep-client\r\n"
    );
    if let Some((content_type, bytes)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let raw = std::thread::scope(|scope| {
        if let Some((_, bytes)) = body {
            let mut writer = stream.try_clone()?;
            // A write error (the server closed early) is not ours to report: its answer is.
            scope.spawn(move || {
                let _ = writer.write_all(bytes).and_then(|()| writer.flush());
            });
        }
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            Ok(_) => Ok(raw),
            // The answer may be followed by a reset when the server did not read everything.
            Err(_) if raw.windows(4).any(|w| w == b"\r\n\r\n") => Ok(raw),
            Err(e) => Err(e),
        }
    })?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<HttpReply, ClientError> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| ClientError::Http("no complete response head".into()))?;
    let head = String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).into_owned();
    let body = raw.get(end + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Http(format!("bad status line {status_line:?}")))?;
    let mut content_type = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "content-length" => content_length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(len) = content_length {
        body.get(..len)
            .ok_or_else(|| ClientError::Http("body shorter than Content-Length".into()))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(HttpReply {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut input: &[u8]) -> Result<Vec<u8>, ClientError> {
    let bad = || ClientError::Http("bad chunked body".into());
    let mut out = Vec::new();
    loop {
        let eol = input
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(bad)?;
        let size_text = String::from_utf8_lossy(input.get(..eol).ok_or_else(bad)?).into_owned();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        input = input.get(eol + 2..).ok_or_else(bad)?;
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(input.get(..size).ok_or_else(bad)?);
        input = input.get(size + 2..).ok_or_else(bad)?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_and_chunked_bodies() {
        let r = parse_response(b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (413, &b"abc"[..]));
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn base64_specials_are_escaped() {
        assert_eq!(percent_encode_base64("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }

    #[test]
    fn talks_to_a_local_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let reply = http_get(&format!("http://{addr}/scep?operation=GetCACaps")).unwrap();
        assert_eq!(reply.body, b"ok");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /scep?operation=GetCACaps HTTP/1.1\r\n"),
            "{request}"
        );
    }
}
