//! The keys and value kinds the eval input may hold, learnt from fully populated sample values
//! of the core's own types: a typo inside a member, a lead, an event or the playbook is an
//! error here, although the core's types ignore unknown keys (Automerge documents written by a
//! newer version carry keys an older one does not know). The same samples name the field of a
//! decode error inside an event, which serde reports at the event (its type-specific fields are
//! flattened), and tell which fields are times and dates.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate};
use fieldbook_core::calendar::WorkingWeek;
use fieldbook_core::ids::{EventId, LeadId, MemberId, ProductId, TeamId};
use fieldbook_core::lead::{
    Account, AccountPlan, AttemptOutcome, Channel, ConversationEnd, ConversationKind, Event,
    EventKind, Lead, Material, NextStepKind, OfferChange, ReviewDecision,
};
use fieldbook_core::money::{ExchangeRate, Money};
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::{Member, Product, Role};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{EvalError, EvalInput, TeamInfo};
use crate::time_input::{date_error, time_error};

/// The key that selects the variant of a tagged object (an event's `type`).
const TAG: &str = "type";

/// One step of a path into the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// `path` as the errors print it, e.g. `leads[1].events[2].at`; `(top level)` when empty.
pub fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) if out.is_empty() => out.push_str(key),
            Seg::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "(top level)".to_owned()
    } else {
        out
    }
}

/// What the input may hold at one place.
#[derive(Debug)]
enum Node {
    /// A struct: exactly these keys may appear (every one optional here; serde checks which
    /// are required).
    Struct(BTreeMap<String, Node>),
    /// A free-form map such as a lead's `custom`: any key, each value like this.
    Map(Box<Node>),
    /// An array of values like this.
    List(Box<Node>),
    /// An object whose `type` selects its variant (the items of an array whose sample items
    /// all carry a string `type`, i.e. events), in the order of the samples.
    Tagged(Vec<(String, Node)>),
    /// An RFC 3339 time.
    Time,
    /// A `YYYY-MM-DD` date.
    Date,
    /// Any other value (serde checks it).
    Leaf,
}

impl Node {
    /// Learns the node of `value`, found at JSON pointer `pointer` of the sample input;
    /// `is_map(pointer)` tells whether an object there keeps unknown keys.
    fn learn(value: &Value, pointer: &str, is_map: &dyn Fn(&str) -> bool) -> Node {
        let child = |key: &str, v: &Value| {
            let key = key.replace('~', "~0").replace('/', "~1");
            Node::learn(v, &format!("{pointer}/{key}"), is_map)
        };
        match value {
            Value::Object(fields) if is_map(pointer) => {
                let values = fields.iter().map(|(k, v)| child(k, v));
                Node::Map(Box::new(values.reduce(Node::merge).unwrap_or(Node::Leaf)))
            }
            Value::Object(fields) => Node::Struct(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), child(k, v)))
                    .collect(),
            ),
            Value::Array(items) if !items.is_empty() && items.iter().all(tag_of_is_string) => {
                let mut variants: Vec<(String, Node)> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let node = child(&i.to_string(), item);
                    let tag = item[TAG].as_str().unwrap_or_default();
                    match variants.iter_mut().find(|(name, _)| name == tag) {
                        Some((_, known)) => {
                            *known = std::mem::replace(known, Node::Leaf).merge(node)
                        }
                        None => variants.push((tag.to_owned(), node)),
                    }
                }
                Node::List(Box::new(Node::Tagged(variants)))
            }
            Value::Array(items) => {
                let nodes = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| child(&i.to_string(), v));
                Node::List(Box::new(nodes.reduce(Node::merge).unwrap_or(Node::Leaf)))
            }
            Value::String(s) if DateTime::parse_from_rfc3339(s).is_ok() => Node::Time,
            Value::String(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => Node::Date,
            _ => Node::Leaf,
        }
    }

    /// The node that accepts what `self` and `other` accept (the union of struct keys).
    fn merge(self, other: Node) -> Node {
        match (self, other) {
            (Node::Struct(mut fields), Node::Struct(more)) => {
                for (key, node) in more {
                    let merged = match fields.remove(&key) {
                        Some(known) => known.merge(node),
                        None => node,
                    };
                    fields.insert(key, merged);
                }
                Node::Struct(fields)
            }
            (Node::Leaf, other) => other,
            (node, _) => node,
        }
    }

    /// The variant of tagged `value`, or the error at its `type`.
    fn variant<'a>(variants: &'a [(String, Node)], value: &Value) -> Result<&'a Node, String> {
        let names = || variants.iter().map(|(name, _)| name.as_str());
        match value.get(TAG) {
            None => Err(format!(
                "missing field, expected one of {}",
                quoted(names())
            )),
            Some(Value::String(tag)) => match variants.iter().find(|(name, _)| name == tag) {
                Some((_, node)) => Ok(node),
                None => Err(unknown(&format!("unknown variant `{tag}`"), tag, names())),
            },
            Some(other) => Err(format!(
                "unknown variant {other}, expected one of {}",
                quoted(names())
            )),
        }
    }

    /// Checks that every key of `value` is known here and below; `path` is where `value` is.
    fn check(&self, value: &Value, path: &mut Vec<Seg>) -> Result<(), (Vec<Seg>, String)> {
        match (self, value) {
            (Node::Struct(fields), Value::Object(obj)) => {
                for (key, v) in obj {
                    path.push(Seg::Key(key.clone()));
                    match fields.get(key) {
                        Some(node) => node.check(v, path)?,
                        None => {
                            let known = fields.keys().map(String::as_str);
                            return Err((path.clone(), unknown("unknown field", key, known)));
                        }
                    }
                    path.pop();
                }
            }
            (Node::Map(node), Value::Object(obj)) => {
                for (key, v) in obj {
                    path.push(Seg::Key(key.clone()));
                    node.check(v, path)?;
                    path.pop();
                }
            }
            (Node::List(node), Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    node.check(v, path)?;
                    path.pop();
                }
            }
            (Node::Tagged(variants), Value::Object(_)) => match Node::variant(variants, value) {
                Ok(node) => node.check(value, path)?,
                Err(message) => {
                    path.push(Seg::Key(TAG.to_owned()));
                    return Err((path.clone(), message));
                }
            },
            _ => {}
        }
        Ok(())
    }
}

