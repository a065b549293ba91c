//! A light device: the core's sans-IO sync [`Client`] with its documents in a map, over a real
//! WebSocket. No replica, no summaries, no team or index documents required, so it talks to any
//! automerge-repo server — our relay, or the JS sync server in the interop tests and the load
//! benchmark.

use crate::{WAIT, Ws, open_ws};
use automerge::{ActorId, Automerge};
use chrono::Utc;
use fieldbook_core::doc::{self, DocumentId};
use fieldbook_core::sync::client::{Client, ClientError, ClientOutput};
use fieldbook_core::sync::wire::{PeerId, PeerMetadata};
use fieldbook_core::sync::{DocSlot, Docs};
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The documents a [`Peer`] holds, all in memory; it takes every document a server sends.
#[derive(Debug)]
pub struct DocMap {
    /// The documents.
    pub docs: BTreeMap<DocumentId, Automerge>,
    actor: ActorId,
}

impl Docs for DocMap {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        self.docs
            .get_mut(id)
            .map_or(DocSlot::Absent, DocSlot::Loaded)
    }

    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        let actor = self.actor.clone();
        Some(
            self.docs
                .entry(*id)
                .or_insert_with(|| doc::new_document(actor)),
        )
    }
}

/// What a [`Peer`] has been told since it was created.
#[derive(Debug, Default)]
pub struct PeerLog {
    /// Documents that finished a round (both sides hold the same changes), in order.
    pub synced: Vec<DocumentId>,
    /// Documents the server reported unavailable, in order.
    pub unavailable: Vec<DocumentId>,
    /// Protocol errors the client reported.
    pub errors: Vec<ClientError>,
    /// Frames sent.
    pub frames_out: u64,
    /// Frames received.
    pub frames_in: u64,
}

/// A light device. See the module documentation.
#[derive(Debug)]
pub struct Peer {
    /// For messages.
    pub name: String,
    /// The protocol client.
    pub client: Client,
    /// Its documents.
    pub docs: DocMap,
    /// The sync states the client asked to store (to restore after a reconnect).
    pub sync_states: BTreeMap<DocumentId, Vec<u8>>,
    /// What happened.
    pub log: PeerLog,
    ws: Option<Ws>,
    outbox: Vec<Vec<u8>>,
}

impl Peer {
    /// A peer with this peer id and a random Automerge actor.
    pub fn new(name: &str, peer_id: &str) -> Self {
        Self {
            name: name.to_owned(),
            client: Client::new(
                PeerId::new(peer_id),
                PeerMetadata {
                    storage_id: None,
                    is_ephemeral: false,
                },
            ),
            docs: DocMap {
                docs: BTreeMap::new(),
                actor: fieldbook_server::relay::admin::random_actor(),
            },
            sync_states: BTreeMap::new(),
            log: PeerLog::default(),
            ws: None,
            outbox: Vec::new(),
        }
    }

    /// Whether the socket is open and `peer` arrived.
    pub fn connected(&self) -> bool {
        self.ws.is_some() && self.client.server().is_some()
    }

    /// Opens a socket to `url`, joins, and waits for `peer` (bounded by [`WAIT`]).
    pub async fn connect(&mut self, url: &str) {
        let ws = open_ws(url)
            .await
            .unwrap_or_else(|(s, b)| panic!("{}: refused {s}: {b}", self.name));
        self.ws = Some(ws);
        // Sync states stored in an earlier connection go back to the client first.
        for (id, state) in &self.sync_states {
            self.client.restore_state(*id, state).unwrap();
        }
        let out = self.client.connect(Utc::now());
        self.carry_out(out);
        self.flush().await;
        self.pump_until("peer", |p| p.client.server().is_some())
            .await;
    }

    /// Drops the socket (as when the network goes away).
    pub fn disconnect(&mut self) {
        self.ws = None;
        self.outbox.clear();
        self.client.disconnected();
    }

    /// The document, if this peer holds it with at least one change.
    pub fn doc(&self, id: &DocumentId) -> Option<&Automerge> {
        self.docs
            .docs
            .get(id)
            .filter(|doc| !doc.get_heads().is_empty())
    }

