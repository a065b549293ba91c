//! R6 Daily call queue: for a rep at a moment, in the rep's own time zone and working week,
//! the ordered list of leads to call today, each with its tier and a human-readable reason.
//!
//! It runs over lead summaries ([`LeadFacts`]), never over documents, and allocates only for
//! the leads it returns, so a queue over a 10,000-lead book stays well under a millisecond.

use crate::facts::LeadFacts;
use crate::ids::{LeadId, MemberId};
use crate::money::Money;
use crate::playbook::StatusRole;
use crate::rules::{r02_no_answer_cadence, r09_nurture};
use crate::state::{FollowUpSource, RuleContext, effective_role, follow_up};
use crate::team::Team;
use crate::tiers::{Tier, TierMap, visit_due};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// The four tiers of the queue, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum QueueTier {
    /// 1: new leads with no attempt yet, oldest first.
    NewLead,
    /// 2: next steps due today or overdue, larger deal first (in the team currency at today's
    /// rate), then earlier due.
    FollowUp,
    /// 3: no-answer leads due another attempt, oldest last attempt first.
    NoAnswerRetry,
    /// 4: nurture re-contacts and customer visits that are due.
    Recontact,
}

/// Why a lead is in the queue: structured, so that the app can show it in the member's
/// language; [`CallQueue::reason_text`] renders it in English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueReason {
    /// A new lead with no attempt yet (R1).
    NewLead {
        /// When the lead was created.
        created_at: DateTime<Utc>,
        /// Calendar days from its creation to today, in the owner's zone (0: today).
        days_ago: u32,
    },
    /// A follow-up is due today or overdue (R3, R4, R7, R13).
    FollowUp {
        /// Which rule scheduled it.
        source: FollowUpSource,
        /// Agreed with the customer.
        agreed: bool,
        /// The deal size.
        deal: Option<Money>,
        /// The deal's currency has no rate to the team currency today: the lead is ordered as
        /// one without a deal size.
        missing_rate: bool,
    },
    /// The next attempt of the no-answer cadence (R2).
    NoAnswerRetry {
        /// 1-based number of the attempt to make.
        attempt: u32,
        /// Attempts of the cadence.
        max_attempts: u32,
        /// When the lead was last tried.
        last_attempt_at: DateTime<Utc>,
        /// Calendar days from the last attempt to today, in the owner's zone (1: yesterday).
        days_ago: u32,
    },
    /// A nurture re-contact (R9).
    Nurture {
        /// When the lead was closed as Not interested.
        lost_at: Option<DateTime<Utc>>,
    },
    /// A customer visit (R10).
    VisitDue {
        /// The customer's tier.
        tier: Tier,
    },
}

/// One lead in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueueItem {
    /// 1-based position.
    pub position: usize,
    /// Index of the lead in the slice the queue was computed from.
    pub lead_idx: usize,
    /// The lead.
    pub lead: LeadId,
    /// The queue tier.
    pub tier: QueueTier,
    /// When the call became due.
    pub due: DateTime<Utc>,
    /// Why the lead is in the queue.
    pub reason: QueueReason,
}

/// A rep's call queue for their local day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallQueue {
    /// The rep.
    pub rep: MemberId,
    /// The rep's local date.
    pub date: NaiveDate,
    /// The moment the queue was computed for.
    pub now: DateTime<Utc>,
    /// The rep's time zone.
    #[serde(skip)]
    pub tz: Tz,
    /// The ordered items.
    pub items: Vec<QueueItem>,
}

struct Candidate {
    lead_idx: usize,
    tier: QueueTier,
    due: DateTime<Utc>,
    /// Secondary key inside the tier (negated deal size in the team currency for tier 2, last
    /// attempt for tier 3).
    rank: i64,
}

