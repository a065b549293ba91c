//! Devices working offline and converging through the core's relay protocol over a simulated
//! network (see `common/mod.rs`).

mod common;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chrono::TimeDelta;
use common::{Net, example_leads, example_team, t0};
use fieldbook_core::commands::{
    CommandError, ConversationInput, NewLead, NextStepInput, RefusalInput, WonInput,
};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{LeadId, MemberId};
use fieldbook_core::lead::{AttemptOutcome, Channel, ConversationKind, Lead, NextStepKind};
use fieldbook_core::lead::{EventKind, ReviewDecision};
use fieldbook_core::money::Money;
use fieldbook_core::replica::ReplicaError;
use fieldbook_core::replica::{LeadCommand, TeamCommand};
use fieldbook_core::review::InboxKind;
use fieldbook_core::state::Flag;
use fieldbook_core::state::derive;
use fieldbook_core::tiers::TierMap;

fn doc_for(i: usize) -> DocumentId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xaa;
    bytes[8..].copy_from_slice(&(i as u64).to_be_bytes());
    DocumentId::from_bytes(bytes)
}

/// Imports the example leads into the relay, each under a document id whose text is its new
/// lead id.
fn import_examples(net: &mut Net) -> Vec<DocumentId> {
    let mut ids = Vec::new();
    for (i, mut lead) in example_leads().into_iter().enumerate() {
        let id = doc_for(i);
        lead.id = LeadId(id.to_string());
        net.relay.import(&lead, id, t0());
        ids.push(id);
    }
    ids
}

fn owned_by(net: &Net, ids: &[DocumentId], member: &str) -> Vec<DocumentId> {
    ids.iter()
        .copied()
        .filter(|id| net.relay.owner(id).is_some_and(|m| m.as_str() == member))
        .collect()
}

fn attempt(channel: Channel, outcome: AttemptOutcome) -> LeadCommand {
    LeadCommand::LogAttempt { channel, outcome }
}

fn apply(net: &mut Net, d: usize, id: DocumentId, command: LeadCommand) {
    let now = net.now;
    let mut frames = Vec::new();
    net.devices[d].ensure_loaded(&id, now, &mut frames);
    assert!(frames.is_empty());
    let effects = net.devices[d].command(id, command, now).unwrap();
    net.device_effects(d, effects);
}

/// Every device holding `id` has the same heads, the same facts and the same derived state.
fn assert_converged(net: &Net, id: &DocumentId, holders: &[usize]) {
    let team = net.relay.team();
    let relay_heads = net.relay.doc(id).unwrap().get_heads();
    let mut first = None;
    for &d in holders {
        let replica = &net.devices[d].replica;
        let summary = replica
            .summary(id)
            .unwrap_or_else(|| panic!("device {d} lacks {id}"));
        assert_eq!(
            summary.heads,
            fieldbook_core::doc::heads_to_hex(&relay_heads),
            "device {d} heads of {id}"
        );
        let state = derive(&team, &summary.facts, net.now);
        match &first {
            None => first = Some((summary.facts.clone(), state)),
            Some((facts, first_state)) => {
                assert_eq!(&summary.facts, facts, "facts of {id} on device {d}");
                assert_eq!(&state, first_state, "state of {id} on device {d}");
            }
        }
    }
}

