//! The engine: one thread owns the core's [`Hub`], the documents in memory, the access state
//! ([`Acl`]) and storage. WebSocket tasks send it [`Inbound`] events over a channel; it answers
//! through each connection's [`ConnHandle`].
//!
//! Each turn takes every event waiting (up to [`MAX_BATCH`]), feeds the frames to the hub,
//! collects what the outputs ask to persist, commits that **in one transaction**, and only then
//! sends the frames (the HubOutput contract: nothing is acknowledged or forwarded before it is
//! durable; a batch is a group commit). A storage failure stops the engine (and the relay):
//! nothing of that batch was sent, so nothing acknowledged is lost, and a restart reloads from
//! storage.
//!
//! After changes settle (debounced by [`EngineConfig::index_debounce`]) the engine rewrites the
//! index document of every member who may see a changed document, and removes entries the
//! member may no longer see (a reassigned lead). New lead documents are checked before they
//! are stored: see [`Engine::check_new_docs`].

use super::access::{Acl, NewLeadRefusal};
use super::admin::sorted_heads;
use super::metrics::{Denial, Metrics};
use super::store::{
    COMPACT_AFTER_CHUNKS, DocRecord, Notice, RelayStore, StoreError, StoreWrite, StoredKind,
};
use super::token::Claims;
use automerge::{ActorId, Automerge};
use chrono::Utc;
use fieldbook_core::doc::index::{self as index_doc, DocKind};
use fieldbook_core::doc::{self, DocumentId, lead as lead_doc, team as team_doc};
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::sync::hub::{ConnId, Hub, HubConfig, HubError, HubOutput};
use fieldbook_core::sync::wire::{self, Message, PeerId, PeerMetadata};
use fieldbook_core::sync::{DocSlot, Docs};
use fieldbook_core::team::Role;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc as tokio_mpsc, watch};
use tracing::{debug, error, info, warn};

/// Events handled in one turn at most (one commit).
pub const MAX_BATCH: usize = 512;

/// WebSocket close codes the relay uses.
pub mod close_code {
    /// The relay is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the protocol (malformed frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A limit or the access policy.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame over the size limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The relay failed.
    pub const INTERNAL_ERROR: u16 = 1011;
}

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
    /// Leads one member may own; a new lead beyond is refused.
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
        Self {
            max_docs_per_member: 20_000,
            max_conns_per_member: 8,
            max_loaded_docs: 20_000,
            index_debounce: Duration::from_millis(75),
            notice_poll: Duration::from_millis(500),
            hub: HubConfig::default(),
        }
    }
}

/// Why the engine could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document does not read.
    #[error("stored document {id} does not load: {reason}")]
    BadDocument {
        /// The document.
        id: DocumentId,
        /// Why.
        reason: String,
    },
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

/// The documents in memory and the records of every stored document: the hub's [`Docs`].
#[derive(Debug)]
struct RelayDocs {
    actor: ActorId,
    loaded: HashMap<DocumentId, Automerge>,
    records: HashMap<DocumentId, DocRecord>,
    /// Documents created by the hub for a connection and not yet accepted.
    pending: HashMap<DocumentId, ConnId>,
    /// The connection whose frame is being handled (new documents are theirs).
    creating: Option<ConnId>,
    used: HashMap<DocumentId, u64>,
    tick: u64,
}

impl Docs for RelayDocs {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        if self.loaded.contains_key(id) {
            self.tick += 1;
            self.used.insert(*id, self.tick);
            DocSlot::Loaded(self.loaded.get_mut(id).expect("checked"))
        } else if self.records.contains_key(id) {
            DocSlot::NotLoaded
        } else {
            DocSlot::Absent
        }
    }

    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        let conn = self.creating?;
        self.pending.insert(*id, conn);
        let actor = self.actor.clone();
        Some(
            self.loaded
                .entry(*id)
                .or_insert_with(|| doc::new_document(actor)),
        )
    }
}

