//! What the device shows, computed over the replica's summaries with the team it holds: the
//! lead card, every lead's derived state, the call queue with customer tiers, the day plan and
//! the analytics. Hosts (the browser binding) call these rather than assembling the rules.

use super::{Replica, ReplicaError};
use crate::analytics::currencies::{MissingRate, missing_rates};
use crate::analytics::funnel::{Funnel, SpeedToLead, funnel, speed_to_lead};
use crate::analytics::refusals::{RefusalReports, refusal_reports};
use crate::dayplan::{DayPlan, day_plan};
use crate::doc::{DocumentId, lead as lead_doc};
use crate::facts::LeadFacts;
use crate::lead::Lead;
use crate::queue::CallQueue;
use crate::state::{LeadState, derive};
use crate::team::Team;
use crate::tiers::{TierCube, TierReport, snapshot, tier_cube, tier_report};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Serialize;

/// A lead as its card shows it: the document's lead with its history and its derived state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeadView {
    /// The document's schema version (newer than this build's: read-only here).
    pub schema: i64,
    /// The lead with every event that decoded.
    pub lead: Lead,
    /// Its derived state at the moment asked for.
    pub state: LeadState,
    /// Events this version could not decode (left untouched in the document).
    pub undecodable: usize,
    /// What the member may do with the lead now (the write model's answer; none on a
    /// document of a newer schema, which this version only reads).
    pub actions: crate::write::LeadActions,
}

/// The analytics screen of the member (R8 as the member sees them, funnel, speed to lead,
/// R10 tiers) over every lead on the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analytics {
    /// Refusals for the member's day, week, month and cumulative (their zone and week).
    pub refusals: RefusalReports,
    /// Leads per status now.
    pub funnel: Funnel,
    /// Minutes from creation to first attempt (R1).
    pub speed_to_lead: SpeedToLead,
    /// Customer tiers now.
    pub tiers: TierReport,
    /// Tier moves between the snapshots of the two months before `now`'s month (UTC), when
    /// both exist.
    pub tier_cube: Option<TierCube>,
}

impl Replica {
    /// The lead card of a loaded document at `now`: its state is folded from the document
    /// itself (so it is exact even before the summary is written).
    pub fn lead_view(&self, id: &DocumentId, now: DateTime<Utc>) -> Result<LeadView, ReplicaError> {
        let team = self.team.as_ref().ok_or(ReplicaError::NoTeam)?;
        let doc = self
            .store
            .loaded
            .get(id)
            .ok_or(ReplicaError::NotLoaded(*id))?;
        let read = lead_doc::read_lead(doc)?;
        let facts = LeadFacts::from_lead(&team.playbook, &read.lead);
        let actions = if read.schema > lead_doc::SCHEMA {
            crate::write::LeadActions::default()
        } else {
            crate::write::actions(team, &self.member, &facts)
        };
        Ok(LeadView {
            schema: read.schema,
            state: derive(team, &facts, now),
            lead: read.lead,
            undecodable: read.undecodable.len(),
            actions,
        })
    }

    /// The derived state of every lead at `now`, in the order of [`Replica::facts`]; empty
    /// before the team document arrives.
    pub fn states(&self, now: DateTime<Utc>) -> Vec<LeadState> {
        match &self.team {
            Some(team) => self.facts.iter().map(|f| derive(team, f, now)).collect(),
            None => Vec::new(),
        }
    }

    /// The member's call queue at `now` (R6), with the customers' tiers (R10) of the leads on
    /// the device for the visit-due items. `None` before the team document arrives.
    pub fn queue(&self, now: DateTime<Utc>) -> Option<CallQueue> {
        let team = self.team.as_ref()?;
        let tiers = tier_report(team, &self.facts, now).tiers();
        self.call_queue(now, &tiers)
    }

    /// The member's day plan for their local `date` (R11); `now` dates the awaiting-answer
    /// list. `None` before the team document arrives.
    pub fn day_plan(&self, date: NaiveDate, now: DateTime<Utc>) -> Option<DayPlan> {
        let team = self.team.as_ref()?;
        Some(day_plan(team, &self.member, &self.facts, date, now))
    }

    /// The currencies of the leads on the device with amounts that have no exchange rate into
    /// the team currency at `now` (the settings screen's errors); empty before the team
    /// document arrives.
    pub fn missing_rates(&self, now: DateTime<Utc>) -> Vec<MissingRate> {
        match &self.team {
            Some(team) => missing_rates(&team.playbook, &self.facts, now),
            None => Vec::new(),
        }
    }

    /// The member's analytics at `now`. `None` before the team document arrives.
    pub fn analytics(&self, now: DateTime<Utc>) -> Option<Analytics> {
        let team = self.team.as_ref()?;
        Some(Analytics {
            refusals: refusal_reports(team, &self.facts, &self.member, now),
            funnel: funnel(&team.playbook, &self.states(now)),
            speed_to_lead: speed_to_lead(team, &self.facts),
            tiers: tier_report(team, &self.facts, now),
            tier_cube: last_months_cube(team, &self.facts, now),
        })
    }
}

