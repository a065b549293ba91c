//! A device's side of one connection to the relay, sans-IO: `join`, the answer `peer`, then
//! per-document automerge sync of the documents the host asks for and of those the server
//! sends. It never syncs every document on connect: a reconnect costs messages for the
//! documents the host names (those changed since the last sync) plus what the server pushes.
//!
//! The host's contract, for every [`ClientOutput`], in this order:
//! 1. store `persist` (incremental document bytes: `Automerge::load_incremental` reads them back)
//!    and recompute the summaries of `changed`;
//! 2. store `sync_states` (automerge's `State::encode`, the shared heads) per document, to give
//!    back with [`Client::restore_state`] before the next [`Client::connect`];
//! 3. send `frames`, in order, as binary WebSocket messages;
//! 4. load each `need_load` document and call [`Client::loaded`];
//! 5. if `close`, close the socket (then call [`Client::disconnected`]).
//!
//! Deadlines: call [`Client::poll`] at [`Client::next_deadline`] (the join answer, and the
//! answer to each `request`).

use super::link::{self, Kind, Link, Remote};
use super::wire::{self, Limits, Message, PROTOCOL_V1, PeerId, PeerMetadata, Sealed, WireError};
use super::{DocSlot, DocSyncError, Docs};
use crate::doc::DocumentId;
use crate::write::Refusal;
use automerge::Automerge;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Tunables of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long to wait for `peer` after `join`.
    pub join_timeout: TimeDelta,
    /// How long to wait for an answer to `request` before reporting the document unavailable
    /// (automerge-repo waits for `doc-unavailable`; a relay that never answers would leave the
    /// host waiting forever).
    pub request_timeout: TimeDelta,
    /// What incoming frames may be.
    pub limits: Limits,
    /// Messages kept per document while the host loads it; later ones are dropped (the sender
    /// repeats what we did not answer).
    pub max_parked_per_doc: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            join_timeout: TimeDelta::seconds(10),
            request_timeout: TimeDelta::seconds(30),
            limits: Limits::default(),
            max_parked_per_doc: 64,
        }
    }
}

/// What went wrong; the connection goes on unless the output says `close`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A frame that is not a protocol message (ignored, as the JS client does).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The server chose a protocol version other than "1" (the connection closes).
    #[error("the server selected protocol version {0:?}, not \"1\"")]
    UnsupportedVersion(String),
    /// The server sent `error` (the connection closes).
    #[error("the server reported an error: {0}")]
    Server(String),
    /// No `peer` before the join deadline (the connection closes).
    #[error("no answer to join before the deadline")]
    JoinTimeout,
    /// A message that makes no sense in the connection's phase (ignored).
    #[error("unexpected {0} message")]
    Unexpected(String),
    /// A problem with one document's sync (the connection goes on).
    #[error(transparent)]
    Doc(#[from] DocSyncError),
}

/// What the host must do after a call (see the module documentation for the order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClientOutput {
    /// Incremental bytes of changes applied to a document; store before sending `frames`.
    pub persist: Vec<(DocumentId, Vec<u8>)>,
    /// Documents whose content changed (recompute their summaries).
    pub changed: Vec<DocumentId>,
    /// Encoded sync states that changed; store after `persist`, before sending `frames`.
    pub sync_states: Vec<(DocumentId, Vec<u8>)>,
    /// Frames to send, in order.
    pub frames: Vec<Vec<u8>>,
    /// Documents to load, then call [`Client::loaded`].
    pub need_load: Vec<DocumentId>,
    /// Documents that finished a round: both sides now hold the same changes.
    pub synced: Vec<DocumentId>,
    /// Documents the server does not have or will not share (or that got no answer in time).
    pub unavailable: Vec<DocumentId>,
    /// Writes the relay refused (it put its copy back): the host puts its copy back too and
    /// keeps what may stand (the replica does), then syncs the document again. The link's sync
    /// state for the document starts over (stored with `sync_states`).
    pub refused: Vec<RefusedWrite>,
    /// The server's peer id, when `peer` arrived.
    pub connected: Option<PeerId>,
    /// The connection is over: close the socket, then call [`Client::disconnected`].
    pub close: bool,
    /// What went wrong.
    pub errors: Vec<ClientError>,
}