#[test]
fn first_sync_brings_each_member_what_they_may_see() {
    let (mut net, ids, yossi, dana) = synced_pair();
    let yossis = owned_by(&net, &ids, "r-yossi");
    assert!(!yossis.is_empty());
    assert!(
        yossis.len() < ids.len(),
        "the example has leads of another rep"
    );
    let mut on_phone: Vec<DocumentId> = net.devices[yossi].replica.lead_docs().copied().collect();
    on_phone.sort();
    let mut expected = yossis.clone();
    expected.sort();
    assert_eq!(on_phone, expected, "a rep gets exactly their own leads");
    assert_eq!(
        net.devices[dana].replica.lead_docs().count(),
        ids.len(),
        "the manager gets her reps' leads"
    );
    assert!(net.devices[yossi].replica.team().is_some());
    // Whom each may create a lead for: a rep themselves, the manager herself and her reps.
    let owners = |d: usize| -> Vec<String> {
        net.devices[d]
            .replica
            .new_lead_owners()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(owners(yossi), ["r-yossi"]);
    assert_eq!(owners(dana), ["m-dana", "r-ioana", "r-yossi"]);
    for id in &yossis {
        assert_converged(&net, id, &[yossi, dana]);
    }
    // The queue is computed from summaries only: evict every lead document first.
    for id in &yossis {
        assert!(net.devices[yossi].replica.evict(id));
    }
    let queue = net.devices[yossi]
        .replica
        .call_queue(net.now, &TierMap::new())
        .unwrap();
    assert!(!queue.items.is_empty());
    for id in &yossis {
        assert!(!net.devices[yossi].replica.is_loaded(id));
    }
}

#[test]
fn offline_work_on_two_devices_converges_and_survives_a_restart() {
    let (mut net, ids, yossi, dana) = synced_pair();
    let lead = owned_by(&net, &ids, "r-yossi")[0];
    net.disconnect(yossi);
    net.disconnect(dana);

    // Offline: the rep logs two attempts and a conversation; the manager logs her own call on
    // the same lead.
    net.tick();
    apply(
        &mut net,
        yossi,
        lead,
        attempt(Channel::Call, AttemptOutcome::NoAnswer),
    );
    net.now += TimeDelta::hours(1);
    apply(
        &mut net,
        yossi,
        lead,
        attempt(Channel::Call, AttemptOutcome::Reached),
    );
    let conversation = LeadCommand::LogConversation(ConversationInput {
        kind: ConversationKind::Call,
        notes: "wants a quote for the barn roof".into(),
        needs: "10 kW".into(),
        next_step: Some(NextStepInput {
            kind: NextStepKind::Call,
            due: net.now + TimeDelta::days(2),
            agreed: true,
            duration_minutes: None,
            note: String::new(),
        }),
        decision_date: None,
        needs_time: false,
        final_yes: None,
        final_no: None,
    });
    apply(&mut net, yossi, lead, conversation);
    apply(
        &mut net,
        dana,
        lead,
        attempt(Channel::Call, AttemptOutcome::Busy),
    );
    assert_eq!(net.devices[yossi].replica.sync_status().unsynced, 1);
    assert_eq!(net.devices[yossi].replica.sync_status().state, "offline");

    // The rep's app restarts while offline: everything is still there.
    let before = net.devices[yossi].replica.summary(&lead).unwrap().clone();
    net.devices[yossi].restart();
    assert_eq!(net.devices[yossi].replica.summary(&lead), Some(&before));

    net.connect(yossi);
    net.connect(dana);
    net.settle();
    assert_converged(&net, &lead, &[yossi, dana]);
    let facts = &net.devices[dana].replica.summary(&lead).unwrap().facts;
    assert_eq!(facts.n_attempts, 3, "both devices' attempts are kept");
    assert_eq!(facts.n_conversations, 1);
    assert_eq!(net.devices[yossi].replica.sync_status().unsynced, 0);
    assert_eq!(net.devices[yossi].replica.sync_status().state, "online");
}

#[test]
fn a_lead_created_offline_reaches_the_manager() {
    let team = example_team();
    let mut net = Net::new(&team);
    let yossi = net.add_device("phone", "r-yossi");
    let dana = net.add_device("laptop", "m-dana");
    net.connect(yossi);
    net.connect(dana);
    net.settle();
    net.disconnect(yossi);
    let now = net.now;
    let input = NewLead {
        company: "Negev Greenhouses".into(),
        contact: "Tamar".into(),
        ..NewLead::default()
    };
    let (id, effects) = net.devices[yossi].create(input, now).unwrap();
    net.device_effects(yossi, effects);
    assert_eq!(
        net.devices[yossi].replica.summary(&id).unwrap().facts.owner,
        MemberId("r-yossi".into())
    );
    assert!(net.devices[dana].replica.summary(&id).is_none());
    net.connect(yossi);
    net.settle();
    assert_converged(&net, &id, &[yossi, dana]);
    let lead: Lead = net.devices[dana]
        .replica
        .lead(&id)
        .map(|read| read.lead)
        .or_else(|_| {
            let bytes = net.devices[dana].host.load(&id).unwrap();
            let doc = fieldbook_core::doc::load(&bytes, automerge::ActorId::from(&[9u8; 16][..]))
                .unwrap();
            fieldbook_core::doc::lead::read_lead(&doc).map(|read| read.lead)
        })
        .unwrap();
    assert_eq!(lead.company, "Negev Greenhouses");
    assert_eq!(lead.id.as_str(), id.to_string());
}

/// A relay restored from a backup taken before the devices' last changes: a changed lead and a
/// new one were acknowledged by the relay, then lost. The devices hold index changes the
/// restored relay lacks, and their index still shows the lost heads as the relay's, so they
/// re-sync every document (`check_relay_lost_data`); a fresh device then gets it all.
#[test]
fn a_relay_restored_from_a_backup_gets_back_what_the_devices_hold() {
    let (mut net, ids, yossi, dana) = synced_pair();
    let yossis = owned_by(&net, &ids, "r-yossi");
    let backup = net.relay.store.clone();
    apply(
        &mut net,
        yossi,
        yossis[0],
        attempt(Channel::Call, AttemptOutcome::NoAnswer),
    );
    let input = NewLead {
        company: "After the backup".into(),
        contact: "Noa".into(),
        ..NewLead::default()
    };
    let (created, effects) = net.devices[yossi].create(input, net.now).unwrap();
    net.device_effects(yossi, effects);
    net.settle();
    assert_converged(&net, &created, &[yossi, dana]);

    // The relay restarts on the backup; Dana's laptop restarts too; a new tablet joins.
    net.disconnect(yossi);
    net.disconnect(dana);
    let now = net.now;
    net.relay.restart_on(backup, now);
    assert!(net.relay.doc(&created).is_none());
    net.devices[dana].restart();
    let tablet = net.add_device("tablet", "m-dana");
    for d in [yossi, dana, tablet] {
        net.connect(d);
    }
    net.settle();
    for id in [yossis[0], created] {
        assert_converged(&net, &id, &[yossi, dana, tablet]);
    }
    assert_eq!(
        net.devices[tablet].replica.lead_docs().count(),
        ids.len() + 1
    );
    // The next reconnect trusts the index again: only the team and index documents move.
    net.disconnect(dana);
    let before = net.traffic.to_relay;
    net.connect(dana);
    net.settle();
    assert!(
        net.traffic.to_relay - before <= 4,
        "{} messages",
        net.traffic.to_relay - before
    );
}

#[test]
fn a_reconnect_exchanges_messages_for_changed_documents_only() {
    let team = example_team();
    let mut net = Net::new(&team);
    let template = example_leads()
        .into_iter()
        .find(|l| l.owner.as_str() == "r-yossi")
        .unwrap();
    let n = 200;
    let ids: Vec<DocumentId> = (0..n)
        .map(|i| {
            let id = doc_for(1000 + i);
            let mut lead = template.clone();
            lead.id = LeadId(id.to_string());
            for event in &mut lead.events {
                event.id = fieldbook_core::ids::EventId(format!("{}-{i}", event.id));
            }
            net.relay.import(&lead, id, t0());
            id
        })
        .collect();
    let yossi = net.add_device("phone", "r-yossi");
    let dana = net.add_device("laptop", "m-dana");
    net.connect(yossi);
    net.connect(dana);
    net.settle();
    assert_eq!(net.devices[yossi].replica.lead_docs().count(), n);
    net.disconnect(yossi);
    net.disconnect(dana);

    // Offline divergence: the manager changes 7 leads, the rep 3 others.
    for &id in &ids[..7] {
        apply(
            &mut net,
            dana,
            id,
            attempt(Channel::Call, AttemptOutcome::NoAnswer),
        );
    }
    for &id in &ids[100..103] {
        apply(
            &mut net,
            yossi,
            id,
            attempt(Channel::Visit, AttemptOutcome::Reached),
        );
    }
    net.connect(dana);
    net.settle();

    // Restart the rep's app (sync states come from storage), then reconnect and count.
    net.devices[yossi].restart();
    net.connect(yossi);
    net.settle();
    let conn = net.devices[yossi].conn.unwrap();
    let used = net.traffic_by_conn[&conn].messages();
    let dirty = 10;
    // join + peer, the team and index documents, then at most 3 messages per dirty document.
    let budget = 3 * dirty + 12;
    assert!(
        used <= budget,
        "reconnect with {dirty} dirty of {n} documents took {used} messages (budget {budget})"
    );
    for &id in ids[..7].iter().chain(&ids[100..103]) {
        assert_converged(&net, &id, &[yossi, dana]);
    }
    let loaded = net.devices[yossi].replica.loaded_count();
    assert!(
        loaded <= dirty + 3,
        "the reconnect loaded {loaded} documents"
    );
}

/// Two synced devices of the example team (rep r-yossi, manager m-dana) and the imported leads.
fn synced_pair() -> (Net, Vec<DocumentId>, usize, usize) {
    let team = example_team();
    let mut net = Net::new(&team);
    let ids = import_examples(&mut net);
    let yossi = net.add_device("phone", "r-yossi");
    let dana = net.add_device("laptop", "m-dana");
    net.connect(yossi);
    net.connect(dana);
    net.settle();
    (net, ids, yossi, dana)
}

#[test]
fn a_refused_command_writes_nothing_and_an_unloaded_lead_is_asked_for() {
    let (mut net, ids, yossi, _) = synced_pair();
    let lead = owned_by(&net, &ids, "r-yossi")[0];
    let now = net.now;
    let mut frames = Vec::new();
    net.devices[yossi].ensure_loaded(&lead, now, &mut frames);
    let heads = net.devices[yossi]
        .replica
        .document(&lead)
        .unwrap()
        .get_heads();
    let stored = net.devices[yossi].host.clone();
    let empty_notes = LeadCommand::LogConversation(ConversationInput {
        kind: ConversationKind::Call,
        notes: "  ".into(),
        needs: String::new(),
        next_step: None,
        decision_date: None,
        needs_time: true,
        final_yes: None,
        final_no: None,
    });
    let error = net.devices[yossi]
        .command(lead, empty_notes, now)
        .unwrap_err();
    assert!(
        matches!(&error, ReplicaError::Command(CommandError::Missing { field, .. }) if field == "notes"),
        "{error}"
    );
    assert_eq!(
        net.devices[yossi]
            .replica
            .document(&lead)
            .unwrap()
            .get_heads(),
        heads
    );
    assert_eq!(net.devices[yossi].host.chunks, stored.chunks);
    assert_eq!(net.devices[yossi].host.summaries, stored.summaries);

    assert!(net.devices[yossi].replica.evict(&lead));
    let call = attempt(Channel::Call, AttemptOutcome::Busy);
    let error = net.devices[yossi].command(lead, call, now).unwrap_err();
    assert!(matches!(error, ReplicaError::NotLoaded(id) if id == lead));
}

#[test]
fn won_against_a_validated_refusal_is_flagged_listed_and_settled() {
    let (mut net, ids, yossi, dana) = synced_pair();
    let lead = owned_by(&net, &ids, "r-yossi")[0];
    let refusal = LeadCommand::RecordRefusal(RefusalInput {
        reason: "price".into(),
        products: vec!["p-solar".into()],
        budget: Some(Money::new(1_000_000, "ILS")),
        competitor: None,
        note: "too expensive".into(),
    });
    apply(&mut net, yossi, lead, refusal);
    net.settle();
    assert!(
        net.devices[dana]
            .replica
            .summary(&lead)
            .unwrap()
            .facts
            .pending_review
            .is_some()
    );

    // Offline, the manager validates the refusal while the rep wins the customer back.
    net.disconnect(yossi);
    net.disconnect(dana);
    net.now += TimeDelta::hours(2);
    let review = LeadCommand::ReviewRefusal {
        decision: ReviewDecision::RefusalValidated,
        note: "called, it stands".into(),
    };
    apply(&mut net, dana, lead, review);
    let won = LeadCommand::MarkWon(WonInput {
        amount: Money::new(5_000_000, "ILS"),
        products: Vec::new(),
    });
    apply(&mut net, yossi, lead, won);
    net.connect(yossi);
    net.connect(dana);
    net.settle();
    assert_converged(&net, &lead, &[yossi, dana]);

    let team = net.relay.team();
    let facts = net.devices[yossi]
        .replica
        .summary(&lead)
        .unwrap()
        .facts
        .clone();
    assert_eq!(
        facts.conflicts.len(),
        1,
        "both decisions are kept and flagged"
    );
    let conflict = facts.conflicts[0].clone();
    assert!(derive(&team, &facts, net.now).has(Flag::Conflict));
    let inbox = net.devices[dana].replica.inbox(net.now);
    assert!(
        inbox.iter().any(
            |item| matches!(&item.kind, InboxKind::Conflict { key, .. } if *key == conflict.key)
        ),
        "the manager's inbox lists the conflict"
    );
    assert!(
        net.devices[yossi].replica.inbox(net.now).is_empty(),
        "a rep has no inbox"
    );

    // The manager keeps the win.
    let now = net.now;
    let mut frames = Vec::new();
    net.devices[dana].ensure_loaded(&lead, now, &mut frames);
    let read = net.devices[dana].replica.lead(&lead).unwrap().lead;
    let won_event = read
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Won { .. }))
        .unwrap()
        .id
        .clone();
    let resolve = LeadCommand::ResolveConflict {
        conflict: conflict.key.clone(),
        keep: Some(won_event),
        note: "the customer signed".into(),
    };
    apply(&mut net, dana, lead, resolve);
    net.settle();
    assert_converged(&net, &lead, &[yossi, dana]);
    let facts = &net.devices[yossi].replica.summary(&lead).unwrap().facts;
    assert!(facts.conflicts.is_empty());
    assert!(facts.won_at.is_some());
    assert_eq!(derive(&team, facts, net.now).status, "customer");
}

