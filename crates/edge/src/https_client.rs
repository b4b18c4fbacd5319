//! A minimal HTTPS client (one connection per request), as a split deployment's RA talks to
//! its CA and the RA talks to an MDM (Intune, a webhook): hyper's HTTP/1.1 client over
//! tokio-rustls, with the caller's TLS configuration (its trust roots, its client
//! certificate), a timeout and a bound on the answer's size. Redirects are never followed: a
//! 3xx is an answer like any other, for the caller to refuse.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Why a request to the CA got no answer; every message names the URL or the host.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url:?} is not a URL: {source}")]
    NotAUrl {
        url: String,
        source: axum::http::uri::InvalidUri,
    },
    #[error("{0:?}: only https:// is allowed")]
    NotHttps(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error("{url:?}: host is not a TLS server name: {source}")]
    ServerName {
        url: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connecting to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("TLS handshake with {host}:{port}: {source}")]
    Handshake {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("HTTP: {0}")]
    Http(#[source] hyper::Error),
    #[error("HTTP request: {0}")]
    Request(#[source] axum::http::Error),
    #[error("reading the answer: {0}")]
    Answer(#[source] axum::Error),
}

/// What a server answered to [`HttpsClient::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The Content-Type header, when there is one and it is text.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub struct HttpsClient {
    connector: TlsConnector,
    authority: String,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    timeout: Duration,
}

impl HttpsClient {
    /// A client for `url` (`https://HOST[:PORT]`; anything after the authority is ignored).
    pub fn new(
        url: &str,
        tls: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let uri: axum::http::Uri = url.parse().map_err(|source| ClientError::NotAUrl {
            url: url.to_owned(),
            source,
        })?;
        if uri.scheme_str() != Some("https") {
            return Err(ClientError::NotHttps(url.to_owned()));
        }
        let host = uri
            .host()
            .ok_or_else(|| ClientError::NoHost(url.to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let server_name =
            ServerName::try_from(host.clone()).map_err(|source| ClientError::ServerName {
                url: url.to_owned(),
                source,
            })?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(tls)),
            authority: uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            host,
            port,
            server_name,
            timeout,
        })
    }

    /// POSTs `body` to `path`; returns the status and at most `limit` bytes of the answer.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let request = (axum::http::Method::POST, path, Some(content_type), body);
        tokio::time::timeout(self.timeout, self.exchange(request, limit))
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }

    /// GETs `path`; returns the status and at most `limit` bytes of the answer.
    pub async fn get(&self, path: &str, limit: usize) -> Result<(u16, Vec<u8>), ClientError> {
        let request = (axum::http::Method::GET, path, None, Vec::new());
        tokio::time::timeout(self.timeout, self.exchange(request, limit))
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }

    /// Sends `method` to `path` with `headers` (besides Host; a body's Content-Type is given
    /// among `headers`) and `body`; returns the status, the answer's content type and at most
    /// `limit` bytes of its body. An answer longer than `limit` is an error, never a
    /// truncated body.
    pub async fn send(
        &self,
        method: axum::http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Answer, ClientError> {
        tokio::time::timeout(
            self.timeout,
            self.exchange_with_headers(method, path, headers, body, limit),
        )
        .await
        .map_err(|_| ClientError::Timeout(self.timeout))?
    }

    async fn exchange(
        &self,
        (method, path, content_type, body): (axum::http::Method, &str, Option<&str>, Vec<u8>),
        limit: usize,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let content_type = content_type.map(|value| ("content-type", value));
        let headers: Vec<(&str, &str)> = content_type.into_iter().collect();
        let answer = self
            .exchange_with_headers(method, path, &headers, body, limit)
            .await?;
        Ok((answer.status, answer.body))
    }

    async fn exchange_with_headers(
        &self,
        method: axum::http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Answer, ClientError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| ClientError::Connect {
                host: self.host.clone(),
                port: self.port,
                source,
            })?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|source| ClientError::Handshake {
                host: self.host.clone(),
                port: self.port,
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(ClientError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTPS client connection ended with an error");
            }
        });
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(axum::http::header::HOST, &self.authority);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(axum::body::Body::from(body))
            .map_err(ClientError::Request)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(ClientError::Http)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(axum::body::Body::new(response.into_body()), limit)
            .await
            .map_err(ClientError::Answer)?;
        Ok(Answer {
            status,
            content_type,
            body: bytes.to_vec(),
        })
    }
}