#[derive(Debug)]
struct Conn {
    team: TeamId,
    member: MemberId,
    token: String,
    handle: ConnHandle,
    closing: bool,
    /// The reason of the last protocol error, for the close frame.
    last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Batch {
    writes: Vec<StoreWrite>,
    frames: Vec<(ConnId, Vec<u8>)>,
    closes: Vec<(ConnId, u16, String)>,
    started: Option<Instant>,
}

/// The engine's state (see the module documentation).
#[derive(Debug)]
pub struct Engine {
    hub: Hub,
    docs: RelayDocs,
    acl: Acl,
    store: Box<dyn RelayStore>,
    conns: HashMap<ConnId, Conn>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    peer: PeerId,
    dirty: BTreeSet<DocumentId>,
    dirty_since: Option<Instant>,
    last_notice: i64,
    next_notice_poll: Instant,
    batch: Batch,
}

/// The relay's peer id in the protocol.
pub const RELAY_PEER: &str = "fieldbook-relay";

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

fn random_actor() -> ActorId {
    super::admin::random_actor()
}

impl Engine {
    fn open(
        mut store: Box<dyn RelayStore>,
        config: EngineConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, EngineError> {
        let records = store.records()?;
        let last_notice = store.last_notice()?;
        let mut engine = Self {
            hub: Hub::new(PeerId::new(RELAY_PEER), PeerMetadata::default()).with_config(config.hub),
            docs: RelayDocs {
                actor: random_actor(),
                loaded: HashMap::new(),
                records: HashMap::new(),
                pending: HashMap::new(),
                creating: None,
                used: HashMap::new(),
                tick: 0,
            },
            acl: Acl::default(),
            store,
            conns: HashMap::new(),
            config,
            metrics,
            peer: PeerId::new(RELAY_PEER),
            dirty: BTreeSet::new(),
            dirty_since: None,
            last_notice,
            next_notice_poll: Instant::now(),
            batch: Batch::default(),
        };
        for record in records {
            match record.kind {
                StoredKind::Lead => {
                    if let Some(owner) = &record.member {
                        engine
                            .acl
                            .set_owner(record.id, record.team.clone(), owner.clone());
                    }
                    engine.dirty.insert(record.id);
                }
                StoredKind::Index => {
                    if let Some(member) = &record.member {
                        engine
                            .acl
                            .set_index(record.id, record.team.clone(), member.clone());
                    }
                }
                StoredKind::Team => {
                    engine.dirty.insert(record.id);
                }
            }
            engine.docs.records.insert(record.id, record);
        }
        let team_docs: Vec<DocumentId> = engine
            .docs
            .records
            .values()
            .filter(|r| r.kind == StoredKind::Team)
            .map(|r| r.id)
            .collect();
        for id in team_docs {
            engine.load_doc(id)?;
            engine.refresh_team(id);
        }
        engine.flush()?;
        engine.dirty_since = Some(Instant::now());
        engine.update_gauges();
        info!(
            documents = engine.docs.records.len(),
            teams = engine.acl.team_ids().len(),
            "relay storage loaded"
        );
        Ok(engine)
    }

    fn run(&mut self, rx: Receiver<Inbound>) -> Result<(), EngineError> {
        loop {
            let timeout = self.next_timeout();
            let first = match rx.recv_timeout(timeout) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Inbound::Shutdown),
            };
            let mut stop = false;
            if let Some(event) = first {
                self.batch.started = Some(Instant::now());
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
            let now = Instant::now();
            if let Some(deadline) = self.hub.next_deadline()
                && deadline <= Utc::now()
            {
                let out = self.hub.poll(Utc::now());
                self.absorb(out);
            }
            if self
                .dirty_since
                .is_some_and(|since| now >= since + self.config.index_debounce)
                || (stop && !self.dirty.is_empty())
            {
                self.write_indexes();
            }
            if now >= self.next_notice_poll {
                self.next_notice_poll = now + self.config.notice_poll;
                self.poll_notices()?;
            }
            if stop {
                for (conn, c) in &self.conns {
                    self.batch.closes.push((
                        *conn,
                        close_code::GOING_AWAY,
                        "relay shutting down".into(),
                    ));
                    let _ = &c.handle;
                }
            }
            self.flush()?;
            self.evict();
            self.update_gauges();
            if stop {
                info!("relay engine stopped");
                return Ok(());
            }
        }
    }

    fn next_timeout(&self) -> Duration {
        let now = Instant::now();
        let mut deadline = self.next_notice_poll;
        if let Some(since) = self.dirty_since {
            deadline = deadline.min(since + self.config.index_debounce);
        }
        let mut timeout = deadline.saturating_duration_since(now);
        if let Some(hub) = self.hub.next_deadline() {
            let left = (hub - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            timeout = timeout.min(left);
        }
        timeout.max(Duration::from_millis(1))
    }

    /// Handles one event; returns whether the engine must stop.
    fn handle(&mut self, event: Inbound) -> bool {
        match event {
            Inbound::Open {
                conn,
                claims,
                handle,
            } => self.open_conn(conn, claims, handle),
            Inbound::Frame { conn, bytes } => self.frame(conn, &bytes),
            Inbound::Closed { conn } => self.closed(conn),
            Inbound::Shutdown => return true,
        }
        false
    }

    fn error_frame(&self, message: &str) -> Vec<u8> {
        wire::encode(&Message::Error {
            sender_id: Some(self.peer.clone()),
            target_id: None,
            message: message.to_owned(),
        })
    }

    /// Sends `error` with the reason, then closes.
    fn refuse(&mut self, conn: ConnId, code: u16, reason: String) {
        let frame = self.error_frame(&reason);
        self.batch.frames.push((conn, frame));
        self.batch.closes.push((conn, code, reason));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.closing = true;
        }
    }

