//! R10 Customer tiers (ABC): weighted normalised score, A/B/C cut, Pareto view, monthly
//! snapshots, the transition cube and visit-due items.
//!
//! Workflow: [`tier_report`] scores every customer (role Won or Dormant) over the trailing
//! window and shows why each got its tier; [`snapshot`] freezes the tiers at a month end;
//! [`tier_cube`] counts the moves between two snapshots; [`visits_due`] lists the customers
//! whose tier's visit frequency makes a visit due by the end of the viewer's day.
//!
//! Metrics, normalisation and score:
//!
//! - Everything is read from the lead summaries ([`LeadFacts`]: orders, customer spans,
//!   account), never from the lead documents. The window is `[as_of - window_months, as_of)`.
//!   A customer is a lead whose summary shows it a customer just before `as_of`, and only
//!   orders and wins before `as_of` count, so a snapshot of a past month does not see later
//!   wins or orders. A later conflict resolution (R14) does reach back: a win it overruled
//!   never made a customer. Account facts (growth, churn, payment terms, plan) have no history:
//!   their current values are used.
//! - Revenue and gross profit are converted to the team currency, each order at the latest
//!   rate on or before its own (UTC) date (`crate::money`), and scored in minor units of the
//!   team currency. An order in a currency with no rate on its date is left out of the
//!   converted figures and named in `missing_rates`, never mixed in unconverted; such a
//!   customer's revenue and gross profit score as missing values (neutral, below), and the
//!   Pareto view counts only what converts. `revenue` keeps the exact per-currency totals.
//! - Gross profit sums the orders in the window that carry one; a customer with orders but no
//!   known profit has no value; one with no orders in the window has 0.
//! - Each metric is min–max normalised to 0..1 across the customers scored, 1 the best
//!   (churn risk and payment terms inverted: lower is better). A missing value is neutral
//!   (0.5), and so is every value when all customers have the same one.
//! - Score = Σ weight × normalised metric / Σ weights, so it stays within 0..1.
//! - Rank by score descending, ties by lead id; position `i` (0-based) of `n` is A if
//!   `i < n × a_percent / 100`, B if `i < n × (a_percent + b_percent) / 100`, else C.

use crate::calendar::Calendar;
use crate::facts::LeadFacts;
use crate::ids::{LeadId, MemberId};
use crate::lead::AccountPlan;
use crate::money::{ConvertedTotal, Rates, Totals};
use crate::playbook::{Playbook, StatusRole, TierPolicy};
use crate::team::Team;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A customer tier. Internal: never printed on anything customer-facing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Tier {
    /// Top customers by score.
    A,
    /// The next ones.
    B,
    /// The rest.
    C,
}

/// The tier of each customer.
pub type TierMap = BTreeMap<LeadId, Tier>;

/// When the customer's next visit is due (R10 → R6 tier 4): the last visit, or the win if
/// there was none, plus the tier's visit frequency in days, on a working day of the owner's
/// `calendar` (same local time; moved to the next working day when it falls on a day off).
pub fn visit_due(
    playbook: &Playbook,
    calendar: &Calendar,
    facts: &LeadFacts,
    tier: Tier,
) -> Option<DateTime<Utc>> {
    if !matches!(facts.role, StatusRole::Won | StatusRole::Dormant) {
        return None;
    }
    let every = &playbook.tiers.visit_every_days;
    let days = match tier {
        Tier::A => every.a,
        Tier::B => every.b,
        Tier::C => every.c,
    };
    let from = facts.last_visit_at.or(facts.won_at)?;
    Some(calendar.days_later_on_working_day(from, days))
}

/// A customer's raw metrics over the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerMetrics {
    /// Revenue per currency (orders in the window), unconverted.
    pub revenue: Totals,
    /// Revenue in minor units of the team currency (the scored value): orders without a rate
    /// on their date are left out (see `missing_rates`).
    pub revenue_minor: i64,
    /// Gross profit in minor units of the team currency where known (see the module doc).
    pub gross_profit_minor: Option<i64>,
    /// Currencies of orders (or their gross profit) in the window with no rate on their date.
    pub missing_rates: BTreeSet<String>,
    /// Growth potential 1–5.
    pub growth_potential: Option<u8>,
    /// Churn risk 1–5.
    pub churn_risk: Option<u8>,
    /// Payment terms in days.
    pub payment_terms_days: Option<u32>,
    /// Distinct products ordered in the window.
    pub product_breadth: u32,
    /// Whole months from the win to `as_of`.
    pub tenure_months: u32,
    /// Orders in the window.
    pub n_orders: u32,
}

/// Each metric normalised to 0..1, 1 the best.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NormalisedMetrics {
    /// Revenue.
    pub revenue: f64,
    /// Gross profit.
    pub gross_profit: f64,
    /// Growth potential.
    pub growth_potential: f64,
    /// Churn risk, inverted.
    pub churn_risk: f64,
    /// Payment terms, inverted.
    pub payment_terms: f64,
    /// Product breadth.
    pub product_breadth: f64,
    /// Tenure.
    pub tenure: f64,
}

