//! R10 Customer tiers (ABC): weighted normalised score, A/B/C cut, Pareto view, monthly
//! snapshots, the transition cube and visit-due items.

use crate::facts::LeadFacts;
use crate::ids::LeadId;
use crate::playbook::{Playbook, StatusRole};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A customer tier. Internal: never printed on anything customer-facing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// Top customers by score.
    A,
    /// The next ones.
    B,
    /// The rest.
    C,
}

/// The tier of each customer.
pub type TierMap = BTreeMap<LeadId, Tier>;

/// When the customer's next visit is due (R10 → R6 tier 4): the last visit, or the win if
/// there was none, plus the tier's visit frequency.
pub fn visit_due(playbook: &Playbook, facts: &LeadFacts, tier: Tier) -> Option<DateTime<Utc>> {
    if !matches!(facts.role, StatusRole::Won | StatusRole::Dormant) {
        return None;
    }
    let every = &playbook.tiers.visit_every_days;
    let days = match tier {
        Tier::A => every.a,
        Tier::B => every.b,
        Tier::C => every.c,
    };
    let from = facts.last_visit_at.or(facts.won_at)?;
    Some(from + Duration::days(i64::from(days)))
}
