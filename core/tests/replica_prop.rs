//! The convergence invariant (SPEC §5) as a property, through the real relay core: random
//! offline work on several devices, reassignments, hostile writes from raw clients (erased or
//! edited events, owners outside the team or without an assignment, events in someone else's
//! name, unknown keys and kinds), random partial delivery, duplicated frames, restarts and
//! reconnects. After every step no event the relay stored has changed or gone and every
//! lead's owner is a rep or a manager of the team; once every device is back online and the
//! network is quiet, every device that may see a lead holds identical heads, every event the
//! relay ever stored, and computes identical facts and derived state for the same `now`.
//!
//! Cases: 96 by default; `PROPTEST_CASES=1000 cargo test -p fieldbook-core --test replica_prop`
//! for a longer run.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use chrono::{DateTime, TimeDelta, Utc};
use common::{Net, example_team};
use fieldbook_core::commands::{ConversationInput, NewLead, NextStepInput};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::doc::lead::read_lead;
use fieldbook_core::lead::Event;
use fieldbook_core::lead::{AttemptOutcome, Channel, ConversationKind, NextStepKind};
use fieldbook_core::replica::LeadCommand;
use fieldbook_core::state::derive;
use fieldbook_core::sync::hub::Access;
use fieldbook_core::team::Role;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Devices: two of the rep r-yossi (phone, tablet), one of r-ioana, one of the manager m-dana.
const DEVICES: [(&str, &str); 4] = [
    ("phone", "r-yossi"),
    ("tablet", "r-yossi"),
    ("ioana", "r-ioana"),
    ("dana", "m-dana"),
];

#[derive(Clone, Debug)]
enum Op {
    /// A rep's device creates a lead.
    Create { device: usize },
    /// A device logs an attempt on the k-th lead it holds.
    Attempt {
        device: usize,
        lead: usize,
        reached: bool,
    },
    /// A device logs a conversation ending with a next step.
    Conversation {
        device: usize,
        lead: usize,
        days: i64,
    },
    /// The connection of a device goes down (frames in flight are lost) or comes up.
    Toggle { device: usize },
    /// Delivers up to n frames on the k-th connection, one direction.
    Deliver {
        conn: usize,
        to_relay: bool,
        n: usize,
        duplicate: bool,
    },
    /// The app restarts from storage (offline).
    Restart { device: usize },
    /// Time passes.
    Wait { minutes: i64 },
    /// The manager reassigns the k-th lead she holds to a rep.
    Assign { lead: usize, to_ioana: bool },
    /// A raw client of a device's member writes something the write model refuses to the k-th
    /// lead the device holds.
    Hostile {
        device: usize,
        lead: usize,
        kind: Hostile,
    },
}

/// What a hostile client writes.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// Deletes an event (history erased).
    EraseEvent,
    /// Changes an event's time.
    EditEvent,
    /// Gives the lead to someone outside the team (an `assigned` event and the owner field).
    OwnerToStranger,
    /// Sets the owner field (to the manager) without an `assigned` event.
    OwnerWithoutEvent,
    /// Appends an event in another member's name.
    ForeignEvent,
    /// Adds a key this version does not know.
    UnknownKey,
    /// Changes `created_at`.
    ImmutableField,
    /// An event of a kind this version does not know.
    UnknownEventKind,
}

