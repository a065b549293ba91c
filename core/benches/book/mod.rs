//! The benchmark book: a team of a manager and 10 reps and generated leads of exactly
//! `EVENTS_PER_LEAD` events each (attempts, conversations with next steps, quotes, refusals
//! with reviews, wins with orders). Deterministic: the same data on every run.

#![allow(dead_code)] // each benchmark uses part of it

use chrono::{DateTime, Duration, Utc};
use fieldbook_core::calendar::{WeekdaySet, WorkingWeek};
use fieldbook_core::ids::{EventId, LeadId, MemberId, ProductId, TeamId};
use fieldbook_core::lead::{
    AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event, EventKind, Lead,
    NextStepKind, ReviewDecision,
};
use fieldbook_core::money::Money;
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::{Member, Role, Team};

pub const REPS: usize = 10;
pub const EVENTS_PER_LEAD: usize = 20;

/// A small deterministic generator (xorshift): the bench data is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn team() -> Team {
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
pub fn lead(rng: &mut Rng, i: usize, now: DateTime<Utc>) -> Lead {
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
