//! The relay's logic, sans-IO: many connections, the protocol hub, access control, the write
//! model's judgement of every client write, new documents, the index documents it writes, and
//! what to keep in memory. The host (the server's engine thread, a test's simulated network)
//! owns the sockets, the clock, storage and metrics; it feeds [`Input`]s to
//! [`RelayCore::handle`] and carries out each [`Output`], in this order (as the hub's
//! contract):
//!
//! 1. apply `writes` in one transaction (a change is acknowledged or forwarded only by the
//!    frames of the same turn, so nothing unstored is ever acknowledged; a host may gather the
//!    outputs of several inputs and commit them at once — a group commit);
//! 2. send `frames` to their connections, in order;
//! 3. close the connections in `closes` after their frames, and report each closed socket
//!    back with [`Input::Closed`];
//! 4. log `events` and count them.
//!
//! After committing a turn the host calls [`RelayCore::evict`] (documents beyond the memory
//! limit are dropped; they must be stored first). The core reads stored documents through the
//! host's [`DocLoader`] when it needs them (the hub's lazy documents, index documents), and
//! wants [`Input::Tick`] at [`RelayCore::next_deadline`] (join timeouts, the index writer's
//! debounce).
//!
//! ```
//! use fieldbook_core::relay::{Input, RelayConfig, RelayCore, DocLoader};
//! # struct Store; impl DocLoader for Store {
//! #     fn load(&mut self, _: &fieldbook_core::doc::DocumentId) -> Result<Option<Vec<u8>>, String> { Ok(None) }
//! # }
//! # let now = chrono::DateTime::UNIX_EPOCH;
//! let mut store = Store;
//! let actor = automerge::ActorId::from(&[1u8; 16][..]);
//! let (mut relay, out) = RelayCore::open(Vec::new(), RelayConfig::default(), actor, now, &mut store);
//! // commit out.writes, send out.frames; then for each socket event:
//! let out = relay.handle(now, Input::Tick, &mut store);
//! # let _ = out;
//! ```

pub mod access;
mod index;
pub mod seal;
pub mod store;

pub use access::{Acl, Admitted};
pub use seal::SealKey;
pub use store::{COMPACT_AFTER_CHUNKS, DocLoader, DocRecord, MemStore, StoreWrite, StoredKind};

use crate::doc::index as index_doc;
use crate::doc::{self, DocumentId, lead as lead_doc, team as team_doc};
use crate::facts::LeadFacts;
use crate::ids::{MemberId, TeamId};
use crate::sync::hub::{ConnId, Hub, HubConfig, HubError, HubOutput};
use crate::sync::wire::{self, Message, PeerId, PeerMetadata};
use crate::sync::{DocSlot, Docs};
use crate::write::Refusal;
use automerge::{ActorId, Automerge};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// The relay's peer id in the protocol.
pub const RELAY_PEER: &str = "fieldbook-relay";

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

/// Tunables of the relay core.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Leads one member may own; a new lead or a reassignment beyond is refused.
    pub max_docs_per_member: usize,
    /// Connections one member may hold at once.
    pub max_conns_per_member: usize,
    /// Lead documents kept in memory; the least recently used beyond are dropped (they stay in
    /// storage and load again when needed).
    pub max_loaded_docs: usize,
    /// How long changes settle before index documents are rewritten.
    pub index_debounce: TimeDelta,
    /// The protocol's tunables (join timeout, frame limits).
    pub hub: HubConfig,
    /// The key of the seals in index entries ([`seal`]); the server derives it from its stored
    /// secret. The default is a fixed key, for tests and simulations only.
    pub seal_key: SealKey,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_docs_per_member: 20_000,
            max_conns_per_member: 8,
            max_loaded_docs: 20_000,
            index_debounce: TimeDelta::milliseconds(75),
            hub: HubConfig::default(),
            seal_key: SealKey::fixed([0x5e; 32]),
        }
    }
}

