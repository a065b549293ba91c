//! Interop with JS Automerge 3: `fixtures/lead-js.automerge` was written by
//! `fixtures/lead-js.mjs` the plain JS way (strings as Text objects, numbers as Int, nested
//! objects), and the Rust reader and writers must accept it.

use automerge::{ActorId, ObjType, ROOT, ReadDoc, Value};
use fieldbook_core::doc::{self, heads_to_hex, lead};
use fieldbook_core::lead::EventKind;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const FIXTURE: &[u8] = include_bytes!("fixtures/lead-js.automerge");

fn actor() -> ActorId {
    ActorId::from(&[0x42; 16][..])
}

#[test]
fn reads_a_lead_written_by_js_automerge_3() {
    let doc = doc::load(FIXTURE, actor()).unwrap();
    // The heads JS reported for these bytes.
    assert_eq!(
        heads_to_hex(&doc.get_heads()),
        ["e435c175c21b491da5f4505bd20bf2ca3131f4afe4fa558ad1eeef47a592c664"]
    );
    // JS wrote its strings as Text objects: this test exercises the Text path.
    let (company, _) = doc.get(ROOT, "company").unwrap().unwrap();
    assert_eq!(company, Value::Object(ObjType::Text));

    let read = lead::read_lead(&doc).unwrap();
    assert_eq!(read.schema, 1);
    assert!(read.undecodable.is_empty(), "{:?}", read.undecodable);
    let l = &read.lead;
    assert_eq!(l.id.as_str(), "lead-js-1");
    assert_eq!(l.company, "Shalom Tech Ltd");
    assert_eq!(l.contact, "Noa Levi");
    assert_eq!(l.products.len(), 2);
    assert_eq!(l.deal_size.as_ref().map(|m| m.minor), Some(1_500_000));
    assert_eq!(l.account.growth_potential, Some(4));
    assert_eq!(l.account.payment_terms_days, Some(30));
    assert_eq!(l.custom["region"], "north");
    assert_eq!(l.created_at.to_rfc3339(), "2026-11-20T08:00:00+00:00");
    let ids: Vec<&str> = l.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["js-e1", "js-e2", "js-e3", "js-e4", "js-e5"]);
    let EventKind::Conversation { notes, needs, .. } = &l.events[2].kind else {
        panic!("js-e3 is a conversation: {:?}", l.events[2]);
    };
    assert_eq!(
        (notes.as_str(), needs.as_str()),
        ("wants a demo for 12 users", "inventory")
    );
    let EventKind::NextStep {
        duration_minutes, ..
    } = &l.events[3].kind
    else {
        panic!("js-e4 is a next step: {:?}", l.events[3]);
    };
    assert_eq!(*duration_minutes, Some(45));
    assert_eq!(
        serde_json::to_value(&l.events[3]).unwrap()["after"],
        json!("js-e1")
    );
    let EventKind::QuoteSent { amount, .. } = &l.events[4].kind else {
        panic!("js-e5 is a quote: {:?}", l.events[4]);
    };
    assert_eq!((amount.minor, amount.currency.as_str()), (1_450_000, "ILS"));
}

#[test]
fn writes_into_a_lead_written_by_js() {
    let mut doc = doc::load(FIXTURE, actor()).unwrap();
    let before = lead::read_lead(&doc).unwrap().lead;
    let now = "2026-11-22T10:00:00Z".parse().unwrap();
    let mut tx = doc.transaction();
    // Equal to the Text the document holds: nothing to write.
    assert!(!lead::put_fields(&mut tx, &[("company".into(), json!("Shalom Tech Ltd"))]).unwrap());
    assert!(lead::put_fields(&mut tx, &[("contact".into(), json!("Noa Cohen"))]).unwrap());
    let mut event = before.events[1].clone();
    event.id = "rs-e6".into();
    lead::append_events(&mut tx, &[event]).unwrap();
    tx.commit_with(doc::commit_options(now));

    let after = lead::read_lead(&doc).unwrap().lead;
    assert_eq!(after.contact, "Noa Cohen");
    assert_eq!(after.events.len(), before.events.len() + 1);
    // The edited string is now a scalar (the Rust convention); the untouched one is still Text.
    let (contact, _) = doc.get(ROOT, "contact").unwrap().unwrap();
    assert!(matches!(contact, Value::Scalar(ref s) if s.is_str()));
    let (company, _) = doc.get(ROOT, "company").unwrap().unwrap();
    assert_eq!(company, Value::Object(ObjType::Text));
}