/// One customer's line: why it has its tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerRow {
    /// The customer (lead).
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// Owner.
    pub owner: MemberId,
    /// Raw metrics.
    pub metrics: CustomerMetrics,
    /// Normalised metrics.
    pub normalised: NormalisedMetrics,
    /// Weighted score, 0..1.
    pub score: f64,
    /// 1-based rank by score.
    pub rank: u32,
    /// The tier.
    pub tier: Tier,
    /// The customer's personal plan, if any (internal).
    pub plan: Option<AccountPlan>,
}

/// Number of customers per tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierCounts {
    /// Tier A.
    pub a: u32,
    /// Tier B.
    pub b: u32,
    /// Tier C.
    pub c: u32,
}

impl TierCounts {
    fn add(&mut self, tier: Tier) {
        match tier {
            Tier::A => self.a += 1,
            Tier::B => self.b += 1,
            Tier::C => self.c += 1,
        }
    }
}

/// One customer in the Pareto view.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParetoRow {
    /// The customer.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// Revenue in minor units of the team currency.
    pub revenue_minor: i64,
    /// Share of the total revenue, percent.
    pub share_percent: f64,
    /// Cumulative share up to and including this customer, percent.
    pub cumulative_percent: f64,
    /// One of the customers that make `pareto_percent` of revenue.
    pub in_pareto: bool,
}

/// Customers by revenue, descending (ties by lead id), marking those that make
/// `pareto_percent` of revenue: every customer up to and including the one whose revenue
/// makes the cumulative share reach or cross it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParetoView {
    /// The share looked at, percent.
    pub pareto_percent: u32,
    /// The team currency of every converted figure.
    pub currency: String,
    /// Total revenue in minor units of the team currency.
    pub total_revenue_minor: i64,
    /// Total revenue per currency, unconverted.
    pub revenue_by_currency: Totals,
    /// Currencies with revenue that has no rate on its date (left out of the converted
    /// figures).
    pub missing_rates: BTreeSet<String>,
    /// Customers marked `in_pareto`.
    pub n_in_pareto: u32,
    /// Every customer.
    pub customers: Vec<ParetoRow>,
}

/// Customer tiers at one moment, with the reasons.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierReport {
    /// The moment (exclusive end of the window).
    pub as_of: DateTime<Utc>,
    /// First instant of the window.
    pub window_start: DateTime<Utc>,
    /// Customers in rank order.
    pub customers: Vec<CustomerRow>,
    /// Customers per tier.
    pub counts: TierCounts,
    /// The Pareto view.
    pub pareto: ParetoView,
}

impl TierReport {
    /// The tier of each customer.
    pub fn tiers(&self) -> TierMap {
        self.customers
            .iter()
            .map(|c| (c.lead.clone(), c.tier))
            .collect()
    }
}

/// The tier of the customer at 0-based `position` of `n` ranked by score.
pub fn tier_for_position(policy: &TierPolicy, position: usize, n: usize) -> Tier {
    let (i, n) = (position as u128 * 100, n as u128);
    if i < n * u128::from(policy.a_percent) {
        Tier::A
    } else if i < n * u128::from(policy.a_percent + policy.b_percent) {
        Tier::B
    } else {
        Tier::C
    }
}

/// Whole calendar months from `from` to `to` (UTC dates), never negative.
fn months_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let (a, b) = (from.date_naive(), to.date_naive());
    let mut months = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    if b.day() < a.day() {
        months -= 1;
    }
    u32::try_from(months).unwrap_or(0)
}

fn metrics(
    rates: &Rates<'_>,
    facts: &LeadFacts,
    window_start: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> CustomerMetrics {
    let mut revenue = ConvertedTotal::new(rates);
    let mut profit: Option<ConvertedTotal> = None;
    let mut products = BTreeSet::new();
    let mut n_orders = 0;
    for order in facts
        .orders
        .iter()
        .filter(|o| window_start <= o.at && o.at < as_of)
    {
        n_orders += 1;
        let date = order.at.date_naive();
        revenue.add(rates, &order.amount, date);
        if let Some(gp) = &order.gross_profit {
            profit
                .get_or_insert_with(|| ConvertedTotal::new(rates))
                .add(rates, gp, date);
        }
        products.extend(order.products.iter());
    }
    let mut missing_rates = revenue.missing_rates;
    if let Some(p) = &profit {
        missing_rates.extend(p.missing_rates.iter().cloned());
    }
    let account = &facts.account;
    CustomerMetrics {
        revenue: revenue.by_currency,
        revenue_minor: revenue.minor,
        gross_profit_minor: if n_orders == 0 {
            Some(0)
        } else {
            profit.map(|p| p.minor)
        },
        missing_rates,
        growth_potential: account.growth_potential,
        churn_risk: account.churn_risk,
        payment_terms_days: account.payment_terms_days,
        product_breadth: u32::try_from(products.len()).unwrap_or(u32::MAX),
        tenure_months: facts
            .won_at
            .filter(|w| *w < as_of)
            .map_or(0, |w| months_between(w, as_of)),
        n_orders,
    }
}

/// Min–max normalisation to 0..1 (1 the best); missing values and a zero range are 0.5.
fn normalise(values: &[Option<f64>], lower_is_better: bool) -> Vec<f64> {
    let known = values.iter().flatten().copied();
    let min = known.clone().fold(f64::INFINITY, f64::min);
    let max = known.fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| match v {
            Some(x) if max > min => {
                let n = (x - min) / (max - min);
                if lower_is_better { 1.0 - n } else { n }
            }
            _ => 0.5,
        })
        .collect()
}

