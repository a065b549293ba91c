//! The funnel (leads per status) and speed to lead (median minutes from creation to first attempt).
//!
//! Both read what a device already holds for every lead: the derived states (funnel) and the
//! lead summaries (speed to lead), never the lead documents.

use crate::facts::LeadFacts;
use crate::ids::MemberId;
use crate::playbook::{Playbook, StatusRole};
use crate::state::LeadState;
use crate::team::Team;
use serde::Serialize;
use std::collections::BTreeMap;

/// The number of leads in one status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusCount {
    /// Status key.
    pub status: String,
    /// Label in the team's language.
    pub label: String,
    /// Built-in role.
    pub role: StatusRole,
    /// Leads in the status.
    pub n: u32,
}

/// Leads per status: every playbook status in playbook order (zeros included), then any
/// status a lead shows that the playbook no longer defines, by key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Funnel {
    /// Per status.
    pub statuses: Vec<StatusCount>,
    /// All leads counted.
    pub total: u32,
}

/// Counts `states` (derived at one moment) per status.
pub fn funnel(playbook: &Playbook, states: &[LeadState]) -> Funnel {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for s in states {
        *counts.entry(s.status.as_str()).or_default() += 1;
    }
    let mut statuses: Vec<StatusCount> = playbook
        .statuses
        .iter()
        .map(|def| StatusCount {
            status: def.key.clone(),
            label: def.label.clone(),
            role: def.role,
            n: counts.remove(def.key.as_str()).unwrap_or(0),
        })
        .collect();
    // Leftovers are statuses unknown to the playbook: take label and role from a lead showing
    // them (the first by lead id, so the output does not depend on the input order).
    for (key, n) in counts {
        let sample = states
            .iter()
            .filter(|s| s.status == key)
            .min_by(|a, b| a.lead.cmp(&b.lead))
            .expect("counted from these states");
        statuses.push(StatusCount {
            status: key.to_owned(),
            label: sample.label.clone(),
            role: sample.role,
            n,
        });
    }
    Funnel {
        statuses,
        total: u32::try_from(states.len()).unwrap_or(u32::MAX),
    }
}

/// Speed-to-lead figures over a set of leads (R1).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeedFigures {
    /// Leads counted.
    pub n_leads: u32,
    /// Leads with at least one attempt.
    pub n_with_attempt: u32,
    /// Leads still New: no attempt and no conversation yet.
    pub n_without_attempt: u32,
    /// Median whole minutes from creation to the first attempt over the leads with an
    /// attempt (the mean of the two middle values for an even count); `None` when no lead has
    /// an attempt. An attempt stamped before the creation (clock skew) counts as 0 minutes.
    pub median_minutes: Option<f64>,
}

/// Speed to lead of one rep (the lead's current owner).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepSpeed {
    /// The owner.
    pub rep: MemberId,
    /// Display name (the id when the member is gone).
    pub name: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: SpeedFigures,
}

/// Speed to lead for the team and per owner.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeedToLead {
    /// All leads given.
    #[serde(flatten)]
    pub team: SpeedFigures,
    /// Per owner, in team member order, then unknown owners by id; only owners of a lead.
    pub by_rep: Vec<RepSpeed>,
}

/// Speed to lead over `leads` (filter them first, e.g. by creation date or manager).
///
/// A lead reached first by a conversation with no attempt (an inbound call) counts in
/// `n_leads` only.
pub fn speed_to_lead(team: &Team, leads: &[LeadFacts]) -> SpeedToLead {
    let mut all = Acc::default();
    let mut by_owner: BTreeMap<&MemberId, Acc> = BTreeMap::new();
    for facts in leads {
        all.add(facts);
        by_owner.entry(&facts.owner).or_default().add(facts);
    }
    let position = |id: &MemberId| {
        team.members
            .iter()
            .position(|m| &m.id == id)
            .unwrap_or(usize::MAX)
    };
    let mut owners: Vec<(&MemberId, Acc)> = by_owner.into_iter().collect();
    owners.sort_by(|a, b| (position(a.0), a.0).cmp(&(position(b.0), b.0)));
    SpeedToLead {
        team: all.figures(),
        by_rep: owners
            .into_iter()
            .map(|(rep, acc)| RepSpeed {
                rep: rep.clone(),
                name: team
                    .member(rep)
                    .map_or_else(|| rep.to_string(), |m| m.name.clone()),
                figures: acc.figures(),
            })
            .collect(),
    }
}

#[derive(Default)]
struct Acc {
    n_leads: u32,
    n_without_attempt: u32,
    minutes: Vec<i64>,
}

impl Acc {
    fn add(&mut self, facts: &LeadFacts) {
        self.n_leads += 1;
        match facts.first_attempt_at {
            Some(first) => self
                .minutes
                .push((first - facts.created_at).num_minutes().max(0)),
            None if facts.role == StatusRole::New => self.n_without_attempt += 1,
            None => {}
        }
    }

