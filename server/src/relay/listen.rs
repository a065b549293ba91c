//! The relay's accept loop: hyper's HTTP/1 server on each accepted connection, with the
//! bounds a connection has until it becomes a sync WebSocket (until then it has not
//! authenticated):
//!
//! - **header timeout**: the request head must arrive within [`HttpLimits::header_timeout`]
//!   of hyper starting to wait for it (at the connection's start, and after each response on a
//!   kept-alive connection): hyper's `header_read_timeout`. With TLS, the handshake has the same
//!   bound.
//! - **idle timeout**: a connection that moves no byte either way for
//!   [`HttpLimits::idle_timeout`] is closed (a client that stops reading a response, or
//!   dribbles a request body).
//! - **cap**: at most [`HttpLimits::max_unauthenticated`] such connections at once; beyond, a
//!   new connection is answered `503` and closed (with TLS it is closed without an answer: no
//!   HTTP before a handshake), counted as the `unauthenticated_connections` denial and logged
//!   (at most once a second, with the count).
//!
//! Once hyper hands the socket to the WebSocket upgrade, the connection leaves these bounds:
//! the sync connection's own limits apply ([`super::serve`]).

use super::metrics::{Denial, Metrics};
use super::tls::Tls;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};

/// Bounds on connections that have not become a sync WebSocket.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// How long a request head (and a TLS handshake) may take to arrive.
    pub header_timeout: Duration,
    /// How long such a connection may move no byte.
    pub idle_timeout: Duration,
    /// How many such connections may be open at once.
    pub max_unauthenticated: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_unauthenticated: 1024,
        }
    }
}

/// Refusals answered at once beyond which further ones are dropped without an answer.
const MAX_REFUSING: u64 = 256;
/// How long a refusal waits for the client to read its `503` and close.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: text/plain; charset=utf-8\r\n\
    retry-after: 1\r\n\
    connection: close\r\n\
    content-length: 52\r\n\r\n\
    too many connections waiting to authenticate: retry\n";

/// What every connection task shares.
#[derive(Debug)]
pub struct Listen {
    /// The routes.
    pub router: Router,
    /// The bounds.
    pub limits: HttpLimits,
    /// TLS, when configured.
    pub tls: Option<Arc<Tls>>,
    /// Where the counts go.
    pub metrics: Arc<Metrics>,
    /// Becomes `true` at shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// Accepts until shutdown; each connection is served on its own task. Returns without
/// waiting for the connections (they finish their requests and close by themselves).
pub async fn accept_loop(listener: TcpListener, listen: Arc<Listen>) {
    let mut shutdown = listen.shutdown.clone();
    let refusing = Arc::new(AtomicU64::new(0));
    let mut refused_since_log = 0u64;
    let mut last_log: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = &listen.metrics;
        if metrics.http_connections.load(Relaxed) >= listen.limits.max_unauthenticated {
            metrics.deny(Denial::UnauthenticatedConnections);
            refused_since_log += 1;
            if last_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                warn!(
                    refused = refused_since_log,
                    limit = listen.limits.max_unauthenticated,
                    "refusing connections: too many waiting to authenticate"
                );
                refused_since_log = 0;
                last_log = Some(Instant::now());
            }
            if listen.tls.is_none() && refusing.load(Relaxed) < MAX_REFUSING {
                refusing.fetch_add(1, Relaxed);
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    refuse(stream).await;
                    refusing.fetch_sub(1, Relaxed);
                });
            }
            continue;
        }
        metrics.http_connections.fetch_add(1, Relaxed);
        tokio::spawn(connection(stream, listen.clone()));
    }
}

/// Answers `503` and closes without resetting the answer away: the request the client may
/// already have sent is read and dropped until it closes (bounded in time).
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        let mut buf = [0u8; 1024];
        while stream.read(&mut buf).await? > 0 {}
        io::Result::Ok(())
    })
    .await;
}

/// One connection until it is closed or becomes a WebSocket.
async fn connection(stream: TcpStream, listen: Arc<Listen>) {
    let activity = Arc::new(Activity::new());
    let io = Tracked {
        inner: stream,
        activity: activity.clone(),
    };
    let metrics = &listen.metrics;
    let served = async {
        match &listen.tls {
            None => http(io, &listen).await,
            Some(tls) => {
                let handshake = tls.acceptor().accept(io);
                match tokio::time::timeout(listen.limits.header_timeout, handshake).await {
                    Ok(Ok(tls_stream)) => http(tls_stream, &listen).await,
                    Ok(Err(e)) => {
                        metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                        debug!(error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        metrics.http_header_timeouts.fetch_add(1, Relaxed);
                        debug!("TLS handshake timed out");
                    }
                }
            }
        }
    };
    tokio::select! {
        () = served => {}
        () = activity.idle(listen.limits.idle_timeout) => {
            metrics.http_idle_timeouts.fetch_add(1, Relaxed);
            debug!("closing an idle connection");
        }
    }
    metrics.http_connections.fetch_sub(1, Relaxed);
}

/// hyper's HTTP/1 on one connection, upgrades allowed; at shutdown, the request in progress
/// finishes and the connection closes.
async fn http<I>(io: I, listen: &Listen)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(listen.limits.header_timeout);
    let service = TowerToHyperService::new(listen.router.clone());
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut shutdown = listen.shutdown.clone();
    let stopping = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    match result {
        Err(e) if e.is_timeout() => {
            listen.metrics.http_header_timeouts.fetch_add(1, Relaxed);
            debug!("closing a connection: no request head in time");
        }
        Err(e) => debug!(error = %e, "connection error"),
        Ok(()) => {}
    }
}

/// When a connection last moved a byte.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        self.last
            .store(self.start.elapsed().as_millis() as u64, Relaxed);
    }

    /// Resolves once no byte has moved for `timeout`.
    async fn idle(&self, timeout: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last.load(Relaxed));
            if last + timeout <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(last + timeout).await;
        }
    }
}

/// A socket that records its activity.
#[derive(Debug)]
struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