/// What the host tells the relay core.
#[derive(Debug)]
pub enum Input<'a> {
    /// A connection authenticated (the host checked its token) and upgraded.
    Open {
        /// Its id.
        conn: ConnId,
        /// The token's team.
        team: TeamId,
        /// The token's member.
        member: MemberId,
        /// The token's id (revoking it closes the connection).
        token: String,
    },
    /// A binary frame.
    Frame {
        /// From.
        conn: ConnId,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// The socket closed.
    Closed {
        /// Which.
        conn: ConnId,
    },
    /// A document was written outside the relay (an admin command): its record and bytes now.
    Stored {
        /// The record.
        record: DocRecord,
        /// The stored bytes.
        bytes: Vec<u8>,
    },
    /// A token was revoked: its connections close.
    Revoked {
        /// The token's id.
        token: String,
    },
    /// Time passed ([`RelayCore::next_deadline`]).
    Tick,
    /// Write the pending indexes and close every connection.
    Shutdown,
}

/// Why the relay refused something (for logs and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Denial {
    /// The member is not in the token's team.
    NotAMember,
    /// Too many connections for one member.
    ConnectionsPerMember,
    /// A peer id already used by another member.
    PeerIdTaken,
    /// A frame that is not a protocol message.
    MalformedFrame,
    /// A new lead refused by the write model.
    NewLeadRefused,
    /// A new lead or reassignment over the documents-per-member limit.
    DocumentsPerMember,
    /// A change to the team document refused by the write model.
    TeamWriteRefused,
    /// A change to a lead refused by the write model.
    LeadWriteRefused,
    /// Changes sent to a document that is read-only for the member.
    ReadOnlyWrite,
    /// The connection's token was revoked.
    TokenRevoked,
}

/// Something the host logs and counts.
#[derive(Clone, Debug, PartialEq)]
pub enum RelayEvent {
    /// A refusal: a connection closed, or a write rolled back.
    Denied {
        /// The connection.
        conn: ConnId,
        /// Who (`team/member`), when known.
        who: String,
        /// What kind.
        denial: Denial,
        /// The reason given to the client.
        reason: String,
    },
    /// A connection joined with a peer id.
    Joined {
        /// The connection.
        conn: ConnId,
        /// Who (`team/member`).
        who: String,
        /// The peer id.
        peer: PeerId,
    },
    /// A protocol problem on a connection (logged; the hub already answered it).
    ProtocolError {
        /// The connection.
        conn: ConnId,
        /// Who, when known.
        who: String,
        /// What.
        error: HubError,
    },
    /// A new lead was accepted.
    NewLead {
        /// The document.
        doc: DocumentId,
        /// Who created it.
        who: String,
        /// Its owner.
        owner: MemberId,
    },
    /// A lead changed owner.
    Reassigned {
        /// The document.
        doc: DocumentId,
        /// The old owner.
        from: MemberId,
        /// The new owner.
        to: MemberId,
    },
    /// An index document was created for a member.
    IndexCreated {
        /// The team.
        team: TeamId,
        /// The member.
        member: MemberId,
    },
    /// A change was persisted (one chunk or compacted save).
    ChangePersisted,
    /// An index document was rewritten.
    IndexWritten,
    /// A document moved from its id before the reserved space to its derived id.
    Migrated {
        /// The old id.
        from: DocumentId,
        /// The new id.
        to: DocumentId,
    },
    /// Something the relay could not do (a stored document that does not read…); logged.
    Problem {
        /// The document, if one.
        doc: Option<DocumentId>,
        /// What.
        message: String,
    },
}

/// What the host must do after a call (see the module documentation for the order).
#[derive(Debug, Default)]
pub struct Output {
    /// Writes to apply in one transaction before the frames are sent.
    pub writes: Vec<StoreWrite>,
    /// Frames to send, in order.
    pub frames: Vec<(ConnId, Vec<u8>)>,
    /// Connections to close after their frames: code and reason.
    pub closes: Vec<(ConnId, u16, String)>,
    /// What happened, for logs and metrics.
    pub events: Vec<RelayEvent>,
}

impl Output {
    /// Appends `other` (outputs of several inputs committed together).
    pub fn append(&mut self, other: Output) {
        self.writes.extend(other.writes);
        self.frames.extend(other.frames);
        self.closes.extend(other.closes);
        self.events.extend(other.events);
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.frames.is_empty()
            && self.closes.is_empty()
            && self.events.is_empty()
    }
}

/// Counts for gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Documents in memory.
    pub loaded: usize,
    /// Documents stored.
    pub stored: usize,
    /// Access checks answered "none".
    pub denied: u64,
}

