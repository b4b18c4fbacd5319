//! Knowing that a reply was written out: RFC 8894 §8.4 counts a certificate as delivered only
//! once its CertRep reached the client, and a server can know no more than that the reply
//! was written in full to the connection. The listener wraps every connection's stream so
//! that a flush that succeeds runs what was waiting for it ([`AfterWrite`]); a reply body
//! made with [`body_then`] waits for the first flush after hyper took its bytes. A client
//! that hangs up before the reply makes the write fail: nothing runs.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type Waiting = Box<dyn FnOnce() + Send>;

/// What waits for one connection's next successful flush. Each request of the connection
/// carries a clone (an axum `Extension`).
#[derive(Clone, Default)]
pub struct AfterWrite {
    waiting: Arc<Mutex<Vec<Waiting>>>,
}

impl std::fmt::Debug for AfterWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfterWrite").finish_non_exhaustive()
    }
}

impl AfterWrite {
    /// Runs `then` after the next flush of the connection that succeeds; never if the
    /// connection fails first.
    pub fn once_written(&self, then: impl FnOnce() + Send + 'static) {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(then));
    }

    fn written(&self) {
        let waiting =
            std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner));
        for then in waiting {
            then();
        }
    }
}

/// A connection's stream whose successful flushes run what waits in its [`AfterWrite`].
/// hyper writes out everything it buffered before it flushes the stream, so a flush that
/// succeeds covers every byte hyper was handed before it.
pub(crate) struct NotifyingStream<S> {
    inner: S,
    after_write: AfterWrite,
}

impl<S> NotifyingStream<S> {
    pub(crate) fn new(inner: S, after_write: AfterWrite) -> Self {
        Self { inner, after_write }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for NotifyingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NotifyingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.after_write.written();
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A reply body of `bytes` that, once hyper has taken them, runs `then` after the
/// connection's next successful flush (see [`AfterWrite`]).
pub fn body_then(
    bytes: Vec<u8>,
    after_write: AfterWrite,
    then: impl FnOnce() + Send + 'static,
) -> axum::body::Body {
    axum::body::Body::new(ThenBody {
        bytes: Some(Bytes::from(bytes)),
        pending: Some((after_write, Box::new(then))),
    })
}

struct ThenBody {
    bytes: Option<Bytes>,
    pending: Option<(AfterWrite, Waiting)>,
}

impl Body for ThenBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(bytes) = self.bytes.take() else {
            return Poll::Ready(None);
        };
        if let Some((after_write, then)) = self.pending.take() {
            after_write.once_written(then);
        }
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let length = self.bytes.as_ref().map_or(0, Bytes::len);
        SizeHint::with_exact(u64::try_from(length).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::io::AsyncWriteExt as _;

    use super::*;

    #[tokio::test]
    async fn what_waits_runs_after_a_flush_that_succeeds_and_never_after_a_failure() {
        let ran = Arc::new(AtomicBool::new(false));
        let after_write = AfterWrite::default();
        let seen = Arc::clone(&ran);
        after_write.once_written(move || seen.store(true, Ordering::SeqCst));

        // A peer that is gone: the write fails, nothing runs.
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        let mut stream = NotifyingStream::new(server, after_write.clone());
        assert!(stream.write_all(b"reply").await.is_err());
        assert!(!ran.load(Ordering::SeqCst));

        // A peer that is there: written and flushed, it runs once.
        let (_client, server) = tokio::io::duplex(64);
        let mut stream = NotifyingStream::new(server, after_write);
        stream.write_all(b"reply").await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "not before the flush");
        stream.flush().await.unwrap();
        assert!(ran.load(Ordering::SeqCst));
    }
}