    /// Adds a document this peer made.
    pub fn insert(&mut self, id: DocumentId, doc: Automerge) {
        self.docs.docs.insert(id, doc);
    }

    /// Changes a held document in one transaction (a local change; call [`Peer::sync`] after).
    pub fn change<F>(&mut self, id: &DocumentId, edit: F)
    where
        F: FnOnce(&mut automerge::transaction::Transaction<'_>),
    {
        let doc = self
            .docs
            .docs
            .get_mut(id)
            .expect("the peer holds the document");
        let mut tx = doc.transaction();
        edit(&mut tx);
        tx.commit_with(doc::commit_options(Utc::now()));
    }

    /// Starts syncing a document (asks for it with `request` if not held) and sends at once.
    pub async fn sync(&mut self, id: DocumentId) {
        let out = self.client.sync_doc(id, &mut self.docs, Utc::now());
        self.carry_out(out);
        self.flush().await;
    }

    /// Carries out a client output as a host does; returns the documents that changed.
    pub fn carry_out(&mut self, out: ClientOutput) -> Vec<DocumentId> {
        // `persist` is already in the documents (this host keeps nothing else).
        for (id, state) in out.sync_states {
            self.sync_states.insert(id, state);
        }
        self.outbox.extend(out.frames);
        self.log.synced.extend(out.synced);
        self.log.unavailable.extend(out.unavailable);
        self.log.errors.extend(out.errors);
        assert!(out.need_load.is_empty(), "every document is in memory");
        if out.close {
            self.disconnect();
        }
        out.changed
    }

    /// Sends the queued frames.
    pub async fn flush(&mut self) {
        let frames = std::mem::take(&mut self.outbox);
        let Some(ws) = self.ws.as_mut() else {
            return;
        };
        for frame in frames {
            self.log.frames_out += 1;
            if ws.send(WsMessage::Binary(frame.into())).await.is_err() {
                self.disconnect();
                return;
            }
        }
    }

    /// Waits for the next frame until `deadline`, handles it and sends the answers; returns the
    /// documents it changed, or `None` at the deadline or when the socket closed.
    pub async fn step(&mut self, deadline: Instant) -> Option<Vec<DocumentId>> {
        let ws = self.ws.as_mut()?;
        let message = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        match message {
            Some(Ok(WsMessage::Binary(frame))) => {
                self.log.frames_in += 1;
                let out = self.client.receive(&frame, &mut self.docs, Utc::now());
                let changed = self.carry_out(out);
                self.flush().await;
                Some(changed)
            }
            Some(Ok(WsMessage::Close(_)) | Err(_)) | None => {
                self.disconnect();
                None
            }
            Some(Ok(_)) => Some(Vec::new()),
        }
    }

    /// Handles frames until `done` holds; panics after [`WAIT`] naming `what`.
    pub async fn pump_until<F>(&mut self, what: &str, mut done: F)
    where
        F: FnMut(&Self) -> bool,
    {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            assert!(
                self.ws.is_some(),
                "{}: the socket closed while waiting for {what}; {:?}",
                self.name,
                self.log
            );
            let poll_at = Instant::now() + std::time::Duration::from_millis(200);
            if self.step(deadline.min(poll_at)).await.is_none() {
                assert!(
                    Instant::now() < deadline,
                    "{}: timed out waiting for {what}; {:?}",
                    self.name,
                    self.log
                );
                if let Some(at) = self.client.next_deadline()
                    && at <= Utc::now()
                {
                    let out = self.client.poll(Utc::now());
                    self.carry_out(out);
                    self.flush().await;
                }
            }
        }
    }
}

/// Pumps two peers until `done` holds (each peer's frames are handled as they come); panics
/// after [`WAIT`] naming `what`.
pub async fn pump_both<F>(a: &mut Peer, b: &mut Peer, what: &str, mut done: F)
where
    F: FnMut(&Peer, &Peer) -> bool,
{
    let deadline = Instant::now() + WAIT;
    while !done(a, b) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; {}: {:?}; {}: {:?}",
            a.name,
            a.log,
            b.name,
            b.log
        );
        let slice = Instant::now() + std::time::Duration::from_millis(20);
        a.step(slice).await;
        let slice = Instant::now() + std::time::Duration::from_millis(20);
        b.step(slice).await;
    }
}
