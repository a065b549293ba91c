//! The team's playbook: every number and list the rules use, with the defaults of SPEC §3–§4.
//! A team can change any of them; a field missing from a stored playbook takes its default.

use crate::calendar::{ClockTime, WeekdaySet, WorkingWeek};
use crate::money::{ExchangeRate, Rates, is_currency_code};
use serde::{Deserialize, Serialize};

/// The built-in role of a pipeline status: the rules act on roles, so a team may rename and
/// add statuses freely as long as each maps to one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StatusRole {
    /// Created, no attempt yet.
    New,
    /// Only unsuccessful attempts so far.
    NoAnswer,
    /// Reached once: first `reached` attempt or first conversation.
    InitialContact,
    /// Second conversation onward, a meeting/demo, a quote, or returned to the funnel.
    InProcess,
    /// Refused, or closed after the no-answer cadence ("Not interested").
    Lost,
    /// A customer.
    Won,
    /// A customer with no order and no conversation for a long time (R13).
    Dormant,
}

impl StatusRole {
    /// Every role, in pipeline order.
    pub const ALL: [StatusRole; 7] = [
        StatusRole::New,
        StatusRole::NoAnswer,
        StatusRole::InitialContact,
        StatusRole::InProcess,
        StatusRole::Lost,
        StatusRole::Won,
        StatusRole::Dormant,
    ];

    /// The role's name in JSON, e.g. `no_answer`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusRole::New => "new",
            StatusRole::NoAnswer => "no_answer",
            StatusRole::InitialContact => "initial_contact",
            StatusRole::InProcess => "in_process",
            StatusRole::Lost => "lost",
            StatusRole::Won => "won",
            StatusRole::Dormant => "dormant",
        }
    }

    /// Whether the lead is still being worked in the funnel (Initial contact or In process).
    pub fn is_open_deal(self) -> bool {
        matches!(self, StatusRole::InitialContact | StatusRole::InProcess)
    }
}

/// One pipeline status as the team names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusDef {
    /// Stable key stored in events (`status_override`) and reports.
    pub key: String,
    /// Label in the team's language.
    pub label: String,
    /// The built-in role the rules apply to it.
    pub role: StatusRole,
}

/// A reason a customer may give for refusing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalReason {
    /// Stable key stored in `refusal` events.
    pub key: String,
    /// Label in the team's language.
    pub label: String,
    /// Whether recording it requires the customer's budget (R7). `unreachable` does not.
    #[serde(default = "yes")]
    pub requires_budget: bool,
    /// Whether it creates a review task for the manager (R7). `unreachable` does not.
    #[serde(default = "yes")]
    pub needs_review: bool,
}

fn yes() -> bool {
    true
}

/// Speed-to-lead thresholds (R1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SpeedToLeadPolicy"))]
#[serde(default)]
pub struct SpeedToLead {
    /// First attempt due within this many minutes of creation.
    pub respond_within_minutes: u32,
    /// From this age a New lead is `response_decaying`.
    pub decaying_after_hours: u32,
    /// From this age a New lead is `stale_new` and reported to the manager.
    pub stale_after_hours: u32,
}

impl Default for SpeedToLead {
    fn default() -> Self {
        Self {
            respond_within_minutes: 10,
            decaying_after_hours: 15,
            stale_after_hours: 24,
        }
    }
}

/// A suggested personal email for one attempt of the no-answer cadence (R2).
/// `{contact}`, `{company}` and `{rep}` are replaced when it is suggested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmailTemplate {
    /// The unsuccessful attempt (1-based) after which this email is suggested.
    pub attempt: u32,
    /// Subject line.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// The no-answer cadence (R2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct Cadence {
    /// Attempts before the lead is proposed for closing.
    pub max_attempts: u32,
    /// Working days from the n-th unsuccessful attempt to the next one; the last entry repeats.
    pub gap_working_days: Vec<u32>,
    /// The refusal reason used when the rep confirms closing an unreachable lead.
    pub close_reason: String,
    /// Emails suggested after each attempt.
    pub email_templates: Vec<EmailTemplate>,
}

impl Cadence {
    /// Working days to wait after the `n`-th (1-based) unsuccessful attempt.
    pub fn gap_after(&self, n: u32) -> u32 {
        let idx = (n.max(1) - 1) as usize;
        self.gap_working_days
            .get(idx)
            .or(self.gap_working_days.last())
            .copied()
            .unwrap_or(1)
    }

