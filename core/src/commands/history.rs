//! The commands' entry rules checked on a history recorded elsewhere (a hand-written `eval`
//! file, an import): events the app's commands would have refused — a conversation without
//! notes (R3), a conversation whose ending was not recorded with it (R4), a next step due
//! before it was recorded (R4), a refusal without its products or required budget (R7), a
//! review decided by someone who is not a manager (R7). Such events are kept and folded as
//! they are (a history is never rejected for them); the warnings say what is wrong.
//!
//! The checks are the commands' own (`check_refusal`, `check_next_step`), applied to each
//! event at the time it was recorded.

use super::{
    CommandError, NextStepInput, Problem, RefusalInput, check_next_step, check_refusal, invalid,
    missing,
};
use crate::ids::EventId;
use crate::lead::{ConversationEnd, EventKind, Lead};
use crate::team::Team;
use serde::Serialize;

/// An event of a history that a command would have refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryWarning {
    /// The event.
    pub event: EventId,
    /// The field of the event at fault, e.g. `notes`, `budget`.
    pub field: String,
    /// The rule whose entry check it breaks, e.g. `R3`.
    pub rule: String,
    /// What is wrong, as the command would have said it (a code with parameters).
    pub error: CommandError,
}

impl HistoryWarning {
    /// What is wrong, in English (without the field).
    pub fn message(&self) -> String {
        match &self.error {
            CommandError::Missing { problem, .. }
            | CommandError::Invalid { problem, .. }
            | CommandError::NotNow { problem } => problem.to_string(),
            CommandError::Refused { refusal } => refusal.to_string(),
        }
    }
}

