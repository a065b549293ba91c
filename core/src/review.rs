//! The manager's inbox: semantic conflicts to settle (R14), refusals waiting for a decision
//! (R7) and the stale new leads (R1) the manager should know about. The decisions themselves
//! are recorded by `crate::commands::{resolve_conflict, review_refusal}`.

use crate::facts::LeadFacts;
use crate::ids::{EventId, LeadId, MemberId};
use crate::lead::Topic;
use crate::playbook::StatusRole;
use crate::rules::r01_speed_to_lead;
use crate::rules::r14_conflicts::ConflictingEvent;
use crate::state::{Flag, RuleContext, effective_role};
use crate::team::{Role, Team};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a manager's inbox item is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboxKind {
    /// R14: contradicting decisions to settle (keep one, or let both stand).
    Conflict {
        /// The conflict's key, for `resolve_conflict`.
        key: String,
        /// What the decisions are about.
        topic: Topic,
        /// The decisions, who made them and when.
        events: Vec<ConflictingEvent>,
    },
    /// R7: a refusal to review (return to the funnel, or validate after calling).
    RefusalReview {
        /// The `refusal` event.
        refusal: EventId,
        /// Reason key.
        reason: String,
        /// Reason label.
        reason_label: String,
    },
    /// R1: a lead still New after the stale threshold.
    StaleNew,
}

/// One item of a manager's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InboxItem {
    /// The lead.
    pub lead: LeadId,
    /// Company.
    pub company: String,
    /// The rep who owns the lead.
    pub rep: MemberId,
    /// Since when it waits.
    pub since: DateTime<Utc>,
    /// What to do.
    #[serde(flatten)]
    pub kind: InboxKind,
}

/// Whether `manager` oversees leads owned by `owner`: an admin oversees the whole team, a
/// manager their reps' leads and their own; a rep has no inbox.
pub(crate) fn oversees(team: &Team, manager: &MemberId, owner: &MemberId) -> bool {
    match team.member(manager).map(|m| m.role) {
        Some(Role::Admin) => true,
        Some(Role::Manager) => team.manager_of(owner) == Some(manager) || owner == manager,
        Some(Role::Rep) | None => false,
    }
}

/// The inbox of `manager` at `now`: conflicts first (oldest first: they block the truth of
/// the lead, whatever its status), then refusal reviews (oldest first), then stale new leads
/// (oldest first). Admins see the whole team. A lead can have items of several kinds.
pub fn review_inbox(
    team: &Team,
    manager: &MemberId,
    leads: &[LeadFacts],
    now: DateTime<Utc>,
) -> Vec<InboxItem> {
    let mut conflicts = Vec::new();
    let mut reviews = Vec::new();
    let mut stale = Vec::new();
    for facts in leads {
        if !oversees(team, manager, &facts.owner) {
            continue;
        }
        let item = |since, kind| InboxItem {
            lead: facts.id.clone(),
            company: facts.company.clone(),
            rep: facts.owner.clone(),
            since,
            kind,
        };
        for c in &facts.conflicts {
            conflicts.push(item(
                c.since,
                InboxKind::Conflict {
                    key: c.key.clone(),
                    topic: c.topic,
                    events: c.events.clone(),
                },
            ));
        }
        if let Some(p) = &facts.pending_review {
            let reason_label = team
                .playbook
                .refusal_reason(&p.reason)
                .map_or_else(|| p.reason.clone(), |r| r.label.clone());
            reviews.push(item(
                p.at,
                InboxKind::RefusalReview {
                    refusal: p.refusal.clone(),
                    reason: p.reason.clone(),
                    reason_label,
                },
            ));
            continue;
        }
        // Only a lead still New can be stale; the context is built for those alone.
        if facts.role != StatusRole::New {
            continue;
        }
        let cx = RuleContext::new(team, &facts.owner, now);
        if effective_role(&cx, facts) == StatusRole::New
            && r01_speed_to_lead::flag(&cx, facts) == Flag::StaleNew
        {
            stale.push(item(facts.created_at, InboxKind::StaleNew));
        }
    }
    let key = |i: &InboxItem| -> (DateTime<Utc>, LeadId, String) {
        let conflict = match &i.kind {
            InboxKind::Conflict { key, .. } => key.clone(),
            _ => String::new(),
        };
        (i.since, i.lead.clone(), conflict)
    };
    conflicts.sort_by_cached_key(key);
    reviews.sort_by(|a, b| (a.since, &a.lead).cmp(&(b.since, &b.lead)));
    stale.sort_by(|a, b| (a.since, &a.lead).cmp(&(b.since, &b.lead)));
    conflicts.extend(reviews);
    conflicts.extend(stale);
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{LeadBuilder, t, team};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn manager_sees_their_reps_refusals_then_stale_leads_and_nothing_decided() {
        let team = team();
        let leads = [
            LeadBuilder::new("refused-late", "ion", "2026-11-01T07:00:00Z")
                .refusal("2026-11-20T08:00:00Z", "price", "crm", Some(1))
                .build(),
            LeadBuilder::new("refused-early", "dana", "2026-11-01T07:00:00Z")
                .refusal("2026-11-10T08:00:00Z", "competitor", "erp", Some(1))
                .build(),
            LeadBuilder::new("decided", "dana", "2026-11-01T07:00:00Z")
                .refusal("2026-11-10T08:00:00Z", "price", "erp", Some(1))
                .by("mgr")
                .review(
                    "2026-11-11T08:00:00Z",
                    crate::lead::ReviewDecision::RefusalValidated,
                )
                .build(),
            LeadBuilder::new("unreachable", "dana", "2026-11-01T07:00:00Z")
                .refusal("2026-11-10T08:00:00Z", "unreachable", "erp", None)
                .build(),
            // 23 h 59 vs 24 h: only the older one is stale.
            LeadBuilder::new("stale", "ion", "2026-11-23T08:00:00Z").build(),
            LeadBuilder::new("fresh", "ion", "2026-11-23T08:01:00Z").build(),
        ];
        let facts: Vec<LeadFacts> = leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect();
        let now = t("2026-11-24T08:00:00Z");
        let render = |who: &str| -> Vec<String> {
            review_inbox(&team, &MemberId::from(who), &facts, now)
                .iter()
                .map(|i| match &i.kind {
                    InboxKind::RefusalReview { reason_label, .. } => {
                        format!("review {} ({reason_label}, {})", i.lead, i.rep)
                    }
                    InboxKind::StaleNew => format!("stale {}", i.lead),
                    InboxKind::Conflict { key, .. } => format!("conflict {key}"),
                })
                .collect()
        };
        let expected = [
            "review refused-early (Chose a competitor, dana)",
            "review refused-late (Price too high, ion)",
            "stale stale",
        ];
        assert_eq!(render("mgr"), expected);
        assert_eq!(render("ada"), expected, "an admin sees the whole team");
        assert!(
            render("dana").is_empty(),
            "a rep has no inbox for others' leads"
        );
    }
}
