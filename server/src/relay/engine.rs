//! The engine: the host of the core's sans-IO relay ([`RelayCore`]). One thread owns it and the
//! store's write connection; WebSocket tasks send it [`Inbound`] events over a channel; it
//! answers through each connection's [`ConnHandle`].
//!
//! Each turn takes every event waiting (up to [`MAX_BATCH`]), feeds them to the relay core with
//! the clock's `now`, gathers the outputs, commits their writes **in one transaction**, and only
//! then sends their frames and closes (the relay core's contract: nothing is acknowledged or
//! forwarded before it is durable; a batch is a group commit). A storage failure stops the
//! engine (and the relay): nothing of that batch was sent, so nothing acknowledged is lost, and
//! a restart reloads from storage. Between events it ticks the core at its deadlines and polls
//! the notices admin commands leave in storage.

use super::metrics::{Denial, Metrics};
use super::store::{Notice, RelayStore, StoreError, StoreWrite};
use super::token::Claims;
use chrono::Utc;
use fieldbook_core::doc::DocumentId;
use fieldbook_core::relay::{self, DocLoader, Input, Output, RelayConfig, RelayCore, RelayEvent};
use fieldbook_core::sync::hub::{ConnId, HubConfig, HubError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc as tokio_mpsc, watch};
use tracing::{debug, error, info, warn};

pub use fieldbook_core::relay::{RELAY_PEER, close_code};

/// Events handled in one turn at most (one commit).
pub const MAX_BATCH: usize = 512;

/// A close frame to send: code and reason.
pub type CloseReason = Option<(u16, String)>;

/// How the engine reaches one connection's writer task.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    /// Frames to send (bounded: a client that does not read is closed).
    pub frames: tokio_mpsc::Sender<Vec<u8>>,
    /// Set to close the connection after the frames already queued.
    pub close: Arc<watch::Sender<CloseReason>>,
    /// Frames queued in answer to the connection's own frames (the others were pushed to
    /// it); the socket task's rate limit credits only pushed frames.
    pub answers: Arc<AtomicU64>,
}

impl ConnHandle {
    /// Closes the connection with a code and a reason. The first reason stands: a later one
    /// (e.g. the shutdown's 1001 after a storage failure's 1011) does not replace it.
    pub fn close(&self, code: u16, reason: &str) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some((code, reason.to_owned()));
            true
        });
    }
}

/// What the WebSocket tasks tell the engine.
#[derive(Debug)]
pub enum Inbound {
    /// A connection authenticated and upgraded.
    Open {
        /// Its id.
        conn: ConnId,
        /// Its token's claims.
        claims: Claims,
        /// How to answer it.
        handle: ConnHandle,
    },
    /// A binary frame.
    Frame {
        /// From.
        conn: ConnId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The socket closed.
    Closed {
        /// Which.
        conn: ConnId,
    },
    /// Write the pending indexes, close every connection and stop.
    Shutdown,
}

/// Tunables of the engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Leads one member may own; a new lead or reassignment beyond is refused.
    pub max_docs_per_member: usize,
    /// Connections one member may hold at once.
    pub max_conns_per_member: usize,
    /// Lead documents kept in memory; the least recently used beyond are dropped (they stay in
    /// storage and load again when needed).
    pub max_loaded_docs: usize,
    /// How long changes settle before index documents are rewritten.
    pub index_debounce: Duration,
    /// How often admin notices (team edits, revocations) are read from storage.
    pub notice_poll: Duration,
    /// The protocol's tunables (join timeout, frame limits).
    pub hub: HubConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let core = RelayConfig::default();
        Self {
            max_docs_per_member: core.max_docs_per_member,
            max_conns_per_member: core.max_conns_per_member,
            max_loaded_docs: core.max_loaded_docs,
            index_debounce: core.index_debounce.to_std().expect("a positive debounce"),
            notice_poll: Duration::from_millis(500),
            hub: core.hub,
        }
    }
}

