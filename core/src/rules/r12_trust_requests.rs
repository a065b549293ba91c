//! R12 Trust requests: materials the customer asks for are due within one working day.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{LeadState, RuleContext, Task, TaskKind};

/// Adds the send-materials task.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, _role: StatusRole, out: &mut LeadState) {
    let Some(requested) = facts.materials_requested_at else {
        return;
    };
    let days = cx.playbook.follow_ups.materials_working_days;
    out.tasks.push(Task {
        kind: TaskKind::SendMaterials,
        rule: "R12",
        due: cx.calendar.add_working_days_clamped(requested, days),
        assignee: cx.owner.clone(),
        email: None,
    });
}
