//! The relay core without sockets: an in-memory store, peers that speak the protocol with
//! their own Automerge documents, a clock passed by hand.

use super::*;
use crate::doc::lead::{append_events, create_lead, put_fields};
use crate::doc::team::{create_team, team_document_id};
use crate::lead::{Event, EventKind};
use crate::testing::{LeadBuilder, t, team};
use automerge::ReadDoc;
use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use std::collections::BTreeMap;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: &str = "2026-11-24T09:00:00Z";

/// A peer that syncs its own documents with the relay.
struct Peer {
    conn: ConnId,
    id: PeerId,
    docs: BTreeMap<DocumentId, (Automerge, sync::State)>,
    /// Every message received, decoded.
    inbox: Vec<Message>,
    /// Heads sealed by the relay, sent with a document's messages.
    sealed: BTreeMap<DocumentId, wire::Sealed>,
}

impl Peer {
    fn new(conn: u64, name: &str) -> Self {
        Self {
            conn: ConnId(conn),
            id: PeerId::new(name),
            docs: BTreeMap::new(),
            inbox: Vec::new(),
            sealed: BTreeMap::new(),
        }
    }

    fn join(&self) -> Vec<u8> {
        wire::encode(&Message::Join {
            sender_id: self.id.clone(),
            supported_protocol_versions: Some(vec!["1".into()]),
            peer_metadata: None,
        })
    }

    fn hold(&mut self, id: DocumentId, doc: Automerge) {
        self.docs.insert(id, (doc, sync::State::new()));
    }

    /// The next sync message for `id`, if automerge has one.
    fn sync(&mut self, id: DocumentId) -> Option<Vec<u8>> {
        let (doc, state) = self.docs.get_mut(&id)?;
        let message = doc.generate_sync_message(state)?;
        Some(wire::encode(&Message::Sync {
            sender_id: self.id.clone(),
            target_id: PeerId::new(RELAY_PEER),
            document_id: id,
            data: message.encode(),
            sealed: self.sealed.get(&id).cloned(),
        }))
    }

    fn receive(&mut self, frame: &[u8]) {
        let message = wire::decode(frame, Default::default()).expect("the relay's frames decode");
        if let Message::Sync {
            document_id, data, ..
        } = &message
        {
            let (doc, state) = self
                .docs
                .entry(*document_id)
                .or_insert_with(|| (Automerge::new(), sync::State::new()));
            let m = sync::Message::decode(data).unwrap();
            doc.receive_sync_message(state, m).unwrap();
        }
        self.inbox.push(message);
    }

    fn errors(&self) -> Vec<(Option<DocumentId>, String)> {
        self.inbox
            .iter()
            .filter_map(|m| match m {
                Message::Error {
                    document_id,
                    refusal,
                    message,
                    ..
                } => Some((
                    *document_id,
                    refusal.clone().unwrap_or_else(|| message.clone()),
                )),
                _ => None,
            })
            .collect()
    }
}

/// A relay over a store holding the test team (`mgr`, reps `dana` and `ion`, admin `ada`).
struct World {
    relay: RelayCore,
    store: MemStore,
    now: DateTime<Utc>,
    team_doc: DocumentId,
    /// Every output, kept for assertions.
    log: Vec<Output>,
}

impl World {
    fn new() -> Self {
        let mut store = MemStore::default();
        let team = team();
        let team_doc = team_document_id(&team.id);
        let d = create_team(&team, ActorId::from(&[9u8; 16][..]), t(NOW)).unwrap();
        store.put(team_doc, StoredKind::Team, "team-1".into(), None, &d);
        let now = t(NOW);
        let (relay, out) = RelayCore::open(
            store.records.values().cloned().collect(),
            RelayConfig::default(),
            ActorId::from(&[1u8; 16][..]),
            now,
            &mut store,
        );
        store.apply(&out.writes);
        let mut world = Self {
            relay,
            store,
            now,
            team_doc,
            log: vec![out],
        };
        world.tick(1_000);
        world
    }

    fn handle(&mut self, input: Input<'_>) -> Output {
        let out = self.relay.handle(self.now, input, &mut self.store);
        self.store.apply(&out.writes);
        self.relay.evict();
        out
    }

    /// Time passes by `ms`; the relay's deadlines run.
    fn tick(&mut self, ms: i64) -> Output {
        self.now += TimeDelta::milliseconds(ms);
        self.handle(Input::Tick)
    }

