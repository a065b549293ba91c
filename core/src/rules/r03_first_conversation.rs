//! R3 First conversation: when a lead reaches Initial contact without an agreed next step, a
//! follow-up call is due a few days later. (Notes being required is validated in
//! `crate::commands`.)

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::RuleContext;
use chrono::{DateTime, Duration, Utc};

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
    Some(entered + Duration::days(i64::from(cx.playbook.follow_ups.first_conversation_days)))
}
