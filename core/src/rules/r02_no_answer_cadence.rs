//! R2 No-answer cadence: after each unsuccessful attempt the next one is due on the rep's
//! next working day with a suggested personal email; after the last one the lead is proposed
//! for closing as unreachable. Voicemail counts as unsuccessful and shows a hint.

use crate::facts::LeadFacts;
use crate::lead::AttemptOutcome;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, SuggestedEmail, Task, TaskKind};
use chrono::{DateTime, Utc};

/// When the next attempt is due, if the lead is in the cadence with attempts left.
pub fn next_attempt_due(
    cx: &RuleContext<'_>,
    facts: &LeadFacts,
    role: StatusRole,
) -> Option<DateTime<Utc>> {
    if role != StatusRole::NoAnswer || facts.n_failed_attempts >= cx.playbook.cadence.max_attempts {
        return None;
    }
    let last = facts.last_attempt_at?;
    let gap = cx.playbook.cadence.gap_after(facts.n_failed_attempts);
    Some(cx.calendar.working_day_start_after(last, gap))
}

fn fill(template: &str, cx: &RuleContext<'_>, facts: &LeadFacts) -> String {
    template
        .replace("{contact}", &facts.contact)
        .replace("{company}", &facts.company)
        .replace("{rep}", cx.owner_name)
}

/// Adds the R2 flags and tasks.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, role: StatusRole, out: &mut LeadState) {
    if role != StatusRole::NoAnswer {
        return;
    }
    if facts.last_attempt_outcome == Some(AttemptOutcome::Voicemail) {
        out.flags.push(Flag::VoicemailHint);
    }
    let n = facts.n_failed_attempts;
    let email = cx.playbook.cadence.template_for(n).map(|t| SuggestedEmail {
        subject: fill(&t.subject, cx, facts),
        body: fill(&t.body, cx, facts),
    });
    if let Some(due) = next_attempt_due(cx, facts, role) {
        out.tasks.push(Task {
            kind: TaskKind::NextAttempt { attempt: n + 1 },
            rule: "R2",
            due,
            assignee: cx.owner.clone(),
            email,
        });
    } else if let Some(last) = facts.last_attempt_at {
        out.flags.push(Flag::ProposeClose);
        out.tasks.push(Task {
            kind: TaskKind::ConfirmClose,
            rule: "R2",
            due: last,
            assignee: cx.owner.clone(),
            email,
        });
    }
}
