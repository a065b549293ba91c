//! R8 Refusal analytics: refusals for a day, week, month and cumulatively, by product, reason and rep, budget totals, the rep × product matrix, and the change against the previous period.
//!
//! The total budget is kept per currency and, converted at each refusal's (UTC) date, in the
//! team currency (`crate::money`); a budget with no rate on its date is left out of the
//! converted total and its currency named, never added unconverted.
//!
//! Periods are the viewer's: the day, week and month containing `now` in the viewer's time
//! zone, the week starting on the first day of the viewer's working week. Every `refusal`
//! event counts, including `unreachable` closes of R2 (they show as their own reason) and
//! refusals a manager later returned to the funnel (the refusal still happened); a refusal a
//! conflict resolution overruled (R14) does not count. It reads the lead summaries
//! ([`LeadFacts::refusals`]), never the lead documents.
//!
//! ```
//! use fieldbook_core::analytics::refusals::{refusal_reports, Period};
//! # fn demo(team: &fieldbook_core::team::Team, leads: &[fieldbook_core::facts::LeadFacts],
//! #         viewer: &fieldbook_core::ids::MemberId, now: chrono::DateTime<chrono::Utc>) {
//! let reports = refusal_reports(team, leads, viewer, now); // one pass for all four periods
//! println!("{} refusals this week", reports.week.refusals.n);
//! # }
//! ```

use crate::calendar::Calendar;
use crate::facts::LeadFacts;
use crate::ids::{EventId, MemberId};
use crate::money::{Money, Rates};
use crate::team::Team;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A reporting period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The viewer's local day containing `now`.
    Day,
    /// The viewer's week containing `now`, from the first day of their working week.
    Week,
    /// The viewer's calendar month containing `now`.
    Month,
    /// Everything up to the end of the viewer's day (no previous period).
    Cumulative,
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Cumulative];

    /// The span of this period containing `now` in `calendar`'s zone, and the span of the
    /// period before it (`None` for [`Period::Cumulative`]).
    pub fn spans(self, calendar: &Calendar, now: DateTime<Utc>) -> (Span, Option<Span>) {
        let today = calendar.local_date(now);
        let (first, next, prev): (NaiveDate, NaiveDate, NaiveDate) = match self {
            Period::Day => (today, today + Days::new(1), today - Days::new(1)),
            Period::Week => {
                let from = week_start(calendar).num_days_from_monday();
                let back = (today.weekday().num_days_from_monday() + 7 - from) % 7;
                let first = today - Days::new(u64::from(back));
                (first, first + Days::new(7), first - Days::new(7))
            }
            Period::Month => {
                let first = today.with_day(1).expect("day 1 exists in every month");
                (first, first + Months::new(1), first - Months::new(1))
            }
            Period::Cumulative => {
                let span = Span {
                    start: None,
                    end: calendar.end_of_day(today),
                };
                return (span, None);
            }
        };
        let at = |d: NaiveDate| calendar.start_of_day(d);
        let current = Span {
            start: Some(at(first)),
            end: at(next),
        };
        let previous = Span {
            start: Some(at(prev)),
            end: at(first),
        };
        (current, Some(previous))
    }
}

/// The first day of `calendar`'s reporting week: Sunday for a week that works on Sunday but
/// not on Saturday (e.g. Sunday–Thursday), Monday otherwise.
pub fn week_start(calendar: &Calendar) -> Weekday {
    let days = calendar.week.days;
    if days.contains(Weekday::Sun) && !days.contains(Weekday::Sat) {
        Weekday::Sun
    } else {
        Weekday::Mon
    }
}

/// A half-open span of time `[start, end)`; no start means since the beginning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Span {
    /// First instant inside, if bounded.
    pub start: Option<DateTime<Utc>>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

impl Span {
    /// Whether `t` falls inside.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= t) && t < self.end
    }
}

/// A count in the period, in the previous period and the change between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Count {
    /// In the period.
    pub n: u32,
    /// In the previous period (`None` for cumulative).
    pub previous: Option<u32>,
    /// `n - previous`.
    pub change: Option<i64>,
}

impl Count {
    fn new(n: u32, previous: Option<u32>) -> Self {
        Self {
            n,
            previous,
            change: previous.map(|p| i64::from(n) - i64::from(p)),
        }
    }
}

/// One line of a breakdown: a product, reason or rep with its count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CountRow {
    /// Product id, reason key or member id.
    pub key: String,
    /// Display name (the key itself when the team no longer defines it).
    pub label: String,
    /// Refusals.
    #[serde(flatten)]
    pub count: Count,
}