    fn open_conn(&mut self, conn: ConnId, claims: Claims, handle: ConnHandle) {
        let Claims {
            id: token,
            team,
            member,
            ..
        } = claims;
        let in_team = self
            .acl
            .team(&team)
            .is_some_and(|t| t.member(&member).is_some());
        let open = self
            .conns
            .values()
            .filter(|c| c.team == team && c.member == member && !c.closing)
            .count();
        self.conns.insert(
            conn,
            Conn {
                team: team.clone(),
                member: member.clone(),
                token,
                handle,
                closing: false,
                last_error: None,
            },
        );
        if !in_team {
            warn!(conn = conn.0, %team, %member, "refused: not a member of the team");
            self.metrics.deny(Denial::NotAMember);
            self.refuse(
                conn,
                close_code::POLICY_VIOLATION,
                format!("member {member} is not in team {team}"),
            );
            return;
        }
        if open >= self.config.max_conns_per_member {
            let limit = self.config.max_conns_per_member;
            warn!(conn = conn.0, %team, %member, limit, "refused: too many connections");
            self.metrics.deny(Denial::ConnectionsPerMember);
            self.refuse(
                conn,
                close_code::POLICY_VIOLATION,
                format!("too many connections for member {member} (limit {limit})"),
            );
            return;
        }
        debug!(conn = conn.0, %team, %member, "connection open");
        self.hub.add_connection(conn, Utc::now());
        self.acl.connect(conn, team, member);
    }

    fn frame(&mut self, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        if self.hub.peer_of(conn).is_none()
            && let Ok(Message::Join { sender_id, .. }) = wire::decode(bytes, self.config.hub.limits)
        {
            // A peer id joins on one socket at a time and the hub closes the older one; only
            // the same member may take over a peer id, so another member cannot kick a device
            // off by joining with its peer id.
            let taken = self.conns.iter().any(|(other, oc)| {
                *other != conn
                    && (oc.team != c.team || oc.member != c.member)
                    && self.hub.peer_of(*other) == Some(&sender_id)
            });
            if taken {
                warn!(conn = conn.0, peer = %sender_id, "refused: peer id used by another member");
                self.metrics.deny(Denial::PeerIdTaken);
                self.refuse(
                    conn,
                    close_code::POLICY_VIOLATION,
                    format!("peer id {sender_id} is in use by another member"),
                );
                return;
            }
        }
        // New documents created while handling this frame are this connection's, and so is
        // the new-lead check in `absorb`.
        self.docs.creating = Some(conn);
        let queued = self.batch.frames.len();
        let out = self.hub.receive(conn, bytes, &mut self.docs, &self.acl);
        self.absorb(out);
        self.docs.creating = None;
        let answers = self.batch.frames[queued..]
            .iter()
            .filter(|(to, _)| *to == conn)
            .count();
        if let Some(c) = self.conns.get(&conn) {
            c.handle.answers.fetch_add(answers as u64, Relaxed);
        }
    }

    fn closed(&mut self, conn: ConnId) {
        self.hub.remove_connection(conn);
        self.acl.disconnect(conn);
        if let Some(c) = self.conns.remove(&conn) {
            debug!(conn = conn.0, team = %c.team, member = %c.member, "connection closed");
        }
        // Documents this connection began to create but never filled.
        let abandoned: Vec<DocumentId> = self
            .docs
            .pending
            .iter()
            .filter(|(_, c)| **c == conn)
            .map(|(id, _)| *id)
            .collect();
        for id in abandoned {
            self.docs.pending.remove(&id);
            self.docs.loaded.remove(&id);
        }
    }

