//! A simulated network for replica tests and benchmarks: devices (each a [`Replica`] with an
//! in-memory host), a relay (the core's [`Hub`] over in-memory documents, writing each member's
//! index document), in-memory links and a virtual clock. No sockets, no sleeps, no threads.
//!
//! The relay here is the protocol only: it shares every lead with its owner, the owner's
//! manager and admins, and accepts any new lead document. Authentication, storage and the real
//! access policy belong to the relay crate.

#![allow(dead_code)] // each test binary uses part of the harness

use automerge::{ActorId, Automerge};
use chrono::{DateTime, TimeDelta, Utc};
use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::index::{self, DocKind};
use fieldbook_core::doc::{self, DocumentId, lead as lead_doc, team as team_doc};
use fieldbook_core::ids::{EventId, LeadId, MemberId, TeamId};
use fieldbook_core::lead::Lead;
use fieldbook_core::replica::{Effects, LeadCommand, Replica, ReplicaConfig, ReplicaError};
use fieldbook_core::sync::hub::{Access, ConnId, Hub, Policy};
use fieldbook_core::sync::wire::{PeerId, PeerMetadata};
use fieldbook_core::sync::{DocSlot, Docs};
use fieldbook_core::team::{Role, Team};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The example team of `docs/examples/team.json`: manager `m-dana`, reps `r-yossi` and
/// `r-ioana`.
pub fn example_team() -> Team {
    let input: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/examples/team.json")).unwrap();
    let team = serde_json::json!({
        "id": input["team"]["id"],
        "name": input["team"]["name"],
        "members": input["members"],
        "products": input["products"],
        "playbook": input["playbook"],
    });
    serde_json::from_value(team).unwrap()
}

/// The leads of `docs/examples/team.json`.
pub fn example_leads() -> Vec<Lead> {
    let input: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/examples/team.json")).unwrap();
    serde_json::from_value(input["leads"].clone()).unwrap()
}

/// 2025-06-09 07:30 UTC, the example's `now`.
pub fn t0() -> DateTime<Utc> {
    "2025-06-09T07:30:00Z".parse().unwrap()
}

/// The in-memory host of the core.
pub type MemHost = fieldbook_core::replica::MemoryStore;

/// One member's device.
#[derive(Debug)]
pub struct Device {
    pub name: String,
    pub config: ReplicaConfig,
    pub replica: Replica,
    pub host: MemHost,
    pub conn: Option<ConnId>,
    next_event: u64,
    next_doc: u64,
}

impl Device {
    /// A fresh device for `member` with nothing stored.
    pub fn new(name: &str, team: &TeamId, member: &str, seed: u8) -> Self {
        let config = ReplicaConfig {
            team: team.clone(),
            member: MemberId(member.to_owned()),
            actor: [seed; 16],
            peer_id: format!("{member}/{name}"),
        };
        let (replica, effects) = Replica::open(config.clone(), None, false, &[], &[]).unwrap();
        assert!(effects.need_load.is_empty());
        Self {
            name: name.to_owned(),
            config,
            replica,
            host: MemHost::default(),
            conn: None,
            next_event: 0,
            next_doc: 0,
        }
    }

    /// Restarts the app: a new replica from what the host stored (summaries, sync states, the
    /// team document), as after closing the tab or a crash.
    pub fn restart(&mut self) {
        let team = self.host.load(&self.replica.team_doc_id());
        let index_stored = self.host.chunks.contains_key(&self.replica.index_doc_id());
        let summaries: Vec<_> = self.host.summaries.clone().into_iter().collect();
        let states: Vec<_> = self.host.sync_states.clone().into_iter().collect();
        let (replica, effects) = Replica::open(
            self.config.clone(),
            team.as_deref(),
            index_stored,
            &summaries,
            &states,
        )
        .unwrap();
        self.replica = replica;
        self.conn = None;
        let mut frames = Vec::new();
        self.carry_out(effects, t0(), &mut frames);
        assert!(frames.is_empty());
    }