fn tag_of_is_string(value: &Value) -> bool {
    value.get(TAG).is_some_and(Value::is_string)
}

/// `what`, then a close known name (`did you mean …?`) or else the list of known names.
fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    match suggest(name, known.clone()) {
        Some(close) => format!("{what}, did you mean `{close}`?"),
        None => format!("{what}, expected one of {}", quoted(known)),
    }
}

/// `a`, `b`, `c`.
fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The known name closest to `name`, if one is close: compared without case, `_` and `-`, at
/// most 1 edit (a transposition counts as one) for names up to 4 letters and 2 beyond (none
/// for 1–2 letters), or one being the beginning of the other (`deal` for `deal_size`).
pub fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], "");
    let name = norm(name);
    let limit = match name.chars().count() {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    };
    known
        .filter_map(|candidate| {
            let other = norm(candidate);
            let distance = strsim::damerau_levenshtein(&name, &other);
            let (short, long) = if name.len() <= other.len() {
                (&name, &other)
            } else {
                (&other, &name)
            };
            let prefix = short.chars().count() >= 3 && long.starts_with(short.as_str());
            (distance <= limit || prefix).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The schema of the eval input with the sample events it was learnt from.
#[derive(Debug)]
pub struct Schema {
    root: Node,
    /// Each sample event as JSON, to find the field of a decode error inside an event.
    events: Vec<Value>,
}

impl Schema {
    /// The schema, learnt once.
    pub fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(Schema::learn)
    }

    fn learn() -> Schema {
        let sample = serde_json::to_value(sample_input()).expect("the sample encodes");
        let is_map = |pointer: &str| keeps_unknown_keys(&sample, pointer);
        Schema {
            root: Node::learn(&sample, "", &is_map),
            events: sample_events()
                .iter()
                .map(|e| serde_json::to_value(e).expect("the sample encodes"))
                .collect(),
        }
    }

    /// Checks that every key of `input` is one its place knows and that every event `type`
    /// exists; the error names the path and suggests a close key.
    pub fn check_keys(&self, input: &Value) -> Result<(), EvalError> {
        self.root
            .check(input, &mut Vec::new())
            .map_err(|(path, message)| EvalError::at(input, &path, message))
    }

    /// The error for a decode failure `message` that serde reports at `path` of `input`: moved
    /// from an event to its field, and worded as what is expected for a time or a date.
    pub fn decode_error(
        &self,
        input: &Value,
        mut path: Vec<Seg>,
        mut message: String,
    ) -> EvalError {
        if let Some(Node::Tagged(_)) = self.node_at(input, &path)
            && let Some(Value::Object(event)) = value_at(input, &path)
            && let Some((keys, why)) = self.locate_in_event(event)
        {
            path.extend(keys.into_iter().map(Seg::Key));
            message = why;
        }
        if let Some(value) = value_at(input, &path) {
            match self.node_at(input, &path) {
                Some(Node::Time) => message = time_error(value),
                Some(Node::Date) => message = date_error(value),
                _ => {}
            }
        }
        EvalError::at(input, &path, message)
    }

    /// The node at `path` of `input` (a tagged object's variant chosen by its `type`, except at
    /// the end of the path).
    fn node_at(&self, input: &Value, path: &[Seg]) -> Option<&Node> {
        let mut node = &self.root;
        let mut value = Some(input);
        for seg in path {
            if let Node::Tagged(variants) = node {
                node = Node::variant(variants, value?).ok()?;
            }
            node = match (node, seg) {
                (Node::Struct(fields), Seg::Key(key)) => fields.get(key)?,
                (Node::Map(inner), Seg::Key(_)) | (Node::List(inner), Seg::Index(_)) => inner,
                _ => return None,
            };
            value = value.and_then(|v| step(v, seg));
        }
        Some(node)
    }

    /// The field of `event` that does not decode, found by putting the event's fields one at
    /// a time into the closest sample event of its type, then by leaving out each field of the
    /// sample it lacks: the keys of the field and serde's message (`missing field` for one
    /// left out).
    fn locate_in_event(&self, event: &Map<String, Value>) -> Option<(Vec<String>, String)> {
        let tag = event.get(TAG)?;
        let score = |sample: &&Value| {
            event
                .iter()
                .filter(|(k, v)| sample.get(k.as_str()).is_some_and(|s| s == *v))
                .count()
                + event
                    .keys()
                    .filter(|k| sample.get(k.as_str()).is_some())
                    .count()
        };
        let sample = self
            .events
            .iter()
            .filter(|s| s.get(TAG) == Some(tag))
            .rev() // max_by_key keeps the last of equals: prefer the first sample
            .max_by_key(score)?;
        locate(sample, &mut Vec::new(), event)
    }
}

/// See [`Schema::locate_in_event`]: `at` is where `input` lies in `sample`.
fn locate(
    sample: &Value,
    at: &mut Vec<String>,
    input: &Map<String, Value>,
) -> Option<(Vec<String>, String)> {
    let here = at.iter().try_fold(sample, |v, k| v.get(k))?.as_object()?;
    for (key, value) in input.iter().filter(|(k, _)| here.contains_key(*k)) {
        at.push(key.clone());
        if let Err(message) = decodes_with(sample, at, Some(value)) {
            if let (Value::Object(inner), Some(Value::Object(_))) = (value, here.get(key))
                && let Some(found) = locate(sample, at, inner)
            {
                return Some(found);
            }
            return Some((at.clone(), message));
        }
        at.pop();
    }
    for key in here.keys().filter(|k| !input.contains_key(*k)) {
        at.push(key.clone());
        if decodes_with(sample, at, None).is_err() {
            return Some((at.clone(), "missing field".to_owned()));
        }
        at.pop();
    }
    None
}

/// Whether sample event `sample` decodes with the field at `keys` set to `value` (or left
/// out), and serde's message if not.
fn decodes_with(sample: &Value, keys: &[String], value: Option<&Value>) -> Result<(), String> {
    let mut probe = sample.clone();
    let (last, parents) = keys.split_last().expect("a field");
    let parent = parents
        .iter()
        .try_fold(&mut probe, |v, k| v.get_mut(k))
        .and_then(Value::as_object_mut)
        .expect("the keys lie in the sample");
    match value {
        Some(value) => parent.insert(last.clone(), value.clone()),
        None => parent.remove(last),
    };
    Event::deserialize(&probe)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Whether the object at `pointer` of the sample input keeps a key it does not know (a map)
/// rather than dropping it (a struct) when the input is decoded and encoded again.
fn keeps_unknown_keys(sample: &Value, pointer: &str) -> bool {
    const PROBE: &str = "__fieldbook_probe__";
    let mut probe = sample.clone();
    let Some(obj) = probe.pointer_mut(pointer).and_then(Value::as_object_mut) else {
        return false;
    };
    let Some(value) = obj.values().next().cloned() else {
        return false;
    };
    obj.insert(PROBE.to_owned(), value);
    EvalInput::deserialize(&probe)
        .ok()
        .and_then(|input| serde_json::to_value(input).ok())
        .is_some_and(|v| v.pointer(&format!("{pointer}/{PROBE}")).is_some())
}

fn step<'a>(value: &'a Value, seg: &Seg) -> Option<&'a Value> {
    match seg {
        Seg::Key(key) => value.get(key),
        Seg::Index(i) => value.get(i),
    }
}

