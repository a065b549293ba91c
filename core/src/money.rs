//! Money as integer minor units (cents, agorot, bani) with an ISO 4217 currency code, so that
//! sums are exact on every platform; the team currency and its dated exchange rates, so that
//! orderings and totals never mix currencies unconverted.
//!
//! Conversion is exact and the same on every device: a rate is a decimal (never a float), an
//! amount is converted at the latest rate dated on or before the amount's own date, and the
//! result is rounded half away from zero to a minor unit.
//!
//! ```
//! use fieldbook_core::money::{ExchangeRate, Money, Rates};
//! let rates = vec![ExchangeRate::new("RON", "2025-06-01", "0.7900")];
//! let rates = Rates::new("ILS", &rates);
//! let date = chrono::NaiveDate::from_ymd_opt(2025, 6, 9).unwrap();
//! assert_eq!(rates.convert(&Money::new(100_000, "RON"), date), Some(79_000));
//! assert_eq!(rates.convert(&Money::new(100_000, "EUR"), date), None); // no rate: never guessed
//! ```

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

/// Whether `code` looks like an ISO 4217 code: three capital letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Sums of money kept apart per currency.
pub type Totals = BTreeMap<String, i64>;

/// Adds `money` to the per-currency `totals`.
pub fn add_to(totals: &mut Totals, money: &Money) {
    *totals.entry(money.currency.clone()).or_insert(0) += money.minor;
}

/// A positive exchange rate as an exact decimal, written as a string such as `"3.6512"` (a JSON
/// number is accepted on input). At most 12 decimal places and 18 significant digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Rate {
    /// The digits without the decimal point.
    mantissa: u64,
    /// Decimal places.
    scale: u32,
}

impl Rate {
    const MAX_SCALE: u32 = 12;

    /// `minor` converted at this rate, rounded half away from zero.
    pub fn apply(self, minor: i64) -> i64 {
        let den = 10i128.pow(self.scale);
        let num = i128::from(minor) * i128::from(self.mantissa);
        let q = num / den;
        let r = num % den;
        let rounded = if 2 * r.abs() >= den {
            q + num.signum()
        } else {
            q
        };
        i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let den = 10u64.pow(self.scale);
        let (int, frac) = (self.mantissa / den, self.mantissa % den);
        if self.scale == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac:0width$}", width = self.scale as usize)
        }
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({self})")
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            |why: &str| format!("{s:?} is not an exchange rate: {why} (write it like \"3.6512\")");
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits with an optional decimal point"));
        }
        let frac = frac.trim_end_matches('0');
        let scale = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if scale > Self::MAX_SCALE {
            return Err(bad("more than 12 decimal places"));
        }
        let digits = format!("{}{frac}", int.trim_start_matches('0'));
        if digits.len() > 18 {
            return Err(bad("more than 18 significant digits"));
        }
        let mantissa: u64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad("not a number"))?
        };
        if mantissa == 0 {
            return Err(bad("a rate must be more than 0"));
        }
        Ok(Self { mantissa, scale })
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an exchange rate as a decimal string such as \"3.6512\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Rate, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Rate, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Rate, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Rate, E> {
                // Rust prints the shortest decimal that reads back as the same float.
                format!("{v}").parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// One unit of `currency` is worth `rate` units of the team currency, from `date` on (until a
/// later rate of the same currency).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExchangeRate {
    /// The ISO 4217 code converted from.
    pub currency: String,
    /// The first day this rate applies to (UTC dates).
    pub date: NaiveDate,
    /// Team-currency units per unit of `currency`.
    pub rate: Rate,
}

impl ExchangeRate {
    /// A rate from literals, e.g. `ExchangeRate::new("RON", "2025-06-01", "0.79")`; panics on
    /// a bad date or rate (for code and tests, not for input).
    pub fn new(currency: &str, date: &str, rate: &str) -> Self {
        Self {
            currency: currency.to_owned(),
            date: date.parse().expect("a YYYY-MM-DD date"),
            rate: rate.parse().expect("a decimal rate"),
        }
    }
}

/// The team currency with its rates, ready to convert: a view of the playbook's list (a team
/// keeps a handful of rates; a scan costs less than building an index for every view).
#[derive(Clone, Copy, Debug)]
pub struct Rates<'a> {
    currency: &'a str,
    rates: &'a [ExchangeRate],
}

impl<'a> Rates<'a> {
    /// The rates of `rates` into `currency` (the playbook's team currency).
    pub fn new(currency: &'a str, rates: &'a [ExchangeRate]) -> Self {
        Self { currency, rates }
    }

