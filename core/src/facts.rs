//! The summary of one lead: a fold of its events in canonical order into the few facts the
//! rules need (status role, counters, last times, the open next step). It does not depend on
//! the current time, so a device computes it when a lead changes, stores it, and runs the call
//! queue and analytics over summaries without loading lead documents.
//!
//! The fold first runs R14 over the events (`crate::rules::r14_conflicts`): events a
//! conflict resolution overruled are skipped, the open conflicts and the head of each
//! decision topic are kept here.

use crate::ids::{EventId, LeadId, MemberId, ProductId};
use crate::lead::{
    Account, AttemptOutcome, Channel, ConversationEnd, Event, EventKind, Lead, NextStepKind,
    ReviewDecision,
};
use crate::money::Money;
use crate::playbook::{Playbook, StatusRole};
use crate::rules::r14_conflicts::{self, Conflict, TopicHeads};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The open next step of a lead: the last one recorded and not yet consumed by a conversation,
/// a yes or a no.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OpenNextStep {
    /// The `next_step` event.
    pub event: EventId,
    /// What kind.
    pub kind: NextStepKind,
    /// When it is due.
    pub due: DateTime<Utc>,
    /// Agreed with the customer.
    pub agreed: bool,
    /// Planned duration (visits).
    pub duration_minutes: Option<u32>,
}

/// A refusal waiting for the manager's review (R7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingReview {
    /// The `refusal` event.
    pub refusal: EventId,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: MemberId,
    /// Refusal reason key.
    pub reason: String,
}

/// A quote out with the customer's decision pending (R11 awaiting-answer list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuoteOut {
    /// When the quote was sent.
    pub at: DateTime<Utc>,
    /// Quoted amount.
    pub amount: Money,
}

/// A refusal as R8 counts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalFact {
    /// The `refusal` event.
    pub event: EventId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: MemberId,
    /// Reason key.
    pub reason: String,
    /// Products refused.
    pub products: Vec<ProductId>,
    /// The customer's budget.
    pub budget: Option<Money>,
}

/// An order as R10 counts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrderFact {
    /// When.
    pub at: DateTime<Utc>,
    /// Amount.
    pub amount: Money,
    /// Gross profit, where known.
    pub gross_profit: Option<Money>,
    /// Products ordered.
    pub products: Vec<ProductId>,
}

/// A stretch of time during which the lead was a customer (status role Won or Dormant in the
/// fold), for R10's snapshots of past months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerSpan {
    /// When the lead became a customer.
    pub from: DateTime<Utc>,
    /// When it stopped being one, if it did.
    pub until: Option<DateTime<Utc>>,
}

