//! R7 Refusal review inbox: the refusals waiting for a manager's decision, oldest first, and
//! the stale new leads (R1) the manager should know about. The decisions themselves are
//! recorded by `crate::commands::review_refusal`.

use crate::facts::LeadFacts;
use crate::ids::{EventId, LeadId, MemberId};
use crate::playbook::StatusRole;
use crate::rules::r01_speed_to_lead;
use crate::state::{Flag, RuleContext, effective_role};
use crate::team::{Role, Team};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a manager's inbox item is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboxKind {
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

/// Whether `manager` oversees leads owned by `owner`: their manager, or any admin.
fn oversees(team: &Team, manager: &MemberId, owner: &MemberId) -> bool {
    team.manager_of(owner) == Some(manager)
        || team.member(manager).is_some_and(|m| m.role == Role::Admin)
        || owner == manager
}

/// The inbox of `manager` at `now`: refusal reviews first (oldest first), then stale new
/// leads (oldest first). Admins see the whole team.
pub fn review_inbox(
    team: &Team,
    manager: &MemberId,
    leads: &[LeadFacts],
    now: DateTime<Utc>,
) -> Vec<InboxItem> {
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
        let cx = RuleContext::new(team, &facts.owner, now);
        if effective_role(&cx, facts) == StatusRole::New
            && r01_speed_to_lead::flag(&cx, facts) == Flag::StaleNew
        {
            stale.push(item(facts.created_at, InboxKind::StaleNew));
        }
    }
    reviews.sort_by(|a, b| (a.since, &a.lead).cmp(&(b.since, &b.lead)));
    stale.sort_by(|a, b| (a.since, &a.lead).cmp(&(b.since, &b.lead)));
    reviews.extend(stale);
    reviews
}
