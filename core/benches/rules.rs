//! Benchmark of the rules over a generated book: 10,000 leads with 20 events each (set
//! `FIELDBOOK_BENCH_LEADS` for another size). Prints median figures; asserts nothing about
//! time (machines here are shared and noisy). Run: `cargo bench -p fieldbook-core --bench rules`.

use chrono::{DateTime, Duration, Utc};
use fieldbook_core::analytics::refusals::refusal_reports;
use fieldbook_core::calendar::{WeekdaySet, WorkingWeek};
use fieldbook_core::dayplan::day_plan;
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{EventId, LeadId, MemberId, ProductId, TeamId};
use fieldbook_core::lead::{
    AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event, EventKind, Lead,
    NextStepKind, ReviewDecision,
};
use fieldbook_core::money::Money;
use fieldbook_core::playbook::Playbook;
use fieldbook_core::queue::call_queue;
use fieldbook_core::review::review_inbox;
use fieldbook_core::state::derive;
use fieldbook_core::team::{Member, Role, Team};
use fieldbook_core::tiers::{TierMap, tier_report};
use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

const REPS: usize = 10;
const EVENTS_PER_LEAD: usize = 20;

/// A small deterministic generator (xorshift): the bench data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn team() -> Team {
    let mut members = vec![Member {
        id: "mgr".into(),
        name: "Maya".to_owned(),
        role: Role::Manager,
        manager: None,
        time_zone: chrono_tz::Asia::Jerusalem,
        working_week: None,
        locale: "he-IL".to_owned(),
    }];
    for r in 0..REPS {
        members.push(Member {
            id: MemberId(format!("rep{r}")),
            name: format!("Rep {r}"),
            role: Role::Rep,
            manager: Some("mgr".into()),
            time_zone: chrono_tz::Asia::Jerusalem,
            working_week: Some(WorkingWeek {
                days: WeekdaySet::SUN_THU,
                ..WorkingWeek::default()
            }),
            locale: "he-IL".to_owned(),
        });
    }
    Team {
        id: TeamId::from("bench"),
        name: "Bench".to_owned(),
        members,
        products: Vec::new(),
        playbook: Playbook::israeli(),
    }
}