    fn connect(&mut self, peer: &mut Peer, member: &str) {
        let out = self.handle(Input::Open {
            conn: peer.conn,
            team: "team-1".into(),
            member: member.into(),
            token: format!("tok-{member}"),
        });
        self.deliver(out, &mut [peer]);
        let join = peer.join();
        self.send(peer, &join);
    }

    fn send(&mut self, peer: &mut Peer, frame: &[u8]) -> Output {
        let out = self.handle(Input::Frame {
            conn: peer.conn,
            bytes: frame,
        });
        let kept = Output {
            writes: out.writes.clone(),
            frames: out.frames.clone(),
            closes: out.closes.clone(),
            events: out.events.clone(),
        };
        self.deliver(out, &mut [peer]);
        kept
    }

    fn deliver(&mut self, out: Output, peers: &mut [&mut Peer]) {
        for (conn, frame) in &out.frames {
            if let Some(p) = peers.iter_mut().find(|p| p.conn == *conn) {
                p.receive(frame);
            }
        }
        self.log.push(out);
    }

    /// Sends `peer`'s next sync message for `id`.
    fn push(&mut self, peer: &mut Peer, id: DocumentId) -> Output {
        let frame = peer.sync(id).expect("a message to send");
        self.send(peer, &frame)
    }

    /// Syncs `id` between `peer` and the relay until neither has more to say.
    fn sync(&mut self, peer: &mut Peer, id: DocumentId) {
        for _ in 0..20 {
            let Some(frame) = peer.sync(id) else {
                return;
            };
            self.send(peer, &frame);
        }
        panic!("no quiescence");
    }

    fn stored_lead(&self, id: &DocumentId) -> Option<crate::lead::Lead> {
        let bytes = self.store.chunks.get(id)?.concat();
        let d = doc::load(&bytes, ActorId::from(&[5u8; 16][..])).ok()?;
        Some(lead_doc::read_lead(&d).ok()?.lead)
    }

    fn denials(&self) -> Vec<Denial> {
        self.log
            .iter()
            .flat_map(|o| &o.events)
            .filter_map(|e| match e {
                RelayEvent::Denied { denial, .. } => Some(*denial),
                _ => None,
            })
            .collect()
    }
}

fn lead_doc_of(id: &str, owner: &str, by: &str) -> Automerge {
    let mut lead = LeadBuilder::new(id, owner, NOW).build();
    lead.events[0].by = by.into();
    create_lead(&lead, ActorId::from(&[3u8; 16][..]), t(NOW)).unwrap()
}

fn attempt(id: &str, by: &str) -> Event {
    Event {
        id: id.into(),
        at: t(NOW),
        by: by.into(),
        after: None,
        kind: EventKind::Attempt {
            channel: crate::lead::Channel::Call,
            outcome: crate::lead::AttemptOutcome::NoAnswer,
        },
    }
}

#[test]
fn a_new_lead_is_judged_stored_and_indexed() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    let id = DocumentId::from_random([1; 16]);
    dana.hold(id, lead_doc_of("L1", "dana", "dana"));
    w.sync(&mut dana, id);
    assert!(dana.errors().is_empty(), "{:?}", dana.errors());
    assert_eq!(w.stored_lead(&id).unwrap().owner.as_str(), "dana");
    assert_eq!(
        w.store.records[&id].member.as_ref().map(MemberId::as_str),
        Some("dana")
    );
    assert!(w.log.iter().flat_map(|o| &o.events).any(
        |e| matches!(e, RelayEvent::NewLead { doc, owner, .. } if *doc == id && owner.as_str() == "dana")
    ));
    // After the debounce, Dana's index lists it (and the manager's).
    w.tick(100);
    let dana_index = index_doc::index_document_id(&"team-1".into(), &"dana".into());
    let bytes = w.store.chunks[&dana_index].concat();
    let index = doc::load(&bytes, ActorId::from(&[5u8; 16][..])).unwrap();
    assert!(index_doc::read_entry(&index, &id).unwrap().is_some());
}