/// The value at `path` of `input`.
pub fn value_at<'a>(input: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(input, step)
}

fn time(text: &str) -> DateTime<chrono::Utc> {
    text.parse().expect("a sample time")
}

/// An input with every field, optional or not, present and non-empty (a test checks it), so
/// that every key and nested object is learnt. Struct literals list every field: a field the
/// core adds does not compile until it has a sample here.
fn sample_input() -> EvalInput {
    let money = |minor| Money::new(minor, "RON");
    let member = Member {
        id: MemberId::from("r-1"),
        name: "Ioana".to_owned(),
        role: Role::Rep,
        manager: Some(MemberId::from("m-1")),
        time_zone: chrono_tz::Europe::Bucharest,
        working_week: Some(WorkingWeek::default()),
        locale: "ro-RO".to_owned(),
    };
    let lead = Lead {
        id: LeadId::from("L-1"),
        company: "Brașov Print House".to_owned(),
        contact: "Mihai".to_owned(),
        phone: "+40-721-555-102".to_owned(),
        email: "mihai@example.com".to_owned(),
        address: "Brașov".to_owned(),
        source: "trade fair".to_owned(),
        products: vec![ProductId::from("p-1")],
        deal_size: Some(money(9_000_000)),
        owner: MemberId::from("r-1"),
        created_at: time("2025-06-04T08:00:00Z"),
        do_not_contact: true,
        account: Account {
            growth_potential: Some(3),
            churn_risk: Some(2),
            payment_terms_days: Some(30),
            plan: Some(AccountPlan {
                goals: "Grow".to_owned(),
                incentive: "Discount".to_owned(),
                next_review: Some("2025-09-01".parse().expect("a sample date")),
            }),
        },
        custom: BTreeMap::from([("vat".to_owned(), "RO123".to_owned())]),
        events: sample_events(),
    };
    EvalInput {
        now: time("2025-06-09T07:30:00Z"),
        members: vec![member],
        products: vec![Product {
            id: ProductId::from("p-1"),
            name: "Solar".to_owned(),
        }],
        playbook: Playbook {
            exchange_rates: vec![ExchangeRate::new("RON", "2025-06-01", "0.7705")],
            ..Playbook::israeli()
        },
        team: Some(TeamInfo {
            id: TeamId::from("t-1"),
            name: "Sunrise".to_owned(),
        }),
        leads: vec![lead],
        rep: Some(MemberId::from("r-1")),
    }
}

