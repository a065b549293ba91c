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
use crate::team::{Role, Team};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod history;
pub mod lead_fields;
pub use history::{HistoryWarning, check_history};
pub use lead_fields::{LeadEdit, LeadPatch, NewLead, create_lead, edit_lead};

/// R3: why a conversation without notes is refused.
const NOTES_MISSING: &str =
    "document what was said and the customer's needs; a conversation without notes is not saved";

/// Why a command was refused. Every variant names the field or the rule; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A required field is missing or empty.
    #[error("{field}: {message}")]
    Missing {
        /// The input field.
        field: String,
        /// What is expected.
        message: String,
    },
    /// A field has a value the rules do not accept.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The author may not do this, or the lead is not in a state that allows it.
    #[error("not allowed: {0}")]
    NotAllowed(String),
}

fn missing(field: &str, message: impl Into<String>) -> CommandError {
    CommandError::Missing {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> CommandError {
    CommandError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

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

    fn role(&self) -> Option<Role> {
        self.team.member(self.by).map(|m| m.role)
    }

    /// Managers and admins may decide on the team's leads.
    fn require_manager(&self, what: &str) -> Result<(), CommandError> {
        match self.role() {
            Some(Role::Manager | Role::Admin) => Ok(()),
            _ => Err(CommandError::NotAllowed(format!(
                "only a manager or admin may {what}; {} is not one",
                self.by
            ))),
        }
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
        return Err(invalid(
            field,
            format!(
                "the next step must be due after the time it is recorded ({now}), not at {}",
                input.due
            ),
        ));
    }
    if input.duration_minutes == Some(0) {
        return Err(invalid(field, "duration_minutes must be more than 0"));
    }
    Ok(())
}

fn check_refusal(team: &Team, input: &RefusalInput) -> Result<(), CommandError> {
    let Some(reason) = team.playbook.refusal_reason(&input.reason) else {
        let known: Vec<&str> = team
            .playbook
            .refusal_reasons
            .iter()
            .map(|r| r.key.as_str())
            .collect();
        return Err(if input.reason.trim().is_empty() {
            missing(
                "reason",
                format!("a refusal needs a reason, one of {known:?}"),
            )
        } else {
            invalid(
                "reason",
                format!(
                    "{:?} is not a refusal reason of the playbook ({known:?})",
                    input.reason
                ),
            )
        });
    };
    if input.products.is_empty() {
        return Err(missing(
            "products",
            "a refusal names the product(s) refused",
        ));
    }
    if reason.requires_budget {
        match &input.budget {
            None => {
                return Err(missing(
                    "budget",
                    "a refusal records the customer's budget (R7)",
                ));
            }
            Some(m) if m.minor < 0 => return Err(invalid("budget", "must not be negative")),
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
        return Err(invalid(field, "the amount must be more than 0"));
    }
    if !is_currency_code(&amount.currency) {
        return Err(invalid(
            field,
            format!(
                "{:?} is not an ISO 4217 currency code like \"ILS\"",
                amount.currency
            ),
        ));
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
        return Err(missing("notes", NOTES_MISSING));
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
        0 => {
            return Err(missing(
                "next_step",
                "a conversation must end with a next step with a due date and time, a decision date, \"needs time\", a final yes or a final no",
            ));
        }
        1 => {}
        _ => {
            return Err(invalid(
                "next_step",
                format!(
                    "a conversation ends with exactly one of next step, final yes or final no; got {}",
                    endings.join(" and ")
                ),
            ));
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
                format!("the decision date must be after now ({now}), not {date}"),
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
        check_refusal(author.team, no).map_err(|e| prefix_field(e, "final_no"))?;
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

/// Names `e`'s field inside the input part `prefix`, e.g. `final_no.budget`.
fn prefix_field(e: CommandError, prefix: &str) -> CommandError {
    match e {
        CommandError::Missing { field, message } => CommandError::Missing {
            field: format!("{prefix}.{field}"),
            message,
        },
        CommandError::Invalid { field, message } => CommandError::Invalid {
            field: format!("{prefix}.{field}"),
            message,
        },
        other => other,
    }
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
        return Err(CommandError::NotAllowed(format!(
            "closing as unreachable needs {} unsuccessful attempts; this lead has {}",
            cadence.max_attempts, facts.n_failed_attempts
        )));
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
    author.require_manager("review a refusal")?;
    if facts.pending_review.is_none() {
        return Err(CommandError::NotAllowed(format!(
            "lead {} has no refusal waiting for review",
            facts.id
        )));
    }
    let review = EventKind::ReviewDecision {
        decision,
        note: note.to_owned(),
    };
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
        return Err(invalid(
            "gross_profit",
            format!(
                "currency {} differs from the order's {}",
                gp.currency, amount.currency
            ),
        ));
    }
    if products.is_empty() {
        return Err(missing("products", "an order names the products ordered"));
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
        return Err(missing("materials", "name what the customer asked for"));
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
        return Err(CommandError::NotAllowed(format!(
            "lead {} has no open materials request",
            facts.id
        )));
    }
    if materials.is_empty() {
        return Err(missing("materials", "name what was sent"));
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
    author.require_manager("reassign a lead")?;
    match author.team.member(owner) {
        None => {
            return Err(invalid(
                "owner",
                format!("{owner} is not a member of the team"),
            ));
        }
        Some(m) if m.role != Role::Rep && m.role != Role::Manager => {
            return Err(invalid("owner", format!("{owner} is an admin, not a rep")));
        }
        Some(_) => {}
    }
    if &facts.owner == owner {
        return Err(invalid(
            "owner",
            format!("the lead already belongs to {owner}"),
        ));
    }
    let assigned = EventKind::Assigned {
        owner: owner.clone(),
    };
    Ok(vec![author.decision(assigned, facts)])
}

/// A manager sets the status by hand until a later event moves it on.
pub fn override_status(
    mut author: Author<'_>,
    facts: &LeadFacts,
    status: &str,
    reason: &str,
) -> Result<Vec<Event>, CommandError> {
    author.require_manager("override a status")?;
    if author.team.playbook.status(status).is_none() {
        let known: Vec<&str> = author
            .team
            .playbook
            .statuses
            .iter()
            .map(|s| s.key.as_str())
            .collect();
        return Err(invalid(
            "status",
            format!("{status:?} is not a status of the playbook ({known:?})"),
        ));
    }
    if reason.trim().is_empty() {
        return Err(missing("reason", "say why the status is overridden"));
    }
    let status = EventKind::StatusOverride {
        status: status.to_owned(),
        reason: reason.to_owned(),
    };
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
    author.require_manager("resolve a conflict")?;
    let Some(conflict) = facts.conflicts.iter().find(|c| c.key == key) else {
        let open: Vec<&str> = facts.conflicts.iter().map(|c| c.key.as_str()).collect();
        return Err(if key.trim().is_empty() {
            missing(
                "conflict",
                format!("name the conflict to resolve, one of {open:?}"),
            )
        } else {
            invalid(
                "conflict",
                format!(
                    "{key:?} is not an open conflict of lead {} (open: {open:?})",
                    facts.id
                ),
            )
        });
    };
    if let Some(keep) = keep
        && !conflict.involves(keep)
    {
        let events: Vec<&str> = conflict.events.iter().map(|e| e.event.as_str()).collect();
        return Err(invalid(
            "keep",
            format!("{keep} is not one of the conflict's events {events:?}"),
        ));
    }
    Ok(vec![author.event(EventKind::ConflictResolved {
        conflict: key.to_owned(),
        keep: keep.cloned(),
        note: note.to_owned(),
    })])
}

#[cfg(test)]
mod tests;
