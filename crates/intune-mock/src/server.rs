//! The accept loop: TLS, then HTTP/1.1, every request to the one handler.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::Shared;

pub(crate) async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, shared: Shared) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                tracing::debug!(error = %e, "mock Intune: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(error = %e, "mock Intune: TLS handshake failed");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |request| {
                crate::handler::handle(shared.clone(), request)
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(error = %e, "mock Intune: connection ended with an error");
            }
        });
    }
}
