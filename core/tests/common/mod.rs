//! A simulated network for replica tests and benchmarks: devices (each a [`Replica`] with an
//! in-memory host), the relay (the core's real [`RelayCore`] — access, the write model, index
//! documents — over in-memory storage), in-memory links and a virtual clock. No sockets, no
//! sleeps, no threads. Tokens, SQLite and sockets belong to the server's engine, which hosts
//! the same core.

#![allow(dead_code)] // each test binary uses part of the harness

use automerge::{ActorId, Automerge};
use chrono::{DateTime, TimeDelta, Utc};
use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::{DocumentId, lead as lead_doc, team as team_doc};
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{EventId, LeadId, MemberId, TeamId};
use fieldbook_core::lead::Lead;
use fieldbook_core::relay::{
    Denial, Input, MemStore, Output, RelayConfig, RelayCore, RelayEvent, StoredKind,
};
use fieldbook_core::replica::{Effects, LeadCommand, Replica, ReplicaConfig, ReplicaError};
use fieldbook_core::sync::hub::{Access, ConnId};
use fieldbook_core::team::Team;
use std::collections::{BTreeMap, VecDeque};

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

/// The relay: the real relay core ([`RelayCore`]: access, the write model, new documents,
/// index documents) over in-memory storage.
pub struct Relay {
    pub core: RelayCore,
    pub store: MemStore,
    team: TeamId,
    /// Restarts so far (each gets its own actor, as the server draws one per start).
    starts: u8,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("team", &self.team).finish()
    }
}

impl Relay {
    /// A relay whose storage holds the team document, as `fieldbook team create` leaves it.
    pub fn new(team: &Team, now: DateTime<Utc>) -> Self {
        let mut store = MemStore::default();
        let team_doc = team_doc::team_document_id(&team.id);
        let d = team_doc::create_team(team, ActorId::from(&[0xed; 16][..]), now).unwrap();
        store.put(team_doc, StoredKind::Team, team.id.clone(), None, &d);
        Self::open(store, team.id.clone(), 0, now)
    }

    fn open(mut store: MemStore, team: TeamId, starts: u8, now: DateTime<Utc>) -> Self {
        let actor = ActorId::from(&[0xee, starts][..]);
        let records = store.records.values().cloned().collect();
        let (core, out) = RelayCore::open(records, RelayConfig::default(), actor, now, &mut store);
        store.apply(&out.writes);
        Self {
            core,
            store,
            team,
            starts,
        }
    }

    /// The relay restarts on `store` (a backup): connections are gone.
    pub fn restart_on(&mut self, store: MemStore, now: DateTime<Utc>) {
        *self = Self::open(store, self.team.clone(), self.starts + 1, now);
    }

    /// Handles one input; commits its writes (the host's contract).
    pub fn handle(&mut self, now: DateTime<Utc>, input: Input<'_>) -> Output {
        let out = self.core.handle(now, input, &mut self.store);
        self.store.apply(&out.writes);
        self.core.evict();
        out
    }

    /// The team as the relay knows it.
    pub fn team(&self) -> Team {
        self.core.acl().team(&self.team).unwrap().clone()
    }

    /// Puts a lead straight into the relay's storage (as an import does).
    pub fn import(&mut self, lead: &Lead, id: DocumentId, now: DateTime<Utc>) {
        let doc = lead_doc::create_lead(lead, ActorId::from(&[0xec; 16][..]), now).unwrap();
        self.insert(id, doc, now);
    }

    /// Puts a prepared lead document into the relay's storage (as an import does).
    pub fn insert(&mut self, id: DocumentId, doc: Automerge, now: DateTime<Utc>) {
        let team = self.team();
        let lead = lead_doc::read_lead(&doc).unwrap().lead;
        let owner = LeadFacts::from_lead(&team.playbook, &lead).owner;
        let record = self
            .store
            .put(id, StoredKind::Lead, self.team.clone(), Some(owner), &doc);
        let bytes = doc.save();
        let out = self.handle(now, Input::Stored { record, bytes });
        assert!(
            out.frames.is_empty(),
            "nobody is connected during an import"
        );
    }

    /// A document as the relay stores it (`None` for one it has not stored, even while a
    /// sync session holds an empty placeholder).
    pub fn doc(&self, id: &DocumentId) -> Option<Automerge> {
        self.core.record(id)?;
        match self.core.loaded(id) {
            Some(d) => Some(d.fork()),
            None => self.store.doc(id, ActorId::from(&[0xeb; 16][..])),
        }
    }

    /// A lead's owner, as the relay's record says.
    pub fn owner(&self, id: &DocumentId) -> Option<MemberId> {
        self.core.record(id)?.member.clone()
    }

    /// The leads the relay stores.
    pub fn leads(&self) -> Vec<DocumentId> {
        self.store
            .records
            .values()
            .filter(|r| r.kind == StoredKind::Lead)
            .map(|r| r.id)
            .collect()
    }