/// A write the relay refused: an `error` naming the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedWrite {
    /// The document.
    pub doc: DocumentId,
    /// Why, as the relay's write model said it (absent from relays that do not send it).
    pub refusal: Option<Refusal>,
    /// The heads both sides shared before the refused write: what the relay's copy holds of
    /// this device's.
    pub shared: Vec<automerge::ChangeHash>,
    /// The relay's message, in English.
    pub message: String,
}

fn push_unique(list: &mut Vec<DocumentId>, id: DocumentId) {
    if !list.contains(&id) {
        list.push(id);
    }
}

#[derive(Debug)]
enum Phase {
    Offline,
    Joining { deadline: DateTime<Utc> },
    Connected { server: PeerId },
}

#[derive(Debug)]
struct Parked {
    data: Vec<u8>,
    request: bool,
}

#[derive(Debug)]
struct DocState {
    link: Link,
    /// The host asked for a sync that has not finished.
    wanted: bool,
    /// The last round left both sides with the same changes.
    in_sync: bool,
    waiting_load: bool,
    parked: Vec<Parked>,
    /// When an unanswered `request` gives up.
    request_deadline: Option<DateTime<Utc>>,
    /// Heads the relay sealed, sent with every message until the host clears them.
    sealed: Option<Sealed>,
}

impl DocState {
    fn new(link: Link) -> Self {
        Self {
            link,
            wanted: false,
            in_sync: false,
            waiting_load: false,
            parked: Vec::new(),
            request_deadline: None,
            sealed: None,
        }
    }
}

/// A device's side of one connection. See the module documentation.
#[derive(Debug)]
pub struct Client {
    peer_id: PeerId,
    metadata: PeerMetadata,
    config: ClientConfig,
    phase: Phase,
    docs: BTreeMap<DocumentId, DocState>,
}

impl Client {
    /// A client with this peer id (chosen by the host, stable per device) and metadata
    /// (`storageId` of the device's storage, `isEphemeral: false` for a device that keeps its
    /// sync states).
    pub fn new(peer_id: PeerId, metadata: PeerMetadata) -> Self {
        Self {
            peer_id,
            metadata,
            config: ClientConfig::default(),
            phase: Phase::Offline,
            docs: BTreeMap::new(),
        }
    }

    /// The same client with these tunables.
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Our peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// The server's peer id once `peer` arrived.
    pub fn server(&self) -> Option<&PeerId> {
        match &self.phase {
            Phase::Connected { server } => Some(server),
            _ => None,
        }
    }

    /// Puts back a sync state the host stored from `sync_states`. Call before
    /// [`Client::connect`] (or for a document not synced in this session).
    pub fn restore_state(&mut self, id: DocumentId, bytes: &[u8]) -> Result<(), ClientError> {
        let link = Link::restored(bytes)
            .map_err(|reason| DocSyncError::BadSyncState { doc: id, reason })?;
        match self.docs.get_mut(&id) {
            Some(doc) => doc.link = link,
            None => {
                self.docs.insert(id, DocState::new(link));
            }
        }
        Ok(())
    }

    /// Sends `sealed` (heads the relay sealed, from the device's index) with every message of
    /// the document until set to `None`: a relay restored from a backup takes back the changes
    /// within them from this member ([`crate::relay::seal`]).
    pub fn set_sealed(&mut self, id: DocumentId, sealed: Option<Sealed>) {
        match self.docs.get_mut(&id) {
            Some(doc) => doc.sealed = sealed,
            None if sealed.is_some() => {
                let mut state = DocState::new(Link::new());
                state.sealed = sealed;
                self.docs.insert(id, state);
            }
            None => {}
        }
    }

