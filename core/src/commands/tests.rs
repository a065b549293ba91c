//! Tests of command validation: R3 (notes), R4 (exactly one ending), R7 (refusal fields,
//! manager-only review), the events each accepted command records (with R14's `after`), and
//! creating and editing a lead's fields.

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
        "next_step.due: the next step must be due after the time it is recorded (2026-11-24 09:00:00 UTC), not at 2026-11-24 08:59:00 UTC"
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
        "not allowed: only a manager or an admin may record a review_decision event; dana is a rep"
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
        "not allowed: the playbook lets managers and admins reassign leads; dana is a rep"
    );
    assert_eq!(
        err(run("mgr", |a| assign(a, &f, &"ghost".into()))),
        "owner: ghost may not own leads: not a member of the team"
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

fn new_lead() -> NewLead {
    NewLead {
        id: "L-new".into(),
        company: "  Galil Dairy ".to_owned(),
        email: "noa@galil.co.il".to_owned(),
        products: vec!["crm".into(), "pos".into()],
        deal_size: Some(Money::new(0, "ILS")),
        ..NewLead::default()
    }
}

fn create_err(by: &str, input: NewLead) -> String {
    run(by, |a| create_lead(a, input))
        .expect_err("the lead must be refused")
        .to_string()
}

#[test]
fn create_lead_returns_the_lead_with_its_created_event() {
    let lead = run("dana", |a| create_lead(a, new_lead())).unwrap();
    assert_eq!(
        (lead.id.as_str(), lead.company.as_str(), lead.owner.as_str()),
        ("L-new", "Galil Dairy", "dana"),
        "the author owns it by default; text is trimmed"
    );
    assert_eq!(lead.created_at, t(NOW));
    assert_eq!(
        lead.events,
        [Event {
            id: "c1".into(),
            at: t(NOW),
            by: "dana".into(),
            after: None,
            kind: EventKind::Created,
        }]
    );
    // The new lead is New with its first attempt due (R1), and heads every topic.
    let f = facts(&lead);
    assert_eq!(f.heads.owner, Some("c1".into()));
    assert_eq!(derive(&team(), &f, t(NOW)).status, "new");
    // A manager creates for their rep, an admin for anyone.
    let for_ion = NewLead {
        owner: Some("ion".into()),
        ..new_lead()
    };
    assert_eq!(
        run("mgr", |a| create_lead(a, for_ion.clone()))
            .unwrap()
            .owner,
        "ion".into()
    );
    assert!(run("ada", |a| create_lead(a, for_ion)).is_ok());
}

#[test]
fn create_lead_names_the_field_at_fault() {
    let cases: Vec<(&str, NewLead, &str)> = vec![
        (
            "dana",
            NewLead {
                company: " ".to_owned(),
                ..new_lead()
            },
            "company: a lead needs a company or a contact person",
        ),
        (
            "dana",
            NewLead {
                id: "".into(),
                ..new_lead()
            },
            "id: a new lead needs the id the device generated",
        ),
        (
            "dana",
            NewLead {
                owner: Some("ion".into()),
                ..new_lead()
            },
            "not allowed: dana (a rep) may not create a lead owned by ion",
        ),
        (
            "mgr",
            NewLead {
                owner: Some("ghost".into()),
                ..new_lead()
            },
            "owner: ghost may not own leads: not a member of the team",
        ),
        (
            "ada",
            new_lead(),
            "owner: ada may not own leads: an admin, not a rep or a manager",
        ),
        (
            "stranger",
            new_lead(),
            "not allowed: stranger is not a member of the team",
        ),
        (
            "dana",
            NewLead {
                email: "noa@galil".to_owned(),
                ..new_lead()
            },
            "email: \"noa@galil\" is not an email address like \"noa@example.com\"",
        ),
        (
            "dana",
            NewLead {
                email: "noa at galil.co.il".to_owned(),
                ..new_lead()
            },
            "email: \"noa at galil.co.il\" is not an email address like \"noa@example.com\"",
        ),
        (
            "dana",
            NewLead {
                deal_size: Some(Money::new(-1, "ILS")),
                ..new_lead()
            },
            "deal_size: the deal size must not be negative",
        ),
        (
            "dana",
            NewLead {
                deal_size: Some(Money::new(5, "ils")),
                ..new_lead()
            },
            "deal_size: \"ils\" is not an ISO 4217 currency code like \"ILS\"",
        ),
        (
            "dana",
            NewLead {
                products: vec!["crm".into(), "solar".into()],
                ..new_lead()
            },
            "products: \"solar\" is not a product of the team ([\"crm\", \"erp\", \"pos\"])",
        ),
        (
            "dana",
            NewLead {
                products: vec!["crm".into(), "crm".into()],
                ..new_lead()
            },
            "products: \"crm\" is listed twice",
        ),
        (
            "dana",
            NewLead {
                account: crate::lead::Account {
                    churn_risk: Some(0),
                    ..Default::default()
                },
                ..new_lead()
            },
            "account.churn_risk: must be 1 to 5, not 0",
        ),
        (
            "dana",
            NewLead {
                custom: [(" ".to_owned(), "x".to_owned())].into(),
                ..new_lead()
            },
            "custom: a custom field needs a name",
        ),
    ];
    for (by, input, expected) in cases {
        assert_eq!(create_err(by, input), expected);
    }
    // A contact without a company is enough.
    let contact_only = NewLead {
        company: String::new(),
        contact: "Noa".to_owned(),
        email: String::new(),
        ..new_lead()
    };
    assert!(run("dana", |a| create_lead(a, contact_only)).is_ok());
}

fn created() -> Lead {
    run("dana", |a| create_lead(a, new_lead())).unwrap()
}

fn edit(by: &str, edit: LeadEdit) -> Result<LeadPatch, String> {
    let f = facts(&created());
    run(by, |a| edit_lead(a, &f, edit)).map_err(|e| e.to_string())
}

#[test]
fn edit_lead_returns_the_fields_to_put_by_their_serde_names() {
    let full = LeadEdit {
        company: Some("Galil Dairy Ltd".to_owned()),
        contact: Some("Noa".to_owned()),
        phone: Some("+972 4 000 0000".to_owned()),
        email: Some("".to_owned()),
        address: Some("Kibbutz Yiftah".to_owned()),
        source: Some("fair".to_owned()),
        products: Some(vec!["erp".into()]),
        deal_size: Some(None),
        do_not_contact: Some(true),
        account: Some(crate::lead::Account {
            growth_potential: Some(4),
            ..Default::default()
        }),
        custom: Some([("region".to_owned(), "north".to_owned())].into()),
    };
    let patch = edit("dana", full).unwrap();
    // Every name is a top-level field of the lead's JSON; only id, owner, created_at and
    // events are not editable.
    let mut lead = created();
    let json = serde_json::to_value(&lead).unwrap();
    let mut editable: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !["id", "owner", "created_at", "events"].contains(k))
        .collect();
    let mut names: Vec<&str> = patch.names().collect();
    editable.sort();
    names.sort();
    assert_eq!(names, editable);
    patch.apply_to(&mut lead).unwrap();
    assert_eq!(lead.company, "Galil Dairy Ltd");
    assert_eq!(lead.email, "");
    assert_eq!(lead.deal_size, None, "null clears the deal size");
    assert_eq!(lead.products, ["erp".into()]);
    assert!(lead.do_not_contact);
    assert_eq!(lead.account.growth_potential, Some(4));
    assert_eq!(lead.custom["region"], "north");
    assert_eq!(lead.events.len(), 1, "an edit appends no event");
    // One field, one pair.
    let patch = edit(
        "mgr",
        LeadEdit {
            phone: Some(" 050 ".to_owned()),
            ..LeadEdit::default()
        },
    )
    .unwrap();
    assert_eq!(
        patch.fields,
        [("phone".to_owned(), serde_json::json!("050"))]
    );
}

