//! Money as integer minor units (cents, agorot, bani) with an ISO 4217 currency code, so that
//! sums are exact on every platform.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An amount of money: `minor` units (1/100 of the currency unit) of `currency`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Money {
    /// Amount in minor units (e.g. 1500000 = 15,000.00).
    pub minor: i64,
    /// ISO 4217 code, e.g. `ILS`, `RON`, `EUR`.
    pub currency: String,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(minor: i64, currency: &str) -> Self {
        Self {
            minor,
            currency: currency.to_owned(),
        }
    }
}

/// Sums of money kept apart per currency (never converted: the core has no exchange rates).
pub type Totals = BTreeMap<String, i64>;

/// Adds `money` to the per-currency `totals`.
pub fn add_to(totals: &mut Totals, money: &Money) {
    *totals.entry(money.currency.clone()).or_insert(0) += money.minor;
}
