//! Lead document tests: round trip, the JS string convention, concurrent appends and edits,
//! tolerance of unknown events, errors with paths, and the size of a one-field edit.

use super::*;
use crate::doc::{commit_options, load};
use crate::ids::{EventId, MemberId, ProductId};
use crate::lead::{
    AttemptOutcome, ConversationEnd, ConversationKind, EventKind, Material, NextStepKind,
    ReviewDecision,
};
use crate::money::Money;
use crate::testing::{LeadBuilder, t};
use automerge::ChangeHash;
use expect_test::expect;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

const NOW: &str = "2026-11-22T10:00:00Z";

/// A lead with one event of every kind, an account plan, custom fields and a deal size.
fn full_lead() -> Lead {
    let mut lead = LeadBuilder::new("l1", "dana", "2026-11-01T08:00:00Z")
        .deal(1_500_000)
        .no_answer("2026-11-01T08:05:00Z")
        .attempt("2026-11-02T08:05:00Z", AttemptOutcome::Reached)
        .conversation(
            "2026-11-02T08:06:00Z",
            ConversationKind::Demo,
            ConversationEnd::NextStep,
        )
        .step(
            "2026-11-02T08:06:00Z",
            NextStepKind::Visit,
            "2026-11-05T09:00:00Z",
            true,
            Some(90),
        )
        .materials("2026-11-03T10:00:00Z")
        .event(
            "2026-11-03T12:00:00Z",
            EventKind::MaterialsSent {
                materials: vec![Material::PriceList, Material::References],
            },
        )
        .quote("2026-11-04T10:00:00Z", 1_400_000)
        .refusal("2026-11-06T10:00:00Z", "price", "crm", Some(900_000))
        .by("mgr")
        .review(
            "2026-11-07T10:00:00Z",
            ReviewDecision::ReturnToFunnel {
                offer_change: crate::lead::OfferChange::PaymentTerms,
            },
        )
        .review("2026-11-07T11:00:00Z", ReviewDecision::RefusalValidated)
        .status_override("2026-11-08T10:00:00Z", "in_process")
        .event(
            "2026-11-08T11:00:00Z",
            EventKind::Assigned {
                owner: MemberId::from("ion"),
            },
        )
        .by("ion")
        .won("2026-11-10T10:00:00Z", 1_300_000)
        .order_gp("2026-11-20T10:00:00Z", 500_000, 120_000, &["crm", "pos"])
        .by("mgr")
        .event(
            "2026-11-21T10:00:00Z",
            EventKind::ConflictResolved {
                conflict: "outcome:l1-e009".into(),
                keep: Some(EventId::from("l1-e013")),
                note: "the customer said yes".into(),
            },
        )
        .account(Some(4), Some(2), Some(30))
        .build();
    lead.events[13].after = Some(EventId::from("l1-e009"));
    lead.phone = "+972-50-000-0000".into();
    lead.products.push(ProductId::from("pos"));
    lead.account.plan = Some(crate::lead::AccountPlan {
        goals: "double the order".into(),
        incentive: "free training".into(),
        next_review: Some("2027-01-15".parse().unwrap()),
    });
    lead.custom.insert("region".into(), "north".into());
    lead.custom.insert("fair".into(), "Expo 2026".into());
    lead
}

/// A lead with `n` events: created, then attempts and call conversations with next steps.
fn lead_with_events(n: usize) -> Lead {
    let mut b = LeadBuilder::new("l20", "dana", "2026-11-01T08:00:00Z").deal(2_000_000);
    for i in 1..n {
        let at = format!("2026-11-{:02}T09:00:00Z", 1 + i);
        let due = format!("2026-11-{:02}T10:00:00Z", 2 + i);
        b = if i % 2 == 1 {
            b.no_answer(&at)
        } else {
            b.conversation(&at, ConversationKind::Call, ConversationEnd::NextStep)
                .next_step(&at, NextStepKind::Call, &due)
        };
    }
    let mut lead = b.build();
    lead.events.truncate(n);
    assert_eq!(lead.events.len(), n);
    lead
}