    /// The template suggested after the `n`-th unsuccessful attempt, if any.
    pub fn template_for(&self, n: u32) -> Option<&EmailTemplate> {
        self.email_templates.iter().find(|t| t.attempt == n)
    }
}

impl Default for Cadence {
    fn default() -> Self {
        let texts = [
            (
                "Following up on your enquiry",
                "Hello {contact}, I tried to call you today about your enquiry at {company}. When is a good time to talk? {rep}",
            ),
            (
                "Trying to reach you",
                "Hello {contact}, I called again to help with what you asked about. A short call is enough. {rep}",
            ),
            (
                "A quick question",
                "Hello {contact}, is this still relevant for {company}? A one-line answer helps me a lot. {rep}",
            ),
            (
                "Still interested?",
                "Hello {contact}, I have not managed to reach you. Shall I call at a different time? {rep}",
            ),
            (
                "Should I keep trying?",
                "Hello {contact}, I do not want to bother you. Reply if you would like me to call. {rep}",
            ),
            (
                "Closing your enquiry",
                "Hello {contact}, since we could not connect I am closing your enquiry for now. You can reach me any time. {rep}",
            ),
        ];
        Self {
            max_attempts: 6,
            gap_working_days: vec![1],
            close_reason: "unreachable".to_owned(),
            email_templates: texts
                .iter()
                .zip(1..)
                .map(|((subject, body), attempt)| EmailTemplate {
                    attempt,
                    subject: (*subject).to_owned(),
                    body: (*body).to_owned(),
                })
                .collect(),
        }
    }
}

/// Follow-up delays of R3, R4, R7 and R12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct FollowUps {
    /// R3: days from reaching Initial contact to the follow-up call when no next step exists.
    pub first_conversation_days: u32,
    /// R4: days to the follow-up when the customer "needs time".
    pub needs_time_days: u32,
    /// R7: working days from a manager's return-to-funnel to the rep's follow-up.
    pub review_return_working_days: u32,
    /// R12: working days to send requested materials.
    pub materials_working_days: u32,
}

impl Default for FollowUps {
    fn default() -> Self {
        Self {
            first_conversation_days: 2,
            needs_time_days: 7,
            review_return_working_days: 1,
            materials_working_days: 1,
        }
    }
}

/// At-risk thresholds (R5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct AtRisk {
    /// In process with no conversation or attempt for this many days is `going_cold`.
    pub going_cold_days: u32,
    /// This many postponements since the last quote is `needs_final_answer`.
    pub postponements_for_final_answer: u32,
}

impl Default for AtRisk {
    fn default() -> Self {
        Self {
            going_cold_days: 4,
            postponements_for_final_answer: 3,
        }
    }
}

/// Weights of the customer score (R10); each metric is normalised to 0..1 first.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TierWeights {
    /// Revenue over the window (orders).
    pub revenue: f64,
    /// Gross profit over the window, where known.
    pub gross_profit: f64,
    /// Growth potential 1–5 (higher is better).
    pub growth_potential: f64,
    /// Churn risk 1–5 (lower is better).
    pub churn_risk: f64,
    /// Payment terms in days (shorter is better).
    pub payment_terms: f64,
    /// Distinct products bought in the window.
    pub product_breadth: f64,
    /// Months since the customer was won.
    pub tenure: f64,
}

impl Default for TierWeights {
    fn default() -> Self {
        Self {
            revenue: 0.30,
            gross_profit: 0.20,
            growth_potential: 0.15,
            churn_risk: 0.10,
            payment_terms: 0.10,
            product_breadth: 0.10,
            tenure: 0.05,
        }
    }
}

/// Visit frequency per tier, in days (R10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct VisitEvery {
    /// Tier A.
    pub a: u32,
    /// Tier B.
    pub b: u32,
    /// Tier C.
    pub c: u32,
}

impl Default for VisitEvery {
    fn default() -> Self {
        Self {
            a: 14,
            b: 30,
            c: 90,
        }
    }
}

/// Customer tiers (R10).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TierPolicy {
    /// Score weights.
    pub weights: TierWeights,
    /// Share of customers (by score) in tier A, percent.
    pub a_percent: u32,
    /// Share of customers in tier B, percent (the rest are C).
    pub b_percent: u32,
    /// The Pareto view: customers making this share of revenue, percent.
    pub pareto_percent: u32,
    /// Trailing window of the metrics, months.
    pub window_months: u32,
    /// Visit frequency per tier.
    pub visit_every_days: VisitEvery,
}

