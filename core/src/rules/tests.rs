//! Boundary tests of the per-lead rules (R1–R5, R7, R9, R12, R13): every number of SPEC §4 on
//! both sides of its edge. Snapshots refresh with `UPDATE_EXPECT=1`.

use crate::facts::LeadFacts;
use crate::lead::{
    AttemptOutcome, ConversationEnd, ConversationKind, Lead, NextStepKind, ReviewDecision,
};
use crate::state::{Flag, LeadState, TaskKind, derive};
use crate::testing::{LeadBuilder, t, team};
use expect_test::{Expect, expect};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn state_at(lead: &Lead, now: &str) -> LeadState {
    let team = team();
    let facts = LeadFacts::from_lead(&team.playbook, lead);
    derive(&team, &facts, t(now))
}

/// One line per derived state: status, flags, then tasks as `rule kind due -> assignee`.
fn render(state: &LeadState) -> String {
    let flags: Vec<String> = state.flags.iter().map(|f| format!("{f:?}")).collect();
    let mut out = format!("{} [{}]", state.status, flags.join(", "));
    for task in &state.tasks {
        out.push_str(&format!(
            "\n  {} {:?} due {} -> {}",
            task.rule,
            task.kind,
            task.due.format("%Y-%m-%d %H:%M"),
            task.assignee
        ));
        if let Some(email) = &task.email {
            out.push_str(&format!(" (email: {:?})", email.subject));
        }
    }
    if state.mailing_list {
        out.push_str("\n  on mailing list");
    }
    out
}

fn check(lead: &Lead, now: &str, expect: Expect) {
    expect.assert_eq(&render(&state_at(lead, now)));
}

fn flags(lead: &Lead, now: &str) -> Vec<Flag> {
    state_at(lead, now).flags
}

// ---- R1 speed to lead ------------------------------------------------------------------

