//! Devices syncing through a real relay on 127.0.0.1: offline work converges, reassignment
//! moves access, a guessed id looks missing, new leads must be the sender's to create.

use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::lead::read_lead;
use fieldbook_core::doc::{self, DocumentId};
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, EventKind};
use fieldbook_core::replica::LeadCommand;
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_tests::*;

fn attempt() -> LeadCommand {
    LeadCommand::LogAttempt {
        channel: Channel::Call,
        outcome: AttemptOutcome::NoAnswer,
    }
}

fn demo_lead(i: usize) -> DocumentId {
    demo_lead_id(&TeamId::from("demo"), i)
}

/// Demo leads alternate between r-yossi (even) and r-ioana (odd).
const N_LEADS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rep_and_manager_work_offline_and_converge_through_the_relay() {
    let dir = data_dir("converge");
    let tokens = demo_team(&dir, N_LEADS);
    let relay = Relay::start(test_config(&dir)).await;
    let mut yossi = Device::new("yossi-phone", "r-yossi", &tokens["r-yossi"], 1);
    let mut dana = Device::new("dana-laptop", "m-dana", &tokens["m-dana"], 2);
    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    until(&mut [&mut yossi, &mut dana], "the first sync", |d| {
        d[0].leads().len() == N_LEADS / 2
            && d[1].leads().len() == N_LEADS
            && d[0].settled()
            && d[1].settled()
    })
    .await;
    let yossis: Vec<DocumentId> = (0..N_LEADS).step_by(2).map(demo_lead).collect();
    assert_eq!(yossi.leads(), {
        let mut v = yossis.clone();
        v.sort();
        v
    });

    // Both go offline and work on the same lead; Yossi also creates one.
    yossi.disconnect();
    dana.disconnect();
    let shared = demo_lead(0);
    yossi.command(shared, attempt()).await.unwrap();
    dana.command(shared, attempt()).await.unwrap();
    let created = yossi
        .create(NewLead {
            company: "Arava Date Packers".into(),
            contact: "Gil Katz".into(),
            ..NewLead::default()
        })
        .await
        .unwrap();
    assert_ne!(yossi.heads(&shared), dana.heads(&shared));

    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    until(
        &mut [&mut yossi, &mut dana],
        "convergence after reconnect",
        |d| {
            d[0].settled()
                && d[1].settled()
                && d[0].heads(&shared).is_some()
                && d[0].heads(&shared) == d[1].heads(&shared)
                && d[1].heads(&created).is_some()
                && d[1].heads(&created) == d[0].heads(&created)
        },
    )
    .await;
    // Both attempts are in the merged lead on both devices.
    for device in [&mut yossi, &mut dana] {
        device.ensure_loaded(&shared);
        let lead = read_lead(device.replica.document(&shared).unwrap())
            .unwrap()
            .lead;
        let by: Vec<&str> = lead
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Attempt { .. }))
            .map(|e| e.by.as_str())
            .collect();
        assert!(
            by.contains(&"r-yossi") && by.contains(&"m-dana"),
            "{}: {by:?}",
            device.name
        );
    }
    let facts = dana.replica.summary(&created).unwrap().facts.clone();
    assert_eq!(facts.owner, MemberId::from("r-yossi"));
    // Dana's index lists the new lead with the relay's heads.
    let index = dana.index().unwrap();
    let entry = &index.entries[&created];
    let mut relay_heads = doc::heads_to_hex(&entry.heads);
    relay_heads.sort();
    assert_eq!(Some(relay_heads), dana.heads(&created));
    relay.stop().await;
    // Everything acknowledged is in storage after a graceful stop.
    let stored = stored_doc(&dir, &created).expect("the new lead is stored");
    assert_eq!(
        read_lead(&stored).unwrap().lead.company,
        "Arava Date Packers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignment_moves_access_from_the_old_owner_to_the_new() {
    let dir = data_dir("reassign");
    let tokens = demo_team(&dir, N_LEADS);
    let relay = Relay::start(test_config(&dir)).await;
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    let mut ioana = Device::new("ioana", "r-ioana", &tokens["r-ioana"], 2);
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 3);
    for d in [&mut yossi, &mut ioana, &mut dana] {
        d.connect(relay.addr).await;
    }
    let lead = demo_lead(0); // Yossi's
    until(
        &mut [&mut yossi, &mut ioana, &mut dana],
        "the first sync",
        |d| {
            d.iter().all(|d| d.settled())
                && d[2].leads().len() == N_LEADS
                && d[0].heads(&lead).is_some()
        },
    )
    .await;
    assert!(
        ioana.heads(&lead).is_none(),
        "Ioana does not see Yossi's lead"
    );

    dana.command(
        lead,
        LeadCommand::Assign {
            owner: MemberId::from("r-ioana"),
        },
    )
    .await
    .unwrap();
    until(
        &mut [&mut yossi, &mut ioana, &mut dana],
        "the lead to move to Ioana",
        |d| {
            let yossi_index = d[0].index().unwrap();
            d[1].heads(&lead).is_some()
                && d[1].heads(&lead) == d[2].heads(&lead)
                && !yossi_index.entries.contains_key(&lead)
                && d[1].index().unwrap().entries.contains_key(&lead)
        },
    )
    .await;
    assert_eq!(
        ioana.replica.summary(&lead).unwrap().facts.owner,
        MemberId::from("r-ioana")
    );

    // A later change reaches Ioana and not Yossi, who still holds his old copy.
    let yossi_before = yossi.heads(&lead);
    dana.command(lead, attempt()).await.unwrap();
    until(
        &mut [&mut ioana, &mut dana],
        "Ioana to get the change",
        |d| d[0].heads(&lead) == d[1].heads(&lead) && d[1].settled(),
    )
    .await;
    // Yossi's socket is ordered: once a round trip of his own completes, anything the relay
    // had queued for him earlier has arrived.
    let other = demo_lead(2);
    yossi.command(other, attempt()).await.unwrap();
    until(
        &mut [&mut yossi],
        "Yossi's own change to be acknowledged",
        |d| {
            d[0].replica
                .summary(&other)
                .is_some_and(|s| s.heads == s.synced)
        },
    )
    .await;
    assert_eq!(
        yossi.heads(&lead),
        yossi_before,
        "Yossi no longer receives the lead"
    );

    // Yossi's device saw the reassignment before his access ended: it refuses his write to the
    // lead he lost itself (the write model), and writes nothing.
    let before = yossi.heads(&lead);
    let refused = yossi.command(lead, attempt()).await.unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
    assert_eq!(yossi.heads(&lead), before);
    let yossi_heads = yossi.heads(&lead).unwrap();
    let dana_heads = dana.heads(&lead).unwrap();
    relay.stop().await;
    let stored = stored_doc(&dir, &lead).unwrap();
    let mut stored_heads = doc::heads_to_hex(&stored.get_heads());
    stored_heads.sort();
    assert_eq!(stored_heads, dana_heads);
    assert_ne!(stored_heads, yossi_heads, "Yossi keeps his old copy");
    let events = read_lead(&stored).unwrap().lead.events;
    assert!(
        !events.iter().any(|e| e.id.as_str().starts_with("yossi-")),
        "no event of Yossi's device is in the relay's copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessed_lead_id_looks_exactly_like_a_missing_document() {
    use fieldbook_core::sync::wire::{self, Message, PeerId};
    let dir = data_dir("guess");
    let tokens = demo_team(&dir, N_LEADS);
    let relay = Relay::start(test_config(&dir)).await;
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let relay_peer = PeerId::new(fieldbook_server::relay::engine::RELAY_PEER);
    let empty_sync = {
        use automerge::sync::{State, SyncDoc};
        automerge::Automerge::new()
            .generate_sync_message(&mut State::new())
            .unwrap()
            .encode()
    };
    let ioanas = demo_lead(1);
    let missing = DocumentId::from_bytes([0x42; 16]);
    let dana_index =
        doc::index::index_document_id(&TeamId::from("demo"), &MemberId::from("m-dana"));
    for id in [ioanas, missing, dana_index] {
        yossi
            .send(&Message::Request {
                sender_id: yossi.peer.clone(),
                target_id: relay_peer.clone(),
                document_id: id,
                data: empty_sync.clone(),
                sealed: None,
            })
            .await;
        let frame = yossi.recv_frame().await;
        let expected = wire::encode(&Message::DocUnavailable {
            sender_id: relay_peer.clone(),
            target_id: yossi.peer.clone(),
            document_id: id,
        });
        assert_eq!(
            frame, expected,
            "{id}: the same bytes as for a missing document"
        );
    }
    // Writing to Ioana's lead: a document with changes under her lead's id.
    let before = stored_doc(&dir, &ioanas).unwrap().get_heads();
    let mut forged = doc::new_document(automerge::ActorId::from(&[9u8; 16][..]));
    {
        use automerge::transaction::Transactable;
        let mut tx = forged.transaction();
        tx.put(automerge::ROOT, "owner", "r-yossi").unwrap();
        tx.commit();
    }
    assert_eq!(
        yossi.sync_doc(ioanas, &mut forged).await,
        RawOutcome::Unavailable
    );
    // A well-formed request for his own lead works on the same socket.
    let mut own = automerge::Automerge::new();
    assert_eq!(
        yossi.sync_doc(demo_lead(0), &mut own).await,
        RawOutcome::Synced
    );
    assert_eq!(
        own.get_heads(),
        stored_doc(&dir, &demo_lead(0)).unwrap().get_heads()
    );
    relay.stop().await;
    assert_eq!(stored_doc(&dir, &ioanas).unwrap().get_heads(), before);
}

