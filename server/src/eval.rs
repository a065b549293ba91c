//! `fieldbook eval`: reads a team, its leads and a moment from one JSON document, checks it,
//! and computes what every device would show at that moment: each lead's derived state, the
//! reps' call queues and the managers' review inboxes. The input and output formats are
//! documented in docs/eval.md.
//!
//! All checking happens before any output is assembled, so a bad input yields one error
//! naming the field (and the lead and event) and nothing else. Unknown keys are rejected at
//! every level except in free-form maps such as a lead's `custom` (see `eval/schema.rs`).

mod schema;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Months, Utc};
use fieldbook_core::analytics::currencies::{MissingRate, missing_rates};
use fieldbook_core::analytics::funnel::{Funnel, SpeedToLead, funnel, speed_to_lead};
use fieldbook_core::analytics::refusals::{RefusalReports, refusal_reports};
use fieldbook_core::commands::check_history;
use fieldbook_core::dayplan::{DayPlan, day_plan};
use fieldbook_core::facts::LeadFacts;
use fieldbook_core::ids::{EventId, LeadId, MemberId, TeamId};
use fieldbook_core::lead::{EventKind, Lead};
use fieldbook_core::playbook::{Playbook, PlaybookError};
use fieldbook_core::queue::{CallQueue, call_queue};
use fieldbook_core::review::{InboxItem, review_inbox};
use fieldbook_core::state::{LeadState, derive};
use fieldbook_core::team::{Member, Product, Role, Team};
use fieldbook_core::tiers::{TierCube, TierReport, snapshot, tier_cube, tier_report};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use schema::{Schema, Seg, display, value_at};

/// The input document of `fieldbook eval` (docs/eval.md).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalInput {
    /// The moment to evaluate at.
    pub now: DateTime<Utc>,
    /// The team's members.
    pub members: Vec<Member>,
    /// The team's products.
    #[serde(default)]
    pub products: Vec<Product>,
    /// The playbook; missing fields take their defaults.
    #[serde(default)]
    pub playbook: Playbook,
    /// Id and name of the team.
    #[serde(default)]
    pub team: Option<TeamInfo>,
    /// The leads with their events.
    pub leads: Vec<Lead>,
    /// Only this rep's call queue (default: every rep's).
    #[serde(default)]
    pub rep: Option<MemberId>,
}

/// Id and name of the team.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TeamInfo {
    /// Team id.
    pub id: TeamId,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A rep's call queue as printed: each item with its company and its reason both structured
/// (for programs) and as an English sentence (for people).
#[derive(Debug, Serialize)]
pub struct QueueView {
    /// The rep.
    pub rep: MemberId,
    /// The rep's local date.
    pub date: chrono::NaiveDate,
    /// The ordered items.
    pub items: Vec<QueueItemView>,
}

/// One call-queue item as printed.
#[derive(Debug, Serialize)]
pub struct QueueItemView {
    /// 1-based position.
    pub position: usize,
    /// The lead.
    pub lead: LeadId,
    /// Company name.
    pub company: String,
    /// The queue tier (R6 1–4).
    pub tier: fieldbook_core::queue::QueueTier,
    /// When the call became due.
    pub due: DateTime<Utc>,
    /// Why, as an English sentence in the rep's time zone.
    pub reason: String,
    /// Why, as data.
    pub reason_data: fieldbook_core::queue::QueueReason,
}

impl QueueView {
    fn new(queue: CallQueue, facts: &[LeadFacts]) -> Self {
        let items = queue
            .items
            .iter()
            .map(|item| QueueItemView {
                position: item.position,
                lead: item.lead.clone(),
                company: facts[item.lead_idx].company.clone(),
                tier: item.tier,
                due: item.due,
                reason: queue.reason_text(item),
                reason_data: item.reason.clone(),
            })
            .collect();
        Self {
            rep: queue.rep,
            date: queue.date,
            items,
        }
    }
}