/// Computes the call queue of `rep` at `now` over `leads` (any leads; only the rep's are
/// used). `tiers` gives customers' tiers for visit-due items.
pub fn call_queue(
    team: &Team,
    rep: &MemberId,
    leads: &[LeadFacts],
    tiers: &TierMap,
    now: DateTime<Utc>,
) -> CallQueue {
    let cx = RuleContext::new(team, rep, now);
    let today = cx.calendar.local_date(now);
    let end_of_today = cx.calendar.end_of_day(today);
    let start_of_today = cx.calendar.start_of_day(today);
    let mut picked: Vec<(Candidate, QueueReason)> = Vec::new();
    for (lead_idx, facts) in leads.iter().enumerate() {
        if &facts.owner != rep || facts.do_not_contact {
            continue;
        }
        if let Some(c) = classify(&cx, lead_idx, facts, tiers, start_of_today, end_of_today) {
            picked.push(c);
        }
    }
    picked.sort_by(|(a, _), (b, _)| {
        (a.tier, a.rank, a.due, &leads[a.lead_idx].id).cmp(&(
            b.tier,
            b.rank,
            b.due,
            &leads[b.lead_idx].id,
        ))
    });
    let items = picked
        .into_iter()
        .enumerate()
        .map(|(i, (c, reason))| QueueItem {
            position: i + 1,
            lead_idx: c.lead_idx,
            lead: leads[c.lead_idx].id.clone(),
            tier: c.tier,
            due: c.due,
            reason,
        })
        .collect();
    CallQueue {
        rep: rep.clone(),
        date: today,
        now,
        tz: cx.calendar.tz,
        items,
    }
}

/// The highest tier the lead qualifies for today, if any.
fn classify(
    cx: &RuleContext<'_>,
    lead_idx: usize,
    facts: &LeadFacts,
    tiers: &TierMap,
    start_of_today: DateTime<Utc>,
    end_of_today: DateTime<Utc>,
) -> Option<(Candidate, QueueReason)> {
    let role = effective_role(cx, facts);
    let days_ago = |t: DateTime<Utc>| {
        u32::try_from(cx.calendar.days_between(t, cx.now).max(0)).unwrap_or(u32::MAX)
    };
    let candidate = |tier, due, rank, reason| {
        Some((
            Candidate {
                lead_idx,
                tier,
                due,
                rank,
            },
            reason,
        ))
    };
    // 1. New leads with no attempt yet, oldest first.
    if role == StatusRole::New && facts.n_attempts == 0 {
        let reason = QueueReason::NewLead {
            created_at: facts.created_at,
            days_ago: days_ago(facts.created_at),
        };
        return candidate(QueueTier::NewLead, facts.created_at, 0, reason);
    }
    // 2. Next steps (and the follow-ups rules schedule) due today or overdue.
    if let Some((due, source)) = follow_up(cx, facts, role)
        && due < end_of_today
    {
        // Deals compare in the team currency at today's rate; a deal with no rate is never
        // compared raw: it orders like a lead without a deal size (documented fallback).
        let converted = facts
            .deal_size
            .as_ref()
            .map(|m| cx.playbook.rates().convert(m, cx.now.date_naive()));
        let reason = QueueReason::FollowUp {
            source,
            agreed: source == FollowUpSource::NextStep
                && facts.next_step.as_ref().is_some_and(|s| s.agreed),
            deal: facts.deal_size.clone(),
            missing_rate: converted == Some(None),
        };
        let deal = converted.flatten().unwrap_or(0);
        return candidate(QueueTier::FollowUp, due, -deal, reason);
    }
    // 3. No-answer leads with attempts left whose last attempt was before today. With the
    //    default one-working-day gap this is "yesterday or earlier"; a longer playbook gap
    //    waits for its day.
    if let Some(due) = r02_no_answer_cadence::next_attempt_due(cx, facts, role)
        && due < end_of_today
        && let Some(last) = facts.last_attempt_at
        && last < start_of_today
    {
        let reason = QueueReason::NoAnswerRetry {
            attempt: facts.n_failed_attempts + 1,
            max_attempts: cx.playbook.cadence.max_attempts,
            last_attempt_at: last,
            days_ago: days_ago(last),
        };
        return candidate(QueueTier::NoAnswerRetry, due, last.timestamp(), reason);
    }
    // 4. Nurture re-contacts (R9) and customer visits (R10) that are due.
    if let Some(due) = r09_nurture::recontact_due(cx, facts, role)
        && due < end_of_today
    {
        let reason = QueueReason::Nurture {
            lost_at: facts.lost_at,
        };
        return candidate(QueueTier::Recontact, due, 0, reason);
    }
    if let Some(&tier) = tiers.get(&facts.id)
        && let Some(due) = visit_due(cx.playbook, &cx.calendar, facts, tier)
        && due < end_of_today
    {
        return candidate(QueueTier::Recontact, due, 0, QueueReason::VisitDue { tier });
    }
    None
}

