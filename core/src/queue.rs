//! R6 Daily call queue: for a rep at a moment, in the rep's own time zone and working week,
//! the ordered list of leads to call today, each with its tier and a human-readable reason.
//!
//! It runs over lead summaries ([`LeadFacts`]), never over documents, and allocates only for
//! the leads it returns, so a queue over a 10,000-lead book stays well under a millisecond.

use crate::facts::LeadFacts;
use crate::ids::{LeadId, MemberId};
use crate::playbook::StatusRole;
use crate::rules::{r02_no_answer_cadence, r09_nurture};
use crate::state::{FollowUpSource, RuleContext, effective_role, follow_up};
use crate::team::Team;
use crate::tiers::{Tier, TierMap, visit_due};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// The four tiers of the queue, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueTier {
    /// 1: new leads with no attempt yet, oldest first.
    NewLead,
    /// 2: next steps due today or overdue, larger deal first, then earlier due.
    FollowUp,
    /// 3: no-answer leads due another attempt, oldest last attempt first.
    NoAnswerRetry,
    /// 4: nurture re-contacts and customer visits that are due.
    Recontact,
}

/// One lead in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueItem {
    /// 1-based position.
    pub position: usize,
    /// The lead.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// The queue tier.
    pub tier: QueueTier,
    /// When the call became due.
    pub due: DateTime<Utc>,
    /// Why the lead is in the queue, for the rep.
    pub reason: String,
}

/// A rep's call queue for their local day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallQueue {
    /// The rep.
    pub rep: MemberId,
    /// The rep's local date.
    pub date: NaiveDate,
    /// The ordered items.
    pub items: Vec<QueueItem>,
}

struct Candidate<'a> {
    facts: &'a LeadFacts,
    tier: QueueTier,
    due: DateTime<Utc>,
    /// Secondary key inside the tier (negated deal size for tier 2).
    rank: i64,
    detail: Detail,
}

enum Detail {
    New,
    FollowUp(FollowUpSource),
    Retry { attempt: u32 },
    Nurture,
    Visit(Tier),
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
    let mut picked: Vec<Candidate<'_>> = Vec::new();
    for facts in leads {
        if &facts.owner != rep || facts.do_not_contact {
            continue;
        }
        if let Some(c) = classify(&cx, facts, tiers, start_of_today, end_of_today) {
            picked.push(c);
        }
    }
    picked.sort_by(|a, b| {
        (a.tier, a.rank, a.due, &a.facts.id).cmp(&(b.tier, b.rank, b.due, &b.facts.id))
    });
    let items = picked
        .into_iter()
        .enumerate()
        .map(|(i, c)| QueueItem {
            position: i + 1,
            lead: c.facts.id.clone(),
            company: c.facts.company.clone(),
            tier: c.tier,
            due: c.due,
            reason: reason(&cx, &c, today),
        })
        .collect();
    CallQueue {
        rep: rep.clone(),
        date: today,
        items,
    }
}