/// The total budget of refusing clients in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BudgetRow {
    /// ISO 4217 code.
    pub currency: String,
    /// Total in minor units in the period.
    pub minor: i64,
    /// Total in the previous period (`None` for cumulative).
    pub previous: Option<i64>,
    /// `minor - previous`.
    pub change: Option<i64>,
}

/// The total budget of refusing clients in the team currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BudgetTotal {
    /// The team currency.
    pub currency: String,
    /// Total in minor units of `currency` in the period.
    pub minor: i64,
    /// Total in the previous period (`None` for cumulative).
    pub previous: Option<i64>,
    /// `minor - previous`.
    pub change: Option<i64>,
    /// Currencies of budgets in either period with no rate on their date (left out of the
    /// totals), sorted.
    pub missing_rates: Vec<String>,
}

/// A key with its display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Label {
    /// Member id or product id.
    pub key: String,
    /// Display name.
    pub label: String,
}

/// One non-empty cell of the rep × product matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatrixCell {
    /// Member id of the rep who recorded the refusals.
    pub rep: String,
    /// Product id.
    pub product: String,
    /// Refusals.
    #[serde(flatten)]
    pub count: Count,
}

/// The rep × product refusal matrix: the axes (every rep and product with a refusal in the
/// period or the previous one, in team order) and the cells that are not zero in both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalMatrix {
    /// Rows.
    pub reps: Vec<Label>,
    /// Columns.
    pub products: Vec<Label>,
    /// Non-empty cells, by rep then product in axis order.
    pub cells: Vec<MatrixCell>,
}

/// Refusal analytics for one period (R8).
///
/// A refusal of several products counts once in `refusals` and `by_reason`/`by_rep`, and
/// once per product in `by_product` and the matrix; a refusal without products counts in
/// neither of the last two. The budget of a client counts once per period: the budget of its
/// latest refusal in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalReport {
    /// Which period.
    pub period: Period,
    /// The period's span.
    pub span: Span,
    /// The previous period's span (`None` for cumulative).
    pub previous_span: Option<Span>,
    /// Number of refusals.
    pub refusals: Count,
    /// By product, in team product order.
    pub by_product: Vec<CountRow>,
    /// By reason, in playbook order.
    pub by_reason: Vec<CountRow>,
    /// By the member who recorded the refusal, in team order.
    pub by_rep: Vec<CountRow>,
    /// Total budget of refusing clients, per currency.
    pub budget: Vec<BudgetRow>,
    /// The same budgets converted to the team currency.
    pub budget_total: BudgetTotal,
    /// The rep × product matrix.
    pub matrix: RefusalMatrix,
}

/// The four reports of R8.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusalReports {
    /// Today.
    pub day: RefusalReport,
    /// This week.
    pub week: RefusalReport,
    /// This month.
    pub month: RefusalReport,
    /// Everything so far.
    pub cumulative: RefusalReport,
}

/// Refusal analytics for `period` as seen by `viewer` (their zone and working week) at `now`.
pub fn refusal_report(
    team: &Team,
    leads: &[LeadFacts],
    viewer: &MemberId,
    period: Period,
    now: DateTime<Utc>,
) -> RefusalReport {
    let calendar = team.calendar(viewer);
    reports(team, leads, &calendar, &[period], now)
        .pop()
        .expect("one report per period")
}

/// The day, week, month and cumulative reports at once, in a single pass over the leads.
pub fn refusal_reports(
    team: &Team,
    leads: &[LeadFacts],
    viewer: &MemberId,
    now: DateTime<Utc>,
) -> RefusalReports {
    let calendar = team.calendar(viewer);
    let [day, week, month, cumulative]: [RefusalReport; 4] =
        reports(team, leads, &calendar, &Period::ALL, now)
            .try_into()
            .expect("four periods, four reports");
    RefusalReports {
        day,
        week,
        month,
        cumulative,
    }
}

/// Strings numbered in first-seen order; seeded with the team's definitions so that the
/// numbers of known keys follow team order.
struct Interner<'a> {
    keys: Vec<(&'a str, &'a str)>,
    n_defined: usize,
    index: BTreeMap<&'a str, u32>,
}

impl<'a> Interner<'a> {
    fn new(defs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut this = Self {
            keys: Vec::new(),
            n_defined: 0,
            index: BTreeMap::new(),
        };
        for (key, label) in defs {
            if !this.index.contains_key(key) {
                this.index.insert(key, this.keys.len() as u32);
                this.keys.push((key, label));
            }
        }
        this.n_defined = this.keys.len();
        this
    }

