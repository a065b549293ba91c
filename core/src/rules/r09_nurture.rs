//! R9 Nurture: Not interested leads whose refusal the manager validated (R7), or that were
//! closed without needing a review (R2's unreachable close, a manager's status), get a
//! re-contact every few months, counted from that moment or the last contact after it, and stay
//! on the mailing list, unless they asked not to be contacted, which also takes them out of
//! every queue. A refusal still waiting for review is neither; one returned to the funnel never
//! starts nurture.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, Task, TaskKind};
use chrono::{DateTime, Utc};

/// When the next nurture re-contact is due, if the lead is being nurtured.
pub fn recontact_due(
    cx: &RuleContext<'_>,
    facts: &LeadFacts,
    role: StatusRole,
) -> Option<DateTime<Utc>> {
    if role != StatusRole::Lost || facts.do_not_contact || facts.pending_review.is_some() {
        return None;
    }
    let since = facts.nurture_since?;
    let from = facts.last_contact_at.map_or(since, |c| c.max(since));
    Some(
        cx.calendar
            .days_later_on_working_day(from, cx.playbook.nurture_every_days),
    )
}

/// Adds the do-not-contact flag, the mailing list and the re-contact task.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, role: StatusRole, out: &mut LeadState) {
    if facts.do_not_contact {
        out.flags.push(Flag::DoNotContact);
    }
    if let Some(due) = recontact_due(cx, facts, role) {
        out.mailing_list = true;
        out.tasks.push(Task {
            kind: TaskKind::NurtureRecontact,
            rule: "R9",
            due,
            assignee: cx.owner.clone(),
            email: None,
        });
    }
}
