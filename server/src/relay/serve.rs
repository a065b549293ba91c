//! `fieldbook serve`: the HTTP side of the relay (axum + tokio).
//!
//! - `GET /sync?token=…` (or `Authorization: Bearer …`; browsers cannot set headers on a
//!   WebSocket, hence the query parameter): the token is checked **before** the upgrade; a
//!   missing, malformed, forged, expired or revoked token gets `401` with the reason in the
//!   body and a log line. Then a binary WebSocket speaking automerge-repo protocol "1", handed
//!   to the [engine](super::engine).
//! - `GET /healthz` (the process answers), `GET /readyz` (the engine is serving), `GET
//!   /metrics` (Prometheus text).
//! - Everything else: the web app's files from `--web` when that directory exists.
//!
//! Per connection, before a frame reaches the engine: frames over the size limit are answered
//! with an `error` message and closed with 1009; text frames with 1003; messages faster than
//! the rate limit with 1008 (a token bucket for what the device sends on its own; its answers
//! to frames the relay pushed to it are free: `Allowance`). Each is counted and logged. After
//! the relay closed a connection it reads and drops what the client still sends until the
//! client answers the close frame, briefly, so that the close reason is not lost to a reset.
//!
//! Connections reach this module through [`super::listen`] (timeouts and a cap until the
//! upgrade, TLS).

use super::backup::DirLock;
use super::engine::{self, ConnHandle, EngineConfig, EngineHandle, Inbound, close_code};
use super::listen::{self, HttpLimits, Listen};
use super::metrics::{Denial, Metrics};
use super::store::{Durability, RelayStore, SqliteStore};
use super::tls::{self, Tls, TlsFiles};
use super::token::{self, Claims, TokenError};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldbook_core::sync::hub::ConnId;
use fieldbook_core::sync::wire::{self, Message, PeerId};
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// Limits on what one connection may do.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// The largest binary frame accepted.
    pub max_frame_bytes: usize,
    /// Sustained messages per second per connection.
    pub messages_per_second: u32,
    /// Messages a connection may send in a burst above the rate.
    pub message_burst: u32,
    /// Frames queued for a connection before it counts as not reading.
    pub send_queue: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024 * 1024,
            messages_per_second: 500,
            message_burst: 5_000,
            send_queue: 8_192,
        }
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The data directory.
    pub data: PathBuf,
    /// The web app's built files (served when the directory exists).
    pub web: Option<PathBuf>,
    /// SQLite durability.
    pub durability: Durability,
    /// Per-connection limits.
    pub conn: ConnLimits,
    /// Bounds on connections until they become a sync WebSocket.
    pub http: HttpLimits,
    /// Serve HTTPS/WSS with this certificate (reloaded on SIGHUP).
    pub tls: Option<TlsFiles>,
    /// The engine's tunables (documents and connections per member, debounce…).
    pub engine: EngineConfig,
}

#[derive(Debug)]
struct App {
    engine: Mutex<std::sync::mpsc::Sender<Inbound>>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    auth: Mutex<SqliteStore>,
    secret: [u8; 32],
    metrics: Arc<Metrics>,
    limits: ConnLimits,
    next_conn: AtomicU64,
    shutdown: watch::Receiver<bool>,
    peer: PeerId,
}

impl App {
    fn send(&self, event: Inbound) {
        let sender = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        // The engine has stopped when this fails; the connection then closes by itself.
        let _ = sender.send(event);
    }

    fn error_frame(&self, message: &str) -> Vec<u8> {
        wire::encode(&Message::Error {
            sender_id: Some(self.peer.clone()),
            target_id: None,
            message: message.to_owned(),
            document_id: None,
            refusal: None,
        })
    }
}