/// Everything the rules read about a lead, folded from its events. Time-independent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeadFacts {
    /// The lead.
    pub id: LeadId,
    /// Company name (for reasons and lists).
    pub company: String,
    /// Contact person (for suggested emails).
    pub contact: String,
    /// Current owner: the latest `assigned` event that stands, else the lead's `owner` field.
    pub owner: MemberId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expected deal value.
    pub deal_size: Option<Money>,
    /// The customer asked not to be contacted.
    pub do_not_contact: bool,
    /// Status role after all events (R13's time-based Dormant is applied when deriving).
    pub role: StatusRole,
    /// The status key set by a manager's override still in force.
    pub status_override: Option<String>,
    /// Number of contact attempts.
    pub n_attempts: u32,
    /// First attempt (speed to lead).
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Outcome of the last attempt.
    pub last_attempt_outcome: Option<AttemptOutcome>,
    /// Unsuccessful attempts in the current no-answer run (R2).
    pub n_failed_attempts: u32,
    /// Number of conversations.
    pub n_conversations: u32,
    /// Last conversation.
    pub last_conversation_at: Option<DateTime<Utc>>,
    /// Last attempt or conversation.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// When Initial contact was last entered (R3).
    pub initial_contact_at: Option<DateTime<Utc>>,
    /// When a next step was last recorded.
    pub last_next_step_at: Option<DateTime<Utc>>,
    /// The open next step.
    pub next_step: Option<OpenNextStep>,
    /// Conversations that ended with another next step since the last quote (R5).
    pub postponements: u32,
    /// A quote out with no yes or no yet.
    pub quote_out: Option<QuoteOut>,
    /// When the lead was last closed as Not interested.
    pub lost_at: Option<DateTime<Utc>>,
    /// A refusal waiting for review (R7).
    pub pending_review: Option<PendingReview>,
    /// When a manager last decided on a refusal.
    pub last_review_at: Option<DateTime<Utc>>,
    /// When nurture started (R9): the manager validated the refusal (R7), or the lead was
    /// closed without needing a review (R2's unreachable close, a manager's status). `None`
    /// while a refusal waits for review and whenever the lead is not Not interested.
    pub nurture_since: Option<DateTime<Utc>>,
    /// A return-to-funnel whose follow-up is still to be done (R7).
    pub returned_at: Option<DateTime<Utc>>,
    /// When the lead was won.
    pub won_at: Option<DateTime<Utc>>,
    /// Last order.
    pub last_order_at: Option<DateTime<Utc>>,
    /// Last visit (visit attempt, or meeting/visit/demo conversation).
    pub last_visit_at: Option<DateTime<Utc>>,
    /// Oldest materials request not yet answered by `materials_sent` (R12).
    pub materials_requested_at: Option<DateTime<Utc>>,
    /// Account facts of a customer (R10).
    pub account: Account,
    /// Every refusal that stands, in canonical order (R8).
    pub refusals: Vec<RefusalFact>,
    /// Every order, in canonical order (R10).
    pub orders: Vec<OrderFact>,
    /// When the lead was a customer (R10).
    pub customer_spans: Vec<CustomerSpan>,
    /// The latest decision of each topic: what new decisions record as `after` (R14).
    pub heads: TopicHeads,
    /// Open semantic conflicts, by key (R14).
    pub conflicts: Vec<Conflict>,
    /// Events overruled by a conflict resolution, sorted: in the history, skipped by the
    /// rules (R14).
    pub overruled: Vec<EventId>,
}

impl LeadFacts {
    /// Folds `lead`'s events, in canonical order, into its facts.
    pub fn from_lead(playbook: &Playbook, lead: &Lead) -> Self {
        let mut facts = Self::empty(lead);
        let events = lead.sorted_events();
        let r14 = r14_conflicts::detect(playbook, &events);
        for event in events {
            if r14.overruled.binary_search(&event.id).is_err() {
                facts.apply(playbook, event);
            }
        }
        facts.heads = r14.heads;
        facts.conflicts = r14.conflicts;
        facts.overruled = r14.overruled;
        facts
    }

