//! Why a command is refused: the input field at fault and the problem as a code with its
//! parameters (`code` in JSON), so that the app says it in the member's language; `Display` is
//! the English message. Nothing was written.

use crate::ids::{EventId, LeadId, MemberId};
use crate::playbook::PlaybookProblem;
use crate::write::Refusal;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Why a command was refused. Every variant names the field or the rule; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandError {
    /// A required field is missing or empty.
    #[error("{field}: {problem}")]
    Missing {
        /// The input field.
        field: String,
        /// What is expected.
        problem: Problem,
    },
    /// A field has a value the rules do not accept.
    #[error("{field}: {problem}")]
    Invalid {
        /// The input field.
        field: String,
        /// What is wrong.
        problem: Problem,
    },
    /// The lead is not in a state that allows it.
    #[error("not allowed: {problem}")]
    NotNow {
        /// Why not now.
        problem: Problem,
    },
    /// The write model refuses it: who may write what (`crate::write`).
    #[error("not allowed: {refusal}")]
    Refused {
        /// The refusal.
        refusal: Refusal,
    },
}

impl CommandError {
    /// The input field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            CommandError::Missing { field, .. } | CommandError::Invalid { field, .. } => {
                Some(field)
            }
            CommandError::NotNow { .. } | CommandError::Refused { .. } => None,
        }
    }

    /// The same error with its field inside the input part `prefix` (`budget` →
    /// `final_no.budget`).
    pub fn within(self, prefix: &str) -> Self {
        match self {
            CommandError::Missing { field, problem } => CommandError::Missing {
                field: format!("{prefix}.{field}"),
                problem,
            },
            CommandError::Invalid { field, problem } => CommandError::Invalid {
                field: format!("{prefix}.{field}"),
                problem,
            },
            other => other,
        }
    }
}

impl CommandError {
    /// A refusal, at the input field `owner` when it is about the owner given (who may not own
    /// leads).
    pub fn at_owner(refusal: Refusal) -> Self {
        match refusal {
            Refusal::MayNotOwn { .. } => CommandError::Invalid {
                field: "owner".to_owned(),
                problem: Problem::Owner { refusal },
            },
            other => other.into(),
        }
    }
}

impl From<Refusal> for CommandError {
    fn from(refusal: Refusal) -> Self {
        CommandError::Refused { refusal }
    }
}