#[test]
fn r1_speed_to_lead_boundaries() {
    let lead = LeadBuilder::new("L1", "ion", "2026-11-23T08:00:00Z").build();
    check(
        &lead,
        "2026-11-23T08:09:00Z",
        expect![[r#"
            new [RespondNow]
              R1 FirstAttempt due 2026-11-23 08:10 -> ion"#]],
    );
    assert_eq!(flags(&lead, "2026-11-23T08:10:00Z"), [Flag::RespondNow]);
    assert_eq!(flags(&lead, "2026-11-23T08:11:00Z"), [Flag::LateResponse]);
    assert_eq!(flags(&lead, "2026-11-23T22:59:00Z"), [Flag::LateResponse]); // 14 h 59
    assert_eq!(
        flags(&lead, "2026-11-23T23:00:00Z"),
        [Flag::ResponseDecaying]
    ); // 15 h
    assert_eq!(
        flags(&lead, "2026-11-24T07:59:00Z"),
        [Flag::ResponseDecaying]
    ); // 23 h 59
    assert_eq!(flags(&lead, "2026-11-24T08:00:00Z"), [Flag::StaleNew]); // 24 h
}

#[test]
fn r1_first_attempt_ends_the_new_flags() {
    let lead = LeadBuilder::new("L1", "ion", "2026-11-23T08:00:00Z")
        .no_answer("2026-11-23T08:05:00Z")
        .build();
    let s = state_at(&lead, "2026-11-24T09:00:00Z");
    assert_eq!(s.status, "no_answer");
    assert!(!s.has(Flag::StaleNew) && !s.has(Flag::RespondNow));
}

// ---- R2 no-answer cadence -------------------------------------------------------------

fn failed_attempts(owner: &str, n: usize) -> LeadBuilder {
    // Attempts on consecutive weekdays starting Monday 2026-11-02 (Ion: Bucharest, UTC+2).
    let days = ["02", "03", "04", "05", "06", "09", "10", "11"];
    let mut b = LeadBuilder::new("L2", owner, "2026-11-02T07:00:00Z");
    for day in &days[..n] {
        b = b.no_answer(&format!("2026-11-{day}T08:00:00Z"));
    }
    b
}

#[test]
fn r2_next_attempt_is_the_next_working_day_with_an_email() {
    check(
        &failed_attempts("ion", 1).build(),
        "2026-11-02T12:00:00Z",
        expect![[r#"
            no_answer []
              R2 NextAttempt { attempt: 2 } due 2026-11-03 07:00 -> ion (email: "Following up on your enquiry")"#]],
    );
    // Friday's attempt is next due on Monday 09:00 Bucharest.
    check(
        &failed_attempts("ion", 5).build(),
        "2026-11-06T12:00:00Z",
        expect![[r#"
            no_answer []
              R2 NextAttempt { attempt: 6 } due 2026-11-09 07:00 -> ion (email: "Should I keep trying?")"#]],
    );
}

#[test]
fn r2_sixth_attempt_proposes_closing() {
    check(
        &failed_attempts("ion", 6).build(),
        "2026-11-09T12:00:00Z",
        expect![[r#"
            no_answer [ProposeClose]
              R2 ConfirmClose due 2026-11-09 08:00 -> ion (email: "Closing your enquiry")"#]],
    );
}

#[test]
fn r2_israeli_rep_thursday_attempt_is_due_sunday() {
    // Thursday 2026-11-26 in Jerusalem; the next working day is Sunday 29th, 09:00 = 07:00Z.
    let lead = LeadBuilder::new("L2", "dana", "2026-11-26T06:00:00Z")
        .no_answer("2026-11-26T10:00:00Z")
        .build();
    let s = state_at(&lead, "2026-11-26T12:00:00Z");
    assert_eq!(s.tasks[0].due, t("2026-11-29T07:00:00Z"));
}

#[test]
fn r2_voicemail_counts_as_unsuccessful_and_hints() {
    let lead = LeadBuilder::new("L2", "ion", "2026-11-02T07:00:00Z")
        .attempt("2026-11-02T08:00:00Z", AttemptOutcome::Voicemail)
        .build();
    check(
        &lead,
        "2026-11-02T09:00:00Z",
        expect![[r#"
            no_answer [VoicemailHint]
              R2 NextAttempt { attempt: 2 } due 2026-11-03 07:00 -> ion (email: "Following up on your enquiry")"#]],
    );
}

#[test]
fn r2_playbook_may_set_other_gaps() {
    let mut team = team();
    team.playbook.cadence.gap_working_days = vec![1, 3];
    let lead = failed_attempts("ion", 2).build();
    let facts = LeadFacts::from_lead(&team.playbook, &lead);
    // Second attempt Tuesday 3rd; three working days on is Friday 6th, 09:00 local.
    let s = derive(&team, &facts, t("2026-11-03T12:00:00Z"));
    assert_eq!(s.tasks[0].due, t("2026-11-06T07:00:00Z"));
}

// ---- R3 first conversation ------------------------------------------------------------

#[test]
fn r3_follow_up_two_days_after_first_contact() {
    let lead = LeadBuilder::new("L3", "ion", "2026-11-02T07:00:00Z")
        .attempt("2026-11-02T08:00:00Z", AttemptOutcome::Reached)
        .build();
    check(
        &lead,
        "2026-11-04T07:59:00Z",
        expect![[r#"
            initial_contact []
              R3 FollowUpCall due 2026-11-04 08:00 -> ion"#]],
    );
    assert_eq!(flags(&lead, "2026-11-04T08:00:00Z"), []);
    assert_eq!(flags(&lead, "2026-11-04T08:01:00Z"), [Flag::Overdue]);
}

#[test]
fn r3_no_follow_up_when_a_next_step_was_agreed() {
    let lead = LeadBuilder::new("L3", "ion", "2026-11-02T07:00:00Z")
        .call_then("2026-11-02T08:00:00Z", "2026-11-10T08:00:00Z")
        .build();
    check(
        &lead,
        "2026-11-05T08:00:00Z",
        expect![[r#"
            initial_contact []
              R4 NextStep { step: Call, agreed: true } due 2026-11-10 08:00 -> ion"#]],
    );
}

// ---- R4/R5 next steps and risk -------------------------------------------------------

#[test]
fn r5_no_next_step_and_overdue() {
    // Reached, then the next step was consumed by a second conversation... which by R4
    // always brings its own ending; a manager override to In process leaves nothing planned.
    let lead = LeadBuilder::new("L5", "ion", "2026-11-02T07:00:00Z")
        .by("mgr")
        .status_override("2026-11-02T08:00:00Z", "in_process")
        .build();
    assert_eq!(flags(&lead, "2026-11-03T08:00:00Z"), [Flag::NoNextStep]);
    let lead = LeadBuilder::new("L5", "ion", "2026-11-02T07:00:00Z")
        .call_then("2026-11-02T08:00:00Z", "2026-11-03T08:00:00Z")
        .build();
    assert_eq!(flags(&lead, "2026-11-03T08:00:00Z"), []);
    assert_eq!(flags(&lead, "2026-11-03T08:00:01Z"), [Flag::Overdue]);
}

#[test]
fn r5_going_cold_after_four_days_without_contact() {
    let lead = LeadBuilder::new("L5", "ion", "2026-11-02T07:00:00Z")
        .call_then("2026-11-02T08:00:00Z", "2026-11-20T08:00:00Z")
        .call_then("2026-11-03T08:00:00Z", "2026-11-20T08:00:00Z")
        .build();
    let s = state_at(&lead, "2026-11-07T07:59:00Z");
    assert_eq!(s.status, "in_process");
    assert!(!s.has(Flag::GoingCold));
    assert!(state_at(&lead, "2026-11-07T08:00:00Z").has(Flag::GoingCold));
}

#[test]
fn r5_needs_final_answer_after_three_postponements_since_the_quote() {
    // Two postponements before the quote do not count; two after it are not yet three.
    let base = || {
        LeadBuilder::new("L5", "ion", "2026-11-02T07:00:00Z")
            .call_then("2026-11-02T08:00:00Z", "2026-11-30T08:00:00Z")
            .call_then("2026-11-03T08:00:00Z", "2026-11-30T08:00:00Z")
            .quote("2026-11-04T08:00:00Z", 1_000_000)
            .call_then("2026-11-05T08:00:00Z", "2026-11-30T08:00:00Z")
            .call_then("2026-11-06T08:00:00Z", "2026-11-30T08:00:00Z")
    };
    assert!(!state_at(&base().build(), "2026-11-06T09:00:00Z").has(Flag::NeedsFinalAnswer));
    let lead = base()
        .call_then("2026-11-07T08:00:00Z", "2026-11-30T08:00:00Z")
        .build();
    check(
        &lead,
        "2026-11-07T09:00:00Z",
        expect![[r#"
            in_process [NeedsFinalAnswer]
              R4 NextStep { step: Call, agreed: true } due 2026-11-30 08:00 -> ion"#]],
    );
}

#[test]
fn meeting_moves_straight_to_in_process() {
    let lead = LeadBuilder::new("L5", "ion", "2026-11-02T07:00:00Z")
        .conversation(
            "2026-11-02T08:00:00Z",
            ConversationKind::Demo,
            ConversationEnd::NextStep,
        )
        .next_step(
            "2026-11-02T08:00:00Z",
            NextStepKind::QuoteFollowUp,
            "2026-11-05T08:00:00Z",
        )
        .build();
    assert_eq!(state_at(&lead, "2026-11-02T09:00:00Z").status, "in_process");
}

// ---- R7 refusal review ----------------------------------------------------------------

fn refused() -> LeadBuilder {
    LeadBuilder::new("L7", "dana", "2026-11-01T07:00:00Z")
        .call_then("2026-11-01T08:00:00Z", "2026-11-03T08:00:00Z")
        .conversation(
            "2026-11-03T08:00:00Z",
            ConversationKind::Call,
            ConversationEnd::FinalNo,
        )
        .refusal("2026-11-03T08:00:00Z", "price", "crm", Some(500_000))
}

#[test]
fn r7_refusal_creates_the_managers_review_task() {
    check(
        &refused().build(),
        "2026-11-03T09:00:00Z",
        expect![[r#"
            not_interested [AwaitingReview]
              R7 ReviewRefusal due 2026-11-03 08:00 -> mgr
              R9 NurtureRecontact due 2027-02-01 08:00 -> dana
              on mailing list"#]],
    );
}

#[test]
fn r7_return_to_funnel_gives_a_follow_up_next_working_day() {
    // Returned on Thursday 5th (Jerusalem): follow-up Sunday 8th 09:00 local.
    let lead = refused()
        .by("mgr")
        .review_return("2026-11-05T10:00:00Z")
        .build();
    check(
        &lead,
        "2026-11-05T11:00:00Z",
        expect![[r#"
            in_process []
              R7 ReturnFollowUp due 2026-11-08 07:00 -> dana"#]],
    );
}

#[test]
fn r7_validated_refusal_goes_to_nurture_for_ninety_days() {
    let lead = refused()
        .by("mgr")
        .review("2026-11-05T10:00:00Z", ReviewDecision::RefusalValidated)
        .build();
    check(
        &lead,
        "2026-11-05T11:00:00Z",
        expect![[r#"
            not_interested []
              R9 NurtureRecontact due 2027-02-03 10:00 -> dana
              on mailing list"#]],
    );
}

// ---- R9 nurture -----------------------------------------------------------------------

#[test]
fn r9_do_not_contact_leaves_the_mailing_list() {
    let lead = refused().do_not_contact().build();
    let s = state_at(&lead, "2026-11-05T11:00:00Z");
    assert!(s.has(Flag::DoNotContact));
    assert!(!s.mailing_list);
    assert!(!s.tasks.iter().any(|t| t.kind == TaskKind::NurtureRecontact));
}

// ---- R12 trust requests ---------------------------------------------------------------

#[test]
fn r12_materials_due_within_one_working_day() {
    // Requested Thursday 14:00 Jerusalem: due Sunday 14:00 Jerusalem.
    let lead = LeadBuilder::new("L12", "dana", "2026-11-26T06:00:00Z")
        .call_then("2026-11-26T12:00:00Z", "2026-12-03T08:00:00Z")
        .materials("2026-11-26T12:00:00Z")
        .build();
    check(
        &lead,
        "2026-11-26T13:00:00Z",
        expect![[r#"
            initial_contact []
              R12 SendMaterials due 2026-11-29 12:00 -> dana
              R4 NextStep { step: Call, agreed: true } due 2026-12-03 08:00 -> dana"#]],
    );
}

// ---- R13 inactive customers -----------------------------------------------------------

#[test]
fn r13_customer_inactive_after_180_days_without_order_or_conversation() {
    let lead = LeadBuilder::new("L13", "ion", "2026-01-01T07:00:00Z")
        .won("2026-01-05T10:00:00Z", 2_000_000)
        .order("2026-02-01T10:00:00Z", 500_000, &["crm"])
        .build();
    // 2026-02-01 + 180 days = 2026-07-31.
    check(&lead, "2026-07-31T09:59:00Z", expect!["customer []"]);
    check(
        &lead,
        "2026-07-31T10:00:00Z",
        expect![[r#"
            inactive_customer []
              R13 Reactivation due 2026-07-31 10:00 -> ion"#]],
    );
    // A new order makes it a customer again.
    let lead = LeadBuilder::new("L13", "ion", "2026-01-01T07:00:00Z")
        .won("2026-01-05T10:00:00Z", 2_000_000)
        .order("2026-08-10T10:00:00Z", 500_000, &["crm"])
        .build();
    assert_eq!(state_at(&lead, "2026-08-11T10:00:00Z").status, "customer");
}

// ---- status overrides -----------------------------------------------------------------

#[test]
fn override_holds_until_a_later_event_moves_the_lead_on() {
    let mut team = team();
    team.playbook.statuses.push(crate::playbook::StatusDef {
        key: "negotiation".to_owned(),
        label: "Negotiation".to_owned(),
        role: crate::playbook::StatusRole::InProcess,
    });
    let base = || {
        LeadBuilder::new("L0", "ion", "2026-11-02T07:00:00Z")
            .call_then("2026-11-02T08:00:00Z", "2026-11-09T08:00:00Z")
            .by("mgr")
            .status_override("2026-11-03T08:00:00Z", "negotiation")
    };
    let at = t("2026-11-03T09:00:00Z");
    let facts = LeadFacts::from_lead(&team.playbook, &base().build());
    assert_eq!(derive(&team, &facts, at).status, "negotiation");
    // A yes moves it on.
    let lead = base().by("ion").won("2026-11-04T08:00:00Z", 100).build();
    let facts = LeadFacts::from_lead(&team.playbook, &lead);
    assert_eq!(derive(&team, &facts, at).status, "customer");
}

// ---- order independence ---------------------------------------------------------------

#[cfg(not(target_arch = "wasm32"))]
mod order {
    use super::*;
    use proptest::prelude::*;

    /// A long history touching every rule.
    fn history() -> Lead {
        refused()
            .by("mgr")
            .review_return("2026-11-05T10:00:00Z")
            .by("dana")
            .no_answer("2026-11-08T08:00:00Z")
            .attempt("2026-11-09T08:00:00Z", AttemptOutcome::Reached)
            .call_then("2026-11-09T08:05:00Z", "2026-11-12T08:00:00Z")
            .quote("2026-11-10T08:00:00Z", 900_000)
            .materials("2026-11-10T08:00:00Z")
            .call_then("2026-11-12T08:00:00Z", "2026-11-16T08:00:00Z")
            .conversation(
                "2026-11-16T08:00:00Z",
                ConversationKind::Meeting,
                ConversationEnd::FinalYes,
            )
            .won("2026-11-16T08:00:00Z", 900_000)
            .order("2026-11-20T08:00:00Z", 900_000, &["crm", "pos"])
            .build()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn derived_state_does_not_depend_on_stored_event_order(
            seed in proptest::collection::vec(any::<u32>(), 16),
            cut in 0usize..16,
            now_offset_h in 0i64..(24 * 400),
        ) {
            let full = history();
            // Every prefix of the history (by canonical order) in a shuffled storage order.
            let mut lead = full.clone();
            lead.events.sort_by(|a, b| a.canonical_cmp(b));
            lead.events.truncate(cut.max(1));
            let mut shuffled = lead.clone();
            let mut keys: Vec<(u32, usize)> = (0..shuffled.events.len())
                .map(|i| (seed[i % seed.len()].wrapping_mul(i as u32 + 1), i))
                .collect();
            keys.sort();
            shuffled.events = keys.iter().map(|(_, i)| lead.events[*i].clone()).collect();
            let now = t("2026-11-01T00:00:00Z") + chrono::Duration::hours(now_offset_h);
            let team = team();
            let a = derive(&team, &LeadFacts::from_lead(&team.playbook, &lead), now);
            let b = derive(&team, &LeadFacts::from_lead(&team.playbook, &shuffled), now);
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn full_history_ends_as_a_customer() {
        let s = state_at(&history(), "2026-11-21T00:00:00Z");
        assert_eq!(s.status, "customer");
        assert!(s.flags.is_empty(), "{:?}", s.flags);
    }
}
