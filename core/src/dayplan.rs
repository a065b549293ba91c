//! R11 Day plan: a rep's visits for a day with overlap, buffer and too-many warnings, and the awaiting-answer list.
//!
//! A visit is an open next step of kind `visit` or `meeting` (both put the rep on the road;
//! demos and calls do not, since they are often remote) due on the rep's local day, on a lead
//! the rep owns and that may be contacted. Each lasts its planned `duration_minutes` or the
//! playbook's default and is followed by the playbook's buffer.

use crate::facts::LeadFacts;
use crate::ids::{LeadId, MemberId};
use crate::lead::NextStepKind;
use crate::money::Money;
use crate::team::Team;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// One visit of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Visit {
    /// The lead visited.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// `visit` or `meeting`.
    pub kind: NextStepKind,
    /// Agreed with the customer.
    pub agreed: bool,
    /// Start.
    pub start: DateTime<Utc>,
    /// Planned duration.
    pub duration_minutes: u32,
    /// End of the visit.
    pub end: DateTime<Utc>,
    /// Buffer after it.
    pub buffer_minutes: u32,
    /// End of the buffer: the earliest start of the next visit.
    pub free_at: DateTime<Utc>,
}

/// A problem with the day plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayPlanWarning {
    /// A visit starts before an earlier one ends.
    Overlap {
        /// The earlier visit (the one ending last among those before).
        previous: LeadId,
        /// The visit that starts too early.
        lead: LeadId,
        /// Minutes of overlap.
        minutes: i64,
    },
    /// A visit starts after the earlier one ends but inside its buffer.
    MissingBuffer {
        /// The earlier visit.
        previous: LeadId,
        /// The visit that starts too early.
        lead: LeadId,
        /// Minutes between the end of the earlier visit and this start.
        gap_minutes: i64,
        /// The buffer the playbook asks for.
        buffer_minutes: u32,
    },
    /// More visits than the playbook allows (quality over quantity).
    TooManyVisits {
        /// Visits planned.
        n_visits: u32,
        /// The playbook's maximum.
        max_visits: u32,
    },
}

/// A lead with a quote out and the customer's decision pending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AwaitingAnswer {
    /// The lead.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// When the quote was sent.
    pub quote_sent_at: DateTime<Utc>,
    /// Quoted amount.
    pub amount: Money,
    /// Calendar days in the rep's zone from the quote's day to today.
    pub days_waiting: i64,
    /// The date the customer named for the answer (the open next step's due time, when it
    /// was agreed with the customer).
    pub decision_due: Option<DateTime<Utc>>,
    /// `decision_due` as a date in the rep's zone.
    pub decision_date: Option<NaiveDate>,
}

/// A rep's day: visits by start time, warnings, and the awaiting-answer list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayPlan {
    /// The rep.
    pub rep: MemberId,
    /// The rep's local date.
    pub date: NaiveDate,
    /// Visits by start (ties by lead id).
    pub visits: Vec<Visit>,
    /// Warnings in visit order, the too-many warning last.
    pub warnings: Vec<DayPlanWarning>,
    /// Leads awaiting the customer's answer, oldest quote first.
    pub awaiting_answer: Vec<AwaitingAnswer>,
}