    fn figures(mut self) -> SpeedFigures {
        self.minutes.sort_unstable();
        let n = self.minutes.len();
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(self.minutes[n / 2] as f64),
            _ => Some((self.minutes[n / 2 - 1] + self.minutes[n / 2]) as f64 / 2.0),
        };
        SpeedFigures {
            n_leads: self.n_leads,
            n_with_attempt: u32::try_from(n).unwrap_or(u32::MAX),
            n_without_attempt: self.n_without_attempt,
            median_minutes: median,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::lead::{ConversationEnd, ConversationKind, Lead};
    use crate::state::derive;
    use crate::testing::{LeadBuilder, t, team};
    use expect_test::{Expect, expect};
    use std::fmt::Write;

    fn render_speed(f: &SpeedFigures) -> String {
        let median = f.median_minutes.map_or("-".to_owned(), |m| m.to_string());
        format!(
            "leads {} with attempt {} waiting {} median {median} min",
            f.n_leads, f.n_with_attempt, f.n_without_attempt
        )
    }

    fn check(leads: &[Lead], now: &str, expect: Expect) {
        let team = team();
        let facts: Vec<LeadFacts> = leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect();
        let states: Vec<LeadState> = facts.iter().map(|f| derive(&team, f, t(now))).collect();
        let f = funnel(&team.playbook, &states);
        let mut out = String::new();
        for s in &f.statuses {
            writeln!(out, "{:<18} {}", s.label, s.n).unwrap();
        }
        writeln!(out, "total {}", f.total).unwrap();
        let speed = speed_to_lead(&team, &facts);
        writeln!(out, "team: {}", render_speed(&speed.team)).unwrap();
        for r in &speed.by_rep {
            writeln!(out, "{}: {}", r.name, render_speed(&r.figures)).unwrap();
        }
        expect.assert_eq(&out);
    }

    fn book() -> Vec<Lead> {
        vec![
            // Attempted after 5, 12 and 30 minutes.
            LeadBuilder::new("a", "dana", "2026-11-22T08:00:00Z")
                .no_answer("2026-11-22T08:05:00Z")
                .build(),
            LeadBuilder::new("b", "dana", "2026-11-22T08:00:00Z")
                .no_answer("2026-11-22T08:12:59Z")
                .no_answer("2026-11-23T08:00:00Z")
                .build(),
            LeadBuilder::new("c", "ion", "2026-11-22T08:00:00Z")
                .no_answer("2026-11-22T08:30:00Z")
                .conversation(
                    "2026-11-22T08:31:00Z",
                    ConversationKind::Call,
                    ConversationEnd::FinalYes,
                )
                .won("2026-11-22T08:31:00Z", 1000)
                .build(),
            // Still waiting.
            LeadBuilder::new("d", "ion", "2026-11-22T09:00:00Z").build(),
            // An inbound call: contacted, but never by an attempt.
            LeadBuilder::new("e", "dana", "2026-11-22T08:00:00Z")
                .call_then("2026-11-22T08:01:00Z", "2026-11-25T08:00:00Z")
                .build(),
        ]
    }

    #[test]
    fn funnel_and_speed_to_lead() {
        check(
            &book(),
            "2026-11-23T12:00:00Z",
            expect![[r#"
                New                1
                No answer          2
                Initial contact    1
                In process         0
                Not interested     0
                Customer           1
                Inactive customer  0
                total 5
                team: leads 5 with attempt 3 waiting 1 median 12 min
                Dana: leads 3 with attempt 2 waiting 0 median 8.5 min
                Ion: leads 2 with attempt 1 waiting 1 median 30 min
            "#]],
        );
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let team = team();
        let facts: Vec<LeadFacts> = book()[..2]
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect();
        assert_eq!(speed_to_lead(&team, &facts).team.median_minutes, Some(8.5));
        assert_eq!(speed_to_lead(&team, &[]).team.median_minutes, None);
    }

    #[test]
    fn a_status_the_playbook_no_longer_has_is_listed_last() {
        let team = team();
        let lead = LeadBuilder::new("a", "dana", "2026-11-22T08:00:00Z").build();
        let mut state = derive(
            &team,
            &LeadFacts::from_lead(&team.playbook, &lead),
            t("2026-11-22T08:01:00Z"),
        );
        state.status = "legacy".to_owned();
        state.label = "Legacy".to_owned();
        let f = funnel(&team.playbook, &[state]);
        assert_eq!(f.statuses.len(), team.playbook.statuses.len() + 1);
        let last = f.statuses.last().unwrap();
        assert_eq!((last.status.as_str(), last.n), ("legacy", 1));
        assert!(f.statuses[..f.statuses.len() - 1].iter().all(|s| s.n == 0));
    }
}