/// "25 min ago" and "3 h ago" on the same local day, then calendar days ("yesterday", "3 days
/// ago"): an attempt on Friday 10:00 seen on Monday 09:30 was 3 days ago, not 2.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>, days_ago: u32) -> String {
    let minutes = (now - t).num_minutes();
    match (days_ago, minutes) {
        (_, m) if m < 0 => "in the future".to_owned(),
        (0, m) if m < 60 => format!("{m} min ago"),
        (0, m) => format!("{} h ago", m / 60),
        (1, _) => "yesterday".to_owned(),
        (d, _) => format!("{d} days ago"),
    }
}

impl CallQueue {
    fn when_due(&self, due: DateTime<Utc>) -> String {
        let local = due.with_timezone(&self.tz);
        let date = local.date_naive();
        if date == self.date {
            if due < self.now {
                format!("overdue since {}", local.format("%H:%M"))
            } else {
                format!("due today at {}", local.format("%H:%M"))
            }
        } else {
            let days = (self.date - date).num_days();
            let unit = if days == 1 { "day" } else { "days" };
            format!(
                "overdue by {days} {unit} (due {})",
                local.format("%Y-%m-%d %H:%M")
            )
        }
    }

    /// The reason of `item` as an English sentence for the rep, in the rep's time zone.
    pub fn reason_text(&self, item: &QueueItem) -> String {
        match &item.reason {
            QueueReason::NewLead {
                created_at,
                days_ago,
            } => format!(
                "New lead created {}, no attempt yet: call now (speed to lead)",
                ago(self.now, *created_at, *days_ago)
            ),
            QueueReason::FollowUp {
                source,
                agreed,
                deal,
                missing_rate,
            } => {
                let what = match source {
                    FollowUpSource::NextStep if *agreed => "Next step agreed with the customer",
                    FollowUpSource::NextStep => "Planned next step",
                    FollowUpSource::FirstContact => "Follow-up call after the first contact",
                    FollowUpSource::ReviewReturn => "Returned to your funnel by the manager",
                    FollowUpSource::Reactivation => "Inactive customer: reactivation call",
                };
                let deal = deal
                    .as_ref()
                    .map(|m| {
                        let rate = if *missing_rate {
                            " (no exchange rate)"
                        } else {
                            ""
                        };
                        format!(", deal {} {}{rate}", format_minor(m.minor), m.currency)
                    })
                    .unwrap_or_default();
                format!("{what}, {}{deal}", self.when_due(item.due))
            }
            QueueReason::NoAnswerRetry {
                attempt,
                max_attempts,
                last_attempt_at,
                days_ago,
            } => format!(
                "No answer so far: attempt {attempt} of {max_attempts}, last tried {}",
                ago(self.now, *last_attempt_at, *days_ago)
            ),
            QueueReason::Nurture { lost_at } => format!(
                "Not interested since {}: nurture re-contact due",
                lost_at
                    .map(|t| t.with_timezone(&self.tz).date_naive().to_string())
                    .unwrap_or_else(|| "a while".to_owned())
            ),
            QueueReason::VisitDue { tier } => format!("Customer visit due (tier {tier:?})"),
        }
    }
}

/// `1234567` → `12,345.67`.
fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests;
