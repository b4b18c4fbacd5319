//! The accept loop of every scepd listener: SCEP (plain HTTP), the admin listener and the CA
//! service's statement and registration listeners (TLS).
//!
//! A connection costs a file descriptor and a task until it closes, and a client decides how
//! long that is unless the server does. So each listener caps its open connections per source
//! address and in total (the `[connections]` section), bounds the TLS handshake, and bounds
//! the wait for every request head, which is also the idle wait between keep-alive requests;
//! slow bodies are the routers' `TimeoutLayer` (408). A connection over a cap gets a short
//! refusal (429 per source, 503 in total) while only a few refusals are in progress, and is
//! closed without a word beyond that: refusing must not become the resource sink itself.
//!
//! The source is the TCP peer address: `X-Forwarded-For` means nothing at this level.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Longest a request may take from its first byte to the reply: every router answers 408
/// after it (a client that trickles its body), as the loop bounds only the head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Refusals answered at once per listener; a connection over a cap beyond these is closed
/// without an answer. Each takes at most a TLS handshake and `REFUSAL_WRITE_TIMEOUT`.
pub const MAX_REFUSALS_IN_PROGRESS: usize = 32;

/// How long writing a refusal, and waiting for the client to hang up after it, may take.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// At most one line at info level per listener and interval about refused connections (with
/// the count since the last one); the others are logged at debug, so a flood does not flood
/// the log.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// After shutdown is asked for, how long the loop waits for requests in progress to be
/// answered (a request is bounded by the routers' timeout of 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// The connection limits of one listener (`[connections]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections from all sources together.
    pub max_connections: usize,
    /// Open connections from one source address.
    pub max_connections_per_source: usize,
    /// Longest wait for a request head, from the connection's start or the previous answer.
    pub header_read_timeout: Duration,
    /// Longest TLS handshake (TLS listeners).
    pub tls_handshake_timeout: Duration,
}

/// A listener that could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    #[error(
        "cannot listen on {addr}{}: {source}",
        label.map(|l| format!(" ({l})")).unwrap_or_default()
    )]
    Bind {
        addr: SocketAddr,
        /// Which of the process's listeners, when it has several.
        label: Option<&'static str>,
        source: std::io::Error,
    },
    /// The bound socket does not know its address (never on a working host).
    #[error("{0}")]
    LocalAddress(std::io::Error),
}

/// Binds `addr` and returns the socket with the address it got (the port, when `addr` asked
/// for any).
pub async fn bind(
    addr: SocketAddr,
    label: Option<&'static str>,
) -> Result<(TcpListener, SocketAddr), ListenError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError::Bind {
            addr,
            label,
            source,
        })?;
    let local = listener.local_addr().map_err(ListenError::LocalAddress)?;
    Ok((listener, local))
}

/// What the connection established, attached to every request of it.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// SHA-256 of the client certificate the handshake verified (against the listener's
    /// client CA, and for the CA service its allow-list); `None` on plain HTTP.
    pub client_certificate: Option<[u8; 32]>,
}

/// How a listener speaks.
pub enum Transport {
    Plain,
    Tls(Arc<rustls::ServerConfig>),
}

/// Which cap a refused connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    PerSource,
    Total,
}

impl Cap {
    fn label(self) -> &'static str {
        match self {
            Cap::PerSource => "per_source",
            Cap::Total => "total",
        }
    }

    /// The whole HTTP answer: this is written on the socket, not through hyper.
    fn answer(self, retry_after: Duration) -> String {
        let (status, body) = match self {
            Cap::PerSource => (
                "429 Too Many Requests",
                "too many connections from this address\n",
            ),
            Cap::Total => ("503 Service Unavailable", "too many connections\n"),
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nRetry-After: {}\r\nConnection: close\r\n\r\n{body}",
            body.len(),
            retry_after.as_secs().max(1)
        )
    }
}

/// Refusals of one listener since start, by cause (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    pub per_source: u64,
    pub total: u64,
    /// Over a cap while the refusal budget was spent: closed without an answer.
    pub unanswered: u64,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_source: HashMap<IpAddr, usize>,
    refusing: usize,
    last_logged: Option<Instant>,
    unlogged: u64,
}

/// The open connections of one listener, by source.
#[derive(Debug)]
pub struct ConnectionTracker {
    name: &'static str,
    limits: Limits,
    max_refusals: usize,
    counts: Mutex<Counts>,
    refused_per_source: AtomicU64,
    refused_total: AtomicU64,
    unanswered: AtomicU64,
}

/// An admitted connection's place; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    tracker: Arc<ConnectionTracker>,
    source: IpAddr,
}

/// Leave to answer a refused connection; given back when dropped.
#[derive(Debug)]
pub struct RefusalPermit {
    tracker: Arc<ConnectionTracker>,
}