#[test]
fn reassignment_moves_the_lead_to_the_new_owner() {
    let team = example_team();
    let mut net = Net::new(&team);
    let ids = import_examples(&mut net);
    let yossi = net.add_device("phone", "r-yossi");
    let ioana = net.add_device("ioana", "r-ioana");
    let dana = net.add_device("laptop", "m-dana");
    for d in [yossi, ioana, dana] {
        net.connect(d);
    }
    net.settle();
    let lead = owned_by(&net, &ids, "r-yossi")[0];
    assert!(net.devices[ioana].replica.summary(&lead).is_none());
    let assign = LeadCommand::Assign {
        owner: MemberId("r-ioana".into()),
    };
    apply(&mut net, dana, lead, assign);
    net.settle();
    assert_converged(&net, &lead, &[ioana, dana]);
    let facts = &net.devices[ioana].replica.summary(&lead).unwrap().facts;
    assert_eq!(facts.owner.as_str(), "r-ioana");
    let read = fieldbook_core::doc::lead::read_lead(&net.relay.doc(&lead).unwrap()).unwrap();
    assert_eq!(
        read.lead.owner.as_str(),
        "r-ioana",
        "the document's owner field follows"
    );
    let on_ioana: Vec<&str> = net.devices[ioana]
        .replica
        .facts()
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert!(
        on_ioana.contains(&lead.to_string().as_str()),
        "the new owner's rules see it"
    );
}

