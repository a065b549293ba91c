//! The binding under node (wasm-bindgen-test, `cargo test -p fieldbook-wasm --target
//! wasm32-unknown-unknown`): JS values in, JS values out, as the web app calls it.

#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use fieldbook_core::doc::team as team_doc;
use fieldbook_wasm::{Replica, core_version};
use js_sys::{Array, JSON, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test as test;

/// 2026-03-02 08:00 UTC (a Monday).
const T0: f64 = 1_772_438_400_000.0;
const MINUTE: f64 = 60_000.0;

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("valid JSON")
}

fn get(value: &JsValue, path: &str) -> JsValue {
    if path.is_empty() {
        return value.clone();
    }
    path.split('.').fold(value.clone(), |v, key| {
        let key = match key.parse::<u32>() {
            Ok(i) => JsValue::from(i),
            Err(_) => JsValue::from_str(key),
        };
        Reflect::get(&v, &key).expect("readable")
    })
}

fn string(value: &JsValue, path: &str) -> String {
    get(value, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

fn len(value: &JsValue, path: &str) -> u32 {
    get(value, path).unchecked_into::<Array>().length()
}

/// The team of docs/examples/team.json, as a team document's bytes.
fn team_bytes() -> Vec<u8> {
    let team = r#"{
      "id": "t1", "name": "Test",
      "members": [
        {"id": "m-dana", "name": "Dana", "role": "manager", "time_zone": "Asia/Jerusalem"},
        {"id": "r-yossi", "name": "Yossi", "role": "rep", "manager": "m-dana",
         "time_zone": "Asia/Jerusalem", "locale": "he-IL"}
      ],
      "products": [{"id": "crm", "name": "CRM"}]
    }"#;
    let team = serde_json::from_str(team).expect("a team");
    let actor = automerge::ActorId::from(&[3u8; 16][..]);
    team_doc::create_team(&team, actor, chrono::DateTime::UNIX_EPOCH)
        .expect("a team document")
        .save()
}

/// What a host stores, carrying out `Effects.writes` as IndexedDB would.
#[derive(Default)]
struct Host {
    chunks: BTreeMap<String, Vec<Vec<u8>>>,
    summaries: BTreeMap<String, Vec<u8>>,
    sync_states: BTreeMap<String, Vec<u8>>,
}

impl Host {
    fn carry_out(&mut self, effects: &JsValue) {
        for write in get(effects, "writes").unchecked_into::<Array>().iter() {
            let doc = string(&write, "doc");
            let bytes = get(&write, "bytes").unchecked_into::<Uint8Array>().to_vec();
            match string(&write, "op").as_str() {
                "append" => self.chunks.entry(doc).or_default().push(bytes),
                "replace" => {
                    self.chunks.insert(doc, vec![bytes]);
                }
                "summary" => {
                    self.summaries.insert(doc, bytes);
                }
                "syncState" => {
                    self.sync_states.insert(doc, bytes);
                }
                op => panic!("unknown op {op}"),
            }
        }
    }

    fn stored(&self, team_doc: Option<&[u8]>) -> JsValue {
        let pairs = |map: &BTreeMap<String, Vec<u8>>| {
            map.iter()
                .map(|(id, bytes)| {
                    Array::of2(&id.into(), &Uint8Array::from(bytes.as_slice()).into())
                })
                .collect::<Array>()
        };
        let stored = Object::new();
        if let Some(bytes) = team_doc {
            let bytes = Uint8Array::from(bytes);
            Reflect::set(&stored, &"teamDoc".into(), &bytes).unwrap();
        }
        Reflect::set(&stored, &"indexStored".into(), &false.into()).unwrap();
        Reflect::set(&stored, &"summaries".into(), &pairs(&self.summaries)).unwrap();
        Reflect::set(&stored, &"syncStates".into(), &pairs(&self.sync_states)).unwrap();
        stored.into()
    }
}

fn config(member: &str) -> JsValue {
    let config = Object::new();
    Reflect::set(&config, &"team".into(), &"t1".into()).unwrap();
    Reflect::set(&config, &"member".into(), &member.into()).unwrap();
    let actor = Uint8Array::from(&[7u8; 16][..]);
    Reflect::set(&config, &"actor".into(), &actor).unwrap();
    Reflect::set(&config, &"peerId".into(), &format!("{member}/test").into()).unwrap();
    config.into()
}

fn open(member: &str, host: &Host, team: Option<&[u8]>) -> Replica {
    Replica::open(
        config(member).unchecked_into(),
        host.stored(team).unchecked_into(),
    )
    .unwrap_or_else(|e| panic!("open: {}", describe(&e)))
}

/// The error of a call that must fail.
fn err<T>(result: Result<T, JsValue>) -> JsValue {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => error,
    }
}

