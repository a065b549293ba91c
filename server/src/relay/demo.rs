//! `fieldbook demo`: a demo team (the members, products and playbook of
//! `docs/examples/team.json`: manager Dana, reps Yossi and Ioana, plus an admin) and a few
//! hundred generated leads in every stage of the pipeline (new, no answer, talking with a next
//! step, quoted, won with orders, refused and reviewed). Deterministic for a given team id and
//! count; each lead is a lead document whose lead id is its document id string.

use super::admin::{self, AdminError};
use super::store::RelayStore;
use chrono::{DateTime, Duration, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{EventId, LeadId, MemberId, ProductId, TeamId};
use fieldbook_core::lead::{
    AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event, EventKind, Lead,
    NextStepKind, ReviewDecision,
};
use fieldbook_core::money::Money;
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::{Member, Role};

const EXAMPLE: &str = include_str!("../../../docs/examples/team.json");

/// The demo team as created.
#[derive(Debug)]
pub struct Demo {
    /// Team id.
    pub team: TeamId,
    /// Members (admin, manager, reps).
    pub members: Vec<Member>,
    /// Lead documents created.
    pub leads: Vec<DocumentId>,
}

/// A small deterministic generator (xorshift).
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

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const BUSINESSES: &[&str] = &[
    "Dairy Farm",
    "Print House",
    "Dental Clinic",
    "Logistics Ltd",
    "Winery",
    "Hotel",
    "Bakery",
    "Car Service",
    "Cold Storage",
    "Carpentry",
    "Kibbutz Factory",
    "School",
    "Supermarket",
    "Greenhouses",
    "Textile Works",
    "Plastics",
];
const PLACES_IL: &[&str] = &[
    "Galil", "Negev", "Herzliya", "Haifa", "Modiin", "Arava", "Golan", "Ashdod", "Rehovot",
    "Eilat", "Netanya", "Kinneret",
];
const PLACES_RO: &[&str] = &[
    "Brașov",
    "Cluj",
    "Sibiu",
    "Iași",
    "Timișoara",
    "Constanța",
    "Oradea",
    "Arad",
];
const FIRST_IL: &[&str] = &[
    "Avi", "Noa", "Moshe", "Tamar", "Yael", "Eitan", "Shira", "Omer", "Rina", "Gil",
];
const LAST_IL: &[&str] = &[
    "Mizrahi",
    "Friedman",
    "Peretz",
    "Levi",
    "Azulay",
    "Katz",
    "Ben-David",
    "Shapiro",
];
const FIRST_RO: &[&str] = &["Mihai", "Ana", "Radu", "Elena", "Andrei", "Ioana", "Vlad"];
const LAST_RO: &[&str] = &["Ionescu", "Popa", "Dumitru", "Stan", "Georgescu", "Marin"];
const SOURCES: &[&str] = &["web form", "referral", "trade fair", "cold call", "partner"];
const PRODUCTS: &[&str] = &["p-solar", "p-battery", "p-service"];

/// The example's members and playbook, with an admin added.
fn example_members() -> (Vec<Member>, Vec<fieldbook_core::team::Product>, Playbook) {
    let input: serde_json::Value = serde_json::from_str(EXAMPLE).expect("the example is JSON");
    let mut members: Vec<Member> =
        serde_json::from_value(input["members"].clone()).expect("the example's members");
    members.insert(
        0,
        Member {
            id: "a-admin".into(),
            name: "Admin".into(),
            role: Role::Admin,
            manager: None,
            time_zone: chrono_tz::Asia::Jerusalem,
            working_week: None,
            locale: "en-US".into(),
        },
    );
    let products = serde_json::from_value(input["products"].clone()).expect("products");
    let playbook = serde_json::from_value(input["playbook"].clone()).expect("playbook");
    (members, products, playbook)
}

/// The document id of demo lead `i` of `team` (stable, so that a demo is the same every time).
pub fn demo_lead_id(team: &TeamId, i: usize) -> DocumentId {
    DocumentId::stable_lead(&format!("demo/{team}/{i}"))
}

/// Generates lead `i`, owned by one of `reps`, as of `now`.
fn lead(rng: &mut Rng, team: &TeamId, i: usize, reps: &[&Member], now: DateTime<Utc>) -> Lead {
    let owner = reps[i % reps.len()];
    let romanian = owner.time_zone == chrono_tz::Europe::Bucharest;
    let (places, first, last, currency, phone) = if romanian {
        (PLACES_RO, FIRST_RO, LAST_RO, "RON", "+40-72")
    } else {
        (PLACES_IL, FIRST_IL, LAST_IL, "ILS", "+972-5")
    };
    let id = demo_lead_id(team, i);
    let company = format!("{} {}", rng.pick(places), rng.pick(BUSINESSES));
    let contact = format!("{} {}", rng.pick(first), rng.pick(last));
    let product = ProductId::from(rng.pick(PRODUCTS));
    let money = |minor: u64| Money::new(minor as i64, currency);
    let deal = money((rng.below(400) + 20) * 100_000);
    let created = now - Duration::minutes(rng.below(120 * 24 * 60) as i64 + 5);
    let by: MemberId = owner.id.clone();
    let mut events = Vec::new();
    let mut at = created;
    let mut push = |at: DateTime<Utc>, by: &MemberId, kind: EventKind| {
        let n = events.len();
        events.push(Event {
            id: EventId(format!("{id}-{n}")),
            at,
            by: by.clone(),
            after: None,
            kind,
        });
    };
    push(at, &by, EventKind::Created);
    // 0 new, 1 no answer, 2-4 talking, 5 quoted, 6 won, 7 refused.
    let stage = rng.below(8);
    let later = |at: &mut DateTime<Utc>, rng: &mut Rng| {
        let step = Duration::minutes(rng.below(36 * 60) as i64 + 10);
        *at = (*at + step).min(now - Duration::minutes(1));
    };
    if stage >= 1 {
        for _ in 0..=rng.below(3) {
            later(&mut at, rng);
            let outcome = if rng.below(3) == 0 {
                AttemptOutcome::Voicemail
            } else {
                AttemptOutcome::NoAnswer
            };
            let channel = Channel::Call;
            push(at, &by, EventKind::Attempt { channel, outcome });
        }
    }
    if stage >= 2 {
        later(&mut at, rng);
        let (ended, kind) = match stage {
            6 => (ConversationEnd::FinalYes, ConversationKind::Meeting),
            7 => (ConversationEnd::FinalNo, ConversationKind::Call),
            _ => (ConversationEnd::NextStep, ConversationKind::Call),
        };
        let talk = EventKind::Conversation {
            kind,
            notes: "Roof survey discussed; wants numbers for the summer".into(),
            needs: "lower electricity bills".into(),
            ended,
        };
        push(at, &by, talk);
        if ended == ConversationEnd::NextStep {
            let step = EventKind::NextStep {
                kind: [NextStepKind::Call, NextStepKind::Visit, NextStepKind::Demo]
                    [rng.below(3) as usize],
                due: now + Duration::hours(rng.below(10 * 24) as i64 + 1),
                agreed: true,
                duration_minutes: Some(30),
                note: String::new(),
            };
            push(at, &by, step);
        }
    }
    if stage == 5 {
        later(&mut at, rng);
        let quote = EventKind::QuoteSent {
            amount: deal.clone(),
            products: vec![product.clone()],
        };
        push(at, &by, quote);
    }
    if stage == 6 {
        push(
            at,
            &by,
            EventKind::Won {
                amount: deal.clone(),
                products: vec![product.clone()],
            },
        );
        later(&mut at, rng);
        let order = EventKind::Order {
            amount: deal.clone(),
            gross_profit: Some(money(deal.minor as u64 / 4)),
            products: vec![product.clone()],
        };
        push(at, &by, order);
    }
    if stage == 7 {
        let reason = ["price", "budget", "competitor", "timing"][rng.below(4) as usize];
        let refusal = EventKind::Refusal {
            reason: reason.into(),
            products: vec![product.clone()],
            budget: Some(money(deal.minor as u64 / 2)),
            competitor: None,
            note: String::new(),
        };
        push(at, &by, refusal);
        if rng.below(2) == 0
            && let Some(manager) = &owner.manager
        {
            later(&mut at, rng);
            let review = EventKind::ReviewDecision {
                decision: ReviewDecision::RefusalValidated,
                note: String::new(),
            };
            push(at, manager, review);
        }
    }
    Lead {
        id: LeadId(id.to_string()),
        company,
        contact,
        phone: format!("{phone}{:01}-555-{:04}", rng.below(10), rng.below(10_000)),
        email: String::new(),
        address: String::new(),
        source: rng.pick(SOURCES).into(),
        products: vec![product],
        deal_size: Some(deal),
        owner: owner.id.clone(),
        created_at: created,
        do_not_contact: false,
        account: Default::default(),
        custom: Default::default(),
        events,
    }
}

/// Creates the demo team `team` with `n_leads` leads as of `now`.
pub fn create_demo(
    store: &mut dyn RelayStore,
    team: &TeamId,
    n_leads: usize,
    now: DateTime<Utc>,
) -> Result<Demo, AdminError> {
    let (members, products, playbook) = example_members();
    admin::create_team(store, team, "Sunrise Solar (demo)", playbook, now)?;
    admin::edit_team(store, team, now, |tx| {
        for product in &products {
            fieldbook_core::doc::team::put_product(tx, product)?;
        }
        Ok(())
    })?;
    for member in &members {
        admin::add_member(store, team, member, now)?;
    }
    let reps: Vec<&Member> = members.iter().filter(|m| m.role == Role::Rep).collect();
    let mut rng = Rng(0x5eed_f1e1_d000_0001 ^ team.as_str().len() as u64);
    let leads: Vec<Lead> = (0..n_leads)
        .map(|i| lead(&mut rng, team, i, &reps, now))
        .collect();
    let ids = admin::import_leads(store, team, &leads, now)?;
    Ok(Demo {
        team: team.clone(),
        members,
        leads: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::super::store::SqliteStore;
    use super::*;
    use fieldbook_core::doc::lead::read_lead;
    use fieldbook_core::facts::LeadFacts;
    use std::collections::BTreeMap;

    #[test]
    fn the_demo_leads_read_back_and_cover_the_pipeline() {
        let mut store = SqliteStore::in_memory().unwrap();
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let team = TeamId::from("demo");
        let demo = create_demo(&mut store, &team, 120, now).unwrap();
        assert_eq!(demo.leads.len(), 120);
        let loaded = admin::load_team(&mut store, &team, admin::random_actor()).unwrap();
        assert_eq!(loaded.team.members.len(), 4);
        assert_eq!(loaded.team.products.len(), 3);
        let mut owners = BTreeMap::new();
        let mut statuses = BTreeMap::new();
        for id in &demo.leads {
            let bytes = store.load(id).unwrap().unwrap();
            let doc = fieldbook_core::doc::load(&bytes, admin::random_actor()).unwrap();
            let read = read_lead(&doc).unwrap();
            assert!(read.undecodable.is_empty(), "{id}: {:?}", read.undecodable);
            assert_eq!(read.lead.id.as_str(), id.to_string());
            let facts = LeadFacts::from_lead(&loaded.team.playbook, &read.lead);
            let state = fieldbook_core::state::derive(&loaded.team, &facts, now);
            *owners.entry(facts.owner.to_string()).or_insert(0) += 1;
            *statuses.entry(state.status.clone()).or_insert(0) += 1;
            let record = store.record(id).unwrap().unwrap();
            assert_eq!(record.member, Some(facts.owner.clone()));
        }
        assert_eq!(owners.len(), 2, "{owners:?}");
        assert!(
            statuses.len() >= 5,
            "every stage is represented: {statuses:?}"
        );
    }
}