#[test]
fn a_manager_edits_the_playbook_and_the_rep_gets_it_but_may_not_edit_it() {
    let (mut net, _, yossi, dana) = synced_pair();
    let now = net.now;
    let mut playbook = net.devices[dana].replica.team().unwrap().playbook.clone();
    assert_ne!(playbook.cadence.max_attempts, 4);

    // Refused commands write nothing: a rep, and an invalid playbook.
    playbook.cadence.max_attempts = 4;
    let set = |playbook| TeamCommand::SetPlaybook { playbook };
    let error = net.devices[yossi]
        .replica
        .apply_team(set(playbook.clone()), now)
        .unwrap_err();
    assert!(
        matches!(error, ReplicaError::Command(CommandError::Refused { .. })),
        "{error}"
    );
    let mut broken = playbook.clone();
    broken.cadence.max_attempts = 0;
    let error = net.devices[dana]
        .replica
        .apply_team(set(broken), now)
        .unwrap_err();
    assert!(
        matches!(&error, ReplicaError::Command(CommandError::Invalid { field, .. })
            if field == "playbook.cadence.max_attempts"),
        "{error}"
    );

    let effects = net.devices[dana]
        .replica
        .apply_team(set(playbook.clone()), now)
        .unwrap();
    assert!(effects.team_changed);
    assert!(!effects.writes.is_empty(), "the edit is persisted");
    net.device_effects(dana, effects);
    net.settle();
    for d in [yossi, dana] {
        assert_eq!(
            net.devices[d]
                .replica
                .team()
                .unwrap()
                .playbook
                .cadence
                .max_attempts,
            4,
            "device {d}"
        );
    }
    // The same playbook again changes nothing.
    let again = net.devices[dana]
        .replica
        .apply_team(set(playbook.clone()), now)
        .unwrap();
    assert!(again.writes.is_empty() && again.frames.is_empty());

    // Settings the fold does not read (the cadence above, exchange rates) are read when
    // deriving: no lead is folded again, no document asked for.
    assert!(!net.devices[dana].replica.facts().is_empty());
    playbook.exchange_rates = vec![fieldbook_core::money::ExchangeRate::new(
        "RON",
        "2025-01-01",
        "0.78",
    )];
    let rates = net.devices[dana]
        .replica
        .apply_team(set(playbook.clone()), now)
        .unwrap();
    assert!(rates.team_changed);
    assert!(rates.need_load.is_empty() && rates.changed.is_empty());
    // A refusal reason's review is read by the fold: its leads are folded again.
    playbook.refusal_reasons[0].needs_review = !playbook.refusal_reasons[0].needs_review;
    let reasons = net.devices[dana]
        .replica
        .apply_team(set(playbook), now)
        .unwrap();
    assert!(!reasons.need_load.is_empty() || !reasons.changed.is_empty());
}