    fn id(&mut self, key: &'a str) -> u32 {
        // A team has a handful of reps, reasons and products: a scan beats the map.
        if self.keys.len() <= 32 {
            if let Some(i) = self.keys.iter().position(|(k, _)| *k == key) {
                return i as u32;
            }
        } else if let Some(i) = self.index.get(key) {
            return *i;
        }
        let i = self.keys.len() as u32;
        self.index.insert(key, i);
        self.keys.push((key, key));
        i
    }

    /// `ids` in team order, keys the team does not define last by key.
    fn sorted(&self, mut ids: Vec<u32>) -> Vec<u32> {
        ids.sort_by(|a, b| self.order(*a).cmp(&self.order(*b)));
        ids.dedup();
        ids
    }

    fn order(&self, i: u32) -> (usize, &'a str) {
        let i = i as usize;
        if i < self.n_defined {
            (i, "")
        } else {
            (self.n_defined, self.keys[i].0)
        }
    }

    fn key(&self, i: u32) -> String {
        self.keys[i as usize].0.to_owned()
    }

    fn label(&self, i: u32) -> String {
        self.keys[i as usize].1.to_owned()
    }
}

/// One refusal, borrowed from its lead's summary, its keys interned.
struct Refusal<'a> {
    at: DateTime<Utc>,
    id: &'a EventId,
    by: u32,
    reason: u32,
    /// Range of its distinct products in the lead's product buffer.
    products: std::ops::Range<usize>,
    budget: Option<&'a Money>,
}

/// The figures of one span.
#[derive(Default)]
struct Tally<'a> {
    n: u32,
    by_product: Vec<u32>,
    by_reason: Vec<u32>,
    by_rep: Vec<u32>,
    matrix: BTreeMap<(u32, u32), u32>,
    budget: BTreeMap<&'a str, i64>,
    budget_converted: i64,
    budget_missing: BTreeSet<&'a str>,
}

fn bump(counts: &mut Vec<u32>, i: u32) {
    let i = i as usize;
    if counts.len() <= i {
        counts.resize(i + 1, 0);
    }
    counts[i] += 1;
}

fn get(counts: &[u32], i: u32) -> u32 {
    counts.get(i as usize).copied().unwrap_or(0)
}

fn nonzero(counts: &[u32]) -> impl Iterator<Item = u32> + '_ {
    (0..counts.len() as u32).filter(|i| counts[*i as usize] > 0)
}

impl<'a> Tally<'a> {
    /// Counts the refusals of one lead that fall in `span`.
    fn add_lead(
        &mut self,
        rates: &Rates<'_>,
        span: &Span,
        refusals: &[Refusal<'a>],
        products: &[u32],
    ) {
        let mut latest: Option<&Refusal<'a>> = None;
        for r in refusals.iter().filter(|r| span.contains(r.at)) {
            self.n += 1;
            bump(&mut self.by_reason, r.reason);
            bump(&mut self.by_rep, r.by);
            for p in &products[r.products.clone()] {
                bump(&mut self.by_product, *p);
                *self.matrix.entry((r.by, *p)).or_default() += 1;
            }
            if latest.is_none_or(|l| (l.at, l.id) < (r.at, r.id)) {
                latest = Some(r);
            }
        }
        if let Some((at, money)) = latest.and_then(|r| Some((r.at, r.budget?))) {
            *self.budget.entry(money.currency.as_str()).or_default() += money.minor;
            match rates.convert(money, at.date_naive()) {
                Some(minor) => self.budget_converted += minor,
                None => {
                    self.budget_missing.insert(money.currency.as_str());
                }
            }
        }
    }
}

/// The interned keys of one computation.
struct Keys<'a> {
    products: Interner<'a>,
    reasons: Interner<'a>,
    members: Interner<'a>,
}

