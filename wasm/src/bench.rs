//! `benchBook` (feature `bench` only, not in the app's build): the benchmark book of
//! `core/benches/book/` as what a device stores, so that `wasm/bench/queue.mjs` can time
//! `Replica.open`, `callQueue` and `inbox` over realistic summaries.

#[path = "../../core/benches/book/mod.rs"]
mod book;

use crate::error::{Error, bad_input};
use crate::js;
use fieldbook_core::doc::{DocumentId, team as team_doc};
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{LeadId, MemberId};
use fieldbook_core::replica::{SUMMARY_VERSION, Summary, playbook_print};
use serde::Serialize;
use serde_bytes::ByteBuf;
use wasm_bindgen::prelude::*;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Book {
    team: String,
    member: String,
    team_doc: ByteBuf,
    summaries: Vec<(String, ByteBuf)>,
}

/// `leads` generated leads (20 events each) as `{ team, member, teamDoc, summaries }` for
/// `Replica.open`. `member` `"rep0"` owns every lead (the largest call queue); `"mgr"` (the
/// reps' manager) gets the book spread over the 10 reps. Summaries are folded by the core
/// from the generated events; their heads are synthetic (no lead documents are built).
#[wasm_bindgen(js_name = benchBook)]
pub fn bench_book(leads: u32, now: f64, member: &str) -> Result<JsValue, JsValue> {
    bench(leads, now, member).map_err(Error::into_js)
}

fn bench(leads: u32, now: f64, member: &str) -> Result<JsValue, Error> {
    let now = crate::time(now, "now")?;
    let team = book::team();
    if team.member(&MemberId::from(member)).is_none() {
        return Err(bad_input("member", "rep0 … rep9 or mgr"));
    }
    let one_owner = member != "mgr";
    let print = playbook_print(&team.playbook);
    let mut rng = book::Rng(0x5eed_f1e1_db00_c0de);
    let mut summaries = Vec::with_capacity(leads as usize);
    for i in 0..leads as usize {
        let mut bytes = [0x5a; 16];
        bytes[8..].copy_from_slice(&(i as u64).to_be_bytes());
        let doc = DocumentId::from_bytes(bytes);
        let mut lead = book::lead(&mut rng, i, now);
        lead.id = LeadId(doc.to_string());
        if one_owner {
            lead.owner = MemberId::from(member);
        }
        let heads = vec![format!("{:064x}", i + 1)];
        let summary = Summary {
            v: SUMMARY_VERSION,
            playbook: print.clone(),
            heads: heads.clone(),
            synced: heads,
            chunks: 0,
            undecodable: 0,
            facts: LeadFacts::from_lead(&team.playbook, &lead),
            sealed: None,
        };
        let json = serde_json::to_vec(&summary).expect("a summary serialises");
        summaries.push((doc.to_string(), ByteBuf::from(json)));
    }
    let actor = automerge::ActorId::from(&[1u8; 16][..]);
    let team_doc = team_doc::create_team(&team, actor, now)
        .map_err(|e| Error::new("document", None, e.to_string()))?
        .save();
    js::encode(&Book {
        team: team.id.to_string(),
        member: member.to_owned(),
        team_doc: ByteBuf::from(team_doc),
        summaries,
    })
}

/// The call queue computed in the core (tiers included) without converting it to JS: the
/// number of items. Separates the core's time from serde-wasm-bindgen's in the benchmark.
#[wasm_bindgen(js_name = benchQueueCore)]
pub fn bench_queue_core(replica: &crate::Replica, now: f64) -> Result<usize, JsValue> {
    let now = crate::time(now, "now").map_err(Error::into_js)?;
    Ok(replica.inner.queue(now).map_or(0, |q| q.items.len()))
}

/// The call queue converted through JSON (serde_json in Rust, `JSON.parse` in JS) instead of
/// serde-wasm-bindgen: the same JS value, for comparing the two conversions.
#[wasm_bindgen(js_name = benchQueueJson)]
pub fn bench_queue_json(replica: &crate::Replica, now: f64) -> Result<JsValue, JsValue> {
    let now = crate::time(now, "now").map_err(Error::into_js)?;
    let json = serde_json::to_string(&replica.inner.queue(now)).expect("a queue serialises");
    js_sys::JSON::parse(&json)
}
