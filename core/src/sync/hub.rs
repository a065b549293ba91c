//! The relay's side of the protocol, sans-IO: many connections (ids from the host), `join`
//! answered with `peer`, per-document sync through the host's lazily loaded [`Docs`], an access
//! [`Policy`] per (connection, document), and every change applied from one connection
//! forwarded to the other connections syncing that document.
//!
//! The host's contract, for every [`HubOutput`], in this order:
//! 1. store `persist` (incremental bytes of the changes applied; `Automerge::load_incremental`
//!    reads them back). A change is acknowledged and forwarded only by `frames`, so a relay
//!    killed after step 1 loses nothing it acknowledged;
//! 2. store `sync_states` (per connection's peer and document) if it keeps them;
//! 3. send `frames` to their connections, in order;
//! 4. close the connections in `close` (then call [`Hub::remove_connection`]);
//! 5. load each `need_load` document and call [`Hub::loaded`].
//!
//! Access: [`Access::None`] is answered with `doc-unavailable`, byte for byte as for a
//! document the hub does not hold, before the document is even looked up. With
//! [`Access::Read`] the peer receives changes but automerge ignores its own (its sync state is
//! read-only, which also tells the peer to stop sending them); the peer is told with an `error`
//! naming the document ([`Policy::read_only`]), so that it drops its local changes.
//!
//! Writes: after a peer's message changed a document, [`Policy::admit`] judges the changes
//! (the write model). A refusal puts the document back as it was before the message (or
//! forgets a document the message created), drops the peer's sync state for it, and answers
//! with an `error` naming the document and the refusal; nothing is persisted or forwarded.

use super::link::{self, Link, Remote};
use super::wire::{self, Limits, Message, PROTOCOL_V1, PeerId, PeerMetadata, Sealed, WireError};
use super::{DocSlot, DocSyncError, Docs};
use crate::doc::DocumentId;
use crate::ids::MemberId;
use crate::write::Refusal;
use automerge::{Automerge, ChangeHash};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// A connection, numbered by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What a connection may do with a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Nothing: the document looks missing.
    None,
    /// Receive changes; the peer's changes are ignored.
    Read,
    /// Receive and send changes (and create the document if it is new).
    ReadWrite,
}

/// Who may see which document, decided by the host (the relay knows who authenticated on each
/// connection; `peer` is only what the client calls itself).
pub trait Policy {
    /// The access of a connection to a document.
    fn access(&self, conn: ConnId, peer: &PeerId, doc: &DocumentId) -> Access;

    /// Judges the changes a message from `conn` applied to `doc_id` (`doc` now; `before` its
    /// heads before them, empty for a document the message created; `sealed` the heads the
    /// message says the relay sealed, see [`crate::relay::seal`]). Accepts by default.
    fn admit(
        &self,
        _conn: ConnId,
        _doc_id: &DocumentId,
        _doc: &Automerge,
        _before: &[ChangeHash],
        _sealed: Option<&Sealed>,
    ) -> Result<(), Refusal> {
        Ok(())
    }

    /// What to tell a connection whose changes to a read-only document were ignored.
    fn read_only(&self, _conn: ConnId, peer: &PeerId, _doc: &DocumentId) -> Refusal {
        Refusal::ReadOnly {
            writer: MemberId::from(peer.as_str()),
        }
    }
}

/// Tunables of a hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubConfig {
    /// How long a new connection may take to send `join`.
    pub join_timeout: TimeDelta,
    /// What incoming frames may be.
    pub limits: Limits,
    /// Messages kept per document while the host loads it; later ones are dropped (their
    /// senders repeat what was not answered).
    pub max_parked_per_doc: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            join_timeout: TimeDelta::seconds(10),
            limits: Limits::default(),
            max_parked_per_doc: 256,
        }
    }
}