/// Scores and tiers every customer in `leads` as of `now` (see the module doc).
pub fn tier_report(team: &Team, leads: &[LeadFacts], now: DateTime<Utc>) -> TierReport {
    let playbook = &team.playbook;
    let policy = &playbook.tiers;
    let rates = playbook.rates();
    let window_start = now
        .checked_sub_months(Months::new(policy.window_months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let customers: Vec<(&LeadFacts, CustomerMetrics)> = leads
        .iter()
        .filter(|facts| facts.is_customer_before(now))
        .map(|facts| (facts, metrics(&rates, facts, window_start, now)))
        .collect();

    let column = |f: &dyn Fn(&CustomerMetrics) -> Option<f64>, lower_is_better| {
        let values: Vec<Option<f64>> = customers.iter().map(|(_, m)| f(m)).collect();
        normalise(&values, lower_is_better)
    };
    // A customer whose revenue is not all convertible is scored neutral on money (a missing
    // value), neither punished by a zero nor ranked by raw minor units.
    let converted = |m: &CustomerMetrics| m.missing_rates.is_empty();
    let revenue = column(&|m| converted(m).then_some(m.revenue_minor as f64), false);
    let profit = column(
        &|m| {
            m.gross_profit_minor
                .filter(|_| converted(m))
                .map(|x| x as f64)
        },
        false,
    );
    let growth = column(&|m| m.growth_potential.map(f64::from), false);
    let churn = column(&|m| m.churn_risk.map(f64::from), true);
    let terms = column(&|m| m.payment_terms_days.map(f64::from), true);
    let breadth = column(&|m| Some(f64::from(m.product_breadth)), false);
    let tenure = column(&|m| Some(f64::from(m.tenure_months)), false);

    let w = &policy.weights;
    let weight_sum = w.revenue
        + w.gross_profit
        + w.growth_potential
        + w.churn_risk
        + w.payment_terms
        + w.product_breadth
        + w.tenure;
    let mut rows: Vec<CustomerRow> = customers
        .into_iter()
        .enumerate()
        .map(|(i, (lead, metrics))| {
            let n = NormalisedMetrics {
                revenue: revenue[i],
                gross_profit: profit[i],
                growth_potential: growth[i],
                churn_risk: churn[i],
                payment_terms: terms[i],
                product_breadth: breadth[i],
                tenure: tenure[i],
            };
            let weighted = w.revenue * n.revenue
                + w.gross_profit * n.gross_profit
                + w.growth_potential * n.growth_potential
                + w.churn_risk * n.churn_risk
                + w.payment_terms * n.payment_terms
                + w.product_breadth * n.product_breadth
                + w.tenure * n.tenure;
            CustomerRow {
                lead: lead.id.clone(),
                company: lead.company.clone(),
                owner: lead.owner.clone(),
                metrics,
                normalised: n,
                score: if weight_sum > 0.0 {
                    weighted / weight_sum
                } else {
                    0.0
                },
                rank: 0,
                tier: Tier::C,
                plan: lead.account.plan.clone(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.lead.cmp(&b.lead))
    });
    let n = rows.len();
    let mut counts = TierCounts::default();
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
        row.tier = tier_for_position(policy, i, n);
        counts.add(row.tier);
    }
    let pareto = pareto_view(policy.pareto_percent, rates.currency(), &rows);
    TierReport {
        as_of: now,
        window_start,
        customers: rows,
        counts,
        pareto,
    }
}

fn pareto_view(pareto_percent: u32, currency: &str, rows: &[CustomerRow]) -> ParetoView {
    let mut by_revenue: Vec<&CustomerRow> = rows.iter().collect();
    by_revenue.sort_by(|a, b| {
        b.metrics
            .revenue_minor
            .cmp(&a.metrics.revenue_minor)
            .then_with(|| a.lead.cmp(&b.lead))
    });
    let total: i64 = by_revenue.iter().map(|r| r.metrics.revenue_minor).sum();
    let percent = |x: i64| {
        if total > 0 {
            x as f64 * 100.0 / total as f64
        } else {
            0.0
        }
    };
    let mut cumulative = 0i64;
    let mut n_in_pareto = 0;
    let customers = by_revenue
        .into_iter()
        .map(|r| {
            let revenue = r.metrics.revenue_minor;
            // Integer test: the share before this customer is still below the target.
            let in_pareto = total > 0
                && i128::from(cumulative) * 100 < i128::from(total) * i128::from(pareto_percent);
            cumulative += revenue;
            n_in_pareto += u32::from(in_pareto);
            ParetoRow {
                lead: r.lead.clone(),
                company: r.company.clone(),
                revenue_minor: revenue,
                share_percent: percent(revenue),
                cumulative_percent: percent(cumulative),
                in_pareto,
            }
        })
        .collect();
    let mut revenue_by_currency = Totals::new();
    let mut missing_rates = BTreeSet::new();
    for row in rows {
        for (c, minor) in &row.metrics.revenue {
            *revenue_by_currency.entry(c.clone()).or_insert(0) += minor;
        }
        missing_rates.extend(row.metrics.missing_rates.iter().cloned());
    }
    ParetoView {
        pareto_percent,
        currency: currency.to_owned(),
        total_revenue_minor: total,
        revenue_by_currency,
        missing_rates,
        n_in_pareto,
        customers,
    }
}

/// The tiers frozen at the end of a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierSnapshot {
    /// `YYYY-MM`.
    pub month: String,
    /// The tier of each customer.
    pub tiers: TierMap,
}

/// The tiers as of the end of `month` of `year`: computed at the first instant of the next
/// month in UTC, so that every device and the relay take the same snapshot whatever their
/// zone. `None` when `month` is not 1–12.
pub fn snapshot(team: &Team, leads: &[LeadFacts], year: i32, month: u32) -> Option<TierSnapshot> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let end = (first + Months::new(1)).and_hms_opt(0, 0, 0)?.and_utc();
    Some(TierSnapshot {
        month: format!("{year:04}-{month:02}"),
        tiers: tier_report(team, leads, end).tiers(),
    })
}