/// The warnings of `lead`'s history, in the order its events are stored.
pub fn check_history(team: &Team, lead: &Lead) -> Vec<HistoryWarning> {
    let mut warnings = Vec::new();
    for event in &lead.events {
        let mut from_command = |rule: &str, error: CommandError| {
            warnings.push(HistoryWarning {
                event: event.id.clone(),
                field: error.field().unwrap_or("type").to_owned(),
                rule: rule.to_owned(),
                error,
            });
        };
        match &event.kind {
            EventKind::Conversation { notes, ended, .. } => {
                if notes.trim().is_empty() {
                    from_command("R3", missing("notes", Problem::NotesMissing));
                }
                let recorded = lead.events.iter().any(|e| {
                    e.at == event.at
                        && match ended {
                            ConversationEnd::NextStep => {
                                matches!(e.kind, EventKind::NextStep { .. })
                            }
                            ConversationEnd::FinalYes => matches!(e.kind, EventKind::Won { .. }),
                            ConversationEnd::FinalNo => {
                                matches!(e.kind, EventKind::Refusal { .. })
                            }
                        }
                });
                if !recorded {
                    let kind = match ended {
                        ConversationEnd::NextStep => "next_step",
                        ConversationEnd::FinalYes => "won",
                        ConversationEnd::FinalNo => "refusal",
                    }
                    .to_owned();
                    from_command("R4", invalid("ended", Problem::EndingNotRecorded { kind }));
                }
            }
            EventKind::NextStep {
                kind,
                due,
                agreed,
                duration_minutes,
                note,
            } => {
                let input = NextStepInput {
                    kind: *kind,
                    due: *due,
                    agreed: *agreed,
                    duration_minutes: *duration_minutes,
                    note: note.clone(),
                };
                if let Err(e) = check_next_step("due", &input, event.at) {
                    from_command("R4", e);
                }
            }
            // R2's close ("unreachable" after the cadence) names no product and no budget.
            EventKind::Refusal { reason, .. } if *reason == team.playbook.cadence.close_reason => {}
            EventKind::Refusal {
                reason,
                products,
                budget,
                competitor,
                note,
            } => {
                let input = RefusalInput {
                    reason: reason.clone(),
                    products: products.clone(),
                    budget: budget.clone(),
                    competitor: competitor.clone(),
                    note: note.clone(),
                };
                if let Err(e) = check_refusal(team, &input) {
                    from_command("R7", e);
                }
            }
            EventKind::ReviewDecision { .. } => {
                if let Err(refusal) = crate::write::may_record(team, &event.by, &event.kind) {
                    from_command("R7", refusal.into());
                }
            }
            _ => {}
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::lead::{ConversationKind, Event, NextStepKind, ReviewDecision};
    use crate::testing::{LeadBuilder, t, team};
    use expect_test::{Expect, expect};

    fn check(lead: &Lead, expect: Expect) {
        let out: Vec<String> = check_history(&team(), lead)
            .iter()
            .map(|w| format!("{} {} {}: {}", w.event, w.rule, w.field, w.message()))
            .collect();
        expect.assert_eq(&out.join("\n"));
    }

    fn with_notes(mut lead: Lead, notes: &str) -> Lead {
        for e in &mut lead.events {
            if let EventKind::Conversation { notes: n, .. } = &mut e.kind {
                *n = notes.to_owned();
            }
        }
        lead
    }

    #[test]
    fn a_history_the_commands_would_write_has_no_warning() {
        let lead = LeadBuilder::new("L1", "dana", "2026-11-01T07:00:00Z")
            .call_then("2026-11-01T08:00:00Z", "2026-11-03T08:00:00Z")
            .conversation(
                "2026-11-03T08:00:00Z",
                ConversationKind::Call,
                ConversationEnd::FinalNo,
            )
            .refusal("2026-11-03T08:00:00Z", "price", "crm", Some(500_000))
            .by("mgr")
            .review("2026-11-04T08:00:00Z", ReviewDecision::RefusalValidated)
            .build();
        check(&lead, expect![""]);
        // R2's close needs neither products nor a budget.
        let lead = LeadBuilder::new("L2", "dana", "2026-11-01T07:00:00Z")
            .no_answer("2026-11-01T08:00:00Z")
            .refusal("2026-11-09T08:00:00Z", "unreachable", "crm", None)
            .build();
        check(&lead, expect![""]);
    }

    #[test]
    fn each_entry_rule_is_reported_at_its_event_and_field() {
        let lead = LeadBuilder::new("L1", "dana", "2026-11-01T07:00:00Z")
            // Ended with a next step that was never recorded, and no notes.
            .conversation(
                "2026-11-01T08:00:00Z",
                ConversationKind::Call,
                ConversationEnd::NextStep,
            )
            // A next step due before it was recorded.
            .next_step(
                "2026-11-02T08:00:00Z",
                NextStepKind::Call,
                "2026-11-02T07:00:00Z",
            )
            // A refusal without budget, reviewed by the rep herself.
            .refusal("2026-11-03T08:00:00Z", "price", "crm", None)
            .review("2026-11-04T08:00:00Z", ReviewDecision::RefusalValidated)
            .build();
        check(
            &with_notes(lead, "  "),
            expect![[r#"
                L1-e001 R3 notes: document what was said and the customer's needs; a conversation without notes is not saved
                L1-e001 R4 ended: the conversation ended with a next step, but no `next_step` event was recorded with it (same `at`)
                L1-e002 R4 due: the next step must be due after the time it is recorded (2026-11-02 08:00:00 UTC), not at 2026-11-02 07:00:00 UTC
                L1-e003 R7 budget: a refusal records the customer's budget (R7)
                L1-e004 R7 type: only a manager or an admin may record a review_decision event; dana is a rep"#]],
        );
        let mut lead = LeadBuilder::new("L3", "dana", "2026-11-01T07:00:00Z").build();
        lead.events.push(Event {
            id: "yes".into(),
            at: t("2026-11-05T08:00:00Z"),
            by: "dana".into(),
            after: None,
            kind: EventKind::Conversation {
                kind: ConversationKind::Meeting,
                notes: "signed".to_owned(),
                needs: String::new(),
                ended: ConversationEnd::FinalYes,
            },
        });
        check(
            &lead,
            expect![
                "yes R4 ended: the conversation ended with a final yes, but no `won` event was recorded with it (same `at`)"
            ],
        );
    }
}
