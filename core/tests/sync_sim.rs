//! Devices and one relay hub over simulated links: in-memory frame queues, a virtual clock,
//! lazy loading on both sides, persistence through the outputs only (a restarted device or an
//! evicted document comes back from the bytes the host stored). No sockets, sleeps or threads.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ROOT, ReadDoc};
use chrono::{DateTime, TimeDelta, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::sync::client::{Client, ClientError, ClientOutput};
use fieldbook_core::sync::hub::{Access, ConnId, Hub, HubOutput, Policy};
use fieldbook_core::sync::wire::{self, Limits, Message, PeerId, PeerMetadata};
use fieldbook_core::sync::{DocSlot, Docs};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// ---------------------------------------------------------------------------------------------
// The simulated world
// ---------------------------------------------------------------------------------------------

/// One side's documents: some in memory, all on "disk" (a full save followed by the
/// incremental chunks the host was told to persist).
struct Store {
    actor: ActorId,
    loaded: BTreeMap<DocumentId, Automerge>,
    disk: BTreeMap<DocumentId, Vec<u8>>,
    /// Whether `create` accepts documents this side does not hold.
    accept_new: bool,
}

impl Store {
    fn new(actor: u8) -> Self {
        Self {
            actor: ActorId::from([actor; 16]),
            loaded: BTreeMap::new(),
            disk: BTreeMap::new(),
            accept_new: true,
        }
    }

    fn load(&mut self, id: &DocumentId) {
        if !self.loaded.contains_key(id)
            && let Some(bytes) = self.disk.get(id)
        {
            let doc = Automerge::load(bytes)
                .expect("stored bytes load")
                .with_actor(self.actor.clone());
            self.loaded.insert(*id, doc);
        }
    }

    fn evict(&mut self, id: &DocumentId) {
        if self.disk.contains_key(id) {
            self.loaded.remove(id);
        }
    }

    fn persist(&mut self, id: DocumentId, bytes: &[u8]) {
        self.disk.entry(id).or_default().extend_from_slice(bytes);
    }

    /// A local edit, persisted as the replica would.
    fn edit(&mut self, id: &DocumentId, key: &str, value: i64) {
        self.load(id);
        let doc = self.loaded.get_mut(id).expect("document held");
        let before = doc.get_heads();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, key, value)?;
            Ok(())
        })
        .expect("edit");
        let bytes = doc.save_after(&before);
        self.persist(*id, &bytes);
    }

    fn create_with(&mut self, id: DocumentId, key: &str, value: i64) {
        let mut doc = Automerge::new().with_actor(self.actor.clone());
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, key, value)?;
            Ok(())
        })
        .expect("edit");
        self.disk.insert(id, doc.save());
        self.loaded.insert(id, doc);
    }

    /// The heads of a document, from memory or from disk.
    fn heads(&self, id: &DocumentId) -> Option<Vec<ChangeHash>> {
        if let Some(doc) = self.loaded.get(id) {
            return Some(doc.get_heads());
        }
        let bytes = self.disk.get(id)?;
        Some(
            Automerge::load(bytes)
                .expect("stored bytes load")
                .get_heads(),
        )
    }

    fn value(&self, id: &DocumentId, key: &str) -> Option<i64> {
        let doc = match self.loaded.get(id) {
            Some(doc) => doc.clone(),
            None => Automerge::load(self.disk.get(id)?).expect("load"),
        };
        let (value, _) = doc.get(ROOT, key).ok()??;
        value.as_i64()
    }
}

impl Docs for Store {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        if !self.loaded.contains_key(id) {
            return if self.disk.contains_key(id) {
                DocSlot::NotLoaded
            } else {
                DocSlot::Absent
            };
        }
        DocSlot::Loaded(self.loaded.get_mut(id).expect("checked"))
    }

    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        if !self.accept_new {
            return None;
        }
        let actor = self.actor.clone();
        Some(
            self.loaded
                .entry(*id)
                .or_insert_with(|| Automerge::new().with_actor(actor)),
        )
    }
}

/// Access by (peer, document); ReadWrite unless listed.
#[derive(Default)]
struct Table(BTreeMap<(String, DocumentId), Access>);

impl Policy for Table {
    fn access(&self, _conn: ConnId, peer: &PeerId, doc: &DocumentId) -> Access {
        self.0
            .get(&(peer.as_str().to_owned(), *doc))
            .copied()
            .unwrap_or(Access::ReadWrite)
    }
}

