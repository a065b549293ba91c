//! Tests of command validation: R3 (notes), R4 (exactly one ending), R7 (refusal fields,
//! manager-only review) and the events each accepted command records.

use super::*;
use crate::facts::LeadFacts;
use crate::lead::{Lead, OfferChange};
use crate::state::derive;
use crate::testing::{LeadBuilder, t, team};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: &str = "2026-11-24T09:00:00Z";

/// Runs `f` as member `by` at NOW with ids `c1, c2…`; returns its result rendered.
fn run<T>(by: &str, f: impl FnOnce(Author<'_>) -> T) -> T {
    let team = team();
    let by = MemberId::from(by);
    let mut n = 0;
    let mut ids = || {
        n += 1;
        EventId(format!("c{n}"))
    };
    f(Author {
        team: &team,
        by: &by,
        now: t(NOW),
        ids: &mut ids,
    })
}

fn facts(lead: &Lead) -> LeadFacts {
    LeadFacts::from_lead(&team().playbook, lead)
}

fn fresh() -> LeadFacts {
    facts(&LeadBuilder::new("L", "dana", "2026-11-24T08:00:00Z").build())
}

fn conversation(input: ConversationInput) -> Result<Vec<Event>, CommandError> {
    run("dana", |a| log_conversation(a, &fresh(), input))
}

fn talk() -> ConversationInput {
    ConversationInput {
        notes: "wants 12 seats, decides with the CFO".to_owned(),
        ..ConversationInput::default()
    }
}

fn err(r: Result<Vec<Event>, CommandError>) -> String {
    r.expect_err("the command must be refused").to_string()
}

#[test]
fn r3_conversation_without_notes_is_refused() {
    let input = ConversationInput {
        notes: "   ".to_owned(),
        needs_time: true,
        ..ConversationInput::default()
    };
    assert_eq!(
        err(conversation(input)),
        "notes: document what was said and the customer's needs; a conversation without notes is not saved"
    );
}

#[test]
fn r4_conversation_must_end_with_exactly_one_of_next_step_yes_or_no() {
    assert_eq!(
        err(conversation(talk())),
        "next_step: a conversation must end with a next step with a due date and time, a decision date, \"needs time\", a final yes or a final no"
    );
    let both = ConversationInput {
        needs_time: true,
        final_yes: Some(WonInput {
            amount: Money::new(100, "ILS"),
            products: vec![],
        }),
        ..talk()
    };
    assert_eq!(
        err(conversation(both)),
        "next_step: a conversation ends with exactly one of next step, final yes or final no; got needs_time and final_yes"
    );
}

#[test]
fn r4_next_step_must_be_in_the_future() {
    let input = ConversationInput {
        next_step: Some(NextStepInput {
            kind: NextStepKind::Call,
            due: t("2026-11-24T08:59:00Z"),
            agreed: true,
            duration_minutes: None,
            note: String::new(),
        }),
        ..talk()
    };
    assert_eq!(
        err(conversation(input)),
        "next_step.due: the next step must be due after now (2026-11-24 09:00:00 UTC), not at 2026-11-24 08:59:00 UTC"
    );
}

#[test]
fn r4_needs_time_and_decision_date_become_agreed_next_steps() {
    let events = conversation(ConversationInput {
        needs_time: true,
        ..talk()
    })
    .unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[0].kind,
        EventKind::Conversation {
            ended: ConversationEnd::NextStep,
            ..
        }
    ));
    match &events[1].kind {
        EventKind::NextStep { due, agreed, .. } => {
            assert_eq!(*due, t("2026-12-01T09:00:00Z")); // 7 days
            assert!(agreed);
        }
        other => panic!("expected a next step, got {other:?}"),
    }
    let named = t("2026-12-15T10:00:00Z");
    let events = conversation(ConversationInput {
        decision_date: Some(named),
        ..talk()
    })
    .unwrap();
    assert!(
        matches!(events[1].kind, EventKind::NextStep { due, agreed: true, .. } if due == named)
    );
    // Both events carry the command's time and fresh ids.
    assert_eq!(
        events
            .iter()
            .map(|e| (e.id.as_str(), e.at))
            .collect::<Vec<_>>(),
        [("c1", t(NOW)), ("c2", t(NOW))]
    );
}

