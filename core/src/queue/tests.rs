//! Tests of the daily call queue (R6): tier order, order inside each tier, exclusions, and the
//! rep's own day in their time zone.

use super::*;
use crate::facts::LeadFacts;
use crate::lead::{AttemptOutcome, Lead};
use crate::testing::{LeadBuilder, t, team};
use expect_test::{Expect, expect};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn queue(rep: &str, leads: &[Lead], tiers: &TierMap, now: &str) -> CallQueue {
    let team = team();
    let facts: Vec<LeadFacts> = leads
        .iter()
        .map(|l| LeadFacts::from_lead(&team.playbook, l))
        .collect();
    call_queue(&team, &MemberId::from(rep), &facts, tiers, t(now))
}

fn check(rep: &str, leads: &[Lead], tiers: &TierMap, now: &str, expect: Expect) {
    let q = queue(rep, leads, tiers, now);
    let mut out = format!("{} {}\n", q.rep, q.date);
    for item in &q.items {
        out.push_str(&format!(
            "{}. {} {:?}: {}\n",
            item.position,
            item.lead,
            item.tier,
            q.reason_text(item)
        ));
    }
    expect.assert_eq(&out);
}

/// Ion works in Bucharest (UTC+2 in November), Monday–Friday. "Now" is Wednesday
/// 2026-11-25 10:00 local.
const NOW: &str = "2026-11-25T08:00:00Z";

fn ion_book() -> Vec<Lead> {
    vec![
        // Tier 1: new leads, oldest first.
        LeadBuilder::new("new-late", "ion", "2026-11-25T07:50:00Z").build(),
        LeadBuilder::new("new-early", "ion", "2026-11-24T15:00:00Z").build(),
        // Tier 2: due today or overdue; larger deal first, then earlier due.
        LeadBuilder::new("step-small", "ion", "2026-11-10T07:00:00Z")
            .deal(100_000)
            .call_then("2026-11-10T08:00:00Z", "2026-11-25T07:00:00Z")
            .build(),
        LeadBuilder::new("step-big-later", "ion", "2026-11-10T07:00:00Z")
            .deal(5_000_000)
            .call_then("2026-11-10T08:00:00Z", "2026-11-25T15:00:00Z")
            .build(),
        LeadBuilder::new("step-big-overdue", "ion", "2026-11-10T07:00:00Z")
            .deal(5_000_000)
            .call_then("2026-11-10T08:00:00Z", "2026-11-23T09:00:00Z")
            .build(),
        // Not yet: due tomorrow local (00:30 on the 26th in Bucharest is 22:30Z on the 25th).
        LeadBuilder::new("step-tomorrow", "ion", "2026-11-10T07:00:00Z")
            .deal(9_000_000)
            .call_then("2026-11-10T08:00:00Z", "2026-11-25T22:30:00Z")
            .build(),
        // Tier 3: no answer, last attempt yesterday or earlier, attempts left.
        LeadBuilder::new("retry-older", "ion", "2026-11-19T07:00:00Z")
            .no_answer("2026-11-20T08:00:00Z")
            .build(),
        LeadBuilder::new("retry-yesterday", "ion", "2026-11-23T07:00:00Z")
            .no_answer("2026-11-24T08:00:00Z")
            .build(),
        // Not today: last attempt today; cadence used up.
        LeadBuilder::new("retry-today", "ion", "2026-11-24T07:00:00Z")
            .no_answer("2026-11-25T07:30:00Z")
            .build(),
        {
            let mut b = LeadBuilder::new("retry-done", "ion", "2026-11-10T07:00:00Z");
            for day in 16..=21 {
                b = b.no_answer(&format!("2026-11-{day}T08:00:00Z"));
            }
            b.build()
        },
        // Tier 4: nurture due (refused 90+ days ago, reviewed), and a tier-A customer visit.
        LeadBuilder::new("nurture", "ion", "2026-08-01T07:00:00Z")
            .attempt("2026-08-01T08:00:00Z", AttemptOutcome::Reached)
            .refusal("2026-08-02T08:00:00Z", "timing", "crm", Some(100))
            .by("mgr")
            .review(
                "2026-08-03T08:00:00Z",
                crate::lead::ReviewDecision::RefusalValidated,
            )
            .build(),
        LeadBuilder::new("visit-a", "ion", "2026-06-01T07:00:00Z")
            .won("2026-06-02T08:00:00Z", 1_000_000)
            .order("2026-11-01T08:00:00Z", 1_000_000, &["crm"])
            .build(),
        // Excluded: do not contact; another rep's lead.
        LeadBuilder::new("dnc", "ion", "2026-11-25T07:55:00Z")
            .do_not_contact()
            .build(),
        LeadBuilder::new("danas", "dana", "2026-11-25T07:55:00Z").build(),
    ]
}