/// What `fieldbook eval` prints (docs/eval.md).
#[derive(Debug, Serialize)]
pub struct EvalOutput {
    /// The moment evaluated at.
    pub now: DateTime<Utc>,
    /// The team's id and name.
    pub team: TeamInfo,
    /// Events the app's commands would have refused (docs/eval.md): kept and folded as they
    /// are, listed here in input order.
    pub warnings: Vec<Warning>,
    /// Currencies with amounts that have no exchange rate into the team currency: left out of
    /// every total and ordering (their leads carry the `no_exchange_rate` flag).
    pub missing_rates: Vec<MissingRate>,
    /// Derived state of every lead, in input order.
    pub leads: Vec<LeadState>,
    /// Call queue of each rep (or of the requested rep), in member order.
    pub queues: Vec<QueueView>,
    /// Review inbox of each manager and admin, in member order.
    pub review_inbox: Vec<ManagerInbox>,
    /// Refusal analytics (R8) as each manager and admin sees them (their zone and week).
    pub refusals: Vec<ViewerRefusals>,
    /// Leads per status over every lead.
    pub funnel: Funnel,
    /// Minutes from creation to first attempt, for the team and per rep (R1).
    pub speed_to_lead: SpeedToLead,
    /// Customer tiers (R10) at `now`, with the movement between the last two months.
    pub tiers: Tiers,
    /// Today's plan of each rep (or of the requested rep), in their own zone (R11).
    pub day_plans: Vec<DayPlan>,
}

