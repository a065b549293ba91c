//! Issue 11's findings against the real relay on 127.0.0.1. Each was reproduced first: the
//! relay stored or forwarded it. Now each is refused with an `error` naming the document and
//! the refusal's code, nothing is stored, and the others keep working. Raw clients
//! (`RawPeer`) send what a Fieldbook device never would; devices (`Device`) show what a user
//! sees. The published JS client's behaviour on a refusal is in `tests/interop.rs`.

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc};
use fieldbook_core::doc::lead::{append_events, read_lead};
use fieldbook_core::doc::{DocumentId, index, team as team_doc};
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, Event, EventKind};
use fieldbook_core::playbook::Reassignment;
use fieldbook_core::replica::{LeadCommand, TeamCommand};
use fieldbook_core::sync::wire::{Message, PeerId};
use fieldbook_core::team::{Member, Role};
use fieldbook_core::write::Refusal;
use fieldbook_server::relay::admin;
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_server::relay::engine::RELAY_PEER;
use fieldbook_server::relay::serve::ServeConfig;
use fieldbook_server::relay::store::{Durability, SqliteStore};
use fieldbook_tests::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// Demo leads alternate between r-yossi (even) and r-ioana (odd).
const N_LEADS: usize = 12;

fn demo_lead(i: usize) -> DocumentId {
    demo_lead_id(&TeamId::from("demo"), i)
}

/// The relay's copy of `id`, fetched by a raw client.
async fn fetch(raw: &mut RawPeer, id: DocumentId) -> Automerge {
    let mut doc = Automerge::new();
    assert_eq!(raw.sync_doc(id, &mut doc).await, RawOutcome::Synced);
    assert!(!doc.get_heads().is_empty(), "{id} arrived");
    doc
}

/// Whether `outcome` is a refusal with `code`.
fn refused(outcome: &RawOutcome, code: &str) -> bool {
    matches!(outcome, RawOutcome::Refused(r) if r.contains(&format!("\"code\":\"{code}\"")))
}

fn event(id: &str, by: &str, kind: EventKind) -> Event {
    Event {
        id: EventId(id.into()),
        at: now(),
        by: MemberId::from(by),
        after: None,
        kind,
    }
}

/// Appends an `assigned` event by `by` and sets the owner field, in one change (what a
/// reassignment writes).
fn reassign(doc: &mut Automerge, by: &str, to: &str, event_id: &str) {
    let mut tx = doc.transaction();
    let kind = EventKind::Assigned {
        owner: MemberId::from(to),
    };
    append_events(&mut tx, &[event(event_id, by, kind)]).unwrap();
    tx.put(ROOT, "owner", to).unwrap();
    tx.commit();
}

fn config(dir: &std::path::Path) -> ServeConfig {
    test_config(dir)
}

/// A demo team in a fresh data directory and its relay: (directory, tokens, relay).
async fn start(name: &str) -> (std::path::PathBuf, BTreeMap<String, String>, Relay) {
    let dir = data_dir(name);
    let tokens = demo_team(&dir, N_LEADS);
    let relay = Relay::start(config(&dir)).await;
    (dir, tokens, relay)
}

/// The manager's laptop after its first sync.
async fn manager_laptop(relay: &Relay, tokens: &BTreeMap<String, String>) -> Device {
    let mut dana = Device::new("m-dana-laptop", "m-dana", &tokens["m-dana"], 3);
    dana.connect(relay.addr).await;
    until(&mut [&mut dana], "the manager's first sync", |d| {
        d[0].settled() && d[0].leads().len() == N_LEADS
    })
    .await;
    dana
}

/// The admin edits the playbook's reassignment setting on their device.
fn set_reassignment(admin: &mut Device, reassignment: Reassignment) {
    let mut playbook = admin.replica.team().unwrap().playbook.clone();
    playbook.reassignment = reassignment;
    let effects = admin
        .replica
        .apply_team(TeamCommand::SetPlaybook { playbook }, now())
        .unwrap();
    admin.carry_out(effects);
}

/// Until the admin's edit is stored and `rep`'s device has it.
async fn reassignment_reaches(admin: &mut Device, rep: &mut Device, reassignment: Reassignment) {
    until(&mut [admin, rep], "the playbook on the rep's device", |d| {
        d[0].settled()
            && d[1]
                .replica
                .team()
                .is_some_and(|t| t.playbook.reassignment == reassignment)
    })
    .await;
}

/// The owner of lead `id` as the stopped relay stored it.
fn stored_owner(dir: &std::path::Path, id: &DocumentId) -> String {
    let stored = stored_doc(dir, id).unwrap();
    read_lead(&stored).unwrap().lead.owner.to_string()
}

