//! R5 At risk: open deals with nothing scheduled, an overdue follow-up, no contact for days,
//! or too many postponements since the last quote.

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::{Flag, LeadState, RuleContext, follow_up};
use chrono::Duration;

/// Adds the R5 flags.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, role: StatusRole, out: &mut LeadState) {
    if !role.is_open_deal() {
        return;
    }
    let p = &cx.playbook.at_risk;
    match follow_up(cx, facts, role) {
        None => out.flags.push(Flag::NoNextStep),
        Some((due, _)) if due < cx.now => out.flags.push(Flag::Overdue),
        Some(_) => {}
    }
    if role == StatusRole::InProcess {
        let last = facts
            .last_contact_at
            .into_iter()
            .chain(facts.returned_at)
            .max()
            .unwrap_or(facts.created_at);
        if cx.now - last >= Duration::days(i64::from(p.going_cold_days)) {
            out.flags.push(Flag::GoingCold);
        }
    }
    if facts.postponements >= p.postponements_for_final_answer {
        out.flags.push(Flag::NeedsFinalAnswer);
    }
}
