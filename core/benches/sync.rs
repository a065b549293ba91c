//! Documents and sync figures for a 10,000-lead book of 20 events per lead (`cargo bench -p
//! fieldbook-core --bench sync`). Everything runs in one process over the simulated network of
//! `tests/common` (the core's device replica and the core's relay protocol; no sockets), so
//! times are the CPU cost of both sides, without network latency.
//!
//! `BOOK=2000 cargo bench -p fieldbook-core --bench sync` runs a smaller book.

mod book;
#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::{Device, Net};
use fieldbook_core::doc::{self, DocumentId, lead as lead_doc};
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{LeadId, MemberId};
use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::{LeadCommand, Replica};
use fieldbook_core::tiers::TierMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const DIRTY: usize = 70;

fn doc_id(i: usize) -> DocumentId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xb0;
    bytes[8..].copy_from_slice(&(i as u64).to_be_bytes());
    DocumentId::from_bytes(bytes)
}

/// A relay holding `n` leads of rep0, each document written as one change per event (as a
/// device records them), and the book's `now`.
fn book_on_relay(n: usize) -> (Net, Vec<DocumentId>, DateTime<Utc>) {
    let team = book::team();
    let mut net = Net::new(&team);
    let now: DateTime<Utc> = "2025-06-09T07:30:00Z".parse().unwrap();
    net.now = now;
    let mut rng = book::Rng(0x2545_f491_4f6c_dd1d);
    let rep0 = MemberId::from("rep0");
    let actor = automerge::ActorId::from(&[0x5e; 16][..]);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = doc_id(i);
        let mut lead = book::lead(&mut rng, i, now);
        lead.id = LeadId(id.to_string());
        lead.owner = rep0.clone();
        for event in &mut lead.events {
            if event.by.as_str() != "mgr" {
                event.by = rep0.clone();
            }
        }
        let events = std::mem::take(&mut lead.events);
        lead.events = events[..1].to_vec();
        let mut d = lead_doc::create_lead(&lead, actor.clone(), now).unwrap();
        for event in &events[1..] {
            let mut tx = d.transaction();
            lead_doc::append_events(&mut tx, std::slice::from_ref(event)).unwrap();
            tx.commit_with(doc::commit_options(event.at));
        }
        net.relay.insert(id, d, now);
        ids.push(id);
    }
    (net, ids, now)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Offline changes: `device` logs an attempt on each of `ids`.
fn touch(net: &mut Net, device: usize, ids: &[DocumentId]) {
    for &id in ids {
        let now = net.now;
        let mut frames = Vec::new();
        net.devices[device].ensure_loaded(&id, now, &mut frames);
        let command = LeadCommand::LogAttempt {
            channel: Channel::Call,
            outcome: AttemptOutcome::NoAnswer,
        };
        let effects = net.devices[device].command(id, command, now).unwrap();
        net.device_effects(device, effects);
        net.devices[device].replica.evict(&id);
        net.tick();
    }
}

struct Round {
    messages: usize,
    bytes: usize,
    time: Duration,
    loaded: usize,
}

/// Reconnects `device` (after a restart from storage) and runs the network until quiet;
/// `everything` also syncs every document (the naive way).
fn reconnect(net: &mut Net, device: usize, everything: bool) -> Round {
    net.devices[device].restart();
    let start = Instant::now();
    net.connect(device);
    if everything {
        let now = net.now;
        let effects = net.devices[device].replica.sync_all(now).unwrap();
        net.device_effects(device, effects);
    }
    net.settle();
    let time = start.elapsed();
    let conn = net.devices[device].conn.unwrap();
    let traffic = net.traffic_by_conn[&conn];
    Round {
        messages: traffic.messages(),
        bytes: traffic.bytes,
        time,
        loaded: net.devices[device].replica.loaded_count(),
    }
}

fn divergence(net: &mut Net, rep: usize, mgr: usize, ids: &[DocumentId], from: usize) {
    // The rep works offline on half of the dirty documents; the manager, online, on the rest.
    net.disconnect(rep);
    touch(net, rep, &ids[from..from + DIRTY / 2]);
    touch(net, mgr, &ids[from + DIRTY / 2..from + DIRTY]);
    net.settle();
    net.disconnect(rep);
}

