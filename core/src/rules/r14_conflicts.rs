//! R14 Semantic conflicts: decisions made on devices that did not see each other's and that
//! contradict (won on one, refusal validated on the other; two owners; two next steps). The
//! merge keeps every event; this rule finds the contradictions from the events alone, so every
//! device names the same conflicts, and a `conflict_resolved` event settles each one.
//!
//! How it works:
//!
//! - Every decision (an event with a [`Topic`]) records in `after` the latest decision of its
//!   topic its author's device knew, or the lead's `created` event if there was none
//!   ([`TopicHeads`], filled by `crate::commands`).
//! - Two decisions of one topic with the same `after` were made without either author seeing
//!   the other: they are *concurrent*. Concurrent decisions *contradict* when they would put
//!   the lead in different places: two different owners; two next steps with a different kind
//!   or due time; outcomes that lead to different statuses (won vs refusal, won vs a
//!   validated refusal, won or a new refusal vs a return to the funnel, a return vs a
//!   validation) or two different status overrides. Each contradicting pair is one
//!   [`Conflict`], keyed `<topic>:<id>+<id>` with the ids sorted, so every device names it the
//!   same.
//! - A `conflict_resolved` event with that key closes it. With `keep`, the other event is
//!   *overruled*, and so is every later decision of the topic built on it (its descendants
//!   by `after`): the rules skip them, the history keeps them. Without `keep` both stand. If
//!   several resolutions of one conflict were made concurrently, the first (canonical order)
//!   counts and any that chose differently is itself overruled, visibly.
//! - Events without `after` (recorded before R14 or imported) never conflict: what their
//!   authors knew is unknown.
//!
//! What one `after` cannot tell: two devices whose first concurrent decisions agree (the same
//! owner twice) and whose later decisions then differ are not flagged; that needs what each
//! device had seen of the other branch, which one event id does not carry.

use crate::facts::LeadFacts;
use crate::ids::{EventId, MemberId};
use crate::lead::{Event, EventKind, NextStepKind, ReviewDecision, Topic};
use crate::money::Money;
use crate::playbook::{Playbook, StatusRole};
use crate::state::{Flag, LeadState, RuleContext, Task, TaskKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The latest decision of each topic (not overruled), or the `created` event when there is
/// none: what a command records as its events' `after`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TopicHeads {
    /// Head of [`Topic::Outcome`].
    pub outcome: Option<EventId>,
    /// Head of [`Topic::Owner`].
    pub owner: Option<EventId>,
    /// Head of [`Topic::NextStep`].
    pub next_step: Option<EventId>,
}

impl TopicHeads {
    /// The head of `topic`.
    pub fn get(&self, topic: Topic) -> Option<&EventId> {
        match topic {
            Topic::Outcome => self.outcome.as_ref(),
            Topic::Owner => self.owner.as_ref(),
            Topic::NextStep => self.next_step.as_ref(),
        }
    }

    fn slot(&mut self, topic: Topic) -> &mut Option<EventId> {
        match topic {
            Topic::Outcome => &mut self.outcome,
            Topic::Owner => &mut self.owner,
            Topic::NextStep => &mut self.next_step,
        }
    }
}

/// What a conflicting event decided, enough to show it without the lead's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// A final yes.
    Won {
        /// Deal amount.
        amount: Money,
    },
    /// A refusal.
    Refusal {
        /// Reason key.
        reason: String,
    },
    /// A manager's review of a refusal.
    ReviewDecision {
        /// The decision.
        #[serde(flatten)]
        decision: ReviewDecision,
    },
    /// A manual status.
    StatusOverride {
        /// Status key.
        status: String,
    },
    /// A new owner.
    Assigned {
        /// The owner.
        owner: MemberId,
    },
    /// A next step.
    NextStep {
        /// What kind.
        kind: NextStepKind,
        /// When.
        due: DateTime<Utc>,
    },
}

impl Decision {
    fn of(kind: &EventKind) -> Option<Self> {
        Some(match kind {
            EventKind::Won { amount, .. } => Decision::Won {
                amount: amount.clone(),
            },
            EventKind::Refusal { reason, .. } => Decision::Refusal {
                reason: reason.clone(),
            },
            EventKind::ReviewDecision { decision, .. } => Decision::ReviewDecision {
                decision: decision.clone(),
            },
            EventKind::StatusOverride { status, .. } => Decision::StatusOverride {
                status: status.clone(),
            },
            EventKind::Assigned { owner } => Decision::Assigned {
                owner: owner.clone(),
            },
            EventKind::NextStep { kind, due, .. } => Decision::NextStep {
                kind: *kind,
                due: *due,
            },
            _ => return None,
        })
    }
}