    /// Applies a command to a loaded lead, with event ids unique on this device.
    pub fn command(
        &mut self,
        id: DocumentId,
        command: LeadCommand,
        now: DateTime<Utc>,
    ) -> Result<Effects, ReplicaError> {
        let Self {
            name,
            replica,
            next_event,
            ..
        } = self;
        let mut ids = || {
            *next_event += 1;
            EventId(format!("{name}-e{next_event}"))
        };
        replica.apply(id, command, now, &mut ids)
    }

    /// Creates a lead on this device.
    pub fn create(
        &mut self,
        input: NewLead,
        now: DateTime<Utc>,
    ) -> Result<(DocumentId, Effects), ReplicaError> {
        let bytes = self.new_doc_bytes();
        let Self {
            name,
            replica,
            next_event,
            ..
        } = self;
        let mut ids = || {
            *next_event += 1;
            EventId(format!("{name}-e{next_event}"))
        };
        replica.create_lead(bytes, input, now, &mut ids)
    }

    /// 16 bytes for a new document id, unique per device.
    pub fn new_doc_bytes(&mut self) -> [u8; 16] {
        self.next_doc += 1;
        let mut bytes = [0u8; 16];
        bytes[0] = self.config.actor[0];
        bytes[1] = 0xd0;
        bytes[8..].copy_from_slice(&self.next_doc.to_be_bytes());
        bytes
    }

    /// Carries out effects as a host does: writes, then frames (queued), then loads.
    pub fn carry_out(&mut self, effects: Effects, now: DateTime<Utc>, out: &mut Vec<Vec<u8>>) {
        let mut pending = VecDeque::from([effects]);
        while let Some(effects) = pending.pop_front() {
            self.host.apply(&effects.writes);
            out.extend(effects.frames);
            for id in effects.need_load {
                let bytes = self
                    .host
                    .load(&id)
                    .unwrap_or_else(|| panic!("{}: asked to load {id}, not stored", self.name));
                pending.push_back(self.replica.loaded(id, &bytes, now).unwrap());
            }
        }
    }

    /// Makes sure a lead document is in memory (as the app does before a command).
    pub fn ensure_loaded(&mut self, id: &DocumentId, now: DateTime<Utc>, out: &mut Vec<Vec<u8>>) {
        if !self.replica.is_loaded(id) {
            let bytes = self.host.load(id).expect("stored");
            let effects = self.replica.loaded(*id, &bytes, now).unwrap();
            self.carry_out(effects, now, out);
        }
    }
}

/// The relay's documents.
#[derive(Debug)]
pub struct RelayDocs {
    actor: ActorId,
    pub docs: HashMap<DocumentId, Automerge>,
}

impl Docs for RelayDocs {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        self.docs
            .get_mut(id)
            .map_or(DocSlot::Absent, DocSlot::Loaded)
    }

    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        Some(
            self.docs
                .entry(*id)
                .or_insert_with(|| doc::new_document(self.actor.clone())),
        )
    }
}

/// Who may see what: the test relay's share policy.
#[derive(Debug)]
pub struct SimPolicy {
    pub team: Team,
    pub team_doc: DocumentId,
    /// Index document → its member.
    pub index_docs: HashMap<DocumentId, MemberId>,
    /// Lead document → owner, as last read.
    pub owners: HashMap<DocumentId, MemberId>,
    /// Connection → the member it authenticated as.
    pub conns: HashMap<ConnId, MemberId>,
}

impl SimPolicy {
    pub fn member_sees(&self, member: &MemberId, doc: &DocumentId) -> Access {
        let role = self.team.member(member).map(|m| m.role);
        if *doc == self.team_doc {
            return match role {
                Some(Role::Rep) => Access::Read,
                Some(_) => Access::ReadWrite,
                None => Access::None,
            };
        }
        if let Some(owner) = self.index_docs.get(doc) {
            return if owner == member {
                Access::Read
            } else {
                Access::None
            };
        }
        match self.owners.get(doc) {
            // A new document: accepted from anyone in this test relay.
            None => Access::ReadWrite,
            Some(owner) => {
                let sees = owner == member
                    || role == Some(Role::Admin)
                    || (role == Some(Role::Manager) && self.team.manager_of(owner) == Some(member));
                if sees {
                    Access::ReadWrite
                } else {
                    Access::None
                }
            }
        }
    }
}

