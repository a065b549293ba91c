//! Commands that record events, validated first (R3, R4, R7 and the manager's rights): a
//! command returns either every event it records or a typed error naming the field; nothing
//! is half-written. Ids and time come in through [`Author`], never from a clock.
//!
//! Every decision (won, refusal, review, status override, assignment, next step) records in
//! its `after` the head of its topic from the lead's facts, so that R14 can tell decisions
//! made without seeing each other (`crate::rules::r14_conflicts`). Creating and editing the
//! lead's own fields is in [`lead_fields`].
//!
//! ```
//! use fieldbook_core::commands::{Author, ConversationInput, NextStepInput, log_conversation};
//! use fieldbook_core::lead::{ConversationKind, NextStepKind};
//! # fn demo(team: &fieldbook_core::team::Team, facts: &fieldbook_core::facts::LeadFacts, now: chrono::DateTime<chrono::Utc>) {
//! let mut n = 0;
//! let mut ids = || { n += 1; format!("ev-{n}").into() };
//! let author = Author { team, by: &"dana".into(), now, ids: &mut ids };
//! let input = ConversationInput {
//!     kind: ConversationKind::Call,
//!     notes: String::new(), // no notes: rejected, nothing recorded
//!     ..ConversationInput::default()
//! };
//! assert!(log_conversation(author, facts, input).is_err());
//! # }
//! ```

use crate::facts::LeadFacts;
use crate::ids::{EventId, MemberId, ProductId};
use crate::lead::{
    AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event, EventKind, Material,
    NextStepKind, ReviewDecision, Topic,
};
use crate::money::{Money, is_currency_code};
use crate::playbook::StatusRole;
use crate::team::Team;
use crate::write;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod error;
mod history;
pub mod lead_fields;
pub use error::{CommandError, Problem};
use error::{invalid, missing, not_now};
pub use history::{HistoryWarning, check_history};
pub use lead_fields::{LeadEdit, LeadPatch, NewLead, create_lead, edit_lead};

/// Who records a command, when, and where event ids come from.
pub struct Author<'a> {
    /// The team (playbook, roles).
    pub team: &'a Team,
    /// The member recording it.
    pub by: &'a MemberId,
    /// The time of recording.
    pub now: DateTime<Utc>,
    /// A source of fresh, unique event ids (the host generates them).
    pub ids: &'a mut dyn FnMut() -> EventId,
}

impl std::fmt::Debug for Author<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Author")
            .field("by", self.by)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Author<'_> {
    /// An event that is not a decision.
    fn event(&mut self, kind: EventKind) -> Event {
        self.event_after(kind, None)
    }

    /// A decision, recorded `after` the head of its topic in `facts` (R14).
    fn decision(&mut self, kind: EventKind, facts: &LeadFacts) -> Event {
        let topic = kind.topic().expect("a decision has a topic");
        let after = facts.heads.get(topic).cloned();
        self.event_after(kind, after)
    }

    fn event_after(&mut self, kind: EventKind, after: Option<EventId>) -> Event {
        Event {
            id: (self.ids)(),
            at: self.now,
            by: self.by.clone(),
            after,
            kind,
        }
    }

    /// Whether the write model lets the author record an event of `kind` on this lead.
    fn may_record(&self, kind: &EventKind) -> Result<(), CommandError> {
        write::may_record(self.team, self.by, kind).map_err(CommandError::from)
    }
}

/// A next step as entered by the rep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NextStepInput {
    /// What kind.
    pub kind: NextStepKind,
    /// When.
    pub due: DateTime<Utc>,
    /// Agreed with the customer.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub agreed: bool,
    /// Planned duration (visits).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub duration_minutes: Option<u32>,
    /// Free text.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub note: String,
}

/// A refusal as entered (R7).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalInput {
    /// Key of a playbook refusal reason.
    pub reason: String,
    /// Products refused.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub products: Vec<ProductId>,
    /// The customer's budget.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub budget: Option<Money>,
    /// Competitor chosen.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub competitor: Option<String>,
    /// Free text.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub note: String,
}

/// A final yes as entered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WonInput {
    /// Deal amount.
    pub amount: Money,
    /// Products sold.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub products: Vec<ProductId>,
}