/// Serves until `shutdown` resolves, then closes every connection (1001), writes the pending
/// index documents and returns. Logs `listening on …` when bound.
pub async fn serve<F>(listener: TcpListener, config: ServeConfig, shutdown: F) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let tls = config.tls.clone().map(Tls::open).transpose()?.map(Arc::new);
    let metrics = Arc::new(Metrics::default());
    // Held while serving: `fieldbook restore` refuses to replace the database under it.
    let _serving = DirLock::shared(&config.data)?;
    let mut store = SqliteStore::open_dir(&config.data, config.durability)?;
    let secret = store.secret()?;
    let engine_store: Box<dyn RelayStore> =
        Box::new(SqliteStore::open_dir(&config.data, config.durability)?);
    let mut engine_config = config.engine.clone();
    engine_config.hub.limits.max_frame_bytes = config.conn.max_frame_bytes;
    let engine = {
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || engine::start(engine_store, engine_config, metrics))
            .await??
    };
    let mut engine = engine;
    let engine_stopped = engine.stopped.take();
    let EngineHandle {
        ref tx, ref ready, ..
    } = engine;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let app = Arc::new(App {
        engine: Mutex::new(tx.clone()),
        ready: ready.clone(),
        auth: Mutex::new(store),
        secret,
        metrics: metrics.clone(),
        limits: config.conn,
        next_conn: AtomicU64::new(1),
        shutdown: shutdown_rx.clone(),
        peer: PeerId::new(engine::RELAY_PEER),
    });
    let mut router = Router::new()
        .route("/sync", get(sync))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text));
    if let Some(web) = config.web.as_ref().filter(|dir| dir.is_dir()) {
        info!(dir = %web.display(), "serving the web app");
        router = router.fallback_service(tower_http::services::ServeDir::new(web));
    }
    let router = router.with_state(app.clone());
    let addr = listener.local_addr()?;
    info!(%addr, data = %config.data.display(), tls = tls.is_some(), "listening");
    // A signal, or the engine stopping by itself (a storage failure): then the process ends
    // with the engine's error and a supervisor restarts it.
    let ready_flag = ready.clone();
    tokio::spawn(async move {
        let engine_stopped = async {
            match engine_stopped {
                Some(stopped) => {
                    let _ = stopped.await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown => {}
            _ = engine_stopped => {}
        }
        info!("shutting down: closing connections");
        ready_flag.store(false, Relaxed);
        shutdown_tx.send_replace(true);
    });
    if let Some(tls) = &tls {
        tokio::spawn(tls::reload_on_hangup(tls.clone(), shutdown_rx.clone()));
    }
    let listen = Arc::new(Listen {
        router,
        limits: config.http,
        tls,
        metrics: metrics.clone(),
        shutdown: shutdown_rx,
    });
    listen::accept_loop(listener, listen).await;
    // Sync connections received 1001 and end, requests in progress finish: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while (metrics.connections.load(Relaxed) > 0 || metrics.http_connections.load(Relaxed) > 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.send(Inbound::Shutdown);
    tokio::task::spawn_blocking(move || engine.join()).await??;
    info!("stopped");
    Ok(())
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.ready.load(Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
struct SyncQuery {
    token: Option<String>,
}

fn denial_of(error: &TokenError) -> Denial {
    match error {
        TokenError::Missing => Denial::TokenMissing,
        TokenError::Malformed(_) => Denial::TokenMalformed,
        TokenError::Forged => Denial::TokenForged,
        TokenError::Expired { .. } => Denial::TokenExpired,
        TokenError::Revoked(_) => Denial::TokenRevoked,
    }
}

async fn authenticate(app: &Arc<App>, token: Option<String>) -> Result<Claims, TokenError> {
    let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
    let claims = token::verify(&token, &app.secret, chrono::Utc::now().timestamp())?;
    let app = app.clone();
    let id = claims.id.clone();
    let record = tokio::task::spawn_blocking(move || {
        let mut store = app.auth.lock().unwrap_or_else(|e| e.into_inner());
        store.token(&id)
    })
    .await;
    match record {
        Ok(Ok(Some(record))) if record.revoked_at.is_none() => Ok(claims),
        Ok(Err(e)) => {
            warn!(error = %e, "token lookup failed");
            Err(TokenError::Revoked(claims.id))
        }
        _ => Err(TokenError::Revoked(claims.id)),
    }
}

async fn sync(
    State(app): State<Arc<App>>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let claims = match authenticate(&app, query.token.or(bearer)).await {
        Ok(claims) => claims,
        Err(error) => {
            warn!(reason = %error, "sync refused at the upgrade");
            app.metrics.deny(denial_of(&error));
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                format!("{error}\n"),
            )
                .into_response();
        }
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Frames a little over the limit are read so that the client gets a reason; far larger
    // ones are cut by the WebSocket layer.
    let max = app.limits.max_frame_bytes;
    let hard = max.saturating_mul(2).max(max + 1024 * 1024);
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |socket| connection(app, socket, claims))
}

/// A token bucket: `rate` per second, at most `burst` saved up.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The message rate limit of one connection. Each frame the relay **pushed** to it (a change
/// forwarded from another device, an index update, an admin's change) lets it send one frame
/// outside the bucket, its answer; unused credits are kept up to the burst. Every other frame
/// comes out of a token bucket (`rate` per second, `burst` saved up). Frames the relay sent in
/// answer to the connection's own frames earn nothing, so a client cannot feed its allowance
/// by asking. A manager whose device answers every change of a busy team is never limited;
/// what a device sends on its own is.
#[derive(Debug)]
struct Allowance {
    bucket: Bucket,
    credits: u64,
    max_credits: u64,
    /// Pushed frames already credited.
    pushed: u64,
}

impl Allowance {
    fn new(limits: &ConnLimits, now: Instant) -> Self {
        Self {
            bucket: Bucket::new(limits.messages_per_second, limits.message_burst, now),
            credits: 0,
            max_credits: u64::from(limits.message_burst),
            pushed: 0,
        }
    }

    /// Whether one more frame may pass, given the frames `sent` to the connection so far and
    /// how many of them the engine queued as `answers` to its own frames (counted before they
    /// are sent, so `sent - answers` never exceeds what was really pushed).
    fn take(&mut self, now: Instant, sent: u64, answers: u64) -> bool {
        let pushed = sent.saturating_sub(answers);
        if pushed > self.pushed {
            self.credits = (self.credits + (pushed - self.pushed)).min(self.max_credits);
            self.pushed = pushed;
        }
        if self.credits > 0 {
            self.credits -= 1;
            true
        } else {
            self.bucket.take(now)
        }
    }
}

async fn connection(app: Arc<App>, socket: WebSocket, claims: Claims) {
    let conn = ConnId(app.next_conn.fetch_add(1, Relaxed));
    app.metrics.connections.fetch_add(1, Relaxed);
    app.metrics.connections_total.fetch_add(1, Relaxed);
    info!(conn = conn.0, team = %claims.team, member = %claims.member, "connected");
    let member = claims.member.clone();
    let (frames_tx, mut frames_rx) = mpsc::channel::<Vec<u8>>(app.limits.send_queue);
    let (close_tx, mut close_rx) = watch::channel(None);
    let handle = ConnHandle {
        frames: frames_tx,
        close: Arc::new(close_tx),
        answers: Arc::new(AtomicU64::new(0)),
    };
    // Frames written to the socket, for the rate limit's credits.
    let sent = Arc::new(AtomicU64::new(0));
    app.send(Inbound::Open {
        conn,
        claims,
        handle: handle.clone(),
    });
    let (mut sink, mut stream) = socket.split();
    let metrics = app.metrics.clone();
    let written = sent.clone();
    let mut writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = close_rx.changed() => {
                    // Frames queued before the close (an `error` message) go first.
                    while let Ok(frame) = frames_rx.try_recv() {
                        let n = frame.len() as u64;
                        if sink.send(WsMessage::Binary(frame.into())).await.is_err() {
                            return;
                        }
                        written.fetch_add(1, Relaxed);
                        metrics.frames_sent.fetch_add(1, Relaxed);
                        metrics.bytes_sent.fetch_add(n, Relaxed);
                    }
                    let reason = close_rx.borrow().clone();
                    if let Some((code, reason)) = reason {
                        let frame = CloseFrame { code, reason: reason.into() };
                        let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    }
                    return;
                }
                frame = frames_rx.recv() => {
                    let Some(frame) = frame else { return };
                    let n = frame.len() as u64;
                    if sink.send(WsMessage::Binary(frame.into())).await.is_err() {
                        return;
                    }
                    written.fetch_add(1, Relaxed);
                    metrics.frames_sent.fetch_add(1, Relaxed);
                    metrics.bytes_sent.fetch_add(n, Relaxed);
                }
            }
        }
    });
    let mut allowance = Allowance::new(&app.limits, Instant::now());
    let mut shutdown = app.shutdown.clone();
    let mut writer_done = false;
    let refuse = |denial: Denial, code: u16, reason: String| {
        warn!(conn = conn.0, %member, %reason, "closing");
        app.metrics.deny(denial);
        let _ = handle.frames.try_send(app.error_frame(&reason));
        handle.close(code, &reason);
    };
    // Whether the relay closes (rather than the client): then the client may still be sending.
    let relay_closes = loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if bytes.len() > app.limits.max_frame_bytes {
                        let reason = format!(
                            "frame of {} bytes exceeds the limit of {} bytes",
                            bytes.len(),
                            app.limits.max_frame_bytes
                        );
                        refuse(Denial::FrameTooLarge, close_code::MESSAGE_TOO_BIG, reason);
                        break true;
                    }
                    let (sent, answers) = (sent.load(Relaxed), handle.answers.load(Relaxed));
                    if !allowance.take(Instant::now(), sent, answers) {
                        let reason = format!(
                            "more than {} messages per second",
                            app.limits.messages_per_second
                        );
                        refuse(Denial::MessageRate, close_code::POLICY_VIOLATION, reason);
                        break true;
                    }
                    app.metrics.frames_received.fetch_add(1, Relaxed);
                    app.metrics.bytes_received.fetch_add(bytes.len() as u64, Relaxed);
                    app.send(Inbound::Frame { conn, bytes: bytes.to_vec() });
                }
                Some(Ok(WsMessage::Text(_))) => {
                    let reason = "text frames are not part of the protocol: send binary CBOR".into();
                    refuse(Denial::MalformedFrame, close_code::UNSUPPORTED_DATA, reason);
                    break true;
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break false,
            },
            _ = shutdown.changed() => {
                handle.close(close_code::GOING_AWAY, "relay shutting down");
                break true;
            }
            _ = &mut writer => {
                // The writer sent the close frame the engine asked for, or the socket failed.
                writer_done = true;
                break true;
            }
        }
    };
    app.send(Inbound::Closed { conn });
    if !writer_done && !handle.close.borrow().is_some() {
        handle.close(close_code::GOING_AWAY, "connection closed");
    }
    if relay_closes {
        linger(&mut stream).await;
    }
    if !writer_done {
        // The close frame (if any) goes out; a client that does not read is dropped.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
        writer.abort();
    }
    app.metrics.connections.fetch_sub(1, Relaxed);
    info!(conn = conn.0, "disconnected");
}

