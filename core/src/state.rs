//! Derived state of a lead: status, flags and open tasks as a pure function of the team
//! (playbook, calendars, managers), the lead's facts and the current time (SPEC §2). Each rule
//! contributes from its own file under `rules/`.

use crate::calendar::Calendar;
use crate::facts::LeadFacts;
use crate::ids::{LeadId, MemberId};
use crate::lead::NextStepKind;
use crate::playbook::{Playbook, StatusRole};
use crate::rules;
use crate::team::Team;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A flag on a lead, each from one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// R1: New and inside the first-attempt window.
    RespondNow,
    /// R1: New, past the window.
    LateResponse,
    /// R1: New for 15 hours or more: chances drop sharply.
    ResponseDecaying,
    /// R1: New for 24 hours or more: reported to the manager.
    StaleNew,
    /// R2: last attempt reached voicemail; do not leave messages.
    VoicemailHint,
    /// R2: the cadence is used up; propose closing as unreachable.
    ProposeClose,
    /// R5: an open deal with nothing scheduled.
    NoNextStep,
    /// R5: the next step is past due.
    Overdue,
    /// R5: In process and no conversation or attempt for days.
    GoingCold,
    /// R5: postponed too often since the last quote; ask for a final yes or no.
    NeedsFinalAnswer,
    /// R7: a refusal waits for the manager's review.
    AwaitingReview,
    /// R9: the customer asked not to be contacted.
    DoNotContact,
    /// R14: decisions made on different devices contradict each other; a manager settles it.
    Conflict,
    /// An amount of the lead (deal size today, an order or a refusal budget on its date) is
    /// in a currency with no exchange rate to the team currency: it is left out of totals and
    /// the queue orders the lead as one without a deal size until a rate is added (SPEC §2).
    NoExchangeRate,
}

/// What a task asks someone to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskKind {
    /// R1: first attempt on a new lead.
    FirstAttempt,
    /// R2: the next attempt of the no-answer cadence.
    NextAttempt {
        /// 1-based number of the attempt to make.
        attempt: u32,
    },
    /// R2: confirm closing an unreachable lead as Not interested.
    ConfirmClose,
    /// R3: follow-up call after the first contact.
    FollowUpCall,
    /// R4: the open next step.
    NextStep {
        /// Kind of next step.
        step: NextStepKind,
        /// Agreed with the customer.
        agreed: bool,
    },
    /// R7: review a refusal (the manager's task).
    ReviewRefusal,
    /// R7: follow up after the manager returned the lead to the funnel.
    ReturnFollowUp,
    /// R9: nurture re-contact of a Not interested lead.
    NurtureRecontact,
    /// R12: send the materials the customer asked for.
    SendMaterials,
    /// R13: reactivate an inactive customer.
    Reactivation,
    /// R14: settle a semantic conflict (the manager's task).
    ResolveConflict {
        /// The conflict's key.
        conflict: String,
    },
}

/// A suggested personal email (R2), placeholders filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SuggestedEmail {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// An open task on a lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Task {
    /// What to do.
    #[serde(flatten)]
    pub kind: TaskKind,
    /// The rule that created it, e.g. `R2`.
    pub rule: &'static str,
    /// When it is due.
    pub due: DateTime<Utc>,
    /// Who should do it.
    pub assignee: MemberId,
    /// A suggested email to send with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub email: Option<SuggestedEmail>,
}

/// Derived state of one lead at one moment (computed, never stored as the truth).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeadState {
    /// The lead.
    pub lead: LeadId,
    /// The owner.
    pub owner: MemberId,
    /// Status key (the team's status for the role, or the override in force).
    pub status: String,
    /// Status label in the team's language.
    pub label: String,
    /// Built-in role of the status.
    pub role: StatusRole,
    /// Flags, sorted.
    pub flags: Vec<Flag>,
    /// Open tasks, by due time.
    pub tasks: Vec<Task>,
    /// On the nurture mailing list (R9).
    pub mailing_list: bool,
}

impl LeadState {
    /// Whether the lead carries `flag`.
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// What every rule reads: the team's playbook, the owner's calendar and manager, the time.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    /// The playbook.
    pub playbook: &'a Playbook,
    /// The owner's calendar.
    pub calendar: Calendar,
    /// The owner.
    pub owner: &'a MemberId,
    /// The owner's display name (for email suggestions).
    pub owner_name: &'a str,
    /// The owner's manager, if any.
    pub manager: Option<&'a MemberId>,
    /// The current time.
    pub now: DateTime<Utc>,
}

