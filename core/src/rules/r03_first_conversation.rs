//! R3 First conversation: when a lead reaches Initial contact without an agreed next step, a
//! follow-up call is due a few days later at the same local time, moved to the rep's next
//! working day when that day is not one. (Notes being required is validated in
//! `crate::commands`.)

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::RuleContext;
use chrono::{DateTime, Utc};

/// When the R3 follow-up call is due, if it applies.
pub fn follow_up_due(
    cx: &RuleContext<'_>,
    facts: &LeadFacts,
    role: StatusRole,
) -> Option<DateTime<Utc>> {
    if role != StatusRole::InitialContact || facts.next_step.is_some() {
        return None;
    }
    let entered = facts.initial_contact_at?;
    if facts.last_next_step_at.is_some_and(|t| t >= entered) {
        return None;
    }
    let days = cx.playbook.follow_ups.first_conversation_days;
    Some(cx.calendar.days_later_on_working_day(entered, days))
}