/// One lead with exactly `EVENTS_PER_LEAD` events: attempts, conversations with next steps, a
/// quote, and for some a refusal (+ review) or a win followed by orders. Decisions and
/// conversations carry `after` as the commands write it (R14), recorded on one device, so the
/// fold runs the conflict detection without finding any.
fn lead(rng: &mut Rng, i: usize, now: DateTime<Utc>) -> Lead {
    let owner = MemberId(format!("rep{}", i % REPS));
    let created = now - Duration::minutes(rng.below(400 * 24 * 60) as i64);
    let products = ["crm", "erp", "pos", "bi"];
    let product = ProductId::from(products[rng.below(4) as usize]);
    let ils = |minor: i64| Money::new(minor, "ILS");
    let mut events = Vec::with_capacity(EVENTS_PER_LEAD);
    let mut at = created;
    // The head of the outcome and next-step topics, as the commands fill `after`.
    let mut heads: [Option<EventId>; 2] = [None, None];
    let push = |events: &mut Vec<Event>,
                heads: &mut [Option<EventId>; 2],
                at: DateTime<Utc>,
                by: &MemberId,
                kind: EventKind| {
        let n = events.len();
        let id = EventId(format!("L{i}-{n:02}"));
        let topic = match &kind {
            EventKind::Created => {
                *heads = [Some(id.clone()), Some(id.clone())];
                None
            }
            EventKind::Won { .. }
            | EventKind::Refusal { .. }
            | EventKind::ReviewDecision { .. } => Some(0),
            EventKind::NextStep { .. } => Some(1),
            _ => None,
        };
        let after = match (&kind, topic) {
            (EventKind::Conversation { .. }, _) => heads[1].clone(),
            (_, Some(t)) => heads[t].replace(id.clone()),
            _ => None,
        };
        events.push(Event {
            id,
            at,
            by: by.clone(),
            after,
            kind,
        });
    };
    push(&mut events, &mut heads, at, &owner, EventKind::Created);
    let fate = rng.below(10); // 0-1 refused, 2-4 won, rest open
    let n_failed = rng.below(7);
    while events.len() < EVENTS_PER_LEAD {
        at += Duration::minutes(30 + rng.below(3 * 24 * 60) as i64);
        let left = EVENTS_PER_LEAD - events.len();
        let step = events.len() as u64;
        if step <= n_failed {
            let outcome = if rng.below(4) == 0 {
                AttemptOutcome::Voicemail
            } else {
                AttemptOutcome::NoAnswer
            };
            let kind = EventKind::Attempt {
                channel: Channel::Call,
                outcome,
            };
            push(&mut events, &mut heads, at, &owner, kind);
        } else if fate < 2 && left <= 2 {
            let refusal = EventKind::Refusal {
                reason: ["price", "budget", "competitor", "timing"][rng.below(4) as usize]
                    .to_owned(),
                products: vec![product.clone()],
                budget: Some(ils(rng.below(5_000_000) as i64)),
                competitor: None,
                note: String::new(),
            };
            push(&mut events, &mut heads, at, &owner, refusal);
            if left == 2 {
                let decision = if rng.below(2) == 0 {
                    ReviewDecision::RefusalValidated
                } else {
                    ReviewDecision::ReturnToFunnel {
                        offer_change: fieldbook_core::lead::OfferChange::Discount,
                    }
                };
                let review = EventKind::ReviewDecision {
                    decision,
                    note: String::new(),
                };
                push(
                    &mut events,
                    &mut heads,
                    at + Duration::hours(2),
                    &"mgr".into(),
                    review,
                );
            }
        } else if (2..5).contains(&fate) && left <= 6 {
            let kind = if left == 6 {
                EventKind::Won {
                    amount: ils(1_000_000),
                    products: vec![product.clone()],
                }
            } else {
                EventKind::Order {
                    amount: ils(rng.below(2_000_000) as i64 + 10_000),
                    gross_profit: None,
                    products: vec![product.clone()],
                }
            };
            push(&mut events, &mut heads, at, &owner, kind);
        } else if left >= 2 && rng.below(3) != 0 {
            let talk = EventKind::Conversation {
                kind: ConversationKind::Call,
                notes: "talked about the offer".to_owned(),
                needs: String::new(),
                ended: ConversationEnd::NextStep,
            };
            push(&mut events, &mut heads, at, &owner, talk);
            let step = EventKind::NextStep {
                kind: NextStepKind::Call,
                due: at + Duration::days(rng.below(10) as i64 + 1),
                agreed: true,
                duration_minutes: None,
                note: String::new(),
            };
            push(&mut events, &mut heads, at, &owner, step);
        } else if rng.below(2) == 0 {
            let quote = EventKind::QuoteSent {
                amount: ils(rng.below(5_000_000) as i64),
                products: vec![product.clone()],
            };
            push(&mut events, &mut heads, at, &owner, quote);
        } else {
            let kind = EventKind::Attempt {
                channel: Channel::Call,
                outcome: AttemptOutcome::Reached,
            };
            push(&mut events, &mut heads, at, &owner, kind);
        }
    }
    events.truncate(EVENTS_PER_LEAD);
    Lead {
        id: LeadId(format!("L{i:05}")),
        company: format!("Company {i}"),
        contact: "Noa".to_owned(),
        phone: String::new(),
        email: String::new(),
        address: String::new(),
        source: "web".to_owned(),
        products: vec![product],
        deal_size: Some(ils(rng.below(10_000_000) as i64)),
        owner,
        created_at: created,
        do_not_contact: rng.below(50) == 0,
        account: Default::default(),
        custom: Default::default(),
        events,
    }
}

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