/// One event of every type with every field (both review decisions), in the core's order.
fn sample_events() -> Vec<Event> {
    let money = |minor| Money::new(minor, "RON");
    let products = || vec![ProductId::from("p-1")];
    let kinds = [
        EventKind::Created,
        EventKind::Attempt {
            channel: Channel::Call,
            outcome: AttemptOutcome::Reached,
        },
        EventKind::Conversation {
            kind: ConversationKind::Call,
            notes: "Interested.".to_owned(),
            needs: "Battery".to_owned(),
            ended: ConversationEnd::NextStep,
        },
        EventKind::NextStep {
            kind: NextStepKind::Visit,
            due: time("2025-06-10T09:00:00Z"),
            agreed: true,
            duration_minutes: Some(60),
            note: "At the plant".to_owned(),
        },
        EventKind::QuoteSent {
            amount: money(9_000_000),
            products: products(),
        },
        EventKind::MaterialsRequested {
            materials: vec![Material::References],
        },
        EventKind::MaterialsSent {
            materials: vec![Material::References],
        },
        EventKind::Refusal {
            reason: "price".to_owned(),
            products: products(),
            budget: Some(money(5_000_000)),
            competitor: Some("SunCorp".to_owned()),
            note: "Too expensive".to_owned(),
        },
        EventKind::ReviewDecision {
            decision: ReviewDecision::ReturnToFunnel {
                offer_change: OfferChange::Discount,
            },
            note: "10% off".to_owned(),
        },
        EventKind::ReviewDecision {
            decision: ReviewDecision::RefusalValidated,
            note: "Called".to_owned(),
        },
        EventKind::Won {
            amount: money(8_000_000),
            products: products(),
        },
        EventKind::Order {
            amount: money(8_000_000),
            gross_profit: Some(money(2_000_000)),
            products: products(),
        },
        EventKind::Assigned {
            owner: MemberId::from("r-1"),
        },
        EventKind::StatusOverride {
            status: "in_process".to_owned(),
            reason: "Manager's call".to_owned(),
        },
        EventKind::ConflictResolved {
            conflict: "outcome:E-1+E-2".to_owned(),
            keep: Some(EventId::from("E-1")),
            note: "Kept the win".to_owned(),
        },
    ];
    kinds
        .into_iter()
        .zip(1..)
        .map(|(kind, n)| Event {
            id: EventId::from(format!("E-{n}")),
            at: time("2025-06-04T08:00:00Z"),
            by: MemberId::from("r-1"),
            after: Some(EventId::from("E-0")),
            kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every place of `value` that is null or an empty array or object.
    fn empty_places(value: &Value, pointer: &str, out: &mut Vec<String>) {
        match value {
            Value::Null => out.push(pointer.to_owned()),
            Value::Array(items) if items.is_empty() => out.push(pointer.to_owned()),
            Value::Object(obj) if obj.is_empty() => out.push(pointer.to_owned()),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    empty_places(v, &format!("{pointer}/{i}"), out);
                }
            }
            Value::Object(obj) => {
                for (k, v) in obj {
                    empty_places(v, &format!("{pointer}/{k}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_sample_input_is_fully_populated() {
        let sample = serde_json::to_value(sample_input()).unwrap();
        let mut empty = Vec::new();
        empty_places(&sample, "", &mut empty);
        assert_eq!(empty, Vec::<String>::new(), "give these a sample value");
    }

    #[test]
    fn every_event_type_of_the_core_has_a_sample() {
        let bogus = serde_json::json!({
            "id": "E-1", "at": "2025-06-04T08:00:00Z", "by": "r-1", "type": "__bogus__"
        });
        let err = Event::deserialize(&bogus).unwrap_err().to_string();
        let (_, list) = err.split_once("expected one of ").expect(&err);
        let core: Vec<&str> = list.split(", ").map(|s| s.trim_matches('`')).collect();
        let Node::Tagged(variants) = Schema::get()
            .node_at(&Value::Null, &leads_events())
            .unwrap()
        else {
            panic!("events are tagged by `type`");
        };
        let sampled: Vec<&str> = variants.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(sampled, core);
    }

    fn leads_events() -> Vec<Seg> {
        vec![
            Seg::Key("leads".into()),
            Seg::Index(0),
            Seg::Key("events".into()),
            Seg::Index(0),
        ]
    }

    #[test]
    fn maps_structs_times_and_dates_are_told_apart() {
        let schema = Schema::get();
        // The fields of an event depend on its `type`: the sample input gives them.
        let input = serde_json::to_value(sample_input()).unwrap();
        let node = |path: &str| {
            let path: Vec<Seg> = path
                .split('.')
                .map(|s| match s.parse() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(s.to_owned()),
                })
                .collect();
            match schema.node_at(&input, &path) {
                Some(Node::Struct(_)) => "struct",
                Some(Node::Map(_)) => "map",
                Some(Node::List(_)) => "list",
                Some(Node::Tagged(_)) => "tagged",
                Some(Node::Time) => "time",
                Some(Node::Date) => "date",
                Some(Node::Leaf) => "leaf",
                None => "none",
            }
        };
        for (path, kind) in [
            ("now", "time"),
            ("members.0", "struct"),
            ("members.0.working_week", "struct"),
            ("playbook.cadence.email_templates.0", "struct"),
            ("playbook.tiers.weights", "struct"),
            ("playbook.exchange_rates.0.date", "date"),
            ("leads.0.created_at", "time"),
            ("leads.0.custom", "map"),
            ("leads.0.custom.anything", "leaf"),
            ("leads.0.deal_size", "struct"),
            ("leads.0.account.plan.next_review", "date"),
            ("leads.0.events.0", "tagged"),
            ("leads.0.events.0.at", "time"),
            ("leads.0.events.3.due", "time"),
            ("leads.0.events.4.amount", "struct"),
        ] {
            assert_eq!(node(path), kind, "{path}");
        }
    }

    #[test]
    fn suggestions_are_close_names_only() {
        let known = [
            "do_not_contact",
            "deal_size",
            "leads",
            "id",
            "a",
            "b",
            "notes",
        ];
        for (name, close) in [
            ("do_not_contatc", Some("do_not_contact")),
            ("deal", Some("deal_size")),
            ("dealSize", Some("deal_size")),
            ("lead", Some("leads")),
            ("note", Some("notes")),
            ("ID", Some("id")),
            ("x", None),
            ("ix", None),
            ("colour", None),
        ] {
            assert_eq!(suggest(name, known.into_iter()), close, "{name}");
        }
    }
}
