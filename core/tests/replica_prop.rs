//! The convergence invariant (SPEC §5) as a property: random offline work on several devices,
//! random partial delivery, duplicated frames, restarts and reconnects; once every device is
//! back online and the network is quiet, every device that may see a lead holds identical
//! heads and computes identical facts and derived state for the same `now`.
//!
//! Cases: 96 by default; `PROPTEST_CASES=1000 cargo test -p fieldbook-core --test replica_prop`
//! for a longer run.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use chrono::TimeDelta;
use common::{Net, example_team};
use fieldbook_core::commands::{ConversationInput, NewLead, NextStepInput};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::lead::{AttemptOutcome, Channel, ConversationKind, NextStepKind};
use fieldbook_core::replica::LeadCommand;
use fieldbook_core::state::derive;
use fieldbook_core::sync::hub::Access;
use proptest::prelude::*;

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
    ]
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
        }
    }
    // Heal: everyone online, the network runs until quiet.
    for d in 0..net.devices.len() {
        net.connect(d);
    }
    net.settle();

    let now = net.now;
    for (id, doc) in &net.relay.docs.docs {
        if *id == net.relay.policy.team_doc || net.relay.policy.index_docs.contains_key(id) {
            continue;
        }
        let relay_heads = fieldbook_core::doc::heads_to_hex(&doc.get_heads());
        let mut seen = None;
        for device in &net.devices {
            if net.relay.policy.member_sees(&device.config.member, id) == Access::None {
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
    // Nothing a device wrote is lost: every lead created anywhere reached the relay.
    let leads_at_relay = net.relay.docs.docs.len() - 1 - net.relay.policy.index_docs.len();
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