#[test]
fn edit_lead_is_checked_like_a_new_lead_and_by_who_may_edit() {
    assert_eq!(
        edit("dana", LeadEdit::default()),
        Err("edit: the edit changes no field".to_owned())
    );
    let company = |c: &str| LeadEdit {
        company: Some(c.to_owned()),
        ..LeadEdit::default()
    };
    assert_eq!(
        edit("ion", company("X")),
        Err("not allowed: ion may not change this document (read-only for them)".to_owned())
    );
    assert!(edit("mgr", company("X")).is_ok(), "the owner's manager");
    assert!(edit("ada", company("X")).is_ok(), "an admin");
    assert_eq!(
        edit("dana", company(" ")),
        Err("company: a lead keeps a company or a contact person".to_owned())
    );
    assert!(
        edit(
            "dana",
            LeadEdit {
                company: Some(String::new()),
                contact: Some("Noa".to_owned()),
                ..LeadEdit::default()
            }
        )
        .is_ok()
    );
    assert_eq!(
        edit(
            "dana",
            LeadEdit {
                deal_size: Some(Some(Money::new(-5, "ILS"))),
                ..LeadEdit::default()
            }
        ),
        Err("deal_size: the deal size must not be negative".to_owned())
    );
    assert_eq!(
        edit(
            "dana",
            LeadEdit {
                email: Some("@galil.co.il".to_owned()),
                ..LeadEdit::default()
            }
        ),
        Err("email: \"@galil.co.il\" is not an email address like \"noa@example.com\"".to_owned())
    );
    assert!(
        edit(
            "dana",
            LeadEdit {
                products: Some(vec!["bi".into()]),
                ..LeadEdit::default()
            }
        )
        .unwrap_err()
        .starts_with("products: \"bi\" is not a product of the team")
    );
}