/// The cube of the snapshots at the ends of the two months before `now`'s month (UTC).
fn last_months_cube(team: &Team, facts: &[LeadFacts], now: DateTime<Utc>) -> Option<TierCube> {
    let month = |back: u32| {
        let date = now.date_naive().with_day(1)? - Months::new(back);
        snapshot(team, facts, date.year(), date.month())
    };
    Some(tier_cube(&month(2)?, &month(1)?))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::commands::{NewLead, WonInput};
    use crate::doc::team as team_doc;
    use crate::ids::EventId;
    use crate::money::Money;
    use crate::queue::QueueReason;
    use crate::replica::{LeadCommand, ReplicaConfig};
    use crate::testing::{t, team};
    use crate::tiers::{Tier, TierMap};
    use automerge::ActorId;

    fn replica(member: &str, with_team: bool) -> Replica {
        let team = team();
        let config = ReplicaConfig {
            team: team.id.clone(),
            member: member.into(),
            actor: [7; 16],
            peer_id: format!("{member}/test"),
        };
        let bytes = team_doc::create_team(
            &team,
            ActorId::from(&[9u8; 16][..]),
            t("2026-01-01T00:00:00Z"),
        )
        .unwrap()
        .save();
        let bytes = with_team.then_some(bytes);
        Replica::open(config, bytes.as_deref(), false, &[], &[])
            .unwrap()
            .0
    }

    fn create(replica: &mut Replica, n: u8, company: &str, now: &str) -> DocumentId {
        let mut k = 0;
        let mut ids = || {
            k += 1;
            EventId(format!("e{n}-{k}"))
        };
        let input = NewLead {
            company: company.to_owned(),
            ..NewLead::default()
        };
        replica
            .create_lead([n; 16], input, t(now), &mut ids)
            .unwrap()
            .0
    }

    fn apply(replica: &mut Replica, doc: DocumentId, command: LeadCommand, now: &str) {
        let mut k = 0;
        let mut ids = || {
            k += 1;
            EventId(format!("{now}-{k}"))
        };
        replica.apply(doc, command, t(now), &mut ids).unwrap();
    }

    #[test]
    fn lead_view_is_the_document_with_the_state_of_its_summary() {
        let mut replica = replica("dana", true);
        let doc = create(&mut replica, 1, "Acme", "2026-03-01T08:00:00Z");
        let now = t("2026-03-01T09:00:00Z");
        let view = replica.lead_view(&doc, now).unwrap();
        assert_eq!(view.lead.company, "Acme");
        assert_eq!(view.undecodable, 0);
        assert_eq!(replica.states(now), vec![view.state.clone()]);
        replica.disconnected();
        assert!(replica.evict(&doc));
        assert!(matches!(
            replica.lead_view(&doc, now),
            Err(ReplicaError::NotLoaded(id)) if id == doc
        ));
    }

    #[test]
    fn without_the_team_document_there_is_nothing_to_show() {
        let replica = replica("dana", false);
        let now = t("2026-03-01T09:00:00Z");
        assert!(replica.queue(now).is_none());
        assert!(replica.day_plan(now.date_naive(), now).is_none());
        assert!(replica.analytics(now).is_none());
        assert!(replica.states(now).is_empty());
    }

    #[test]
    fn the_queue_has_the_visits_due_of_the_customers_tiers() {
        let mut replica = replica("dana", true);
        let doc = create(&mut replica, 1, "Acme", "2026-01-04T08:00:00Z");
        let won = LeadCommand::MarkWon(WonInput {
            amount: Money::new(100_000, "ILS"),
            products: Vec::new(),
        });
        apply(&mut replica, doc, won, "2026-01-04T09:00:00Z");
        // Tier A customers are visited every 14 days.
        let now = t("2026-03-05T09:00:00Z");

        let queue = replica.queue(now).unwrap();
        let visits = |queue: &CallQueue| -> Vec<QueueReason> {
            let visit = |r: &&QueueReason| matches!(r, QueueReason::VisitDue { .. });
            queue
                .items
                .iter()
                .map(|i| &i.reason)
                .filter(visit)
                .cloned()
                .collect()
        };
        // The only customer is tier A.
        assert_eq!(
            visits(&queue),
            vec![QueueReason::VisitDue { tier: Tier::A }]
        );
        // Without tiers the same summaries give no visit.
        let untiered = replica.call_queue(now, &TierMap::new()).unwrap();
        assert!(visits(&untiered).is_empty());

        let analytics = replica.analytics(now).unwrap();
        assert_eq!(analytics.tiers.counts.a, 1);
        assert_eq!(analytics.funnel.total, 1);
        assert!(analytics.tier_cube.is_some());
        let plan = replica.day_plan(now.date_naive(), now).unwrap();
        assert_eq!(plan.rep.as_str(), "dana");
    }
}