struct Device {
    peer: PeerId,
    store: Store,
    client: Client,
    /// Sync states the host stored.
    states: BTreeMap<DocumentId, Vec<u8>>,
    /// Documents changed locally and not yet reported synced (kept by the host across
    /// restarts, as the device replica would).
    dirty: BTreeSet<DocumentId>,
    synced: Vec<DocumentId>,
    unavailable: Vec<DocumentId>,
    errors: Vec<ClientError>,
    frames_seen: Vec<Vec<u8>>,
}

impl Device {
    fn new(index: usize) -> Self {
        let peer = PeerId::new(format!("device-{index}"));
        Self {
            client: new_client(&peer),
            peer,
            store: Store::new(index as u8 + 1),
            states: BTreeMap::new(),
            dirty: BTreeSet::new(),
            synced: Vec::new(),
            unavailable: Vec::new(),
            errors: Vec::new(),
            frames_seen: Vec::new(),
        }
    }
}

fn new_client(peer: &PeerId) -> Client {
    Client::new(
        peer.clone(),
        PeerMetadata {
            storage_id: Some(format!("storage-{peer}")),
            is_ephemeral: false,
        },
    )
}

struct Server {
    hub: Hub,
    store: Store,
    policy: Table,
    /// Hub-side sync states by (peer, document), restored when the peer joins again.
    states: BTreeMap<(PeerId, DocumentId), Vec<u8>>,
}

#[derive(Default)]
struct Wire {
    up: VecDeque<Vec<u8>>,
    down: VecDeque<Vec<u8>>,
    conn: Option<ConnId>,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    up: usize,
    down: usize,
}

impl Counts {
    fn total(self) -> usize {
        self.up + self.down
    }
}

struct Sim {
    now: DateTime<Utc>,
    server: Server,
    devices: Vec<Device>,
    wires: Vec<Wire>,
    next_conn: u64,
    client_loads: Vec<(usize, DocumentId)>,
    hub_loads: Vec<DocumentId>,
    counts: Counts,
    /// Whether the relay offers, on join, the documents whose heads moved since the peer's
    /// last sync (from its stored hub-side sync states).
    announce_on_join: bool,
}

fn doc_id(n: u32) -> DocumentId {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes[15] = 0xd0;
    DocumentId::from_bytes(bytes)
}

impl Sim {
    fn new(n_devices: usize) -> Self {
        Self {
            now: DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
                .expect("time")
                .with_timezone(&Utc),
            server: Server {
                hub: Hub::new(PeerId::new("relay"), PeerMetadata::default()),
                store: Store::new(0xee),
                policy: Table::default(),
                states: BTreeMap::new(),
            },
            devices: (0..n_devices).map(Device::new).collect(),
            wires: (0..n_devices).map(|_| Wire::default()).collect(),
            next_conn: 0,
            client_loads: Vec::new(),
            hub_loads: Vec::new(),
            counts: Counts::default(),
            announce_on_join: true,
        }
    }

    fn tick(&mut self) {
        self.now += TimeDelta::milliseconds(10);
    }

    fn connected(&self, i: usize) -> bool {
        self.wires[i].conn.is_some()
    }

    fn connect(&mut self, i: usize) {
        self.disconnect(i);
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.server.hub.add_connection(conn, self.now);
        self.wires[i].conn = Some(conn);
        let out = self.devices[i].client.connect(self.now);
        self.client_out(i, out);
    }

    /// The socket dies: frames in flight either way are lost.
    fn disconnect(&mut self, i: usize) {
        if let Some(conn) = self.wires[i].conn.take() {
            self.server.hub.remove_connection(conn);
            self.devices[i].client.disconnected();
        }
        self.wires[i].up.clear();
        self.wires[i].down.clear();
    }

    /// The device restarts: memory is gone, storage stays; the host gives the client its
    /// stored sync states and asks again for the documents still dirty.
    fn restart(&mut self, i: usize) {
        self.disconnect(i);
        let device = &mut self.devices[i];
        device.client = new_client(&device.peer);
        device.store.loaded.clear();
        for (id, state) in &device.states {
            device
                .client
                .restore_state(*id, state)
                .expect("stored state");
        }
        let dirty: Vec<DocumentId> = device.dirty.iter().copied().collect();
        for id in dirty {
            let out = {
                let d = &mut self.devices[i];
                d.client.sync_doc(id, &mut d.store, self.now)
            };
            self.client_out(i, out);
        }
    }

    fn edit(&mut self, i: usize, id: DocumentId, key: &str, value: i64) {
        self.devices[i].store.edit(&id, key, value);
        self.devices[i].dirty.insert(id);
        let out = {
            let d = &mut self.devices[i];
            d.client.sync_doc(id, &mut d.store, self.now)
        };
        self.client_out(i, out);
    }

    fn sync_doc(&mut self, i: usize, id: DocumentId) {
        let out = {
            let d = &mut self.devices[i];
            d.client.sync_doc(id, &mut d.store, self.now)
        };
        self.client_out(i, out);
    }

