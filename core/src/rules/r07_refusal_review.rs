//! R7 Refusal processing: a refusal creates a review task for the owner's manager at once (on
//! every device, offline too); a return to the funnel gives the rep a follow-up the next
//! working day. The review inbox itself is `crate::review`.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, Task, TaskKind};
use chrono::{DateTime, Utc};

/// When the rep's follow-up after a return to the funnel is due, if one is pending.
pub fn return_follow_up_due(cx: &RuleContext<'_>, facts: &LeadFacts) -> Option<DateTime<Utc>> {
    let returned = facts.returned_at?;
    let days = cx.playbook.follow_ups.review_return_working_days;
    Some(cx.calendar.working_day_start_after(returned, days))
}

/// Adds the review flag and the manager's task.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, _role: StatusRole, out: &mut LeadState) {
    let Some(pending) = &facts.pending_review else {
        return;
    };
    out.flags.push(Flag::AwaitingReview);
    out.tasks.push(Task {
        kind: TaskKind::ReviewRefusal,
        rule: "R7",
        due: pending.at,
        // A rep without a manager reviews their own refusals rather than lose them.
        assignee: cx.manager.unwrap_or(cx.owner).clone(),
        email: None,
    });
}