impl Default for TierPolicy {
    fn default() -> Self {
        Self {
            weights: TierWeights::default(),
            a_percent: 20,
            b_percent: 30,
            pareto_percent: 80,
            window_months: 12,
            visit_every_days: VisitEvery::default(),
        }
    }
}

/// The day plan (R11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct DayPlanPolicy {
    /// Duration of a visit when the next step does not say.
    pub default_visit_minutes: u32,
    /// Buffer after each visit.
    pub buffer_minutes: u32,
    /// More visits than this in a day is a warning.
    pub max_visits: u32,
}

impl Default for DayPlanPolicy {
    fn default() -> Self {
        Self {
            default_visit_minutes: 60,
            buffer_minutes: 30,
            max_visits: 6,
        }
    }
}

/// Who may hand a lead to another member (SPEC §2: default managers and admins).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Reassignment {
    /// Managers (of the lead's owner, who may write it) and admins.
    #[default]
    Managers,
    /// Admins only.
    Admins,
    /// Also the rep who owns the lead (a hand-over), besides managers and admins.
    Owners,
}

impl Reassignment {
    /// Who may reassign, in English.
    pub fn who(self) -> &'static str {
        match self {
            Reassignment::Managers => "managers and admins",
            Reassignment::Admins => "admins",
            Reassignment::Owners => "owners, managers and admins",
        }
    }
}

/// Everything the rules need from a team, with the defaults of SPEC.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct Playbook {
    /// Pipeline statuses; the first status of each role is the one the rules move leads to.
    pub statuses: Vec<StatusDef>,
    /// Refusal reasons.
    pub refusal_reasons: Vec<RefusalReason>,
    /// The team's default working week (members may override).
    pub working_week: WorkingWeek,
    /// R1.
    pub speed_to_lead: SpeedToLead,
    /// R2.
    pub cadence: Cadence,
    /// R3, R4, R7, R12.
    pub follow_ups: FollowUps,
    /// R5.
    pub at_risk: AtRisk,
    /// R9: days between nurture re-contacts of Not interested leads.
    pub nurture_every_days: u32,
    /// R13: days without order or conversation before a customer is inactive.
    pub dormant_after_days: u32,
    /// R10.
    pub tiers: TierPolicy,
    /// R11.
    pub day_plan: DayPlanPolicy,
    /// The team currency (ISO 4217): orderings and totals are in it (SPEC §2).
    pub currency: String,
    /// Dated rates into the team currency; an amount in another currency without a rate on its
    /// date is never mixed into a total or an ordering (see `crate::money`).
    pub exchange_rates: Vec<ExchangeRate>,
    /// Who may reassign leads (`crate::write`).
    pub reassignment: Reassignment,
}

impl Default for Playbook {
    fn default() -> Self {
        let status = |key: &str, label: &str, role| StatusDef {
            key: key.to_owned(),
            label: label.to_owned(),
            role,
        };
        let reason = |key: &str, label: &str| RefusalReason {
            key: key.to_owned(),
            label: label.to_owned(),
            requires_budget: true,
            needs_review: true,
        };
        Self {
            statuses: vec![
                status("new", "New", StatusRole::New),
                status("no_answer", "No answer", StatusRole::NoAnswer),
                status(
                    "initial_contact",
                    "Initial contact",
                    StatusRole::InitialContact,
                ),
                status("in_process", "In process", StatusRole::InProcess),
                status("not_interested", "Not interested", StatusRole::Lost),
                status("customer", "Customer", StatusRole::Won),
                status(
                    "inactive_customer",
                    "Inactive customer",
                    StatusRole::Dormant,
                ),
            ],
            refusal_reasons: vec![
                reason("price", "Price too high"),
                reason("budget", "No budget"),
                reason("competitor", "Chose a competitor"),
                reason("timing", "Not the right time"),
                reason("no_need", "No need"),
                reason("product_fit", "Product does not fit"),
                reason("other", "Other"),
                RefusalReason {
                    key: "unreachable".to_owned(),
                    label: "Unreachable".to_owned(),
                    requires_budget: false,
                    needs_review: false,
                },
            ],
            working_week: WorkingWeek::default(),
            speed_to_lead: SpeedToLead::default(),
            cadence: Cadence::default(),
            follow_ups: FollowUps::default(),
            at_risk: AtRisk::default(),
            nurture_every_days: 90,
            dormant_after_days: 180,
            tiers: TierPolicy::default(),
            day_plan: DayPlanPolicy::default(),
            currency: Self::DEFAULT_CURRENCY.to_owned(),
            exchange_rates: Vec::new(),
            reassignment: Reassignment::default(),
        }
    }
}