#[test]
fn a_playbook_change_arriving_while_leads_are_still_requested_is_applied() {
    let team = example_team();
    let mut net = Net::new(&team);
    let ids = import_examples(&mut net);
    let dana = net.add_device("laptop", "m-dana");
    net.connect(dana);
    net.settle();
    let yossi = net.add_device("phone", "r-yossi");
    net.connect(yossi);
    let conn = net.devices[yossi].conn.unwrap();
    // Step the first sync until the device holds the team document and has asked for leads
    // that have not arrived (their documents are empty placeholders in memory).
    let waiting = |net: &Net| {
        let replica = &net.devices[yossi].replica;
        replica.team().is_some() && replica.loaded_count() > replica.facts().len() + 2
    };
    let mut steps = 0;
    while !waiting(&net) {
        steps += 1;
        assert!(
            steps < 10_000,
            "the device never waited for requested leads"
        );
        if !net.deliver(conn, false) && !net.deliver(conn, true) {
            net.relay_deadline();
        }
    }

    let mut playbook = net.devices[dana].replica.team().unwrap().playbook.clone();
    playbook.nurture_every_days += 7;
    // A change the fold reads (a reason's review), so that every summary is folded again.
    playbook.refusal_reasons[0].needs_review = !playbook.refusal_reasons[0].needs_review;
    let now = net.now;
    let effects = net.devices[dana]
        .replica
        .apply_team(TeamCommand::SetPlaybook { playbook }, now)
        .unwrap();
    net.device_effects(dana, effects);
    net.settle();

    let nurture = |d: usize| {
        net.devices[d]
            .replica
            .team()
            .unwrap()
            .playbook
            .nurture_every_days
    };
    assert_eq!(nurture(yossi), nurture(dana));
    let own = owned_by(&net, &ids, "r-yossi");
    assert_eq!(net.devices[yossi].replica.facts().len(), own.len());
}