/// A new lead owned by `owner`, created (its `created` event) by `creator`.
fn lead_doc_owned_by(owner: &str, creator: &str, id: DocumentId) -> automerge::Automerge {
    let now = now();
    let lead = fieldbook_core::lead::Lead {
        id: fieldbook_core::ids::LeadId(id.to_string()),
        company: "Kinneret Boats".into(),
        contact: String::new(),
        phone: String::new(),
        email: String::new(),
        address: String::new(),
        source: String::new(),
        products: vec![],
        deal_size: None,
        owner: MemberId::from(owner),
        created_at: now,
        do_not_contact: false,
        account: Default::default(),
        custom: Default::default(),
        events: vec![fieldbook_core::lead::Event {
            id: fieldbook_core::ids::EventId("c1".into()),
            at: now,
            by: MemberId::from(creator),
            after: None,
            kind: EventKind::Created,
        }],
    };
    let actor = automerge::ActorId::from(&[7u8; 16][..]);
    doc::lead::create_lead(&lead, actor, now).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lead_is_taken_only_from_whoever_may_create_it() {
    let dir = data_dir("newlead");
    let tokens = demo_team(&dir, 4);
    let relay = Relay::start(test_config(&dir)).await;
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/raw").await;
    let mut dana = RawPeer::join(relay.addr, &tokens["m-dana"], "m-dana/raw").await;
    let id = |n: u8| DocumentId::from_bytes([n; 16]);
    // A rep creating a lead for another rep, or something that is not a lead: refused.
    let mut for_ioana = lead_doc_owned_by("r-ioana", "r-yossi", id(1));
    assert!(matches!(
        yossi.sync_doc(id(1), &mut for_ioana).await,
        RawOutcome::Refused(r) if r.contains("\"code\":\"not_theirs\"")
    ));
    let mut not_a_lead = doc::index::create_index(
        &TeamId::from("demo"),
        &MemberId::from("r-yossi"),
        automerge::ActorId::from(&[8u8; 16][..]),
        now(),
    )
    .unwrap();
    assert!(matches!(
        yossi.sync_doc(id(2), &mut not_a_lead).await,
        RawOutcome::Refused(r) if r.contains("\"code\":\"not_readable\"")
    ));
    // His own lead, and a manager's lead for her rep: taken.
    let mut own = lead_doc_owned_by("r-yossi", "r-yossi", id(3));
    assert_eq!(yossi.sync_doc(id(3), &mut own).await, RawOutcome::Synced);
    let mut for_rep = lead_doc_owned_by("r-ioana", "m-dana", id(4));
    assert_eq!(dana.sync_doc(id(4), &mut for_rep).await, RawOutcome::Synced);
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert!(
        metrics.contains("fieldbook_denials_total{reason=\"new_lead_refused\"} 2"),
        "{metrics}"
    );
    relay.stop().await;
    assert!(stored_doc(&dir, &id(1)).is_none());
    assert!(stored_doc(&dir, &id(2)).is_none());
    assert_eq!(
        stored_doc(&dir, &id(3)).unwrap().get_heads(),
        own.get_heads()
    );
    assert_eq!(
        stored_doc(&dir, &id(4)).unwrap().get_heads(),
        for_rep.get_heads()
    );
}