#[test]
fn a_lead_for_someone_else_or_at_a_reserved_id_is_refused_and_never_stored() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    // For another rep: not hers to create.
    let theirs = DocumentId::from_random([2; 16]);
    dana.hold(theirs, lead_doc_of("L2", "ion", "dana"));
    let writes = w.store.chunks.len();
    w.sync(&mut dana, theirs);
    assert_eq!(w.store.chunks.len(), writes, "nothing stored");
    assert_eq!(dana.errors().len(), 1);
    let (doc, refusal) = &dana.errors()[0];
    assert_eq!(*doc, Some(theirs));
    assert!(refusal.contains("\"code\":\"not_theirs\""), "{refusal}");
    assert!(!w.store.chunks.contains_key(&theirs));
    // At most the empty document a new sync session begins with (forgotten when Dana's
    // connection closes), never her changes.
    assert!(
        w.relay
            .loaded(&theirs)
            .is_none_or(|d| d.get_heads().is_empty())
    );
    // At the id of a future member's index: reserved for the relay.
    let future = index_doc::index_document_id(&"team-1".into(), &"newcomer".into());
    dana.hold(future, lead_doc_of("L3", "dana", "dana"));
    w.sync(&mut dana, future);
    assert!(
        dana.errors()[1].1.contains("reserved_id"),
        "{:?}",
        dana.errors()
    );
    assert!(!w.store.chunks.contains_key(&future));
    assert_eq!(
        w.denials(),
        [Denial::NewLeadRefused, Denial::NewLeadRefused]
    );
}

#[test]
fn erasing_history_is_rolled_back_and_the_writer_told() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    let id = DocumentId::from_random([4; 16]);
    dana.hold(id, lead_doc_of("L4", "dana", "dana"));
    w.sync(&mut dana, id);
    let stored_before = w.stored_lead(&id).unwrap();
    // A hostile client deletes the events of its own lead.
    {
        let (doc, _) = dana.docs.get_mut(&id).unwrap();
        let mut tx = doc.transaction();
        let events = tx.get(automerge::ROOT, "events").unwrap().unwrap().1;
        tx.delete(&events, "L4-e000").unwrap();
        tx.commit();
    }
    let out = w.push(&mut dana, id);
    assert!(out.writes.is_empty());
    let (doc, refusal) = dana.errors().pop().unwrap();
    assert_eq!(doc, Some(id));
    assert!(refusal.contains("event_changed"), "{refusal}");
    assert_eq!(w.stored_lead(&id).unwrap(), stored_before);
    // The relay's copy in memory is back too: an honest append still works afterwards.
    let mut honest = Peer::new(2, "mgr-laptop");
    w.connect(&mut honest, "mgr");
    let mut copy = doc::load(&w.store.chunks[&id].concat(), ActorId::from(&[6u8; 16][..])).unwrap();
    let mut tx = copy.transaction();
    append_events(&mut tx, &[attempt("m1", "mgr")]).unwrap();
    tx.commit();
    honest.hold(id, copy);
    w.sync(&mut honest, id);
    assert!(honest.errors().is_empty(), "{:?}", honest.errors());
    let events = w.stored_lead(&id).unwrap().events;
    assert_eq!(
        events.len(),
        2,
        "the created event and the manager's attempt"
    );
    assert!(w.denials().contains(&Denial::LeadWriteRefused));
}

#[test]
fn an_owner_set_without_an_assignment_or_to_a_non_member_is_refused() {
    let mut w = World::new();
    let mut mgr = Peer::new(1, "mgr-laptop");
    w.connect(&mut mgr, "mgr");
    let id = DocumentId::from_random([5; 16]);
    mgr.hold(id, lead_doc_of("L5", "dana", "mgr"));
    w.sync(&mut mgr, id);
    assert!(mgr.errors().is_empty(), "{:?}", mgr.errors());
    // The owner field alone, then an assignment to a stranger.
    for (events, owner, code) in [
        (vec![], "ion", "owner_without_assignment"),
        (
            vec![Event {
                kind: EventKind::Assigned {
                    owner: "ghost".into(),
                },
                ..attempt("a1", "mgr")
            }],
            "ghost",
            "may_not_own",
        ),
    ] {
        let (doc, _) = mgr.docs.get_mut(&id).unwrap();
        let mut tx = doc.transaction();
        append_events(&mut tx, &events).unwrap();
        put_fields(&mut tx, &[("owner".into(), serde_json::json!(owner))]).unwrap();
        tx.commit();
        let before = mgr.errors().len();
        w.sync(&mut mgr, id);
        assert_eq!(mgr.errors().len(), before + 1);
        let (_, refusal) = mgr.errors().pop().unwrap();
        assert!(refusal.contains(code), "{refusal}");
        assert_eq!(w.stored_lead(&id).unwrap().owner.as_str(), "dana");
        assert_eq!(
            w.relay.acl().lead(&id).map(|(_, o)| o.as_str()),
            Some("dana")
        );
        // The peer starts over from the relay's copy.
        mgr.hold(
            id,
            doc::load(&w.store.chunks[&id].concat(), ActorId::from(&[7u8; 16][..])).unwrap(),
        );
    }
}