    /// The team currency.
    pub fn currency(&self) -> &'a str {
        self.currency
    }

    /// The rate of `currency` on `date`: the latest dated on or before it; 1 for the team
    /// currency itself.
    pub fn rate(&self, currency: &str, date: NaiveDate) -> Option<Rate> {
        if currency == self.currency {
            return Some(Rate {
                mantissa: 1,
                scale: 0,
            });
        }
        self.rates
            .iter()
            .filter(|r| r.currency == currency && r.date <= date)
            .max_by_key(|r| r.date)
            .map(|r| r.rate)
    }

    /// `money` in minor units of the team currency on `date`; `None` when there is no rate.
    pub fn convert(&self, money: &Money, date: NaiveDate) -> Option<i64> {
        self.rate(&money.currency, date)
            .map(|r| r.apply(money.minor))
    }
}

/// A total in the team currency, with the per-currency totals it was made from and the
/// currencies that could not be converted (left out of `minor`, never mixed in).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConvertedTotal {
    /// The team currency.
    pub currency: String,
    /// Sum of every converted amount, in minor units of `currency`.
    pub minor: i64,
    /// The same amounts per their own currency, unconverted (converted or not).
    pub by_currency: Totals,
    /// Currencies with an amount that had no rate on its date, sorted.
    pub missing_rates: BTreeSet<String>,
}

impl ConvertedTotal {
    /// An empty total in `rates`' team currency.
    pub fn new(rates: &Rates<'_>) -> Self {
        Self {
            currency: rates.currency().to_owned(),
            ..Self::default()
        }
    }

    /// Adds `money`, converted at its `date`.
    pub fn add(&mut self, rates: &Rates<'_>, money: &Money, date: NaiveDate) {
        add_to(&mut self.by_currency, money);
        match rates.convert(money, date) {
            Some(minor) => self.minor += minor,
            None => {
                self.missing_rates.insert(money.currency.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rates_parse_exactly_and_print_back() {
        for (text, printed) in [
            ("3.6512", "3.6512"),
            ("0.79", "0.79"),
            ("1", "1"),
            ("1.50", "1.5"),
            ("0012.000", "12"),
            ("0.000000000001", "0.000000000001"),
        ] {
            assert_eq!(text.parse::<Rate>().unwrap().to_string(), printed, "{text}");
        }
        for bad in [
            "",
            "0",
            "0.000",
            "-1",
            "1e3",
            "1,5",
            ".5",
            "abc",
            "0.0000000000001",
        ] {
            let err = bad.parse::<Rate>().unwrap_err();
            assert!(err.contains("is not an exchange rate"), "{bad}: {err}");
        }
        let from_number: Rate = serde_json::from_str("3.65").unwrap();
        assert_eq!(from_number.to_string(), "3.65");
        let from_int: Rate = serde_json::from_str("4").unwrap();
        assert_eq!(serde_json::to_string(&from_int).unwrap(), "\"4\"");
    }

    #[test]
    fn conversion_rounds_half_away_from_zero() {
        let r: Rate = "0.5".parse().unwrap();
        assert_eq!(r.apply(3), 2); // 1.5 -> 2
        assert_eq!(r.apply(-3), -2);
        assert_eq!(r.apply(1), 1); // 0.5 -> 1
        let r: Rate = "3.6512".parse().unwrap();
        assert_eq!(r.apply(100_000), 365_120);
        assert_eq!(r.apply(i64::MAX), i64::MAX); // saturates instead of wrapping
    }

    #[test]
    fn an_amount_takes_the_latest_rate_on_or_before_its_date() {
        let list = vec![
            ExchangeRate::new("RON", "2025-06-01", "0.80"),
            ExchangeRate::new("RON", "2025-05-01", "0.75"),
            ExchangeRate::new("EUR", "2025-01-01", "4.00"),
        ];
        let rates = Rates::new("ILS", &list);
        let ron = Money::new(1_000, "RON");
        assert_eq!(rates.convert(&ron, date("2025-04-30")), None);
        assert_eq!(rates.convert(&ron, date("2025-05-01")), Some(750));
        assert_eq!(rates.convert(&ron, date("2025-05-31")), Some(750));
        assert_eq!(rates.convert(&ron, date("2025-06-01")), Some(800));
        assert_eq!(
            rates.convert(&Money::new(1_000, "ILS"), date("1970-01-01")),
            Some(1_000)
        );
        assert_eq!(
            rates.convert(&Money::new(1_000, "USD"), date("2025-06-01")),
            None
        );

        let mut total = ConvertedTotal::new(&rates);
        total.add(&rates, &ron, date("2025-06-02"));
        total.add(&rates, &Money::new(500, "ILS"), date("2025-06-02"));
        total.add(&rates, &Money::new(7, "USD"), date("2025-06-02"));
        assert_eq!(total.minor, 1_300);
        assert_eq!(total.by_currency.len(), 3);
        assert_eq!(total.missing_rates.iter().collect::<Vec<_>>(), vec!["USD"]);
    }
}