    fn server_edit(&mut self, id: DocumentId, key: &str, value: i64) {
        self.server.store.edit(&id, key, value);
        let out = self
            .server
            .hub
            .local_change(id, &mut self.server.store, &self.server.policy);
        self.hub_out(out);
    }

    fn client_out(&mut self, i: usize, out: ClientOutput) {
        let device = &mut self.devices[i];
        for (id, bytes) in &out.persist {
            device.store.persist(*id, bytes);
        }
        for (id, state) in out.sync_states {
            device.states.insert(id, state);
        }
        if self.wires[i].conn.is_some() {
            self.wires[i].up.extend(out.frames);
        }
        for id in out.need_load {
            self.client_loads.push((i, id));
        }
        for id in &out.synced {
            device.dirty.remove(id);
        }
        device.synced.extend(out.synced);
        device.unavailable.extend(out.unavailable);
        device.errors.extend(out.errors);
        if out.close {
            self.disconnect(i);
        }
    }

    fn wire_of(&self, conn: ConnId) -> Option<usize> {
        self.wires.iter().position(|w| w.conn == Some(conn))
    }

    fn hub_out(&mut self, out: HubOutput) {
        for (id, bytes) in &out.persist {
            self.server.store.persist(*id, bytes);
        }
        for (conn, id, state) in out.sync_states {
            if let Some(peer) = self.server.hub.peer_of(conn) {
                self.server.states.insert((peer.clone(), id), state);
            }
        }
        for (conn, frame) in out.frames {
            if let Some(i) = self.wire_of(conn) {
                self.wires[i].down.push_back(frame);
            }
        }
        self.hub_loads.extend(out.need_load);
        for conn in out.close {
            if let Some(i) = self.wire_of(conn) {
                self.disconnect(i);
            } else {
                self.server.hub.remove_connection(conn);
            }
        }
        for (conn, peer, _) in out.joined {
            self.on_joined(conn, peer);
        }
    }

    /// The relay's reaction to a join: restore the peer's hub-side sync states and offer the
    /// documents that changed since.
    fn on_joined(&mut self, conn: ConnId, peer: PeerId) {
        let stored: Vec<(DocumentId, Vec<u8>)> = self
            .server
            .states
            .iter()
            .filter(|((p, _), _)| *p == peer)
            .map(|((_, id), state)| (*id, state.clone()))
            .collect();
        for (id, state) in stored {
            self.server
                .hub
                .restore_state(conn, id, &state)
                .expect("stored hub state");
            if !self.announce_on_join {
                continue;
            }
            let shared = automerge::sync::State::decode(&state)
                .expect("state")
                .shared_heads;
            let mut current = self.server.store.heads(&id).unwrap_or_default();
            current.sort();
            let mut shared = shared;
            shared.sort();
            if current != shared {
                let out =
                    self.server
                        .hub
                        .sync_doc(conn, id, &mut self.server.store, &self.server.policy);
                self.hub_out(out);
            }
        }
    }

    fn deliver_up(&mut self, i: usize) -> bool {
        let Some(frame) = self.wires[i].up.pop_front() else {
            return false;
        };
        let Some(conn) = self.wires[i].conn else {
            return false;
        };
        self.counts.up += 1;
        self.tick();
        let out =
            self.server
                .hub
                .receive(conn, &frame, &mut self.server.store, &self.server.policy);
        self.hub_out(out);
        true
    }

    fn deliver_down(&mut self, i: usize) -> bool {
        let Some(frame) = self.wires[i].down.pop_front() else {
            return false;
        };
        self.counts.down += 1;
        self.tick();
        self.devices[i].frames_seen.push(frame.clone());
        let out = {
            let d = &mut self.devices[i];
            d.client.receive(&frame, &mut d.store, self.now)
        };
        self.client_out(i, out);
        true
    }

    fn duplicate(&mut self, i: usize, up: bool) {
        let queue = if up {
            &mut self.wires[i].up
        } else {
            &mut self.wires[i].down
        };
        if let Some(front) = queue.front().cloned() {
            queue.push_front(front);
        }
    }

    fn run_loads(&mut self) -> bool {
        let mut progress = false;
        for (i, id) in std::mem::take(&mut self.client_loads) {
            progress = true;
            self.devices[i].store.load(&id);
            let out = {
                let d = &mut self.devices[i];
                d.client.loaded(id, &mut d.store, self.now)
            };
            self.client_out(i, out);
        }
        for id in std::mem::take(&mut self.hub_loads) {
            progress = true;
            self.server.store.load(&id);
            let out = self
                .server
                .hub
                .loaded(id, &mut self.server.store, &self.server.policy);
            self.hub_out(out);
        }
        progress
    }