/// A conversation as entered (R3, R4): notes, and exactly one way it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ConversationInput {
    /// What kind.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub kind: ConversationKind,
    /// What was said (required).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub notes: String,
    /// The customer's needs.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub needs: String,
    /// Ended with a next step.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub next_step: Option<NextStepInput>,
    /// Ended with the customer naming a decision date: the follow-up is due exactly then.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub decision_date: Option<DateTime<Utc>>,
    /// Ended with the customer needing time: follow-up in the playbook's days, agreed.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub needs_time: bool,
    /// Ended with a final yes.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub final_yes: Option<WonInput>,
    /// Ended with a final no.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub final_no: Option<RefusalInput>,
}

impl Default for ConversationInput {
    fn default() -> Self {
        Self {
            kind: ConversationKind::Call,
            notes: String::new(),
            needs: String::new(),
            next_step: None,
            decision_date: None,
            needs_time: false,
            final_yes: None,
            final_no: None,
        }
    }
}

fn next_step_kind(input: &NextStepInput) -> EventKind {
    EventKind::NextStep {
        kind: input.kind,
        due: input.due,
        agreed: input.agreed,
        duration_minutes: input.duration_minutes,
        note: input.note.clone(),
    }
}

fn check_next_step(
    field: &str,
    input: &NextStepInput,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    if input.due <= now {
        let due = input.due;
        return Err(invalid(field, Problem::DueTooEarly { now, due }));
    }
    if input.duration_minutes == Some(0) {
        return Err(invalid(field, Problem::DurationZero));
    }
    Ok(())
}

fn check_refusal(team: &Team, input: &RefusalInput) -> Result<(), CommandError> {
    let Some(reason) = team.playbook.refusal_reason(&input.reason) else {
        let known: Vec<String> = team
            .playbook
            .refusal_reasons
            .iter()
            .map(|r| r.key.clone())
            .collect();
        return Err(if input.reason.trim().is_empty() {
            missing("reason", Problem::ReasonMissing { known })
        } else {
            let reason = input.reason.clone();
            invalid("reason", Problem::UnknownReason { reason, known })
        });
    };
    if input.products.is_empty() {
        return Err(missing("products", Problem::RefusalProducts));
    }
    if reason.requires_budget {
        match &input.budget {
            None => return Err(missing("budget", Problem::BudgetMissing)),
            Some(m) if m.minor < 0 => return Err(invalid("budget", Problem::Negative)),
            Some(_) => {}
        }
    }
    Ok(())
}

fn refusal_kind(input: &RefusalInput) -> EventKind {
    EventKind::Refusal {
        reason: input.reason.clone(),
        products: input.products.clone(),
        budget: input.budget.clone(),
        competitor: input.competitor.clone(),
        note: input.note.clone(),
    }
}

fn check_amount(field: &str, amount: &Money) -> Result<(), CommandError> {
    if amount.minor <= 0 {
        return Err(invalid(field, Problem::NotPositive));
    }
    if !is_currency_code(&amount.currency) {
        let currency = amount.currency.clone();
        return Err(invalid(field, Problem::CurrencyCode { currency }));
    }
    Ok(())
}

/// Logs a contact attempt (R2: voicemail counts as unsuccessful).
pub fn log_attempt(
    mut author: Author<'_>,
    channel: Channel,
    outcome: AttemptOutcome,
) -> Vec<Event> {
    vec![author.event(EventKind::Attempt { channel, outcome })]
}

