//! Test fixtures shared by the core's unit tests: a small team in two time zones and a lead
//! builder that writes events with readable times.

use crate::calendar::{WeekdaySet, WorkingWeek};
use crate::ids::{EventId, MemberId, ProductId, TeamId};
use crate::lead::{
    AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event, EventKind, Lead, Material,
    NextStepKind, OfferChange, ReviewDecision,
};
use crate::money::Money;
use crate::playbook::Playbook;
use crate::team::{Member, Product, Role, Team};
use chrono::{DateTime, Utc};

/// Parses an RFC 3339 instant, e.g. `t("2026-11-22T10:00:00Z")`.
pub(crate) fn t(s: &str) -> DateTime<Utc> {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test time {s:?}: {e}"))
}

/// A team: manager `mgr` and rep `dana` in Jerusalem (Sunday–Thursday), rep `ion` in
/// Bucharest (Monday–Friday, the playbook default), admin `ada` in UTC. The team currency is
/// ILS (the builder's amounts), with no exchange rates.
pub(crate) fn team() -> Team {
    let il_week = WorkingWeek {
        days: WeekdaySet::SUN_THU,
        ..WorkingWeek::default()
    };
    let member = |id: &str, name: &str, role, manager: Option<&str>, tz, week| Member {
        id: MemberId::from(id),
        name: name.to_owned(),
        role,
        manager: manager.map(MemberId::from),
        time_zone: tz,
        working_week: week,
        locale: "en-US".to_owned(),
    };
    Team {
        id: TeamId::from("team-1"),
        name: "Test team".to_owned(),
        members: vec![
            member(
                "mgr",
                "Maya",
                Role::Manager,
                None,
                chrono_tz::Asia::Jerusalem,
                Some(il_week),
            ),
            member(
                "dana",
                "Dana",
                Role::Rep,
                Some("mgr"),
                chrono_tz::Asia::Jerusalem,
                Some(il_week),
            ),
            member(
                "ion",
                "Ion",
                Role::Rep,
                Some("mgr"),
                chrono_tz::Europe::Bucharest,
                None,
            ),
            member("ada", "Ada", Role::Admin, None, chrono_tz::UTC, None),
        ],
        products: ["crm", "erp", "pos"]
            .iter()
            .map(|p| Product {
                id: ProductId::from(*p),
                name: p.to_uppercase(),
            })
            .collect(),
        playbook: Playbook {
            currency: "ILS".to_owned(),
            ..Playbook::default()
        },
    }
}

/// Builds a lead event by event; event ids are `<lead>-e<n>` in the order written.
pub(crate) struct LeadBuilder {
    lead: Lead,
    by: MemberId,
    /// The currency of the amounts written from here on (ILS unless [`Self::in_currency`]).
    currency: &'static str,
}

impl LeadBuilder {
    /// A lead `id` owned by `owner`, created at `created`.
    pub(crate) fn new(id: &str, owner: &str, created: &str) -> Self {
        let owner = MemberId::from(owner);
        let mut b = Self {
            lead: Lead {
                id: id.into(),
                company: format!("{id} Ltd"),
                contact: "Noa".to_owned(),
                phone: String::new(),
                email: String::new(),
                address: String::new(),
                source: "web".to_owned(),
                products: vec![ProductId::from("crm")],
                deal_size: None,
                owner: owner.clone(),
                created_at: t(created),
                do_not_contact: false,
                account: Default::default(),
                custom: Default::default(),
                events: Vec::new(),
            },
            by: owner,
            currency: "ILS",
        };
        b = b.event(created, EventKind::Created);
        b
    }

    /// Writes the amounts that follow (deal, quote, refusal budget, won, order) in `currency`.
    pub(crate) fn in_currency(mut self, currency: &'static str) -> Self {
        self.currency = currency;
        self
    }

    /// Sets the deal size in minor units of the builder's currency.
    pub(crate) fn deal(mut self, minor: i64) -> Self {
        self.lead.deal_size = Some(Money::new(minor, self.currency));
        self
    }

    /// Marks the lead do-not-contact.
    pub(crate) fn do_not_contact(mut self) -> Self {
        self.lead.do_not_contact = true;
        self
    }

    /// Records the following events as member `by`.
    pub(crate) fn by(mut self, by: &str) -> Self {
        self.by = MemberId::from(by);
        self
    }

    /// Appends an event of `kind` at `at`.
    pub(crate) fn event(mut self, at: &str, kind: EventKind) -> Self {
        let n = self.lead.events.len();
        self.lead.events.push(Event {
            id: EventId(format!("{}-e{n:03}", self.lead.id)),
            at: t(at),
            by: self.by.clone(),
            after: None,
            kind,
        });
        self
    }

    /// Renames the last event written to `id`.
    pub(crate) fn id(mut self, id: &str) -> Self {
        self.last().id = EventId::from(id);
        self
    }

    /// Records that the last event was decided after event `id` (R14).
    pub(crate) fn after(mut self, id: &str) -> Self {
        self.last().after = Some(EventId::from(id));
        self
    }

    fn last(&mut self) -> &mut Event {
        self.lead.events.last_mut().expect("an event was written")
    }

    pub(crate) fn attempt(self, at: &str, outcome: AttemptOutcome) -> Self {
        self.event(
            at,
            EventKind::Attempt {
                channel: Channel::Call,
                outcome,
            },
        )
    }

    pub(crate) fn no_answer(self, at: &str) -> Self {
        self.attempt(at, AttemptOutcome::NoAnswer)
    }