/// A connection over a cap, and the permit to answer it if the refusal budget allowed one.
#[derive(Debug)]
pub struct Refused {
    pub cap: Cap,
    pub permit: Option<RefusalPermit>,
}

impl ConnectionTracker {
    /// `name` names the listener in logs and metrics.
    pub fn new(name: &'static str, limits: Limits) -> Arc<Self> {
        Self::with_refusal_budget(name, limits, MAX_REFUSALS_IN_PROGRESS)
    }

    fn with_refusal_budget(name: &'static str, limits: Limits, max_refusals: usize) -> Arc<Self> {
        Arc::new(Self {
            name,
            limits,
            max_refusals,
            counts: Mutex::new(Counts::default()),
            refused_per_source: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // No code panics while holding the lock; were it poisoned anyway, the counts are
        // still whole numbers, and refusing every connection would be worse.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a connection from `source`, or says which cap it is over.
    pub fn admit(self: &Arc<Self>, source: IpAddr) -> Result<Slot, Refused> {
        // An IPv4 client of a dual-stack socket is the same source as over IPv4.
        let source = source.to_canonical();
        let mut counts = self.counts();
        let from_source = counts.per_source.get(&source).copied().unwrap_or(0);
        let cap = if from_source >= self.limits.max_connections_per_source {
            Cap::PerSource
        } else if counts.total >= self.limits.max_connections {
            Cap::Total
        } else {
            counts.total += 1;
            *counts.per_source.entry(source).or_insert(0) += 1;
            return Ok(Slot {
                tracker: Arc::clone(self),
                source,
            });
        };
        let permit = (counts.refusing < self.max_refusals).then(|| {
            counts.refusing += 1;
            RefusalPermit {
                tracker: Arc::clone(self),
            }
        });
        match (cap, &permit) {
            (_, None) => &self.unanswered,
            (Cap::PerSource, Some(_)) => &self.refused_per_source,
            (Cap::Total, Some(_)) => &self.refused_total,
        }
        .fetch_add(1, Ordering::Relaxed);
        counts.unlogged += 1;
        let now = Instant::now();
        let log_now = counts
            .last_logged
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_LOG_INTERVAL);
        let refused_since_last_line = if log_now {
            counts.last_logged = Some(now);
            Some(std::mem::take(&mut counts.unlogged))
        } else {
            None
        };
        drop(counts);
        let answered = permit.is_some();
        match refused_since_last_line {
            Some(refused) => tracing::info!(
                listener = self.name,
                %source,
                cap = cap.label(),
                answered,
                refused_since_last_line = refused,
                "connection over the cap refused"
            ),
            None => tracing::debug!(
                listener = self.name,
                %source,
                cap = cap.label(),
                answered,
                "connection over the cap refused"
            ),
        }
        Err(Refused { cap, permit })
    }

    /// Open connections from all sources.
    pub fn open_total(&self) -> usize {
        self.counts().total
    }

    /// Open connections: in total, and from `source`.
    #[cfg(test)]
    fn open(&self, source: IpAddr) -> (usize, usize) {
        let counts = self.counts();
        let from_source = counts
            .per_source
            .get(&source.to_canonical())
            .copied()
            .unwrap_or(0);
        (counts.total, from_source)
    }

    pub fn refusals(&self) -> Refusals {
        Refusals {
            per_source: self.refused_per_source.load(Ordering::Relaxed),
            total: self.refused_total.load(Ordering::Relaxed),
            unanswered: self.unanswered.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.tracker.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            // Sources that left are forgotten, so the map is as large as the open connections.
            if *n == 0 {
                counts.per_source.remove(&self.source);
            }
        }
    }
}

impl Drop for RefusalPermit {
    fn drop(&mut self) {
        let mut counts = self.tracker.counts();
        counts.refusing = counts.refusing.saturating_sub(1);
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in progress be
/// answered (idle connections close at once) for up to `SHUTDOWN_GRACE`.
pub async fn serve(
    listener: TcpListener,
    transport: Transport,
    app: Router,
    tracker: Arc<ConnectionTracker>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = match transport {
        Transport::Plain => None,
        Transport::Tls(config) => Some(TlsAcceptor::from(config)),
    };
    let what = tracker.name();
    // Every connection task holds a receiver: the sender sees them all gone when they end.
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, typically: give connections time to close.
                    tracing::warn!(listener = what, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        match tracker.admit(addr.ip()) {
            Ok(slot) => {
                tokio::spawn(connection(
                    tcp,
                    addr,
                    acceptor.clone(),
                    app.clone(),
                    slot,
                    stopping.clone(),
                ));
            }
            Err(Refused {
                cap,
                permit: Some(permit),
            }) => {
                tokio::spawn(refuse(tcp, acceptor.clone(), cap, tracker.limits(), permit));
            }
            Err(Refused { permit: None, .. }) => drop(tcp),
        }
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = what,
            "connections still open after the shutdown grace period: closing them"
        );
    }
}

async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    slot: Slot,
    mut stopping: watch::Receiver<bool>,
) {
    let what = slot.tracker.name();
    let limits = slot.tracker.limits();
    let Some(acceptor) = acceptor else {
        let peer = Peer {
            addr,
            client_certificate: None,
        };
        return http(tcp, peer, app, &slot, stopping).await;
    };
    let handshake = tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::info!(listener = what, peer = %addr, error = %e, "TLS handshake refused");
                return;
            }
            Err(_) => {
                tracing::info!(listener = what, peer = %addr, "TLS handshake timed out");
                return;
            }
        },
        () = stopped(&mut stopping) => return,
    };
    let peer = Peer {
        addr,
        client_certificate: stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| Sha256::digest(leaf.as_ref()).into()),
    };
    http(stream, peer, app, &slot, stopping).await;
}