/// What is wrong with a command's input or the lead's state, as a code with parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// R3: a conversation needs notes.
    #[error(
        "document what was said and the customer's needs; a conversation without notes is not saved"
    )]
    NotesMissing,
    /// R4: a conversation ends with a next step, a decision date, "needs time", a yes or a no.
    #[error(
        "a conversation must end with a next step with a due date and time, a decision date, \"needs time\", a final yes or a final no"
    )]
    EndingMissing,
    /// R4: more than one ending.
    #[error(
        "a conversation ends with exactly one of next step, final yes or final no; got {}",
        endings.join(" and ")
    )]
    EndingsConflict {
        /// The endings given.
        endings: Vec<String>,
    },
    /// R4: a conversation recorded with an ending that was not recorded with it (histories).
    #[error(
        "the conversation ended with {}, but no `{kind}` event was recorded with it (same `at`)",
        ending_phrase(kind)
    )]
    EndingNotRecorded {
        /// The event type the ending needs: `next_step`, `won` or `refusal`.
        kind: String,
    },
    /// A next step due before it is recorded.
    #[error("the next step must be due after the time it is recorded ({now}), not at {due}")]
    DueTooEarly {
        /// The time of recording.
        now: DateTime<Utc>,
        /// The due time given.
        due: DateTime<Utc>,
    },
    /// A planned duration of 0.
    #[error("duration_minutes must be more than 0")]
    DurationZero,
    /// R4: a decision date in the past.
    #[error("the decision date must be after now ({now}), not {date}")]
    DecisionDateTooEarly {
        /// Now.
        now: DateTime<Utc>,
        /// The date given.
        date: DateTime<Utc>,
    },
    /// R7: a refusal needs a reason.
    #[error("a refusal needs a reason, one of {known:?}")]
    ReasonMissing {
        /// The playbook's reasons.
        known: Vec<String>,
    },
    /// R7: a reason the playbook does not have.
    #[error("{reason:?} is not a refusal reason of the playbook ({known:?})")]
    UnknownReason {
        /// The reason given.
        reason: String,
        /// The playbook's reasons.
        known: Vec<String>,
    },
    /// R7: a refusal names the products refused.
    #[error("a refusal names the product(s) refused")]
    RefusalProducts,
    /// R7: a refusal records the customer's budget.
    #[error("a refusal records the customer's budget (R7)")]
    BudgetMissing,
    /// A negative amount.
    #[error("must not be negative")]
    Negative,
    /// An amount of 0 or less.
    #[error("the amount must be more than 0")]
    NotPositive,
    /// Not an ISO 4217 code.
    #[error("{currency:?} is not an ISO 4217 currency code like \"ILS\"")]
    CurrencyCode {
        /// The code given.
        currency: String,
    },
    /// An order's profit in another currency than its amount.
    #[error("currency {profit} differs from the order's {order}")]
    ProfitCurrency {
        /// The profit's currency.
        profit: String,
        /// The order's currency.
        order: String,
    },
    /// An order names its products.
    #[error("an order names the products ordered")]
    OrderProducts,
    /// R12: what the customer asked for.
    #[error("name what the customer asked for")]
    MaterialsToRequest,
    /// R12: what was sent.
    #[error("name what was sent")]
    MaterialsSent,
    /// R7: no refusal waits for review.
    #[error("lead {lead} has no refusal waiting for review")]
    NoPendingReview {
        /// The lead.
        lead: LeadId,
    },
    /// R2: the cadence is not used up.
    #[error("closing as unreachable needs {needed} unsuccessful attempts; this lead has {has}")]
    CadenceNotUsedUp {
        /// Attempts needed.
        needed: u32,
        /// Attempts made.
        has: u32,
    },
    /// R12: no materials were asked for.
    #[error("lead {lead} has no open materials request")]
    NoMaterialsRequest {
        /// The lead.
        lead: LeadId,
    },
    /// An assignment to the current owner.
    #[error("the lead already belongs to {owner}")]
    AlreadyOwner {
        /// The owner.
        owner: MemberId,
    },
    /// A status the playbook does not have.
    #[error("{status:?} is not a status of the playbook ({known:?})")]
    UnknownStatus {
        /// The status given.
        status: String,
        /// The playbook's statuses.
        known: Vec<String>,
    },
    /// A status override needs a reason.
    #[error("say why the status is overridden")]
    OverrideReason,
    /// R14: which conflict to resolve.
    #[error("name the conflict to resolve, one of {open:?}")]
    ConflictMissing {
        /// The open conflicts.
        open: Vec<String>,
    },
    /// R14: not an open conflict.
    #[error("{key:?} is not an open conflict of lead {lead} (open: {open:?})")]
    UnknownConflict {
        /// The key given.
        key: String,
        /// The lead.
        lead: LeadId,
        /// The open conflicts.
        open: Vec<String>,
    },
    /// R14: `keep` names an event outside the conflict.
    #[error("{keep} is not one of the conflict's events {events:?}")]
    KeepNotInConflict {
        /// The event given.
        keep: EventId,
        /// The conflict's events.
        events: Vec<String>,
    },
    /// A new lead needs its id.
    #[error("a new lead needs the id the device generated")]
    LeadIdMissing,
    /// A lead needs a company or a contact.
    #[error("a lead needs a company or a contact person")]
    CompanyOrContact,
    /// An edit may not leave a lead without a company and a contact.
    #[error("a lead keeps a company or a contact person")]
    KeepCompanyOrContact,
    /// Not an email address.
    #[error("{email:?} is not an email address like \"noa@example.com\"")]
    Email {
        /// The address given.
        email: String,
    },
    /// A negative deal size.
    #[error("the deal size must not be negative")]
    DealNegative,
    /// A product the team does not sell.
    #[error("{product:?} is not a product of the team ({known:?})")]
    UnknownProduct {
        /// The product given.
        product: String,
        /// The team's products.
        known: Vec<String>,
    },
    /// A product listed twice.
    #[error("{product:?} is listed twice")]
    ProductTwice {
        /// The product.
        product: String,
    },
    /// A score outside 1–5.
    #[error("must be 1 to 5, not {value}")]
    OneToFive {
        /// The value given.
        value: u8,
    },
    /// A custom field without a name.
    #[error("a custom field needs a name")]
    CustomName,
    /// An edit that changes nothing.
    #[error("the edit changes no field")]
    NothingToEdit,
    /// The owner given may not own leads.
    #[error("{refusal}")]
    Owner {
        /// Why.
        refusal: Refusal,
    },
    /// The playbook does not validate.
    #[error("{playbook}")]
    Playbook {
        /// What is wrong with it.
        playbook: PlaybookProblem,
    },
}

fn ending_phrase(kind: &str) -> &'static str {
    match kind {
        "won" => "a final yes",
        "refusal" => "a final no",
        _ => "a next step",
    }
}

/// `field` is missing: `problem`.
pub(crate) fn missing(field: &str, problem: Problem) -> CommandError {
    CommandError::Missing {
        field: field.to_owned(),
        problem,
    }
}

/// `field` is invalid: `problem`.
pub(crate) fn invalid(field: &str, problem: Problem) -> CommandError {
    CommandError::Invalid {
        field: field.to_owned(),
        problem,
    }
}

/// Not now: `problem`.
pub(crate) fn not_now(problem: Problem) -> CommandError {
    CommandError::NotNow { problem }
}