fn run(n: usize, full: bool) {
    println!(
        "\n## book of {n} leads x {} events (owner rep0)",
        book::EVENTS_PER_LEAD
    );
    let start = Instant::now();
    let (mut net, ids, _) = book_on_relay(n);
    println!("build the book on the relay: {:.0} ms", ms(start.elapsed()));

    let rep = net.add_device("phone", "rep0");
    let mgr = net.add_device("laptop", "mgr");
    let start = Instant::now();
    net.connect(rep);
    net.settle();
    let pull = start.elapsed();
    let conn = net.devices[rep].conn.unwrap();
    let traffic = net.traffic_by_conn[&conn];
    println!(
        "fresh device pulls the book: {:.0} ms, {} messages, {:.1} MB on the wire, {:.1} MB stored",
        ms(pull),
        traffic.messages(),
        traffic.bytes as f64 / 1e6,
        net.devices[rep].host.stored_bytes() as f64 / 1e6
    );
    assert_eq!(net.devices[rep].replica.lead_docs().count(), n);
    net.connect(mgr);
    net.settle();

    if full {
        // Cold start: summaries (as the host reads them) + team document -> first call queue.
        let device: &Device = &net.devices[rep];
        let team = device.host.load(&device.replica.team_doc_id()).unwrap();
        let summaries: Vec<_> = device.host.summaries.clone().into_iter().collect();
        let states: Vec<_> = device.host.sync_states.clone().into_iter().collect();
        let summary_bytes: usize = summaries.iter().map(|(_, b)| b.len()).sum();
        let mut times = Vec::new();
        let mut items = 0;
        for _ in 0..7 {
            let start = Instant::now();
            let (replica, effects) = Replica::open(
                device.config.clone(),
                Some(&team),
                true,
                &summaries,
                &states,
            )
            .unwrap();
            let queue = replica.call_queue(net.now, &TierMap::new()).unwrap();
            times.push(start.elapsed());
            assert!(effects.need_load.is_empty());
            items = queue.items.len();
            black_box(queue);
        }
        println!(
            "cold start from summaries to the first call queue: {:.1} ms median of 7 ({} summaries, {:.1} MB; {} queue items)",
            ms(median(times)),
            summaries.len(),
            summary_bytes as f64 / 1e6,
            items
        );

        // Full load: every document parsed and folded.
        let start = Instant::now();
        let actor = automerge::ActorId::from(&[1u8; 16][..]);
        let mut folded = 0;
        for id in &ids {
            let bytes = device.host.load(id).unwrap();
            let d = doc::load(&bytes, actor.clone()).unwrap();
            let read = lead_doc::read_lead(&d).unwrap();
            black_box(LeadFacts::from_lead(&book::team().playbook, &read.lead));
            folded += 1;
        }
        let doc_bytes: usize = ids
            .iter()
            .map(|id| device.host.load(id).unwrap().len())
            .sum();
        println!(
            "full load of all documents (load + read + fold): {:.0} ms for {folded} ({:.0} bytes per stored lead on average)",
            ms(start.elapsed()),
            doc_bytes as f64 / n as f64
        );
    }

    // Reconnect after offline divergence: the index way.
    divergence(&mut net, rep, mgr, &ids, 0);
    let smart = reconnect(&mut net, rep, false);
    println!(
        "reconnect with {DIRTY} dirty documents: {} messages ({:.2} per dirty document), {:.0} KB, {:.0} ms, {} documents loaded",
        smart.messages,
        smart.messages as f64 / DIRTY as f64,
        smart.bytes as f64 / 1e3,
        ms(smart.time),
        smart.loaded
    );
    // The same divergence on other documents, reconnecting the naive way.
    divergence(&mut net, rep, mgr, &ids, DIRTY);
    let naive = reconnect(&mut net, rep, true);
    println!(
        "naive reconnect (sync every document) with {DIRTY} dirty: {} messages, {:.0} KB, {:.0} ms, {} documents loaded",
        naive.messages,
        naive.bytes as f64 / 1e3,
        ms(naive.time),
        naive.loaded
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes bench binaries
    }
    let n: usize = std::env::var("BOOK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    run(1_000, false);
    run(n, true);
}