/// The day plan of `rep` for their local `date`, over the summaries of the leads the device
/// holds (`facts`; leads of other owners are ignored). `now` dates the awaiting-answer list.
pub fn day_plan(
    team: &Team,
    rep: &MemberId,
    facts: &[LeadFacts],
    date: NaiveDate,
    now: DateTime<Utc>,
) -> DayPlan {
    let policy = &team.playbook.day_plan;
    let calendar = team.calendar(rep);
    let (day_start, day_end) = (calendar.start_of_day(date), calendar.end_of_day(date));
    let own = || facts.iter().filter(|f| &f.owner == rep);

    let mut visits: Vec<Visit> = own()
        .filter(|f| !f.do_not_contact)
        .filter_map(|f| {
            let step = f.next_step.as_ref()?;
            let on_the_road = matches!(step.kind, NextStepKind::Visit | NextStepKind::Meeting);
            if !on_the_road || step.due < day_start || step.due >= day_end {
                return None;
            }
            let duration = step
                .duration_minutes
                .unwrap_or(policy.default_visit_minutes);
            let end = step.due + Duration::minutes(i64::from(duration));
            Some(Visit {
                lead: f.id.clone(),
                company: f.company.clone(),
                kind: step.kind,
                agreed: step.agreed,
                start: step.due,
                duration_minutes: duration,
                end,
                buffer_minutes: policy.buffer_minutes,
                free_at: end + Duration::minutes(i64::from(policy.buffer_minutes)),
            })
        })
        .collect();
    visits.sort_by(|a, b| (a.start, &a.lead).cmp(&(b.start, &b.lead)));

    let mut warnings = Vec::new();
    // Compare each visit with the earlier one that ends last, so that a long first visit
    // also collides with the third.
    let mut latest: Option<&Visit> = None;
    for v in &visits {
        if let Some(prev) = latest {
            if v.start < prev.end {
                warnings.push(DayPlanWarning::Overlap {
                    previous: prev.lead.clone(),
                    lead: v.lead.clone(),
                    minutes: (prev.end.min(v.end) - v.start).num_minutes(),
                });
            } else if v.start < prev.free_at {
                warnings.push(DayPlanWarning::MissingBuffer {
                    previous: prev.lead.clone(),
                    lead: v.lead.clone(),
                    gap_minutes: (v.start - prev.end).num_minutes(),
                    buffer_minutes: prev.buffer_minutes,
                });
            }
        }
        if latest.is_none_or(|p| v.end > p.end) {
            latest = Some(v);
        }
    }
    let n_visits = u32::try_from(visits.len()).unwrap_or(u32::MAX);
    if n_visits > policy.max_visits {
        warnings.push(DayPlanWarning::TooManyVisits {
            n_visits,
            max_visits: policy.max_visits,
        });
    }

    let today = calendar.local_date(now);
    let mut awaiting_answer: Vec<AwaitingAnswer> = own()
        .filter_map(|f| {
            let quote = f.quote_out.as_ref()?;
            let decision_due = f.next_step.as_ref().filter(|s| s.agreed).map(|s| s.due);
            Some(AwaitingAnswer {
                lead: f.id.clone(),
                company: f.company.clone(),
                quote_sent_at: quote.at,
                amount: quote.amount.clone(),
                days_waiting: (today - calendar.local_date(quote.at)).num_days(),
                decision_due,
                decision_date: decision_due.map(|d| calendar.local_date(d)),
            })
        })
        .collect();
    awaiting_answer.sort_by(|a, b| (a.quote_sent_at, &a.lead).cmp(&(b.quote_sent_at, &b.lead)));

    DayPlan {
        rep: rep.clone(),
        date,
        visits,
        warnings,
        awaiting_answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::lead::{ConversationEnd, ConversationKind, Lead};
    use crate::testing::{LeadBuilder, t, team};
    use expect_test::{Expect, expect};
    use std::fmt::Write;

    /// Tuesday 24 November 2026; Jerusalem is UTC+2.
    const DAY: &str = "2026-11-24";
    const NOW: &str = "2026-11-24T06:00:00Z";

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn plan(leads: &[Lead], rep: &str) -> DayPlan {
        let team = team();
        let facts: Vec<LeadFacts> = leads
            .iter()
            .map(|l| LeadFacts::from_lead(&team.playbook, l))
            .collect();
        day_plan(&team, &MemberId::from(rep), &facts, date(DAY), t(NOW))
    }

    fn render(p: &DayPlan) -> String {
        let tz = chrono_tz::Asia::Jerusalem;
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
        let mut s = String::new();
        writeln!(s, "{} {}", p.rep, p.date).unwrap();
        for v in &p.visits {
            writeln!(
                s,
                "  {}–{} (+{}′ → {}) {:?} {}",
                local(v.start),
                local(v.end),
                v.buffer_minutes,
                local(v.free_at),
                v.kind,
                v.lead
            )
            .unwrap();
        }
        for w in &p.warnings {
            writeln!(s, "  ! {}", serde_json::to_string(w).unwrap()).unwrap();
        }
        for a in &p.awaiting_answer {
            writeln!(
                s,
                "  awaiting {} {} days, customer named {}",
                a.lead,
                a.days_waiting,
                a.decision_date.map_or("-".to_owned(), |d| d.to_string())
            )
            .unwrap();
        }
        s
    }

    fn check(leads: &[Lead], rep: &str, expect: Expect) {
        expect.assert_eq(&render(&plan(leads, rep)));
    }

    /// A lead of `owner` with one open visit at `utc_time` (`hh:mm` UTC, +2 h local) on DAY.
    fn visit(id: &str, owner: &str, utc_time: &str, minutes: Option<u32>) -> Lead {
        LeadBuilder::new(id, owner, "2026-11-01T08:00:00Z")
            .visit(
                "2026-11-20T08:00:00Z",
                &format!("{DAY}T{utc_time}:00Z"),
                minutes,
            )
            .build()
    }

    #[test]
    fn a_day_with_every_kind_of_warning() {
        let leads = [
            // 09:00–10:00 local, then b after exactly 30 minutes of buffer: fine.
            visit("a", "dana", "07:00", None),
            visit("b", "dana", "08:30", Some(90)),
            // b ends 12:00, c starts 12:29: 29 minutes, missing buffer.
            visit("c", "dana", "10:29", Some(30)),
            // 13:00 is one minute after c ends: missing buffer again.
            visit("d", "dana", "11:00", Some(120)),
            // Starts inside d: overlap of 60 minutes.
            visit("e", "dana", "12:00", Some(60)),
            // A meeting counts; a demo does not.
            LeadBuilder::new("f", "dana", "2026-11-01T08:00:00Z")
                .step(
                    "2026-11-20T08:00:00Z",
                    NextStepKind::Meeting,
                    "2026-11-24T14:00:00Z",
                    false,
                    None,
                )
                .build(),
            LeadBuilder::new("g", "dana", "2026-11-01T08:00:00Z")
                .step(
                    "2026-11-20T08:00:00Z",
                    NextStepKind::Demo,
                    "2026-11-24T15:30:00Z",
                    true,
                    None,
                )
                .build(),
            // Another day (22:00 UTC is Wednesday 00:00 local), another rep, do not contact.
            visit("h", "dana", "22:00", None),
            visit("i", "ion", "08:00", None),
            LeadBuilder::new("j", "dana", "2026-11-01T08:00:00Z")
                .visit("2026-11-20T08:00:00Z", "2026-11-24T16:00:00Z", None)
                .do_not_contact()
                .build(),
            // 23:30 UTC the evening before is 01:30 local on DAY.
            LeadBuilder::new("k", "dana", "2026-11-01T08:00:00Z")
                .visit("2026-11-20T08:00:00Z", "2026-11-23T23:30:00Z", Some(15))
                .build(),
        ];
        check(
            &leads,
            "dana",
            expect![[r#"
            dana 2026-11-24
              01:30–01:45 (+30′ → 02:15) Visit k
              09:00–10:00 (+30′ → 10:30) Visit a
              10:30–12:00 (+30′ → 12:30) Visit b
              12:29–12:59 (+30′ → 13:29) Visit c
              13:00–15:00 (+30′ → 15:30) Visit d
              14:00–15:00 (+30′ → 15:30) Visit e
              16:00–17:00 (+30′ → 17:30) Meeting f
              ! {"kind":"missing_buffer","previous":"b","lead":"c","gap_minutes":29,"buffer_minutes":30}
              ! {"kind":"missing_buffer","previous":"c","lead":"d","gap_minutes":1,"buffer_minutes":30}
              ! {"kind":"overlap","previous":"d","lead":"e","minutes":60}
              ! {"kind":"too_many_visits","n_visits":7,"max_visits":6}
        "#]],
        );
    }

    #[test]
    fn buffer_of_exactly_30_minutes_is_enough_29_is_not() {
        let warnings = |second: &str| {
            plan(
                &[
                    visit("a", "dana", "07:00", None),
                    visit("b", "dana", second, None),
                ],
                "dana",
            )
            .warnings
        };
        assert_eq!(warnings("08:30"), []);
        assert_eq!(
            warnings("08:29"),
            [DayPlanWarning::MissingBuffer {
                previous: "a".into(),
                lead: "b".into(),
                gap_minutes: 29,
                buffer_minutes: 30
            }]
        );
        // Back to back is not an overlap, only a missing buffer.
        assert!(matches!(
            warnings("08:00")[..],
            [DayPlanWarning::MissingBuffer { gap_minutes: 0, .. }]
        ));
        assert!(matches!(
            warnings("07:59")[..],
            [DayPlanWarning::Overlap { minutes: 1, .. }]
        ));
    }

    #[test]
    fn a_long_visit_collides_with_a_later_one_too() {
        let leads = [
            visit("a", "dana", "07:00", Some(240)),
            visit("b", "dana", "08:00", Some(30)),
            visit("c", "dana", "10:00", Some(30)),
        ];
        let w = plan(&leads, "dana").warnings;
        assert!(matches!(&w[..], [
            DayPlanWarning::Overlap { previous: p1, lead: l1, minutes: 30 },
            DayPlanWarning::Overlap { previous: p2, lead: l2, minutes: 30 },
        ] if p1.as_str() == "a" && l1.as_str() == "b" && p2.as_str() == "a" && l2.as_str() == "c"));
    }

    #[test]
    fn six_visits_are_fine_seven_are_too_many() {
        let day = |n: usize| -> Vec<Lead> {
            (0..n)
                .map(|i| {
                    visit(
                        &format!("v{i}"),
                        "dana",
                        &format!("{:02}:00", 5 + 2 * i),
                        None,
                    )
                })
                .collect()
        };
        assert_eq!(plan(&day(6), "dana").warnings, []);
        assert_eq!(
            plan(&day(7), "dana").warnings,
            [DayPlanWarning::TooManyVisits {
                n_visits: 7,
                max_visits: 6
            }]
        );
    }

    #[test]
    fn awaiting_answer_oldest_first_with_the_date_the_customer_named() {
        let leads = [
            // Quote on Sunday 22 at 23:30 local (21:30 UTC): 2 days waiting on Tuesday.
            LeadBuilder::new("q1", "dana", "2026-11-01T08:00:00Z")
                .quote("2026-11-22T21:30:00Z", 500_000)
                .conversation(
                    "2026-11-23T08:00:00Z",
                    ConversationKind::Call,
                    ConversationEnd::NextStep,
                )
                .step(
                    "2026-11-23T08:00:00Z",
                    NextStepKind::QuoteFollowUp,
                    "2026-11-29T22:30:00Z",
                    true,
                    None,
                )
                .build(),
            // Older quote, follow-up only planned by the rep: no date named.
            LeadBuilder::new("q2", "dana", "2026-11-01T08:00:00Z")
                .quote("2026-11-10T08:00:00Z", 100_000)
                .step(
                    "2026-11-10T08:00:00Z",
                    NextStepKind::QuoteFollowUp,
                    "2026-11-25T08:00:00Z",
                    false,
                    None,
                )
                .build(),
            // Answered: no longer awaiting.
            LeadBuilder::new("q3", "dana", "2026-11-01T08:00:00Z")
                .quote("2026-11-05T08:00:00Z", 100_000)
                .won("2026-11-06T08:00:00Z", 100_000)
                .build(),
            // Someone else's.
            LeadBuilder::new("q4", "ion", "2026-11-01T08:00:00Z")
                .quote("2026-11-05T08:00:00Z", 100_000)
                .build(),
        ];
        check(
            &leads,
            "dana",
            expect![[r#"
            dana 2026-11-24
              awaiting q2 14 days, customer named -
              awaiting q1 2 days, customer named 2026-11-30
        "#]],
        );
        let a = &plan(&leads, "dana").awaiting_answer[1];
        // The customer named 30 November in Jerusalem (22:30 UTC on the 29th).
        assert_eq!(a.decision_date, Some(date("2026-11-30")));
        assert_eq!(a.days_waiting, 2);
    }
}