/// An event of the input that breaks an entry rule of the commands (R3, R4, R7).
#[derive(Debug, Serialize)]
pub struct Warning {
    /// Path of the field, e.g. `leads[1].events[2].notes`.
    pub path: String,
    /// The lead's id.
    pub lead: LeadId,
    /// The event's id.
    pub event: EventId,
    /// The rule, e.g. `R3`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

/// Customer tiers at `now` and the cube of the last two complete months.
#[derive(Debug, Serialize)]
pub struct Tiers {
    /// Scores, tiers and the Pareto view at `now`.
    #[serde(flatten)]
    pub report: TierReport,
    /// Movement between the snapshots of the two months before `now`'s month (UTC).
    pub cube: Option<TierCube>,
}

/// The R8 reports for one viewer.
#[derive(Debug, Serialize)]
pub struct ViewerRefusals {
    /// The manager or admin whose day, week and month the periods are.
    pub viewer: MemberId,
    /// Day, week, month and cumulative reports.
    #[serde(flatten)]
    pub reports: RefusalReports,
}

/// One manager's review inbox.
#[derive(Debug, Serialize)]
pub struct ManagerInbox {
    /// The manager (or admin).
    pub manager: MemberId,
    /// The items, as `review_inbox` orders them.
    pub items: Vec<InboxItem>,
}

/// Why an input cannot be evaluated. The message names the field path and, inside a lead,
/// the lead's id (and the event's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Not JSON at all.
    Syntax {
        /// serde_json's message, with line and column.
        message: String,
    },
    /// A field is missing, unknown or of the wrong type, or its value breaks a rule of the
    /// input (unknown member, duplicate id, reason not in the playbook…).
    Field {
        /// Path such as `leads[3].events[2].at`.
        path: String,
        /// What is wrong.
        message: String,
        /// The lead the field belongs to, when known.
        lead: Option<String>,
        /// The event the field belongs to, when known.
        event: Option<String>,
    },
    /// The playbook cannot be used.
    Playbook(PlaybookError),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Syntax { message } => write!(f, "invalid JSON: {message}"),
            EvalError::Field {
                path,
                message,
                lead,
                event,
            } => {
                write!(f, "{path}: {message}")?;
                match (lead, event) {
                    (Some(lead), Some(event)) => write!(f, " (lead {lead:?}, event {event:?})"),
                    (Some(lead), None) => write!(f, " (lead {lead:?})"),
                    (None, Some(event)) => write!(f, " (event {event:?})"),
                    (None, None) => Ok(()),
                }
            }
            EvalError::Playbook(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for EvalError {}

impl EvalError {
    fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        EvalError::Field {
            path: path.into(),
            message: message.into(),
            lead: None,
            event: None,
        }
    }

    /// An error at `path` of `input`, naming the lead (and the event) the path lies in.
    fn at(input: &Value, path: &[Seg], message: String) -> Self {
        let id = |upto: usize| {
            let id = value_at(input, path.get(..upto)?)?.get("id")?.as_str()?;
            Some(id.to_owned())
        };
        let in_leads = matches!(path.first(), Some(Seg::Key(key)) if key == "leads");
        let in_events = in_leads && matches!(path.get(2), Some(Seg::Key(key)) if key == "events");
        EvalError::Field {
            path: display(path),
            message,
            lead: in_leads.then(|| id(2)).flatten(),
            event: in_events.then(|| id(4)).flatten(),
        }
    }

    fn in_lead(path: impl Into<String>, message: impl Into<String>, lead: &LeadId) -> Self {
        EvalError::Field {
            path: path.into(),
            message: message.into(),
            lead: Some(lead.to_string()),
            event: None,
        }
    }
}

/// Evaluates `input` (the JSON text of an eval file) and returns the output as pretty JSON,
/// ending with a newline.
pub fn run_eval(input: &str) -> Result<String, EvalError> {
    let output = evaluate(input)?;
    let mut json = serde_json::to_string_pretty(&output).expect("the output always serialises");
    json.push('\n');
    Ok(json)
}

/// Parses, checks and evaluates `input`.
pub fn evaluate(input: &str) -> Result<EvalOutput, EvalError> {
    let input = parse(input)?;
    check(&input)?;
    Ok(assemble(input))
}

/// Parses `text`: syntax errors with line and column; unknown keys, type errors and values
/// that do not decode with the field path and the lead and event they occur in.
pub fn parse(text: &str) -> Result<EvalInput, EvalError> {
    let value: Value = serde_json::from_str(text).map_err(|err| EvalError::Syntax {
        message: err.to_string(),
    })?;
    let schema = Schema::get();
    schema.check_keys(&value)?;
    serde_path_to_error::deserialize(&value).map_err(|err| {
        use serde_path_to_error::Segment;
        let path = err
            .path()
            .iter()
            .map(|segment| match segment {
                Segment::Seq { index } => Seg::Index(*index),
                Segment::Map { key } => Seg::Key(key.clone()),
                Segment::Enum { variant } => Seg::Key(variant.clone()),
                Segment::Unknown => Seg::Key("?".to_owned()),
            })
            .collect();
        schema.decode_error(&value, path, err.into_inner().to_string())
    })
}

/// The checks that types cannot express: ids unique, every member referenced exists, every
/// refusal reason and status override is in the playbook, the playbook is usable.
pub fn check(input: &EvalInput) -> Result<(), EvalError> {
    input.playbook.validate().map_err(EvalError::Playbook)?;

    let mut member_idx: BTreeMap<&MemberId, usize> = BTreeMap::new();
    for (i, m) in input.members.iter().enumerate() {
        if let Some(first) = member_idx.insert(&m.id, i) {
            return Err(EvalError::field(
                format!("members[{i}].id"),
                format!(
                    "duplicate member id {:?}, first used by members[{first}]",
                    m.id.as_str()
                ),
            ));
        }
    }
    let is_member = |id: &MemberId| member_idx.contains_key(id);
    for (i, m) in input.members.iter().enumerate() {
        if let Some(manager) = &m.manager
            && !is_member(manager)
        {
            return Err(EvalError::field(
                format!("members[{i}].manager"),
                format!("{:?} is not a member", manager.as_str()),
            ));
        }
    }
    if let Some(rep) = &input.rep
        && !is_member(rep)
    {
        return Err(EvalError::field(
            "rep",
            format!("{:?} is not a member", rep.as_str()),
        ));
    }

    let mut lead_idx: BTreeMap<&LeadId, usize> = BTreeMap::new();
    for (i, lead) in input.leads.iter().enumerate() {
        if let Some(first) = lead_idx.insert(&lead.id, i) {
            return Err(EvalError::in_lead(
                format!("leads[{i}].id"),
                format!("duplicate lead id, first used by leads[{first}]"),
                &lead.id,
            ));
        }
        if !is_member(&lead.owner) {
            return Err(EvalError::in_lead(
                format!("leads[{i}].owner"),
                format!("{:?} is not a member", lead.owner.as_str()),
                &lead.id,
            ));
        }
        check_events(&input.playbook, i, lead, &is_member)?;
    }
    Ok(())
}

fn check_events(
    playbook: &Playbook,
    lead_i: usize,
    lead: &Lead,
    is_member: &dyn Fn(&MemberId) -> bool,
) -> Result<(), EvalError> {
    let ids: std::collections::BTreeSet<&EventId> = lead.events.iter().map(|e| &e.id).collect();
    let mut event_idx = BTreeMap::new();
    for (j, event) in lead.events.iter().enumerate() {
        let path = |field: &str| format!("leads[{lead_i}].events[{j}].{field}");
        let err = |field: &str, message: String| EvalError::Field {
            path: path(field),
            message,
            lead: Some(lead.id.to_string()),
            event: Some(event.id.to_string()),
        };
        if let Some(first) = event_idx.insert(&event.id, j) {
            return Err(err(
                "id",
                format!("duplicate event id, first used by leads[{lead_i}].events[{first}]"),
            ));
        }
        if !is_member(&event.by) {
            return Err(err(
                "by",
                format!("{:?} is not a member", event.by.as_str()),
            ));
        }
        if let Some(after) = &event.after
            && !ids.contains(after)
        {
            return Err(err(
                "after",
                format!("{:?} is not an event of this lead", after.as_str()),
            ));
        }
        match &event.kind {
            EventKind::ConflictResolved {
                keep: Some(keep), ..
            } if !ids.contains(keep) => {
                return Err(err(
                    "keep",
                    format!("{:?} is not an event of this lead", keep.as_str()),
                ));
            }
            EventKind::Assigned { owner } if !is_member(owner) => {
                return Err(err(
                    "owner",
                    format!("{:?} is not a member", owner.as_str()),
                ));
            }
            EventKind::Refusal { reason, .. } if playbook.refusal_reason(reason).is_none() => {
                let known: Vec<&str> = playbook
                    .refusal_reasons
                    .iter()
                    .map(|r| r.key.as_str())
                    .collect();
                return Err(err(
                    "reason",
                    format!(
                        "{reason:?} is not a refusal reason of the playbook, which has: {}",
                        known.join(", ")
                    ),
                ));
            }
            EventKind::StatusOverride { status, .. } if playbook.status(status).is_none() => {
                let known: Vec<&str> = playbook.statuses.iter().map(|s| s.key.as_str()).collect();
                return Err(err(
                    "status",
                    format!(
                        "{status:?} is not a status of the playbook, which has: {}",
                        known.join(", ")
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Computes the output of a checked input.
fn assemble(input: EvalInput) -> EvalOutput {
    let team_info = input.team.unwrap_or_else(|| TeamInfo {
        id: TeamId::from("team"),
        name: String::new(),
    });
    let team = Team {
        id: team_info.id.clone(),
        name: team_info.name.clone(),
        members: input.members,
        products: input.products,
        playbook: input.playbook,
    };
    let now = input.now;
    let warnings = input
        .leads
        .iter()
        .enumerate()
        .flat_map(|(i, lead)| {
            check_history(&team, lead).into_iter().map(move |w| {
                let j = lead
                    .events
                    .iter()
                    .position(|e| e.id == w.event)
                    .expect("a warning names an event of its lead");
                Warning {
                    path: format!("leads[{i}].events[{j}].{}", w.field),
                    lead: lead.id.clone(),
                    message: w.message(),
                    event: w.event,
                    rule: w.rule,
                }
            })
        })
        .collect();
    let facts: Vec<LeadFacts> = input
        .leads
        .iter()
        .map(|lead| LeadFacts::from_lead(&team.playbook, lead))
        .collect();
    let states: Vec<LeadState> = facts.iter().map(|f| derive(&team, f, now)).collect();

    // Customer tiers (R10) also feed the visit-due items of the queues (R6 tier 4).
    let tier_report = tier_report(&team, &facts, now);
    let tier_map = tier_report.tiers();
    let reps: Vec<&Member> = team
        .members
        .iter()
        .filter(|m| match &input.rep {
            Some(rep) => &m.id == rep,
            None => m.role == Role::Rep,
        })
        .collect();
    let queues = reps
        .iter()
        .map(|m| QueueView::new(call_queue(&team, &m.id, &facts, &tier_map, now), &facts))
        .collect();
    let day_plans = reps
        .iter()
        .map(|m| {
            let today = team.calendar(&m.id).local_date(now);
            day_plan(&team, &m.id, &facts, today, now)
        })
        .collect();
    let managers = || {
        team.members
            .iter()
            .filter(|m| matches!(m.role, Role::Manager | Role::Admin))
    };
    let review_inbox = managers()
        .map(|m| ManagerInbox {
            manager: m.id.clone(),
            items: review_inbox(&team, &m.id, &facts, now),
        })
        .collect();
    let refusals = managers()
        .map(|m| ViewerRefusals {
            viewer: m.id.clone(),
            reports: refusal_reports(&team, &facts, &m.id, now),
        })
        .collect();
    let month_snapshot = |months_back: u32| {
        let date = now.date_naive().with_day(1)? - Months::new(months_back);
        snapshot(&team, &facts, date.year(), date.month())
    };
    let cube = match (month_snapshot(2), month_snapshot(1)) {
        (Some(previous), Some(current)) => Some(tier_cube(&previous, &current)),
        _ => None,
    };
    EvalOutput {
        now,
        team: team_info,
        warnings,
        missing_rates: missing_rates(&team.playbook, &facts, now),
        funnel: funnel(&team.playbook, &states),
        speed_to_lead: speed_to_lead(&team, &facts),
        leads: states,
        queues,
        review_inbox,
        refusals,
        tiers: Tiers {
            report: tier_report,
            cube,
        },
        day_plans,
    }
}
