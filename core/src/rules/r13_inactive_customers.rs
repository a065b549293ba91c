//! R13 Inactive customers: a customer with no order and no conversation for months becomes
//! an Inactive customer and gets a reactivation follow-up (emitted by R4's task).

use crate::facts::LeadFacts;
use crate::playbook::StatusRole;
use crate::state::RuleContext;
use chrono::{DateTime, Utc};

/// The instant the customer became inactive (last order, conversation or win + the playbook
/// period in calendar days, at the same local time of the owner), whether or not that instant
/// has passed.
pub fn inactive_since(cx: &RuleContext<'_>, facts: &LeadFacts) -> Option<DateTime<Utc>> {
    last_activity(facts).map(|last| cx.calendar.days_later(last, cx.playbook.dormant_after_days))
}

/// When the reactivation follow-up is due: the same period, on the owner's working day.
pub fn reactivation_due(cx: &RuleContext<'_>, facts: &LeadFacts) -> Option<DateTime<Utc>> {
    last_activity(facts).map(|last| {
        cx.calendar
            .days_later_on_working_day(last, cx.playbook.dormant_after_days)
    })
}

fn last_activity(facts: &LeadFacts) -> Option<DateTime<Utc>> {
    if facts.role != StatusRole::Won || facts.status_override.is_some() {
        return None;
    }
    [
        facts.won_at,
        facts.last_order_at,
        facts.last_conversation_at,
    ]
    .into_iter()
    .flatten()
    .max()
}

/// Whether the customer is inactive at `cx.now`.
pub fn is_inactive(cx: &RuleContext<'_>, facts: &LeadFacts) -> bool {
    inactive_since(cx, facts).is_some_and(|t| cx.now >= t)
}