/// How many customers moved from one tier to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierMove {
    /// Tier in the earlier snapshot.
    pub from: Tier,
    /// Tier in the later one.
    pub to: Tier,
    /// Customers.
    pub n: u32,
}

/// The movement between two snapshots: all nine tier pairs (A→A, A→B, … C→C, zeros
/// included), customers new in the later snapshot and customers gone from it, per tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierCube {
    /// Earlier month.
    pub from_month: String,
    /// Later month.
    pub to_month: String,
    /// Customers in both, by (earlier, later) tier.
    pub moves: Vec<TierMove>,
    /// Customers only in the later snapshot, by their tier there.
    pub new: TierCounts,
    /// Customers only in the earlier snapshot, by their tier there.
    pub gone: TierCounts,
    /// Customers in both that moved to a better tier.
    pub n_up: u32,
    /// Customers in both that moved to a worse tier.
    pub n_down: u32,
}

/// Counts the movements from `previous` to `current`.
pub fn tier_cube(previous: &TierSnapshot, current: &TierSnapshot) -> TierCube {
    const TIERS: [Tier; 3] = [Tier::A, Tier::B, Tier::C];
    let mut counts: BTreeMap<(Tier, Tier), u32> = BTreeMap::new();
    let mut new = TierCounts::default();
    let mut gone = TierCounts::default();
    let (mut n_up, mut n_down) = (0, 0);
    for (lead, from) in &previous.tiers {
        match current.tiers.get(lead) {
            Some(to) => {
                *counts.entry((*from, *to)).or_default() += 1;
                // A < B < C in the derived order: a smaller tier is a better one.
                n_up += u32::from(to < from);
                n_down += u32::from(to > from);
            }
            None => gone.add(*from),
        }
    }
    for (lead, to) in &current.tiers {
        if !previous.tiers.contains_key(lead) {
            new.add(*to);
        }
    }
    let moves = TIERS
        .iter()
        .flat_map(|from| TIERS.iter().map(move |to| (*from, *to)))
        .map(|(from, to)| TierMove {
            from,
            to,
            n: counts.get(&(from, to)).copied().unwrap_or(0),
        })
        .collect();
    TierCube {
        from_month: previous.month.clone(),
        to_month: current.month.clone(),
        moves,
        new,
        gone,
        n_up,
        n_down,
    }
}

/// A customer due for a visit (R10 → R6 tier 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDue {
    /// The customer.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// Owner.
    pub owner: MemberId,
    /// The customer's tier.
    pub tier: Tier,
    /// When the visit became due.
    pub due: DateTime<Utc>,
}