impl Policy for SimPolicy {
    fn access(&self, conn: ConnId, _peer: &PeerId, doc: &DocumentId) -> Access {
        match self.conns.get(&conn) {
            Some(member) => self.member_sees(member, doc),
            None => Access::None,
        }
    }
}

/// The relay: the hub, its documents, and the index documents it writes.
#[derive(Debug)]
pub struct Relay {
    pub hub: Hub,
    pub docs: RelayDocs,
    pub policy: SimPolicy,
    actor: ActorId,
    /// Lead documents changed since the indexes were last written.
    dirty: BTreeSet<DocumentId>,
}

impl Relay {
    pub fn new(team: &Team, now: DateTime<Utc>) -> Self {
        let actor = ActorId::from(&[0xee; 16][..]);
        let team_doc = team_doc::team_document_id(&team.id);
        let mut docs = HashMap::new();
        docs.insert(
            team_doc,
            team_doc::create_team(team, actor.clone(), now).unwrap(),
        );
        let mut index_docs = HashMap::new();
        for member in &team.members {
            let id = index::index_document_id(&team.id, &member.id);
            let mut doc = index::create_index(&team.id, &member.id, actor.clone(), now).unwrap();
            let heads = docs[&team_doc].get_heads();
            let mut tx = doc.transaction();
            index::set_entry(&mut tx, &team_doc, DocKind::Team, &heads, None).unwrap();
            tx.commit_with(doc::commit_options(now));
            docs.insert(id, doc);
            index_docs.insert(id, member.id.clone());
        }
        Self {
            hub: Hub::new(PeerId::new("relay"), PeerMetadata::default()),
            docs: RelayDocs {
                actor: actor.clone(),
                docs,
            },
            policy: SimPolicy {
                team: team.clone(),
                team_doc,
                index_docs,
                owners: HashMap::new(),
                conns: HashMap::new(),
            },
            actor,
            dirty: BTreeSet::new(),
        }
    }

    /// Puts a lead straight into the relay's storage (as an import does).
    pub fn import(&mut self, lead: &Lead, id: DocumentId, now: DateTime<Utc>) {
        let doc = lead_doc::create_lead(lead, self.actor.clone(), now).unwrap();
        self.docs.docs.insert(id, doc);
        self.dirty.insert(id);
    }

    /// Puts a prepared document into the relay's storage.
    pub fn insert(&mut self, id: DocumentId, doc: Automerge) {
        self.docs.docs.insert(id, doc);
        self.dirty.insert(id);
    }

    fn refresh_owner(&mut self, id: &DocumentId) {
        if *id == self.policy.team_doc || self.policy.index_docs.contains_key(id) {
            return;
        }
        if let Some(doc) = self.docs.docs.get(id)
            && let Ok(read) = lead_doc::read_lead(doc)
        {
            let facts =
                fieldbook_core::facts::LeadFacts::from_lead(&self.policy.team.playbook, &read.lead);
            self.policy.owners.insert(*id, facts.owner);
        }
    }