    /// Drops what the client keeps about a document (its sync state stays with the host).
    pub fn forget(&mut self, id: &DocumentId) {
        self.docs.remove(id);
    }

    /// Starts a connection on a new socket: returns the `join` frame. Documents the host asked
    /// for and that did not finish are synced once `peer` arrives.
    pub fn connect(&mut self, now: DateTime<Utc>) -> ClientOutput {
        self.go_offline();
        self.phase = Phase::Joining {
            deadline: now + self.config.join_timeout,
        };
        let join = Message::Join {
            sender_id: self.peer_id.clone(),
            supported_protocol_versions: Some(vec![PROTOCOL_V1.to_owned()]),
            peer_metadata: Some(self.metadata.clone()),
        };
        ClientOutput {
            frames: vec![wire::encode(&join)],
            ..ClientOutput::default()
        }
    }

    /// The heads the server last announced for a document in this connection.
    pub fn server_heads(&self, id: &DocumentId) -> Option<&[automerge::ChangeHash]> {
        self.docs.get(id)?.link.their_heads()
    }

    /// The socket closed. Sync states keep their shared heads; messages in flight are
    /// forgotten; documents in the middle of a round are synced again on the next connection.
    pub fn disconnected(&mut self) {
        self.go_offline();
    }

    /// The next time [`Client::poll`] must be called.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let join = match self.phase {
            Phase::Joining { deadline } => Some(deadline),
            _ => None,
        };
        let requests = self.docs.values().filter_map(|doc| doc.request_deadline);
        join.into_iter().chain(requests).min()
    }

    /// Handles the deadlines that passed.
    pub fn poll(&mut self, now: DateTime<Utc>) -> ClientOutput {
        let mut out = ClientOutput::default();
        if let Phase::Joining { deadline } = self.phase
            && now >= deadline
        {
            out.errors.push(ClientError::JoinTimeout);
            out.close = true;
            self.go_offline();
            return out;
        }
        for (id, doc) in &mut self.docs {
            if doc.request_deadline.is_some_and(|deadline| now >= deadline) {
                doc.request_deadline = None;
                doc.wanted = false;
                doc.link.reset_session();
                push_unique(&mut out.unavailable, *id);
            }
        }
        out
    }

    /// Starts (or continues) syncing a document: after a local change, or for a document the
    /// host knows changed elsewhere. A document the device does not hold is asked for with
    /// `request` (the host's [`Docs::create`] gives the empty document to receive it into).
    /// Offline, the document is synced once connected.
    pub fn sync_doc<D: Docs + ?Sized>(
        &mut self,
        id: DocumentId,
        docs: &mut D,
        now: DateTime<Utc>,
    ) -> ClientOutput {
        let mut out = ClientOutput::default();
        self.entry(id).wanted = true;
        if self.server().is_some() {
            self.start(id, docs, now, &mut out);
        }
        out
    }

    /// The host loaded a document it was asked to (`need_load`): the parked messages are
    /// handled and a requested sync starts.
    pub fn loaded<D: Docs + ?Sized>(
        &mut self,
        id: DocumentId,
        docs: &mut D,
        now: DateTime<Utc>,
    ) -> ClientOutput {
        let mut out = ClientOutput::default();
        let Some(state) = self.docs.get_mut(&id) else {
            return out;
        };
        state.waiting_load = false;
        let parked = std::mem::take(&mut state.parked);
        let wanted = state.wanted;
        if self.server().is_none() {
            return out;
        }
        let had_parked = !parked.is_empty();
        for message in parked {
            self.on_sync(id, message.data, message.request, docs, now, &mut out);
        }
        if wanted && !had_parked {
            self.start(id, docs, now, &mut out);
        }
        out
    }

    /// Handles one frame from the server.
    pub fn receive<D: Docs + ?Sized>(
        &mut self,
        frame: &[u8],
        docs: &mut D,
        now: DateTime<Utc>,
    ) -> ClientOutput {
        let mut out = ClientOutput::default();
        let message = match wire::decode(frame, self.config.limits) {
            Ok(message) => message,
            Err(error) => {
                out.errors.push(error.into());
                return out;
            }
        };
        match message {
            Message::Peer {
                sender_id,
                selected_protocol_version,
                ..
            } => {
                if !matches!(self.phase, Phase::Joining { .. }) {
                    out.errors.push(ClientError::Unexpected("peer".into()));
                } else if selected_protocol_version != PROTOCOL_V1 {
                    out.errors
                        .push(ClientError::UnsupportedVersion(selected_protocol_version));
                    out.close = true;
                    self.go_offline();
                } else {
                    out.connected = Some(sender_id.clone());
                    self.phase = Phase::Connected { server: sender_id };
                    let wanted: Vec<DocumentId> = self
                        .docs
                        .iter()
                        .filter(|(_, doc)| doc.wanted)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in wanted {
                        self.start(id, docs, now, &mut out);
                    }
                }
            }
            Message::Error {
                message,
                document_id: Some(doc),
                refusal,
                ..
            } => {
                // One write refused; the connection goes on. The relay dropped its sync state
                // for the document: so does this side.
                let state = self.entry(doc);
                let shared = state.link.shared_heads();
                state.link = Link::new();
                state.in_sync = false;
                if let Some(encoded) = state.link.take_state() {
                    out.sync_states.push((doc, encoded));
                }
                out.refused.push(RefusedWrite {
                    doc,
                    refusal: refusal.and_then(|json| serde_json::from_str(&json).ok()),
                    shared,
                    message,
                });
            }
            Message::Error { message, .. } => {
                out.errors.push(ClientError::Server(message));
                out.close = true;
                self.go_offline();
            }
            Message::Leave { .. } => {
                out.close = true;
                self.go_offline();
            }
            Message::Sync {
                document_id, data, ..
            } if self.server().is_some() => {
                self.on_sync(document_id, data, false, docs, now, &mut out);
            }
            Message::Request {
                document_id, data, ..
            } if self.server().is_some() => {
                self.on_sync(document_id, data, true, docs, now, &mut out);
            }
            Message::DocUnavailable { document_id, .. } if self.server().is_some() => {
                let state = self.entry(document_id);
                state.link.reset_session();
                state.link.remote = Remote::Unavailable;
                state.wanted = false;
                state.request_deadline = None;
                push_unique(&mut out.unavailable, document_id);
            }
            Message::Ephemeral { .. }
            | Message::RemoteSubscriptionChange { .. }
            | Message::RemoteHeadsChanged { .. }
            | Message::Unknown { .. } => {}
            other => {
                out.errors
                    .push(ClientError::Unexpected(other.message_type().to_owned()));
            }
        }
        out
    }

    fn entry(&mut self, id: DocumentId) -> &mut DocState {
        self.docs
            .entry(id)
            .or_insert_with(|| DocState::new(Link::new()))
    }

    fn go_offline(&mut self) {
        self.phase = Phase::Offline;
        for doc in self.docs.values_mut() {
            // A round that did not finish is finished on the next connection.
            if doc.link.active && !doc.in_sync {
                doc.wanted = true;
            }
            doc.link.reset_session();
            doc.parked.clear();
            doc.request_deadline = None;
        }
    }

    /// Sends what the document needs now (the host asked for it).
    fn start<D: Docs + ?Sized>(
        &mut self,
        id: DocumentId,
        docs: &mut D,
        now: DateTime<Utc>,
        out: &mut ClientOutput,
    ) {
        let Phase::Connected { server } = &self.phase else {
            return;
        };
        let server = server.clone();
        let request_timeout = self.config.request_timeout;
        let state = self
            .docs
            .entry(id)
            .or_insert_with(|| DocState::new(Link::new()));
        let doc = match docs.get(&id) {
            DocSlot::Loaded(doc) => doc,
            DocSlot::NotLoaded => {
                if !state.waiting_load {
                    state.waiting_load = true;
                    out.need_load.push(id);
                }
                return;
            }
            DocSlot::Absent => match docs.create(&id) {
                Some(doc) => doc,
                None => {
                    state.wanted = false;
                    push_unique(&mut out.unavailable, id);
                    return;
                }
            },
        };
        if state.link.remote == Remote::Unavailable && doc.get_heads().is_empty() {
            // Asked again: perhaps someone uploaded it since.
            state.link.remote = Remote::Unknown;
        }
        respond(
            id,
            state,
            doc,
            &self.peer_id,
            &server,
            now,
            request_timeout,
            out,
        );
    }

    /// Handles a `sync` or `request` for a document.
    fn on_sync<D: Docs + ?Sized>(
        &mut self,
        id: DocumentId,
        data: Vec<u8>,
        request: bool,
        docs: &mut D,
        now: DateTime<Utc>,
        out: &mut ClientOutput,
    ) {
        let Phase::Connected { server } = &self.phase else {
            return;
        };
        let server = server.clone();
        let max_parked = self.config.max_parked_per_doc;
        let request_timeout = self.config.request_timeout;
        let state = self
            .docs
            .entry(id)
            .or_insert_with(|| DocState::new(Link::new()));
        let doc = match docs.get(&id) {
            DocSlot::Loaded(doc) => doc,
            DocSlot::NotLoaded => {
                if state.parked.len() < max_parked {
                    state.parked.push(Parked { data, request });
                } else {
                    out.errors.push(DocSyncError::ParkedOverflow(id).into());
                }
                if !state.waiting_load {
                    state.waiting_load = true;
                    out.need_load.push(id);
                }
                return;
            }
            DocSlot::Absent => {
                // Take a document the server sends (it has heads), unless the host declines.
                let created = if !request && link::carries_heads(&data) {
                    docs.create(&id)
                } else {
                    None
                };
                match created {
                    Some(doc) => doc,
                    None => {
                        out.frames.push(wire::encode(&Message::DocUnavailable {
                            sender_id: self.peer_id.clone(),
                            target_id: server,
                            document_id: id,
                        }));
                        return;
                    }
                }
            }
        };
        let received = state.link.receive(doc, &data, request, false);
        state.request_deadline = None;
        if let Some(reason) = received.error {
            out.errors
                .push(DocSyncError::BadSyncMessage { doc: id, reason }.into());
        }
        if let Some(before) = received.changed_from {
            out.persist.push((id, doc.save_after(&before)));
            push_unique(&mut out.changed, id);
        }
        respond(
            id,
            state,
            doc,
            &self.peer_id,
            &server,
            now,
            request_timeout,
            out,
        );
    }
}

/// Sends the document's next message, if any, and reports the round's end and the new state.
#[allow(clippy::too_many_arguments)]
fn respond(
    id: DocumentId,
    state: &mut DocState,
    doc: &Automerge,
    me: &PeerId,
    server: &PeerId,
    now: DateTime<Utc>,
    request_timeout: TimeDelta,
    out: &mut ClientOutput,
) {
    if let Some((kind, data)) = state.link.generate(doc, false, true) {
        let message = match kind {
            Kind::Request => {
                state.request_deadline = Some(now + request_timeout);
                Message::Request {
                    sender_id: me.clone(),
                    target_id: server.clone(),
                    document_id: id,
                    data,
                    sealed: state.sealed.clone(),
                }
            }
            Kind::Sync => Message::Sync {
                sender_id: me.clone(),
                target_id: server.clone(),
                document_id: id,
                data,
                sealed: state.sealed.clone(),
            },
        };
        out.frames.push(wire::encode(&message));
    }
    state.in_sync = state.link.in_sync(doc);
    if state.link.take_synced(doc, state.wanted) {
        state.wanted = false;
        push_unique(&mut out.synced, id);
    }
    if let Some(encoded) = state.link.take_state() {
        out.sync_states.push((id, encoded));
    }
}