/// Logs a conversation (R3, R4): notes are required and it must end with exactly one of a next
/// step, a decision date, "needs time", a final yes or a final no. Returns the conversation
/// event and the event it ended with.
pub fn log_conversation(
    mut author: Author<'_>,
    facts: &LeadFacts,
    input: ConversationInput,
) -> Result<Vec<Event>, CommandError> {
    if input.notes.trim().is_empty() {
        return Err(missing("notes", Problem::NotesMissing));
    }
    let endings: Vec<&str> = [
        ("next_step", input.next_step.is_some()),
        ("decision_date", input.decision_date.is_some()),
        ("needs_time", input.needs_time),
        ("final_yes", input.final_yes.is_some()),
        ("final_no", input.final_no.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    match endings.len() {
        0 => return Err(missing("next_step", Problem::EndingMissing)),
        1 => {}
        _ => {
            let endings = endings.into_iter().map(str::to_owned).collect();
            return Err(invalid("next_step", Problem::EndingsConflict { endings }));
        }
    }
    let now = author.now;
    let playbook = &author.team.playbook;
    let (ended, then) = if let Some(step) = &input.next_step {
        check_next_step("next_step.due", step, now)?;
        (ConversationEnd::NextStep, next_step_kind(step))
    } else if let Some(date) = input.decision_date {
        if date <= now {
            return Err(invalid(
                "decision_date",
                Problem::DecisionDateTooEarly { now, date },
            ));
        }
        let kind = if facts.quote_out.is_some() {
            NextStepKind::QuoteFollowUp
        } else {
            NextStepKind::Call
        };
        let step = NextStepInput {
            kind,
            due: date,
            agreed: true,
            duration_minutes: None,
            note: "the customer named this decision date".to_owned(),
        };
        (ConversationEnd::NextStep, next_step_kind(&step))
    } else if input.needs_time {
        let step = NextStepInput {
            kind: NextStepKind::Call,
            // "In a week" lands on the owner's working day; a date the customer named never
            // moves (above).
            due: author
                .team
                .calendar(&facts.owner)
                .days_later_on_working_day(now, playbook.follow_ups.needs_time_days),
            agreed: true,
            duration_minutes: None,
            note: "the customer needs time".to_owned(),
        };
        (ConversationEnd::NextStep, next_step_kind(&step))
    } else if let Some(yes) = &input.final_yes {
        check_amount("final_yes.amount", &yes.amount)?;
        (
            ConversationEnd::FinalYes,
            EventKind::Won {
                amount: yes.amount.clone(),
                products: yes.products.clone(),
            },
        )
    } else {
        let no = input.final_no.as_ref().expect("exactly one ending is set");
        check_refusal(author.team, no).map_err(|e| e.within("final_no"))?;
        (ConversationEnd::FinalNo, refusal_kind(no))
    };
    // The conversation consumes the next step its author knows of: it names it (R14).
    let conversation = author.event_after(
        EventKind::Conversation {
            kind: input.kind,
            notes: input.notes,
            needs: input.needs,
            ended,
        },
        facts.heads.get(Topic::NextStep).cloned(),
    );
    Ok(vec![conversation, author.decision(then, facts)])
}

/// Sets the next step without a conversation (e.g. rescheduling).
pub fn set_next_step(
    mut author: Author<'_>,
    facts: &LeadFacts,
    input: &NextStepInput,
) -> Result<Vec<Event>, CommandError> {
    check_next_step("due", input, author.now)?;
    Ok(vec![author.decision(next_step_kind(input), facts)])
}

/// Records a refusal (R7): reason from the playbook, products and budget required. It creates
/// the manager's review task through the derived state.
pub fn record_refusal(
    mut author: Author<'_>,
    facts: &LeadFacts,
    input: &RefusalInput,
) -> Result<Vec<Event>, CommandError> {
    check_refusal(author.team, input)?;
    Ok(vec![author.decision(refusal_kind(input), facts)])
}

/// R2: the rep confirms closing a lead whose no-answer cadence is used up.
pub fn confirm_close_unreachable(
    mut author: Author<'_>,
    facts: &LeadFacts,
) -> Result<Vec<Event>, CommandError> {
    let cadence = &author.team.playbook.cadence;
    if facts.role != StatusRole::NoAnswer || facts.n_failed_attempts < cadence.max_attempts {
        return Err(not_now(Problem::CadenceNotUsedUp {
            needed: cadence.max_attempts,
            has: facts.n_failed_attempts,
        }));
    }
    let reason = cadence.close_reason.clone();
    let refusal = EventKind::Refusal {
        reason,
        products: Vec::new(),
        budget: None,
        competitor: None,
        note: format!("unreachable after {} attempts", facts.n_failed_attempts),
    };
    Ok(vec![author.decision(refusal, facts)])
}

/// R7: the manager's decision on a pending refusal.
pub fn review_refusal(
    mut author: Author<'_>,
    facts: &LeadFacts,
    decision: ReviewDecision,
    note: &str,
) -> Result<Vec<Event>, CommandError> {
    let review = EventKind::ReviewDecision {
        decision,
        note: note.to_owned(),
    };
    author.may_record(&review)?;
    if facts.pending_review.is_none() {
        let lead = facts.id.clone();
        return Err(not_now(Problem::NoPendingReview { lead }));
    }
    Ok(vec![author.decision(review, facts)])
}

/// Records a final yes outside a conversation.
pub fn mark_won(
    mut author: Author<'_>,
    facts: &LeadFacts,
    input: &WonInput,
) -> Result<Vec<Event>, CommandError> {
    check_amount("amount", &input.amount)?;
    let won = EventKind::Won {
        amount: input.amount.clone(),
        products: input.products.clone(),
    };
    Ok(vec![author.decision(won, facts)])
}

/// Records a customer's order.
pub fn record_order(
    mut author: Author<'_>,
    amount: &Money,
    gross_profit: Option<&Money>,
    products: &[ProductId],
) -> Result<Vec<Event>, CommandError> {
    check_amount("amount", amount)?;
    if let Some(gp) = gross_profit
        && gp.currency != amount.currency
    {
        let (profit, order) = (gp.currency.clone(), amount.currency.clone());
        return Err(invalid(
            "gross_profit",
            Problem::ProfitCurrency { profit, order },
        ));
    }
    if products.is_empty() {
        return Err(missing("products", Problem::OrderProducts));
    }
    Ok(vec![author.event(EventKind::Order {
        amount: amount.clone(),
        gross_profit: gross_profit.cloned(),
        products: products.to_vec(),
    })])
}

/// R12: the customer asked for materials before deciding.
pub fn request_materials(
    mut author: Author<'_>,
    materials: &[Material],
) -> Result<Vec<Event>, CommandError> {
    if materials.is_empty() {
        return Err(missing("materials", Problem::MaterialsToRequest));
    }
    Ok(vec![author.event(EventKind::MaterialsRequested {
        materials: materials.to_vec(),
    })])
}

/// R12: the requested materials were sent.
pub fn send_materials(
    mut author: Author<'_>,
    facts: &LeadFacts,
    materials: &[Material],
) -> Result<Vec<Event>, CommandError> {
    if facts.materials_requested_at.is_none() {
        let lead = facts.id.clone();
        return Err(not_now(Problem::NoMaterialsRequest { lead }));
    }
    if materials.is_empty() {
        return Err(missing("materials", Problem::MaterialsSent));
    }
    Ok(vec![author.event(EventKind::MaterialsSent {
        materials: materials.to_vec(),
    })])
}

/// A manager assigns the lead to another rep.
pub fn assign(
    mut author: Author<'_>,
    facts: &LeadFacts,
    owner: &MemberId,
) -> Result<Vec<Event>, CommandError> {
    let assigned = EventKind::Assigned {
        owner: owner.clone(),
    };
    write::may_record(author.team, author.by, &assigned).map_err(CommandError::at_owner)?;
    if &facts.owner == owner {
        let owner = owner.clone();
        return Err(invalid("owner", Problem::AlreadyOwner { owner }));
    }
    Ok(vec![author.decision(assigned, facts)])
}

/// A manager sets the status by hand until a later event moves it on.
pub fn override_status(
    mut author: Author<'_>,
    facts: &LeadFacts,
    status: &str,
    reason: &str,
) -> Result<Vec<Event>, CommandError> {
    let event = EventKind::StatusOverride {
        status: status.to_owned(),
        reason: reason.to_owned(),
    };
    author.may_record(&event)?;
    if author.team.playbook.status(status).is_none() {
        let known = author
            .team
            .playbook
            .statuses
            .iter()
            .map(|s| s.key.clone())
            .collect();
        let status = status.to_owned();
        return Err(invalid("status", Problem::UnknownStatus { status, known }));
    }
    if reason.trim().is_empty() {
        return Err(missing("reason", Problem::OverrideReason));
    }
    let status = event;
    Ok(vec![author.decision(status, facts)])
}

/// R14: a manager settles the open conflict `key` of the lead. With `keep`, that decision
/// stands and the other is overruled (kept in the history, skipped by the rules); without it
/// both stand and only the conflict closes.
pub fn resolve_conflict(
    mut author: Author<'_>,
    facts: &LeadFacts,
    key: &str,
    keep: Option<&EventId>,
    note: &str,
) -> Result<Vec<Event>, CommandError> {
    let resolved = EventKind::ConflictResolved {
        conflict: key.to_owned(),
        keep: keep.cloned(),
        note: note.to_owned(),
    };
    author.may_record(&resolved)?;
    let Some(conflict) = facts.conflicts.iter().find(|c| c.key == key) else {
        let open = facts.conflicts.iter().map(|c| c.key.clone()).collect();
        return Err(if key.trim().is_empty() {
            missing("conflict", Problem::ConflictMissing { open })
        } else {
            let (key, lead) = (key.to_owned(), facts.id.clone());
            invalid("conflict", Problem::UnknownConflict { key, lead, open })
        });
    };
    if let Some(keep) = keep
        && !conflict.involves(keep)
    {
        let events = conflict
            .events
            .iter()
            .map(|e| e.event.to_string())
            .collect();
        let keep = keep.clone();
        return Err(invalid("keep", Problem::KeepNotInConflict { keep, events }));
    }
    Ok(vec![author.event(resolved)])
}

#[cfg(test)]
mod tests;