/// What went wrong on a connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// A frame that is not a protocol message: answered with `error`, then closed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// `join` without protocol "1": answered with `error`, then closed.
    #[error("unsupported protocol versions {0:?}")]
    UnsupportedVersion(Vec<String>),
    /// No `join` before the deadline: closed.
    #[error("no join before the deadline")]
    JoinTimeout,
    /// A message before `join`, or one only a server sends (ignored).
    #[error("unexpected {0} message")]
    Unexpected(String),
    /// A problem with one document's sync (the connection goes on).
    #[error(transparent)]
    Doc(#[from] DocSyncError),
    /// Another connection joined with the same peer id (closed, as the JS server does).
    #[error("replaced by a newer connection of the same peer")]
    Replaced,
}

/// What the host must do after a call (see the module documentation for the order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HubOutput {
    /// Incremental bytes of changes applied to documents: store before sending `frames`.
    pub persist: Vec<(DocumentId, Vec<u8>)>,
    /// Documents whose content changed through the protocol.
    pub changed: Vec<DocumentId>,
    /// Encoded sync states that changed, per connection and document.
    pub sync_states: Vec<(ConnId, DocumentId, Vec<u8>)>,
    /// Frames to send, in order.
    pub frames: Vec<(ConnId, Vec<u8>)>,
    /// Connections to close.
    pub close: Vec<ConnId>,
    /// Connections that joined: their peer id and metadata.
    pub joined: Vec<(ConnId, PeerId, Option<PeerMetadata>)>,
    /// Documents to load, then call [`Hub::loaded`].
    pub need_load: Vec<DocumentId>,
    /// What went wrong, per connection.
    pub errors: Vec<(ConnId, HubError)>,
    /// Writes refused (rolled back and answered with an `error`), per connection.
    pub refused: Vec<(ConnId, DocumentId, Refusal)>,
}

#[derive(Debug)]
enum Phase {
    Joining { deadline: Option<DateTime<Utc>> },
    Joined { peer: PeerId },
}

#[derive(Debug)]
struct Conn {
    phase: Phase,
    links: BTreeMap<DocumentId, Link>,
    /// Highest ephemeral `count` seen per (sender, session), as `NetworkSubsystem` keeps.
    ephemeral_seen: BTreeMap<(PeerId, String), u64>,
}

/// A `sync` or `request` as the hub handles it.
#[derive(Debug)]
struct SyncIn {
    data: Vec<u8>,
    request: bool,
    sealed: Option<Sealed>,
}

#[derive(Debug)]
enum Parked {
    Sync {
        data: Vec<u8>,
        request: bool,
        sealed: Option<Sealed>,
    },
    Announce,
}

#[derive(Debug, Default)]
struct DocEntry {
    /// Connections with a link to this document.
    subscribers: BTreeSet<ConnId>,
    waiting_load: bool,
    parked: Vec<(ConnId, Parked)>,
    local_change: bool,
}

/// The relay's side of the protocol. See the module documentation.
#[derive(Debug)]
pub struct Hub {
    peer_id: PeerId,
    metadata: PeerMetadata,
    config: HubConfig,
    conns: BTreeMap<ConnId, Conn>,
    docs: BTreeMap<DocumentId, DocEntry>,
}

impl Hub {
    /// A hub answering with this peer id and metadata.
    pub fn new(peer_id: PeerId, metadata: PeerMetadata) -> Self {
        Self {
            peer_id,
            metadata,
            config: HubConfig::default(),
            conns: BTreeMap::new(),
            docs: BTreeMap::new(),
        }
    }

    /// The same hub with these tunables.
    pub fn with_config(mut self, config: HubConfig) -> Self {
        self.config = config;
        self
    }

    /// A new socket: it must `join` before the join timeout.
    pub fn add_connection(&mut self, conn: ConnId, now: DateTime<Utc>) {
        self.conns
            .insert(conn, Conn::new(Some(now + self.config.join_timeout)));
    }