/// Finding 1: a rep's client deleted every event of its own lead, the relay stored and
/// forwarded it, and the manager then saw 0 events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cannot_be_erased() {
    let (dir, tokens, relay) = start("writes-erase").await;
    let id = demo_lead(0);
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let mut doc = fetch(&mut yossi, id).await;
    let events = read_lead(&doc).unwrap().lead.events.len();
    assert!(events > 1, "a demo lead with a history");
    let map = doc.get(ROOT, "events").unwrap().unwrap().1;
    let keys: Vec<String> = doc.keys(&map).collect();
    let mut tx = doc.transaction();
    for key in &keys {
        tx.delete(&map, key.as_str()).unwrap();
    }
    tx.commit();
    let outcome = yossi.sync_doc(id, &mut doc).await;
    assert!(refused(&outcome, "event_changed"), "{outcome:?}");
    // Offered again, refused again: a client cannot wear the relay down.
    let outcome = yossi.sync_doc(id, &mut doc).await;
    assert!(refused(&outcome, "event_changed"), "{outcome:?}");

    // The manager's device gets every event.
    let mut dana = manager_laptop(&relay, &tokens).await;
    dana.ensure_loaded(&id);
    let seen = read_lead(dana.replica.document(&id).unwrap()).unwrap();
    assert_eq!(seen.lead.events.len(), events);
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert!(
        metrics.contains("fieldbook_denials_total{reason=\"lead_write_refused\"} 2"),
        "{metrics}"
    );
    relay.stop().await;
    let stored = stored_doc(&dir, &id).unwrap();
    assert_eq!(read_lead(&stored).unwrap().lead.events.len(), events);
}

/// Finding 2: a lead assigned (with an `assigned` event and the owner field) to someone who is
/// not a member was taken, and its manager could no longer read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_cannot_be_orphaned() {
    let (dir, tokens, relay) = start("writes-orphan").await;
    let id = demo_lead(0);
    let mut dana = RawPeer::join(relay.addr, &tokens["m-dana"], "m-dana/raw").await;
    for (to, code) in [("stranger", "may_not_own"), ("a-admin", "may_not_own")] {
        let mut doc = fetch(&mut dana, id).await;
        reassign(&mut doc, "m-dana", to, &format!("assign-{to}"));
        let outcome = dana.sync_doc(id, &mut doc).await;
        assert!(refused(&outcome, code), "to {to}: {outcome:?}");
    }
    // The owner field alone, without an assigned event.
    let mut doc = fetch(&mut dana, id).await;
    let mut tx = doc.transaction();
    tx.put(ROOT, "owner", "r-ioana").unwrap();
    tx.commit();
    let outcome = dana.sync_doc(id, &mut doc).await;
    assert!(refused(&outcome, "owner_without_assignment"), "{outcome:?}");
    // The manager still reads it; the owner did not move.
    let doc = fetch(&mut dana, id).await;
    assert_eq!(read_lead(&doc).unwrap().lead.owner.as_str(), "r-yossi");
    relay.stop().await;
    assert_eq!(stored_owner(&dir, &id), "r-yossi");
}

/// Finding 3: a member stored an ordinary lead at the derived id of a future member's index
/// document (or a future team's document); when that member was created, their index was
/// broken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_ids_cannot_be_claimed_in_advance() {
    let (dir, tokens, relay) = start("writes-derived").await;
    let team = TeamId::from("demo");
    let future_index = index::index_document_id(&team, &MemberId::from("r-newcomer"));
    let future_team = team_doc::team_document_id(&TeamId::from("next-year"));
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    for id in [future_index, future_team] {
        let mut lead = fetch(&mut yossi, demo_lead(0)).await;
        let outcome = yossi.sync_doc(id, &mut lead).await;
        assert!(refused(&outcome, "reserved_id"), "{id}: {outcome:?}");
    }
    // The member is created while the relay serves; their device finds a working index.
    let newcomer: Member = serde_json::from_value(serde_json::json!({
        "id": "r-newcomer", "name": "Newcomer", "role": "rep", "manager": "m-dana",
        "time_zone": "Asia/Jerusalem", "locale": "he-IL"
    }))
    .unwrap();
    assert_eq!(newcomer.role, Role::Rep);
    let mut store = SqliteStore::open_dir(&dir, Durability::Normal).unwrap();
    admin::add_member(&mut store, &team, &newcomer, now()).unwrap();
    let (token, _) = admin::issue_token(
        &mut store,
        &team,
        &newcomer.id,
        chrono::TimeDelta::hours(1),
        now(),
    )
    .unwrap();
    drop(store);
    let mut device = Device::new("newcomer-phone", "r-newcomer", &token, 9);
    // The relay learns of the member from the admin's notice (polled every 50 ms here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    device.connect(relay.addr).await;
    until(&mut [&mut device], "the newcomer's index", |d| {
        d[0].settled()
            && d[0]
                .index()
                .is_some_and(|i| i.member.as_str() == "r-newcomer")
    })
    .await;
    assert!(device.errors.is_empty(), "{:?}", device.errors);
    relay.stop().await;
    assert!(stored_doc(&dir, &future_team).is_none());
}