/// The documents in memory and the records of every stored document: the hub's [`Docs`].
#[derive(Debug)]
struct RelayDocs {
    actor: ActorId,
    loaded: HashMap<DocumentId, Automerge>,
    records: HashMap<DocumentId, DocRecord>,
    /// The connection whose frame is being handled: new documents are created for it.
    creating: Option<ConnId>,
    /// Documents created for a connection and not accepted yet (forgotten when it closes).
    pending: HashMap<DocumentId, ConnId>,
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

    fn discard(&mut self, id: &DocumentId) {
        if self.pending.remove(id).is_some() {
            self.loaded.remove(id);
        }
    }
}

#[derive(Debug)]
struct Conn {
    team: TeamId,
    member: MemberId,
    token: String,
    closing: bool,
    /// The reason of the last protocol error, for the close frame.
    last_error: Option<String>,
}

impl Conn {
    fn who(&self) -> String {
        format!("{}/{}", self.team, self.member)
    }
}

/// The relay's logic. See the module documentation.
#[derive(Debug)]
pub struct RelayCore {
    hub: Hub,
    docs: RelayDocs,
    acl: Acl,
    conns: HashMap<ConnId, Conn>,
    config: RelayConfig,
    peer: PeerId,
    dirty: BTreeSet<DocumentId>,
    dirty_since: Option<DateTime<Utc>>,
    /// The time of the input being handled.
    now: DateTime<Utc>,
    /// What the call being handled produces.
    out: Output,
}

impl RelayCore {
    /// Opens the relay over the records of every stored document: moves documents stored at
    /// derived ids from before the reserved space, reads every team document, creates missing
    /// index documents, and schedules a full index refresh. `actor` is the relay's Automerge
    /// actor for the changes it makes (drawn by the host).
    pub fn open(
        records: Vec<DocRecord>,
        config: RelayConfig,
        actor: ActorId,
        now: DateTime<Utc>,
        loader: &mut dyn DocLoader,
    ) -> (Self, Output) {
        let mut relay = Self {
            hub: Hub::new(PeerId::new(RELAY_PEER), PeerMetadata::default()).with_config(config.hub),
            docs: RelayDocs {
                actor,
                loaded: HashMap::new(),
                records: HashMap::new(),
                creating: None,
                pending: HashMap::new(),
                used: HashMap::new(),
                tick: 0,
            },
            acl: Acl::new(config.max_docs_per_member, config.seal_key.clone()),
            conns: HashMap::new(),
            config,
            peer: PeerId::new(RELAY_PEER),
            dirty: BTreeSet::new(),
            dirty_since: None,
            now,
            out: Output::default(),
        };
        let mut moved = HashMap::new();
        for record in records {
            let stored_at = record.id;
            let record = relay.migrate(record);
            if record.id != stored_at {
                moved.insert(record.id, stored_at);
            }
            match record.kind {
                StoredKind::Lead => {
                    if let Some(owner) = &record.member {
                        relay
                            .acl
                            .set_owner(record.id, record.team.clone(), owner.clone());
                    }
                    relay.dirty.insert(record.id);
                }
                StoredKind::Index => {
                    if let Some(member) = &record.member {
                        relay
                            .acl
                            .set_index(record.id, record.team.clone(), member.clone());
                    }
                }
                StoredKind::Team => {
                    relay.dirty.insert(record.id);
                }
            }
            relay.docs.records.insert(record.id, record);
        }
        let team_docs: Vec<DocumentId> = relay
            .docs
            .records
            .values()
            .filter(|r| r.kind == StoredKind::Team)
            .map(|r| r.id)
            .collect();
        for id in team_docs {
            // A team document that moves is read where it is stored until the host commits
            // the move.
            let stored_at = moved.get(&id).copied().unwrap_or(id);
            if let Ok(Some(bytes)) = loader.load(&stored_at)
                && let Ok(loaded) = doc::load(&bytes, relay.docs.actor.clone())
            {
                relay.docs.loaded.insert(id, loaded);
            }
            relay.load_doc(id, loader);
            relay.refresh_team(id);
        }
        relay.dirty_since = Some(now);
        let out = std::mem::take(&mut relay.out);
        (relay, out)
    }

