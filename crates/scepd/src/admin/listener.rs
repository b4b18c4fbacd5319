//! The admin listener's accept loop: a TLS handshake per connection (bounded in time), then
//! HTTP/1.1 with what the handshake established — the peer address and the SHA-256 of a
//! verified client certificate — attached to every request of that connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// A handshake that takes longer than this is dropped (slow-loris on the TLS layer).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a request's headers on an open connection.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the TLS layer knows about the peer, for the handlers.
#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: SocketAddr,
    /// SHA-256 of the client certificate, verified against the admin client CA.
    pub client_certificate: Option<[u8; 32]>,
}

/// Serves `app` over TLS until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!(error = %e, "admin listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "admin TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "admin TLS handshake timed out");
                    return;
                }
            };
            let connection = Connection {
                peer,
                client_certificate: stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|leaf| Sha256::digest(leaf.as_ref()).into()),
            };
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(connection.clone());
                    app.clone().oneshot(request)
                },
            );
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "admin connection ended with an error");
            }
        });
    }
}