/// Finding 4: reps reassigned their own leads to any member, past the per-member limit; the
/// web app let only managers do it and the docs did not say. Now the playbook says who may
/// (`reassignment`, default managers and admins), always within the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_reassign_is_the_playbooks_and_the_limit_holds() {
    let dir = data_dir("writes-reassign");
    let tokens = demo_team(&dir, N_LEADS);
    let mut config = config(&dir);
    // Each rep owns N_LEADS / 2: full.
    config.engine.max_docs_per_member = N_LEADS / 2;
    let relay = Relay::start(config).await;
    let id = demo_lead(0);
    // The rep's device refuses before writing anything.
    let mut yossi_phone = Device::new("r-yossi-phone", "r-yossi", &tokens["r-yossi"], 1);
    yossi_phone.connect(relay.addr).await;
    until(&mut [&mut yossi_phone], "the rep's first sync", |d| {
        d[0].settled() && d[0].leads().len() == N_LEADS / 2
    })
    .await;
    let heads = yossi_phone.heads(&id);
    let err = yossi_phone
        .command(
            id,
            LeadCommand::Assign {
                owner: "m-dana".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reassign"), "{err}");
    assert_eq!(yossi_phone.heads(&id), heads, "nothing written");
    // A raw client: refused by the relay too.
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let mut doc = fetch(&mut yossi, id).await;
    reassign(&mut doc, "r-yossi", "m-dana", "y-assign-1");
    let outcome = yossi.sync_doc(id, &mut doc).await;
    assert!(refused(&outcome, "may_not_reassign"), "{outcome:?}");
    // The manager may, but not past the limit: Ioana is full.
    let mut dana = RawPeer::join(relay.addr, &tokens["m-dana"], "m-dana/raw").await;
    let mut doc = fetch(&mut dana, id).await;
    reassign(&mut doc, "m-dana", "r-ioana", "d-assign-1");
    let outcome = dana.sync_doc(id, &mut doc).await;
    assert!(refused(&outcome, "too_many_leads"), "{outcome:?}");
    // Her device cannot know the relay's limit: the relay refuses, the device puts the lead
    // back once, drops the assignment and says so (no refusal loop).
    let mut dana_laptop = manager_laptop(&relay, &tokens).await;
    let to_ioana = LeadCommand::Assign {
        owner: "r-ioana".into(),
    };
    dana_laptop.command(id, to_ioana).await.unwrap();
    until(&mut [&mut dana_laptop], "the refused assignment", |d| {
        d[0].settled() && !d[0].refused.is_empty()
    })
    .await;
    let report = &dana_laptop.refused[0];
    assert!(
        matches!(
            report.refusal,
            Some(Refusal::TooManyLeads {
                count: 6,
                limit: 6,
                ..
            })
        ),
        "{report:?}"
    );
    assert_eq!(report.dropped_events.len(), 1);
    assert_eq!(dana_laptop.refused.len(), 1, "refused once");
    dana_laptop.ensure_loaded(&id);
    let lead = read_lead(dana_laptop.replica.document(&id).unwrap())
        .unwrap()
        .lead;
    assert_eq!(lead.owner.as_str(), "r-yossi");

    // The admin lets owners hand their leads over; the rep's hand-over to the manager stands.
    let mut admin = Device::new("a-admin-laptop", "a-admin", &tokens["a-admin"], 4);
    admin.connect(relay.addr).await;
    until(&mut [&mut admin], "the admin's first sync", |d| {
        d[0].settled()
    })
    .await;
    set_reassignment(&mut admin, Reassignment::Owners);
    reassignment_reaches(&mut admin, &mut yossi_phone, Reassignment::Owners).await;
    yossi_phone
        .command(
            id,
            LeadCommand::Assign {
                owner: "m-dana".into(),
            },
        )
        .await
        .unwrap();
    until(&mut [&mut yossi_phone], "the hand-over", |d| d[0].settled()).await;
    assert!(yossi_phone.refused.is_empty(), "{:?}", yossi_phone.refused);
    relay.stop().await;
    assert_eq!(stored_owner(&dir, &id), "m-dana");
}

/// Finding 7: an `ephemeral` message kept the client-chosen `senderId`, so a rep could speak
/// as the admin's device to the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_messages_carry_the_authenticated_sender() {
    let (_dir, tokens, relay) = start("writes-ephemeral").await;
    let id = demo_lead(0);
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let mut dana = RawPeer::join(relay.addr, &tokens["m-dana"], "m-dana/raw").await;
    fetch(&mut yossi, id).await;
    fetch(&mut dana, id).await;
    yossi
        .send(&Message::Ephemeral {
            sender_id: PeerId::new("a-admin/a-admin-laptop"),
            target_id: PeerId::new(RELAY_PEER),
            document_id: id,
            count: 1,
            session_id: "s1".into(),
            data: vec![0xa0],
        })
        .await;
    let got = loop {
        if let message @ Message::Ephemeral { .. } = dana.recv().await {
            break message;
        }
    };
    assert!(
        matches!(&got, Message::Ephemeral { sender_id, .. } if sender_id.as_str() == "r-yossi/raw"),
        "{got:?}"
    );
    relay.stop().await;
}