    /// The amounts that orderings and totals convert to the team currency, each with the date
    /// of its rate: the deal size at `today`, every order and refusal budget on its own (UTC)
    /// date.
    pub fn amounts_to_convert(
        &self,
        today: NaiveDate,
    ) -> impl Iterator<Item = (&Money, NaiveDate)> + '_ {
        let deal = self.deal_size.as_ref().map(|m| (m, today));
        let orders = self.orders.iter().map(|o| (&o.amount, o.at.date_naive()));
        let budgets = self
            .refusals
            .iter()
            .filter_map(|r| Some((r.budget.as_ref()?, r.at.date_naive())));
        deal.into_iter().chain(orders).chain(budgets)
    }

    /// Whether the lead was a customer just before `at`: after the events before `at`,
    /// not those at `at` or later.
    pub fn is_customer_before(&self, at: DateTime<Utc>) -> bool {
        self.customer_spans
            .iter()
            .any(|s| s.from < at && s.until.is_none_or(|u| u >= at))
    }

    fn empty(lead: &Lead) -> Self {
        Self {
            id: lead.id.clone(),
            company: lead.company.clone(),
            contact: lead.contact.clone(),
            owner: lead.owner.clone(),
            created_at: lead.created_at,
            deal_size: lead.deal_size.clone(),
            do_not_contact: lead.do_not_contact,
            role: StatusRole::New,
            status_override: None,
            n_attempts: 0,
            first_attempt_at: None,
            last_attempt_at: None,
            last_attempt_outcome: None,
            n_failed_attempts: 0,
            n_conversations: 0,
            last_conversation_at: None,
            last_contact_at: None,
            initial_contact_at: None,
            last_next_step_at: None,
            next_step: None,
            postponements: 0,
            quote_out: None,
            lost_at: None,
            pending_review: None,
            last_review_at: None,
            nurture_since: None,
            returned_at: None,
            won_at: None,
            last_order_at: None,
            last_visit_at: None,
            materials_requested_at: None,
            account: lead.account.clone(),
            refusals: Vec::new(),
            orders: Vec::new(),
            customer_spans: Vec::new(),
            heads: TopicHeads::default(),
            conflicts: Vec::new(),
            overruled: Vec::new(),
        }
    }

    /// Moves the lead to `role` at `at`. A move to another role ends a manual override.
    fn enter(&mut self, role: StatusRole, at: DateTime<Utc>) {
        if role == self.role {
            return;
        }
        match (is_customer(self.role), is_customer(role)) {
            (false, true) => self.customer_spans.push(CustomerSpan {
                from: at,
                until: None,
            }),
            (true, false) => {
                if let Some(span) = self.customer_spans.last_mut() {
                    span.until = Some(at);
                }
            }
            _ => {}
        }
        if self.role == StatusRole::Lost {
            self.nurture_since = None;
        }
        self.role = role;
        self.status_override = None;
        match role {
            StatusRole::InitialContact => self.initial_contact_at = Some(at),
            StatusRole::NoAnswer => self.n_failed_attempts = 0,
            StatusRole::Lost => self.lost_at = Some(at),
            StatusRole::Won => {
                if self.won_at.is_none() {
                    self.won_at = Some(at);
                }
            }
            StatusRole::New | StatusRole::InProcess | StatusRole::Dormant => {}
        }
    }

    fn apply(&mut self, playbook: &Playbook, event: &Event) {
        let at = event.at;
        match &event.kind {
            EventKind::Created | EventKind::ConflictResolved { .. } => {}
            EventKind::Assigned { owner } => self.owner = owner.clone(),
            EventKind::Attempt { channel, outcome } => {
                self.n_attempts += 1;
                self.first_attempt_at.get_or_insert(at);
                self.last_attempt_at = Some(at);
                self.last_attempt_outcome = Some(*outcome);
                self.last_contact_at = Some(at);
                if *channel == Channel::Visit {
                    self.last_visit_at = Some(at);
                }
                let fresh = matches!(self.role, StatusRole::New | StatusRole::NoAnswer);
                if outcome.is_success() {
                    if fresh {
                        self.enter(StatusRole::InitialContact, at);
                    }
                } else if fresh {
                    self.enter(StatusRole::NoAnswer, at);
                    self.n_failed_attempts += 1;
                }
            }
            EventKind::Conversation { kind, ended, .. } => {
                self.n_conversations += 1;
                self.last_conversation_at = Some(at);
                self.last_contact_at = Some(at);
                if kind.is_meeting() {
                    self.last_visit_at = Some(at);
                }
                // A conversation consumes the open next step its author knew of (`after`; all
                // of them before R14); the one it ended with follows. A step set concurrently
                // on another device stays open unless that next step replaces it.
                let known = match (&event.after, &self.next_step) {
                    (Some(after), Some(open)) => after == &open.event,
                    _ => true,
                };
                if known {
                    self.next_step = None;
                }
                self.returned_at = None;
                if *ended == ConversationEnd::NextStep {
                    self.postponements += 1;
                }
                match self.role {
                    StatusRole::New | StatusRole::NoAnswer | StatusRole::InitialContact => {
                        let deeper = kind.is_meeting() || self.n_conversations >= 2;
                        if deeper {
                            self.enter(StatusRole::InProcess, at);
                        } else {
                            self.enter(StatusRole::InitialContact, at);
                        }
                    }
                    // A nurture re-contact that goes somewhere re-opens the deal.
                    StatusRole::Lost if *ended == ConversationEnd::NextStep => {
                        self.enter(StatusRole::InProcess, at);
                    }
                    StatusRole::Dormant => self.enter(StatusRole::Won, at),
                    StatusRole::Lost | StatusRole::InProcess | StatusRole::Won => {}
                }
            }
            EventKind::NextStep {
                kind,
                due,
                agreed,
                duration_minutes,
                ..
            } => {
                self.last_next_step_at = Some(at);
                self.returned_at = None;
                self.next_step = Some(OpenNextStep {
                    event: event.id.clone(),
                    kind: *kind,
                    due: *due,
                    agreed: *agreed,
                    duration_minutes: *duration_minutes,
                });
            }
            EventKind::QuoteSent { amount, .. } => {
                self.postponements = 0;
                self.quote_out = Some(QuoteOut {
                    at,
                    amount: amount.clone(),
                });
                if matches!(
                    self.role,
                    StatusRole::New | StatusRole::NoAnswer | StatusRole::InitialContact
                ) {
                    self.enter(StatusRole::InProcess, at);
                }
            }
            EventKind::MaterialsRequested { .. } => {
                self.materials_requested_at.get_or_insert(at);
            }
            EventKind::MaterialsSent { .. } => self.materials_requested_at = None,
            EventKind::Refusal {
                reason,
                products,
                budget,
                ..
            } => {
                self.refusals.push(RefusalFact {
                    event: event.id.clone(),
                    at,
                    by: event.by.clone(),
                    reason: reason.clone(),
                    products: products.clone(),
                    budget: budget.clone(),
                });
                self.next_step = None;
                self.returned_at = None;
                self.quote_out = None;
                self.enter(StatusRole::Lost, at);
                // Each refusal starts a new nurture period, even on an already lost lead.
                self.lost_at = Some(at);
                let needs_review = playbook
                    .refusal_reason(reason)
                    .is_none_or(|r| r.needs_review);
                self.pending_review = needs_review.then(|| PendingReview {
                    refusal: event.id.clone(),
                    at,
                    by: event.by.clone(),
                    reason: reason.clone(),
                });
                // Nurture waits for the manager's review (R7 → R9).
                self.nurture_since = (!needs_review).then_some(at);
            }
            EventKind::ReviewDecision { decision, .. } => {
                self.pending_review = None;
                self.last_review_at = Some(at);
                match decision {
                    ReviewDecision::ReturnToFunnel { .. } => {
                        self.enter(StatusRole::InProcess, at);
                        self.returned_at = Some(at);
                        self.next_step = None;
                    }
                    ReviewDecision::RefusalValidated if self.role == StatusRole::Lost => {
                        self.nurture_since = Some(at);
                    }
                    ReviewDecision::RefusalValidated => {}
                }
            }
            EventKind::Won { .. } => {
                self.next_step = None;
                self.returned_at = None;
                self.quote_out = None;
                self.pending_review = None;
                self.enter(StatusRole::Won, at);
            }
            EventKind::Order {
                amount,
                gross_profit,
                products,
            } => {
                self.orders.push(OrderFact {
                    at,
                    amount: amount.clone(),
                    gross_profit: gross_profit.clone(),
                    products: products.clone(),
                });
                self.last_order_at = Some(at);
                if self.role != StatusRole::Won {
                    self.enter(StatusRole::Won, at);
                }
            }
            EventKind::StatusOverride { status, .. } => {
                if let Some(def) = playbook.status(status) {
                    self.enter(def.role, at);
                    self.status_override = Some(def.key.clone());
                    // A manager closing the lead needs no review of it.
                    if def.role == StatusRole::Lost && self.pending_review.is_none() {
                        self.nurture_since.get_or_insert(at);
                    }
                }
            }
        }
    }
}

/// Customers for R10: Won, or Dormant by a manager's status.
fn is_customer(role: StatusRole) -> bool {
    matches!(role, StatusRole::Won | StatusRole::Dormant)
}
