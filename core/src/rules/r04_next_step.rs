//! R4 Never end without a next step: the lead's one scheduled follow-up becomes a task (an
//! explicit next step, or what R3, R7 and R13 schedule in its absence). The validation that a
//! conversation ends with a next step, a yes or a no is in `crate::commands`.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{FollowUpSource, LeadState, RuleContext, Task, TaskKind, follow_up};

/// Adds the follow-up task.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, role: StatusRole, out: &mut LeadState) {
    let Some((due, source)) = follow_up(cx, facts, role) else {
        return;
    };
    let (kind, rule) = match source {
        FollowUpSource::NextStep => {
            let step = facts
                .next_step
                .as_ref()
                .expect("source is the open next step");
            (
                TaskKind::NextStep {
                    step: step.kind,
                    agreed: step.agreed,
                },
                "R4",
            )
        }
        FollowUpSource::FirstContact => (TaskKind::FollowUpCall, "R3"),
        FollowUpSource::ReviewReturn => (TaskKind::ReturnFollowUp, "R7"),
        FollowUpSource::Reactivation => (TaskKind::Reactivation, "R13"),
    };
    out.tasks.push(Task {
        kind,
        rule,
        due,
        assignee: cx.owner.clone(),
        email: None,
    });
}