/// HTTP/1.1 on an established connection, with `peer` (and axum's `ConnectInfo`) on every
/// request.
async fn http<S>(
    stream: S,
    peer: Peer,
    app: Router,
    slot: &Slot,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let what = slot.tracker.name();
    let addr = peer.addr;
    // Replies can learn that they were written out (see `written`).
    let after_write = crate::written::AfterWrite::default();
    let stream = crate::written::NotifyingStream::new(stream, after_write.clone());
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer.addr));
            request.extensions_mut().insert(peer.clone());
            request.extensions_mut().insert(after_write.clone());
            app.clone().oneshot(request)
        });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Also the idle wait between keep-alive requests: hyper starts it whenever it waits
        // for a request head.
        .header_read_timeout(slot.tracker.limits().header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = stopped(&mut stopping) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(listener = what, peer = %addr, error = %e, "connection ended with an error");
    }
}

/// Completes when the listener stops (or is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here: it must not live across an await.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Answers a connection over a cap and closes it, within the handshake timeout and
/// [`REFUSAL_WRITE_TIMEOUT`].
async fn refuse(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    cap: Cap,
    limits: Limits,
    permit: RefusalPermit,
) {
    // Within this, an idle connection of that source (or of anyone) has been closed.
    let answer = cap.answer(limits.header_read_timeout);
    match acceptor {
        None => answer_and_close(tcp, answer.as_bytes()).await,
        Some(acceptor) => {
            if let Ok(Ok(tls)) =
                tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp)).await
            {
                answer_and_close(tls, answer.as_bytes()).await;
            }
        }
    }
    drop(permit);
}

async fn answer_and_close<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: &[u8]) {
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        // Closing a socket with unread data resets the connection, and the reset can destroy
        // the answer before the client reads it: read what the client sends (its request)
        // until it hangs up, within the timeout and a few KiB.
        let mut sink = [0u8; 4096];
        let mut budget = 16 * sink.len();
        loop {
            let n = stream.read(&mut sink).await?;
            if n == 0 || n >= budget {
                return Ok::<(), std::io::Error>(());
            }
            budget -= n;
        }
    })
    .await;
}