/// How long a connection the relay closes is read after its close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// After the relay decided to close: reads and drops what the client still sends until its
/// close frame (it has then read the relay's) or [`CLOSE_LINGER`]. Closing a socket with unread
/// data makes the kernel send a reset, which a client busy sending gets before it reads the
/// `error` message and the close frame, and which can discard them on their way.
async fn linger(stream: &mut futures_util::stream::SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, WsMessage::Close(_)) {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32) -> ConnLimits {
        ConnLimits {
            messages_per_second: rate,
            message_burst: burst,
            ..ConnLimits::default()
        }
    }

    #[test]
    fn frames_of_its_own_come_out_of_the_bucket() {
        let t0 = Instant::now();
        let mut a = Allowance::new(&limits(10, 5), t0);
        assert!((0..5).all(|_| a.take(t0, 0, 0)));
        assert!(!a.take(t0, 0, 0));
        // A tenth of a second later: one more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(a.take(t1, 0, 0));
        assert!(!a.take(t1, 0, 0));
    }

    #[test]
    fn each_pushed_frame_lets_one_answer_through() {
        let t0 = Instant::now();
        let mut a = Allowance::new(&limits(10, 5), t0);
        assert!((0..5).all(|_| a.take(t0, 0, 0)));
        // 3 frames pushed: 3 answers, then the empty bucket again.
        assert!((0..3).all(|_| a.take(t0, 3, 0)));
        assert!(!a.take(t0, 3, 0));
        // Credits saved up stop at the burst.
        assert!((0..5).all(|_| a.take(t0, 1_003, 0)));
        assert!(!a.take(t0, 1_003, 0));
    }

    #[test]
    fn answers_to_its_own_frames_earn_nothing() {
        let t0 = Instant::now();
        let mut a = Allowance::new(&limits(10, 5), t0);
        // Every frame sent was an answer (counted before it was sent, even).
        assert!((0..5).all(|i| a.take(t0, i, i + 1)));
        assert!(!a.take(t0, 5, 6));
        // Of 10 sent, 6 answers: 4 pushed.
        assert!((0..4).all(|_| a.take(t0, 10, 6)));
        assert!(!a.take(t0, 10, 6));
    }
}