fn op() -> impl Strategy<Value = Op> {
    let device = 0..DEVICES.len();
    prop_oneof![
        2 => prop_oneof![Just(0usize), Just(1), Just(2)].prop_map(|device| Op::Create { device }),
        4 => (device.clone(), 0..8usize, any::<bool>())
            .prop_map(|(device, lead, reached)| Op::Attempt { device, lead, reached }),
        2 => (device.clone(), 0..8usize, 1..10i64)
            .prop_map(|(device, lead, days)| Op::Conversation { device, lead, days }),
        2 => device.clone().prop_map(|device| Op::Toggle { device }),
        5 => (0..4usize, any::<bool>(), 1..12usize, prop::bool::weighted(0.2))
            .prop_map(|(conn, to_relay, n, duplicate)| Op::Deliver { conn, to_relay, n, duplicate }),
        1 => device.clone().prop_map(|device| Op::Restart { device }),
        1 => (1..600i64).prop_map(|minutes| Op::Wait { minutes }),
        1 => (0..8usize, any::<bool>()).prop_map(|(lead, to_ioana)| Op::Assign { lead, to_ioana }),
        2 => (device.clone(), 0..8usize, hostile())
            .prop_map(|(device, lead, kind)| Op::Hostile { device, lead, kind }),
    ]
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        Just(Hostile::EraseEvent),
        Just(Hostile::EditEvent),
        Just(Hostile::OwnerToStranger),
        Just(Hostile::OwnerWithoutEvent),
        Just(Hostile::ForeignEvent),
        Just(Hostile::UnknownKey),
        Just(Hostile::ImmutableField),
        Just(Hostile::UnknownEventKind),
    ]
}

/// Writes `kind` into `doc` as `writer`'s raw client would.
fn hostile_change(doc: &mut Automerge, kind: Hostile, writer: &str, now: DateTime<Utc>) {
    let events = match doc.get(ROOT, "events") {
        Ok(Some((_, events))) => events,
        _ => return,
    };
    let first = doc.keys(&events).next();
    let at = now.to_rfc3339();
    let mut tx = doc.transaction();
    let put_event =
        |tx: &mut automerge::transaction::Transaction<'_>, id: &str, fields: &[(&str, &str)]| {
            let event = tx.put_object(&events, id, ObjType::Map).unwrap();
            for (key, value) in fields {
                tx.put(&event, *key, *value).unwrap();
            }
        };
    match kind {
        Hostile::EraseEvent => {
            if let Some(first) = &first {
                tx.delete(&events, first.as_str()).unwrap();
            }
        }
        Hostile::EditEvent => {
            if let Some(first) = &first
                && let Ok(Some((_, event))) = tx.get(&events, first.as_str())
            {
                tx.put(&event, "at", "2020-01-01T00:00:00Z").unwrap();
            }
        }
        Hostile::OwnerToStranger => {
            let fields = [
                ("type", "assigned"),
                ("at", at.as_str()),
                ("by", writer),
                ("owner", "stranger"),
            ];
            put_event(&mut tx, &format!("evil-assign-{writer}-{at}"), &fields);
            tx.put(ROOT, "owner", "stranger").unwrap();
        }
        Hostile::OwnerWithoutEvent => {
            // Leads here are owned by reps: the manager as owner is always a change.
            tx.put(ROOT, "owner", "m-dana").unwrap();
        }
        Hostile::ForeignEvent => {
            let other = if writer == "m-dana" {
                "r-yossi"
            } else {
                "m-dana"
            };
            let fields = [
                ("type", "attempt"),
                ("at", at.as_str()),
                ("by", other),
                ("channel", "call"),
                ("outcome", "no_answer"),
            ];
            put_event(&mut tx, &format!("evil-attempt-{writer}-{at}"), &fields);
        }
        Hostile::UnknownKey => {
            tx.put(ROOT, "evil", "x").unwrap();
        }
        Hostile::ImmutableField => {
            tx.put(ROOT, "created_at", "2020-01-01T00:00:00Z").unwrap();
        }
        Hostile::UnknownEventKind => {
            let fields = [("type", "teleport"), ("at", at.as_str()), ("by", writer)];
            put_event(&mut tx, &format!("evil-kind-{writer}-{at}"), &fields);
        }
    }
    tx.commit();
}