    /// A team or index document stored at its id from before the reserved space moves to its
    /// derived id (same bytes, same history: devices sync it as before).
    fn migrate(&mut self, mut record: DocRecord) -> DocRecord {
        let (kind, key) = match (&record.kind, &record.member) {
            (StoredKind::Team, _) => ("team", record.team.to_string()),
            (StoredKind::Index, Some(member)) => ("index", format!("{}/{member}", record.team)),
            _ => return record,
        };
        let old = DocumentId::derived_before_reservation(kind, &key);
        let new = DocumentId::derived(kind, &key);
        if record.id == old {
            self.out
                .writes
                .push(StoreWrite::MoveDoc { from: old, to: new });
            self.out
                .events
                .push(RelayEvent::Migrated { from: old, to: new });
            record.id = new;
        }
        record
    }

    /// Handles one input at `now`.
    pub fn handle(
        &mut self,
        now: DateTime<Utc>,
        input: Input<'_>,
        loader: &mut dyn DocLoader,
    ) -> Output {
        self.now = now;
        match input {
            Input::Open {
                conn,
                team,
                member,
                token,
            } => self.open_conn(conn, team, member, token, now),
            Input::Frame { conn, bytes } => self.frame(conn, bytes, loader),
            Input::Closed { conn } => self.closed(conn),
            Input::Stored { record, bytes } => self.stored(record, bytes, loader),
            Input::Revoked { token } => self.revoked(&token),
            Input::Tick => self.tick(now, loader),
            Input::Shutdown => {
                if !self.dirty.is_empty() {
                    self.write_indexes(loader);
                }
                let conns: Vec<ConnId> = self.conns.keys().copied().collect();
                for conn in conns {
                    self.out.closes.push((
                        conn,
                        close_code::GOING_AWAY,
                        "relay shutting down".into(),
                    ));
                }
            }
        }
        std::mem::take(&mut self.out)
    }

    /// When [`Input::Tick`] is due next.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let index = self.dirty_since.map(|t| t + self.config.index_debounce);
        [index, self.hub.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Counts for gauges.
    pub fn stats(&self) -> Stats {
        Stats {
            loaded: self.docs.loaded.len(),
            stored: self.docs.records.len(),
            denied: self.acl.denied(),
        }
    }

    /// The access state (read-only; tests and the host's diagnostics).
    pub fn acl(&self) -> &Acl {
        &self.acl
    }

    /// A document in memory, if loaded.
    pub fn loaded(&self, id: &DocumentId) -> Option<&Automerge> {
        self.docs.loaded.get(id)
    }

    /// The record of a stored document.
    pub fn record(&self, id: &DocumentId) -> Option<&DocRecord> {
        self.docs.records.get(id)
    }

    fn tick(&mut self, now: DateTime<Utc>, loader: &mut dyn DocLoader) {
        if self.hub.next_deadline().is_some_and(|d| d <= now) {
            let out = self.hub.poll(now);
            self.absorb(out, loader);
        }
        if self
            .dirty_since
            .is_some_and(|since| now >= since + self.config.index_debounce)
        {
            self.write_indexes(loader);
        }
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

    /// Sends `error` with the reason, then closes.
    fn refuse(&mut self, conn: ConnId, denial: Denial, code: u16, reason: String) {
        let frame = self.error_frame(&reason);
        self.out.frames.push((conn, frame));
        self.out.closes.push((conn, code, reason.clone()));
        let who = match self.conns.get_mut(&conn) {
            Some(c) => {
                c.closing = true;
                c.who()
            }
            None => String::new(),
        };
        self.out.events.push(RelayEvent::Denied {
            conn,
            who,
            denial,
            reason,
        });
    }

    fn open_conn(
        &mut self,
        conn: ConnId,
        team: TeamId,
        member: MemberId,
        token: String,
        now: DateTime<Utc>,
    ) {
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
                closing: false,
                last_error: None,
            },
        );
        if !in_team {
            self.refuse(
                conn,
                Denial::NotAMember,
                close_code::POLICY_VIOLATION,
                format!("member {member} is not in team {team}"),
            );
            return;
        }
        if open >= self.config.max_conns_per_member {
            let limit = self.config.max_conns_per_member;
            self.refuse(
                conn,
                Denial::ConnectionsPerMember,
                close_code::POLICY_VIOLATION,
                format!("too many connections for member {member} (limit {limit})"),
            );
            return;
        }
        self.hub.add_connection(conn, now);
        self.acl.connect(conn, team, member);
    }