    /// Delivers frames (one per direction per link per round) and loads until nothing moves.
    fn drive(&mut self) {
        for _ in 0..100_000 {
            let mut progress = self.run_loads();
            for i in 0..self.wires.len() {
                progress |= self.deliver_up(i);
                progress |= self.deliver_down(i);
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence after 100,000 rounds");
    }

    fn heads_everywhere(&self, id: &DocumentId) -> Vec<Option<Vec<ChangeHash>>> {
        let mut all = vec![self.server.store.heads(id)];
        all.extend(self.devices.iter().map(|d| d.store.heads(id)));
        all
    }

    fn assert_converged(&self, ids: &[DocumentId]) {
        for id in ids {
            let all = self.heads_everywhere(id);
            assert!(
                all.iter().all(|h| h == &all[0]),
                "replicas differ on {id}: {all:?}"
            );
        }
    }

    /// Every replica holds the documents (created on the relay, requested by each device).
    fn seeded(n_devices: usize, n_docs: u32) -> (Self, Vec<DocumentId>) {
        let mut sim = Self::new(n_devices);
        let ids: Vec<DocumentId> = (0..n_docs).map(doc_id).collect();
        for id in &ids {
            sim.server.store.create_with(*id, "created", 1);
        }
        for i in 0..n_devices {
            sim.connect(i);
            for id in &ids {
                sim.sync_doc(i, *id);
            }
        }
        sim.drive();
        sim.assert_converged(&ids);
        (sim, ids)
    }
}

fn frame_types(frames: &[Vec<u8>]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            wire::decode(f, Limits::default())
                .expect("decodes")
                .message_type()
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn join_peer_then_request_fetches_a_document_the_device_lacks() {
    let mut sim = Sim::new(1);
    let id = doc_id(1);
    sim.server.store.create_with(id, "name", 7);
    sim.connect(0);
    sim.drive();
    assert!(sim.devices[0].client.server().is_some());
    sim.sync_doc(0, id);
    assert_eq!(
        frame_types(&sim.wires[0].up.iter().cloned().collect::<Vec<_>>()),
        ["request"]
    );
    sim.drive();
    assert_eq!(sim.devices[0].store.value(&id, "name"), Some(7));
    assert_eq!(sim.devices[0].synced, [id]);
    sim.assert_converged(&[id]);
    assert!(
        sim.devices[0].errors.is_empty(),
        "{:?}",
        sim.devices[0].errors
    );
}

#[test]
fn a_missing_document_is_reported_unavailable() {
    let mut sim = Sim::new(1);
    sim.connect(0);
    sim.drive();
    sim.sync_doc(0, doc_id(9));
    sim.drive();
    assert_eq!(sim.devices[0].unavailable, [doc_id(9)]);
    assert!(sim.devices[0].synced.is_empty());
}

#[test]
fn offline_edits_on_three_devices_converge() {
    let (mut sim, ids) = Sim::seeded(3, 4);
    for i in 0..3 {
        sim.disconnect(i);
    }
    // Concurrent offline edits, two devices on the same document.
    sim.edit(0, ids[0], "a", 1);
    sim.edit(1, ids[0], "b", 2);
    sim.edit(1, ids[1], "c", 3);
    sim.edit(2, ids[3], "d", 4);
    for i in 0..3 {
        sim.connect(i);
    }
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[2].store.value(&ids[0], "a"), Some(1));
    assert_eq!(sim.devices[2].store.value(&ids[0], "b"), Some(2));
    assert_eq!(sim.devices[0].store.value(&ids[3], "d"), Some(4));
    for device in &sim.devices {
        assert!(device.dirty.is_empty(), "{} still dirty", device.peer);
        assert!(device.errors.is_empty(), "{:?}", device.errors);
    }
}

#[test]
fn live_changes_are_forwarded_to_the_other_connections() {
    let (mut sim, ids) = Sim::seeded(3, 2);
    sim.edit(0, ids[1], "live", 5);
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[2].store.value(&ids[1], "live"), Some(5));
    // A change the relay makes itself reaches everyone syncing the document.
    sim.server_edit(ids[0], "by-relay", 6);
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[1].store.value(&ids[0], "by-relay"), Some(6));
}