#[test]
fn changes_to_a_read_only_document_are_refused_with_a_message() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    let team_doc = w.team_doc;
    // Dana takes the team document, then renames the team on her device.
    dana.hold(team_doc, Automerge::new());
    w.sync(&mut dana, team_doc);
    {
        let (doc, _) = dana.docs.get_mut(&team_doc).unwrap();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "name", "Dana's team").unwrap();
        tx.commit();
    }
    let out = w.push(&mut dana, team_doc);
    assert!(out.writes.is_empty());
    let (doc, refusal) = dana.errors().pop().unwrap();
    assert_eq!(doc, Some(team_doc));
    assert!(refusal.contains("read_only"), "{refusal}");
    assert!(w.denials().contains(&Denial::ReadOnlyWrite));
}

#[test]
fn ephemeral_messages_carry_the_authenticated_peer() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    let mut mgr = Peer::new(2, "mgr-laptop");
    w.connect(&mut dana, "dana");
    w.connect(&mut mgr, "mgr");
    let id = DocumentId::from_random([8; 16]);
    dana.hold(id, lead_doc_of("L8", "dana", "dana"));
    w.sync(&mut dana, id);
    mgr.hold(id, Automerge::new());
    w.sync(&mut mgr, id);
    let forged = wire::encode(&Message::Ephemeral {
        sender_id: PeerId::new("admin-laptop"),
        target_id: PeerId::new(RELAY_PEER),
        document_id: id,
        count: 1,
        session_id: "s".into(),
        data: vec![1],
    });
    let out = w.relay.handle(
        w.now,
        Input::Frame {
            conn: dana.conn,
            bytes: &forged,
        },
        &mut w.store,
    );
    let sent: Vec<Message> = out
        .frames
        .iter()
        .filter(|(c, _)| *c == mgr.conn)
        .map(|(_, f)| wire::decode(f, Default::default()).unwrap())
        .collect();
    assert!(
        matches!(&sent[..], [Message::Ephemeral { sender_id, .. }] if sender_id.as_str() == "dana-phone"),
        "{sent:?}"
    );
}

#[test]
fn a_team_document_from_before_the_reserved_space_moves_to_its_derived_id() {
    let mut store = MemStore::default();
    let team = team();
    let old = DocumentId::derived_before_reservation("team", "team-1");
    let d = create_team(&team, ActorId::from(&[9u8; 16][..]), t(NOW)).unwrap();
    store.put(old, StoredKind::Team, "team-1".into(), None, &d);
    let (relay, out) = RelayCore::open(
        store.records.values().cloned().collect(),
        RelayConfig::default(),
        ActorId::from(&[1u8; 16][..]),
        t(NOW),
        &mut store,
    );
    let new = team_document_id(&team.id);
    assert_eq!(out.writes[0], StoreWrite::MoveDoc { from: old, to: new });
    store.apply(&out.writes);
    assert!(store.chunks.contains_key(&new) && !store.chunks.contains_key(&old));
    assert_eq!(
        relay.acl().team_of_doc(&new).map(TeamId::as_str),
        Some("team-1")
    );
    // Every member got an index document.
    assert_eq!(
        store
            .records
            .values()
            .filter(|r| r.kind == StoredKind::Index)
            .count(),
        team.members.len()
    );
}

#[test]
fn another_members_peer_id_is_refused_and_a_revoked_token_closes() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "phone-1");
    w.connect(&mut dana, "dana");
    let mut ion = Peer::new(2, "phone-1");
    let out = w.handle(Input::Open {
        conn: ion.conn,
        team: "team-1".into(),
        member: "ion".into(),
        token: "tok-ion".into(),
    });
    assert!(out.closes.is_empty());
    let join = ion.join();
    let out = w.send(&mut ion, &join);
    assert_eq!(out.closes.len(), 1);
    assert!(w.denials().contains(&Denial::PeerIdTaken));
    let out = w.handle(Input::Revoked {
        token: "tok-dana".into(),
    });
    assert_eq!(out.closes[0].0, dana.conn);
    assert!(matches!(
        out.events[..],
        [RelayEvent::Denied {
            denial: Denial::TokenRevoked,
            ..
        }]
    ));
}

