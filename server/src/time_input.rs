//! Why a value typed by a person is not a time or a date, in words that say what to write:
//! what is expected, and a specific hint when the mistake is a common one (no zone, a space
//! for the `T`, no seconds, a day-first date, a date where a time is expected). Pure: no clock.
//!
//! ```
//! use fieldbook_server::time_input::time_error;
//! assert_eq!(
//!     time_error(&serde_json::json!("2025-06-05T11:00:00")),
//!     "\"2025-06-05T11:00:00\" is not a time: expected an RFC 3339 time with a zone, \
//!      e.g. 2025-06-09T10:30:00+03:00; add the zone, e.g. Z for UTC or +03:00",
//! );
//! ```

use chrono::format::ParseErrorKind;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::Value;

/// What a time field expects.
pub const TIME_EXPECTED: &str = "an RFC 3339 time with a zone, e.g. 2025-06-09T10:30:00+03:00";

/// What a date field expects.
pub const DATE_EXPECTED: &str = "a date as YYYY-MM-DD, e.g. 2025-06-09";

/// Why `value`, given for a time, is not one: `"<value>" is not a time: expected …` followed
/// by the hints of [`time_hints`].
pub fn time_error(value: &Value) -> String {
    let hints = value.as_str().map(time_hints).unwrap_or_default();
    explain(value, "time", TIME_EXPECTED, &hints)
}

/// Why `value`, given for a date, is not one: `"<value>" is not a date: expected …` followed
/// by the hints of [`date_hints`].
pub fn date_error(value: &Value) -> String {
    let hints = value.as_str().map(date_hints).unwrap_or_default();
    explain(value, "date", DATE_EXPECTED, &hints)
}

fn explain(value: &Value, what: &str, expected: &str, hints: &[String]) -> String {
    let mut message = format!("{value} is not a {what}: expected {expected}");
    for hint in hints {
        message.push_str("; ");
        message.push_str(hint);
    }
    message
}

/// What to change in `text` to make it an RFC 3339 time with a zone, for the mistakes that are
/// recognisable; empty when `text` is not recognisably a time.
pub fn time_hints(text: &str) -> Vec<String> {
    let text = text.trim();
    if let Err(err) = text.parse::<DateTime<FixedOffset>>()
        && err.kind() == ParseErrorKind::OutOfRange
    {
        return vec!["a number is out of range (month, day, hour, minute or second)".to_owned()];
    }
    let (date_text, rest) = split_date(text);
    let Some(date) = parse_date(date_text) else {
        return Vec::new();
    };
    let mut hints = Vec::new();
    if date.year_first {
        if date.text != date_text {
            hints.push(format!("write the date as {}", date.text));
        }
    } else {
        hints.push(format!("write the date year first: {}", date.text));
    }
    let Some((sep, rest)) = rest.chars().next().map(|c| (c, &rest[c.len_utf8()..])) else {
        hints.push(format!(
            "a date alone is not a time: add the time and the zone, e.g. {}T09:00:00+03:00",
            date.text
        ));
        return hints;
    };
    if sep == ' ' {
        hints.push("write T between the date and the time".to_owned());
    } else if !matches!(sep, 'T' | 't') {
        return hints;
    }
    let Some((hh_mm, seconds, zone)) = split_time(rest) else {
        return hints;
    };
    if !seconds {
        hints.push(format!("add the seconds: {hh_mm}:00"));
    }
    let zone = zone.trim_start();
    if zone.is_empty() {
        hints.push("add the zone, e.g. Z for UTC or +03:00".to_owned());
    } else if let [b'+' | b'-', h1, h2] = zone.as_bytes()
        && h1.is_ascii_digit()
        && h2.is_ascii_digit()
    {
        hints.push(format!("write the offset with its minutes: {zone}:00"));
    }
    hints
}

/// What to change in `text` to make it a `YYYY-MM-DD` date; empty when `text` is not
/// recognisably a date.
pub fn date_hints(text: &str) -> Vec<String> {
    let text = text.trim();
    if let Err(err) = text.parse::<NaiveDate>()
        && err.kind() == ParseErrorKind::OutOfRange
    {
        return vec!["a number is out of range (month or day)".to_owned()];
    }
    let (date_text, rest) = split_date(text);
    let Some(date) = parse_date(date_text) else {
        return Vec::new();
    };
    if !date.year_first {
        vec![format!("write the date year first: {}", date.text)]
    } else if !rest.is_empty() {
        vec![format!("write the date alone: {}", date.text)]
    } else if date.text != date_text {
        vec![format!("write the date as {}", date.text)]
    } else {
        Vec::new()
    }
}