#[test]
fn the_relay_persists_before_it_acknowledges_or_forwards() {
    let (mut sim, ids) = Sim::seeded(2, 1);
    sim.edit(0, ids[0], "x", 1);
    // Run device 0's exchange by hand; the hub output that applies the change carries the
    // bytes to persist together with the frames that acknowledge and forward it (the host
    // stores them before sending), and those bytes hold the change.
    let conn = sim.wires[0].conn.expect("connected");
    let mut saw_persist = false;
    while let Some(frame) = sim.wires[0].up.pop_front() {
        let out = sim
            .server
            .hub
            .receive(conn, &frame, &mut sim.server.store, &sim.server.policy);
        if !out.persist.is_empty() {
            saw_persist = true;
            let to_device_1 = sim.wires[1].conn.expect("connected");
            assert!(out.frames.iter().any(|(c, _)| *c == conn), "acknowledged");
            assert!(
                out.frames.iter().any(|(c, _)| *c == to_device_1),
                "forwarded"
            );
            let mut copy = sim.server.store.disk[&ids[0]].clone();
            copy.extend_from_slice(&out.persist[0].1);
            let mut persisted = Automerge::load(&copy).expect("load").get_heads();
            persisted.sort();
            let mut live = sim.server.store.loaded[&ids[0]].get_heads();
            live.sort();
            assert_eq!(persisted, live, "the persisted bytes hold the change");
        }
        sim.hub_out(out);
        while sim.deliver_down(0) {}
    }
    assert!(saw_persist);
    sim.drive();
    sim.assert_converged(&ids);
}

#[test]
fn reconnect_after_restart_exchanges_messages_only_for_changed_documents() {
    let mut measured = Vec::new();
    for n_docs in [20u32, 200] {
        let (mut sim, ids) = Sim::seeded(1, n_docs);
        sim.disconnect(0);
        let k = 5;
        for id in ids.iter().take(k) {
            sim.edit(0, *id, "offline", 1);
        }
        sim.restart(0);
        sim.counts = Counts::default();
        sim.connect(0);
        sim.drive();
        sim.assert_converged(&ids);
        assert!(sim.devices[0].dirty.is_empty());
        // join + peer, then two messages per changed document: the changes since the shared
        // heads (the first message carries them, see `Link::assume_peer_has_shared_heads`),
        // and the relay's acknowledgement.
        assert_eq!(sim.counts.total(), 2 + 2 * k, "{n_docs} documents");
        measured.push(sim.counts);

        // Nothing changed: a reconnect is join + peer.
        sim.restart(0);
        sim.counts = Counts::default();
        sim.connect(0);
        sim.drive();
        assert_eq!(sim.counts.total(), 2);
    }
    assert_eq!(measured[0], measured[1], "cost does not grow with the book");
}

#[test]
fn changes_made_elsewhere_while_offline_are_offered_by_the_relay_on_join() {
    let (mut sim, ids) = Sim::seeded(2, 50);
    sim.disconnect(1);
    sim.edit(0, ids[3], "while-away", 1);
    sim.edit(0, ids[4], "while-away", 2);
    sim.drive();
    sim.restart(1);
    sim.counts = Counts::default();
    sim.connect(1);
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[1].store.value(&ids[4], "while-away"), Some(2));
    // join + peer + the two changed documents, not the 48 others.
    assert!(sim.counts.total() <= 2 + 4 * 2, "{:?}", sim.counts);
}

#[test]
fn duplicated_frames_are_harmless() {
    let (mut sim, ids) = Sim::seeded(2, 2);
    sim.edit(0, ids[0], "x", 1);
    sim.edit(1, ids[0], "y", 2);
    for _ in 0..40 {
        for i in 0..2 {
            sim.duplicate(i, true);
            sim.duplicate(i, false);
            sim.deliver_up(i);
            sim.deliver_down(i);
            sim.run_loads();
        }
    }
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[1].store.value(&ids[0], "x"), Some(1));
}

#[test]
fn frames_lost_with_a_dropped_connection_are_recovered_after_reconnect() {
    let (mut sim, ids) = Sim::seeded(2, 3);
    sim.edit(0, ids[2], "x", 1);
    // The change reaches the relay, the acknowledgement and the forward are lost.
    sim.deliver_up(0);
    sim.deliver_down(0);
    sim.deliver_up(0);
    sim.disconnect(0);
    sim.disconnect(1);
    sim.connect(0);
    sim.connect(1);
    sim.drive();
    sim.assert_converged(&ids);
    assert!(sim.devices[0].dirty.is_empty());
}

#[test]
fn lazily_loaded_documents_park_messages_on_both_sides() {
    let (mut sim, ids) = Sim::seeded(2, 3);
    for id in &ids {
        sim.server.store.evict(id);
        sim.devices[1].store.evict(id);
    }
    sim.edit(0, ids[1], "x", 1);
    sim.drive();
    sim.assert_converged(&ids);
    assert_eq!(sim.devices[1].store.value(&ids[1], "x"), Some(1));
    assert!(sim.server.store.loaded.contains_key(&ids[1]));
    assert!(
        !sim.server.store.loaded.contains_key(&ids[0]),
        "only what was needed"
    );
}