/// One side of a conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictingEvent {
    /// The event.
    pub event: EventId,
    /// Who recorded it.
    pub by: MemberId,
    /// When.
    pub at: DateTime<Utc>,
    /// What it decided.
    #[serde(flatten)]
    pub decision: Decision,
}

/// An open semantic conflict: two concurrent decisions that contradict each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// Stable key, `<topic>:<id>+<id>` with the event ids sorted: what `conflict_resolved`
    /// names.
    pub key: String,
    /// What the decisions are about.
    pub topic: Topic,
    /// The two decisions, by event id.
    pub events: Vec<ConflictingEvent>,
    /// When the later of the two was recorded.
    pub since: DateTime<Utc>,
}

impl Conflict {
    /// Whether `event` is one of the conflict's decisions.
    pub fn involves(&self, event: &EventId) -> bool {
        self.events.iter().any(|e| &e.event == event)
    }
}

/// The key of the conflict between decisions `a` and `b` of `topic`.
pub fn conflict_key(topic: Topic, a: &EventId, b: &EventId) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    format!("{}:{first}+{second}", topic.as_str())
}

/// Where an outcome decision puts the lead, for comparing two of them.
#[derive(PartialEq, Eq)]
enum Outcome<'a> {
    Role(StatusRole),
    Override(&'a str, Option<StatusRole>),
}

fn outcome<'a>(playbook: &Playbook, kind: &'a EventKind) -> Option<Outcome<'a>> {
    Some(match kind {
        EventKind::Won { .. } => Outcome::Role(StatusRole::Won),
        EventKind::Refusal { .. } => Outcome::Role(StatusRole::Lost),
        EventKind::ReviewDecision {
            decision: ReviewDecision::RefusalValidated,
            ..
        } => Outcome::Role(StatusRole::Lost),
        EventKind::ReviewDecision {
            decision: ReviewDecision::ReturnToFunnel { .. },
            ..
        } => Outcome::Role(StatusRole::InProcess),
        EventKind::StatusOverride { status, .. } => {
            Outcome::Override(status, playbook.status(status).map(|s| s.role))
        }
        _ => return None,
    })
}

/// Whether two concurrent decisions of the same topic contradict each other.
pub fn contradict(playbook: &Playbook, a: &EventKind, b: &EventKind) -> bool {
    match (a, b) {
        (EventKind::Assigned { owner: x }, EventKind::Assigned { owner: y }) => x != y,
        (
            EventKind::NextStep {
                kind: k1, due: d1, ..
            },
            EventKind::NextStep {
                kind: k2, due: d2, ..
            },
        ) => (k1, d1) != (k2, d2),
        _ => match (outcome(playbook, a), outcome(playbook, b)) {
            (Some(Outcome::Role(x)), Some(Outcome::Role(y))) => x != y,
            (Some(Outcome::Override(x, _)), Some(Outcome::Override(y, _))) => x != y,
            // An override to a status the playbook no longer has is ignored by the fold.
            (Some(Outcome::Override(_, Some(x))), Some(Outcome::Role(y)))
            | (Some(Outcome::Role(y)), Some(Outcome::Override(_, Some(x)))) => x != y,
            _ => false,
        },
    }
}

/// What R14 finds in a lead's events: a pure function of the set of events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    /// Open conflicts, by key.
    pub conflicts: Vec<Conflict>,
    /// Events the rules skip, sorted: decisions a resolution overruled, and resolutions that
    /// lost to an earlier one.
    pub overruled: Vec<EventId>,
    /// The head of each topic.
    pub heads: TopicHeads,
}

/// A decision with a recorded `after`.
struct Decided<'a> {
    topic: Topic,
    after: &'a EventId,
    event: &'a Event,
}

/// The topic and `after` of a decision that recorded one.
fn topic_and_after(e: &Event) -> Option<(Topic, &EventId)> {
    Some((e.kind.topic()?, e.after.as_ref()?))
}

/// Finds the conflicts, the overruled events and the topic heads of `events`, which must be
/// in canonical order.
pub fn detect(playbook: &Playbook, events: &[&Event]) -> Detection {
    let mut detection = Detection::default();
    let found = concurrent_contradictions(playbook, events);
    let has_resolutions = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ConflictResolved { .. }));
    if !found.is_empty() || has_resolutions {
        settle(found, events, &mut detection);
    }
    detection.heads = heads(events, &detection.overruled);
    detection
}