    /// What `member` may do with `doc`.
    pub fn member_sees(&self, member: &MemberId, doc: &DocumentId) -> Access {
        self.core.acl().member_access(&self.team, member, doc)
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
    /// What the relay denied (refused writes among them), with its reason.
    pub refusals: Vec<(Denial, String)>,
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
            refusals: Vec::new(),
        }
    }

    pub fn add_device(&mut self, name: &str, member: &str) -> usize {
        let seed = u8::try_from(self.devices.len() + 1).unwrap();
        let team = self.relay.team.clone();
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
        let member = self.devices[d].config.member.clone();
        self.links.insert(conn, (VecDeque::new(), VecDeque::new()));
        let open = Input::Open {
            conn,
            team: self.relay.team.clone(),
            member: member.clone(),
            token: format!("token-{member}"),
        };
        let out = self.relay.handle(self.now, open);
        self.relay_output(out);
        self.devices[d].conn = Some(conn);
        let effects = self.devices[d].replica.connect(self.now);
        self.device_effects(d, effects);
    }

    /// Cuts device `d`'s connection; frames in flight are lost.
    pub fn disconnect(&mut self, d: usize) {
        if let Some(conn) = self.devices[d].conn.take() {
            self.links.remove(&conn);
            let out = self.relay.handle(self.now, Input::Closed { conn });
            self.relay_output(out);
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

    /// Routes the relay's frames onto the links and closes what it closes (its writes are
    /// committed by [`Relay::handle`]). Returns whether it sent anything.
    fn relay_output(&mut self, out: Output) -> bool {
        let sent = !out.frames.is_empty();
        self.refusals
            .extend(out.events.into_iter().filter_map(|e| match e {
                RelayEvent::Denied { denial, reason, .. } => Some((denial, reason)),
                _ => None,
            }));
        for (conn, frame) in out.frames {
            if let Some(link) = self.links.get_mut(&conn) {
                link.1.push_back(frame);
            }
        }
        for (conn, _, _) in out.closes {
            if let Some(d) = self.devices.iter().position(|dev| dev.conn == Some(conn)) {
                self.disconnect(d);
            } else {
                self.links.remove(&conn);
            }
        }
        sent
    }

    /// Time passes until the relay's next deadline (its index writer's debounce); the relay
    /// runs it. Returns whether it sent anything.
    pub fn relay_deadline(&mut self) -> bool {
        let Some(deadline) = self.relay.core.next_deadline() else {
            return false;
        };
        self.now = self.now.max(deadline);
        let out = self.relay.handle(self.now, Input::Tick);
        self.relay_output(out)
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
                let out = self.relay.handle(
                    self.now,
                    Input::Frame {
                        conn,
                        bytes: &frame,
                    },
                );
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
            if !moved && !self.relay_deadline() && self.in_flight() == 0 {
                return;
            }
        }
    }

    /// A client that is not a Fieldbook device (raw frames, like a third-party or hostile
    /// client) connects as `member`, takes the relay's copy of `id`, changes it with `mutate`
    /// (with its own actor) and syncs it, then disconnects. Returns the refusals the relay sent
    /// it (the `refusal` JSON of each `error`). Frames the relay sends others are queued on
    /// their links as usual.
    pub fn raw_write(
        &mut self,
        member: &str,
        id: DocumentId,
        mutate: impl FnOnce(&mut Automerge),
    ) -> Vec<String> {
        use automerge::sync::{self, SyncDoc};
        use fieldbook_core::relay::RELAY_PEER;
        use fieldbook_core::sync::wire::{self, Message, PeerId};
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let peer = PeerId::new(format!("raw-{}", self.next_conn));
        let mut inbox: Vec<Message> = Vec::new();
        let open = Input::Open {
            conn,
            team: self.relay.team.clone(),
            member: member.into(),
            token: format!("token-{member}"),
        };
        inbox.extend(self.raw_input(conn, open));
        let join = wire::encode(&Message::Join {
            sender_id: peer.clone(),
            supported_protocol_versions: Some(vec!["1".into()]),
            peer_metadata: None,
        });
        inbox.extend(self.raw_input(conn, Input::Frame { conn, bytes: &join }));
        let Some(relays) = self.relay.doc(&id) else {
            self.raw_input(conn, Input::Closed { conn });
            return Vec::new();
        };
        let mut doc = relays.with_actor(ActorId::from(&[0xba, 0xd0, self.next_conn as u8][..]));
        mutate(&mut doc);
        let mut state = sync::State::new();
        for _ in 0..50 {
            let seen = inbox.len();
            if let Some(message) = doc.generate_sync_message(&mut state) {
                let frame = wire::encode(&Message::Sync {
                    sender_id: peer.clone(),
                    target_id: PeerId::new(RELAY_PEER),
                    document_id: id,
                    data: message.encode(),
                    sealed: None,
                });
                inbox.extend(self.raw_input(
                    conn,
                    Input::Frame {
                        conn,
                        bytes: &frame,
                    },
                ));
            }
            for message in &inbox[seen..] {
                if let Message::Sync { data, .. } = message
                    && let Ok(m) = sync::Message::decode(data)
                {
                    let _ = doc.receive_sync_message(&mut state, m);
                }
            }
            if inbox.len() == seen {
                break;
            }
        }
        self.raw_input(conn, Input::Closed { conn });
        inbox
            .into_iter()
            .filter_map(|m| match m {
                Message::Error { refusal, .. } => refusal,
                _ => None,
            })
            .collect()
    }

    /// Hands the relay an input from the raw connection `conn`: returns the messages the relay
    /// sent it, and routes the rest as usual.
    fn raw_input(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
    ) -> Vec<fieldbook_core::sync::wire::Message> {
        let mut out = self.relay.handle(self.now, input);
        let frames = std::mem::take(&mut out.frames);
        let (mine, others): (Vec<_>, Vec<_>) = frames.into_iter().partition(|(c, _)| *c == conn);
        out.frames = others;
        out.closes.retain(|(c, _, _)| *c != conn);
        self.relay_output(out);
        mine.iter()
            .filter_map(|(_, f)| fieldbook_core::sync::wire::decode(f, Default::default()).ok())
            .collect()
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
