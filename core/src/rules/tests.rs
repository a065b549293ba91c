//! Boundary tests of the per-lead rules (R1–R5, R7, R9, R12, R13): every number of SPEC §4 on
//! both sides of its edge; R14 conflicts between two devices recording through the commands.
//! Snapshots refresh with `UPDATE_EXPECT=1`.

use crate::commands::{
    Author, CommandError, ConversationInput, NextStepInput, RefusalInput, WonInput, assign,
    log_conversation, mark_won, override_status, record_refusal, resolve_conflict, review_refusal,
    set_next_step,
};
use crate::facts::LeadFacts;
use crate::ids::{EventId, MemberId};
use crate::lead::{
    AttemptOutcome, ConversationEnd, ConversationKind, Event, Lead, NextStepKind, ReviewDecision,
};
use crate::money::Money;
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

#[test]
fn r3_israeli_rep_thursday_first_contact_is_followed_up_sunday() {
    // Dana (Jerusalem, Sunday–Thursday) reaches the lead on Thursday 26th at 10:00 local; two
    // days later is Saturday: the follow-up moves to Sunday 29th, same time.
    let lead = LeadBuilder::new("L3", "dana", "2026-11-26T07:00:00Z")
        .attempt("2026-11-26T08:00:00Z", AttemptOutcome::Reached)
        .build();
    check(
        &lead,
        "2026-11-26T09:00:00Z",
        expect![[r#"
            initial_contact []
              R3 FollowUpCall due 2026-11-29 08:00 -> dana"#]],
    );
    // Reached Thursday 19:30 local (after hours): Sunday, clamped to the end of the day 18:00.
    let late = LeadBuilder::new("L3", "dana", "2026-11-26T07:00:00Z")
        .attempt("2026-11-26T17:30:00Z", AttemptOutcome::Reached)
        .build();
    assert_eq!(
        state_at(&late, "2026-11-26T18:00:00Z").tasks[0].due,
        t("2026-11-29T16:00:00Z")
    );
    // Reached Tuesday: Thursday at the same time, a working day, not moved.
    let tue = LeadBuilder::new("L3", "dana", "2026-11-24T07:00:00Z")
        .attempt("2026-11-24T08:00:00Z", AttemptOutcome::Reached)
        .build();
    assert_eq!(
        state_at(&tue, "2026-11-24T09:00:00Z").tasks[0].due,
        t("2026-11-26T08:00:00Z")
    );
}

#[test]
fn r3_romanian_rep_friday_first_contact_is_followed_up_monday() {
    // Ion (Bucharest, Monday–Friday): Friday 27th 11:00 local → Sunday → Monday 30th 11:00.
    let lead = LeadBuilder::new("L3", "ion", "2026-11-27T08:00:00Z")
        .attempt("2026-11-27T09:00:00Z", AttemptOutcome::Reached)
        .build();
    check(
        &lead,
        "2026-11-27T10:00:00Z",
        expect![[r#"
            initial_contact []
              R3 FollowUpCall due 2026-11-30 09:00 -> ion"#]],
    );
    // Thursday 26th → Saturday → Monday 30th.
    let thu = LeadBuilder::new("L3", "ion", "2026-11-26T08:00:00Z")
        .attempt("2026-11-26T09:00:00Z", AttemptOutcome::Reached)
        .build();
    assert_eq!(
        state_at(&thu, "2026-11-26T10:00:00Z").tasks[0].due,
        t("2026-11-30T09:00:00Z")
    );
    // The same Thursday contact for Dana is due Saturday → Sunday 29th: each rep's own week.
    let dana = LeadBuilder::new("L3", "dana", "2026-11-26T08:00:00Z")
        .attempt("2026-11-26T09:00:00Z", AttemptOutcome::Reached)
        .build();
    assert_eq!(
        state_at(&dana, "2026-11-26T10:00:00Z").tasks[0].due,
        t("2026-11-29T09:00:00Z")
    );
}

#[test]
fn r3_follow_up_keeps_the_local_time_across_a_dst_change() {
    // Ion is reached Friday 2026-10-23 at 10:00 in Bucharest (UTC+3); two days later is
    // Sunday 25th, the day clocks go back, so the follow-up is Monday 26th at 10:00 local, now
    // UTC+2: 08:00Z, not 07:00Z.
    let lead = LeadBuilder::new("L3", "ion", "2026-10-23T06:00:00Z")
        .attempt("2026-10-23T07:00:00Z", AttemptOutcome::Reached)
        .build();
    assert_eq!(
        state_at(&lead, "2026-10-23T08:00:00Z").tasks[0].due,
        t("2026-10-26T08:00:00Z")
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
              R7 ReviewRefusal due 2026-11-03 08:00 -> mgr"#]],
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

#[test]
fn r7_returned_to_the_funnel_never_starts_nurture() {
    let lead = refused()
        .by("mgr")
        .review_return("2026-11-05T10:00:00Z")
        .build();
    // Long after: no nurture, no mailing list (the follow-up is the rep's, R7).
    let s = state_at(&lead, "2027-06-01T10:00:00Z");
    assert!(!s.mailing_list);
    assert!(!s.tasks.iter().any(|t| t.kind == TaskKind::NurtureRecontact));
}

// ---- R9 nurture -----------------------------------------------------------------------

#[test]
fn r9_nurture_waits_for_the_managers_validation() {
    // Refused on Tuesday 3rd: while the review waits, neither mailing list nor re-contact,
    // even 90 days later.
    let pending = refused().build();
    for now in ["2026-11-03T09:00:00Z", "2027-02-10T09:00:00Z"] {
        let s = state_at(&pending, now);
        assert!(s.has(Flag::AwaitingReview), "{now}");
        assert!(!s.mailing_list, "{now}");
        assert!(
            !s.tasks.iter().any(|t| t.kind == TaskKind::NurtureRecontact),
            "{now}"
        );
    }
    // Validated a month later (Thursday 2026-12-03, 12:00 Jerusalem): the re-contact is due 90
    // days after the validation, not after the refusal: Wednesday 2027-03-03 12:00 local.
    let validated = refused()
        .by("mgr")
        .review("2026-12-03T10:00:00Z", ReviewDecision::RefusalValidated)
        .build();
    check(
        &validated,
        "2026-12-03T11:00:00Z",
        expect![[r#"
            not_interested []
              R9 NurtureRecontact due 2027-03-03 10:00 -> dana
              on mailing list"#]],
    );
}

#[test]
fn r9_unreachable_close_starts_nurture_at_the_confirmation() {
    // R2's close needs no review: nurture starts when the rep confirms it, Thursday
    // 2026-11-26 10:00 Jerusalem. 90 days later is Wednesday 2027-02-24, a working day.
    let mut b = LeadBuilder::new("L9", "dana", "2026-11-15T07:00:00Z");
    for day in 16..=21 {
        b = b.no_answer(&format!("2026-11-{day}T08:00:00Z"));
    }
    let lead = b
        .refusal("2026-11-26T08:00:00Z", "unreachable", "crm", None)
        .build();
    check(
        &lead,
        "2026-11-26T09:00:00Z",
        expect![[r#"
            not_interested []
              R9 NurtureRecontact due 2027-02-24 08:00 -> dana
              on mailing list"#]],
    );
}

#[test]
fn r9_recontact_on_a_day_off_moves_to_the_next_working_day() {
    // Validated Monday 2026-11-02 10:00 Bucharest for Ion; 90 days later is Sunday
    // 2027-01-31: the re-contact is Monday 2027-02-01 10:00 local.
    let lead = LeadBuilder::new("L9", "ion", "2026-10-20T07:00:00Z")
        .attempt("2026-10-20T08:00:00Z", AttemptOutcome::Reached)
        .refusal("2026-10-30T08:00:00Z", "price", "crm", Some(100))
        .by("mgr")
        .review("2026-11-02T08:00:00Z", ReviewDecision::RefusalValidated)
        .build();
    let s = state_at(&lead, "2026-11-02T09:00:00Z");
    assert_eq!(s.tasks[0].kind, TaskKind::NurtureRecontact);
    assert_eq!(s.tasks[0].due, t("2027-02-01T08:00:00Z"));
}

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
    // 2026-02-01 12:00 Bucharest (winter) + 180 calendar days = 2026-07-31 12:00 Bucharest
    // (summer, UTC+3): the same local time, not 180 × 24 hours.
    check(&lead, "2026-07-31T08:59:00Z", expect!["customer []"]);
    check(
        &lead,
        "2026-07-31T09:00:00Z",
        expect![[r#"
            inactive_customer []
              R13 Reactivation due 2026-07-31 09:00 -> ion"#]],
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

// ---- R14 semantic conflicts -----------------------------------------------------------

/// One device's copy of a lead: it records with the real commands, on what it knows.
struct Device {
    lead: Lead,
    prefix: &'static str,
    n: u32,
}

type Command<'a> = dyn FnOnce(Author<'_>, &LeadFacts) -> Result<Vec<Event>, CommandError> + 'a;

impl Device {
    fn new(prefix: &'static str, lead: &Lead) -> Self {
        Self {
            lead: lead.clone(),
            prefix,
            n: 0,
        }
    }

    /// Runs `command` as `by` at `at`; returns the ids of the events it recorded.
    fn record(&mut self, by: &str, at: &str, command: Box<Command<'_>>) -> Vec<EventId> {
        let team = team();
        let facts = LeadFacts::from_lead(&team.playbook, &self.lead);
        let by = MemberId::from(by);
        let (prefix, n) = (self.prefix, &mut self.n);
        let mut ids = || {
            *n += 1;
            EventId(format!("{prefix}{n}"))
        };
        let author = Author {
            team: &team,
            by: &by,
            now: t(at),
            ids: &mut ids,
        };
        let events = command(author, &facts).expect("the command is accepted");
        let recorded = events.iter().map(|e| e.id.clone()).collect();
        self.lead.events.extend(events);
        recorded
    }

    /// Like [`Device::record`], but a refused command records nothing.
    #[cfg(not(target_arch = "wasm32"))]
    fn try_record(&mut self, by: &str, at: &str, command: Box<Command<'_>>) {
        let team = team();
        let facts = LeadFacts::from_lead(&team.playbook, &self.lead);
        let by = MemberId::from(by);
        let (prefix, n) = (self.prefix, &mut self.n);
        let mut ids = || {
            *n += 1;
            EventId(format!("{prefix}{n}"))
        };
        let author = Author {
            team: &team,
            by: &by,
            now: t(at),
            ids: &mut ids,
        };
        if let Ok(events) = command(author, &facts) {
            self.lead.events.extend(events);
        }
    }

    /// Receives every event `other` has.
    fn sync(&mut self, other: &Device) {
        for e in &other.lead.events {
            if !self.lead.events.iter().any(|mine| mine.id == e.id) {
                self.lead.events.push(e.clone());
            }
        }
    }
}

/// The lead with the events of both devices, as the merge leaves it.
fn merged(a: &Device, b: &Device) -> Lead {
    let mut lead = a.lead.clone();
    for e in &b.lead.events {
        if !lead.events.iter().any(|mine| mine.id == e.id) {
            lead.events.push(e.clone());
        }
    }
    lead
}

fn facts_of(lead: &Lead) -> LeadFacts {
    LeadFacts::from_lead(&team().playbook, lead)
}

/// The open conflicts, one line each: key, then each side as `who decision`.
fn render_conflicts(facts: &LeadFacts) -> String {
    facts
        .conflicts
        .iter()
        .map(|c| {
            let sides: Vec<String> = c
                .events
                .iter()
                .map(|e| format!("{} {}", e.by, serde_json::to_string(&e.decision).unwrap()))
                .collect();
            format!(
                "{} since {}: {}",
                c.key,
                c.since.format("%d %H:%M"),
                sides.join(" | ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn refusal_input() -> RefusalInput {
    RefusalInput {
        reason: "price".to_owned(),
        products: vec!["crm".into()],
        budget: Some(Money::new(500_000, "ILS")),
        ..RefusalInput::default()
    }
}

fn won_input() -> WonInput {
    WonInput {
        amount: Money::new(900_000, "ILS"),
        products: vec!["crm".into()],
    }
}

fn step(kind: NextStepKind, due: &str) -> NextStepInput {
    NextStepInput {
        kind,
        due: t(due),
        agreed: true,
        duration_minutes: None,
        note: String::new(),
    }
}

/// Dana's lead with a first conversation that ended with a call-back on the 6th, recorded
/// through the commands, and a refusal on the 4th pending review: both devices start here.
fn refused_on_one_device() -> Device {
    let lead = LeadBuilder::new("L14", "dana", "2026-11-02T07:00:00Z")
        .id("C0")
        .build();
    let mut device = Device::new("S", &lead);
    device.record(
        "dana",
        "2026-11-03T08:00:00Z",
        Box::new(|a, f| {
            log_conversation(
                a,
                f,
                ConversationInput {
                    notes: "interested, wants a price".to_owned(),
                    next_step: Some(step(NextStepKind::Call, "2026-11-06T08:00:00Z")),
                    ..ConversationInput::default()
                },
            )
        }),
    );
    device.record(
        "dana",
        "2026-11-04T08:00:00Z",
        Box::new(|a, f| record_refusal(a, f, &refusal_input())),
    );
    device
}

/// The shared start, then `rep` and `manager` each record on their own device.
fn two_devices(
    rep: (&str, &str, Box<Command<'_>>),
    manager: (&str, &str, Box<Command<'_>>),
) -> (Lead, Vec<EventId>, Vec<EventId>) {
    let start = refused_on_one_device();
    let mut a = Device::new("A", &start.lead);
    let mut b = Device::new("B", &start.lead);
    let ids_a = a.record(rep.0, rep.1, rep.2);
    let ids_b = b.record(manager.0, manager.1, manager.2);
    (merged(&a, &b), ids_a, ids_b)
}

#[test]
fn r14_won_on_one_device_while_the_manager_validates_the_refusal() {
    let (lead, won, validated) = two_devices(
        (
            "dana",
            "2026-11-05T08:00:00Z",
            Box::new(|a, f| mark_won(a, f, &won_input())),
        ),
        (
            "mgr",
            "2026-11-05T09:00:00Z",
            Box::new(|a, f| review_refusal(a, f, ReviewDecision::RefusalValidated, "called them")),
        ),
    );
    // Both name the refusal as what they saw last.
    let facts = facts_of(&lead);
    let refusal = facts.refusals[0].event.clone();
    for id in [&won[0], &validated[0]] {
        let e = lead.events.iter().find(|e| &e.id == id).unwrap();
        assert_eq!(e.after.as_ref(), Some(&refusal));
    }
    expect![[r#"outcome:A1+B1 since 05 09:00: dana {"type":"won","amount":{"minor":900000,"currency":"ILS"}} | mgr {"type":"review_decision","decision":"refusal_validated"}"#]]
        .assert_eq(&render_conflicts(&facts));
    check(
        &lead,
        "2026-11-05T10:00:00Z",
        expect![[r#"
            customer [Conflict]
              R14 ResolveConflict { conflict: "outcome:A1+B1" } due 2026-11-05 09:00 -> mgr"#]],
    );
}

#[test]
fn r14_two_managers_decide_the_same_refusal_differently() {
    let decide = |d: ReviewDecision| -> Box<Command<'static>> {
        Box::new(move |a, f| review_refusal(a, f, d, ""))
    };
    let returned = ReviewDecision::ReturnToFunnel {
        offer_change: crate::lead::OfferChange::Discount,
    };
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", decide(returned.clone())),
        (
            "ada",
            "2026-11-05T08:30:00Z",
            decide(ReviewDecision::RefusalValidated),
        ),
    );
    expect![[r#"outcome:A1+B1 since 05 08:30: mgr {"type":"review_decision","decision":"return_to_funnel","offer_change":"discount"} | ada {"type":"review_decision","decision":"refusal_validated"}"#]]
        .assert_eq(&render_conflicts(&facts_of(&lead)));
    // The same decision twice is no contradiction.
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", decide(returned.clone())),
        ("ada", "2026-11-05T08:30:00Z", decide(returned)),
    );
    assert!(facts_of(&lead).conflicts.is_empty());
}

#[test]
fn r14_two_owners_conflict_the_same_owner_twice_does_not() {
    let assign_to = |owner: &'static str| -> Box<Command<'static>> {
        Box::new(move |a, f| assign(a, f, &MemberId::from(owner)))
    };
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", assign_to("ion")),
        ("ada", "2026-11-05T08:05:00Z", assign_to("mgr")),
    );
    let facts = facts_of(&lead);
    expect![[r#"owner:A1+B1 since 05 08:05: mgr {"type":"assigned","owner":"ion"} | ada {"type":"assigned","owner":"mgr"}"#]]
        .assert_eq(&render_conflicts(&facts));
    // Until settled, the later assignment holds the lead.
    assert_eq!(facts.owner.as_str(), "mgr");
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", assign_to("ion")),
        ("ada", "2026-11-05T08:05:00Z", assign_to("ion")),
    );
    let facts = facts_of(&lead);
    assert!(facts.conflicts.is_empty());
    assert_eq!(facts.owner.as_str(), "ion");
}

#[test]
fn r14_different_status_overrides_conflict_and_an_override_against_a_decision() {
    let set = |status: &'static str| -> Box<Command<'static>> {
        Box::new(move |a, f| override_status(a, f, status, "manager's call"))
    };
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", set("in_process")),
        ("ada", "2026-11-05T08:05:00Z", set("inactive_customer")),
    );
    assert_eq!(
        facts_of(&lead).conflicts[0].key,
        "outcome:A1+B1",
        "two different overrides"
    );
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", set("in_process")),
        ("ada", "2026-11-05T08:05:00Z", set("in_process")),
    );
    assert!(
        facts_of(&lead).conflicts.is_empty(),
        "the same override twice"
    );
    // An override to Not interested agrees with a validation; one to In process does not.
    let validate: fn() -> Box<Command<'static>> =
        || Box::new(|a, f| review_refusal(a, f, ReviewDecision::RefusalValidated, ""));
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", validate()),
        ("ada", "2026-11-05T08:05:00Z", set("not_interested")),
    );
    assert!(facts_of(&lead).conflicts.is_empty());
    let (lead, _, _) = two_devices(
        ("mgr", "2026-11-05T08:00:00Z", validate()),
        ("ada", "2026-11-05T08:05:00Z", set("in_process")),
    );
    assert_eq!(facts_of(&lead).conflicts.len(), 1);
}

#[test]
fn r14_two_next_steps_for_the_same_slot() {
    // Before the refusal: the rep talks to the customer and agrees a demo; the manager,
    // offline, reschedules the open call-back.
    let lead = LeadBuilder::new("L14", "dana", "2026-11-02T07:00:00Z")
        .id("C0")
        .build();
    let mut start = Device::new("S", &lead);
    start.record(
        "dana",
        "2026-11-03T08:00:00Z",
        Box::new(|a, f| set_next_step(a, f, &step(NextStepKind::Call, "2026-11-06T08:00:00Z"))),
    );
    let talk = |due: &'static str| -> Box<Command<'static>> {
        Box::new(move |a, f| {
            log_conversation(
                a,
                f,
                ConversationInput {
                    notes: "wants a demo".to_owned(),
                    next_step: Some(step(NextStepKind::Demo, due)),
                    ..ConversationInput::default()
                },
            )
        })
    };
    let reschedule = |kind, due: &'static str| -> Box<Command<'static>> {
        Box::new(move |a, f| set_next_step(a, f, &step(kind, due)))
    };
    let run = |rep: Box<Command<'_>>, mgr: Box<Command<'_>>| {
        let mut a = Device::new("A", &start.lead);
        let mut b = Device::new("B", &start.lead);
        a.record("dana", "2026-11-04T08:00:00Z", rep);
        b.record("mgr", "2026-11-04T09:00:00Z", mgr);
        facts_of(&merged(&a, &b))
    };
    let facts = run(
        talk("2026-11-10T08:00:00Z"),
        reschedule(NextStepKind::Visit, "2026-11-09T08:00:00Z"),
    );
    // The conversation itself is no side: only the next steps are.
    expect![[r#"next_step:A2+B1 since 04 09:00: dana {"type":"next_step","kind":"demo","due":"2026-11-10T08:00:00Z"} | mgr {"type":"next_step","kind":"visit","due":"2026-11-09T08:00:00Z"}"#]]
        .assert_eq(&render_conflicts(&facts));
    // The same slot twice agrees, whoever set it and however.
    let facts = run(
        talk("2026-11-10T08:00:00Z"),
        reschedule(NextStepKind::Demo, "2026-11-10T08:00:00Z"),
    );
    assert!(facts.conflicts.is_empty());
    // A different kind at the same time is another slot.
    let facts = run(
        reschedule(NextStepKind::Call, "2026-11-10T08:00:00Z"),
        reschedule(NextStepKind::Meeting, "2026-11-10T08:00:00Z"),
    );
    assert_eq!(facts.conflicts.len(), 1);
}

#[test]
fn r14_sequential_decisions_on_synced_devices_never_conflict() {
    let mut a = refused_on_one_device();
    a.prefix = "A";
    let mut b = Device::new("B", &a.lead);
    b.record(
        "mgr",
        "2026-11-05T08:00:00Z",
        Box::new(|a, f| {
            review_refusal(
                a,
                f,
                ReviewDecision::ReturnToFunnel {
                    offer_change: crate::lead::OfferChange::Discount,
                },
                "",
            )
        }),
    );
    a.sync(&b);
    a.record(
        "dana",
        "2026-11-06T08:00:00Z",
        Box::new(|a, f| {
            log_conversation(
                a,
                f,
                ConversationInput {
                    notes: "the discount works".to_owned(),
                    final_yes: Some(won_input()),
                    ..ConversationInput::default()
                },
            )
        }),
    );
    b.sync(&a);
    b.record(
        "mgr",
        "2026-11-07T08:00:00Z",
        Box::new(|a, f| assign(a, f, &MemberId::from("ion"))),
    );
    let facts = facts_of(&b.lead);
    assert!(facts.conflicts.is_empty(), "{}", render_conflicts(&facts));
    assert_eq!(facts.role, crate::playbook::StatusRole::Won);
    assert_eq!(facts.owner.as_str(), "ion");
}

#[test]
fn r14_events_recorded_before_r14_never_conflict() {
    // No `after`: a refusal, a validation and a win concurrently made by anyone.
    let lead = refused()
        .by("mgr")
        .review("2026-11-05T10:00:00Z", ReviewDecision::RefusalValidated)
        .by("dana")
        .won("2026-11-05T10:00:00Z", 100)
        .build();
    let facts = facts_of(&lead);
    assert!(facts.conflicts.is_empty() && facts.overruled.is_empty());
    assert_eq!(facts.role, crate::playbook::StatusRole::Won);
}

/// Won on the rep's device (`A1`) against the manager's validation (`B1`).
fn won_against_validated() -> Lead {
    two_devices(
        (
            "dana",
            "2026-11-05T08:00:00Z",
            Box::new(|a, f| mark_won(a, f, &won_input())),
        ),
        (
            "mgr",
            "2026-11-05T09:00:00Z",
            Box::new(|a, f| review_refusal(a, f, ReviewDecision::RefusalValidated, "")),
        ),
    )
    .0
}

/// `lead` with `command` recorded on top of it by `by` at `at`.
fn then(lead: &Lead, by: &str, at: &str, command: Box<Command<'_>>) -> Lead {
    let mut device = Device::new("R", lead);
    device.record(by, at, command);
    device.lead
}

fn resolve(key: &'static str, keep: Option<&'static str>) -> Box<Command<'static>> {
    Box::new(move |a, f| resolve_conflict(a, f, key, keep.map(EventId::from).as_ref(), "settled"))
}

#[test]
fn r14_resolution_keeping_one_side_overrules_the_other() {
    let lead = won_against_validated();
    // Keep the win: the validation stays in the history, the rules skip it.
    let kept = then(
        &lead,
        "mgr",
        "2026-11-05T10:00:00Z",
        resolve("outcome:A1+B1", Some("A1")),
    );
    let facts = facts_of(&kept);
    assert!(facts.conflicts.is_empty());
    assert_eq!(facts.overruled, [EventId::from("B1")]);
    assert!(kept.events.iter().any(|e| e.id.as_str() == "B1"));
    check(&kept, "2026-11-05T11:00:00Z", expect!["customer []"]);
    // Keep the validation: the win is overruled, the lead stays lost, in nurture.
    let kept = then(
        &lead,
        "mgr",
        "2026-11-05T10:00:00Z",
        resolve("outcome:A1+B1", Some("B1")),
    );
    assert_eq!(facts_of(&kept).overruled, [EventId::from("A1")]);
    check(
        &kept,
        "2026-11-05T11:00:00Z",
        expect![[r#"
            not_interested []
              R9 NurtureRecontact due 2027-02-03 09:00 -> dana
              on mailing list"#]],
    );
}

#[test]
fn r14_resolution_without_keep_lets_both_stand() {
    let lead = won_against_validated();
    let settled = then(
        &lead,
        "ada",
        "2026-11-05T10:00:00Z",
        resolve("outcome:A1+B1", None),
    );
    let facts = facts_of(&settled);
    assert!(facts.conflicts.is_empty() && facts.overruled.is_empty());
    // Both stand, in canonical order: a validation after the win does not move the customer.
    assert_eq!(
        state_at(&settled, "2026-11-05T11:00:00Z").status,
        "customer"
    );
    assert_eq!(
        state_at(&settled, "2026-11-05T11:00:00Z").flags,
        [],
        "the flag goes"
    );
}

#[test]
fn r14_resolve_conflict_is_for_managers_and_names_the_field() {
    let facts = facts_of(&won_against_validated());
    let team = team();
    let attempt = |by: &str, key: &str, keep: Option<&str>| {
        let by = MemberId::from(by);
        let mut ids = || EventId::from("X");
        let author = Author {
            team: &team,
            by: &by,
            now: t("2026-11-05T10:00:00Z"),
            ids: &mut ids,
        };
        let keep = keep.map(EventId::from);
        resolve_conflict(author, &facts, key, keep.as_ref(), "")
            .map(|events| events.len())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        attempt("dana", "outcome:A1+B1", None),
        Err(
            "not allowed: only a manager or an admin may record a conflict_resolved event; dana is a rep"
                .to_owned()
        )
    );
    assert_eq!(
        attempt("mgr", "owner:A1+B1", None),
        Err("conflict: \"owner:A1+B1\" is not an open conflict of lead L14 (open: [\"outcome:A1+B1\"])".to_owned())
    );
    assert_eq!(
        attempt("mgr", "outcome:A1+B1", Some("S1")),
        Err("keep: S1 is not one of the conflict's events [\"A1\", \"B1\"]".to_owned())
    );
    assert_eq!(attempt("ada", "outcome:A1+B1", Some("B1")), Ok(1));
}

#[test]
fn r14_conflict_shows_in_the_managers_inbox_first_whatever_the_status() {
    let lead = LeadBuilder::new("L14", "dana", "2026-11-02T07:00:00Z")
        .id("C0")
        .do_not_contact()
        .build();
    let mut a = Device::new("A", &lead);
    let mut b = Device::new("B", &lead);
    a.record(
        "mgr",
        "2026-11-03T08:00:00Z",
        Box::new(|a, f| assign(a, f, &"ion".into())),
    );
    b.record(
        "ada",
        "2026-11-03T08:01:00Z",
        Box::new(|a, f| assign(a, f, &"mgr".into())),
    );
    let conflicted = facts_of(&merged(&a, &b));
    let refused = facts_of(&refused().build());
    let team = team();
    let now = t("2026-11-05T10:00:00Z");
    let inbox = |who: &str| -> Vec<String> {
        crate::review::review_inbox(
            &team,
            &who.into(),
            &[refused.clone(), conflicted.clone()],
            now,
        )
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i.lead,
                serde_json::to_value(&i.kind).unwrap()["kind"]
            )
        })
        .collect()
    };
    // Conflicts first; the same lead is also stale (still New after a day).
    assert_eq!(
        inbox("mgr"),
        [
            "L14 \"conflict\"",
            "L7 \"refusal_review\"",
            "L14 \"stale_new\""
        ]
    );
    assert_eq!(inbox("ada"), inbox("mgr"));
    assert!(inbox("dana").is_empty());
    // Flagged although the lead may not be contacted.
    assert!(derive(&team, &conflicted, now).has(Flag::Conflict));
}

#[test]
fn r14_keeping_the_managers_next_step_overrules_the_reps_whole_branch() {
    // The rep, offline, agrees a demo in a conversation, then reschedules it twice; the
    // manager meanwhile set a visit. Keeping the visit overrules all three of the rep's
    // steps, and the rep's conversations do not consume the visit they never saw.
    let lead = LeadBuilder::new("L14", "dana", "2026-11-02T07:00:00Z")
        .id("C0")
        .build();
    let mut rep = Device::new("A", &lead);
    let mut mgr = Device::new("B", &lead);
    let talk = |due: &'static str| -> Box<Command<'static>> {
        Box::new(move |a, f| {
            log_conversation(
                a,
                f,
                ConversationInput {
                    notes: "talked".to_owned(),
                    next_step: Some(step(NextStepKind::Demo, due)),
                    ..ConversationInput::default()
                },
            )
        })
    };
    mgr.record(
        "mgr",
        "2026-11-03T07:00:00Z",
        Box::new(|a, f| set_next_step(a, f, &step(NextStepKind::Visit, "2026-11-20T08:00:00Z"))),
    );
    rep.record("dana", "2026-11-03T08:00:00Z", talk("2026-11-10T08:00:00Z"));
    rep.record("dana", "2026-11-04T08:00:00Z", talk("2026-11-11T08:00:00Z"));
    rep.record(
        "dana",
        "2026-11-05T08:00:00Z",
        Box::new(|a, f| set_next_step(a, f, &step(NextStepKind::Demo, "2026-11-12T08:00:00Z"))),
    );
    let lead = merged(&rep, &mgr);
    let facts = facts_of(&lead);
    assert_eq!(
        facts
            .conflicts
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["next_step:A2+B1"],
        "one fork, one conflict"
    );
    assert_eq!(
        facts.next_step.as_ref().unwrap().event.as_str(),
        "A5",
        "unsettled: the latest"
    );
    let kept = then(
        &lead,
        "mgr",
        "2026-11-05T10:00:00Z",
        resolve("next_step:A2+B1", Some("B1")),
    );
    let facts = facts_of(&kept);
    let ids = |v: &[EventId]| {
        v.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(ids(&facts.overruled), "A2 A4 A5");
    assert_eq!(facts.next_step.as_ref().unwrap().event.as_str(), "B1");
    assert_eq!(facts.n_conversations, 2, "the conversations happened");
    assert_eq!(facts.heads.next_step.as_ref().unwrap().as_str(), "B1");
}

#[test]
fn r14_concurrent_resolutions_the_first_counts_the_other_is_overruled() {
    let lead = won_against_validated();
    let mut a = Device::new("M", &lead);
    let mut b = Device::new("N", &lead);
    a.record(
        "mgr",
        "2026-11-05T10:00:00Z",
        resolve("outcome:A1+B1", Some("A1")),
    );
    b.record(
        "ada",
        "2026-11-05T10:30:00Z",
        resolve("outcome:A1+B1", Some("B1")),
    );
    let facts = facts_of(&merged(&a, &b));
    assert_eq!(facts.overruled, [EventId::from("B1"), EventId::from("N1")]);
    assert_eq!(facts.role, crate::playbook::StatusRole::Won);
}

/// A history recorded on several devices (`after` chains): two owners, two next steps
/// with a reschedule on one branch, won against a validation; the first two settled
/// with `keep`, the outcome both ways over the prefixes.
fn history_with_conflicts() -> Lead {
    LeadBuilder::new("L14", "dana", "2026-11-01T07:00:00Z")
        .id("c")
        .conversation(
            "2026-11-02T08:00:00Z",
            ConversationKind::Call,
            ConversationEnd::NextStep,
        )
        .id("t1")
        .after("c")
        .next_step(
            "2026-11-02T08:00:00Z",
            NextStepKind::Call,
            "2026-11-05T08:00:00Z",
        )
        .id("n1")
        .after("c")
        .by("mgr")
        .assigned("2026-11-03T08:00:00Z", "ion")
        .id("o1")
        .after("c")
        .by("ada")
        .assigned("2026-11-03T08:30:00Z", "mgr")
        .id("o2")
        .after("c")
        .by("dana")
        .next_step(
            "2026-11-04T08:00:00Z",
            NextStepKind::Visit,
            "2026-11-10T08:00:00Z",
        )
        .id("n2")
        .after("n1")
        .by("mgr")
        .next_step(
            "2026-11-04T09:00:00Z",
            NextStepKind::Call,
            "2026-11-06T08:00:00Z",
        )
        .id("n3")
        .after("n1")
        .by("dana")
        .next_step(
            "2026-11-05T08:00:00Z",
            NextStepKind::Visit,
            "2026-11-11T08:00:00Z",
        )
        .id("n4")
        .after("n2")
        .refusal("2026-11-06T08:00:00Z", "price", "crm", Some(100))
        .id("r1")
        .after("c")
        .won("2026-11-07T08:00:00Z", 500)
        .id("w1")
        .after("r1")
        .by("mgr")
        .review("2026-11-07T10:00:00Z", ReviewDecision::RefusalValidated)
        .id("v1")
        .after("r1")
        .resolved("2026-11-08T08:00:00Z", "owner:o1+o2", Some("o1"))
        .id("s1")
        .resolved("2026-11-08T09:00:00Z", "next_step:n2+n3", Some("n3"))
        .id("s2")
        .by("ada")
        .resolved("2026-11-08T09:30:00Z", "next_step:n2+n3", None)
        .id("s3")
        .by("mgr")
        .resolved("2026-11-09T08:00:00Z", "outcome:v1+w1", Some("v1"))
        .id("s4")
        .by("dana")
        .order("2026-11-20T08:00:00Z", 900_000, &["crm"])
        .id("p1")
        .build()
}

#[test]
fn history_with_conflicts_settles_to_the_kept_decisions() {
    let facts = facts_of(&history_with_conflicts());
    assert!(facts.conflicts.is_empty());
    let overruled: Vec<&str> = facts.overruled.iter().map(|e| e.as_str()).collect();
    assert_eq!(overruled, ["n2", "n4", "o2", "s3", "w1"]);
    assert_eq!(facts.owner.as_str(), "ion");
    assert_eq!(
        facts.won_at,
        Some(t("2026-11-20T08:00:00Z")),
        "the order, not w1"
    );
    let mut open = history_with_conflicts();
    open.events.retain(|e| !e.id.as_str().starts_with('s'));
    let keys: Vec<String> = facts_of(&open)
        .conflicts
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(keys, ["next_step:n2+n3", "outcome:v1+w1", "owner:o1+o2"]);
}

#[test]
fn r14_summaries_with_conflicts_round_trip_through_json_and_old_events_still_parse() {
    let mut open = history_with_conflicts();
    open.events.retain(|e| !e.id.as_str().starts_with('s'));
    let facts = facts_of(&open);
    assert_eq!(facts.conflicts.len(), 3);
    let json = serde_json::to_string(&facts).unwrap();
    assert_eq!(serde_json::from_str::<LeadFacts>(&json).unwrap(), facts);
    // `after` and `keep` are written only when set, and read as absent from older JSON.
    let old = r#"{"id": "e", "at": "2026-11-01T07:00:00Z", "by": "dana", "type": "conflict_resolved", "conflict": "k"}"#;
    let event: Event = serde_json::from_str(old).unwrap();
    assert_eq!(event.after, None);
    assert!(matches!(
        event.kind,
        crate::lead::EventKind::ConflictResolved { keep: None, .. }
    ));
    let written = serde_json::to_value(&event).unwrap();
    assert!(written.get("after").is_none() && written.get("keep").is_none());
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
            seed in proptest::collection::vec(any::<u32>(), 24),
            cut in 0usize..24,
            with_conflicts in any::<bool>(),
            now_offset_h in 0i64..(24 * 400),
        ) {
            let full = if with_conflicts { history_with_conflicts() } else { history() };
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
            let facts = LeadFacts::from_lead(&team.playbook, &lead);
            let facts_shuffled = LeadFacts::from_lead(&team.playbook, &shuffled);
            prop_assert_eq!(&facts, &facts_shuffled);
            let a = derive(&team, &facts, now);
            let b = derive(&team, &facts_shuffled, now);
            prop_assert_eq!(a, b);
        }

        /// Devices record through the commands on what they know and sync now and then; the
        /// merged lead gives the same facts (conflicts, overruled events, heads) whatever
        /// order its events are stored in, every conflict pairs two concurrent decisions of
        /// one topic, and a device that never misses anything never conflicts.
        #[test]
        fn devices_that_record_concurrently_agree_on_the_conflicts(
            ops in proptest::collection::vec((0u8..12, 0usize..3, 0usize..3, 0u8..12), 1..40),
            seed in any::<u64>(),
        ) {
            let lead = LeadBuilder::new("L", "dana", "2026-11-01T07:00:00Z").id("c").build();
            let prefixes = ["A", "B", "C"];
            let mut devices: Vec<Device> =
                prefixes.iter().map(|p| Device::new(p, &lead)).collect();
            let mut single = Device::new("S", &lead);
            for (i, (action, d, other, p)) in ops.iter().copied().enumerate() {
                let at = (t("2026-11-02T08:00:00Z") + chrono::Duration::hours(i as i64 * 7))
                    .to_rfc3339();
                if action >= 9 {
                    let from = devices[other].lead.clone();
                    devices[d].sync(&Device::new("-", &from));
                    continue;
                }
                record_random(&mut devices[d], action, p, &at);
                record_random(&mut single, action, p, &at);
            }
            let mut all = devices.pop().unwrap();
            for d in &devices {
                all.sync(d);
            }
            let team = team();
            let facts = LeadFacts::from_lead(&team.playbook, &all.lead);
            let mut shuffled = all.lead.clone();
            let mut rng = seed | 1;
            for i in (1..shuffled.events.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                shuffled.events.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(&facts, &LeadFacts::from_lead(&team.playbook, &shuffled));
            for c in &facts.conflicts {
                let sides: Vec<&Event> = c
                    .events
                    .iter()
                    .map(|s| all.lead.events.iter().find(|e| e.id == s.event).unwrap())
                    .collect();
                prop_assert_eq!(sides.len(), 2);
                prop_assert_eq!(&sides[0].after, &sides[1].after);
                prop_assert_eq!(sides[0].kind.topic(), Some(c.topic));
                prop_assert_eq!(sides[1].kind.topic(), Some(c.topic));
                prop_assert!(c.events.iter().all(|s| !facts.overruled.contains(&s.event)));
            }
            let alone = LeadFacts::from_lead(&team.playbook, &single.lead);
            prop_assert!(alone.conflicts.is_empty(), "{}", render_conflicts(&alone));
            prop_assert!(alone.overruled.is_empty());
        }
    }

    /// One random command on `device`; refused commands record nothing.
    fn record_random(device: &mut Device, action: u8, p: u8, at: &str) {
        let due = (t(at) + chrono::Duration::days(1 + i64::from(p % 4))).to_rfc3339();
        let kinds = [
            NextStepKind::Call,
            NextStepKind::Meeting,
            NextStepKind::Visit,
        ];
        let kind = kinds[usize::from(p) % kinds.len()];
        let owners = ["dana", "ion", "mgr"];
        let statuses = ["in_process", "not_interested", "customer"];
        let command: Box<Command<'_>> = match action {
            0 => Box::new(move |a, f| assign(a, f, &MemberId::from(owners[usize::from(p) % 3]))),
            1 => Box::new(move |a, f| set_next_step(a, f, &step(kind, &due))),
            2 => Box::new(move |a, f| {
                log_conversation(
                    a,
                    f,
                    ConversationInput {
                        notes: "talked".to_owned(),
                        next_step: Some(step(kind, &due)),
                        ..ConversationInput::default()
                    },
                )
            }),
            3 => Box::new(|a, f| record_refusal(a, f, &refusal_input())),
            4 => Box::new(|a, f| mark_won(a, f, &won_input())),
            5 => Box::new(move |a, f| {
                let decision = if p.is_multiple_of(2) {
                    ReviewDecision::RefusalValidated
                } else {
                    ReviewDecision::ReturnToFunnel {
                        offer_change: crate::lead::OfferChange::Discount,
                    }
                };
                review_refusal(a, f, decision, "")
            }),
            6 => {
                Box::new(move |a, f| override_status(a, f, statuses[usize::from(p) % 3], "manager"))
            }
            7 => Box::new(move |a, f| {
                let Some(c) = f.conflicts.first() else {
                    return Err(CommandError::NotNow {
                        problem: crate::commands::Problem::ConflictMissing { open: Vec::new() },
                    });
                };
                let keep = match p % 3 {
                    0 => None,
                    k => Some(c.events[usize::from(k) - 1].event.clone()),
                };
                let key = c.key.clone();
                resolve_conflict(a, f, &key, keep.as_ref(), "")
            }),
            _ => Box::new(|a, _| {
                Ok(crate::commands::log_attempt(
                    a,
                    crate::lead::Channel::Call,
                    AttemptOutcome::NoAnswer,
                ))
            }),
        };
        let by = match action {
            0 | 5 | 6 | 7 => "mgr",
            _ => "dana",
        };
        device.try_record(by, at, command);
    }

    #[test]
    fn full_history_ends_as_a_customer() {
        let s = state_at(&history(), "2026-11-21T00:00:00Z");
        assert_eq!(s.status, "customer");
        assert!(s.flags.is_empty(), "{:?}", s.flags);
    }
}