impl EngineConfig {
    fn core(&self) -> RelayConfig {
        RelayConfig {
            max_docs_per_member: self.max_docs_per_member,
            max_conns_per_member: self.max_conns_per_member,
            max_loaded_docs: self.max_loaded_docs,
            index_debounce: chrono::TimeDelta::from_std(self.index_debounce)
                .unwrap_or(chrono::TimeDelta::MAX),
            hub: self.hub,
            seal_key: RelayConfig::default().seal_key,
        }
    }
}

/// Why the engine could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The running engine.
#[derive(Debug)]
pub struct EngineHandle {
    /// Where to send events.
    pub tx: Sender<Inbound>,
    /// Whether it is serving (false before start and after shutdown or failure).
    pub ready: Arc<AtomicBool>,
    /// Resolves when the engine thread ends (shutdown or failure).
    pub stopped: Option<tokio::sync::oneshot::Receiver<()>>,
    thread: std::thread::JoinHandle<Result<(), EngineError>>,
}

impl EngineHandle {
    /// Waits for the engine thread to end (after [`Inbound::Shutdown`]).
    pub fn join(self) -> Result<(), EngineError> {
        self.thread.join().unwrap_or_else(|_| {
            error!("the engine thread panicked");
            Ok(())
        })
    }
}

/// The store as the relay core's [`DocLoader`].
struct Loader<'a>(&'a mut dyn RelayStore);

impl DocLoader for Loader<'_> {
    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, String> {
        self.0.load(doc).map_err(|e| e.to_string())
    }
}

#[derive(Debug)]
struct Conn {
    handle: ConnHandle,
    who: String,
    /// A close was asked for (the writer task closes after its queued frames).
    closing: bool,
}

/// The engine's state (see the module documentation).
#[derive(Debug)]
pub struct Engine {
    core: RelayCore,
    store: Box<dyn RelayStore>,
    conns: HashMap<ConnId, Conn>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    last_notice: i64,
    next_notice_poll: Instant,
    /// The outputs of this turn, committed together.
    batch: Output,
    started: Option<Instant>,
}

/// Starts the engine on its own thread: loads every record and team, creates missing index
/// documents, and schedules a full index refresh.
pub fn start(
    store: Box<dyn RelayStore>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
) -> Result<EngineHandle, EngineError> {
    let (tx, rx) = mpsc::channel();
    let mut engine = Engine::open(store, config, metrics)?;
    let ready = Arc::new(AtomicBool::new(true));
    let flag = ready.clone();
    let (stopped_tx, stopped) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("fieldbook-engine".into())
        .spawn(move || {
            let result = engine.run(rx);
            flag.store(false, Relaxed);
            if let Err(e) = &result {
                error!(error = %e, "the relay engine stopped");
            }
            let _ = stopped_tx.send(());
            result
        })
        .expect("the OS starts a thread");
    Ok(EngineHandle {
        tx,
        ready,
        stopped: Some(stopped),
        thread,
    })
}