    /// Writes the heads of every changed document into the index of each member who sees it
    /// (the relay's debounce: called when the network is quiet). Returns the frames that
    /// carry the index changes to connected members.
    pub fn write_indexes(&mut self, now: DateTime<Utc>) -> Vec<(ConnId, Vec<u8>)> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut frames = Vec::new();
        if dirty.is_empty() {
            return frames;
        }
        for id in &dirty {
            self.refresh_owner(id);
        }
        let members: Vec<MemberId> = self
            .policy
            .team
            .members
            .iter()
            .map(|m| m.id.clone())
            .collect();
        for member in members {
            let index_id = index::index_document_id(&self.policy.team.id, &member);
            let mut entries = Vec::new();
            for id in &dirty {
                let kind = if *id == self.policy.team_doc {
                    DocKind::Team
                } else if self.policy.index_docs.contains_key(id) {
                    continue;
                } else {
                    DocKind::Lead
                };
                if self.policy.member_sees(&member, id) != Access::None {
                    entries.push((*id, kind, self.docs.docs[id].get_heads()));
                }
            }
            let doc = self.docs.docs.get_mut(&index_id).unwrap();
            let mut tx = doc.transaction();
            let mut wrote = false;
            for (id, kind, heads) in entries {
                wrote |= index::set_entry(&mut tx, &id, kind, &heads, None).unwrap();
            }
            if wrote {
                tx.commit_with(doc::commit_options(now));
                let out = self
                    .hub
                    .local_change(index_id, &mut self.docs, &self.policy);
                frames.extend(out.frames);
            } else {
                tx.rollback();
            }
        }
        frames
    }
}

/// Frame and byte counters of the simulated network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub to_relay: usize,
    pub to_devices: usize,
    pub bytes: usize,
}

impl Traffic {
    pub fn messages(&self) -> usize {
        self.to_relay + self.to_devices
    }
}

/// Frames in flight on one connection: (to the relay, to the device).
type Link = (VecDeque<Vec<u8>>, VecDeque<Vec<u8>>);

/// Devices, a relay, the links between them and a virtual clock.
#[derive(Debug)]
pub struct Net {
    pub relay: Relay,
    pub devices: Vec<Device>,
    /// Frames in flight per connection: (to the relay, to the device).
    pub links: BTreeMap<ConnId, Link>,
    next_conn: u64,
    pub now: DateTime<Utc>,
    pub traffic: Traffic,
    /// The same counters per connection.
    pub traffic_by_conn: BTreeMap<ConnId, Traffic>,
    /// Deliver each frame twice (the network duplicates).
    pub duplicate: bool,
}

impl Net {
    pub fn new(team: &Team) -> Self {
        Self {
            relay: Relay::new(team, t0()),
            devices: Vec::new(),
            links: BTreeMap::new(),
            next_conn: 0,
            now: t0(),
            traffic: Traffic::default(),
            traffic_by_conn: BTreeMap::new(),
            duplicate: false,
        }
    }

    pub fn add_device(&mut self, name: &str, member: &str) -> usize {
        let seed = u8::try_from(self.devices.len() + 1).unwrap();
        let team = self.relay.policy.team.id.clone();
        self.devices.push(Device::new(name, &team, member, seed));
        self.devices.len() - 1
    }

    pub fn tick(&mut self) {
        self.now += TimeDelta::milliseconds(10);
    }

    /// Opens a connection for device `d` (it sends `join`).
    pub fn connect(&mut self, d: usize) {
        if self.devices[d].conn.is_some() {
            return;
        }
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.relay.hub.add_connection(conn, self.now);
        let member = self.devices[d].config.member.clone();
        self.relay.policy.conns.insert(conn, member);
        self.links.insert(conn, (VecDeque::new(), VecDeque::new()));
        self.devices[d].conn = Some(conn);
        let effects = self.devices[d].replica.connect(self.now);
        self.device_effects(d, effects);
    }

    /// Cuts device `d`'s connection; frames in flight are lost.
    pub fn disconnect(&mut self, d: usize) {
        if let Some(conn) = self.devices[d].conn.take() {
            self.links.remove(&conn);
            self.relay.hub.remove_connection(conn);
            self.relay.policy.conns.remove(&conn);
            self.devices[d].replica.disconnected();
        }
    }