#[test]
fn a_read_only_peer_receives_changes_but_its_own_are_ignored() {
    let (mut sim, ids) = Sim::seeded(2, 1);
    let team = ids[0];
    sim.server
        .policy
        .0
        .insert(("device-1".into(), team), Access::Read);
    sim.edit(1, team, "rep-wrote", 1);
    sim.drive(); // terminates: the ignored change does not loop
    assert_eq!(sim.server.store.value(&team, "rep-wrote"), None);
    assert_eq!(sim.devices[0].store.value(&team, "rep-wrote"), None);
    let rounds = sim.counts;
    sim.sync_doc(1, team);
    sim.drive();
    // The device's message, the relay's answer and its `error` naming the refused write.
    assert!(sim.counts.total() - rounds.total() <= 3, "no loop");
    // Changes from writers still reach the read-only peer.
    sim.edit(0, team, "manager-wrote", 2);
    sim.drive();
    assert_eq!(sim.devices[1].store.value(&team, "manager-wrote"), Some(2));
    assert_eq!(sim.server.store.value(&team, "manager-wrote"), Some(2));
}

#[test]
fn a_denied_document_looks_exactly_like_a_missing_one() {
    let id = doc_id(42);
    let answer = |exists: bool| {
        let mut sim = Sim::new(1);
        if exists {
            sim.server.store.create_with(id, "secret", 1);
            sim.server.store.evict(&id);
            sim.server
                .policy
                .0
                .insert(("device-0".into(), id), Access::None);
        }
        sim.connect(0);
        sim.drive();
        let before = sim.devices[0].frames_seen.len();
        sim.sync_doc(0, id);
        sim.drive();
        assert!(
            !sim.server.store.loaded.contains_key(&id),
            "a denied document is not even loaded"
        );
        (
            sim.devices[0].frames_seen[before..].to_vec(),
            sim.devices[0].unavailable.clone(),
        )
    };
    let denied = answer(true);
    let missing = answer(false);
    assert_eq!(denied, missing);
    assert_eq!(frame_types(&denied.0), ["doc-unavailable"]);
}

#[test]
fn a_document_created_offline_is_uploaded_and_reaches_others_who_ask() {
    let (mut sim, _) = Sim::seeded(2, 1);
    let new_lead = doc_id(500);
    sim.devices[0].store.create_with(new_lead, "company", 3);
    sim.devices[0].dirty.insert(new_lead);
    sim.sync_doc(0, new_lead);
    sim.drive();
    assert_eq!(sim.server.store.value(&new_lead, "company"), Some(3));
    sim.sync_doc(1, new_lead); // learnt from the index document, later
    sim.drive();
    sim.assert_converged(&[new_lead]);
    // A device may not create a document the policy does not let it write.
    let other = doc_id(501);
    sim.server
        .policy
        .0
        .insert(("device-1".into(), other), Access::Read);
    sim.devices[1].store.create_with(other, "company", 4);
    sim.sync_doc(1, other);
    sim.drive();
    assert_eq!(sim.server.store.heads(&other), None);
    assert_eq!(sim.devices[1].unavailable, [other]);
}

#[test]
fn join_deadline_unsupported_version_and_server_error_close_the_connection() {
    let now = DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let mut client = new_client(&PeerId::new("d"));
    let out = client.connect(now);
    assert_eq!(frame_types(&out.frames), ["join"]);
    assert_eq!(client.next_deadline(), Some(now + TimeDelta::seconds(10)));
    assert_eq!(
        client.poll(now + TimeDelta::seconds(9)),
        ClientOutput::default()
    );
    let out = client.poll(now + TimeDelta::seconds(10));
    assert!(out.close);
    assert_eq!(out.errors, [ClientError::JoinTimeout]);
    assert_eq!(client.next_deadline(), None);

    let mut store = Store::new(1);
    client.connect(now);
    let peer_v2 = wire::encode(&Message::Peer {
        sender_id: "relay".into(),
        target_id: "d".into(),
        selected_protocol_version: "2".into(),
        peer_metadata: None,
    });
    let out = client.receive(&peer_v2, &mut store, now);
    assert!(out.close);
    assert_eq!(out.errors, [ClientError::UnsupportedVersion("2".into())]);

    client.connect(now);
    let error = wire::encode(&Message::Error {
        sender_id: None,
        target_id: None,
        message: "token expired".into(),
        document_id: None,
        refusal: None,
    });
    let out = client.receive(&error, &mut store, now);
    assert!(out.close);
    assert_eq!(out.errors, [ClientError::Server("token expired".into())]);

    // The hub: a join without "1" gets `error` and a close; a silent socket times out.
    let mut hub = Hub::new(PeerId::new("relay"), PeerMetadata::default());
    hub.add_connection(ConnId(1), now);
    let join_v2 = wire::encode(&Message::Join {
        sender_id: "d".into(),
        supported_protocol_versions: Some(vec!["2".into()]),
        peer_metadata: None,
    });
    let out = hub.receive(ConnId(1), &join_v2, &mut store, &Table::default());
    assert_eq!(out.close, [ConnId(1)]);
    assert_eq!(
        wire::decode(&out.frames[0].1, Limits::default()),
        Ok(Message::Error {
            sender_id: Some("relay".into()),
            target_id: Some("d".into()),
            message: "unsupported protocol version".into(),
            document_id: None,
            refusal: None,
        })
    );
    hub.remove_connection(ConnId(1));
    hub.add_connection(ConnId(2), now);
    assert_eq!(hub.next_deadline(), Some(now + TimeDelta::seconds(10)));
    assert_eq!(hub.poll(now + TimeDelta::seconds(10)).close, [ConnId(2)]);
    // Garbage is answered with `error` and a close, never a panic.
    let out = hub.receive(ConnId(2), &[0xff, 0x00], &mut store, &Table::default());
    assert_eq!(out.close, [ConnId(2)]);
    assert_eq!(frame_types(&[out.frames[0].1.clone()]), ["error"]);
}

