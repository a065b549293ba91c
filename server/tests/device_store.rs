//! The device replica on the native SQLite host: everything a replica returns as `Write`s goes
//! into the database, and a replica reopened from the database (the app restarted) holds the
//! same leads, summaries and queue, with lead documents loaded only on demand.

use automerge::ActorId;
use chrono::{DateTime, TimeDelta, Utc};
use fieldbook_core::commands::{ConversationInput, NewLead, NextStepInput};
use fieldbook_core::doc::team as team_doc;
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, ConversationKind, NextStepKind};
use fieldbook_core::replica::{LeadCommand, Replica, ReplicaConfig, Write};
use fieldbook_core::team::Team;
use fieldbook_core::tiers::TierMap;
use fieldbook_server::device_store::DeviceStore;

fn team() -> Team {
    let input: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/examples/team.json")).unwrap();
    serde_json::from_value(serde_json::json!({
        "id": input["team"]["id"],
        "name": input["team"]["name"],
        "members": input["members"],
        "products": input["products"],
        "playbook": input["playbook"],
    }))
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2025-06-09T07:30:00Z".parse().unwrap()
}

fn config(team: &TeamId) -> ReplicaConfig {
    ReplicaConfig {
        team: team.clone(),
        member: MemberId("r-yossi".into()),
        actor: [3; 16],
        peer_id: "r-yossi/phone".into(),
    }
}

fn open(store: &DeviceStore, team: &TeamId) -> Replica {
    let team_id = team_doc::team_document_id(team);
    let team_bytes = store.load_doc(&team_id).unwrap();
    let summaries = store.summaries().unwrap();
    let states = store.sync_states().unwrap();
    let (replica, effects) = Replica::open(
        config(team),
        team_bytes.as_deref(),
        false,
        &summaries,
        &states,
    )
    .unwrap();
    assert!(
        effects.need_load.is_empty(),
        "fresh summaries need no document"
    );
    replica
}

#[test]
fn a_replica_reopened_from_sqlite_holds_the_same_book() {
    let dir = std::env::temp_dir().join(format!("fieldbook-device-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("device.sqlite");
    let team = team();
    let mut store = DeviceStore::open(&path).unwrap();
    // The team document as a first sync would have stored it.
    let team_document = team_doc::create_team(&team, ActorId::from(&[9u8; 16][..]), now()).unwrap();
    store
        .apply(&[Write::ReplaceDoc {
            doc: team_doc::team_document_id(&team.id),
            bytes: team_document.save(),
        }])
        .unwrap();

    let mut replica = open(&store, &team.id);
    let mut n = 0;
    let mut ids = || {
        n += 1;
        EventId(format!("phone-{n}"))
    };
    let mut leads = Vec::new();
    for i in 0..5u8 {
        let input = NewLead {
            company: format!("Company {i}"),
            contact: "Noa".into(),
            ..NewLead::default()
        };
        let (id, effects) = replica
            .create_lead([i + 1; 16], input, now(), &mut ids)
            .unwrap();
        store.apply(&effects.writes).unwrap();
        leads.push(id);
    }
    let later = now() + TimeDelta::minutes(5);
    let attempt = LeadCommand::LogAttempt {
        channel: Channel::Call,
        outcome: AttemptOutcome::Reached,
    };
    let effects = replica.apply(leads[0], attempt, later, &mut ids).unwrap();
    store.apply(&effects.writes).unwrap();
    let conversation = LeadCommand::LogConversation(ConversationInput {
        kind: ConversationKind::Call,
        notes: "wants panels on two barns".into(),
        needs: String::new(),
        next_step: Some(NextStepInput {
            kind: NextStepKind::Visit,
            due: later + TimeDelta::days(3),
            agreed: true,
            duration_minutes: Some(60),
            note: String::new(),
        }),
        decision_date: None,
        needs_time: false,
        final_yes: None,
        final_no: None,
    });
    let effects = replica
        .apply(leads[0], conversation, later, &mut ids)
        .unwrap();
    store.apply(&effects.writes).unwrap();
    let queue_before = replica.call_queue(later, &TierMap::new()).unwrap();
    let lead_before = replica.lead(&leads[0]).unwrap().lead;
    drop(replica);
    drop(store);

    // The app restarts.
    let store = DeviceStore::open(&path).unwrap();
    let mut replica = open(&store, &team.id);
    assert_eq!(replica.lead_docs().count(), leads.len());
    assert_eq!(
        replica.loaded_count(),
        1,
        "only the team document is loaded at start"
    );
    let queue_after = replica.call_queue(later, &TierMap::new()).unwrap();
    // `lead_idx` points into the replica's own list of summaries, whose order may differ.
    let items = |queue: &fieldbook_core::queue::CallQueue| {
        let mut json = serde_json::to_value(&queue.items).unwrap();
        for item in json.as_array_mut().unwrap() {
            item.as_object_mut().unwrap().remove("lead_idx");
        }
        json
    };
    assert_eq!(
        queue_before.items.len(),
        4,
        "the four new leads; the fifth has a visit in 3 days"
    );
    assert_eq!(items(&queue_after), items(&queue_before));
    let facts = &replica.summary(&leads[0]).unwrap().facts;
    assert_eq!(facts.n_conversations, 1);
    assert!(facts.next_step.is_some());
    // The lead card loads the document from SQLite.
    let bytes = store.load_doc(&leads[0]).unwrap().unwrap();
    replica.loaded(leads[0], &bytes, later).unwrap();
    assert_eq!(replica.lead(&leads[0]).unwrap().lead, lead_before);
    std::fs::remove_dir_all(&dir).unwrap();
}