    /// Carries out a device's effects and queues its frames on its link.
    pub fn device_effects(&mut self, d: usize, effects: Effects) {
        let mut frames = Vec::new();
        let now = self.now;
        let close = effects.close;
        self.devices[d].carry_out(effects, now, &mut frames);
        if let Some(conn) = self.devices[d].conn
            && let Some(link) = self.links.get_mut(&conn)
        {
            link.0.extend(frames);
        }
        if close {
            self.disconnect(d);
        }
    }

    fn relay_output(&mut self, out: fieldbook_core::sync::hub::HubOutput) {
        for id in &out.changed {
            self.relay.dirty.insert(*id);
        }
        // Relay storage is the in-memory documents; `persist` needs no work here.
        for (conn, frame) in out.frames {
            if let Some(link) = self.links.get_mut(&conn) {
                link.1.push_back(frame);
            }
        }
        for conn in out.close {
            if let Some(d) = self.devices.iter().position(|dev| dev.conn == Some(conn)) {
                self.disconnect(d);
            }
        }
    }

    /// Delivers one frame on connection `conn` in direction `to_relay`. Returns false when none
    /// was waiting.
    pub fn deliver(&mut self, conn: ConnId, to_relay: bool) -> bool {
        let Some(link) = self.links.get_mut(&conn) else {
            return false;
        };
        let queue = if to_relay { &mut link.0 } else { &mut link.1 };
        let Some(frame) = queue.pop_front() else {
            return false;
        };
        let times = if self.duplicate { 2 } else { 1 };
        if std::env::var_os("SIM_TRACE").is_some() {
            let message = fieldbook_core::sync::wire::decode(&frame, Default::default());
            let text = format!("{message:?}");
            let short: String = text.chars().take(160).collect();
            eprintln!("{} {conn:?} {short}", if to_relay { "->" } else { "<-" });
        }
        for _ in 0..times {
            self.traffic.bytes += frame.len();
            let by_conn = self.traffic_by_conn.entry(conn).or_default();
            by_conn.bytes += frame.len();
            if to_relay {
                by_conn.to_relay += 1;
            } else {
                by_conn.to_devices += 1;
            }
            if to_relay {
                self.traffic.to_relay += 1;
                let out =
                    self.relay
                        .hub
                        .receive(conn, &frame, &mut self.relay.docs, &self.relay.policy);
                self.relay_output(out);
            } else {
                self.traffic.to_devices += 1;
                let Some(d) = self.devices.iter().position(|dev| dev.conn == Some(conn)) else {
                    return true;
                };
                let effects = self.devices[d].replica.receive(&frame, self.now).unwrap();
                self.device_effects(d, effects);
            }
        }
        true
    }

    /// Delivers everything in flight, writes indexes when the network is quiet, and repeats
    /// until nothing moves. Panics after `limit` frames (a protocol loop).
    pub fn settle(&mut self) {
        let limit = 2_000_000;
        let mut delivered = 0;
        loop {
            let mut moved = false;
            let conns: Vec<ConnId> = self.links.keys().copied().collect();
            for conn in conns {
                while self.deliver(conn, true) {
                    moved = true;
                    delivered += 1;
                }
                while self.deliver(conn, false) {
                    moved = true;
                    delivered += 1;
                }
            }
            assert!(delivered < limit, "no quiescence after {limit} frames");
            self.tick();
            if !moved {
                let frames = self.relay.write_indexes(self.now);
                if frames.is_empty() {
                    return;
                }
                for (conn, frame) in frames {
                    if let Some(link) = self.links.get_mut(&conn) {
                        link.1.push_back(frame);
                    }
                }
            }
        }
    }

    /// Whether anything is in flight.
    pub fn in_flight(&self) -> usize {
        self.links.values().map(|(a, b)| a.len() + b.len()).sum()
    }

    /// Connection ids, for random delivery.
    pub fn conns(&self) -> Vec<ConnId> {
        self.links.keys().copied().collect()
    }
}

/// The lead id of a document (leads created on a replica use the document id).
pub fn lead_id(doc: &DocumentId) -> LeadId {
    LeadId(doc.to_string())
}