#[test]
fn r7_refusal_requires_reason_products_and_budget() {
    let no = |input: RefusalInput| {
        conversation(ConversationInput {
            final_no: Some(input),
            ..talk()
        })
    };
    let full = RefusalInput {
        reason: "price".to_owned(),
        products: vec!["crm".into()],
        budget: Some(Money::new(300_000, "ILS")),
        ..RefusalInput::default()
    };
    assert_eq!(
        err(no(RefusalInput {
            budget: None,
            ..full.clone()
        })),
        "final_no.budget: a refusal records the customer's budget (R7)"
    );
    assert_eq!(
        err(no(RefusalInput {
            products: vec![],
            ..full.clone()
        })),
        "final_no.products: a refusal names the product(s) refused"
    );
    assert!(
        err(no(RefusalInput {
            reason: "weather".to_owned(),
            ..full.clone()
        }))
        .starts_with(
            "final_no.reason: \"weather\" is not a refusal reason of the playbook ([\"price\""
        )
    );
    assert_eq!(
        err(run("dana", |a| record_refusal(
            a,
            &fresh(),
            &RefusalInput {
                reason: String::new(),
                ..full.clone()
            }
        )))
        .split(',')
        .next()
        .unwrap(),
        "reason: a refusal needs a reason"
    );
    let events = no(full).unwrap();
    assert!(matches!(&events[1].kind, EventKind::Refusal { reason, .. } if reason == "price"));
}

fn refused() -> Lead {
    LeadBuilder::new("L", "dana", "2026-11-20T08:00:00Z")
        .refusal("2026-11-21T08:00:00Z", "price", "crm", Some(1))
        .build()
}

#[test]
fn r7_only_a_manager_reviews_and_only_a_pending_refusal() {
    let decision = ReviewDecision::ReturnToFunnel {
        offer_change: OfferChange::PaymentTerms,
    };
    assert_eq!(
        err(run("dana", |a| review_refusal(
            a,
            &facts(&refused()),
            decision.clone(),
            ""
        ))),
        "not allowed: only a manager or admin may review a refusal; dana is not one"
    );
    assert_eq!(
        err(run("mgr", |a| review_refusal(
            a,
            &fresh(),
            decision.clone(),
            ""
        ))),
        "not allowed: lead L has no refusal waiting for review"
    );
    let events = run("mgr", |a| {
        review_refusal(a, &facts(&refused()), decision, "10% off")
    })
    .unwrap();
    let mut lead = refused();
    lead.events.extend(events);
    let state = derive(&team(), &facts(&lead), t(NOW));
    assert_eq!(state.status, "in_process");
}

#[test]
fn r2_closing_as_unreachable_needs_the_full_cadence() {
    let mut b = LeadBuilder::new("L", "ion", "2026-11-10T07:00:00Z");
    for day in 16..=20 {
        b = b.no_answer(&format!("2026-11-{day}T08:00:00Z"));
    }
    let five = b.build();
    assert_eq!(
        err(run("ion", |a| confirm_close_unreachable(a, &facts(&five)))),
        "not allowed: closing as unreachable needs 6 unsuccessful attempts; this lead has 5"
    );
    let mut six = five.clone();
    six.events.extend(run("ion", |a| {
        log_attempt(a, Channel::Call, AttemptOutcome::Busy)
    }));
    let close = run("ion", |a| confirm_close_unreachable(a, &facts(&six))).unwrap();
    six.events.extend(close);
    let state = derive(&team(), &facts(&six), t(NOW));
    // Not interested, no manager review (unreachable needs none), nurture instead.
    assert_eq!(state.status, "not_interested");
    assert!(state.mailing_list);
    assert!(state.flags.is_empty(), "{:?}", state.flags);
}

#[test]
fn manager_rights_and_known_values() {
    let f = fresh();
    assert_eq!(
        err(run("dana", |a| assign(a, &f, &"ion".into()))),
        "not allowed: only a manager or admin may reassign a lead; dana is not one"
    );
    assert_eq!(
        err(run("mgr", |a| assign(a, &f, &"ghost".into()))),
        "owner: ghost is not a member of the team"
    );
    assert_eq!(
        err(run("mgr", |a| assign(a, &f, &"dana".into()))),
        "owner: the lead already belongs to dana"
    );
    assert!(run("mgr", |a| assign(a, &f, &"ion".into())).is_ok());
    assert!(
        err(run("mgr", |a| override_status(a, &f, "frozen", "why")))
            .starts_with("status: \"frozen\" is not a status of the playbook")
    );
    assert_eq!(
        err(run("mgr", |a| override_status(a, &f, "in_process", " "))),
        "reason: say why the status is overridden"
    );
}

