//! R1 Speed to lead: a New lead gets its first attempt within minutes; the flag shows how
//! late it is, and after a day it is reported to the manager as stale.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, Task, TaskKind};
use chrono::Duration;

/// The R1 flag of a New lead at `cx.now`.
pub fn flag(cx: &RuleContext<'_>, facts: &LeadFacts) -> Flag {
    let p = &cx.playbook.speed_to_lead;
    let age = cx.now - facts.created_at;
    if age >= Duration::hours(i64::from(p.stale_after_hours)) {
        Flag::StaleNew
    } else if age >= Duration::hours(i64::from(p.decaying_after_hours)) {
        Flag::ResponseDecaying
    } else if age > Duration::minutes(i64::from(p.respond_within_minutes)) {
        Flag::LateResponse
    } else {
        Flag::RespondNow
    }
}

/// Adds the R1 flag and the first-attempt task.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, role: StatusRole, out: &mut LeadState) {
    if role != StatusRole::New {
        return;
    }
    out.flags.push(flag(cx, facts));
    out.tasks.push(Task {
        kind: TaskKind::FirstAttempt,
        rule: "R1",
        due: facts.created_at
            + Duration::minutes(i64::from(cx.playbook.speed_to_lead.respond_within_minutes)),
        assignee: cx.owner.clone(),
        email: None,
    });
}