fn read(doc: &Automerge) -> LeadDocument {
    read_lead(doc).unwrap_or_else(|e| panic!("read_lead: {e}"))
}

fn edit<F>(doc: &mut Automerge, at: &str, f: F)
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), DocError>,
{
    let mut tx = doc.transaction();
    f(&mut tx).unwrap_or_else(|e| panic!("edit: {e}"));
    tx.commit_with(commit_options(t(at)));
}

#[test]
fn lists_the_lead_fields_stored_at_the_root() {
    expect![[r#"
        account address company contact created_at custom deal_size do_not_contact email id owner phone products source"#]]
    .assert_eq(&lead_fields().collect::<Vec<_>>().join(" "));
}

#[test]
fn round_trips_a_lead_with_every_event_kind() {
    let lead = full_lead();
    let doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    assert_eq!(doc.get_changes(&[]).len(), 1, "one change");
    let loaded = load(&doc.save(), actor(2)).unwrap();
    let read = read(&loaded);
    assert_eq!(read.schema, SCHEMA);
    assert!(read.undecodable.is_empty(), "{:?}", read.undecodable);
    assert_eq!(read.lead, lead);
    // Reading goes through `ReadDoc`: an `AutoCommit` (and a transaction) read the same.
    let mut auto = automerge::AutoCommit::load(&doc.save())
        .unwrap()
        .with_actor(actor(3));
    assert_eq!(read_lead(&auto).unwrap().lead, lead);
    assert!(put_fields(&mut auto, &[("company".into(), json!("Auto"))]).unwrap());
    assert_eq!(read_lead(&auto).unwrap().lead.company, "Auto");
    // Events are stored without their id (the key) and without nulls.
    let conv = read_prop(&loaded, &ROOT, "events", "events")
        .unwrap()
        .unwrap();
    expect![[r#"{"at":"2026-11-01T08:00:00Z","by":"dana","type":"created"}"#]]
        .assert_eq(&conv["l1-e000"].to_string());
    expect![[r#"{"after":"l1-e009","amount":{"currency":"ILS","minor":1300000},"at":"2026-11-10T10:00:00Z","by":"ion","products":["crm"],"type":"won"}"#]]
        .assert_eq(&conv["l1-e013"].to_string());
}

#[test]
fn reads_strings_written_as_text_objects_as_js_automerge_does() {
    let lead = full_lead();
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    edit(&mut doc, NOW, |tx| {
        let company = tx.put_object(ROOT, "company", ObjType::Text).unwrap();
        tx.splice_text(&company, 0, 0, "Acme בע\"מ").unwrap();
        let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
        let (_, conv) = tx.get(&events, "l1-e003").unwrap().unwrap();
        let notes = tx.put_object(&conv, "notes", ObjType::Text).unwrap();
        tx.splice_text(&notes, 0, 0, "wants a demo").unwrap();
        Ok(())
    });
    let read = read(&doc);
    assert_eq!(read.lead.company, "Acme בע\"מ");
    let EventKind::Conversation { notes, .. } = &read.lead.events[3].kind else {
        panic!("event 3 is the conversation");
    };
    assert_eq!(notes, "wants a demo");
}

#[test]
fn concurrent_appends_from_two_actors_merge_with_no_loss() {
    let lead = lead_with_events(3);
    let mut a = create_lead(&lead, actor(1), t(NOW)).unwrap();
    let mut b = load(&a.save(), actor(2)).unwrap();
    let rep = LeadBuilder::new("l20", "dana", "2026-11-01T08:00:00Z")
        .no_answer("2026-11-23T09:00:00Z")
        .no_answer("2026-11-24T09:00:00Z")
        .build();
    let mut on_a = rep.events[1..].to_vec();
    on_a[0].id = EventId::from("a-1");
    on_a[1].id = EventId::from("a-2");
    let mut on_b = rep.events[1..2].to_vec();
    on_b[0].id = EventId::from("b-1");
    edit(&mut a, "2026-11-24T09:00:00Z", |tx| {
        append_events(tx, &on_a)
    });
    edit(&mut b, "2026-11-23T09:30:00Z", |tx| {
        append_events(tx, &on_b)
    });
    let mut a2 = a.fork();
    a.merge(&mut b).unwrap();
    b.merge(&mut a2).unwrap();
    assert_eq!(a.get_heads(), b.get_heads());
    let ids = |d: &Automerge| -> Vec<String> {
        read(d)
            .lead
            .events
            .iter()
            .map(|e| e.id.to_string())
            .collect()
    };
    assert_eq!(
        ids(&a),
        ["a-1", "a-2", "b-1", "l20-e000", "l20-e001", "l20-e002"]
    );
    assert_eq!(read(&a).lead, read(&b).lead);
}

#[test]
fn concurrent_field_edits_converge_in_either_merge_order() {
    let lead = full_lead();
    let base = create_lead(&lead, actor(1), t(NOW)).unwrap();
    let mut a = base.fork().with_actor(actor(2));
    let mut b = base.fork().with_actor(actor(3));
    let mut account_a = serde_json::to_value(&lead.account).unwrap();
    account_a["growth_potential"] = json!(5);
    let mut account_b = serde_json::to_value(&lead.account).unwrap();
    account_b["churn_risk"] = json!(1);
    edit(&mut a, NOW, |tx| {
        put_fields(
            tx,
            &[
                ("company".into(), json!("Alpha")),
                ("account".into(), account_a),
                ("deal_size".into(), json!({"minor": 100, "currency": "ILS"})),
            ],
        )
        .map(drop)
    });
    edit(&mut b, NOW, |tx| {
        put_fields(
            tx,
            &[
                ("company".into(), json!("Beta")),
                ("account".into(), account_b),
                ("deal_size".into(), json!({"minor": 200, "currency": "EUR"})),
            ],
        )
        .map(drop)
    });
    let (mut ab, mut ba) = (a.fork(), b.fork());
    ab.merge(&mut b.fork()).unwrap();
    ba.merge(&mut a.fork()).unwrap();
    assert_eq!(ab.get_heads(), ba.get_heads());
    let (x, y) = (read(&ab).lead, read(&ba).lead);
    assert_eq!(x, y);
    assert!(
        ["Alpha", "Beta"].contains(&x.company.as_str()),
        "{}",
        x.company
    );
    // Different keys of a map both survive.
    assert_eq!(x.account.growth_potential, Some(5));
    assert_eq!(x.account.churn_risk, Some(1));
    // Money is replaced whole: one side's amount with the same side's currency.
    let deal = x.deal_size.unwrap();
    assert!(
        deal == Money::new(100, "ILS") || deal == Money::new(200, "EUR"),
        "{deal:?}"
    );
}

#[test]
fn an_unknown_event_type_is_reported_not_fatal() {
    let mut doc = create_lead(&lead_with_events(2), actor(1), t(NOW)).unwrap();
    edit(&mut doc, NOW, |tx| {
        let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
        let future = json!({"at": NOW, "by": "dana", "type": "teleport", "to": "Mars"});
        put_value(tx, &events, "z-future", &future, "events.z-future")?;
        tx.put(&events, "z-scalar", "not a map").unwrap();
        tx.put(ROOT, "colour", "blue").unwrap(); // an unknown root key
        Ok(())
    });
    let read = read(&doc);
    assert_eq!(read.lead.events.len(), 2);
    let reported: Vec<String> = read
        .undecodable
        .iter()
        .map(|u| format!("{} -> {}", u.id, u.error))
        .collect();
    expect![[r#"
        [
            "z-future -> events.z-future: unknown variant `teleport`, expected one of `created`, `attempt`, `conversation`, `next_step`, `quote_sent`, `materials_requested`, `materials_sent`, `refusal`, `review_decision`, `won`, `order`, `assigned`, `status_override`, `conflict_resolved`",
            "z-scalar -> events.z-scalar: expected a map (one event), found the scalar \"not a map\"",
        ]
    "#]]
    .assert_debug_eq(&reported);
}

#[test]
fn a_missing_or_invalid_lead_field_fails_with_its_path() {
    let mut doc = create_lead(&lead_with_events(1), actor(1), t(NOW)).unwrap();
    let mut broken = doc.fork();
    edit(&mut broken, NOW, |tx| {
        tx.delete(ROOT, "owner").unwrap();
        Ok(())
    });
    let err = read_lead(&broken).unwrap_err();
    assert_eq!(err.to_string(), "owner: missing");

    let mut broken = doc.fork();
    edit(&mut broken, NOW, |tx| {
        tx.put(ROOT, "created_at", "yesterday").unwrap();
        Ok(())
    });
    let err = read_lead(&broken).unwrap_err();
    assert_eq!(err.path(), "created_at");
    assert!(err.to_string().starts_with("created_at: "), "{err}");

    let mut broken = doc.fork();
    edit(&mut broken, NOW, |tx| {
        let (_, account) = tx.get(ROOT, "account").unwrap().unwrap();
        tx.put(
            &account,
            "churn_risk",
            automerge::ScalarValue::Bytes(vec![9]),
        )
        .unwrap();
        Ok(())
    });
    let err = read_lead(&broken).unwrap_err();
    expect![
        "account.churn_risk: expected a string, number, boolean, null, map or list, found 1 bytes"
    ]
    .assert_eq(&err.to_string());

    edit(&mut doc, NOW, |tx| {
        tx.put(ROOT, "type", "team").unwrap();
        Ok(())
    });
    expect![[r#"type: expected "lead", found "team""#]]
        .assert_eq(&read_lead(&doc).unwrap_err().to_string());
}

#[test]
fn put_fields_checks_every_name_and_value_before_writing() {
    let mut doc = create_lead(&lead_with_events(1), actor(1), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    let cases = [
        ("events", json!([])),
        ("schema", json!(2)),
        ("colour", json!("blue")),
        ("deal_size", json!("a lot")),
        ("products", json!(["crm", 3])),
    ];
    let errors: Vec<String> = cases
        .iter()
        .map(|(name, value)| {
            let fields = [
                ("company".to_owned(), json!("written only if all are valid")),
                (name.to_string(), value.clone()),
            ];
            put_fields(&mut tx, &fields).unwrap_err().to_string()
        })
        .collect();
    assert_eq!(tx.pending_ops(), 0);
    expect![[r#"
        [
            "events: not a writable lead field (events are appended with append_events, never edited)",
            "schema: not a writable lead field (set by the document itself)",
            "colour: not a writable lead field (a lead has no such field)",
            "deal_size: invalid type: string \"a lot\", expected struct Money",
            "products: invalid type: integer `3`, expected a string",
        ]
    "#]]
    .assert_debug_eq(&errors);
}

#[test]
fn events_are_never_replaced() {
    let lead = lead_with_events(2);
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    let err = append_events(&mut tx, &lead.events[1..]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "events.{}: an event with this id already exists (events are never edited)",
            lead.events[1].id
        )
    );
}

#[test]
fn a_newer_schema_is_read_but_not_written() {
    let lead = lead_with_events(2);
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    edit(&mut doc, NOW, |tx| {
        tx.put(ROOT, "schema", 2).unwrap();
        tx.put(ROOT, "stage", "v2 key").unwrap();
        Ok(())
    });
    let read = read(&doc);
    assert_eq!((read.schema, read.lead), (2, lead.clone()));
    let mut tx = doc.transaction();
    let err = put_fields(&mut tx, &[("company".into(), json!("x"))]).unwrap_err();
    assert!(
        matches!(
            err,
            DocError::NewerSchema {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    let err = append_events(&mut tx, &[]).unwrap_err();
    assert_eq!(err.path(), "schema");
}

#[test]
fn a_one_field_edit_is_one_small_change_and_an_unchanged_one_is_none() {
    let lead = lead_with_events(20);
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    let saved = doc.save();
    assert!(
        saved.len() < 4096,
        "a 20-event lead saves to {} bytes",
        saved.len()
    );
    let before = doc.get_heads();

    let mut tx = doc.transaction();
    assert!(put_fields(&mut tx, &[("company".into(), json!("Renamed Ltd"))]).unwrap());
    assert_eq!(tx.pending_ops(), 1);
    let (hash, _) = tx.commit_with(commit_options(t(NOW)));
    assert!(hash.is_some());
    let increment = doc.save_after(&before);
    assert!(
        increment.len() < 300,
        "one-field edit: {} bytes",
        increment.len()
    );
    assert_eq!(doc.get_changes(&before).len(), 1);

    let heads: Vec<ChangeHash> = doc.get_heads();
    let mut tx = doc.transaction();
    let same = [
        ("company".to_owned(), json!("Renamed Ltd")),
        (
            "deal_size".to_owned(),
            json!({"minor": 2_000_000, "currency": "ILS"}),
        ),
        (
            "account".to_owned(),
            serde_json::to_value(&lead.account).unwrap(),
        ),
    ];
    assert!(!put_fields(&mut tx, &same).unwrap());
    let (hash, _) = tx.commit_with(commit_options(t(NOW)));
    assert_eq!(hash, None);
    assert_eq!(doc.get_heads(), heads);
}

#[test]
fn changes_since_names_fields_added_and_touched_events() {
    let lead = LeadBuilder::new("l1", "dana", "2026-11-01T08:00:00Z")
        .no_answer("2026-11-01T08:05:00Z")
        .build();
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    // The creation itself: every field and event is new.
    let created = changes_since(&doc, &[]);
    assert_eq!(
        created.added_events,
        ["l1-e000", "l1-e001"].map(str::to_owned).into()
    );
    assert!(created.touched_events.is_empty() && !created.events_replaced);
    assert!(created.fields.contains("owner") && created.fields.contains("company"));

    let before = doc.get_heads();
    // An append and a field edit.
    let ev = LeadBuilder::new("l1", "dana", "2026-11-01T08:00:00Z")
        .no_answer("2026-11-02T08:05:00Z")
        .id("e-new")
        .build()
        .events
        .pop()
        .unwrap();
    let mut tx = doc.transaction();
    append_events(&mut tx, &[ev]).unwrap();
    put_fields(&mut tx, &[("company".into(), json!("Acme 2"))]).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    let c = changes_since(&doc, &before);
    assert_eq!(c.added_events, ["e-new".to_owned()].into());
    assert_eq!(c.fields, ["company".to_owned()].into());
    assert!(c.touched_events.is_empty() && !c.events_replaced);

    // Editing inside an existing event, deleting one, replacing `events`: all seen.
    let before = doc.get_heads();
    let events = match doc.get(ROOT, "events").unwrap() {
        Some((_, id)) => id,
        None => panic!("events"),
    };
    let first = match doc.get(&events, "l1-e001").unwrap() {
        Some((_, id)) => id,
        None => panic!("event"),
    };
    let mut tx = doc.transaction();
    tx.put(&first, "outcome", "reached").unwrap();
    tx.delete(&events, "l1-e000").unwrap();
    tx.commit_with(commit_options(t(NOW)));
    let c = changes_since(&doc, &before);
    assert_eq!(
        c.touched_events,
        ["l1-e000", "l1-e001"].map(str::to_owned).into()
    );
    assert!(c.added_events.is_empty());

    let before = doc.get_heads();
    let mut tx = doc.transaction();
    tx.put_object(ROOT, "events", ObjType::Map).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    assert!(changes_since(&doc, &before).events_replaced);
    // Nothing changed: nothing to report.
    assert_eq!(
        changes_since(&doc, &doc.get_heads()),
        LeadChanges::default()
    );
}