/// A playbook that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("playbook.{field}: {problem}")]
pub struct PlaybookError {
    /// Path of the offending field, e.g. `statuses` or `cadence.max_attempts`.
    pub field: String,
    /// What is wrong, as a code with parameters.
    pub problem: PlaybookProblem,
}

/// What is wrong with a playbook field, as a code with parameters (`code` in JSON) for the app
/// to translate; `Display` is the English message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PlaybookProblem {
    /// Every role needs a status.
    #[error("no status has role {:?}", role.as_str())]
    NoStatusForRole {
        /// The role.
        role: StatusRole,
    },
    /// An empty key.
    #[error("must not be empty")]
    EmptyKey,
    /// A key used twice.
    #[error("duplicate key {key:?}")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// The cadence's close reason is not a refusal reason.
    #[error("{reason:?} is not one of refusal_reasons")]
    CloseReasonUnknown {
        /// The reason.
        reason: String,
    },
    /// A count of 0.
    #[error("must be at least 1")]
    AtLeastOne,
    /// The working day ends before it starts.
    #[error("start must be before end")]
    StartAfterEnd,
    /// Not an ISO 4217 code.
    #[error("{currency:?} is not an ISO 4217 currency code like \"ILS\"")]
    CurrencyCode {
        /// The code given.
        currency: String,
    },
    /// A rate for the team currency itself.
    #[error("{currency} is the team currency: it needs no rate")]
    RateForTeamCurrency {
        /// The currency.
        currency: String,
    },
    /// Two rates of one currency on one date.
    #[error("{currency} already has a rate on {date}, exchange_rates[{other}]")]
    RateTwice {
        /// The currency.
        currency: String,
        /// The date.
        date: chrono::NaiveDate,
        /// The index of the other rate.
        other: usize,
    },
    /// Tier A and B take more than everyone.
    #[error("a_percent + b_percent is {total}, more than 100")]
    TierShares {
        /// Their sum.
        total: u32,
    },
    /// A percentage outside 1–100.
    #[error("must be between 1 and 100")]
    Percent,
    /// A negative or infinite weight.
    #[error("weights must be finite and not negative")]
    WeightsFinite,
    /// Every weight 0.
    #[error("at least one weight must be positive")]
    WeightPositive,
}

impl PlaybookError {
    /// The English message (without the field).
    pub fn message(&self) -> String {
        self.problem.to_string()
    }
}

impl Playbook {
    /// The team currency of a playbook that does not name one.
    pub const DEFAULT_CURRENCY: &str = "EUR";

    /// The team default for an Israeli team: Sunday–Thursday, 09:00–18:00, in shekels.
    pub fn israeli() -> Self {
        Self {
            working_week: WorkingWeek {
                days: WeekdaySet::SUN_THU,
                start: ClockTime::hm(9, 0).expect("valid"),
                end: ClockTime::hm(18, 0).expect("valid"),
            },
            currency: "ILS".to_owned(),
            ..Self::default()
        }
    }