fn describe(error: &JsValue) -> String {
    format!(
        "{} {:?} {}",
        string(error, "kind"),
        get(error, "field").as_string(),
        string(error, "message")
    )
}

fn create(replica: &mut Replica, host: &mut Host, company: &str, now: f64) -> String {
    let input = json(&format!(
        r#"{{"company": "{company}", "phone": "+972 50 000 0000"}}"#
    ));
    let created = replica
        .create_lead(input.unchecked_into(), now)
        .unwrap_or_else(|e| panic!("createLead: {}", describe(&e)));
    let created: JsValue = created.into();
    host.carry_out(&get(&created, "effects"));
    string(&created, "doc")
}

fn apply(replica: &mut Replica, doc: &str, command: &str, now: f64) -> Result<JsValue, JsValue> {
    replica
        .apply(doc, json(command).unchecked_into(), now)
        .map(Into::into)
}

#[test]
fn the_core_version_is_exported() {
    assert_eq!(core_version(), fieldbook_core::VERSION);
}

#[test]
fn a_rep_creates_a_lead_and_logs_an_attempt_and_a_conversation() {
    let team = team_bytes();
    let mut host = Host::default();
    let mut rep = open("r-yossi", &host, Some(&team));
    assert_eq!(rep.member(), "r-yossi");
    assert_eq!(len(&rep.open_effects().unwrap().into(), "needLoad"), 0);

    let doc = create(&mut rep, &mut host, "Acme", T0);
    assert_eq!(host.chunks[&doc].len(), 1);
    assert!(host.summaries.contains_key(&doc));
    // A new lead is the first thing to call (R1).
    let queue: JsValue = rep.call_queue(T0 + MINUTE).unwrap().into();
    assert_eq!(len(&queue, "items"), 1);
    assert_eq!(string(&queue, "items.0.lead"), doc);
    assert_eq!(string(&queue, "items.0.reason.kind"), "new_lead");

    let effects = apply(
        &mut rep,
        &doc,
        r#"{"type": "log_attempt", "channel": "call", "outcome": "reached"}"#,
        T0 + 5.0 * MINUTE,
    )
    .unwrap();
    assert_eq!(string(&effects, "writes.0.op"), "append");
    let changed = JSON::stringify(&get(&effects, "changed")).unwrap();
    assert_eq!(changed, format!(r#"["{doc}"]"#));
    host.carry_out(&effects);

    let conversation = r#"{
      "type": "log_conversation", "kind": "call", "notes": "Wants a demo",
      "next_step": {"kind": "demo", "due": "2026-03-04T09:00:00Z", "agreed": true}
    }"#;
    let effects = apply(&mut rep, &doc, conversation, T0 + 10.0 * MINUTE).unwrap();
    host.carry_out(&effects);
    assert_eq!(host.chunks[&doc].len(), 3);

    let view: JsValue = rep.lead(&doc, Some(T0 + 11.0 * MINUTE)).unwrap().into();
    assert_eq!(string(&view, "lead.company"), "Acme");
    assert_eq!(len(&view, "lead.events"), 4); // created, attempt, conversation, next step
    assert_eq!(get(&view, "undecodable"), JsValue::from(0));
    assert_eq!(string(&view, "state.lead"), doc);
    // The next step is open; nothing else is due today.
    let facts: JsValue = rep.facts().unwrap().into();
    assert_eq!(len(&facts, ""), 1);
    assert_eq!(string(&facts, "0.next_step.kind"), "demo");
    assert_eq!(string(&facts, "0.next_step.due"), "2026-03-04T09:00:00Z");
    let queue: JsValue = rep.call_queue(T0 + 11.0 * MINUTE).unwrap().into();
    assert_eq!(len(&queue, "items"), 0);
    let states: JsValue = rep.states(T0).unwrap().into();
    assert_eq!(len(&states, ""), 1);

    // A reopened replica (the host's storage after every effect) holds the same lead.
    let mut again = open("r-yossi", &host, Some(&team));
    assert_eq!(len(&again.open_effects().unwrap().into(), "needLoad"), 0);
    let facts = |r: &Replica| JSON::stringify(&r.facts().unwrap().into()).unwrap();
    assert_eq!(facts(&again), facts(&rep));
    assert!(!again.is_loaded(&doc).unwrap());
    let not_loaded = err(again.lead(&doc, Some(T0)));
    assert_eq!(string(&not_loaded, "kind"), "not_loaded");
    let bytes: Vec<u8> = host.chunks[&doc].concat();
    again.loaded(&doc, &bytes, T0).unwrap();
    let reread: JsValue = again.lead(&doc, Some(T0 + 11.0 * MINUTE)).unwrap().into();
    assert_eq!(
        JSON::stringify(&reread).unwrap(),
        JSON::stringify(&view).unwrap()
    );
}

#[test]
fn an_invalid_command_throws_a_fieldbook_error_and_writes_nothing() {
    let team = team_bytes();
    let mut host = Host::default();
    let mut rep = open("r-yossi", &host, Some(&team));
    let doc = create(&mut rep, &mut host, "Acme", T0);
    let before = JSON::stringify(&rep.facts().unwrap().into()).unwrap();

    // R3: a conversation without notes is refused, naming the field.
    let error = apply(
        &mut rep,
        &doc,
        r#"{"type": "log_conversation", "kind": "call", "notes": "", "needs_time": true}"#,
        T0 + MINUTE,
    )
    .unwrap_err();
    assert!(error.is_instance_of::<js_sys::Error>(), "an Error");
    assert_eq!(string(&error, "constructor.name"), "FieldbookError");
    assert_eq!(string(&error, "name"), "FieldbookError");
    assert_eq!(string(&error, "kind"), "missing");
    assert_eq!(string(&error, "field"), "notes");
    assert!(get(&error, "stack").is_string());
    assert_eq!(
        JSON::stringify(&rep.facts().unwrap().into()).unwrap(),
        before
    );
    assert_eq!(host.chunks[&doc].len(), 1);

    // R4: a next step in the past is invalid.
    let past = r#"{"type": "log_conversation", "kind": "call", "notes": "hi",
                   "next_step": {"kind": "call", "due": "2020-01-01T00:00:00Z"}}"#;
    let error = apply(&mut rep, &doc, past, T0 + MINUTE).unwrap_err();
    assert_eq!(string(&error, "kind"), "invalid");
    assert!(string(&error, "field").starts_with("next_step"));

    // A command that does not decode names the argument and the path inside it.
    let error = apply(
        &mut rep,
        &doc,
        r#"{"type": "log_attempt", "channel": "pigeon", "outcome": "reached"}"#,
        T0,
    )
    .unwrap_err();
    assert_eq!(string(&error, "kind"), "bad_input");
    // Inside a tagged enum serde cannot follow the path: the argument is named, the message
    // says what is wrong.
    assert_eq!(string(&error, "field"), "command");
    assert!(string(&error, "message").contains("pigeon"));
    let input = json(r#"{"company": "Acme", "deal_size": {"minor": "many", "currency": "ILS"}}"#);
    let error = err(rep.create_lead(input.unchecked_into(), T0));
    assert_eq!(
        (string(&error, "kind"), string(&error, "field")),
        ("bad_input".to_owned(), "input.deal_size.minor".to_owned())
    );
    let error = apply(
        &mut rep,
        "not an id",
        r#"{"type": "confirm_close_unreachable"}"#,
        T0,
    )
    .unwrap_err();
    assert_eq!(
        (string(&error, "kind"), string(&error, "field")),
        ("bad_input".to_owned(), "doc".to_owned())
    );
    let error = err(rep.call_queue(f64::NAN));
    assert_eq!(string(&error, "field"), "now");
    let error = err(rep.day_plan("03/02/2026", T0));
    assert_eq!(string(&error, "field"), "date");

    // The manager's right: a rep may not review a refusal.
    let review = r#"{"type": "review_refusal", "decision": {"decision": "refusal_validated"}}"#;
    let error = apply(&mut rep, &doc, review, T0).unwrap_err();
    assert_eq!(string(&error, "kind"), "not_allowed");
    assert!(get(&error, "field").is_undefined());
    assert_eq!(host.chunks[&doc].len(), 1);
}

#[test]
fn without_the_team_document_commands_wait_and_reads_are_empty() {
    let host = Host::default();
    let mut rep = open("r-yossi", &host, None);
    assert!(JsValue::from(rep.team().unwrap()).is_null());
    assert!(JsValue::from(rep.call_queue(T0).unwrap()).is_null());
    assert_eq!(len(&rep.inbox(T0).unwrap().into(), ""), 0);
    let input = json(r#"{"company": "Acme"}"#);
    let error = err(rep.create_lead(input.unchecked_into(), T0));
    assert_eq!(string(&error, "kind"), "no_team");
    assert_eq!(string(&err(rep.analytics(T0)), "kind"), "no_team");
    let status: JsValue = rep.sync_status().unwrap().into();
    assert_eq!(string(&status, "state"), "offline");
    assert_eq!(get(&status, "inFlight"), JsValue::from(0));
    // Connecting sends the join message.
    let effects: JsValue = rep.connect(T0).unwrap().into();
    assert_eq!(len(&effects, "frames"), 1);
    assert!(get(&effects, "frames.0").is_instance_of::<Uint8Array>());
    assert_eq!(
        string(&rep.sync_status().unwrap().into(), "state"),
        "connecting"
    );
    rep.disconnected();
}

#[test]
fn a_manager_sees_the_refusal_to_review_and_the_analytics() {
    let team = team_bytes();
    let mut host = Host::default();
    let mut manager = open("m-dana", &host, Some(&team));
    let team_value: JsValue = manager.team().unwrap().into();
    assert_eq!(len(&team_value, "members"), 2);
    assert_eq!(string(&team_value, "members.1.time_zone"), "Asia/Jerusalem");

    let input = json(r#"{"company": "Beta", "owner": "r-yossi"}"#);
    let created: JsValue = manager
        .create_lead(input.unchecked_into(), T0)
        .unwrap()
        .into();
    host.carry_out(&get(&created, "effects"));
    let doc = string(&created, "doc");
    let refusal = r#"{"type": "record_refusal", "reason": "price", "products": ["crm"],
                      "budget": {"minor": 500000, "currency": "ILS"}}"#;
    host.carry_out(&apply(&mut manager, &doc, refusal, T0 + MINUTE).unwrap());

    let inbox: JsValue = manager.inbox(T0 + 2.0 * MINUTE).unwrap().into();
    assert_eq!(len(&inbox, ""), 1);
    assert_eq!(string(&inbox, "0.kind"), "refusal_review");
    assert_eq!(string(&inbox, "0.lead"), doc);

    let analytics: JsValue = manager.analytics(T0 + 2.0 * MINUTE).unwrap().into();
    assert_eq!(get(&analytics, "funnel.total"), JsValue::from(1));
    assert!(get(&analytics, "speedToLead").is_object());
    assert!(get(&analytics, "tiers.customers").is_array());
    assert!(get(&analytics, "refusals.day").is_object());
    // Maps are plain objects, not JS Maps.
    let budgets = get(&analytics, "refusals.cumulative");
    assert!(!budgets.is_instance_of::<js_sys::Map>());

    let plan: JsValue = manager.day_plan("2026-03-02", T0).unwrap().into();
    assert_eq!(string(&plan, "date"), "2026-03-02");
    assert_eq!(len(&plan, "visits"), 0);

    // The team currency is the default EUR: the ILS budget has no rate and is listed.
    let missing: JsValue = manager.missing_rates(T0 + 2.0 * MINUTE).unwrap().into();
    assert_eq!(len(&missing, ""), 1);
    assert_eq!(string(&missing, "0.currency"), "ILS");
    assert_eq!(get(&missing, "0.n_leads"), JsValue::from(1));
    // A rate that does not parse is named at its field inside the playbook.
    let playbook = |rate: &str| {
        json(&format!(
            r#"{{"type": "set_playbook", "playbook": {{"currency": "EUR",
                 "exchange_rates": [{{"currency": "ILS", "date": "2026-01-01", "rate": "{rate}"}}]}}}}"#
        ))
    };
    let error = err(manager.apply_team(playbook("abc").unchecked_into(), T0 + 2.0 * MINUTE));
    assert_eq!(
        (string(&error, "kind"), string(&error, "field")),
        (
            "bad_input".to_owned(),
            "playbook.exchange_rates[0].rate".to_owned()
        )
    );
    assert!(string(&error, "message").contains("is not an exchange rate"));
    let error = err(manager.apply_team(json(r#"{"type": "set_team"}"#).unchecked_into(), T0));
    assert_eq!(
        (string(&error, "kind"), string(&error, "field")),
        ("bad_input".to_owned(), "command.type".to_owned())
    );
    // With a rate, nothing is missing.
    host.carry_out(
        &manager
            .apply_team(playbook("0.25").unchecked_into(), T0 + 2.0 * MINUTE)
            .unwrap()
            .into(),
    );
    let missing: JsValue = manager.missing_rates(T0 + 2.0 * MINUTE).unwrap().into();
    assert_eq!(len(&missing, ""), 0);

    // A manager may review it.
    let review = r#"{"type": "review_refusal", "decision": {"decision": "refusal_validated"}}"#;
    host.carry_out(&apply(&mut manager, &doc, review, T0 + 3.0 * MINUTE).unwrap());
    assert_eq!(
        len(&manager.inbox(T0 + 4.0 * MINUTE).unwrap().into(), ""),
        0
    );
}