#[test]
fn ephemeral_messages_reach_readers_of_the_document_once() {
    let (mut sim, ids) = Sim::seeded(3, 1);
    sim.server
        .policy
        .0
        .insert(("device-2".into(), ids[0]), Access::None);
    let ephemeral = |count| {
        wire::encode(&Message::Ephemeral {
            sender_id: "device-0".into(),
            target_id: "relay".into(),
            document_id: ids[0],
            count,
            session_id: "s1".into(),
            data: vec![0xa0],
        })
    };
    for count in [1, 1, 2] {
        sim.wires[0].up.push_back(ephemeral(count));
    }
    let seen = [1, 2].map(|i| sim.devices[i].frames_seen.len());
    sim.drive();
    let received = |i: usize, from: usize| frame_types(&sim.devices[i].frames_seen[from..]);
    assert_eq!(
        received(1, seen[0]),
        ["ephemeral", "ephemeral"],
        "count 1 once, then 2"
    );
    assert!(
        received(2, seen[1]).is_empty(),
        "not to a peer that may not read it"
    );
    // `leave` closes the connection.
    let leave = wire::encode(&Message::Leave {
        sender_id: "device-1".into(),
    });
    sim.wires[1].up.push_back(leave);
    sim.drive();
    assert!(!sim.connected(1));
}

#[test]
fn an_unanswered_request_times_out_as_unavailable() {
    let mut sim = Sim::new(1);
    sim.connect(0);
    sim.drive();
    sim.sync_doc(0, doc_id(3));
    sim.wires[0].up.clear(); // the relay never hears it
    let deadline = sim.devices[0]
        .client
        .next_deadline()
        .expect("request deadline");
    let out = sim.devices[0].client.poll(deadline);
    assert_eq!(out.unavailable, [doc_id(3)]);
    assert_eq!(sim.devices[0].client.next_deadline(), None);
}