/// Every event id of every lead the relay stores.
fn relay_events(net: &Net) -> BTreeMap<DocumentId, BTreeMap<String, Event>> {
    net.relay
        .leads()
        .into_iter()
        .filter_map(|id| {
            let lead = read_lead(&net.relay.doc(&id)?).ok()?.lead;
            Some((
                id,
                lead.events
                    .into_iter()
                    .map(|e| (e.id.to_string(), e))
                    .collect(),
            ))
        })
        .collect()
}

fn nth_lead(net: &Net, device: usize, k: usize) -> Option<DocumentId> {
    let mut docs: Vec<DocumentId> = net.devices[device].replica.lead_docs().copied().collect();
    docs.sort();
    if docs.is_empty() {
        None
    } else {
        Some(docs[k % docs.len()])
    }
}

fn command(net: &mut Net, device: usize, id: DocumentId, command: LeadCommand) {
    let now = net.now;
    let mut frames = Vec::new();
    net.devices[device].ensure_loaded(&id, now, &mut frames);
    // A rule may refuse (e.g. a conversation on a lead already closed): nothing is written.
    if let Ok(effects) = net.devices[device].command(id, command, now) {
        net.device_effects(device, effects);
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let team = example_team();
    let mut net = Net::new(&team);
    for (name, member) in DEVICES {
        let d = net.add_device(name, member);
        net.connect(d);
    }
    net.settle();
    let mut creations = 0;
    let mut held = relay_events(&net);
    for op in ops {
        net.tick();
        match *op {
            Op::Create { device } => {
                creations += 1;
                let input = NewLead {
                    company: format!("Company {creations}"),
                    contact: "Contact".into(),
                    ..NewLead::default()
                };
                let now = net.now;
                let (_, effects) = net.devices[device].create(input, now).unwrap();
                net.device_effects(device, effects);
            }
            Op::Attempt {
                device,
                lead,
                reached,
            } => {
                if let Some(id) = nth_lead(&net, device, lead) {
                    let outcome = if reached {
                        AttemptOutcome::Reached
                    } else {
                        AttemptOutcome::NoAnswer
                    };
                    command(
                        &mut net,
                        device,
                        id,
                        LeadCommand::LogAttempt {
                            channel: Channel::Call,
                            outcome,
                        },
                    );
                }
            }
            Op::Conversation { device, lead, days } => {
                if let Some(id) = nth_lead(&net, device, lead) {
                    let due = net.now + TimeDelta::days(days);
                    let input = ConversationInput {
                        kind: ConversationKind::Call,
                        notes: "talked".into(),
                        needs: String::new(),
                        next_step: Some(NextStepInput {
                            kind: NextStepKind::Call,
                            due,
                            agreed: true,
                            duration_minutes: None,
                            note: String::new(),
                        }),
                        decision_date: None,
                        needs_time: false,
                        final_yes: None,
                        final_no: None,
                    };
                    command(&mut net, device, id, LeadCommand::LogConversation(input));
                }
            }
            Op::Toggle { device } => {
                if net.devices[device].conn.is_some() {
                    net.disconnect(device);
                } else {
                    net.connect(device);
                }
            }
            Op::Deliver {
                conn,
                to_relay,
                n,
                duplicate,
            } => {
                let conns = net.conns();
                if !conns.is_empty() {
                    let conn = conns[conn % conns.len()];
                    net.duplicate = duplicate;
                    for _ in 0..n {
                        if !net.deliver(conn, to_relay) {
                            break;
                        }
                    }
                    net.duplicate = false;
                }
            }
            Op::Restart { device } => {
                net.disconnect(device);
                net.devices[device].restart();
            }
            Op::Wait { minutes } => net.now += TimeDelta::minutes(minutes),
            Op::Assign { lead, to_ioana } => {
                let dana = DEVICES.len() - 1;
                if let Some(id) = nth_lead(&net, dana, lead) {
                    let owner = if to_ioana { "r-ioana" } else { "r-yossi" };
                    command(
                        &mut net,
                        dana,
                        id,
                        LeadCommand::Assign {
                            owner: owner.into(),
                        },
                    );
                }
            }
            Op::Hostile { device, lead, kind } => {
                if let Some(id) = nth_lead(&net, device, lead) {
                    let member = DEVICES[device].1;
                    let now = net.now;
                    let stored = net.relay.doc(&id).is_some();
                    let shared = net.relay.member_sees(&member.into(), &id) != Access::None;
                    let refused =
                        net.raw_write(member, id, |doc| hostile_change(doc, kind, member, now));
                    // A lead the relay has not got yet, or no longer shares: nothing to write to.
                    prop_assert!(
                        !stored || !shared || !refused.is_empty(),
                        "{:?} by {} on {} was not refused",
                        kind,
                        member,
                        id
                    );
                }
            }
        }
        // What the relay stored stays: no event it held disappears or changes, and every
        // lead's owner is a rep or manager of the team.
        let now_held = relay_events(&net);
        for (id, events) in &held {
            let now_events = now_held.get(id);
            prop_assert!(now_events.is_some(), "{id} vanished from the relay");
            for (event_id, event) in events {
                prop_assert_eq!(
                    now_events.unwrap().get(event_id),
                    Some(event),
                    "{} {}",
                    id,
                    event_id
                );
            }
        }
        for id in net.relay.leads() {
            let owner = net.relay.owner(&id).unwrap();
            let role = team.member(&owner).map(|m| m.role);
            prop_assert!(
                matches!(role, Some(Role::Rep | Role::Manager)),
                "{id} owned by {owner}"
            );
        }
        held = now_held;
    }
    // Heal: everyone online, the network runs until quiet.
    for d in 0..net.devices.len() {
        net.connect(d);
    }
    net.settle();

    let now = net.now;
    for id in &net.relay.leads() {
        let doc = net.relay.doc(id).unwrap();
        let relay_heads = fieldbook_core::doc::heads_to_hex(&doc.get_heads());
        let mut seen = None;
        for device in &net.devices {
            if net.relay.member_sees(&device.config.member, id) == Access::None {
                continue;
            }
            let summary = device.replica.summary(id);
            prop_assert!(summary.is_some(), "{} lacks {id}", device.name);
            let summary = summary.unwrap();
            prop_assert_eq!(
                &summary.heads,
                &relay_heads,
                "{} heads of {}",
                device.name,
                id
            );
            prop_assert_eq!(
                device.replica.sync_status().unsynced,
                0,
                "{} has unsynced changes",
                device.name
            );
            let state = derive(&team, &summary.facts, now);
            match &seen {
                None => seen = Some((summary.facts.clone(), state)),
                Some((facts, first)) => {
                    prop_assert_eq!(&summary.facts, facts, "{} facts of {}", device.name, id);
                    prop_assert_eq!(&state, first, "{} state of {}", device.name, id);
                }
            }
        }
    }
    // Every event the relay ever stored is on every device that may see its lead.
    for (id, events) in &held {
        for d in 0..net.devices.len() {
            let member = net.devices[d].config.member.clone();
            if net.relay.member_sees(&member, id) == Access::None {
                continue;
            }
            let now = net.now;
            let mut frames = Vec::new();
            net.devices[d].ensure_loaded(id, now, &mut frames);
            let lead = net.devices[d]
                .replica
                .document(id)
                .and_then(|doc| read_lead(doc).ok())
                .map(|read| read.lead);
            prop_assert!(lead.is_some(), "{} lacks {}", net.devices[d].name, id);
            let ids: BTreeSet<String> = lead
                .unwrap()
                .events
                .iter()
                .map(|e| e.id.to_string())
                .collect();
            for event in events.keys() {
                prop_assert!(ids.contains(event), "{} lost {}", id, event);
            }
        }
    }
    // Nothing a device wrote is lost: every lead created anywhere reached the relay.
    let leads_at_relay = net.relay.leads().len();
    prop_assert_eq!(leads_at_relay, creations);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(96),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn devices_converge_after_any_offline_history(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
