//! What a member may do with a lead, from the same rules that judge the writes: the screens
//! show these actions and no others (the lead card's buttons, the reassignment list), so they
//! never re-derive roles or states.

use super::{may_own, may_reassign, may_record, may_write_lead};
use crate::facts::LeadFacts;
use crate::ids::MemberId;
use crate::lead::{EventKind, ReviewDecision};
use crate::playbook::StatusRole;
use crate::team::Team;
use serde::Serialize;

/// The actions a member may take on a lead now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeadActions {
    /// Record attempts, conversations, next steps, refusals, wins, orders, materials asked for,
    /// and edit the lead's details: the member may write the lead.
    pub work: bool,
    /// Close the lead as unreachable: the no-answer cadence is used up (R2).
    pub confirm_close: bool,
    /// Record that the requested materials were sent (R12).
    pub send_materials: bool,
    /// Decide on the refusal waiting for review (R7).
    pub review: bool,
    /// Set the status by hand.
    pub override_status: bool,
    /// Settle the lead's open conflicts (R14).
    pub resolve_conflicts: bool,
    /// The members the lead may be handed to (empty: the member may not reassign it).
    pub reassign_to: Vec<MemberId>,
}

/// What `member` may do with the lead summarised by `facts`.
pub fn actions(team: &Team, member: &MemberId, facts: &LeadFacts) -> LeadActions {
    if !may_write_lead(team, member, &facts.owner) {
        return LeadActions::default();
    }
    let may = |kind: &EventKind| may_record(team, member, kind).is_ok();
    let review = EventKind::ReviewDecision {
        decision: ReviewDecision::RefusalValidated,
        note: String::new(),
    };
    let managerial = may(&review);
    let reassign_to = if may_reassign(team, member).is_ok() {
        team.members
            .iter()
            .filter(|m| m.id != facts.owner && may_own(team, &m.id).is_ok())
            .map(|m| m.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    LeadActions {
        work: true,
        confirm_close: facts.role == StatusRole::NoAnswer
            && facts.n_failed_attempts >= team.playbook.cadence.max_attempts,
        send_materials: facts.materials_requested_at.is_some(),
        review: managerial && facts.pending_review.is_some(),
        override_status: managerial,
        resolve_conflicts: managerial && !facts.conflicts.is_empty(),
        reassign_to,
    }
}