    /// The socket closed: the connection's sync states and parked messages are dropped.
    pub fn remove_connection(&mut self, conn: ConnId) {
        let Some(removed) = self.conns.remove(&conn) else {
            return;
        };
        for doc in removed.links.keys() {
            if let Some(entry) = self.docs.get_mut(doc) {
                entry.subscribers.remove(&conn);
            }
        }
        for entry in self.docs.values_mut() {
            entry.parked.retain(|(from, _)| *from != conn);
        }
        self.docs.retain(|_, entry| !entry.is_idle());
    }

    /// The peer id a connection joined with.
    pub fn peer_of(&self, conn: ConnId) -> Option<&PeerId> {
        match &self.conns.get(&conn)?.phase {
            Phase::Joined { peer } => Some(peer),
            Phase::Joining { .. } => None,
        }
    }

    /// Puts back a sync state the host stored for this connection's peer and document (after
    /// `joined`, before the peer syncs the document).
    pub fn restore_state(
        &mut self,
        conn: ConnId,
        doc: DocumentId,
        bytes: &[u8],
    ) -> Result<(), HubError> {
        let link =
            Link::restored(bytes).map_err(|reason| DocSyncError::BadSyncState { doc, reason })?;
        if let Some(connection) = self.conns.get_mut(&conn) {
            connection.links.insert(doc, link);
            self.docs.entry(doc).or_default().subscribers.insert(conn);
        }
        Ok(())
    }