    /// Carries out a hub output and everything it leads to (loads, their outputs).
    fn absorb(&mut self, out: HubOutput) {
        let mut queue = VecDeque::from([out]);
        while let Some(mut out) = queue.pop_front() {
            let mut refused = self.check_new_docs(&out.changed);
            refused.extend(self.check_team_writes(&out.changed));
            if !refused.is_empty() {
                out.persist.retain(|(id, _)| !refused.contains_key(id));
                out.changed.retain(|id| !refused.contains_key(id));
                out.frames.retain(|(_, frame)| {
                    document_of(frame, self.config.hub.limits)
                        .is_none_or(|id| !refused.contains_key(&id))
                });
                for (id, conn) in &refused {
                    let Some(peer) = self.hub.peer_of(*conn).cloned() else {
                        continue;
                    };
                    let frame = wire::encode(&Message::DocUnavailable {
                        sender_id: self.peer.clone(),
                        target_id: peer,
                        document_id: *id,
                    });
                    out.frames.push((*conn, frame));
                }
            }
            for id in &out.changed {
                self.refresh_owner(*id);
            }
            for (id, bytes) in std::mem::take(&mut out.persist) {
                self.persist_change(id, bytes);
            }
            for id in std::mem::take(&mut out.changed) {
                let kind = self.docs.records.get(&id).map(|r| r.kind);
                if kind == Some(StoredKind::Team) {
                    self.refresh_team(id);
                }
                if kind != Some(StoredKind::Index) {
                    self.mark_dirty(id);
                }
            }
            for (conn, err) in &out.errors {
                self.log_hub_error(*conn, err);
            }
            self.batch.frames.append(&mut out.frames);
            for conn in out.close {
                let (code, reason) = match self.conns.get(&conn).and_then(|c| c.last_error.clone())
                {
                    Some(reason) => (close_code::PROTOCOL_ERROR, reason),
                    None => (
                        close_code::POLICY_VIOLATION,
                        "closed by the relay".to_owned(),
                    ),
                };
                self.batch.closes.push((conn, code, reason));
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.closing = true;
                }
            }
            for (conn, peer, _) in &out.joined {
                if let Some(c) = self.conns.get(conn) {
                    info!(conn = conn.0, team = %c.team, member = %c.member, %peer, "joined");
                }
            }
            for id in out.need_load {
                match self.load_doc(id) {
                    Ok(()) => queue.push_back(self.hub.loaded(id, &mut self.docs, &self.acl)),
                    Err(e) => error!(doc = %id, error = %e, "cannot load a stored document"),
                }
            }
        }
    }

