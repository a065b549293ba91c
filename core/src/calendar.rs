//! A member's working calendar: time zone, working week and working hours. "Today",
//! "yesterday" and "the next working day" are always computed here, in the member's own zone,
//! never in UTC.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A wall-clock time of day with minute precision, written `"HH:MM"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// `hour:minute`; `None` when out of range.
    pub const fn hm(hour: u16, minute: u16) -> Option<Self> {
        if hour < 24 && minute < 60 {
            Some(Self {
                minutes: hour * 60 + minute,
            })
        } else {
            None
        }
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(
            u32::from(self.minutes / 60),
            u32::from(self.minutes % 60),
            0,
        )
        .expect("ClockTime is always a valid time of day")
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl std::str::FromStr for ClockTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected a time of day as \"HH:MM\", got {s:?}");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        Self::hm(h, m).ok_or_else(bad)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of weekdays, serialised as a list such as `["Mon", "Tue"]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(type = r#"Array<"Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun">"#)
)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    /// Monday to Friday.
    pub const MON_FRI: Self = Self(0b0001_1111);
    /// Sunday to Thursday (the Israeli working week).
    pub const SUN_THU: Self = Self(0b0100_1111);

    /// The set holding `days`.
    pub fn of(days: &[Weekday]) -> Self {
        Self(
            days.iter()
                .fold(0, |acc, d| acc | (1 << d.num_days_from_monday())),
        )
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn days(self) -> impl Iterator<Item = Weekday> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .filter(move |d| self.contains(*d))
    }
}

impl fmt::Debug for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.days()).finish()
    }
}

impl Serialize for WeekdaySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.days().map(|d| d.to_string()))
    }
}

impl<'de> Deserialize<'de> for WeekdaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut days = Vec::with_capacity(names.len());
        for name in names {
            let day: Weekday = name.parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "unknown weekday {name:?} (expected Mon, Tue, Wed, Thu, Fri, Sat or Sun)"
                ))
            })?;
            days.push(day);
        }
        Ok(Self::of(&days))
    }
}

/// Working days and hours. The team default lives in the playbook; a member may override it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkingWeek {
    /// The working days.
    pub days: WeekdaySet,
    /// Start of the working day, local time.
    pub start: ClockTime,
    /// End of the working day, local time.
    pub end: ClockTime,
}

impl WorkingWeek {
    /// Monday–Friday, 09:00–18:00.
    pub const MON_FRI_9_18: Self = Self {
        days: WeekdaySet::MON_FRI,
        start: ClockTime { minutes: 9 * 60 },
        end: ClockTime { minutes: 18 * 60 },
    };
}

impl Default for WorkingWeek {
    fn default() -> Self {
        Self::MON_FRI_9_18
    }
}

/// A member's calendar: their zone and working week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// IANA time zone, e.g. `Asia/Jerusalem`.
    pub tz: Tz,
    /// Working days and hours.
    pub week: WorkingWeek,
}

impl Calendar {
    /// A calendar in `tz` with `week`.
    pub fn new(tz: Tz, week: WorkingWeek) -> Self {
        Self { tz, week }
    }

    /// The member's local date at instant `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Whether `date` is one of the member's working days.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.week.days.contains(date.weekday())
    }

    /// The `n`-th working day strictly after `date` (`n = 0` is `date` itself). A calendar with
    /// no working days treats every day as working so that nothing is scheduled never.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.week.days.is_empty() || self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The instant of local wall time `time` on `date`. In a DST gap the first instant after
    /// the gap; in a DST overlap the earlier instant.
    pub fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let mut local = NaiveDateTime::new(date, time);
        // A gap is at most a few hours; step forward until the wall time exists.
        for _ in 0..(4 * 60) {
            if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
                return t.with_timezone(&Utc);
            }
            local += chrono::Duration::minutes(1);
        }
        // Unreachable for real zones; fall back to reading the wall time as UTC.
        local.and_utc()
    }

    /// Local midnight at the start of `date`.
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.at(date, NaiveTime::MIN)
    }

    /// Local midnight at the end of `date` (the start of the next day).
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.start_of_day(date + Days::new(1))
    }

    /// Start of working hours on `date`.
    pub fn working_start(&self, date: NaiveDate) -> DateTime<Utc> {
        self.at(date, self.week.start.naive())
    }

    /// Start of working hours on the `n`-th working day after the local date of `t`.
    pub fn working_day_start_after(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        self.working_start(self.add_working_days(self.local_date(t), n))
    }

    /// `t` moved `n` working days on, keeping its wall time but clamped into working hours
    /// (a request at 21:00 is due by the end of the next working day, not at 21:00).
    pub fn add_working_days_clamped(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = t.with_timezone(&self.tz);
        let date = self.add_working_days(local.date_naive(), n);
        let wall = local.time();
        let time = wall.clamp(
            self.week.start.naive(),
            self.week.end.naive().max(self.week.start.naive()),
        );
        self.at(date, time)
    }

    /// `t` moved `n` calendar days on at the same local time; when that day is not a working
    /// day, the next working day at the same time clamped into working hours (a follow-up two
    /// days after a Thursday 19:30 call of a Sunday–Thursday rep is due Sunday 18:00). Every
    /// "N days later" due date a rule computes goes through here (ARCHITECTURE.md, rule map).
    pub fn days_later_on_working_day(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let later = self.days_later(t, n);
        if self.week.days.is_empty() || self.is_working_day(self.local_date(later)) {
            later
        } else {
            self.add_working_days_clamped(later, 1)
        }
    }

    /// `t` moved `n` calendar days on at the same local time (across a DST change the same
    /// wall time, not a multiple of 24 hours).
    pub fn days_later(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = t.with_timezone(&self.tz);
        self.at(local.date_naive() + Days::new(u64::from(n)), local.time())
    }

    /// Whole calendar days from the local date of `earlier` to the local date of `later` (0 on
    /// the same day, 1 for yesterday); negative when `later` is on an earlier date.
    pub fn days_between(&self, earlier: DateTime<Utc>, later: DateTime<Utc>) -> i64 {
        (self.local_date(later) - self.local_date(earlier)).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn il() -> Calendar {
        Calendar::new(
            chrono_tz::Asia::Jerusalem,
            WorkingWeek {
                days: WeekdaySet::SUN_THU,
                ..WorkingWeek::default()
            },
        )
    }

    #[test]
    fn clock_time_parses_and_rejects() {
        assert_eq!("09:30".parse::<ClockTime>().unwrap().minutes(), 570);
        assert_eq!("9:05".parse::<ClockTime>().unwrap().to_string(), "09:05");
        for bad in ["24:00", "12:60", "noon", "12", "12:5", ""] {
            assert!(
                bad.parse::<ClockTime>().is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn weekday_set_round_trips_json() {
        let set: WeekdaySet = serde_json::from_str(r#"["Sun","mon","Thursday"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["Mon","Thu","Sun"]"#
        );
        let err = serde_json::from_str::<WeekdaySet>(r#"["Funday"]"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown weekday \"Funday\""),
            "{err}"
        );
    }

    #[test]
    fn local_date_is_the_members_not_utc() {
        // 22:30 UTC on Sunday is 00:30 Monday in Jerusalem (UTC+2 in winter).
        let t = utc("2026-11-22T22:30:00Z");
        assert_eq!(il().local_date(t).to_string(), "2026-11-23");
        assert_eq!(
            Calendar::new(chrono_tz::UTC, WorkingWeek::default())
                .local_date(t)
                .to_string(),
            "2026-11-22"
        );
    }

    #[test]
    fn next_working_day_skips_the_weekend_of_the_members_week() {
        let thu = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        // Israeli week: Thursday -> Sunday.
        assert_eq!(il().add_working_days(thu, 1).to_string(), "2026-11-29");
        // Monday–Friday week: Thursday -> Friday, Friday -> Monday.
        let ro = Calendar::new(chrono_tz::Europe::Bucharest, WorkingWeek::default());
        assert_eq!(ro.add_working_days(thu, 1).to_string(), "2026-11-27");
        assert_eq!(ro.add_working_days(thu, 2).to_string(), "2026-11-30");
        assert_eq!(ro.add_working_days(thu, 0), thu);
    }

    #[test]
    fn working_start_is_local_nine_across_dst() {
        let ro = Calendar::new(chrono_tz::Europe::Bucharest, WorkingWeek::default());
        // Summer (UTC+3) and winter (UTC+2).
        let summer = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let winter = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(ro.working_start(summer), utc("2026-07-01T06:00:00Z"));
        assert_eq!(ro.working_start(winter), utc("2026-12-01T07:00:00Z"));
        // 03:30 on the spring-forward day does not exist in Bucharest: first instant after.
        let gap_day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let t = ro.at(gap_day, NaiveTime::from_hms_opt(3, 30, 0).unwrap());
        assert_eq!(t, utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn clamped_working_day_addition() {
        let ro = Calendar::new(chrono_tz::Europe::Bucharest, WorkingWeek::default());
        // Friday 21:00 local -> Monday 18:00 local.
        let t = utc("2026-11-27T19:00:00Z");
        assert_eq!(
            ro.add_working_days_clamped(t, 1),
            utc("2026-11-30T16:00:00Z")
        );
        // Tuesday 11:15 local -> Wednesday 11:15 local.
        let t = utc("2026-11-24T09:15:00Z");
        assert_eq!(
            ro.add_working_days_clamped(t, 1),
            utc("2026-11-25T09:15:00Z")
        );
    }

    #[test]
    fn n_days_later_on_a_working_day() {
        let ro = Calendar::new(chrono_tz::Europe::Bucharest, WorkingWeek::default());
        // Thursday 10:00 local + 2 days = Saturday: Monday 10:00.
        assert_eq!(
            ro.days_later_on_working_day(utc("2026-11-26T08:00:00Z"), 2),
            utc("2026-11-30T08:00:00Z")
        );
        // Thursday + 1 day = Friday, a working day: not moved.
        assert_eq!(
            ro.days_later_on_working_day(utc("2026-11-26T08:00:00Z"), 1),
            utc("2026-11-27T08:00:00Z")
        );
        // Moved from Sunday 07:00 local: clamped into working hours, Monday 09:00.
        assert_eq!(
            ro.days_later_on_working_day(utc("2026-11-27T05:00:00Z"), 2),
            utc("2026-11-30T07:00:00Z")
        );
        // Israeli week: Thursday + 2 = Saturday → Sunday.
        assert_eq!(
            il().days_later_on_working_day(utc("2026-11-26T08:00:00Z"), 2),
            utc("2026-11-29T08:00:00Z")
        );
        // A week with no working days never moves a date (nothing is scheduled never).
        let none = Calendar::new(
            chrono_tz::UTC,
            WorkingWeek {
                days: WeekdaySet::default(),
                ..WorkingWeek::default()
            },
        );
        assert_eq!(
            none.days_later_on_working_day(utc("2026-11-26T08:00:00Z"), 2),
            utc("2026-11-28T08:00:00Z")
        );
        // Calendar days between two instants, in the zone: Friday 23:30 → Saturday 00:10 is 1.
        assert_eq!(
            ro.days_between(utc("2026-11-27T21:30:00Z"), utc("2026-11-27T22:10:00Z")),
            1
        );
    }
}