/// Resolves on SIGINT or SIGTERM: when every listener of the process stops accepting.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    const LIMITS: Limits = Limits {
        max_connections: 3,
        max_connections_per_source: 2,
        header_read_timeout: Duration::from_secs(10),
        tls_handshake_timeout: Duration::from_secs(10),
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn refused(result: Result<Slot, Refused>) -> Refused {
        match result {
            Ok(_) => panic!("admitted over a cap"),
            Err(refused) => refused,
        }
    }

    #[test]
    fn connections_are_counted_per_source_and_in_total() {
        let tracker = ConnectionTracker::new("test", LIMITS);
        let (a, b, c) = (ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3"));
        let a1 = tracker.admit(a).unwrap();
        let _a2 = tracker.admit(a).unwrap();
        assert_eq!(tracker.open(a), (2, 2));
        assert_eq!(refused(tracker.admit(a)).cap, Cap::PerSource);
        let _b1 = tracker.admit(b).unwrap();
        assert_eq!(tracker.open(b), (3, 1));
        // Below its own cap, but the listener is full.
        assert_eq!(refused(tracker.admit(c)).cap, Cap::Total);
        // A source over its cap is told so even when the listener is full as well.
        assert_eq!(refused(tracker.admit(a)).cap, Cap::PerSource);
        assert_eq!(tracker.open(c), (3, 0));
        drop(a1);
        assert_eq!(tracker.open(a), (2, 1));
        let _c1 = tracker.admit(c).unwrap();
        assert_eq!(
            tracker.refusals(),
            Refusals {
                per_source: 2,
                total: 1,
                unanswered: 0
            }
        );
    }

    #[test]
    fn places_are_given_back_on_drop_and_sources_forgotten() {
        let tracker = ConnectionTracker::new("test", LIMITS);
        let slots: Vec<Slot> = ["192.0.2.1", "192.0.2.2", "2001:db8::1"]
            .into_iter()
            .map(|a| tracker.admit(ip(a)).unwrap())
            .collect();
        assert_eq!(tracker.open(ip("2001:db8::1")), (3, 1));
        drop(slots);
        assert_eq!(tracker.open(ip("192.0.2.1")), (0, 0));
        assert!(tracker.counts().per_source.is_empty());
        // Refused connections never held a place.
        let tracker = ConnectionTracker::new("test", LIMITS);
        let _held: Vec<Slot> = (0..2)
            .map(|_| tracker.admit(ip("192.0.2.1")).unwrap())
            .collect();
        for _ in 0..10 {
            drop(refused(tracker.admit(ip("192.0.2.1"))));
        }
        assert_eq!(tracker.open(ip("192.0.2.1")), (2, 2));
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_socket_is_the_same_source() {
        let tracker = ConnectionTracker::new("test", LIMITS);
        let _v4 = tracker.admit(ip("192.0.2.1")).unwrap();
        let _mapped = tracker.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(refused(tracker.admit(ip("192.0.2.1"))).cap, Cap::PerSource);
        assert_eq!(tracker.open(ip("::ffff:192.0.2.1")), (2, 2));
    }

    #[test]
    fn only_a_few_refusals_are_answered_at_once() {
        let tracker = ConnectionTracker::with_refusal_budget("test", LIMITS, 2);
        let a = ip("192.0.2.1");
        let _held: Vec<Slot> = (0..2).map(|_| tracker.admit(a).unwrap()).collect();
        let first = refused(tracker.admit(a));
        let second = refused(tracker.admit(a));
        assert!(first.permit.is_some() && second.permit.is_some());
        // The budget is spent: closed without an answer, counted as such.
        let third = refused(tracker.admit(a));
        assert_eq!(third.cap, Cap::PerSource);
        assert!(third.permit.is_none());
        assert_eq!(tracker.refusals().unanswered, 1);
        // An answered refusal gives its permit back.
        drop(first);
        assert!(refused(tracker.admit(a)).permit.is_some());
        assert_eq!(
            tracker.refusals(),
            Refusals {
                per_source: 3,
                total: 0,
                unanswered: 1
            }
        );
    }

    #[test]
    fn refusals_are_complete_http_answers_that_close_the_connection() {
        let answer = Cap::PerSource.answer(Duration::from_millis(1500));
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nRetry-After: 1\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert_eq!(body, "too many connections from this address\n");
        let answer = Cap::Total.answer(Duration::ZERO);
        assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(answer.contains("\r\nRetry-After: 1\r\n"));
    }

    /// The loop end to end on loopback: a refusal on the socket, a served request with the
    /// peer attached, an idle connection closed, and the graceful stop.
    #[tokio::test]
    async fn the_plain_loop_refuses_serves_times_out_and_stops() {
        use axum::routing::get;
        let limits = Limits {
            max_connections: 4,
            max_connections_per_source: 1,
            header_read_timeout: Duration::from_millis(500),
            tls_handshake_timeout: Duration::from_secs(1),
        };
        let tracker = ConnectionTracker::new("test", limits);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/",
            get(
                |ConnectInfo(from): ConnectInfo<SocketAddr>,
                 axum::Extension(peer): axum::Extension<Peer>| async move {
                    assert_eq!(from, peer.addr);
                    from.ip().to_string()
                },
            ),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            Transport::Plain,
            app,
            Arc::clone(&tracker),
            async {
                let _ = stopped.await;
            },
        ));
        let started = Instant::now();
        let mut idle = TcpStream::connect(addr).await.unwrap();
        // The one place of this source is taken: the next connection is refused.
        let mut over = TcpStream::connect(addr).await.unwrap();
        over.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        over.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
        assert!(answer.ends_with("\r\n\r\ntoo many connections from this address\n"));
        // The idle connection is closed by the header timeout, giving its place back.
        let mut rest = Vec::new();
        let _ = idle.read_to_end(&mut rest).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(400), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        // The client may see the close a moment before the task gives the place back.
        let loopback = ip("127.0.0.1");
        while tracker.open(loopback) != (0, 0) {
            assert!(started.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut served = TcpStream::connect(addr).await.unwrap();
        served
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        served.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.ends_with("127.0.0.1"), "{answer}");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
        assert_eq!(tracker.refusals().per_source, 1);
    }
}