impl<'a> RuleContext<'a> {
    /// The context for a lead owned by `owner` in `team` at `now`.
    pub fn new(team: &'a Team, owner: &'a MemberId, now: DateTime<Utc>) -> Self {
        let member = team.member(owner);
        Self {
            playbook: &team.playbook,
            calendar: team.calendar(owner),
            owner,
            owner_name: member.map_or("", |m| m.name.as_str()),
            manager: member.and_then(|m| m.manager.as_ref()),
            now,
        }
    }
}

/// The lead's status role at `cx.now` (R13 turns long-silent customers inactive).
pub fn effective_role(cx: &RuleContext<'_>, facts: &LeadFacts) -> StatusRole {
    if rules::r13_inactive_customers::is_inactive(cx, facts) {
        StatusRole::Dormant
    } else {
        facts.role
    }
}

/// Where the lead's follow-up comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FollowUpSource {
    /// R4: an explicit next step.
    NextStep,
    /// R3: the automatic follow-up after the first contact.
    FirstContact,
    /// R7: after a return to the funnel.
    ReviewReturn,
    /// R13: reactivation of an inactive customer.
    Reactivation,
}

/// The lead's scheduled follow-up at `cx.now`, if any: the open next step, or the follow-up a
/// rule schedules in its absence (R3, R7, R13). The call queue's tier 2 and the flags of R5
/// both read this one answer.
pub fn follow_up(
    cx: &RuleContext<'_>,
    facts: &LeadFacts,
    role: StatusRole,
) -> Option<(DateTime<Utc>, FollowUpSource)> {
    if let Some(step) = &facts.next_step {
        return Some((step.due, FollowUpSource::NextStep));
    }
    if let Some(due) = rules::r07_refusal_review::return_follow_up_due(cx, facts) {
        return Some((due, FollowUpSource::ReviewReturn));
    }
    if let Some(due) = rules::r03_first_conversation::follow_up_due(cx, facts, role) {
        return Some((due, FollowUpSource::FirstContact));
    }
    if role == StatusRole::Dormant {
        return rules::r13_inactive_customers::reactivation_due(cx, facts)
            .map(|t| (t, FollowUpSource::Reactivation));
    }
    None
}

/// Whether an amount the orderings and totals read (the deal size at today's rate, each order
/// and refusal budget at the rate of its date) cannot be converted to the team currency.
pub fn lacks_exchange_rate(cx: &RuleContext<'_>, facts: &LeadFacts) -> bool {
    let rates = cx.playbook.rates();
    facts
        .amounts_to_convert(cx.now.date_naive())
        .any(|(money, date)| rates.convert(money, date).is_none())
}

/// Derives the state of the lead summarised by `facts` in `team` at `now`.
pub fn derive(team: &Team, facts: &LeadFacts, now: DateTime<Utc>) -> LeadState {
    let cx = RuleContext::new(team, &facts.owner, now);
    derive_in(&cx, facts)
}

/// [`derive()`] with a prepared context.
pub fn derive_in(cx: &RuleContext<'_>, facts: &LeadFacts) -> LeadState {
    let role = effective_role(cx, facts);
    let status = match (&facts.status_override, role) {
        (Some(key), r) if r == facts.role => cx
            .playbook
            .status(key)
            .unwrap_or_else(|| cx.playbook.status_for(role)),
        _ => cx.playbook.status_for(role),
    };
    let mut state = LeadState {
        lead: facts.id.clone(),
        owner: facts.owner.clone(),
        status: status.key.clone(),
        label: status.label.clone(),
        role,
        flags: Vec::new(),
        tasks: Vec::new(),
        mailing_list: false,
    };
    rules::r01_speed_to_lead::apply(cx, facts, role, &mut state);
    rules::r02_no_answer_cadence::apply(cx, facts, role, &mut state);
    rules::r04_next_step::apply(cx, facts, role, &mut state);
    rules::r05_at_risk::apply(cx, facts, role, &mut state);
    rules::r07_refusal_review::apply(cx, facts, role, &mut state);
    rules::r09_nurture::apply(cx, facts, role, &mut state);
    rules::r12_trust_requests::apply(cx, facts, role, &mut state);
    rules::r14_conflicts::apply(cx, facts, role, &mut state);
    if lacks_exchange_rate(cx, facts) {
        state.flags.push(Flag::NoExchangeRate);
    }
    state.flags.sort();
    state.flags.dedup();
    state
        .tasks
        .sort_by(|a, b| (a.due, a.rule).cmp(&(b.due, b.rule)));
    state
}
