//! Which currencies need an exchange rate: every amount the orderings and totals convert (deal
//! sizes today, orders and refusal budgets on their dates) that has no rate into the team
//! currency, grouped by currency. The settings screen shows them as errors to fix; each such
//! lead carries the `no_exchange_rate` flag.

use crate::facts::LeadFacts;
use crate::ids::LeadId;
use crate::playbook::Playbook;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A currency with amounts that cannot be converted to the team currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MissingRate {
    /// The ISO 4217 code that needs a rate.
    pub currency: String,
    /// The earliest date an amount needs a rate for: a rate dated on or before it covers
    /// every amount of the currency (later rates are used for later amounts).
    pub needed_from: NaiveDate,
    /// Leads with such an amount.
    pub n_leads: u32,
    /// Up to five of those leads, in the order of `leads`.
    pub examples: Vec<LeadId>,
}

/// The currencies of `leads` with amounts that have no rate into `playbook`'s team currency at
/// `now`, by currency code.
pub fn missing_rates(
    playbook: &Playbook,
    leads: &[LeadFacts],
    now: DateTime<Utc>,
) -> Vec<MissingRate> {
    let rates = playbook.rates();
    let today = now.date_naive();
    let mut by_currency: BTreeMap<&str, MissingRate> = BTreeMap::new();
    for facts in leads {
        let mut counted: Vec<&str> = Vec::new();
        for (money, date) in facts.amounts_to_convert(today) {
            if rates.convert(money, date).is_some() {
                continue;
            }
            let entry = by_currency
                .entry(money.currency.as_str())
                .or_insert_with(|| MissingRate {
                    currency: money.currency.clone(),
                    needed_from: date,
                    n_leads: 0,
                    examples: Vec::new(),
                });
            entry.needed_from = entry.needed_from.min(date);
            if !counted.contains(&money.currency.as_str()) {
                counted.push(money.currency.as_str());
                entry.n_leads += 1;
                if entry.examples.len() < 5 {
                    entry.examples.push(facts.id.clone());
                }
            }
        }
    }
    by_currency.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::money::{ExchangeRate, Money};
    use crate::testing::{LeadBuilder, t, team};

    #[test]
    fn each_currency_without_a_rate_is_listed_with_the_date_it_is_needed_from() {
        let team = team();
        let leads: Vec<LeadFacts> = [
            LeadBuilder::new("ils", "dana", "2026-01-01T08:00:00Z")
                .deal(100)
                .build(),
            LeadBuilder::new("ron-deal", "ion", "2026-01-01T08:00:00Z")
                .in_currency("RON")
                .deal(100)
                .build(),
            LeadBuilder::new("ron-order", "ion", "2026-01-01T08:00:00Z")
                .in_currency("RON")
                .won("2026-02-01T08:00:00Z", 100)
                .order("2026-03-05T08:00:00Z", 100, &["crm"])
                .build(),
            LeadBuilder::new("usd-budget", "ion", "2026-01-01T08:00:00Z")
                .refusal_of(
                    "2026-04-01T08:00:00Z",
                    "price",
                    &["crm"],
                    Some(Money::new(5, "USD")),
                )
                .build(),
        ]
        .iter()
        .map(|l| LeadFacts::from_lead(&team.playbook, l))
        .collect();
        let now = t("2026-11-24T12:00:00Z");
        let missing = |playbook: &Playbook| -> Vec<String> {
            missing_rates(playbook, &leads, now)
                .iter()
                .map(|m| {
                    format!(
                        "{} from {} in {} {:?}",
                        m.currency, m.needed_from, m.n_leads, m.examples
                    )
                })
                .collect()
        };
        assert_eq!(
            missing(&team.playbook),
            [
                "RON from 2026-03-05 in 2 [LeadId(\"ron-deal\"), LeadId(\"ron-order\")]",
                "USD from 2026-04-01 in 1 [LeadId(\"usd-budget\")]",
            ]
        );
        // A RON rate from June covers today's deal but not the March order.
        let mut playbook = team.playbook.clone();
        playbook.exchange_rates = vec![ExchangeRate::new("RON", "2026-06-01", "0.8")];
        assert_eq!(
            missing(&playbook),
            [
                "RON from 2026-03-05 in 1 [LeadId(\"ron-order\")]",
                "USD from 2026-04-01 in 1 [LeadId(\"usd-budget\")]",
            ]
        );
        playbook
            .exchange_rates
            .push(ExchangeRate::new("RON", "2026-01-01", "0.7"));
        playbook
            .exchange_rates
            .push(ExchangeRate::new("USD", "2026-01-01", "3.7"));
        assert!(missing(&playbook).is_empty());
    }
}
