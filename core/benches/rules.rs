//! Benchmark of the rules over a generated book: 10,000 leads with 20 events each (set
//! `FIELDBOOK_BENCH_LEADS` for another size). Prints median figures; asserts nothing about
//! time (machines here are shared and noisy). Run: `cargo bench -p fieldbook-core --bench rules`.

mod book;

use book::{REPS, Rng, lead, team};
use chrono::{DateTime, Utc};
use fieldbook_core::analytics::refusals::refusal_reports;
use fieldbook_core::dayplan::day_plan;
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::MemberId;
use fieldbook_core::lead::Lead;
use fieldbook_core::queue::call_queue;
use fieldbook_core::review::review_inbox;
use fieldbook_core::state::derive;
use fieldbook_core::tiers::{TierMap, tier_report};
use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

/// Median and minimum of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (StdDuration, StdDuration) {
    let mut samples: Vec<StdDuration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[samples.len() / 2], samples[0])
}

fn report(name: &str, runs: usize, (median, min): (StdDuration, StdDuration)) {
    println!(
        "{name:<58} median {:>10.3} ms   min {:>10.3} ms   ({runs} runs)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3
    );
}

fn main() {
    let n: usize = std::env::var("FIELDBOOK_BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let now: DateTime<Utc> = "2026-11-22T08:30:00Z".parse().expect("valid time");
    let team = team();
    let mut rng = Rng(0x5eed_f1e1_db00_c0de);
    let leads: Vec<Lead> = (0..n).map(|i| lead(&mut rng, i, now)).collect();
    let n_events: usize = leads.iter().map(|l| l.events.len()).sum();
    println!(
        "fieldbook-core rules benchmark: {n} leads, {n_events} events, {REPS} reps, now {now}"
    );

    let facts: Vec<LeadFacts> = leads
        .iter()
        .map(|l| LeadFacts::from_lead(&team.playbook, l))
        .collect();
    let rep: MemberId = "rep3".into();
    let tiers = TierMap::new();
    // The same book owned by one rep: the queue's worst case.
    let solo: Vec<LeadFacts> = facts
        .iter()
        .cloned()
        .map(|mut f| {
            f.owner = rep.clone();
            f
        })
        .collect();

    report(
        "summaries: fold events into LeadFacts, all leads",
        20,
        time(20, || {
            leads
                .iter()
                .map(|l| LeadFacts::from_lead(&team.playbook, l))
                .collect::<Vec<_>>()
        }),
    );
    report(
        "derived state (status, flags, tasks), all leads",
        20,
        time(20, || {
            facts
                .iter()
                .map(|f| derive(&team, f, now))
                .collect::<Vec<_>>()
        }),
    );
    let q = call_queue(&team, &rep, &facts, &tiers, now);
    report(
        &format!("call queue, one rep of {REPS} ({} items)", q.items.len()),
        200,
        time(200, || call_queue(&team, &rep, &facts, &tiers, now)),
    );
    let q = call_queue(&team, &rep, &solo, &tiers, now);
    report(
        &format!(
            "call queue, one rep owning every lead ({} items)",
            q.items.len()
        ),
        200,
        time(200, || call_queue(&team, &rep, &solo, &tiers, now)),
    );
    report(
        "refusal report R8: day, week, month, cumulative",
        20,
        time(20, || refusal_reports(&team, &facts, &"mgr".into(), now)),
    );
    report(
        "customer tiers R10 (score, ABC, Pareto)",
        20,
        time(20, || tier_report(&team, &facts, now)),
    );
    let today = now.with_timezone(&chrono_tz::Asia::Jerusalem).date_naive();
    report(
        "day plan R11, one rep",
        200,
        time(200, || day_plan(&team, &rep, &facts, today, now)),
    );
    report(
        "manager inbox R7 (reviews, stale leads)",
        200,
        time(200, || review_inbox(&team, &"mgr".into(), &facts, now)),
    );
    report(
        "all together: summaries + derived state + queue + R8",
        10,
        time(10, || {
            let facts: Vec<LeadFacts> = leads
                .iter()
                .map(|l| LeadFacts::from_lead(&team.playbook, l))
                .collect();
            let states: Vec<_> = facts.iter().map(|f| derive(&team, f, now)).collect();
            let queue = call_queue(&team, &rep, &facts, &tiers, now);
            let refusals = refusal_reports(&team, &facts, &"mgr".into(), now);
            (states, queue, refusals)
        }),
    );
    // Two currencies: every other lead's amounts in RON, converted with 24 monthly rates (the
    // scan of the playbook's rates on every conversion).
    let mut mixed_team = team.clone();
    mixed_team.playbook.exchange_rates = (0..24)
        .map(|m| {
            let date = now.date_naive() - chrono::Months::new(m);
            fieldbook_core::money::ExchangeRate {
                currency: "RON".to_owned(),
                date,
                rate: format!("0.7{m:02}").parse().expect("a rate"),
            }
        })
        .collect();
    let ron = |m: &mut fieldbook_core::money::Money| m.currency = "RON".to_owned();
    let mixed: Vec<LeadFacts> = facts
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, mut f)| {
            if i % 2 == 0 {
                f.deal_size.as_mut().map(ron);
                f.orders.iter_mut().for_each(|o| ron(&mut o.amount));
                f.refusals.iter_mut().for_each(|r| {
                    r.budget.as_mut().map(ron);
                });
            }
            f
        })
        .collect();
    report(
        "two currencies, 24 rates: derived state, all leads",
        20,
        time(20, || {
            mixed
                .iter()
                .map(|f| derive(&mixed_team, f, now))
                .collect::<Vec<_>>()
        }),
    );
    report(
        "two currencies, 24 rates: call queue, one rep of 10",
        200,
        time(200, || call_queue(&mixed_team, &rep, &mixed, &tiers, now)),
    );
    report(
        "two currencies, 24 rates: customer tiers R10",
        20,
        time(20, || tier_report(&mixed_team, &mixed, now)),
    );
    report(
        "two currencies, 24 rates: refusal report R8",
        20,
        time(20, || {
            refusal_reports(&mixed_team, &mixed, &"mgr".into(), now)
        }),
    );

    let mut statuses = std::collections::BTreeMap::new();
    for f in &facts {
        *statuses
            .entry(derive(&team, f, now).status)
            .or_insert(0usize) += 1;
    }
    println!("book by status: {statuses:?}");
    let n_conflicted = facts.iter().filter(|f| !f.conflicts.is_empty()).count();
    let n_after = leads
        .iter()
        .flat_map(|l| &l.events)
        .filter(|e| e.after.is_some())
        .count();
    println!("events with `after`: {n_after}; leads with an open conflict: {n_conflicted}");
}