#[test]
fn the_client_only_syncs_what_it_is_asked_on_connect() {
    let (mut sim, ids) = Sim::seeded(1, 30);
    sim.restart(0);
    let out = sim.devices[0].client.connect(sim.now);
    assert_eq!(frame_types(&out.frames), ["join"]);
    let peer = wire::encode(&Message::Peer {
        sender_id: "relay".into(),
        target_id: "device-0".into(),
        selected_protocol_version: "1".into(),
        peer_metadata: None,
    });
    let out = {
        let d = &mut sim.devices[0];
        d.client.receive(&peer, &mut d.store, sim.now)
    };
    assert_eq!(out.connected, Some(PeerId::new("relay")));
    assert!(out.frames.is_empty(), "no document is synced unasked");
    let out = {
        let d = &mut sim.devices[0];
        d.client.sync_doc(ids[7], &mut d.store, sim.now)
    };
    assert_eq!(out.need_load, [ids[7]], "loaded lazily");
    assert!(out.frames.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Random operation sequences
// ---------------------------------------------------------------------------------------------

/// One step of a random run.
#[derive(Clone, Debug)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))] // the random runs are native only
enum Op {
    Edit { device: usize, doc: usize },
    RelayEdit { doc: usize },
    Deliver { device: usize, up: bool, n: usize },
    Duplicate { device: usize, up: bool },
    Drop { device: usize },
    Reconnect { device: usize },
    Restart { device: usize },
    Evict { device: usize, doc: usize },
    RelayEvict { doc: usize },
}

const DEVICES: usize = 3;
const DOCS: usize = 3;

/// Runs the operations on three devices and three documents, heals (every device online,
/// every host asks for every document) and runs to quiescence.
fn run_and_heal(ops: &[Op]) -> (Sim, Vec<DocumentId>) {
    let (mut sim, ids) = Sim::seeded(DEVICES, DOCS as u32);
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Edit { device, doc } => {
                sim.edit(device, ids[doc], &format!("k{device}"), step as i64)
            }
            Op::RelayEdit { doc } => sim.server_edit(ids[doc], "relay", step as i64),
            Op::Deliver { device, up, n } => {
                for _ in 0..n {
                    if up {
                        sim.deliver_up(device);
                    } else {
                        sim.deliver_down(device);
                    }
                    sim.run_loads();
                }
            }
            Op::Duplicate { device, up } => sim.duplicate(device, up),
            Op::Drop { device } => sim.disconnect(device),
            Op::Reconnect { device } => sim.connect(device),
            Op::Restart { device } => sim.restart(device),
            Op::Evict { device, doc } => sim.devices[device].store.evict(&ids[doc]),
            Op::RelayEvict { doc } => sim.server.store.evict(&ids[doc]),
        }
    }
    for i in 0..DEVICES {
        if !sim.connected(i) {
            sim.connect(i);
        }
    }
    sim.drive();
    for i in 0..DEVICES {
        for id in &ids {
            sim.sync_doc(i, *id);
        }
    }
    sim.drive();
    (sim, ids)
}

fn assert_healed(sim: &Sim, ids: &[DocumentId]) {
    sim.assert_converged(ids);
    for device in &sim.devices {
        assert!(
            device.dirty.is_empty(),
            "{} still dirty: {:?}",
            device.peer,
            device.dirty
        );
        assert!(
            device
                .errors
                .iter()
                .all(|e| matches!(e, ClientError::Unexpected(_))),
            "{:?}",
            device.errors
        );
    }
}

/// Found by the random run: the relay evicted a document while it held, unapplied, a change
/// waiting for its dependency. automerge never resends a change within a session, so the
/// relay asked for it forever (`need`) while both sides ping-ponged; the link now resends
/// what the peer says it needs.
#[test]
fn a_change_the_relay_dropped_unapplied_is_sent_again() {
    use Op::*;
    let ops = [
        Deliver {
            device: 0,
            up: false,
            n: 3,
        },
        Edit { device: 0, doc: 1 },
        Edit { device: 0, doc: 1 },
        Reconnect { device: 1 },
        Edit { device: 0, doc: 1 },
        Edit { device: 1, doc: 0 },
        Restart { device: 1 },
        Edit { device: 0, doc: 1 },
        Deliver {
            device: 0,
            up: true,
            n: 2,
        },
        Edit { device: 1, doc: 0 },
        Edit { device: 0, doc: 0 },
        Edit { device: 0, doc: 0 },
        Deliver {
            device: 0,
            up: true,
            n: 4,
        },
        RelayEvict { doc: 0 },
    ];
    let (sim, ids) = run_and_heal(&ops);
    assert_healed(&sim, &ids);
}

#[cfg(not(target_arch = "wasm32"))]
mod random {
    use super::*;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..DEVICES, 0..DOCS).prop_map(|(device, doc)| Op::Edit { device, doc }),
            1 => (0..DOCS).prop_map(|doc| Op::RelayEdit { doc }),
            6 => (0..DEVICES, any::<bool>(), 1..6usize)
                .prop_map(|(device, up, n)| Op::Deliver { device, up, n }),
            1 => (0..DEVICES, any::<bool>()).prop_map(|(device, up)| Op::Duplicate { device, up }),
            1 => (0..DEVICES).prop_map(|device| Op::Drop { device }),
            2 => (0..DEVICES).prop_map(|device| Op::Reconnect { device }),
            1 => (0..DEVICES).prop_map(|device| Op::Restart { device }),
            1 => (0..DEVICES, 0..DOCS).prop_map(|(device, doc)| Op::Evict { device, doc }),
            1 => (0..DOCS).prop_map(|doc| Op::RelayEvict { doc }),
        ]
    }

    proptest! {
        // SYNC_SIM_CASES=5000 cargo test --release -p fieldbook-core --test sync_sim for more.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("SYNC_SIM_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(300)
        ))]
        #[test]
        fn all_replicas_converge_after_healing(ops in proptest::collection::vec(op(), 1..60)) {
            let (sim, ids) = run_and_heal(&ops);
            assert_healed(&sim, &ids);
        }
    }
}