impl Engine {
    fn open(
        mut store: Box<dyn RelayStore>,
        config: EngineConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, EngineError> {
        let records = store.records()?;
        let last_notice = store.last_notice()?;
        let core_config = RelayConfig {
            // The stored secret survives a backup and restore, so seals made before still verify.
            seal_key: relay::SealKey::from_secret(&store.secret()?),
            ..config.core()
        };
        let (core, out) = RelayCore::open(
            records,
            core_config,
            super::admin::random_actor(),
            Utc::now(),
            &mut Loader(store.as_mut()),
        );
        let mut engine = Self {
            core,
            store,
            conns: HashMap::new(),
            config,
            metrics,
            last_notice,
            next_notice_poll: Instant::now(),
            batch: out,
            started: None,
        };
        engine.flush()?;
        let stats = engine.core.stats();
        info!(
            documents = stats.stored,
            teams = engine.core.acl().team_ids().len(),
            "relay storage loaded"
        );
        engine.update_gauges();
        Ok(engine)
    }

    fn run(&mut self, rx: Receiver<Inbound>) -> Result<(), EngineError> {
        loop {
            let first = match rx.recv_timeout(self.next_timeout()) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Inbound::Shutdown),
            };
            let mut stop = false;
            if let Some(event) = first {
                self.started = Some(Instant::now());
                let mut events = vec![event];
                while events.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(event) => events.push(event),
                        Err(_) => break,
                    }
                }
                for event in events {
                    stop |= self.handle(event);
                }
            }
            if self.core.next_deadline().is_some_and(|d| d <= Utc::now()) {
                self.input(Input::Tick);
            }
            if Instant::now() >= self.next_notice_poll {
                self.next_notice_poll = Instant::now() + self.config.notice_poll;
                self.poll_notices()?;
            }
            if stop {
                self.input(Input::Shutdown);
            }
            self.flush()?;
            self.core.evict();
            self.update_gauges();
            if stop {
                info!("relay engine stopped");
                return Ok(());
            }
        }
    }

    fn next_timeout(&self) -> Duration {
        let now = Instant::now();
        let mut timeout = self.next_notice_poll.saturating_duration_since(now);
        if let Some(deadline) = self.core.next_deadline() {
            let left = (deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            timeout = timeout.min(left);
        }
        timeout.max(Duration::from_millis(1))
    }

    /// Feeds one input to the relay core; its output joins the turn's batch.
    fn input(&mut self, input: Input<'_>) {
        let out = self
            .core
            .handle(Utc::now(), input, &mut Loader(self.store.as_mut()));
        self.batch.append(out);
    }

    /// Handles one event; returns whether the engine must stop.
    fn handle(&mut self, event: Inbound) -> bool {
        match event {
            Inbound::Open {
                conn,
                claims,
                handle,
            } => {
                let who = format!("{}/{}", claims.team, claims.member);
                debug!(conn = conn.0, member = %who, "connection open");
                self.conns.insert(
                    conn,
                    Conn {
                        handle,
                        who,
                        closing: false,
                    },
                );
                self.input(Input::Open {
                    conn,
                    team: claims.team,
                    member: claims.member,
                    token: claims.id,
                });
            }
            Inbound::Frame { conn, bytes } => {
                if self.conns.get(&conn).is_some_and(|c| !c.closing) {
                    let queued = self.batch.frames.len();
                    self.input(Input::Frame {
                        conn,
                        bytes: &bytes,
                    });
                    // What the core sent this connection while handling its own frame answers
                    // it; everything else it gets was pushed (the rate limit's credits).
                    let answers = self.batch.frames[queued..]
                        .iter()
                        .filter(|(to, _)| *to == conn)
                        .count();
                    if let Some(c) = self.conns.get(&conn) {
                        c.handle.answers.fetch_add(answers as u64, Relaxed);
                    }
                }
            }
            Inbound::Closed { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    debug!(conn = conn.0, member = %c.who, "connection closed");
                }
                self.input(Input::Closed { conn });
            }
            Inbound::Shutdown => return true,
        }
        false
    }

    /// Picks up what admin commands changed in storage while serving.
    fn poll_notices(&mut self) -> Result<(), EngineError> {
        let notices = self.store.notices(self.last_notice)?;
        for (seq, notice) in notices {
            self.last_notice = seq;
            match notice {
                Notice::Doc(id) => {
                    let (Some(record), Some(bytes)) =
                        (self.store.record(&id)?, self.store.load(&id)?)
                    else {
                        continue;
                    };
                    self.input(Input::Stored { record, bytes });
                }
                Notice::Revoked(token) => self.input(Input::Revoked { token }),
            }
        }
        Ok(())
    }

    /// Commits the batch's writes, then logs its events, then sends its frames and closes.
    fn flush(&mut self) -> Result<(), EngineError> {
        let batch = std::mem::take(&mut self.batch);
        let writes: Vec<StoreWrite> = batch.writes.into_iter().map(StoreWrite::from).collect();
        if !writes.is_empty()
            && let Err(e) = self.store.apply(&writes)
        {
            self.metrics.storage_errors.fetch_add(1, Relaxed);
            // Nothing of this batch was sent: stop, so that nothing unstored is acknowledged.
            for c in self.conns.values() {
                c.handle
                    .close(close_code::INTERNAL_ERROR, "relay storage failure");
            }
            return Err(e.into());
        }
        // Counted before the frames go out: a client that sees an answer sees its metrics.
        for event in batch.events {
            self.log(event);
        }
        for (conn, frame) in batch.frames {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            if c.handle.frames.try_send(frame).is_err() && !c.closing {
                warn!(conn = conn.0, member = %c.who, "send queue full: closing");
                self.metrics.deny(Denial::SendQueueFull);
                c.closing = true;
                c.handle.close(
                    close_code::POLICY_VIOLATION,
                    "send queue full: the client does not read fast enough",
                );
            }
        }
        for (conn, code, reason) in batch.closes {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.closing = true;
                c.handle.close(code, &reason);
            }
        }
        if let Some(started) = self.started.take() {
            self.metrics
                .observe_latency(started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Logs an event of the relay core and counts it.
    fn log(&self, event: RelayEvent) {
        match event {
            RelayEvent::Denied {
                conn,
                who,
                denial,
                reason,
            } => {
                let counted = match denial {
                    relay::Denial::NotAMember => Denial::NotAMember,
                    relay::Denial::ConnectionsPerMember => Denial::ConnectionsPerMember,
                    relay::Denial::PeerIdTaken => Denial::PeerIdTaken,
                    relay::Denial::MalformedFrame => Denial::MalformedFrame,
                    relay::Denial::NewLeadRefused => Denial::NewLeadRefused,
                    relay::Denial::DocumentsPerMember => Denial::DocumentsPerMember,
                    relay::Denial::TeamWriteRefused => Denial::TeamWriteRefused,
                    relay::Denial::LeadWriteRefused => Denial::LeadWriteRefused,
                    relay::Denial::ReadOnlyWrite => Denial::ReadOnlyWrite,
                    relay::Denial::TokenRevoked => Denial::TokenRevoked,
                };
                self.metrics.deny(counted);
                warn!(conn = conn.0, member = %who, ?denial, %reason, "refused");
            }
            RelayEvent::Joined { conn, who, peer } => {
                info!(conn = conn.0, member = %who, %peer, "joined");
            }
            RelayEvent::ProtocolError { conn, who, error } => match error {
                HubError::JoinTimeout | HubError::Replaced => {
                    info!(conn = conn.0, member = %who, reason = %error, "closing");
                }
                _ => warn!(conn = conn.0, member = %who, %error, "protocol error"),
            },
            RelayEvent::NewLead { doc, who, owner } => {
                info!(%doc, member = %who, %owner, "new lead accepted");
            }
            RelayEvent::Reassigned { doc, from, to } => {
                info!(%doc, %from, %to, "lead reassigned");
            }
            RelayEvent::IndexCreated { team, member } => {
                info!(%team, %member, "index document created");
            }
            RelayEvent::ChangePersisted => {
                self.metrics.changes_persisted.fetch_add(1, Relaxed);
            }
            RelayEvent::IndexWritten => {
                self.metrics.index_writes.fetch_add(1, Relaxed);
            }
            RelayEvent::Migrated { from, to } => {
                info!(%from, %to, "document moved to its reserved derived id");
            }
            RelayEvent::Problem { doc, message } => match doc {
                Some(doc) => error!(%doc, %message, "relay problem"),
                None => error!(%message, "relay problem"),
            },
        }
    }

    fn update_gauges(&self) {
        let stats = self.core.stats();
        self.metrics
            .documents_loaded
            .store(stats.loaded as u64, Relaxed);
        self.metrics
            .documents_stored
            .store(stats.stored as u64, Relaxed);
        self.metrics.access_denied.store(stats.denied, Relaxed);
    }
}