/// A recognised calendar date.
struct Date {
    /// As `YYYY-MM-DD`.
    text: String,
    /// Whether the year was written first.
    year_first: bool,
}

/// `text` split after its leading run of digits and date separators.
fn split_date(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '/' | '.')))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A date written year first (`2025-06-08`, `2025/06/08`) or day first (`08/06/2025`,
/// `8.6.2025`; month first when the second number cannot be a month, as in `06/18/2025`).
fn parse_date(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.split(['-', '/', '.']).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    let num = |s: &str| s.parse::<u32>().ok().filter(|_| (1..=4).contains(&s.len()));
    let (a, b, c) = (num(a)?, num(b)?, num(c)?);
    let (year, month, day, year_first) = if parts[0].len() == 4 {
        (a, b, c, true)
    } else if parts[2].len() == 4 && b > 12 {
        (c, a, b, false)
    } else if parts[2].len() == 4 {
        (c, b, a, false)
    } else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(Date {
        text: date.format("%Y-%m-%d").to_string(),
        year_first,
    })
}

/// A time of day `HH:MM` or `HH:MM:SS[.fraction]` at the start of `text`: its `HH:MM`,
/// whether it has seconds, and the rest (the zone).
fn split_time(text: &str) -> Option<(&str, bool, &str)> {
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (hh_mm, rest) = match text.as_bytes() {
        [h1, h2, b':', m1, m2, ..] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            text.split_at(5)
        }
        _ => return None,
    };
    match rest.strip_prefix(':') {
        Some(after) if after.get(..2).is_some_and(digits) => {
            let after = &after[2..];
            let zone = match after.strip_prefix(['.', ',']) {
                Some(frac) => frac.trim_start_matches(|c: char| c.is_ascii_digit()),
                None => after,
            };
            Some((hh_mm, true, zone))
        }
        Some(_) => None,
        None => Some((hh_mm, false, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXPECTED: &str = "expected an RFC 3339 time with a zone, e.g. 2025-06-09T10:30:00+03:00";

    #[test]
    fn recognisable_time_mistakes_get_a_hint() {
        for (text, hints) in [
            (
                "2025-06-05 11:00",
                "write T between the date and the time; add the seconds: 11:00:00; \
                 add the zone, e.g. Z for UTC or +03:00",
            ),
            (
                "2025-06-05T11:00:00",
                "add the zone, e.g. Z for UTC or +03:00",
            ),
            (
                "2025-06-05T11:00:00.250",
                "add the zone, e.g. Z for UTC or +03:00",
            ),
            ("2025-06-05T11:00Z", "add the seconds: 11:00:00"),
            (
                "08/06/2025 17:00",
                "write the date year first: 2025-06-08; write T between the date and the \
                 time; add the seconds: 17:00:00; add the zone, e.g. Z for UTC or +03:00",
            ),
            (
                "06/18/2025T17:00:00Z",
                "write the date year first: 2025-06-18",
            ),
            (
                "2025-06-09",
                "a date alone is not a time: add the time and the zone, e.g. \
                 2025-06-09T09:00:00+03:00",
            ),
            ("2025/06/09T10:00:00Z", "write the date as 2025-06-09"),
            (
                "2025-06-05T11:00:00+03",
                "write the offset with its minutes: +03:00",
            ),
            (
                "2025-06-31T11:00:00Z",
                "a number is out of range (month, day, hour, minute or second)",
            ),
        ] {
            assert_eq!(
                time_error(&json!(text)),
                format!("{:?} is not a time: {EXPECTED}; {hints}", text),
                "{text}"
            );
        }
    }

    #[test]
    fn unrecognisable_times_and_non_strings_get_what_is_expected() {
        for value in [
            json!("yesterday"),
            json!("2025-06-31"),
            json!(20250609),
            json!(null),
        ] {
            assert_eq!(
                time_error(&value),
                format!("{value} is not a time: {EXPECTED}")
            );
        }
    }

    #[test]
    fn date_mistakes_get_a_hint() {
        let expected = "expected a date as YYYY-MM-DD, e.g. 2025-06-09";
        for (text, hint) in [
            ("08/06/2025", "; write the date year first: 2025-06-08"),
            ("2025-06-08T10:00:00Z", "; write the date alone: 2025-06-08"),
            ("2025.06.08", "; write the date as 2025-06-08"),
            ("2025-02-30", "; a number is out of range (month or day)"),
            ("next week", ""),
        ] {
            assert_eq!(
                date_error(&json!(text)),
                format!("{text:?} is not a date: {expected}{hint}")
            );
        }
        assert_eq!(
            date_error(&json!(5)),
            format!("5 is not a date: {expected}")
        );
    }
}