    /// The next time [`Hub::poll`] must be called.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.conns
            .values()
            .filter_map(|conn| match conn.phase {
                Phase::Joining { deadline } => deadline,
                Phase::Joined { .. } => None,
            })
            .min()
    }

    /// Closes the connections that did not join in time.
    pub fn poll(&mut self, now: DateTime<Utc>) -> HubOutput {
        let mut out = HubOutput::default();
        for (id, conn) in &self.conns {
            if let Phase::Joining {
                deadline: Some(deadline),
            } = conn.phase
                && now >= deadline
            {
                out.errors.push((*id, HubError::JoinTimeout));
                out.close.push(*id);
            }
        }
        out
    }

    /// Handles one frame from a connection.
    pub fn receive<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        conn: ConnId,
        frame: &[u8],
        docs: &mut D,
        policy: &P,
    ) -> HubOutput {
        let mut out = HubOutput::default();
        self.conns.entry(conn).or_insert_with(|| Conn::new(None));
        let message = match wire::decode(frame, self.config.limits) {
            Ok(message) => message,
            Err(error) => {
                // The JS server closes a connection that sends an undecodable message; we
                // also say why.
                self.send_error(conn, &error.to_string(), &mut out);
                out.errors.push((conn, error.into()));
                out.close.push(conn);
                return out;
            }
        };
        let joined = self.peer_of(conn).cloned();
        match (message, joined) {
            (
                Message::Join {
                    sender_id,
                    supported_protocol_versions,
                    peer_metadata,
                },
                _,
            ) => self.join(
                conn,
                sender_id,
                supported_protocol_versions,
                peer_metadata,
                &mut out,
            ),
            (Message::Leave { .. }, _) => {
                out.close.push(conn);
            }
            (
                Message::Sync {
                    document_id,
                    data,
                    sealed,
                    ..
                },
                Some(peer),
            ) => {
                let message = SyncIn {
                    data,
                    request: false,
                    sealed,
                };
                self.on_sync(conn, &peer, document_id, message, docs, policy, &mut out);
            }
            (
                Message::Request {
                    document_id,
                    data,
                    sealed,
                    ..
                },
                Some(peer),
            ) => {
                let message = SyncIn {
                    data,
                    request: true,
                    sealed,
                };
                self.on_sync(conn, &peer, document_id, message, docs, policy, &mut out);
            }
            (Message::DocUnavailable { document_id, .. }, Some(_)) => {
                if let Some(link) = self.link_mut(conn, &document_id) {
                    link.reset_session();
                    link.remote = Remote::Unavailable;
                }
            }
            (message @ Message::Ephemeral { .. }, Some(peer)) => {
                self.on_ephemeral(conn, &peer, message, policy, &mut out)
            }
            (
                Message::RemoteSubscriptionChange { .. }
                | Message::RemoteHeadsChanged { .. }
                | Message::Unknown { .. },
                _,
            ) => {}
            (other, _) => {
                out.errors
                    .push((conn, HubError::Unexpected(other.message_type().to_owned())));
            }
        }
        out
    }

    /// The host loaded a document it was asked to (`need_load`): parked messages are handled,
    /// then any pending local change or announcement.
    pub fn loaded<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        doc: DocumentId,
        docs: &mut D,
        policy: &P,
    ) -> HubOutput {
        let mut out = HubOutput::default();
        let Some(entry) = self.docs.get_mut(&doc) else {
            return out;
        };
        entry.waiting_load = false;
        let parked = std::mem::take(&mut entry.parked);
        let local_change = std::mem::take(&mut entry.local_change);
        for (conn, message) in parked {
            let Some(peer) = self.peer_of(conn).cloned() else {
                continue;
            };
            match message {
                Parked::Sync {
                    data,
                    request,
                    sealed,
                } => {
                    let message = SyncIn {
                        data,
                        request,
                        sealed,
                    };
                    self.on_sync(conn, &peer, doc, message, docs, policy, &mut out);
                }
                Parked::Announce => self.announce(conn, &peer, doc, docs, policy, &mut out),
            }
        }
        if local_change {
            self.local_change_into(doc, docs, policy, &mut out);
        }
        out
    }

    /// The host changed a document itself (e.g. the relay rewrote a member's index document):
    /// the connections syncing it receive the change. The host stores its own change.
    pub fn local_change<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        doc: DocumentId,
        docs: &mut D,
        policy: &P,
    ) -> HubOutput {
        let mut out = HubOutput::default();
        self.local_change_into(doc, docs, policy, &mut out);
        out
    }

    /// Offers a document to a joined connection that has not asked for it (e.g. a member's
    /// index document right after `joined`), if the policy lets it read the document.
    pub fn sync_doc<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        conn: ConnId,
        doc: DocumentId,
        docs: &mut D,
        policy: &P,
    ) -> HubOutput {
        let mut out = HubOutput::default();
        if let Some(peer) = self.peer_of(conn).cloned() {
            self.announce(conn, &peer, doc, docs, policy, &mut out);
        }
        out
    }

    fn join(
        &mut self,
        conn: ConnId,
        sender_id: PeerId,
        versions: Option<Vec<String>>,
        metadata: Option<PeerMetadata>,
        out: &mut HubOutput,
    ) {
        // WebSocketServerAdapter.selectProtocol: no list means "1".
        let supported = versions
            .as_ref()
            .is_none_or(|versions| versions.iter().any(|v| v == PROTOCOL_V1));
        if !supported {
            out.frames.push((
                conn,
                wire::encode(&Message::Error {
                    sender_id: Some(self.peer_id.clone()),
                    target_id: Some(sender_id),
                    message: "unsupported protocol version".into(),
                    document_id: None,
                    refusal: None,
                }),
            ));
            out.errors.push((
                conn,
                HubError::UnsupportedVersion(versions.unwrap_or_default()),
            ));
            out.close.push(conn);
            return;
        }
        // A peer id joins on one socket at a time: the older socket closes (as in the JS
        // WebSocketServerAdapter).
        let replaced: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| {
                **id != conn && matches!(&c.phase, Phase::Joined { peer } if *peer == sender_id)
            })
            .map(|(id, _)| *id)
            .collect();
        for old in replaced {
            out.errors.push((old, HubError::Replaced));
            out.close.push(old);
            self.remove_connection(old);
        }
        // A second join on the same socket starts over.
        let old_links = self
            .conns
            .insert(
                conn,
                Conn {
                    phase: Phase::Joined {
                        peer: sender_id.clone(),
                    },
                    links: BTreeMap::new(),
                    ephemeral_seen: BTreeMap::new(),
                },
            )
            .map(|c| c.links)
            .unwrap_or_default();
        for doc in old_links.keys() {
            if let Some(entry) = self.docs.get_mut(doc) {
                entry.subscribers.remove(&conn);
            }
        }
        out.frames.push((
            conn,
            wire::encode(&Message::Peer {
                sender_id: self.peer_id.clone(),
                target_id: sender_id.clone(),
                selected_protocol_version: PROTOCOL_V1.into(),
                peer_metadata: Some(self.metadata.clone()),
            }),
        ));
        out.joined.push((conn, sender_id, metadata));
    }

    fn unavailable(&self, conn: ConnId, peer: &PeerId, doc: DocumentId, out: &mut HubOutput) {
        out.frames.push((
            conn,
            wire::encode(&Message::DocUnavailable {
                sender_id: self.peer_id.clone(),
                target_id: peer.clone(),
                document_id: doc,
            }),
        ));
    }

    fn send_error(&self, conn: ConnId, message: &str, out: &mut HubOutput) {
        out.frames.push((
            conn,
            wire::encode(&Message::Error {
                sender_id: Some(self.peer_id.clone()),
                target_id: self.peer_of(conn).cloned(),
                message: message.to_owned(),
                document_id: None,
                refusal: None,
            }),
        ));
    }

    /// Tells a connection its write to `doc` was refused, and why.
    fn refuse(&self, conn: ConnId, doc: DocumentId, refusal: Refusal, out: &mut HubOutput) {
        out.frames.push((
            conn,
            wire::encode(&Message::Error {
                sender_id: Some(self.peer_id.clone()),
                target_id: self.peer_of(conn).cloned(),
                message: format!("write to {doc} refused: {refusal}"),
                document_id: Some(doc),
                refusal: serde_json::to_string(&refusal).ok(),
            }),
        ));
        out.refused.push((conn, doc, refusal));
    }

    fn link_mut(&mut self, conn: ConnId, doc: &DocumentId) -> Option<&mut Link> {
        self.conns.get_mut(&conn)?.links.get_mut(doc)
    }

    fn unlink(&mut self, conn: ConnId, doc: &DocumentId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.links.remove(doc);
        }
        if let Some(entry) = self.docs.get_mut(doc) {
            entry.subscribers.remove(&conn);
        }
    }

    fn park(&mut self, conn: ConnId, doc: DocumentId, message: Parked, out: &mut HubOutput) {
        let max = self.config.max_parked_per_doc;
        let entry = self.docs.entry(doc).or_default();
        if entry.parked.len() < max {
            entry.parked.push((conn, message));
        } else {
            out.errors
                .push((conn, DocSyncError::ParkedOverflow(doc).into()));
        }
        if !entry.waiting_load {
            entry.waiting_load = true;
            out.need_load.push(doc);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_sync<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        conn: ConnId,
        peer: &PeerId,
        doc_id: DocumentId,
        message: SyncIn,
        docs: &mut D,
        policy: &P,
        out: &mut HubOutput,
    ) {
        let SyncIn {
            data,
            request,
            sealed,
        } = message;
        let access = policy.access(conn, peer, &doc_id);
        if access == Access::None {
            // Exactly what a missing document gets, decided before looking the document up.
            self.unlink(conn, &doc_id);
            self.unavailable(conn, peer, doc_id, out);
            return;
        }
        let mut created = false;
        let doc = match docs.get(&doc_id) {
            DocSlot::Loaded(doc) => doc,
            DocSlot::NotLoaded => {
                let parked = Parked::Sync {
                    data,
                    request,
                    sealed,
                };
                self.park(conn, doc_id, parked, out);
                return;
            }
            DocSlot::Absent => {
                created = true;
                // A new document (a lead created offline) is taken from a peer that may write
                // it; a `request` or a read-only peer gets `doc-unavailable`.
                let created =
                    if !request && access == Access::ReadWrite && link::carries_heads(&data) {
                        docs.create(&doc_id)
                    } else {
                        None
                    };
                match created {
                    Some(doc) => doc,
                    None => {
                        self.unlink(conn, &doc_id);
                        self.unavailable(conn, peer, doc_id, out);
                        return;
                    }
                }
            }
        };
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        let link = connection.links.entry(doc_id).or_insert_with(Link::new);
        let received = link.receive(doc, &data, request, access == Access::Read);
        if received.ignored_changes {
            let refusal = policy.read_only(conn, peer, &doc_id);
            self.refuse(conn, doc_id, refusal, out);
        }
        if let Some(before) = &received.changed_from
            && let Err(refusal) = policy.admit(conn, &doc_id, doc, before, sealed.as_ref())
        {
            // Back to the state before this message: nothing is persisted or forwarded. A
            // document that had no changes before (created by this message or an earlier one
            // of the same session) never existed.
            if created || before.is_empty() {
                docs.discard(&doc_id);
            } else {
                let actor = doc.get_actor().clone();
                match doc.fork_at(before) {
                    Ok(restored) => *doc = restored.with_actor(actor),
                    Err(e) => out.errors.push((
                        conn,
                        DocSyncError::BadSyncMessage {
                            doc: doc_id,
                            reason: format!("cannot roll back a refused write: {e}"),
                        }
                        .into(),
                    )),
                }
            }
            self.unlink(conn, &doc_id);
            self.refuse(conn, doc_id, refusal, out);
            return;
        }
        if let Some(reason) = received.error {
            out.errors.push((
                conn,
                DocSyncError::BadSyncMessage {
                    doc: doc_id,
                    reason,
                }
                .into(),
            ));
        }
        self.docs
            .entry(doc_id)
            .or_default()
            .subscribers
            .insert(conn);
        if let Some(before) = &received.changed_from {
            out.persist.push((doc_id, doc.save_after(before)));
            if !out.changed.contains(&doc_id) {
                out.changed.push(doc_id);
            }
        }
        self.send_to(conn, peer, doc_id, doc, access, out);
        if received.changed_from.is_some() {
            self.forward(doc_id, Some(conn), doc, policy, out);
        }
    }

    /// Sends a connection its next message for the document, if any.
    fn send_to(
        &mut self,
        conn: ConnId,
        peer: &PeerId,
        doc_id: DocumentId,
        doc: &Automerge,
        access: Access,
        out: &mut HubOutput,
    ) {
        let Some(link) = self.link_mut(conn, &doc_id) else {
            return;
        };
        let next = link.generate(doc, access == Access::Read, false);
        if let Some(encoded) = link.take_state() {
            out.sync_states.push((conn, doc_id, encoded));
        }
        if let Some((_, data)) = next {
            out.frames.push((
                conn,
                wire::encode(&Message::Sync {
                    sender_id: self.peer_id.clone(),
                    target_id: peer.clone(),
                    document_id: doc_id,
                    data,
                    sealed: None,
                }),
            ));
        }
    }

    /// Sends the document's new changes to every subscribed connection but `except`.
    fn forward<P: Policy + ?Sized>(
        &mut self,
        doc_id: DocumentId,
        except: Option<ConnId>,
        doc: &Automerge,
        policy: &P,
        out: &mut HubOutput,
    ) {
        let subscribers: Vec<ConnId> = self
            .docs
            .get(&doc_id)
            .map(|entry| entry.subscribers.iter().copied().collect())
            .unwrap_or_default();
        for other in subscribers {
            if Some(other) == except {
                continue;
            }
            let Some(peer) = self.peer_of(other).cloned() else {
                continue;
            };
            match policy.access(other, &peer, &doc_id) {
                Access::None => self.unlink(other, &doc_id),
                access => self.send_to(other, &peer, doc_id, doc, access, out),
            }
        }
    }

    fn local_change_into<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        doc_id: DocumentId,
        docs: &mut D,
        policy: &P,
        out: &mut HubOutput,
    ) {
        match docs.get(&doc_id) {
            DocSlot::Loaded(doc) => self.forward(doc_id, None, doc, policy, out),
            DocSlot::NotLoaded => {
                let entry = self.docs.entry(doc_id).or_default();
                if entry.subscribers.is_empty() {
                    return;
                }
                entry.local_change = true;
                if !entry.waiting_load {
                    entry.waiting_load = true;
                    out.need_load.push(doc_id);
                }
            }
            DocSlot::Absent => {}
        }
    }

    fn announce<D: Docs + ?Sized, P: Policy + ?Sized>(
        &mut self,
        conn: ConnId,
        peer: &PeerId,
        doc_id: DocumentId,
        docs: &mut D,
        policy: &P,
        out: &mut HubOutput,
    ) {
        let access = policy.access(conn, peer, &doc_id);
        if access == Access::None {
            return;
        }
        match docs.get(&doc_id) {
            DocSlot::Loaded(doc) => {
                if let Some(connection) = self.conns.get_mut(&conn) {
                    connection.links.entry(doc_id).or_insert_with(Link::new);
                    self.docs
                        .entry(doc_id)
                        .or_default()
                        .subscribers
                        .insert(conn);
                    self.send_to(conn, peer, doc_id, doc, access, out);
                }
            }
            DocSlot::NotLoaded => self.park(conn, doc_id, Parked::Announce, out),
            DocSlot::Absent => {}
        }
    }

    /// Gossips an ephemeral message to the other connections syncing the document as sent by
    /// the connection's authenticated peer (never the `senderId` it wrote), once per
    /// (sender, session, count), and only between connections that may read it.
    fn on_ephemeral<P: Policy + ?Sized>(
        &mut self,
        conn: ConnId,
        peer: &PeerId,
        message: Message,
        policy: &P,
        out: &mut HubOutput,
    ) {
        let Message::Ephemeral {
            document_id,
            count,
            session_id,
            data,
            ..
        } = message
        else {
            return;
        };
        if policy.access(conn, peer, &document_id) == Access::None {
            return;
        }
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        let key = (peer.clone(), session_id.clone());
        if connection
            .ephemeral_seen
            .get(&key)
            .is_some_and(|seen| count <= *seen)
        {
            return;
        }
        connection.ephemeral_seen.insert(key, count);
        let subscribers: Vec<ConnId> = self
            .docs
            .get(&document_id)
            .map(|entry| entry.subscribers.iter().copied().collect())
            .unwrap_or_default();
        for other in subscribers {
            if other == conn {
                continue;
            }
            let Some(target) = self.peer_of(other).cloned() else {
                continue;
            };
            if policy.access(other, &target, &document_id) == Access::None {
                continue;
            }
            out.frames.push((
                other,
                wire::encode(&Message::Ephemeral {
                    // The authenticated peer, never the id the sender wrote in the message.
                    sender_id: peer.clone(),
                    target_id: target,
                    document_id,
                    count,
                    session_id: session_id.clone(),
                    data: data.clone(),
                }),
            ));
        }
    }
}

impl Conn {
    fn new(deadline: Option<DateTime<Utc>>) -> Self {
        Self {
            phase: Phase::Joining { deadline },
            links: BTreeMap::new(),
            ephemeral_seen: BTreeMap::new(),
        }
    }
}

impl DocEntry {
    fn is_idle(&self) -> bool {
        self.subscribers.is_empty() && !self.waiting_load && self.parked.is_empty()
    }
}