/// Finding 9: a rep's write to a document they may only read (the team document) stayed in
/// their copy forever, and the client was never told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_a_read_only_document_are_told() {
    let (dir, tokens, relay) = start("writes-readonly").await;
    let team = team_doc::team_document_id(&TeamId::from("demo"));
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let mut doc = fetch(&mut yossi, team).await;
    let before = doc.get_heads();
    let mut tx = doc.transaction();
    tx.put(ROOT, "name", "Yossi's team").unwrap();
    tx.commit();
    let outcome = yossi.sync_doc(team, &mut doc).await;
    assert!(refused(&outcome, "read_only"), "{outcome:?}");
    relay.stop().await;
    assert_eq!(stored_doc(&dir, &team).unwrap().get_heads(), before);
}

/// Finding 4 of the device: a write refused by the relay (the playbook changed while the rep
/// was offline) is put back, the rep's later offline work on the lead stays, and the device
/// reports what was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_offline_write_is_put_back_and_later_work_kept() {
    let (dir, tokens, relay) = start("writes-device").await;
    let id = demo_lead(0);
    let mut admin = Device::new("a-admin-laptop", "a-admin", &tokens["a-admin"], 4);
    let mut yossi = Device::new("r-yossi-phone", "r-yossi", &tokens["r-yossi"], 1);
    admin.connect(relay.addr).await;
    yossi.connect(relay.addr).await;
    until(&mut [&mut admin, &mut yossi], "the first sync", |d| {
        d.iter().all(|d| d.settled()) && d[1].leads().len() == N_LEADS / 2
    })
    .await;
    set_reassignment(&mut admin, Reassignment::Owners);
    reassignment_reaches(&mut admin, &mut yossi, Reassignment::Owners).await;
    // Offline: a call, then the hand-over to the manager. Meanwhile the admin takes the
    // hand-over right back.
    yossi.disconnect();
    let attempt = LeadCommand::LogAttempt {
        channel: Channel::Call,
        outcome: AttemptOutcome::NoAnswer,
    };
    yossi.command(id, attempt).await.unwrap();
    let handover = LeadCommand::Assign {
        owner: "m-dana".into(),
    };
    yossi.command(id, handover).await.unwrap();
    set_reassignment(&mut admin, Reassignment::Managers);
    until(&mut [&mut admin], "the admin's playbook stored", |d| {
        d[0].settled()
    })
    .await;
    yossi.connect(relay.addr).await;
    // The device may put the lead back more than once (until the new playbook reaches it, it
    // re-applies the hand-over, which the relay refuses again); in the end it drops it.
    until(&mut [&mut yossi], "the refusal settled", |d| {
        d[0].settled() && d[0].refused.iter().any(|r| !r.dropped_events.is_empty())
    })
    .await;
    let report = yossi.refused.last().unwrap().clone();
    assert_eq!(report.doc, id);
    assert!(
        matches!(report.refusal, Some(Refusal::MayNotReassign { .. })),
        "{report:?}"
    );
    assert_eq!(report.dropped_events.len(), 1, "{report:?}");
    assert!(!report.removed && !report.held);
    // The lead is Yossi's again, with his call; the relay holds the same.
    yossi.ensure_loaded(&id);
    let lead = read_lead(yossi.replica.document(&id).unwrap())
        .unwrap()
        .lead;
    assert_eq!(lead.owner.as_str(), "r-yossi");
    let call = lead
        .events
        .iter()
        .find(|e| {
            e.by.as_str() == "r-yossi"
                && matches!(e.kind, EventKind::Attempt { .. })
                && e.id.as_str().starts_with("r-yossi-phone")
        })
        .expect("the offline call stays");
    assert!(!lead.events.iter().any(|e| e.id == report.dropped_events[0]));
    relay.stop().await;
    let stored = read_lead(&stored_doc(&dir, &id).unwrap()).unwrap().lead;
    assert_eq!(stored.owner.as_str(), "r-yossi");
    assert!(stored.events.iter().any(|e| e.id == call.id));
}