/// Every contradicting pair of concurrent decisions, by key.
fn concurrent_contradictions(playbook: &Playbook, events: &[&Event]) -> Vec<Conflict> {
    // The decisions that recorded `after`, with their topic: a lead has a handful.
    let decided: Vec<(Topic, &EventId, &Event)> = events
        .iter()
        .filter_map(|e| topic_and_after(e).map(|(topic, after)| (topic, after, *e)))
        .collect();
    let mut found = Vec::new();
    for (i, (topic, after, a)) in decided.iter().enumerate() {
        for (other_topic, other_after, b) in &decided[i + 1..] {
            // The cheap test first: most decisions are of another topic or follow another.
            if other_topic != topic
                || other_after != after
                || !contradict(playbook, &a.kind, &b.kind)
            {
                continue;
            }
            let side = |e: &Event| ConflictingEvent {
                event: e.id.clone(),
                by: e.by.clone(),
                at: e.at,
                decision: Decision::of(&e.kind).expect("a decision"),
            };
            let mut sides = vec![side(a), side(b)];
            sides.sort_by(|x, y| x.event.cmp(&y.event));
            found.push(Conflict {
                key: conflict_key(*topic, &a.id, &b.id),
                topic: *topic,
                events: sides,
                since: a.at.max(b.at),
            });
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found.dedup_by(|a, b| a.key == b.key);
    found
}

/// Applies the resolutions in `events` to `found`: fills the overruled events and the open
/// conflicts.
fn settle(found: Vec<Conflict>, events: &[&Event], out: &mut Detection) {
    let decided: Vec<Decided<'_>> = events
        .iter()
        .filter_map(|e| {
            let (topic, after) = topic_and_after(e)?;
            Some(Decided {
                topic,
                after,
                event: e,
            })
        })
        .collect();
    let mut overruled: Vec<EventId> = Vec::new();
    // The first resolution of each key counts (`resolutions` is in canonical order).
    let mut settled: Vec<(&str, Option<&EventId>)> = Vec::new();
    for r in events {
        let EventKind::ConflictResolved { conflict, keep, .. } = &r.kind else {
            continue;
        };
        match settled.iter().find(|(key, _)| key == conflict) {
            Some((_, first_keep)) => {
                if *first_keep != keep.as_ref() {
                    overruled.push(r.id.clone());
                }
            }
            None => settled.push((conflict.as_str(), keep.as_ref())),
        }
    }
    let mut open = Vec::new();
    for conflict in found {
        match settled.iter().find(|(key, _)| *key == conflict.key) {
            Some((_, Some(keep))) if conflict.involves(keep) => {
                for loser in conflict.events.iter().filter(|e| &e.event != *keep) {
                    overrule_branch(conflict.topic, &loser.event, &decided, &mut overruled);
                }
            }
            Some(_) => {}
            None => open.push(conflict),
        }
    }
    overruled.sort();
    overruled.dedup();
    open.retain(|c| {
        !c.events
            .iter()
            .any(|e| overruled.binary_search(&e.event).is_ok())
    });
    out.conflicts = open;
    out.overruled = overruled;
}

/// Overrules `loser` and every decision of `topic` built on it.
fn overrule_branch(
    topic: Topic,
    loser: &EventId,
    decided: &[Decided<'_>],
    overruled: &mut Vec<EventId>,
) {
    let mut stack = vec![loser.clone()];
    while let Some(id) = stack.pop() {
        if overruled.contains(&id) {
            continue;
        }
        for d in decided {
            if d.topic == topic && d.after == &id && d.event.id != id {
                stack.push(d.event.id.clone());
            }
        }
        overruled.push(id);
    }
}

/// The latest decision of each topic that is not overruled, else the first `created` event.
fn heads(events: &[&Event], overruled: &[EventId]) -> TopicHeads {
    let created = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Created))
        .map(|e| e.id.clone());
    let mut heads = TopicHeads::default();
    let mut n_missing = Topic::ALL.len();
    for e in events.iter().rev() {
        let Some(topic) = e.kind.topic() else {
            continue;
        };
        let slot = heads.slot(topic);
        if slot.is_none() && overruled.binary_search(&e.id).is_err() {
            *slot = Some(e.id.clone());
            n_missing -= 1;
            if n_missing == 0 {
                break;
            }
        }
    }
    for topic in Topic::ALL {
        let slot = heads.slot(topic);
        if slot.is_none() {
            slot.clone_from(&created);
        }
    }
    heads
}

/// Adds the conflict flag and the manager's task for each open conflict. Shown whatever the
/// other rules say: status, do-not-contact and owner do not hide a conflict.
pub fn apply(cx: &RuleContext<'_>, facts: &LeadFacts, _role: StatusRole, out: &mut LeadState) {
    if facts.conflicts.is_empty() {
        return;
    }
    out.flags.push(Flag::Conflict);
    for conflict in &facts.conflicts {
        out.tasks.push(Task {
            kind: TaskKind::ResolveConflict {
                conflict: conflict.key.clone(),
            },
            rule: "R14",
            due: conflict.since,
            // A rep without a manager settles their own conflicts rather than lose them.
            assignee: cx.manager.unwrap_or(cx.owner).clone(),
            email: None,
        });
    }
}