#[test]
fn lead_edit_json_tells_null_from_absent() {
    let parse = |s: &str| serde_json::from_str::<LeadEdit>(s).map_err(|e| e.to_string());
    assert_eq!(
        parse(r#"{"deal_size": null}"#).unwrap().deal_size,
        Some(None)
    );
    assert_eq!(parse(r#"{"phone": "1"}"#).unwrap().deal_size, None);
    assert!(
        parse(r#"{"owner": "ion"}"#)
            .unwrap_err()
            .starts_with("unknown field `owner`")
    );
}

#[test]
fn r4_needs_time_lands_on_the_owners_working_day_but_a_named_date_never_moves() {
    let team = team();
    let lead = LeadBuilder::new("L", "ion", "2026-11-20T08:00:00Z").build();
    let facts = facts(&lead);
    let by = MemberId::from("ion");
    let at = |now: &str, input: ConversationInput| {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            EventId(format!("c{n}"))
        };
        let author = Author {
            team: &team,
            by: &by,
            now: t(now),
            ids: &mut ids,
        };
        match log_conversation(author, &facts, input).unwrap()[1].kind {
            EventKind::NextStep { due, .. } => due,
            ref other => panic!("expected a next step, got {other:?}"),
        }
    };
    // Ion (Monday–Friday) talks on Saturday 21st at 11:00 Bucharest: "in a week" is Saturday
    // 28th, so the follow-up is Monday 30th at 11:00.
    let needs_time = ConversationInput {
        needs_time: true,
        ..talk()
    };
    assert_eq!(
        at("2026-11-21T09:00:00Z", needs_time.clone()),
        t("2026-11-30T09:00:00Z")
    );
    // On a Tuesday it stays a week later, same time.
    assert_eq!(
        at("2026-11-24T09:00:00Z", needs_time),
        t("2026-12-01T09:00:00Z")
    );
    // A decision date the customer named on a Sunday stays on that Sunday (R4).
    let named = t("2026-11-29T10:00:00Z");
    let input = ConversationInput {
        decision_date: Some(named),
        ..talk()
    };
    assert_eq!(at("2026-11-24T09:00:00Z", input), named);
}