/// The highest tier the lead qualifies for today, if any.
fn classify<'a>(
    cx: &RuleContext<'_>,
    facts: &'a LeadFacts,
    tiers: &TierMap,
    start_of_today: DateTime<Utc>,
    end_of_today: DateTime<Utc>,
) -> Option<Candidate<'a>> {
    let role = effective_role(cx, facts);
    let candidate = |tier, due, rank, detail| {
        Some(Candidate {
            facts,
            tier,
            due,
            rank,
            detail,
        })
    };
    // 1. New leads with no attempt yet, oldest first.
    if role == StatusRole::New && facts.n_attempts == 0 {
        return candidate(QueueTier::NewLead, facts.created_at, 0, Detail::New);
    }
    // 2. Next steps (and the follow-ups rules schedule) due today or overdue.
    if let Some((due, source)) = follow_up(cx, facts, role)
        && due < end_of_today
    {
        let deal = facts.deal_size.as_ref().map_or(0, |m| m.minor);
        return candidate(QueueTier::FollowUp, due, -deal, Detail::FollowUp(source));
    }
    // 3. No-answer leads with attempts left whose last attempt was before today. With the
    //    default one-working-day gap this is "yesterday or earlier"; a longer playbook gap
    //    waits for its day.
    if let Some(due) = r02_no_answer_cadence::next_attempt_due(cx, facts, role)
        && due < end_of_today
        && facts.last_attempt_at.is_some_and(|t| t < start_of_today)
    {
        let last = facts.last_attempt_at.unwrap_or(due);
        return candidate(
            QueueTier::NoAnswerRetry,
            due,
            last.timestamp(),
            Detail::Retry {
                attempt: facts.n_failed_attempts + 1,
            },
        );
    }
    // 4. Nurture re-contacts (R9) and customer visits (R10) that are due.
    if let Some(due) = r09_nurture::recontact_due(cx, facts, role)
        && due < end_of_today
    {
        return candidate(QueueTier::Recontact, due, 0, Detail::Nurture);
    }
    if let Some(&tier) = tiers.get(&facts.id)
        && let Some(due) = visit_due(cx.playbook, facts, tier)
        && due < end_of_today
    {
        return candidate(QueueTier::Recontact, due, 0, Detail::Visit(tier));
    }
    None
}

fn ago(cx: &RuleContext<'_>, t: DateTime<Utc>) -> String {
    let minutes = (cx.now - t).num_minutes();
    match minutes {
        m if m < 0 => "in the future".to_owned(),
        m if m < 60 => format!("{m} min ago"),
        m if m < 48 * 60 => format!("{} h ago", m / 60),
        m => format!("{} days ago", m / (24 * 60)),
    }
}

fn when_due(cx: &RuleContext<'_>, due: DateTime<Utc>, today: NaiveDate) -> String {
    let local = due.with_timezone(&cx.calendar.tz);
    let date = local.date_naive();
    if date == today {
        if due < cx.now {
            format!("overdue since {}", local.format("%H:%M"))
        } else {
            format!("due today at {}", local.format("%H:%M"))
        }
    } else {
        let days = (today - date).num_days();
        let unit = if days == 1 { "day" } else { "days" };
        format!("overdue by {days} {unit} (due {})", local.format("%Y-%m-%d %H:%M"))
    }
}

fn reason(cx: &RuleContext<'_>, c: &Candidate<'_>, today: NaiveDate) -> String {
    let facts = c.facts;
    match &c.detail {
        Detail::New => format!(
            "New lead created {}, no attempt yet: call now (speed to lead)",
            ago(cx, facts.created_at)
        ),
        Detail::FollowUp(source) => {
            let what = match source {
                FollowUpSource::NextStep => {
                    let agreed = facts.next_step.as_ref().is_some_and(|s| s.agreed);
                    if agreed {
                        "Next step agreed with the customer"
                    } else {
                        "Planned next step"
                    }
                }
                FollowUpSource::FirstContact => "Follow-up call after the first contact",
                FollowUpSource::ReviewReturn => "Returned to your funnel by the manager",
                FollowUpSource::Reactivation => "Inactive customer: reactivation call",
            };
            let deal = facts
                .deal_size
                .as_ref()
                .map(|m| format!(", deal {} {}", format_minor(m.minor), m.currency))
                .unwrap_or_default();
            format!("{what}, {}{deal}", when_due(cx, c.due, today))
        }
        Detail::Retry { attempt } => format!(
            "No answer so far: attempt {attempt} of {}, last tried {}",
            cx.playbook.cadence.max_attempts,
            facts
                .last_attempt_at
                .map(|t| ago(cx, t))
                .unwrap_or_default()
        ),
        Detail::Nurture => format!(
            "Not interested since {}: nurture re-contact due",
            facts
                .lost_at
                .map(|t| cx.calendar.local_date(t).to_string())
                .unwrap_or_default()
        ),
        Detail::Visit(tier) => format!("Customer visit due (tier {tier:?})"),
    }
}

/// `1234567` → `12,345.67`.
fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests;