#[test]
fn tiers_in_order_with_reasons() {
    let tiers = TierMap::from([("visit-a".into(), Tier::A)]);
    check(
        "ion",
        &ion_book(),
        &tiers,
        NOW,
        expect![[r#"
            ion 2026-11-25
            1. new-early NewLead: New lead created yesterday, no attempt yet: call now (speed to lead)
            2. new-late NewLead: New lead created 10 min ago, no attempt yet: call now (speed to lead)
            3. step-big-overdue FollowUp: Next step agreed with the customer, overdue by 2 days (due 2026-11-23 11:00), deal 50,000.00 ILS
            4. step-big-later FollowUp: Next step agreed with the customer, due today at 17:00, deal 50,000.00 ILS
            5. step-small FollowUp: Next step agreed with the customer, overdue since 09:00, deal 1,000.00 ILS
            6. retry-older NoAnswerRetry: No answer so far: attempt 2 of 6, last tried 5 days ago
            7. retry-yesterday NoAnswerRetry: No answer so far: attempt 2 of 6, last tried yesterday
            8. visit-a Recontact: Customer visit due (tier A)
            9. nurture Recontact: Not interested since 2026-08-02: nurture re-contact due
        "#]],
    );
}

#[test]
fn a_lead_appears_once_at_its_highest_tier() {
    // Lost and due for nurture, but a next step was set after: tier 2 only.
    let lead = LeadBuilder::new("both", "ion", "2026-08-01T07:00:00Z")
        .refusal("2026-08-02T08:00:00Z", "unreachable", "crm", None)
        .call_then("2026-11-20T08:00:00Z", "2026-11-25T07:00:00Z")
        .build();
    let q = queue("ion", &[lead], &TierMap::new(), NOW);
    assert_eq!(q.items.len(), 1);
    assert_eq!(q.items[0].tier, QueueTier::FollowUp);
}

#[test]
fn the_day_is_the_reps_own_at_half_past_midnight_in_jerusalem() {
    // 22:30Z on Sunday 22nd is 00:30 on Monday 23rd in Jerusalem.
    let now = "2026-11-22T22:30:00Z";
    let leads = [
        // Due 23:00 Jerusalem on the 23rd (21:00Z): today for Dana, tomorrow in UTC.
        LeadBuilder::new("late-today", "dana", "2026-11-10T07:00:00Z")
            .call_then("2026-11-10T08:00:00Z", "2026-11-23T21:00:00Z")
            .build(),
        // Last attempt 23:00 Jerusalem on the 22nd (21:00Z): yesterday for Dana.
        LeadBuilder::new("tried-yesterday", "dana", "2026-11-20T07:00:00Z")
            .no_answer("2026-11-22T21:00:00Z")
            .build(),
        // Last attempt 00:10 Jerusalem on the 23rd (22:10Z on the 22nd): today for Dana.
        LeadBuilder::new("tried-today", "dana", "2026-11-20T07:00:00Z")
            .no_answer("2026-11-22T22:10:00Z")
            .build(),
    ];
    check(
        "dana",
        &leads,
        &TierMap::new(),
        now,
        expect![[r#"
            dana 2026-11-23
            1. late-today FollowUp: Next step agreed with the customer, due today at 23:00
            2. tried-yesterday NoAnswerRetry: No answer so far: attempt 2 of 6, last tried yesterday
        "#]],
    );
}

#[test]
fn stale_and_overdue_work_the_same_over_a_large_book() {
    // 1,000 leads of two reps: the queue holds exactly the rep's due ones, each once.
    let mut leads = Vec::new();
    for i in 0..1000 {
        let owner = if i % 2 == 0 { "ion" } else { "dana" };
        let b = LeadBuilder::new(&format!("L{i:04}"), owner, "2026-11-20T07:00:00Z");
        leads.push(if i % 4 < 2 {
            b.build()
        } else {
            b.call_then("2026-11-21T08:00:00Z", "2026-11-30T08:00:00Z")
                .build()
        });
    }
    let q = queue("ion", &leads, &TierMap::new(), NOW);
    assert_eq!(q.items.len(), 250);
    assert!(q.items.iter().all(|i| i.tier == QueueTier::NewLead));
    let mut ids: Vec<_> = q.items.iter().map(|i| i.lead.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 250);
}

#[test]
fn r9_nurture_enters_the_queue_on_day_90() {
    // Refused (unreachable, no review) at 08:00Z on 2026-08-27; 90 days on is 2026-11-25.
    let lead = LeadBuilder::new("nurture", "ion", "2026-08-20T07:00:00Z")
        .refusal("2026-08-27T08:00:00Z", "unreachable", "crm", None)
        .build();
    let in_queue = |now: &str| {
        !queue("ion", std::slice::from_ref(&lead), &TierMap::new(), now)
            .items
            .is_empty()
    };
    // Day 89 (the 24th, all day long in Bucharest) no; day 90 yes, from local midnight.
    assert!(!in_queue("2026-11-24T21:59:00Z"));
    assert!(in_queue("2026-11-24T22:00:00Z"));
}

#[test]
fn last_tried_counts_calendar_days_in_the_owners_zone() {
    // Ion tried on Friday 27th at 10:00 Bucharest; on Monday 30th at 09:30 that is 3 days
    // ago (Friday, Saturday, Sunday), not the 2 whole 24-hour blocks since.
    let lead = LeadBuilder::new("L", "ion", "2026-11-27T07:00:00Z")
        .no_answer("2026-11-27T08:00:00Z")
        .build();
    let q = queue("ion", &[lead], &TierMap::new(), "2026-11-30T07:30:00Z");
    assert!(matches!(
        q.items[0].reason,
        QueueReason::NoAnswerRetry { days_ago: 3, .. }
    ));
    assert_eq!(
        q.reason_text(&q.items[0]),
        "No answer so far: attempt 2 of 6, last tried 3 days ago"
    );
}

/// Ion's follow-ups due today: deals in ILS (the team currency) and RON.
fn mixed_currency_book() -> Vec<Lead> {
    let step = |id: &str, currency: &'static str, minor: i64, due: &str| {
        LeadBuilder::new(id, "ion", "2026-11-10T07:00:00Z")
            .in_currency(currency)
            .deal(minor)
            .call_then("2026-11-10T08:00:00Z", due)
            .build()
    };
    vec![
        step("ils-50k", "ILS", 5_000_000, "2026-11-25T12:00:00Z"),
        step("ron-70k", "RON", 7_000_000, "2026-11-25T09:00:00Z"),
        step("ron-40k", "RON", 4_000_000, "2026-11-25T10:00:00Z"),
        step("ils-1k", "ILS", 100_000, "2026-11-25T11:00:00Z"),
    ]
}

fn mixed_queue(rates: Vec<crate::money::ExchangeRate>) -> (Vec<String>, Vec<bool>) {
    let mut team = team();
    team.playbook.exchange_rates = rates;
    let facts: Vec<LeadFacts> = mixed_currency_book()
        .iter()
        .map(|l| LeadFacts::from_lead(&team.playbook, l))
        .collect();
    let q = call_queue(&team, &"ion".into(), &facts, &TierMap::new(), t(NOW));
    let ids = q.items.iter().map(|i| i.lead.to_string()).collect();
    let missing = q
        .items
        .iter()
        .map(|i| {
            matches!(
                i.reason,
                QueueReason::FollowUp {
                    missing_rate: true,
                    ..
                }
            )
        })
        .collect();
    (ids, missing)
}

#[test]
fn larger_deal_first_compares_in_the_team_currency() {
    use crate::money::ExchangeRate;
    // 1 RON = 0.60 ILS: RON 70,000 is ILS 42,000, less than ILS 50,000, though more minor
    // units. A later rate does not apply yet; an earlier one is replaced by the latest.
    let (ids, missing) = mixed_queue(vec![
        ExchangeRate::new("RON", "2026-01-01", "2.00"),
        ExchangeRate::new("RON", "2026-11-01", "0.60"),
        ExchangeRate::new("RON", "2026-12-01", "9.00"),
    ]);
    assert_eq!(ids, ["ils-50k", "ron-70k", "ron-40k", "ils-1k"]);
    assert_eq!(missing, [false; 4]);
}

#[test]
fn a_deal_without_a_rate_orders_as_one_without_a_deal_size_and_is_flagged() {
    // No RON rate: the RON deals are never compared raw with ILS ones; they come after every
    // converted deal, by due time, and carry the flag.
    let (ids, missing) = mixed_queue(Vec::new());
    assert_eq!(ids, ["ils-50k", "ils-1k", "ron-70k", "ron-40k"]);
    assert_eq!(missing, [false, false, true, true]);
    let team = team();
    let lead = &mixed_currency_book()[1];
    let facts = LeadFacts::from_lead(&team.playbook, lead);
    let state = crate::state::derive(&team, &facts, t(NOW));
    assert!(state.has(crate::state::Flag::NoExchangeRate));
    let ils = LeadFacts::from_lead(&team.playbook, &mixed_currency_book()[0]);
    assert!(!crate::state::derive(&team, &ils, t(NOW)).has(crate::state::Flag::NoExchangeRate));
}