    fn frame(&mut self, conn: ConnId, bytes: &[u8], loader: &mut dyn DocLoader) {
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
                self.refuse(
                    conn,
                    Denial::PeerIdTaken,
                    close_code::POLICY_VIOLATION,
                    format!("peer id {sender_id} is in use by another member"),
                );
                return;
            }
        }
        // New documents may be created while handling a connection's frame (a lead created
        // offline); the write model judges them before anything is stored.
        self.docs.creating = Some(conn);
        let out = self.hub.receive(conn, bytes, &mut self.docs, &self.acl);
        self.docs.creating = None;
        self.absorb(out, loader);
    }

    fn closed(&mut self, conn: ConnId) {
        self.hub.remove_connection(conn);
        self.acl.disconnect(conn);
        self.conns.remove(&conn);
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

    fn revoked(&mut self, token: &str) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.token == token && !c.closing)
            .map(|(id, _)| *id)
            .collect();
        for conn in conns {
            self.refuse(
                conn,
                Denial::TokenRevoked,
                close_code::POLICY_VIOLATION,
                format!("token {token} revoked"),
            );
        }
    }

    fn who(&self, conn: ConnId) -> String {
        self.conns.get(&conn).map(Conn::who).unwrap_or_default()
    }

    /// Carries out a hub output and everything it leads to (loads, their outputs).
    fn absorb(&mut self, out: HubOutput, loader: &mut dyn DocLoader) {
        let mut queue = VecDeque::from([out]);
        while let Some(mut out) = queue.pop_front() {
            for (conn, doc, refusal) in std::mem::take(&mut out.refused) {
                let denial = match (&refusal, self.docs.records.get(&doc).map(|r| r.kind)) {
                    (Refusal::TooManyLeads { .. }, _) => Denial::DocumentsPerMember,
                    (Refusal::ReadOnly { .. }, _) => Denial::ReadOnlyWrite,
                    (_, None) => Denial::NewLeadRefused,
                    (_, Some(StoredKind::Team)) => Denial::TeamWriteRefused,
                    (_, Some(_)) => Denial::LeadWriteRefused,
                };
                self.out.events.push(RelayEvent::Denied {
                    conn,
                    who: self.who(conn),
                    denial,
                    reason: format!("{doc}: {refusal}"),
                });
            }
            self.record_admitted();
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
            for (conn, error) in std::mem::take(&mut out.errors) {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.last_error = Some(error.to_string());
                }
                if matches!(error, HubError::Wire(_) | HubError::UnsupportedVersion(_)) {
                    self.out.events.push(RelayEvent::Denied {
                        conn,
                        who: self.who(conn),
                        denial: Denial::MalformedFrame,
                        reason: error.to_string(),
                    });
                } else {
                    self.out.events.push(RelayEvent::ProtocolError {
                        conn,
                        who: self.who(conn),
                        error,
                    });
                }
            }
            self.out.frames.append(&mut out.frames);
            for conn in out.close {
                let (code, reason) = match self.conns.get(&conn).and_then(|c| c.last_error.clone())
                {
                    Some(reason) => (close_code::PROTOCOL_ERROR, reason),
                    None => (
                        close_code::POLICY_VIOLATION,
                        "closed by the relay".to_owned(),
                    ),
                };
                self.out.closes.push((conn, code, reason));
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.closing = true;
                }
            }
            for (conn, peer, _) in out.joined {
                let who = self.who(conn);
                self.out.events.push(RelayEvent::Joined { conn, who, peer });
            }
            for id in out.need_load {
                if self.load_doc(id, loader) {
                    queue.push_back(self.hub.loaded(id, &mut self.docs, &self.acl));
                }
            }
        }
    }

    /// What the write model accepted in this output: new leads get their record, reassigned
    /// leads move access at once (the hub asks the policy before every send).
    fn record_admitted(&mut self) {
        for admitted in self.acl.take_admitted() {
            match admitted {
                Admitted::NewLead {
                    doc,
                    team,
                    owner,
                    by,
                } => {
                    if !self.docs.loaded.contains_key(&doc) {
                        continue;
                    }
                    self.docs.pending.remove(&doc);
                    self.docs.records.insert(
                        doc,
                        DocRecord {
                            id: doc,
                            team: team.clone(),
                            kind: StoredKind::Lead,
                            member: Some(owner.clone()),
                            heads: Vec::new(),
                            chunks: 0,
                        },
                    );
                    let who = format!("{team}/{by}");
                    self.acl.set_owner(doc, team, owner.clone());
                    self.out
                        .events
                        .push(RelayEvent::NewLead { doc, who, owner });
                }
                Admitted::Owner { doc, owner } => self.set_owner(doc, owner),
                Admitted::Team { .. } => {}
            }
        }
    }

    fn set_owner(&mut self, doc: DocumentId, owner: MemberId) {
        let Some(record) = self.docs.records.get_mut(&doc) else {
            return;
        };
        if record.member.as_ref() == Some(&owner) {
            return;
        }
        record.member = Some(owner.clone());
        if let Some(from) = self.acl.set_owner(doc, record.team.clone(), owner.clone()) {
            self.out.events.push(RelayEvent::Reassigned {
                doc,
                from,
                to: owner,
            });
        }
    }

    /// A lead's owner folded from its events, as the devices fold it, after a change the
    /// write model did not see (an admin command's).
    fn refresh_owner(&mut self, id: DocumentId) {
        let Some(record) = self.docs.records.get(&id) else {
            return;
        };
        if record.kind != StoredKind::Lead {
            return;
        }
        let (Some(doc), Some(team)) = (self.docs.loaded.get(&id), self.acl.team(&record.team))
        else {
            return;
        };
        match lead_doc::read_lead(doc) {
            Ok(read) => {
                let owner = LeadFacts::from_lead(&team.playbook, &read.lead).owner;
                self.set_owner(id, owner);
            }
            Err(e) => self.out.events.push(RelayEvent::Problem {
                doc: Some(id),
                message: format!("a changed lead does not read; its owner stays: {e}"),
            }),
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
                self.out.events.push(RelayEvent::Problem {
                    doc: Some(id),
                    message: format!("the team document does not read; access stays: {e}"),
                });
                return;
            }
        };
        let members: Vec<MemberId> = team.members.iter().map(|m| m.id.clone()).collect();
        let team_id = team.id.clone();
        self.acl.set_team(id, team);
        for member in members {
            self.ensure_index(&team_id, &member);
        }
        self.mark_dirty(id);
        for lead in self.acl.leads_of(&team_id) {
            self.mark_dirty(lead);
        }
    }

    /// Creates a member's index document if there is none. A document of another kind at its
    /// derived id (written before the reserved space) is reported, never overwritten.
    fn ensure_index(&mut self, team: &TeamId, member: &MemberId) {
        let id = index_doc::index_document_id(team, member);
        if let Some(record) = self.docs.records.get(&id)
            && (record.kind != StoredKind::Index
                || &record.team != team
                || record.member.as_ref() != Some(member))
        {
            self.out.events.push(RelayEvent::Problem {
                doc: Some(id),
                message: format!(
                    "the index document id of {team}/{member} is taken by a {} document: \
                     the member gets no index until it is moved",
                    record.kind.as_str()
                ),
            });
            return;
        }
        self.acl.set_index(id, team.clone(), member.clone());
        if self.docs.pending.remove(&id).is_some() {
            // An empty document a client's sync session opened at this id (it may not write
            // there): the index takes its place.
            self.docs.loaded.remove(&id);
        }
        if self.docs.records.contains_key(&id) || self.docs.loaded.contains_key(&id) {
            return;
        }
        let doc = match index_doc::create_index(team, member, self.docs.actor.clone(), self.now) {
            Ok(doc) => doc,
            Err(e) => {
                self.out.events.push(RelayEvent::Problem {
                    doc: Some(id),
                    message: format!("cannot create an index document: {e}"),
                });
                return;
            }
        };
        let record = DocRecord {
            id,
            team: team.clone(),
            kind: StoredKind::Index,
            member: Some(member.clone()),
            heads: sorted_heads(&doc),
            chunks: 1,
        };
        self.out.writes.push(StoreWrite::ReplaceDoc {
            doc: id,
            bytes: doc.save(),
        });
        self.out.writes.push(StoreWrite::PutRecord(record.clone()));
        self.docs.records.insert(id, record);
        self.docs.loaded.insert(id, doc);
        self.out.events.push(RelayEvent::IndexCreated {
            team: team.clone(),
            member: member.clone(),
        });
    }

    fn mark_dirty(&mut self, id: DocumentId) {
        self.dirty.insert(id);
        self.dirty_since.get_or_insert(self.now);
    }

    /// Queues the writes that store a change: a chunk (or the whole document when it is new or
    /// due for compaction) and the record with the new heads.
    fn persist_change(&mut self, id: DocumentId, bytes: Vec<u8>) {
        let (Some(record), Some(doc)) = (self.docs.records.get_mut(&id), self.docs.loaded.get(&id))
        else {
            self.out.events.push(RelayEvent::Problem {
                doc: Some(id),
                message: "a change to a document without a record was not stored".into(),
            });
            return;
        };
        if record.chunks == 0 || record.chunks + 1 >= COMPACT_AFTER_CHUNKS {
            record.chunks = 1;
            self.out.writes.push(StoreWrite::ReplaceDoc {
                doc: id,
                bytes: doc.save(),
            });
        } else {
            record.chunks += 1;
            self.out
                .writes
                .push(StoreWrite::AppendChunk { doc: id, bytes });
        }
        record.heads = sorted_heads(doc);
        self.out.writes.push(StoreWrite::PutRecord(record.clone()));
        self.out.events.push(RelayEvent::ChangePersisted);
    }

    /// Loads a stored document into memory; whether it is there now.
    fn load_doc(&mut self, id: DocumentId, loader: &mut dyn DocLoader) -> bool {
        if self.docs.loaded.contains_key(&id) {
            return true;
        }
        let problem = match loader.load(&id) {
            Ok(Some(bytes)) => match doc::load(&bytes, self.docs.actor.clone()) {
                Ok(loaded) => {
                    self.docs.loaded.insert(id, loaded);
                    return true;
                }
                Err(e) => format!("a stored document does not load: {e}"),
            },
            Ok(None) => "a stored document has no chunks".to_owned(),
            Err(e) => format!("cannot read a stored document: {e}"),
        };
        self.out.events.push(RelayEvent::Problem {
            doc: Some(id),
            message: problem,
        });
        false
    }

    /// Picks up a document an admin command wrote: merges it into the copy in memory, updates
    /// the record and access, and forwards it.
    fn stored(&mut self, mut record: DocRecord, bytes: Vec<u8>, loader: &mut dyn DocLoader) {
        let id = record.id;
        if let Some(doc) = self.docs.loaded.get_mut(&id) {
            let before = doc.get_heads();
            if let Err(e) = doc.load_incremental(&bytes) {
                self.out.events.push(RelayEvent::Problem {
                    doc: Some(id),
                    message: format!("cannot merge a document written by an admin command: {e}"),
                });
            }
            record.heads = sorted_heads(doc);
            if doc.get_heads() != before {
                self.out.writes.push(StoreWrite::PutRecord(record.clone()));
            }
        }
        let kind = record.kind;
        if let (StoredKind::Lead, Some(owner)) = (kind, &record.member) {
            self.acl.set_owner(id, record.team.clone(), owner.clone());
        }
        self.docs.records.insert(id, record);
        match kind {
            StoredKind::Team => {
                self.load_doc(id, loader);
                self.refresh_team(id);
            }
            StoredKind::Lead => {
                if self.docs.loaded.contains_key(&id) {
                    self.refresh_owner(id);
                }
                self.mark_dirty(id);
            }
            StoredKind::Index => {}
        }
        let out = self.hub.local_change(id, &mut self.docs, &self.acl);
        self.absorb(out, loader);
    }

    /// Drops the least recently used lead documents beyond the limit. Call after the turn's
    /// writes are committed (a dropped document loads again from storage).
    pub fn evict(&mut self) {
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
}

/// A document's heads as sorted hex (the form of records and index entries).
pub fn sorted_heads(doc: &Automerge) -> Vec<String> {
    let mut heads = doc::heads_to_hex(&doc.get_heads());
    heads.sort();
    heads
}

#[cfg(test)]
mod tests;