/// Customers in `tiers` whose visit is due before the end of the viewer's local day at `now`
/// (overdue ones included), by due time then lead id. Customers who asked not to be
/// contacted are left out.
pub fn visits_due(
    team: &Team,
    facts: &[LeadFacts],
    tiers: &TierMap,
    viewer: &MemberId,
    now: DateTime<Utc>,
) -> Vec<VisitDue> {
    let calendar: Calendar = team.calendar(viewer);
    let end_of_day = calendar.end_of_day(calendar.local_date(now));
    let mut due: Vec<VisitDue> = facts
        .iter()
        .filter(|f| !f.do_not_contact)
        .filter_map(|f| {
            let tier = *tiers.get(&f.id)?;
            let at = visit_due(&team.playbook, &team.calendar(&f.owner), f, tier)?;
            (at < end_of_day).then(|| VisitDue {
                lead: f.id.clone(),
                company: f.company.clone(),
                owner: f.owner.clone(),
                tier,
                due: at,
            })
        })
        .collect();
    due.sort_by(|a, b| (a.due, &a.lead).cmp(&(b.due, &b.lead)));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::lead::{EventKind, Lead};
    use crate::testing::{LeadBuilder, t, team};
    use expect_test::{Expect, expect};
    use std::fmt::Write;

    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or("-".to_owned(), |v| v.to_string())
    }

    fn render(r: &TierReport) -> String {
        let mut s = String::new();
        writeln!(
            s,
            "window {} .. {}",
            r.window_start.to_rfc3339(),
            r.as_of.to_rfc3339()
        )
        .unwrap();
        for c in &r.customers {
            let m = &c.metrics;
            let n = &c.normalised;
            writeln!(
                s,
                "#{} {:?} {:.3} {}: rev {} gp {} growth {} churn {} terms {} breadth {} tenure {} orders {}",
                c.rank,
                c.tier,
                c.score,
                c.lead,
                m.revenue_minor,
                opt(m.gross_profit_minor),
                opt(m.growth_potential),
                opt(m.churn_risk),
                opt(m.payment_terms_days),
                m.product_breadth,
                m.tenure_months,
                m.n_orders,
            )
            .unwrap();
            writeln!(
                s,
                "    norm rev {:.2} gp {:.2} growth {:.2} churn {:.2} terms {:.2} breadth {:.2} tenure {:.2}",
                n.revenue,
                n.gross_profit,
                n.growth_potential,
                n.churn_risk,
                n.payment_terms,
                n.product_breadth,
                n.tenure,
            )
            .unwrap();
        }
        writeln!(
            s,
            "counts A {} B {} C {}",
            r.counts.a, r.counts.b, r.counts.c
        )
        .unwrap();
        let p = &r.pareto;
        writeln!(
            s,
            "pareto {}% of {}: {} customers",
            p.pareto_percent, p.total_revenue_minor, p.n_in_pareto
        )
        .unwrap();
        for row in &p.customers {
            let mark = if row.in_pareto { "*" } else { " " };
            writeln!(
                s,
                "  {mark} {} {} {:.1}% cum {:.1}%",
                row.lead, row.revenue_minor, row.share_percent, row.cumulative_percent
            )
            .unwrap();
        }
        s
    }

    fn summaries(leads: &[Lead]) -> Vec<LeadFacts> {
        let team = team();
        leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect()
    }

    fn check(leads: &[Lead], now: &str, expect: Expect) {
        expect.assert_eq(&render(&tier_report(&team(), &summaries(leads), t(now))));
    }

    const NOW: &str = "2026-11-22T12:00:00Z";

    fn customers() -> Vec<Lead> {
        vec![
            LeadBuilder::new("big", "dana", "2024-01-01T08:00:00Z")
                .won("2024-01-10T08:00:00Z", 100_000)
                .order_gp("2026-03-01T08:00:00Z", 400_000, 100_000, &["crm", "erp"])
                .order_gp("2026-06-01T08:00:00Z", 100_000, 20_000, &["pos", "crm"])
                .account(Some(4), Some(2), Some(30))
                .build(),
            // Orders but no known profit: neutral profit.
            LeadBuilder::new("mid", "dana", "2025-05-01T08:00:00Z")
                .won("2025-06-01T08:00:00Z", 100_000)
                .order("2026-02-01T08:00:00Z", 200_000, &["crm"])
                .account(Some(5), Some(1), Some(60))
                .build(),
            // No account facts: neutral growth, churn and terms.
            LeadBuilder::new("small", "ion", "2026-08-01T08:00:00Z")
                .won("2026-09-01T08:00:00Z", 10_000)
                .order_gp("2026-10-01T08:00:00Z", 50_000, 5_000, &["crm"])
                .build(),
            // The window's first instant is in, one second earlier is out.
            LeadBuilder::new("old", "ion", "2019-12-01T08:00:00Z")
                .won("2020-01-01T08:00:00Z", 10_000)
                .order("2025-11-22T11:59:59Z", 999_999, &["pos"])
                .order("2025-11-22T12:00:00Z", 100_000, &["erp"])
                .account(Some(2), Some(5), Some(90))
                .build(),
            // No order in the window: revenue and profit 0.
            LeadBuilder::new("quiet", "dana", "2026-01-01T08:00:00Z")
                .won("2026-01-15T08:00:00Z", 10_000)
                .account(Some(3), Some(3), Some(45))
                .build(),
            // Not customers: an open deal, and a win after `now`.
            LeadBuilder::new("deal", "dana", "2026-11-01T08:00:00Z")
                .quote("2026-11-02T08:00:00Z", 10_000)
                .build(),
            LeadBuilder::new("later", "dana", "2026-11-01T08:00:00Z")
                .won("2026-11-22T12:00:00Z", 10_000)
                .build(),
        ]
    }

    #[test]
    fn customers_are_scored_ranked_and_cut() {
        check(
            &customers(),
            NOW,
            expect![[r#"
            window 2025-11-22T12:00:00+00:00 .. 2026-11-22T12:00:00+00:00
            #1 A 0.895 big: rev 500000 gp 120000 growth 4 churn 2 terms 30 breadth 3 tenure 34 orders 2
                norm rev 1.00 gp 1.00 growth 0.67 churn 0.75 terms 1.00 breadth 1.00 tenure 0.40
            #2 B 0.563 mid: rev 200000 gp - growth 5 churn 1 terms 60 breadth 1 tenure 17 orders 1
                norm rev 0.40 gp 0.50 growth 1.00 churn 1.00 terms 0.50 breadth 0.33 tenure 0.19
            #3 B 0.247 small: rev 50000 gp 5000 growth - churn - terms - breadth 1 tenure 2 orders 1
                norm rev 0.10 gp 0.04 growth 0.50 churn 0.50 terms 0.50 breadth 0.33 tenure 0.00
            #4 C 0.243 old: rev 100000 gp - growth 2 churn 5 terms 90 breadth 1 tenure 82 orders 1
                norm rev 0.20 gp 0.50 growth 0.00 churn 0.00 terms 0.00 breadth 0.33 tenure 1.00
            #5 C 0.180 quiet: rev 0 gp 0 growth 3 churn 3 terms 45 breadth 0 tenure 10 orders 0
                norm rev 0.00 gp 0.00 growth 0.33 churn 0.50 terms 0.75 breadth 0.00 tenure 0.10
            counts A 1 B 2 C 2
            pareto 80% of 850000: 2 customers
              * big 500000 58.8% cum 58.8%
              * mid 200000 23.5% cum 82.4%
                old 100000 11.8% cum 94.1%
                small 50000 5.9% cum 100.0%
                quiet 0 0.0% cum 100.0%
        "#]],
        );
    }

    #[test]
    fn the_window_edge_is_inclusive_at_its_start() {
        let r = tier_report(&team(), &summaries(&customers()), t(NOW));
        assert_eq!(r.window_start, t("2025-11-22T12:00:00Z"));
        let old = r
            .customers
            .iter()
            .find(|c| c.lead.as_str() == "old")
            .unwrap();
        assert_eq!(
            (old.metrics.revenue_minor, old.metrics.n_orders),
            (100_000, 1)
        );
        assert_eq!(old.metrics.tenure_months, 82);
        assert!(
            r.customers
                .iter()
                .all(|c| c.lead.as_str() != "later" && c.lead.as_str() != "deal")
        );
    }

    #[test]
    fn a_and_b_cut_at_20_and_30_percent() {
        let policy = TierPolicy::default();
        let counts = |n: usize| {
            let mut c = TierCounts::default();
            (0..n).for_each(|i| c.add(tier_for_position(&policy, i, n)));
            (c.a, c.b, c.c)
        };
        assert_eq!(counts(1), (1, 0, 0));
        assert_eq!(counts(2), (1, 0, 1));
        assert_eq!(counts(3), (1, 1, 1));
        assert_eq!(counts(4), (1, 1, 2));
        assert_eq!(counts(5), (1, 2, 2));
        assert_eq!(counts(10), (2, 3, 5));
        assert_eq!(counts(11), (3, 3, 5));
        assert_eq!(counts(20), (4, 6, 10));
        assert_eq!(counts(100), (20, 30, 50));
        // Position 2 of 10 is the first B, position 5 the first C.
        assert_eq!(tier_for_position(&policy, 1, 10), Tier::A);
        assert_eq!(tier_for_position(&policy, 2, 10), Tier::B);
        assert_eq!(tier_for_position(&policy, 4, 10), Tier::B);
        assert_eq!(tier_for_position(&policy, 5, 10), Tier::C);
    }

    fn with_revenues(revenues: &[i64]) -> Vec<Lead> {
        revenues
            .iter()
            .enumerate()
            .map(|(i, r)| {
                LeadBuilder::new(&format!("c{i}"), "dana", "2026-01-01T08:00:00Z")
                    .won("2026-01-02T08:00:00Z", 1)
                    .order("2026-02-01T08:00:00Z", *r, &["crm"])
                    .build()
            })
            .collect()
    }

    fn in_pareto(revenues: &[i64]) -> Vec<String> {
        tier_report(&team(), &summaries(&with_revenues(revenues)), t(NOW))
            .pareto
            .customers
            .iter()
            .filter(|c| c.in_pareto)
            .map(|c| c.lead.to_string())
            .collect()
    }

    #[test]
    fn pareto_marks_up_to_the_customer_that_crosses_80_percent() {
        // 50 + 25 = 75 % is short; the third customer crosses to 85 %.
        assert_eq!(in_pareto(&[10, 50, 5, 25, 10]), ["c1", "c3", "c0"]);
        // 50 + 30 reaches 80 % exactly: the third is not needed.
        assert_eq!(in_pareto(&[50, 30, 20]), ["c0", "c1"]);
        // One customer makes everything.
        assert_eq!(in_pareto(&[100, 0, 0]), ["c0"]);
        // No revenue: nobody.
        assert!(in_pareto(&[0, 0]).is_empty());
    }

    #[test]
    fn missing_values_are_neutral_and_lower_is_better_for_churn_and_terms() {
        assert_eq!(
            normalise(&[Some(1.0), None, Some(5.0), Some(3.0)], false),
            [0.0, 0.5, 1.0, 0.5]
        );
        assert_eq!(
            normalise(&[Some(1.0), None, Some(5.0)], true),
            [1.0, 0.5, 0.0]
        );
        assert_eq!(normalise(&[Some(7.0), Some(7.0)], false), [0.5, 0.5]);
    }

    #[test]
    fn snapshots_and_the_cube() {
        let mut leads = customers();
        // A customer lost in October: gone by the November snapshot.
        leads.push(
            LeadBuilder::new("lost", "ion", "2025-01-01T08:00:00Z")
                .won("2025-01-05T08:00:00Z", 1)
                .order("2026-01-01T08:00:00Z", 300_000, &["crm"])
                .refusal("2026-10-15T08:00:00Z", "price", "erp", None)
                .build(),
        );
        let team = team();
        let leads = summaries(&leads);
        let aug = snapshot(&team, &leads, 2026, 8).unwrap();
        let nov = snapshot(&team, &leads, 2026, 11).unwrap();
        assert!(snapshot(&team, &leads, 2026, 13).is_none());
        let render = |s: &TierSnapshot| {
            let tiers: Vec<String> = s.tiers.iter().map(|(l, t)| format!("{l}={t:?}")).collect();
            format!("{}: {}\n", s.month, tiers.join(" "))
        };
        let cube = tier_cube(&aug, &nov);
        let mut out = render(&aug) + &render(&nov);
        let moves: Vec<String> = cube
            .moves
            .iter()
            .map(|m| format!("{:?}→{:?} {}", m.from, m.to, m.n))
            .collect();
        writeln!(
            out,
            "{}→{}: {}",
            cube.from_month,
            cube.to_month,
            moves.join(", ")
        )
        .unwrap();
        writeln!(
            out,
            "new {:?} gone {:?} up {} down {}",
            cube.new, cube.gone, cube.n_up, cube.n_down
        )
        .unwrap();
        expect![[r#"
            2026-08: big=A lost=C mid=B old=B quiet=C
            2026-11: big=A later=C mid=A old=C quiet=C small=B
            2026-08→2026-11: A→A 1, A→B 0, A→C 0, B→A 1, B→B 0, B→C 1, C→A 0, C→B 0, C→C 1
            new TierCounts { a: 0, b: 1, c: 1 } gone TierCounts { a: 0, b: 0, c: 1 } up 1 down 1
        "#]]
        .assert_eq(&out);
        // The November snapshot is taken at 1 December 00:00 UTC.
        let at_end = tier_report(&team, &leads, t("2026-12-01T00:00:00Z")).tiers();
        assert_eq!(nov.tiers, at_end);
    }

    #[test]
    fn a_customer_is_one_just_before_as_of_from_the_summary_alone() {
        let lead = LeadBuilder::new("c", "dana", "2026-01-01T08:00:00Z")
            .won("2026-02-01T08:00:00Z", 1)
            .refusal("2026-03-01T08:00:00Z", "price", "crm", Some(1))
            .order("2026-04-01T08:00:00Z", 5, &["crm"])
            .build();
        let facts = LeadFacts::from_lead(&team().playbook, &lead);
        let at = |s: &str| facts.is_customer_before(t(s));
        // Events at `as_of` are not yet seen: won at 08:00 counts from 08:00:01.
        assert!(!at("2026-02-01T08:00:00Z") && at("2026-02-01T08:00:01Z"));
        assert!(at("2026-03-01T08:00:00Z") && !at("2026-03-01T08:00:01Z"));
        assert!(!at("2026-04-01T08:00:00Z") && at("2026-04-01T08:00:01Z"));
        // A JSON round trip keeps everything R10 reads.
        let json = serde_json::to_string(&facts).unwrap();
        let back: LeadFacts = serde_json::from_str(&json).unwrap();
        let report = |f: &LeadFacts| tier_report(&team(), std::slice::from_ref(f), t(NOW));
        assert_eq!(report(&back), report(&facts));
    }

    #[test]
    fn visits_due_by_the_end_of_the_viewers_day() {
        let team = team();
        let leads = [
            // Tier A every 14 days from the win.
            LeadBuilder::new("overdue", "dana", "2026-10-01T08:00:00Z")
                .won("2026-11-01T10:00:00Z", 1)
                .build(),
            // Due 23:59 Jerusalem time today.
            LeadBuilder::new("tonight", "dana", "2026-10-01T08:00:00Z")
                .won("2026-11-08T21:59:00Z", 1)
                .build(),
            // Due 00:00 Jerusalem time tomorrow (still today in UTC).
            LeadBuilder::new("tomorrow", "dana", "2026-10-01T08:00:00Z")
                .won("2026-11-08T22:00:00Z", 1)
                .build(),
            LeadBuilder::new("dnc", "dana", "2026-10-01T08:00:00Z")
                .won("2026-11-01T10:00:00Z", 1)
                .do_not_contact()
                .build(),
            // A tier C customer visited recently.
            LeadBuilder::new("visited", "ion", "2026-01-01T08:00:00Z")
                .won("2026-01-02T08:00:00Z", 1)
                .event(
                    "2026-10-01T08:00:00Z",
                    EventKind::Attempt {
                        channel: crate::lead::Channel::Visit,
                        outcome: crate::lead::AttemptOutcome::Reached,
                    },
                )
                .build(),
        ];
        let facts: Vec<LeadFacts> = leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect();
        let mut tiers: TierMap = facts.iter().map(|f| (f.id.clone(), Tier::A)).collect();
        tiers.insert("visited".into(), Tier::C);
        let due = |tiers: &TierMap, viewer: &str| -> Vec<String> {
            visits_due(&team, &facts, tiers, &MemberId::from(viewer), t(NOW))
                .iter()
                .map(|v| format!("{}@{}", v.lead, v.due.to_rfc3339()))
                .collect()
        };
        assert_eq!(
            due(&tiers, "mgr"),
            [
                "overdue@2026-11-15T10:00:00+00:00",
                "tonight@2026-11-22T21:59:00+00:00"
            ]
        );
        assert_eq!(due(&tiers, "ada").len(), 3, "in UTC 22:00 is still today");
        tiers.insert("visited".into(), Tier::A);
        assert_eq!(
            due(&tiers, "mgr").len(),
            3,
            "the visit on 1 October plus 14 days is due"
        );
    }

    /// An ILS customer and a RON customer, each with one order; the RON order of June.
    fn two_currencies() -> Vec<LeadFacts> {
        summaries(&[
            LeadBuilder::new("ils", "dana", "2026-01-01T08:00:00Z")
                .won("2026-01-02T08:00:00Z", 1)
                .order_gp("2026-03-01T08:00:00Z", 5_000_000, 1_000_000, &["crm"])
                .build(),
            LeadBuilder::new("ron", "ion", "2026-01-01T08:00:00Z")
                .in_currency("RON")
                .won("2026-01-02T08:00:00Z", 1)
                .order_gp("2026-06-10T08:00:00Z", 7_000_000, 2_000_000, &["crm"])
                .build(),
        ])
    }

    fn report_with(rates: Vec<crate::money::ExchangeRate>) -> TierReport {
        let mut team = team();
        team.playbook.exchange_rates = rates;
        tier_report(&team, &two_currencies(), t(NOW))
    }

    #[test]
    fn revenue_is_converted_to_the_team_currency_at_each_orders_date() {
        use crate::money::ExchangeRate;
        // The June order takes the rate of 2026-06-01 (0.60), not the later one.
        let r = report_with(vec![
            ExchangeRate::new("RON", "2026-06-01", "0.60"),
            ExchangeRate::new("RON", "2026-07-01", "5.00"),
        ]);
        let rows: Vec<String> = r
            .customers
            .iter()
            .map(|c| {
                format!(
                    "{} rev {} gp {} {:?} missing {:?}",
                    c.lead,
                    c.metrics.revenue_minor,
                    opt(c.metrics.gross_profit_minor),
                    c.metrics.revenue,
                    c.metrics.missing_rates
                )
            })
            .collect();
        // RON 70,000 = ILS 42,000 < ILS 50,000: the ILS customer ranks first on revenue.
        expect![[r#"
            ils rev 5000000 gp 1000000 {"ILS": 5000000} missing {}
            ron rev 4200000 gp 1200000 {"RON": 7000000} missing {}"#]]
        .assert_eq(&rows.join("\n"));
        assert_eq!(r.pareto.currency, "ILS");
        assert_eq!(r.pareto.total_revenue_minor, 9_200_000);
        assert_eq!(
            r.pareto.revenue_by_currency,
            Totals::from([("ILS".to_owned(), 5_000_000), ("RON".to_owned(), 7_000_000)])
        );
        assert!(r.pareto.missing_rates.is_empty());
        assert_eq!(r.pareto.customers[0].lead.as_str(), "ils");
    }

    #[test]
    fn revenue_without_a_rate_is_reported_never_added_raw() {
        // A rate dated after the order does not apply: the RON order has no rate.
        let r = report_with(vec![crate::money::ExchangeRate::new(
            "RON",
            "2026-07-01",
            "0.60",
        )]);
        let ron = r
            .customers
            .iter()
            .find(|c| c.lead.as_str() == "ron")
            .unwrap();
        assert_eq!(ron.metrics.revenue_minor, 0);
        assert_eq!(ron.metrics.gross_profit_minor, Some(0));
        assert_eq!(ron.metrics.revenue["RON"], 7_000_000);
        assert_eq!(
            ron.metrics.missing_rates,
            BTreeSet::from(["RON".to_owned()])
        );
        // The total is the ILS revenue alone (not 12,000,000 minor units of two currencies).
        assert_eq!(r.pareto.total_revenue_minor, 5_000_000);
        assert_eq!(r.pareto.revenue_by_currency["RON"], 7_000_000);
        assert_eq!(r.pareto.missing_rates, BTreeSet::from(["RON".to_owned()]));
        // Scored neutral on money rather than as a customer with no revenue.
        assert_eq!(ron.normalised.revenue, 0.5);
        assert_eq!(ron.normalised.gross_profit, 0.5);
    }

    #[test]
    fn a_visit_due_on_a_day_off_moves_to_the_owners_next_working_day() {
        // Dana's (Sunday–Thursday) customer was last visited Thursday 2026-11-05, 10:00
        // Jerusalem; tier A is every 14 days: Thursday 19th, a working day. Tier B (30 days)
        // lands on Saturday 2026-12-05 and moves to Sunday 6th.
        let lead = LeadBuilder::new("c", "dana", "2026-01-01T08:00:00Z")
            .won("2026-01-02T08:00:00Z", 1)
            .build();
        let mut facts = LeadFacts::from_lead(&team().playbook, &lead);
        facts.last_visit_at = Some(t("2026-11-05T08:00:00Z"));
        let team = team();
        let cal = team.calendar(&"dana".into());
        assert_eq!(
            visit_due(&team.playbook, &cal, &facts, Tier::A),
            Some(t("2026-11-19T08:00:00Z"))
        );
        assert_eq!(
            visit_due(&team.playbook, &cal, &facts, Tier::B),
            Some(t("2026-12-06T08:00:00Z"))
        );
    }
}