#[test]
fn amounts_and_materials() {
    assert_eq!(
        err(run("dana", |a| mark_won(
            a,
            &fresh(),
            &WonInput {
                amount: Money::new(0, "ILS"),
                products: vec![]
            }
        ))),
        "amount: the amount must be more than 0"
    );
    assert_eq!(
        err(run("dana", |a| record_order(
            a,
            &Money::new(5, "shekel"),
            None,
            &["crm".into()]
        ))),
        "amount: \"shekel\" is not an ISO 4217 currency code like \"ILS\""
    );
    assert_eq!(
        err(run("dana", |a| request_materials(a, &[]))),
        "materials: name what the customer asked for"
    );
    assert_eq!(
        err(run("dana", |a| send_materials(
            a,
            &fresh(),
            &[Material::PriceList]
        ))),
        "not allowed: lead L has no open materials request"
    );
}

#[test]
fn r14_every_decision_records_the_head_of_its_topic() {
    // A lead with a next step (n), an assignment (o) and a refusal (r), each already decided.
    let lead = LeadBuilder::new("L", "dana", "2026-11-20T08:00:00Z")
        .id("c")
        .next_step(
            "2026-11-20T09:00:00Z",
            NextStepKind::Call,
            "2026-11-25T09:00:00Z",
        )
        .id("n")
        .by("mgr")
        .event(
            "2026-11-20T10:00:00Z",
            EventKind::Assigned {
                owner: "ion".into(),
            },
        )
        .id("o")
        .refusal("2026-11-21T08:00:00Z", "price", "crm", Some(1))
        .id("r")
        .build();
    let f = facts(&lead);
    let after = |events: Result<Vec<Event>, CommandError>| -> Vec<Option<String>> {
        events
            .unwrap()
            .iter()
            .map(|e| e.after.as_ref().map(|a| a.to_string()))
            .collect()
    };
    let s = |id: &str| Some(id.to_owned());
    let step = NextStepInput {
        kind: NextStepKind::Visit,
        due: t("2026-11-26T09:00:00Z"),
        agreed: true,
        duration_minutes: None,
        note: String::new(),
    };
    assert_eq!(after(run("ion", |a| set_next_step(a, &f, &step))), [s("n")]);
    let talk = ConversationInput {
        next_step: Some(step.clone()),
        ..talk()
    };
    // The conversation names the step it consumes; its own step follows the same head.
    assert_eq!(
        after(run("ion", |a| log_conversation(a, &f, talk))),
        [s("n"), s("n")]
    );
    let won = WonInput {
        amount: Money::new(100, "ILS"),
        products: vec![],
    };
    assert_eq!(after(run("ion", |a| mark_won(a, &f, &won))), [s("r")]);
    let refusal = RefusalInput {
        reason: "price".to_owned(),
        products: vec!["crm".into()],
        budget: Some(Money::new(1, "ILS")),
        ..RefusalInput::default()
    };
    assert_eq!(
        after(run("ion", |a| record_refusal(a, &f, &refusal))),
        [s("r")]
    );
    assert_eq!(
        after(run("mgr", |a| review_refusal(
            a,
            &f,
            ReviewDecision::RefusalValidated,
            ""
        ))),
        [s("r")]
    );
    assert_eq!(
        after(run("mgr", |a| override_status(a, &f, "in_process", "why"))),
        [s("r")]
    );
    assert_eq!(
        after(run("mgr", |a| assign(a, &f, &"dana".into()))),
        [s("o")]
    );
    // Nothing decided yet: the created event heads every topic. Other events name nothing.
    let f = fresh();
    assert_eq!(
        after(run("mgr", |a| assign(a, &f, &"ion".into()))),
        [s("L-e000")]
    );
    assert_eq!(
        after(Ok(run("dana", |a| log_attempt(
            a,
            Channel::Call,
            AttemptOutcome::NoAnswer
        )))),
        [None]
    );
}