fn reports(
    team: &Team,
    leads: &[LeadFacts],
    calendar: &Calendar,
    periods: &[Period],
    now: DateTime<Utc>,
) -> Vec<RefusalReport> {
    let spans: Vec<(Span, Option<Span>)> = periods.iter().map(|p| p.spans(calendar, now)).collect();
    let rates = team.playbook.rates();
    let mut keys = Keys {
        products: Interner::new(
            team.products
                .iter()
                .map(|p| (p.id.as_str(), p.name.as_str())),
        ),
        reasons: Interner::new(
            team.playbook
                .refusal_reasons
                .iter()
                .map(|r| (r.key.as_str(), r.label.as_str())),
        ),
        members: Interner::new(
            team.members
                .iter()
                .map(|m| (m.id.as_str(), m.name.as_str())),
        ),
    };
    let mut current: Vec<Tally<'_>> = spans.iter().map(|_| Tally::default()).collect();
    let mut previous: Vec<Tally<'_>> = spans.iter().map(|_| Tally::default()).collect();
    let mut refusals: Vec<Refusal<'_>> = Vec::new();
    let mut products: Vec<u32> = Vec::new();
    for lead in leads {
        refusals.clear();
        products.clear();
        for r in &lead.refusals {
            let first = products.len();
            for p in &r.products {
                let p = keys.products.id(p.as_str());
                if !products[first..].contains(&p) {
                    products.push(p);
                }
            }
            refusals.push(Refusal {
                at: r.at,
                id: &r.event,
                by: keys.members.id(r.by.as_str()),
                reason: keys.reasons.id(&r.reason),
                products: first..products.len(),
                budget: r.budget.as_ref(),
            });
        }
        if refusals.is_empty() {
            continue;
        }
        for (i, (span, prev)) in spans.iter().enumerate() {
            current[i].add_lead(&rates, span, &refusals, &products);
            if let Some(prev) = prev {
                previous[i].add_lead(&rates, prev, &refusals, &products);
            }
        }
    }
    periods
        .iter()
        .zip(spans)
        .zip(current.iter().zip(&previous))
        .map(|((period, (span, prev_span)), (cur, prev))| {
            let prev = prev_span.map(|_| prev);
            render(&keys, rates.currency(), *period, span, prev_span, cur, prev)
        })
        .collect()
}

fn rows(keys: &Interner<'_>, current: &[u32], previous: Option<&[u32]>) -> Vec<CountRow> {
    let ids = nonzero(current)
        .chain(previous.into_iter().flat_map(nonzero))
        .collect();
    keys.sorted(ids)
        .into_iter()
        .map(|i| CountRow {
            key: keys.key(i),
            label: keys.label(i),
            count: Count::new(get(current, i), previous.map(|p| get(p, i))),
        })
        .collect()
}