    /// The team currency with its rates, to convert amounts.
    pub fn rates(&self) -> Rates<'_> {
        Rates::new(&self.currency, &self.exchange_rates)
    }

    /// The status the rules use for `role`: the first status with that role.
    pub fn status_for(&self, role: StatusRole) -> &StatusDef {
        self.statuses
            .iter()
            .find(|s| s.role == role)
            .expect("validated playbooks have a status for every role")
    }

    /// The status with `key`, if the playbook has one.
    pub fn status(&self, key: &str) -> Option<&StatusDef> {
        self.statuses.iter().find(|s| s.key == key)
    }

    /// The refusal reason with `key`, if the playbook has one.
    pub fn refusal_reason(&self, key: &str) -> Option<&RefusalReason> {
        self.refusal_reasons.iter().find(|r| r.key == key)
    }

    /// Checks that the rules can run on this playbook; the error names the field.
    pub fn validate(&self) -> Result<(), PlaybookError> {
        use PlaybookProblem as P;
        let err = |field: &str, problem: PlaybookProblem| {
            Err(PlaybookError {
                field: field.to_owned(),
                problem,
            })
        };
        for role in StatusRole::ALL {
            if !self.statuses.iter().any(|s| s.role == role) {
                return err("statuses", P::NoStatusForRole { role });
            }
        }
        for (i, s) in self.statuses.iter().enumerate() {
            if s.key.trim().is_empty() {
                return err(&format!("statuses[{i}].key"), P::EmptyKey);
            }
            if self.statuses[..i].iter().any(|o| o.key == s.key) {
                let key = s.key.clone();
                return err(&format!("statuses[{i}].key"), P::DuplicateKey { key });
            }
        }
        for (i, r) in self.refusal_reasons.iter().enumerate() {
            if r.key.trim().is_empty() {
                return err(&format!("refusal_reasons[{i}].key"), P::EmptyKey);
            }
            if self.refusal_reasons[..i].iter().any(|o| o.key == r.key) {
                let key = r.key.clone();
                return err(
                    &format!("refusal_reasons[{i}].key"),
                    P::DuplicateKey { key },
                );
            }
        }
        if self.refusal_reason(&self.cadence.close_reason).is_none() {
            let reason = self.cadence.close_reason.clone();
            return err("cadence.close_reason", P::CloseReasonUnknown { reason });
        }
        if self.cadence.max_attempts == 0 {
            return err("cadence.max_attempts", P::AtLeastOne);
        }
        if self.working_week.start >= self.working_week.end {
            return err("working_week", P::StartAfterEnd);
        }
        if !is_currency_code(&self.currency) {
            let currency = self.currency.clone();
            return err("currency", P::CurrencyCode { currency });
        }
        for (i, r) in self.exchange_rates.iter().enumerate() {
            let currency = r.currency.clone();
            if !is_currency_code(&r.currency) {
                return err(
                    &format!("exchange_rates[{i}].currency"),
                    P::CurrencyCode { currency },
                );
            }
            if r.currency == self.currency {
                return err(
                    &format!("exchange_rates[{i}].currency"),
                    P::RateForTeamCurrency { currency },
                );
            }
            if let Some(other) = self.exchange_rates[..i]
                .iter()
                .position(|o| o.currency == r.currency && o.date == r.date)
            {
                let date = r.date;
                return err(
                    &format!("exchange_rates[{i}].date"),
                    P::RateTwice {
                        currency,
                        date,
                        other,
                    },
                );
            }
        }
        let t = &self.tiers;
        if t.a_percent + t.b_percent > 100 {
            let total = t.a_percent + t.b_percent;
            return err("tiers", P::TierShares { total });
        }
        if t.pareto_percent == 0 || t.pareto_percent > 100 {
            return err("tiers.pareto_percent", P::Percent);
        }
        let w = &t.weights;
        let weights = [
            w.revenue,
            w.gross_profit,
            w.growth_potential,
            w.churn_risk,
            w.payment_terms,
            w.product_breadth,
            w.tenure,
        ];
        if weights.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return err("tiers.weights", P::WeightsFinite);
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return err("tiers.weights", P::WeightPositive);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn defaults_are_valid_and_partial_json_takes_defaults() {
        Playbook::default().validate().unwrap();
        Playbook::israeli().validate().unwrap();
        let p: Playbook = serde_json::from_str(r#"{"cadence": {"max_attempts": 4}}"#).unwrap();
        assert_eq!(p.cadence.max_attempts, 4);
        assert_eq!(p.cadence.gap_after(3), 1);
        assert_eq!(p.nurture_every_days, 90);
        assert_eq!(p.status_for(StatusRole::Lost).label, "Not interested");
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = Playbook::default();
        p.statuses.retain(|s| s.role != StatusRole::Dormant);
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "playbook.statuses: no status has role \"dormant\""
        );
        let mut p = Playbook::default();
        p.tiers.b_percent = 90;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "playbook.tiers: a_percent + b_percent is 110, more than 100"
        );
        let mut p = Playbook::default();
        p.cadence.close_reason = "gone".to_owned();
        assert_eq!(
            p.validate().unwrap_err().field,
            "cadence.close_reason".to_owned()
        );
    }

    #[test]
    fn cadence_gap_repeats_the_last_entry() {
        let c = Cadence {
            gap_working_days: vec![1, 2, 3],
            ..Cadence::default()
        };
        assert_eq!([1, 2, 3, 4, 5].map(|n| c.gap_after(n)), [1, 2, 3, 3, 3]);
        assert_eq!(c.template_for(6).unwrap().subject, "Closing your enquiry");
        assert!(c.template_for(7).is_none());
    }
}