    /// A conversation of `kind` ending as `ended` (add the matching next step / yes / no).
    pub(crate) fn conversation(
        self,
        at: &str,
        kind: ConversationKind,
        ended: ConversationEnd,
    ) -> Self {
        self.event(
            at,
            EventKind::Conversation {
                kind,
                notes: "talked".to_owned(),
                needs: String::new(),
                ended,
            },
        )
    }

    pub(crate) fn next_step(self, at: &str, kind: NextStepKind, due: &str) -> Self {
        self.event(
            at,
            EventKind::NextStep {
                kind,
                due: t(due),
                agreed: true,
                duration_minutes: None,
                note: String::new(),
            },
        )
    }

    /// A call conversation that ended with a call-back due at `due`.
    pub(crate) fn call_then(self, at: &str, due: &str) -> Self {
        self.conversation(at, ConversationKind::Call, ConversationEnd::NextStep)
            .next_step(at, NextStepKind::Call, due)
    }

    pub(crate) fn quote(self, at: &str, minor: i64) -> Self {
        let currency = self.currency;
        self.event(
            at,
            EventKind::QuoteSent {
                amount: Money::new(minor, currency),
                products: vec![ProductId::from("crm")],
            },
        )
    }

    pub(crate) fn refusal(
        self,
        at: &str,
        reason: &str,
        product: &str,
        budget: Option<i64>,
    ) -> Self {
        let currency = self.currency;
        self.event(
            at,
            EventKind::Refusal {
                reason: reason.to_owned(),
                products: vec![ProductId::from(product)],
                budget: budget.map(|b| Money::new(b, currency)),
                competitor: None,
                note: String::new(),
            },
        )
    }

    pub(crate) fn review(self, at: &str, decision: ReviewDecision) -> Self {
        self.event(
            at,
            EventKind::ReviewDecision {
                decision,
                note: String::new(),
            },
        )
    }

    pub(crate) fn review_return(self, at: &str) -> Self {
        self.review(
            at,
            ReviewDecision::ReturnToFunnel {
                offer_change: OfferChange::Discount,
            },
        )
    }

    pub(crate) fn won(self, at: &str, minor: i64) -> Self {
        let currency = self.currency;
        self.event(
            at,
            EventKind::Won {
                amount: Money::new(minor, currency),
                products: vec![ProductId::from("crm")],
            },
        )
    }

    pub(crate) fn order(self, at: &str, minor: i64, products: &[&str]) -> Self {
        let currency = self.currency;
        self.event(
            at,
            EventKind::Order {
                amount: Money::new(minor, currency),
                gross_profit: None,
                products: products.iter().map(|p| ProductId::from(*p)).collect(),
            },
        )
    }

    pub(crate) fn materials(self, at: &str) -> Self {
        self.event(
            at,
            EventKind::MaterialsRequested {
                materials: vec![Material::PriceList],
            },
        )
    }

    pub(crate) fn status_override(self, at: &str, status: &str) -> Self {
        self.event(
            at,
            EventKind::StatusOverride {
                status: status.to_owned(),
                reason: "manager decision".to_owned(),
            },
        )
    }

    pub(crate) fn assigned(self, at: &str, owner: &str) -> Self {
        self.event(
            at,
            EventKind::Assigned {
                owner: MemberId::from(owner),
            },
        )
    }

    /// A conflict resolution (R14), keeping `keep` if given.
    pub(crate) fn resolved(self, at: &str, conflict: &str, keep: Option<&str>) -> Self {
        self.event(
            at,
            EventKind::ConflictResolved {
                conflict: conflict.to_owned(),
                keep: keep.map(EventId::from),
                note: String::new(),
            },
        )
    }

    pub(crate) fn build(self) -> Lead {
        self.lead
    }
}

// Builders for the analytics, tiers and day plan tests.
impl LeadBuilder {
    /// Sets the account facts of R10.
    pub(crate) fn account(
        mut self,
        growth: Option<u8>,
        churn: Option<u8>,
        terms: Option<u32>,
    ) -> Self {
        self.lead.account.growth_potential = growth;
        self.lead.account.churn_risk = churn;
        self.lead.account.payment_terms_days = terms;
        self
    }

    /// An order with a known gross profit, both in the builder's currency.
    pub(crate) fn order_gp(self, at: &str, minor: i64, profit: i64, products: &[&str]) -> Self {
        let currency = self.currency;
        self.event(
            at,
            EventKind::Order {
                amount: Money::new(minor, currency),
                gross_profit: Some(Money::new(profit, currency)),
                products: products.iter().map(|p| ProductId::from(*p)).collect(),
            },
        )
    }

    /// A refusal of several products with a budget in any currency.
    pub(crate) fn refusal_of(
        self,
        at: &str,
        reason: &str,
        products: &[&str],
        budget: Option<Money>,
    ) -> Self {
        self.event(
            at,
            EventKind::Refusal {
                reason: reason.to_owned(),
                products: products.iter().map(|p| ProductId::from(*p)).collect(),
                budget,
                competitor: None,
                note: String::new(),
            },
        )
    }

    /// A next step of `kind` due at `due`, agreed or only planned, with a planned duration.
    pub(crate) fn step(
        self,
        at: &str,
        kind: NextStepKind,
        due: &str,
        agreed: bool,
        duration_minutes: Option<u32>,
    ) -> Self {
        self.event(
            at,
            EventKind::NextStep {
                kind,
                due: t(due),
                agreed,
                duration_minutes,
                note: String::new(),
            },
        )
    }

    /// A visit next step due at `due` (agreed), with an optional planned duration.
    pub(crate) fn visit(self, at: &str, due: &str, duration_minutes: Option<u32>) -> Self {
        self.step(at, NextStepKind::Visit, due, true, duration_minutes)
    }
}