fn render(
    keys: &Keys<'_>,
    currency: &str,
    period: Period,
    span: Span,
    previous_span: Option<Span>,
    cur: &Tally<'_>,
    prev: Option<&Tally<'_>>,
) -> RefusalReport {
    let mut currencies: Vec<&str> = cur
        .budget
        .keys()
        .chain(prev.into_iter().flat_map(|p| p.budget.keys()))
        .copied()
        .collect();
    currencies.sort_unstable();
    currencies.dedup();
    let budget = currencies
        .into_iter()
        .map(|currency| {
            let minor = cur.budget.get(currency).copied().unwrap_or(0);
            let previous = prev.map(|p| p.budget.get(currency).copied().unwrap_or(0));
            BudgetRow {
                currency: currency.to_owned(),
                minor,
                previous,
                change: previous.map(|p| minor - p),
            }
        })
        .collect();
    let previous_total = prev.map(|p| p.budget_converted);
    let budget_total = BudgetTotal {
        currency: currency.to_owned(),
        minor: cur.budget_converted,
        previous: previous_total,
        change: previous_total.map(|p| cur.budget_converted - p),
        missing_rates: cur
            .budget_missing
            .iter()
            .chain(prev.into_iter().flat_map(|p| &p.budget_missing))
            .map(|c| (*c).to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let matrix_keys = || {
        cur.matrix
            .keys()
            .chain(prev.into_iter().flat_map(|p| p.matrix.keys()))
    };
    let reps = keys
        .members
        .sorted(matrix_keys().map(|(r, _)| *r).collect());
    let products = keys
        .products
        .sorted(matrix_keys().map(|(_, p)| *p).collect());
    let mut cells = Vec::new();
    for rep in &reps {
        for product in &products {
            let key = (*rep, *product);
            let n = cur.matrix.get(&key).copied().unwrap_or(0);
            let previous = prev.map(|p| p.matrix.get(&key).copied().unwrap_or(0));
            if n > 0 || previous.unwrap_or(0) > 0 {
                cells.push(MatrixCell {
                    rep: keys.members.key(*rep),
                    product: keys.products.key(*product),
                    count: Count::new(n, previous),
                });
            }
        }
    }
    let axis = |keys: &Interner<'_>, ids: Vec<u32>| {
        ids.into_iter()
            .map(|i| Label {
                key: keys.key(i),
                label: keys.label(i),
            })
            .collect()
    };
    RefusalReport {
        period,
        span,
        previous_span,
        refusals: Count::new(cur.n, prev.map(|p| p.n)),
        by_product: rows(
            &keys.products,
            &cur.by_product,
            prev.map(|p| p.by_product.as_slice()),
        ),
        by_reason: rows(
            &keys.reasons,
            &cur.by_reason,
            prev.map(|p| p.by_reason.as_slice()),
        ),
        by_rep: rows(
            &keys.members,
            &cur.by_rep,
            prev.map(|p| p.by_rep.as_slice()),
        ),
        budget,
        budget_total,
        matrix: RefusalMatrix {
            reps: axis(&keys.members, reps),
            products: axis(&keys.products, products),
            cells,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::lead::Lead;
    use crate::testing::{LeadBuilder, t, team};
    use expect_test::{Expect, expect};
    use std::fmt::Write;

    fn summaries(leads: &[Lead]) -> Vec<LeadFacts> {
        let team = team();
        leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect()
    }

    fn count(c: &Count) -> String {
        match (c.previous, c.change) {
            (Some(p), Some(d)) => format!("{} (prev {p}, {d:+})", c.n),
            _ => c.n.to_string(),
        }
    }

    fn render(r: &RefusalReport) -> String {
        let mut s = String::new();
        let start = r.span.start.map_or("-".to_owned(), |t| t.to_rfc3339());
        writeln!(
            s,
            "{:?} {start}..{}: {}",
            r.period,
            r.span.end.to_rfc3339(),
            count(&r.refusals)
        )
        .unwrap();
        for (name, rows) in [
            ("product", &r.by_product),
            ("reason", &r.by_reason),
            ("rep", &r.by_rep),
        ] {
            let line: Vec<String> = rows
                .iter()
                .map(|row| format!("{}={}", row.label, count(&row.count)))
                .collect();
            writeln!(s, "  {name}: {}", line.join("; ")).unwrap();
        }
        let budget: Vec<String> = r
            .budget
            .iter()
            .map(|b| match (b.previous, b.change) {
                (Some(p), Some(d)) => format!("{} {} (prev {p}, {d:+})", b.currency, b.minor),
                _ => format!("{} {}", b.currency, b.minor),
            })
            .collect();
        writeln!(s, "  budget: {}", budget.join("; ")).unwrap();
        let total = &r.budget_total;
        let missing = if total.missing_rates.is_empty() {
            String::new()
        } else {
            format!(", no rate: {}", total.missing_rates.join(" "))
        };
        match (total.previous, total.change) {
            (Some(p), Some(d)) => writeln!(
                s,
                "  total: {} {} (prev {p}, {d:+}){missing}",
                total.currency, total.minor
            ),
            _ => writeln!(s, "  total: {} {}{missing}", total.currency, total.minor),
        }
        .unwrap();
        let cells: Vec<String> = r
            .matrix
            .cells
            .iter()
            .map(|c| format!("{}×{}={}", c.rep, c.product, count(&c.count)))
            .collect();
        writeln!(s, "  matrix: {}", cells.join("; ")).unwrap();
        s
    }

    fn check(leads: &[Lead], viewer: &str, now: &str, expect: Expect) {
        let reports = refusal_reports(&team(), &summaries(leads), &MemberId::from(viewer), t(now));
        let mut out = String::new();
        for r in [
            &reports.day,
            &reports.week,
            &reports.month,
            &reports.cumulative,
        ] {
            out.push_str(&render(r));
        }
        expect.assert_eq(&out);
    }

    /// Refusals around the edges of Tuesday 2026-11-24 in Jerusalem (UTC+2).
    fn leads() -> Vec<Lead> {
        let ils = |m| Some(Money::new(m, "ILS"));
        vec![
            // 01:30 Tuesday local: today.
            LeadBuilder::new("l1", "dana", "2026-11-01T08:00:00Z")
                .refusal_of("2026-11-23T23:30:00Z", "price", &["crm"], ils(50_000))
                .build(),
            // 23:30 Monday local: yesterday, this week.
            LeadBuilder::new("l2", "dana", "2026-11-01T08:00:00Z")
                .refusal_of(
                    "2026-11-23T21:30:00Z",
                    "competitor",
                    &["crm", "erp"],
                    ils(30_000),
                )
                .build(),
            // 00:30 Sunday local: first minute of the Israeli week, previous week in Bucharest.
            LeadBuilder::new("l3", "ion", "2026-11-01T08:00:00Z")
                .refusal_of(
                    "2026-11-21T22:30:00Z",
                    "budget",
                    &["pos"],
                    Some(Money::new(10_000, "RON")),
                )
                .build(),
            // 23:00 Saturday local: the previous Israeli week, still November.
            LeadBuilder::new("l4", "ion", "2026-11-01T08:00:00Z")
                .refusal_of("2026-11-21T21:00:00Z", "timing", &["erp"], None)
                .build(),
            // 00:30 on 1 November local: this month.
            LeadBuilder::new("l5", "dana", "2026-10-01T08:00:00Z")
                .refusal("2026-10-31T22:30:00Z", "price", "crm", Some(20_000))
                .build(),
            // 23:30 on 31 October local: the previous month.
            LeadBuilder::new("l6", "dana", "2026-10-01T08:00:00Z")
                .refusal("2026-10-31T21:30:00Z", "price", "crm", Some(20_000))
                .build(),
            // Refused, returned, refused again today: two refusals, one client's budget (the
            // latest).
            LeadBuilder::new("l7", "dana", "2026-11-01T08:00:00Z")
                .refusal("2026-11-24T08:00:00Z", "price", "crm", Some(10_000))
                .by("mgr")
                .review_return("2026-11-24T09:00:00Z")
                .by("dana")
                .refusal("2026-11-24T10:00:00Z", "price", "crm", Some(15_000))
                .build(),
            // R2 close as unreachable: no products, no budget.
            LeadBuilder::new("l8", "ion", "2026-11-01T08:00:00Z")
                .by("ion")
                .refusal_of("2026-11-24T06:00:00Z", "unreachable", &[], None)
                .build(),
            // Not a refusal at all.
            LeadBuilder::new("l9", "dana", "2026-11-01T08:00:00Z")
                .won("2026-11-24T06:00:00Z", 100)
                .build(),
        ]
    }

    #[test]
    fn reports_for_the_israeli_manager() {
        check(
            &leads(),
            "mgr",
            "2026-11-24T12:00:00Z",
            expect![[r#"
                Day 2026-11-23T22:00:00+00:00..2026-11-24T22:00:00+00:00: 4 (prev 1, +3)
                  product: CRM=3 (prev 1, +2); ERP=0 (prev 1, -1)
                  reason: Price too high=3 (prev 0, +3); Chose a competitor=0 (prev 1, -1); Unreachable=1 (prev 0, +1)
                  rep: Dana=3 (prev 1, +2); Ion=1 (prev 0, +1)
                  budget: ILS 65000 (prev 30000, +35000)
                  total: ILS 65000 (prev 30000, +35000)
                  matrix: dana×crm=3 (prev 1, +2); dana×erp=0 (prev 1, -1)
                Week 2026-11-21T22:00:00+00:00..2026-11-28T22:00:00+00:00: 6 (prev 1, +5)
                  product: CRM=4 (prev 0, +4); ERP=1 (prev 1, +0); POS=1 (prev 0, +1)
                  reason: Price too high=3 (prev 0, +3); No budget=1 (prev 0, +1); Chose a competitor=1 (prev 0, +1); Not the right time=0 (prev 1, -1); Unreachable=1 (prev 0, +1)
                  rep: Dana=4 (prev 0, +4); Ion=2 (prev 1, +1)
                  budget: ILS 95000 (prev 0, +95000); RON 10000 (prev 0, +10000)
                  total: ILS 95000 (prev 0, +95000), no rate: RON
                  matrix: dana×crm=4 (prev 0, +4); dana×erp=1 (prev 0, +1); ion×erp=0 (prev 1, -1); ion×pos=1 (prev 0, +1)
                Month 2026-10-31T22:00:00+00:00..2026-11-30T22:00:00+00:00: 8 (prev 1, +7)
                  product: CRM=5 (prev 1, +4); ERP=2 (prev 0, +2); POS=1 (prev 0, +1)
                  reason: Price too high=4 (prev 1, +3); No budget=1 (prev 0, +1); Chose a competitor=1 (prev 0, +1); Not the right time=1 (prev 0, +1); Unreachable=1 (prev 0, +1)
                  rep: Dana=5 (prev 1, +4); Ion=3 (prev 0, +3)
                  budget: ILS 115000 (prev 20000, +95000); RON 10000 (prev 0, +10000)
                  total: ILS 115000 (prev 20000, +95000), no rate: RON
                  matrix: dana×crm=5 (prev 1, +4); dana×erp=1 (prev 0, +1); ion×erp=1 (prev 0, +1); ion×pos=1 (prev 0, +1)
                Cumulative -..2026-11-24T22:00:00+00:00: 9
                  product: CRM=6; ERP=2; POS=1
                  reason: Price too high=5; No budget=1; Chose a competitor=1; Not the right time=1; Unreachable=1
                  rep: Dana=6; Ion=3
                  budget: ILS 135000; RON 10000
                  total: ILS 135000, no rate: RON
                  matrix: dana×crm=6; dana×erp=1; ion×erp=1; ion×pos=1
            "#]],
        );
    }

    #[test]
    fn reports_for_a_monday_week_viewer_in_bucharest() {
        check(
            &leads(),
            "ion",
            "2026-11-24T12:00:00Z",
            expect![[r#"
                Day 2026-11-23T22:00:00+00:00..2026-11-24T22:00:00+00:00: 4 (prev 1, +3)
                  product: CRM=3 (prev 1, +2); ERP=0 (prev 1, -1)
                  reason: Price too high=3 (prev 0, +3); Chose a competitor=0 (prev 1, -1); Unreachable=1 (prev 0, +1)
                  rep: Dana=3 (prev 1, +2); Ion=1 (prev 0, +1)
                  budget: ILS 65000 (prev 30000, +35000)
                  total: ILS 65000 (prev 30000, +35000)
                  matrix: dana×crm=3 (prev 1, +2); dana×erp=0 (prev 1, -1)
                Week 2026-11-22T22:00:00+00:00..2026-11-29T22:00:00+00:00: 5 (prev 2, +3)
                  product: CRM=4 (prev 0, +4); ERP=1 (prev 1, +0); POS=0 (prev 1, -1)
                  reason: Price too high=3 (prev 0, +3); No budget=0 (prev 1, -1); Chose a competitor=1 (prev 0, +1); Not the right time=0 (prev 1, -1); Unreachable=1 (prev 0, +1)
                  rep: Dana=4 (prev 0, +4); Ion=1 (prev 2, -1)
                  budget: ILS 95000 (prev 0, +95000); RON 0 (prev 10000, -10000)
                  total: ILS 95000 (prev 0, +95000), no rate: RON
                  matrix: dana×crm=4 (prev 0, +4); dana×erp=1 (prev 0, +1); ion×erp=0 (prev 1, -1); ion×pos=0 (prev 1, -1)
                Month 2026-10-31T22:00:00+00:00..2026-11-30T22:00:00+00:00: 8 (prev 1, +7)
                  product: CRM=5 (prev 1, +4); ERP=2 (prev 0, +2); POS=1 (prev 0, +1)
                  reason: Price too high=4 (prev 1, +3); No budget=1 (prev 0, +1); Chose a competitor=1 (prev 0, +1); Not the right time=1 (prev 0, +1); Unreachable=1 (prev 0, +1)
                  rep: Dana=5 (prev 1, +4); Ion=3 (prev 0, +3)
                  budget: ILS 115000 (prev 20000, +95000); RON 10000 (prev 0, +10000)
                  total: ILS 115000 (prev 20000, +95000), no rate: RON
                  matrix: dana×crm=5 (prev 1, +4); dana×erp=1 (prev 0, +1); ion×erp=1 (prev 0, +1); ion×pos=1 (prev 0, +1)
                Cumulative -..2026-11-24T22:00:00+00:00: 9
                  product: CRM=6; ERP=2; POS=1
                  reason: Price too high=5; No budget=1; Chose a competitor=1; Not the right time=1; Unreachable=1
                  rep: Dana=6; Ion=3
                  budget: ILS 135000; RON 10000
                  total: ILS 135000, no rate: RON
                  matrix: dana×crm=6; dana×erp=1; ion×erp=1; ion×pos=1
            "#]],
        );
    }

    #[test]
    fn period_edges_are_in_the_viewers_zone_and_week() {
        let team = team();
        let now = t("2026-11-24T12:00:00Z");
        let il = team.calendar(&MemberId::from("mgr"));
        let ro = team.calendar(&MemberId::from("ion"));
        assert_eq!(week_start(&il), Weekday::Sun);
        assert_eq!(week_start(&ro), Weekday::Mon);

        let (day, prev) = Period::Day.spans(&il, now);
        assert_eq!(day.start, Some(t("2026-11-23T22:00:00Z")));
        assert_eq!(day.end, t("2026-11-24T22:00:00Z"));
        assert_eq!(prev.unwrap().start, Some(t("2026-11-22T22:00:00Z")));
        // 23:30 UTC is already the next day in Jerusalem.
        assert!(day.contains(t("2026-11-23T23:30:00Z")));
        assert!(!day.contains(t("2026-11-23T21:59:59Z")));
        assert!(!day.contains(day.end));

        let (week, prev) = Period::Week.spans(&il, now);
        assert_eq!(
            week.start,
            Some(t("2026-11-21T22:00:00Z")),
            "Sunday 00:00 local"
        );
        assert_eq!(prev.unwrap().start, Some(t("2026-11-14T22:00:00Z")));
        let (week, _) = Period::Week.spans(&ro, now);
        assert_eq!(
            week.start,
            Some(t("2026-11-22T22:00:00Z")),
            "Monday 00:00 local"
        );
        // On the first day of the week itself the week starts that day.
        let (week, _) = Period::Week.spans(&il, t("2026-11-21T22:00:00Z"));
        assert_eq!(week.start, Some(t("2026-11-21T22:00:00Z")));

        let (month, prev) = Period::Month.spans(&il, now);
        assert_eq!(month.start, Some(t("2026-10-31T22:00:00Z")));
        assert_eq!(month.end, t("2026-11-30T22:00:00Z"));
        // October in Jerusalem starts in summer time (UTC+3).
        assert_eq!(prev.unwrap().start, Some(t("2026-09-30T21:00:00Z")));

        let (all, prev) = Period::Cumulative.spans(&il, now);
        assert_eq!(
            (all.start, all.end, prev),
            (None, t("2026-11-24T22:00:00Z"), None)
        );
    }

    #[test]
    fn single_period_matches_the_bundle() {
        let team = team();
        let mgr = MemberId::from("mgr");
        let now = t("2026-11-24T12:00:00Z");
        let all = refusal_reports(&team, &summaries(&leads()), &mgr, now);
        let week = refusal_report(&team, &summaries(&leads()), &mgr, Period::Week, now);
        assert_eq!(week, all.week);
        assert_eq!(
            week.refusals,
            Count {
                n: 6,
                previous: Some(1),
                change: Some(5)
            }
        );
        let json = serde_json::to_value(&all.day).unwrap();
        assert_eq!(json["period"], "day");
        assert_eq!(json["by_reason"][0]["key"], "price");
        assert_eq!(json["by_reason"][0]["change"], 3);
    }

    #[test]
    fn a_refusal_overruled_by_a_conflict_resolution_does_not_count() {
        // Offline, one device recorded a refusal and the other the win; the manager kept the
        // win (R14).
        let lead = |keep: &str| {
            LeadBuilder::new("l1", "dana", "2026-11-01T08:00:00Z")
                .id("c")
                .refusal("2026-11-24T08:00:00Z", "price", "crm", Some(10_000))
                .id("r")
                .after("c")
                .won("2026-11-24T09:00:00Z", 100)
                .id("w")
                .after("c")
                .by("mgr")
                .resolved("2026-11-24T10:00:00Z", "outcome:r+w", Some(keep))
                .build()
        };
        let n = |keep: &str| {
            refusal_report(
                &team(),
                &summaries(&[lead(keep)]),
                &MemberId::from("mgr"),
                Period::Day,
                t("2026-11-24T12:00:00Z"),
            )
            .refusals
            .n
        };
        assert_eq!((n("w"), n("r")), (0, 1));
    }

    #[test]
    fn empty_book_has_zero_refusals_and_empty_rows() {
        let r = refusal_report(
            &team(),
            &[],
            &MemberId::from("dana"),
            Period::Month,
            t("2026-11-24T12:00:00Z"),
        );
        assert_eq!(
            r.refusals,
            Count {
                n: 0,
                previous: Some(0),
                change: Some(0)
            }
        );
        assert!(r.by_product.is_empty() && r.budget.is_empty() && r.matrix.cells.is_empty());
    }

    #[test]
    fn budgets_total_in_the_team_currency_at_each_refusals_date() {
        use crate::money::{ExchangeRate, Money};
        let leads = [
            LeadBuilder::new("a", "dana", "2026-11-01T07:00:00Z")
                .refusal("2026-11-24T08:00:00Z", "price", "crm", Some(100_000))
                .build(),
            LeadBuilder::new("b", "ion", "2026-11-01T07:00:00Z")
                .refusal_of(
                    "2026-11-24T09:00:00Z",
                    "price",
                    &["crm"],
                    Some(Money::new(50_000, "RON")),
                )
                .build(),
        ];
        let mut team = team();
        let now = t("2026-11-24T12:00:00Z");
        let day = |team: &Team| {
            refusal_reports(team, &summaries(&leads), &MemberId::from("mgr"), now)
                .day
                .budget_total
        };
        // No RON rate: the total is the ILS budget alone, and RON is named.
        let total = day(&team);
        assert_eq!((total.currency.as_str(), total.minor), ("ILS", 100_000));
        assert_eq!(total.missing_rates, ["RON"]);
        // With a rate dated on or before the refusal: RON 500 at 0.8 is ILS 400.
        team.playbook.exchange_rates = vec![ExchangeRate::new("RON", "2026-11-24", "0.8")];
        let total = day(&team);
        assert_eq!(total.minor, 140_000);
        assert!(total.missing_rates.is_empty());
        assert_eq!(total.previous, Some(0));
    }
}
