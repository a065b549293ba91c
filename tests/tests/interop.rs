//! The protocol against automerge-repo implementations we did not write: from npm (install
//! them with `npm ci --prefix tests/interop`; `cargo xtask test` does), the JS automerge-repo
//! client (2.x, WebSocket adapter) syncs leads through our relay, and the core's `Client` syncs
//! a lead with another core client through the published JS sync server; from crates.io, the
//! same through samod, the Rust automerge-repo. Servers and node run as child processes,
//! killed on drop; every wait is bounded.

use automerge::transaction::Transaction;
use chrono::{SecondsFormat, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::doc::lead::{append_events, create_lead, read_lead};
use fieldbook_core::ids::{EventId, LeadId, MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, Event, EventKind, Lead};
use fieldbook_core::replica::LeadCommand;
use fieldbook_server::relay::admin::random_actor;
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_tests::node::{JsClient, JsSyncServer};
use fieldbook_tests::peer::{Peer, pump_both};
use fieldbook_tests::samod_server::SamodServer;
use fieldbook_tests::*;
use serde_json::json;

fn attempt_event(id: &str, by: &str) -> Event {
    Event {
        id: EventId(id.into()),
        at: Utc::now(),
        by: MemberId::from(by),
        after: None,
        kind: EventKind::Attempt {
            channel: Channel::Call,
            outcome: AttemptOutcome::NoAnswer,
        },
    }
}

/// The event `id` of a lead document, if present and decoded.
fn event_of(doc: &automerge::Automerge, id: &str) -> Option<Event> {
    read_lead(doc)
        .unwrap()
        .lead
        .events
        .into_iter()
        .find(|e| e.id.as_str() == id)
}

/// A document id whose bytes are a valid RFC 4122 version 4 UUID (version and variant bits set),
/// as automerge-repo draws them: automerge-repo 1.x accepts no other.
fn uuid_v4_id(mut bytes: [u8; 16]) -> DocumentId {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DocumentId::from_bytes(bytes)
}

fn sorted(mut heads: Vec<String>) -> Vec<String> {
    heads.sort();
    heads
}

fn hex_heads(doc: &automerge::Automerge) -> Vec<String> {
    sorted(fieldbook_core::doc::heads_to_hex(&doc.get_heads()))
}

fn js_heads(answer: &serde_json::Value) -> Vec<String> {
    sorted(
        answer["heads"]
            .as_array()
            .expect("heads")
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect(),
    )
}

/// Dana's laptop after its first sync of the 10 demo leads, with `lead` in memory.
async fn manager_laptop(
    relay: &Relay,
    tokens: &std::collections::BTreeMap<String, String>,
    lead: DocumentId,
) -> Device {
    let mut dana = Device::new("dana-laptop", "m-dana", &tokens["m-dana"], 2);
    dana.connect(relay.addr).await;
    until(&mut [&mut dana], "Dana's first sync", |d| {
        d[0].settled() && d[0].leads().len() == 10
    })
    .await;
    dana.ensure_loaded(&lead);
    dana
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_automerge_repo_client_syncs_leads_through_the_relay() {
    node::interop_dir();
    let dir = data_dir("interop-js-client");
    let tokens = demo_team(&dir, 10);
    let relay = Relay::start(test_config(&dir)).await;
    let team = TeamId::from("demo");
    // Demo leads alternate between r-yossi (even) and r-ioana (odd).
    let lead = demo_lead_id(&team, 0);
    let ioanas = demo_lead_id(&team, 1);
    let url = lead.url();

    let mut dana = manager_laptop(&relay, &tokens, lead).await;

    // Yossi's node script: the JS client knows nothing of Fieldbook but the token in the URL.
    let mut js = JsClient::start(&relay.sync_url(&tokens["r-yossi"]), "r-yossi/node");

    // It finds and reads the lead as the relay and Dana hold it.
    let found = js.call(json!({"cmd": "find", "url": url})).await.unwrap();
    let expected = read_lead(dana.replica.document(&lead).unwrap())
        .unwrap()
        .lead;
    assert_eq!(found["doc"]["type"], "lead");
    assert_eq!(found["doc"]["company"], expected.company.as_str());
    assert_eq!(found["doc"]["owner"], "r-yossi");
    assert_eq!(
        found["doc"]["events"].as_object().unwrap().len(),
        expected.events.len()
    );
    assert_eq!(js_heads(&found), dana.heads(&lead).unwrap());

    // Its change (JS Automerge 3 writes the strings as Text) reaches Dana's device, which reads
    // it as an ordinary event.
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let changed = js
        .call(json!({
            "cmd": "append_event", "url": url, "id": "js-e1",
            "event": {"type": "attempt", "at": at, "by": "r-yossi",
                      "channel": "call", "outcome": "no_answer"},
        }))
        .await
        .unwrap();
    until(&mut [&mut dana], "the JS client's event at Dana's", |d| {
        d[0].heads(&lead) == Some(js_heads(&changed))
    })
    .await;
    let event = event_of(dana.replica.document(&lead).unwrap(), "js-e1")
        .expect("the JS event decodes on the Rust device");
    assert_eq!(event.by, MemberId::from("r-yossi"));
    assert_eq!(
        event.kind,
        EventKind::Attempt {
            channel: Channel::Call,
            outcome: AttemptOutcome::NoAnswer
        }
    );
    // Still Yossi's lead for the relay's access control, which folded the changed lead.
    assert_eq!(
        dana.replica.summary(&lead).unwrap().facts.owner,
        MemberId::from("r-yossi")
    );

    // Dana's change reaches the JS client.
    dana.command(
        lead,
        LeadCommand::LogAttempt {
            channel: Channel::Visit,
            outcome: AttemptOutcome::Reached,
        },
    )
    .await
    .unwrap();
    let danas = read_lead(dana.replica.document(&lead).unwrap())
        .unwrap()
        .lead
        .events
        .into_iter()
        .find(|e| e.by.as_str() == "m-dana" && matches!(e.kind, EventKind::Attempt { .. }))
        .expect("Dana's attempt");
    let seen = js
        .call(json!({"cmd": "wait_event", "url": url, "id": danas.id.as_str()}))
        .await
        .unwrap();
    assert_eq!(seen["event"]["by"], "m-dana");
    assert_eq!(seen["event"]["channel"], "visit");
    assert_eq!(seen["event"]["outcome"], "reached");

    // Another rep's lead looks missing to it: automerge-repo's find reports it unavailable.
    let denied = js
        .call(json!({"cmd": "find", "url": ioanas.url()}))
        .await
        .unwrap_err();
    assert!(denied.contains("unavailable"), "{denied}");

    // A lead the JS client creates (its own, in its team) is accepted by the relay and reaches
    // the manager through her index.
    let created = js
        .call(json!({"cmd": "create", "doc": {
            "schema": 1, "type": "lead", "id": "js-lead-1",
            "company": "Negev Solar", "contact": "Noa Levi",
            "owner": "r-yossi", "created_at": at,
            "events": {"js-c1": {"type": "created", "at": at, "by": "r-yossi"}},
        }}))
        .await
        .unwrap();
    let created_id = DocumentId::parse_url(created["url"].as_str().unwrap()).unwrap();
    until(
        &mut [&mut dana],
        "the JS client's new lead at Dana's",
        |d| d[0].heads(&created_id) == Some(js_heads(&created)),
    )
    .await;
    let facts = &dana.replica.summary(&created_id).unwrap().facts;
    assert_eq!(facts.owner, MemberId::from("r-yossi"));
    assert_eq!(facts.id, LeadId::from("js-lead-1"));

    assert!(js.0.finish().await.success());
    assert!(dana.errors.is_empty(), "{:?}", dana.errors);
    relay.stop().await;
}

/// The published JS client and a write the relay refuses (issue 11, finding 1: a client
/// erasing a lead's history): the relay answers an `error` naming the document and the
/// refusal; the JS client logs it and goes on — its other documents keep syncing — while its
/// own copy keeps the refused change (it has no notion of a refusal). Nothing reaches the relay
/// or the manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_client_is_told_of_a_refused_write_and_keeps_working() {
    node::interop_dir();
    let dir = data_dir("interop-js-refused");
    let tokens = demo_team(&dir, 10);
    let relay = Relay::start(test_config(&dir)).await;
    let team = TeamId::from("demo");
    let lead = demo_lead_id(&team, 0);
    let other = demo_lead_id(&team, 2);
    let mut dana = manager_laptop(&relay, &tokens, lead).await;
    let events = read_lead(dana.replica.document(&lead).unwrap())
        .unwrap()
        .lead
        .events
        .len();

    let mut js = JsClient::start(&relay.sync_url(&tokens["r-yossi"]), "r-yossi/node");
    js.call(json!({"cmd": "find", "url": lead.url()}))
        .await
        .unwrap();
    js.call(json!({"cmd": "delete_events", "url": lead.url()}))
        .await
        .unwrap();
    let said = js
        .call(json!({"cmd": "errors", "at_least": 1}))
        .await
        .unwrap();
    let error = &said["errors"][0];
    assert_eq!(error["documentId"], lead.to_string(), "{said}");
    let refusal: serde_json::Value =
        serde_json::from_str(error["refusal"].as_str().expect("a refusal")).unwrap();
    assert_eq!(refusal["code"], "event_changed", "{said}");
    assert!(
        error["message"].as_str().unwrap().contains("append-only"),
        "{said}"
    );
    // Its copy keeps the change; the relay's and the manager's do not.
    let mine = js
        .call(json!({"cmd": "find", "url": lead.url()}))
        .await
        .unwrap();
    assert_eq!(mine["doc"]["events"].as_object().unwrap().len(), 0);
    // The connection goes on: a change to another lead reaches the manager.
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let changed = js
        .call(json!({
            "cmd": "append_event", "url": other.url(), "id": "js-after",
            "event": {"type": "attempt", "at": at, "by": "r-yossi",
                      "channel": "call", "outcome": "no_answer"},
        }))
        .await
        .unwrap();
    until(&mut [&mut dana], "the JS client's later change", |d| {
        d[0].heads(&other) == Some(js_heads(&changed))
    })
    .await;
    let seen = read_lead(dana.replica.document(&lead).unwrap()).unwrap();
    assert_eq!(seen.lead.events.len(), events);
    assert!(js.0.finish().await.success());
    relay.stop().await;
    let stored = stored_doc(&dir, &lead).unwrap();
    assert_eq!(read_lead(&stored).unwrap().lead.events.len(), events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_clients_exchange_a_lead_through_the_js_sync_server() {
    node::interop_dir();
    let dir = data_dir("interop-js-server");
    let server = JsSyncServer::start(&dir).await;
    exchange_a_lead_through(&server.url()).await;
    assert!(server.process.finish().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_clients_exchange_a_lead_through_samod() {
    let dir = data_dir("interop-samod");
    let server = SamodServer::start(env!("CARGO_BIN_EXE_samod-server"), &dir).await;
    exchange_a_lead_through(&server.url()).await;
}

/// Two of the core's clients exchange a lead through an automerge-repo server at `url` that
/// announces nothing (peers name the documents they sync).
async fn exchange_a_lead_through(url: &str) {
    let mut a = Peer::new("rust-a", "fieldbook-a");
    let mut b = Peer::new("rust-b", "fieldbook-b");
    a.connect(url).await;
    b.connect(url).await;

    // A lead made on A goes up.
    // automerge-repo 1.x (the published server's) drops messages about ids that are not UUIDs.
    let id = uuid_v4_id(*b"interop-lead-001");
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let lead: Lead = serde_json::from_value(json!({
        "id": id.to_string(), "company": "Galil Dairy Farm", "owner": "r-yossi",
        "created_at": now,
        "events": [{"id": "c1", "type": "created", "at": now, "by": "r-yossi"}],
    }))
    .unwrap();
    a.insert(id, create_lead(&lead, random_actor(), Utc::now()).unwrap());
    a.sync(id).await;
    a.pump_until("the lead at the server", |p| p.log.synced.contains(&id))
        .await;

    // B, which has never seen it, asks for it by id (`request`).
    b.sync(id).await;
    let a_heads = hex_heads(a.doc(&id).unwrap());
    b.pump_until("the lead at B", |p| {
        p.doc(&id).map(hex_heads) == Some(a_heads.clone())
    })
    .await;
    assert_eq!(
        read_lead(b.doc(&id).unwrap()).unwrap().lead.company,
        "Galil Dairy Farm"
    );

    // Changes go both ways while both are connected: the server forwards them.
    let append =
        |event: Event| move |tx: &mut Transaction<'_>| append_events(tx, &[event]).unwrap();
    b.change(&id, append(attempt_event("b1", "m-dana")));
    b.sync(id).await;
    pump_both(&mut a, &mut b, "B's change at A", |a, _| {
        event_of(a.doc(&id).unwrap(), "b1").is_some()
    })
    .await;
    a.change(&id, append(attempt_event("a1", "r-yossi")));
    a.sync(id).await;
    pump_both(&mut a, &mut b, "A's change at B", |_, b| {
        event_of(b.doc(&id).unwrap(), "a1").is_some()
    })
    .await;

    // A document the server does not have is reported unavailable.
    let missing = uuid_v4_id(*b"interop-missing!");
    b.sync(missing).await;
    b.pump_until("doc-unavailable", |p| p.log.unavailable.contains(&missing))
        .await;

    // A works offline and reconnects with its stored sync state: its first message carries the
    // change (see `Link::assume_peer_has_shared_heads`), which the server applies and
    // forwards.
    a.disconnect();
    a.change(&id, append(attempt_event("a2", "r-yossi")));
    a.connect(url).await;
    a.sync(id).await;
    pump_both(&mut a, &mut b, "A's offline change at B", |a, b| {
        event_of(b.doc(&id).unwrap(), "a2").is_some()
            && a.doc(&id).map(hex_heads) == b.doc(&id).map(hex_heads)
    })
    .await;

    for peer in [&a, &b] {
        assert!(
            peer.log.errors.is_empty(),
            "{}: {:?}",
            peer.name,
            peer.log.errors
        );
    }
}