#[test]
fn changes_the_relay_lost_come_back_under_its_seal_and_only_under_it() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    let id = DocumentId::from_random([7; 16]);
    dana.hold(id, lead_doc_of("L7", "dana", "dana"));
    w.sync(&mut dana, id);
    // The manager's attempt the relay took once and lost (restored from an older backup): the
    // relay had sealed the heads after it in the index.
    let mut lost = dana.docs[&id]
        .0
        .fork()
        .with_actor(ActorId::from(&[8u8; 16][..]));
    let mut tx = lost.transaction();
    append_events(&mut tx, &[attempt("m1", "mgr")]).unwrap();
    tx.commit();
    let sealed_heads = lost.get_heads();
    let key = RelayConfig::default().seal_key;
    let seal = key.seal(&id, &sealed_heads);
    // Dana's device holds it, and her own attempt after it.
    {
        let (doc, _) = dana.docs.get_mut(&id).unwrap();
        doc.merge(&mut lost).unwrap();
        let mut tx = doc.transaction();
        append_events(&mut tx, &[attempt("d1", "dana")]).unwrap();
        tx.commit();
    }
    let retry = |w: &mut World, dana: &mut Peer, sealed: Option<wire::Sealed>| {
        dana.docs.get_mut(&id).unwrap().1 = sync::State::new();
        match sealed {
            Some(s) => dana.sealed.insert(id, s),
            None => dana.sealed.remove(&id),
        };
        let errors = dana.errors().len();
        w.sync(dana, id);
        dana.errors()[errors..].to_vec()
    };
    // Without a seal the manager's event cannot come from Dana.
    let refused = retry(&mut w, &mut dana, None);
    assert!(refused[0].1.contains("wrong_author"), "{refused:?}");
    assert_eq!(w.stored_lead(&id).unwrap().events.len(), 1);
    // A seal the relay did not make, or of other heads, changes nothing.
    let hex = doc::heads_to_hex(&sealed_heads);
    let forged = wire::Sealed {
        heads: hex.clone(),
        seal: "00".repeat(16),
    };
    assert!(
        retry(&mut w, &mut dana, Some(forged))[0]
            .1
            .contains("wrong_author")
    );
    let other_heads = wire::Sealed {
        heads: doc::heads_to_hex(&dana.docs[&id].0.get_heads()),
        seal: seal.clone(),
    };
    assert!(
        retry(&mut w, &mut dana, Some(other_heads))[0]
            .1
            .contains("wrong_author")
    );
    assert_eq!(w.stored_lead(&id).unwrap().events.len(), 1);
    // Under the relay's seal: the lost change comes back, and Dana's own beyond it is judged
    // as hers and stands.
    let sealed = wire::Sealed { heads: hex, seal };
    let accepted = retry(&mut w, &mut dana, Some(sealed.clone()));
    assert!(accepted.is_empty(), "{accepted:?}");
    let mut events: Vec<String> = w
        .stored_lead(&id)
        .unwrap()
        .events
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    events.sort();
    assert_eq!(events, ["L7-e000", "d1", "m1"]);
    // What a device adds beyond the seal is still judged: an event in someone else's name.
    {
        let (doc, _) = dana.docs.get_mut(&id).unwrap();
        let mut tx = doc.transaction();
        append_events(&mut tx, &[attempt("x1", "ion")]).unwrap();
        tx.commit();
    }
    let refused = retry(&mut w, &mut dana, Some(sealed));
    assert!(refused[0].1.contains("wrong_author"), "{refused:?}");
    assert_eq!(w.stored_lead(&id).unwrap().events.len(), 3);
}

#[test]
fn index_entries_carry_the_relays_seal_of_their_heads() {
    let mut w = World::new();
    let mut dana = Peer::new(1, "dana-phone");
    w.connect(&mut dana, "dana");
    let id = DocumentId::from_random([9; 16]);
    dana.hold(id, lead_doc_of("L9", "dana", "dana"));
    w.sync(&mut dana, id);
    w.tick(100);
    let dana_index = index_doc::index_document_id(&"team-1".into(), &"dana".into());
    let index = doc::load(
        &w.store.chunks[&dana_index].concat(),
        ActorId::from(&[5u8; 16][..]),
    )
    .unwrap();
    let entry = index_doc::read_entry(&index, &id).unwrap().unwrap();
    let seal = entry.seal.expect("a sealed entry");
    assert!(
        RelayConfig::default()
            .seal_key
            .verify(&id, &entry.heads, &seal)
    );
    assert_eq!(entry.heads, sorted_heads_of(&dana.docs[&id].0));
}

fn sorted_heads_of(d: &Automerge) -> Vec<automerge::ChangeHash> {
    let mut heads = d.get_heads();
    heads.sort_unstable();
    heads
}
