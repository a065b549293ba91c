//! R9 Nurture: Not interested leads get a re-contact every few months and stay on the mailing
//! list, unless they asked not to be contacted, which also takes them out of every queue.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, Task, TaskKind};
use chrono::{DateTime, Duration, Utc};

/// When the next nurture re-contact is due, if the lead is being nurtured.
pub fn recontact_due(
    cx: &RuleContext<'_>,
    facts: &LeadFacts,
    role: StatusRole,
) -> Option<DateTime<Utc>> {
    if role != StatusRole::Lost || facts.do_not_contact {
        return None;
    }
    let from = [facts.lost_at, facts.last_contact_at, facts.last_review_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(facts.created_at);
    Some(from + Duration::days(i64::from(cx.playbook.nurture_every_days)))
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