    fn log_hub_error(&mut self, conn: ConnId, err: &HubError) {
        let who = self
            .conns
            .get(&conn)
            .map(|c| format!("{}/{}", c.team, c.member))
            .unwrap_or_default();
        match err {
            HubError::Wire(_) | HubError::UnsupportedVersion(_) => {
                warn!(conn = conn.0, member = %who, error = %err, "malformed frame: closing");
                self.metrics.deny(Denial::MalformedFrame);
            }
            HubError::JoinTimeout | HubError::Replaced => {
                info!(conn = conn.0, member = %who, reason = %err, "closing");
            }
            HubError::Unexpected(_) | HubError::Doc(_) => {
                warn!(conn = conn.0, member = %who, error = %err, "protocol error");
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_error = Some(err.to_string());
        }
    }

    /// Changes to a team document are kept only when the writer may make them: an admin
    /// anything; a manager the playbook and the products (SPEC §1: the playbook is edited by
    /// managers), not the members, roles and managers, nor the team's id and name. (A rep's
    /// changes never get here: the rep's access is read-only.) The document must still read as
    /// a team whose playbook validates. A refused change is rolled back in memory before
    /// anything is persisted or forwarded, the hub's frames about the document are replaced by
    /// `doc-unavailable` to the writer, and the document stays missing for that connection.
    /// Changes that do not come from a frame (admin commands' notices) are not judged here.
    fn check_team_writes(&mut self, changed: &[DocumentId]) -> HashMap<DocumentId, ConnId> {
        let mut refused = HashMap::new();
        let Some(conn) = self.docs.creating else {
            return refused;
        };
        for id in changed {
            if self.docs.records.get(id).map(|r| r.kind) != Some(StoredKind::Team) {
                continue;
            }
            let (Some(team_id), Some((_, writer)), Some(doc)) = (
                self.acl.team_of_doc(id).cloned(),
                self.acl.member_of(conn).cloned(),
                self.docs.loaded.get(id),
            ) else {
                continue;
            };
            let Some(before) = self.acl.team(&team_id) else {
                continue;
            };
            let role = before.member(&writer).map(|m| m.role);
            let verdict = match team_doc::read_team(doc) {
                Err(e) => Err(format!("the changed team document does not read: {e}")),
                Ok(after) => match (role, after.playbook.validate()) {
                    (_, Err(e)) => Err(format!("invalid playbook: {e}")),
                    (Some(Role::Admin), Ok(())) => Ok(()),
                    (Some(Role::Manager), Ok(()))
                        if after.id == before.id
                            && after.name == before.name
                            && after.members == before.members =>
                    {
                        Ok(())
                    }
                    (Some(Role::Manager), Ok(())) => Err(
                        "a manager may change the playbook and products, not members or the team's name"
                            .to_owned(),
                    ),
                    (_, Ok(())) => Err("read-only for this member".to_owned()),
                },
            };
            let Err(reason) = verdict else {
                continue;
            };
            warn!(doc = %id, team = %team_id, member = %writer, %reason, "team document change refused");
            self.metrics.deny(Denial::TeamWriteRefused);
            if let Err(e) = self.roll_back(*id) {
                error!(doc = %id, error = %e, "cannot roll back a team document");
            }
            self.acl.refuse(conn, *id);
            refused.insert(*id, conn);
        }
        refused
    }

    /// Puts a document back as stored: what storage holds plus the writes of this turn not
    /// committed yet (the changes the hub applied since are dropped).
    fn roll_back(&mut self, id: DocumentId) -> Result<(), EngineError> {
        let bad = |e: doc::DocError| EngineError::BadDocument {
            id,
            reason: e.to_string(),
        };
        let mut restored = match self.store.load(&id)? {
            Some(bytes) => doc::load(&bytes, self.docs.actor.clone()).map_err(bad)?,
            None => doc::new_document(self.docs.actor.clone()),
        };
        for write in &self.batch.writes {
            match write {
                StoreWrite::ReplaceDoc { doc: d, bytes } if *d == id => {
                    restored = doc::load(bytes, self.docs.actor.clone()).map_err(bad)?;
                }
                StoreWrite::AppendChunk { doc: d, bytes } if *d == id => {
                    restored
                        .load_incremental(bytes)
                        .map_err(|e| EngineError::BadDocument {
                            id,
                            reason: e.to_string(),
                        })?;
                }
                _ => {}
            }
        }
        self.docs.loaded.insert(id, restored);
        Ok(())
    }

    /// New documents (created by the hub for a frame that carried changes of a document the
    /// relay never stored) are accepted only when they read as a lead whose owner the sending
    /// member may create leads for (themselves for a rep; themselves or their reps for a
    /// manager; anyone in the team for an admin), within the documents-per-member limit.
    /// A refused document is dropped from memory before anything is persisted, its frames are
    /// replaced by `doc-unavailable`, and it stays missing for that connection.
    fn check_new_docs(&mut self, changed: &[DocumentId]) -> HashMap<DocumentId, ConnId> {
        let mut refused = HashMap::new();
        for id in changed {
            let Some(&creator) = self.docs.pending.get(id) else {
                continue;
            };
            let conn = self.docs.creating.unwrap_or(creator);
            let verdict = self.judge_new_lead(conn, id);
            self.docs.pending.remove(id);
            let who = self
                .acl
                .member_of(conn)
                .map(|(t, m)| format!("{t}/{m}"))
                .unwrap_or_default();
            match verdict {
                Ok((team, owner)) => {
                    info!(doc = %id, member = %who, %owner, "new lead accepted");
                    self.docs.records.insert(
                        *id,
                        DocRecord {
                            id: *id,
                            team: team.clone(),
                            kind: StoredKind::Lead,
                            member: Some(owner.clone()),
                            heads: Vec::new(),
                            chunks: 0,
                        },
                    );
                    self.acl.set_owner(*id, team, owner);
                }
                Err(reason) => {
                    warn!(doc = %id, member = %who, %reason, "new document refused");
                    self.metrics.deny(match reason {
                        NewLeadRefusal::TooManyDocuments { .. } => Denial::DocumentsPerMember,
                        _ => Denial::NewLeadRefused,
                    });
                    self.docs.loaded.remove(id);
                    self.acl.refuse(conn, *id);
                    refused.insert(*id, conn);
                }
            }
        }
        refused
    }

    fn judge_new_lead(
        &self,
        conn: ConnId,
        id: &DocumentId,
    ) -> Result<(TeamId, MemberId), NewLeadRefusal> {
        let doc = self
            .docs
            .loaded
            .get(id)
            .ok_or_else(|| NewLeadRefusal::NotALead("not in memory".into()))?;
        let (team, _) = self
            .acl
            .member_of(conn)
            .ok_or_else(|| NewLeadRefusal::NotALead("connection closed".into()))?;
        let playbook = &self
            .acl
            .team(team)
            .ok_or_else(|| NewLeadRefusal::NotALead("unknown team".into()))?
            .playbook;
        let read = lead_doc::read_lead(doc).map_err(|e| NewLeadRefusal::NotALead(e.to_string()))?;
        let owner = LeadFacts::from_lead(playbook, &read.lead).owner;
        self.acl
            .check_new_lead(conn, &owner, self.config.max_docs_per_member)?;
        Ok((team.clone(), owner))
    }

    /// A changed lead's owner, folded from its events as the devices fold it; a reassignment
    /// moves access at once (the hub asks the policy before every send).
    fn refresh_owner(&mut self, id: DocumentId) {
        let Some(record) = self.docs.records.get_mut(&id) else {
            return;
        };
        if record.kind != StoredKind::Lead {
            return;
        }
        let (Some(doc), Some(team)) = (self.docs.loaded.get(&id), self.acl.team(&record.team))
        else {
            return;
        };
        let owner = match lead_doc::read_lead(doc) {
            Ok(read) => LeadFacts::from_lead(&team.playbook, &read.lead).owner,
            Err(e) => {
                warn!(doc = %id, error = %e, "a changed lead does not read; its owner stays");
                return;
            }
        };
        if record.member.as_ref() != Some(&owner) {
            record.member = Some(owner.clone());
            if let Some(old) = self.acl.set_owner(id, record.team.clone(), owner.clone()) {
                info!(doc = %id, from = %old, to = %owner, "lead reassigned");
            }
        }
    }

    /// Reads a team document again: roles and managers change access; new members get an
    /// index document; every document of the team is re-indexed.
    fn refresh_team(&mut self, id: DocumentId) {
        let Some(doc) = self.docs.loaded.get(&id) else {
            return;
        };
        let team = match team_doc::read_team(doc) {
            Ok(team) => team,
            Err(e) => {
                warn!(doc = %id, error = %e, "the team document does not read; access stays");
                return;
            }
        };
        let members: Vec<MemberId> = team.members.iter().map(|m| m.id.clone()).collect();
        let team_id = team.id.clone();
        self.acl.set_team(id, team);
        for member in members {
            if let Err(e) = self.ensure_index(&team_id, &member) {
                error!(team = %team_id, %member, error = %e, "cannot create an index document");
            }
        }
        self.mark_dirty(id);
        for lead in self.acl.leads_of(&team_id) {
            self.mark_dirty(lead);
        }
    }

    fn ensure_index(&mut self, team: &TeamId, member: &MemberId) -> Result<(), EngineError> {
        let id = index_doc::index_document_id(team, member);
        self.acl.set_index(id, team.clone(), member.clone());
        if self.docs.records.contains_key(&id) || self.docs.loaded.contains_key(&id) {
            return Ok(());
        }
        let doc = index_doc::create_index(team, member, self.docs.actor.clone(), Utc::now())
            .map_err(|e| EngineError::BadDocument {
                id,
                reason: e.to_string(),
            })?;
        let record = DocRecord {
            id,
            team: team.clone(),
            kind: StoredKind::Index,
            member: Some(member.clone()),
            heads: sorted_heads(&doc),
            chunks: 1,
        };
        self.batch.writes.push(StoreWrite::ReplaceDoc {
            doc: id,
            bytes: doc.save(),
        });
        self.batch
            .writes
            .push(StoreWrite::PutRecord(record.clone()));
        self.docs.records.insert(id, record);
        self.docs.loaded.insert(id, doc);
        info!(%team, %member, doc = %id, "index document created");
        Ok(())
    }

    fn mark_dirty(&mut self, id: DocumentId) {
        self.dirty.insert(id);
        self.dirty_since.get_or_insert_with(Instant::now);
    }

    /// Queues the writes that store a change: a chunk (or the whole document when it is new or
    /// due for compaction) and the record with the new heads.
    fn persist_change(&mut self, id: DocumentId, bytes: Vec<u8>) {
        let (Some(record), Some(doc)) = (self.docs.records.get_mut(&id), self.docs.loaded.get(&id))
        else {
            warn!(doc = %id, "a change to a document without a record was not stored");
            return;
        };
        if record.chunks == 0 || record.chunks + 1 >= COMPACT_AFTER_CHUNKS {
            record.chunks = 1;
            self.batch.writes.push(StoreWrite::ReplaceDoc {
                doc: id,
                bytes: doc.save(),
            });
        } else {
            record.chunks += 1;
            self.batch
                .writes
                .push(StoreWrite::AppendChunk { doc: id, bytes });
        }
        record.heads = sorted_heads(doc);
        self.batch
            .writes
            .push(StoreWrite::PutRecord(record.clone()));
        self.metrics.changes_persisted.fetch_add(1, Relaxed);
    }

    fn load_doc(&mut self, id: DocumentId) -> Result<(), EngineError> {
        if self.docs.loaded.contains_key(&id) {
            return Ok(());
        }
        let bytes = self
            .store
            .load(&id)?
            .ok_or_else(|| EngineError::BadDocument {
                id,
                reason: "no stored chunks".into(),
            })?;
        let loaded =
            doc::load(&bytes, self.docs.actor.clone()).map_err(|e| EngineError::BadDocument {
                id,
                reason: e.to_string(),
            })?;
        self.docs.loaded.insert(id, loaded);
        Ok(())
    }

    /// Rewrites the index documents of the members concerned by the changed documents: an
    /// entry (kind and the relay's heads) for each changed document the member may see, none
    /// for one they may not (any more). A changed team document concerns every member and every
    /// document of its team (roles and managers move access); a changed lead only the members
    /// who may see it or saw it before its owner changed ([`Acl::take_index_candidates`]), so a
    /// change costs index work for a few members, not for the whole team. Writes nothing when
    /// an index already says the same.
    fn write_indexes(&mut self) {
        self.dirty_since = None;
        let dirty = std::mem::take(&mut self.dirty);
        let mut by_team: BTreeMap<TeamId, Vec<(DocumentId, DocKind)>> = BTreeMap::new();
        for id in dirty {
            let Some(record) = self.docs.records.get(&id) else {
                continue;
            };
            let kind = match record.kind {
                StoredKind::Lead => DocKind::Lead,
                StoredKind::Team => DocKind::Team,
                StoredKind::Index => continue,
            };
            by_team
                .entry(record.team.clone())
                .or_default()
                .push((id, kind));
        }
        let now = Utc::now();
        for (team, docs) in by_team {
            let Some(all_members) = self
                .acl
                .team(&team)
                .map(|t| t.members.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
            else {
                continue;
            };
            let whole_team = docs.iter().any(|(_, kind)| *kind == DocKind::Team);
            // Per member, the changed documents whose entry to check.
            let mut work: BTreeMap<MemberId, Vec<usize>> = BTreeMap::new();
            for (i, (id, _)) in docs.iter().enumerate() {
                for member in self.acl.take_index_candidates(id) {
                    work.entry(member).or_default().push(i);
                }
            }
            if whole_team {
                // Every member, for the documents they may see or their index lists (asking
                // the index about every document of the team, for every member, stalled the
                // engine for seconds at 1,000 members and leads).
                for member in &all_members {
                    let index_id = index_doc::index_document_id(&team, member);
                    if let Err(e) = self.load_doc(index_id) {
                        error!(%team, %member, error = %e, "cannot load an index document");
                        continue;
                    }
                    let listed = self
                        .docs
                        .loaded
                        .get(&index_id)
                        .map(listed_in_index)
                        .unwrap_or_default();
                    let entry = work.entry(member.clone()).or_default();
                    for (i, (id, _)) in docs.iter().enumerate() {
                        if listed.contains(id)
                            || self.acl.member_access(&team, member, id)
                                != fieldbook_core::sync::hub::Access::None
                        {
                            entry.push(i);
                        }
                    }
                    entry.sort_unstable();
                    entry.dedup();
                }
            }
            let heads: Vec<Vec<automerge::ChangeHash>> = docs
                .iter()
                .map(|(id, _)| {
                    self.docs
                        .records
                        .get(id)
                        .map(|r| doc::heads_from_hex(&r.heads).unwrap_or_default())
                        .unwrap_or_default()
                })
                .collect();
            for (member, doc_indices) in work {
                let index_id = index_doc::index_document_id(&team, &member);
                if let Err(e) = self.load_doc(index_id) {
                    error!(%team, %member, error = %e, "cannot load an index document");
                    continue;
                }
                let entries: Vec<_> = doc_indices
                    .into_iter()
                    .map(|i| {
                        let (id, kind) = docs[i];
                        let sees = self.acl.member_access(&team, &member, &id)
                            != fieldbook_core::sync::hub::Access::None;
                        (id, kind, sees, &heads[i])
                    })
                    .collect();
                let index = self.docs.loaded.get_mut(&index_id).expect("loaded above");
                let before = index.get_heads();
                let mut tx = index.transaction();
                let mut wrote = false;
                let mut failed = None;
                for (id, kind, sees, heads) in entries {
                    let result = if sees {
                        index_doc::set_entry(&mut tx, &id, kind, heads)
                    } else {
                        index_doc::remove_entry(&mut tx, &id)
                    };
                    match result {
                        Ok(w) => wrote |= w,
                        Err(e) => failed = Some(e),
                    }
                }
                if let Some(e) = failed {
                    error!(%team, %member, error = %e, "cannot write an index document");
                }
                if !wrote {
                    tx.rollback();
                    continue;
                }
                tx.commit_with(doc::commit_options(now));
                let bytes = index.save_after(&before);
                self.persist_change(index_id, bytes);
                self.metrics.index_writes.fetch_add(1, Relaxed);
                let out = self.hub.local_change(index_id, &mut self.docs, &self.acl);
                self.absorb(out);
            }
        }
    }

    /// Picks up what admin commands changed in storage while serving.
    fn poll_notices(&mut self) -> Result<(), EngineError> {
        let notices = self.store.notices(self.last_notice)?;
        for (seq, notice) in notices {
            self.last_notice = seq;
            match notice {
                Notice::Doc(id) => self.reload_from_store(id)?,
                Notice::Revoked(token) => {
                    let conns: Vec<ConnId> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| c.token == token && !c.closing)
                        .map(|(id, _)| *id)
                        .collect();
                    for conn in conns {
                        info!(conn = conn.0, %token, "token revoked: closing");
                        self.metrics.deny(Denial::TokenRevoked);
                        self.refuse(
                            conn,
                            close_code::POLICY_VIOLATION,
                            format!("token {token} revoked"),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn reload_from_store(&mut self, id: DocumentId) -> Result<(), EngineError> {
        let Some(mut record) = self.store.record(&id)? else {
            return Ok(());
        };
        if let Some(doc) = self.docs.loaded.get_mut(&id) {
            let before = doc.get_heads();
            if let Some(bytes) = self.store.load(&id)?
                && let Err(e) = doc.load_incremental(&bytes)
            {
                warn!(doc = %id, error = %e, "cannot merge a document written by an admin command");
            }
            record.heads = sorted_heads(doc);
            if doc.get_heads() != before {
                self.batch
                    .writes
                    .push(StoreWrite::PutRecord(record.clone()));
            }
        }
        let kind = record.kind;
        if let (StoredKind::Lead, Some(owner)) = (kind, &record.member) {
            self.acl.set_owner(id, record.team.clone(), owner.clone());
        }
        self.docs.records.insert(id, record);
        match kind {
            StoredKind::Team => {
                self.load_doc(id)?;
                self.refresh_team(id);
            }
            StoredKind::Lead => self.mark_dirty(id),
            StoredKind::Index => {}
        }
        let out = self.hub.local_change(id, &mut self.docs, &self.acl);
        self.absorb(out);
        Ok(())
    }

    /// Commits the batch's writes, then sends its frames and closes.
    fn flush(&mut self) -> Result<(), EngineError> {
        let batch = std::mem::take(&mut self.batch);
        if !batch.writes.is_empty()
            && let Err(e) = self.store.apply(&batch.writes)
        {
            self.metrics.storage_errors.fetch_add(1, Relaxed);
            // Nothing of this batch was sent: stop, so that nothing unstored is acknowledged.
            for c in self.conns.values() {
                c.handle
                    .close(close_code::INTERNAL_ERROR, "relay storage failure");
            }
            return Err(e.into());
        }
        for (conn, frame) in batch.frames {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            if c.handle.frames.try_send(frame).is_err() && !c.closing {
                warn!(conn = conn.0, member = %c.member, "send queue full: closing");
                self.metrics.deny(Denial::SendQueueFull);
                c.closing = true;
                c.handle.close(
                    close_code::POLICY_VIOLATION,
                    "send queue full: the client does not read fast enough",
                );
            }
        }
        for (conn, code, reason) in batch.closes {
            if let Some(c) = self.conns.get(&conn) {
                c.handle.close(code, &reason);
            }
        }
        if let Some(started) = batch.started {
            self.metrics
                .observe_latency(started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Drops the least recently used lead documents beyond the limit (they stay stored).
    fn evict(&mut self) {
        let max = self.config.max_loaded_docs;
        if self.docs.loaded.len() <= max {
            return;
        }
        let mut candidates: Vec<(u64, DocumentId)> = self
            .docs
            .loaded
            .keys()
            .filter(|id| {
                !self.docs.pending.contains_key(id)
                    && self.docs.records.get(id).map(|r| r.kind) == Some(StoredKind::Lead)
            })
            .map(|id| (self.docs.used.get(id).copied().unwrap_or(0), *id))
            .collect();
        candidates.sort_unstable();
        let excess = self.docs.loaded.len() - max * 9 / 10;
        for (_, id) in candidates.into_iter().take(excess) {
            self.docs.loaded.remove(&id);
            self.docs.used.remove(&id);
        }
    }

    fn update_gauges(&self) {
        self.metrics
            .documents_loaded
            .store(self.docs.loaded.len() as u64, Relaxed);
        self.metrics
            .documents_stored
            .store(self.docs.records.len() as u64, Relaxed);
        self.metrics.access_denied.store(self.acl.denied(), Relaxed);
    }
}

/// The document a frame is about, if it is a document message.
/// The documents an index document lists (the keys of its `docs` map).
fn listed_in_index(index: &Automerge) -> HashSet<DocumentId> {
    use automerge::ReadDoc;
    let Ok(Some((_, docs))) = index.get(automerge::ROOT, "docs") else {
        return HashSet::new();
    };
    index
        .keys(&docs)
        .filter_map(|key| key.parse().ok())
        .collect()
}

fn document_of(frame: &[u8], limits: wire::Limits) -> Option<DocumentId> {
    match wire::decode(frame, limits).ok()? {
        Message::Sync { document_id, .. }
        | Message::Request { document_id, .. }
        | Message::DocUnavailable { document_id, .. }
        | Message::Ephemeral { document_id, .. }
        | Message::RemoteHeadsChanged { document_id, .. } => Some(document_id),
        _ => None,
    }
}
