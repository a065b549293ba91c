//! The lead document: one Automerge document per lead. The root holds `schema`, `type`
//! (`"lead"`), the serde fields of [`Lead`] as top-level keys, and `events`: a map from event
//! id to the event's serde fields (without `id`: the key is the id). Events are append-only.
//! Layout and rules for other clients: `docs/documents.md`.

use super::error::DocError;
use super::shape::Shape;
use super::value::{Merge, put_value, read_object, read_prop, update_value};
use super::{check_writable, commit_options, new_document, put_header, read_header, to_json};
use crate::lead::{Event, Lead};
use automerge::transaction::Transactable;
use automerge::{
    ActorId, Automerge, ChangeHash, ObjId, ObjType, PatchAction, Prop, ROOT, ReadDoc, Value,
    ValueRef,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The schema version this code writes.
pub const SCHEMA: i64 = 1;
/// The root `type` of a lead document.
pub const TYPE: &str = "lead";

/// Root keys that are not lead fields, or not writable with [`put_fields`].
const RESERVED: [(&str, &str); 4] = [
    ("id", "a lead's id never changes"),
    (
        "events",
        "events are appended with append_events, never edited",
    ),
    ("schema", "set by the document itself"),
    ("type", "set by the document itself"),
];

/// Fields replaced whole when they change: money is an amount and a currency together, and a
/// concurrent edit must not mix one device's amount with another's currency.
const WHOLE_FIELDS: [&str; 1] = ["deal_size"];

/// A lead read from its document.
#[derive(Debug)]
pub struct LeadDocument {
    /// The document's schema version (may be newer than [`SCHEMA`]: then read-only here).
    pub schema: i64,
    /// The lead with every event that decoded.
    pub lead: Lead,
    /// Events that did not decode (e.g. a kind from a newer version), by id, with the reason.
    /// They stay in the document untouched.
    pub undecodable: Vec<UndecodableEvent>,
}

/// An event this version cannot decode.
#[derive(Debug)]
pub struct UndecodableEvent {
    /// The event's id (its key under `events`).
    pub id: String,
    /// Its `type`, when it has a string one (a kind from a newer version, or a known kind with
    /// a bad value).
    pub kind: Option<String>,
    /// Why it does not decode, with its path.
    pub error: DocError,
}

fn shape() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(|| {
        Shape::of::<Lead>(serde_json::json!({
            "id": "l", "owner": "m", "created_at": "1970-01-01T00:00:00Z"
        }))
    })
}

/// The names of the lead fields stored at the root (every serde field of [`Lead`] but
/// `events`).
pub fn lead_fields() -> impl Iterator<Item = &'static str> {
    shape().fields().filter(|f| *f != "events")
}

/// A new lead document holding `lead` and its events, written in one change by `actor` at
/// `now`.
pub fn create_lead(lead: &Lead, actor: ActorId, now: DateTime<Utc>) -> Result<Automerge, DocError> {
    let mut doc = new_document(actor);
    let mut tx = doc.transaction();
    put_header(&mut tx, SCHEMA, TYPE)?;
    let Json::Object(fields) = to_json(lead, "")? else {
        unreachable!("a lead serialises as a map");
    };
    for (name, value) in fields.iter().filter(|(name, _)| *name != "events") {
        put_value(&mut tx, &ROOT, name.as_str(), value, name)?;
    }
    tx.put_object(ROOT, "events", ObjType::Map)
        .map_err(|e| DocError::automerge("events", e))?;
    append_events(&mut tx, &lead.events)?;
    tx.commit_with(commit_options(now));
    Ok(doc)
}

/// Appends `events` in the caller's transaction. An id already present is refused: events are
/// never edited or replaced.
pub fn append_events<T: Transactable>(tx: &mut T, events: &[Event]) -> Result<(), DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let events_obj = events_map(tx)?;
    for event in events {
        let id = event.id.as_str();
        let path = format!("events.{id}");
        if tx
            .get(&events_obj, id)
            .map_err(|e| DocError::automerge(&path, e))?
            .is_some()
        {
            return Err(DocError::EventExists { id: id.to_owned() });
        }
        put_value(tx, &events_obj, id, &event_json(event, &path)?, &path)?;
    }
    Ok(())
}

/// Sets top-level lead fields (serde names and values, e.g. `("company", "Acme")`) in the
/// caller's transaction, writing only what differs. Every name and value is checked before
/// anything is written. Maps (`account`, `custom`) are updated key by key so that concurrent
/// edits of different keys merge; `deal_size` and lists are replaced whole. Returns whether
/// anything was written.
pub fn put_fields<T: Transactable>(
    tx: &mut T,
    fields: &[(String, Json)],
) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    for (name, value) in fields {
        if let Some((_, reason)) = RESERVED.iter().find(|(r, _)| r == name) {
            return Err(DocError::NotAField {
                field: name.clone(),
                reason,
            });
        }
        if !shape().has(name) {
            return Err(DocError::NotAField {
                field: name.clone(),
                reason: "a lead has no such field",
            });
        }
        shape().check_field::<Lead>(name, value, name)?;
    }
    let mut changed = false;
    for (name, value) in fields {
        let merge = if WHOLE_FIELDS.contains(&name.as_str()) {
            Merge::Whole
        } else {
            Merge::Keys
        };
        changed |= update_value(tx, &ROOT, name, value, merge, name)?;
    }
    Ok(changed)
}

/// Reads the lead. Unknown root keys are ignored; an event that does not decode is returned in
/// [`LeadDocument::undecodable`] instead of failing the lead; a missing or invalid lead field
/// fails with its path.
pub fn read_lead<R: ReadDoc>(doc: &R) -> Result<LeadDocument, DocError> {
    let schema = read_header(doc, TYPE)?;
    let mut fields = Map::new();
    for name in lead_fields() {
        if let Some(value) = read_prop(doc, &ROOT, name, name)? {
            fields.insert(name.to_owned(), value);
        }
    }
    let mut lead: Lead = shape().decode(&fields, "")?;
    let mut undecodable = Vec::new();
    let events_obj = match doc
        .get(ROOT, "events")
        .map_err(|e| DocError::automerge("events", e))?
    {
        None => None,
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Some(id),
        Some((other, _)) => {
            return Err(DocError::WrongType {
                path: "events".into(),
                expected: "a map of events keyed by id",
                found: describe(&other),
            });
        }
    };
    if let Some(events_obj) = events_obj {
        for item in doc.map_range(&events_obj, ..) {
            let id = item.key.to_string();
            let path = format!("events.{id}");
            let mut kind = None;
            let decoded = match item.value {
                ValueRef::Object(ObjType::Map | ObjType::Table) => {
                    read_object(doc, &item.id(), &path).and_then(|json| {
                        kind = json.get("type").and_then(Json::as_str).map(str::to_owned);
                        decode_event(&id, json, &path)
                    })
                }
                other => Err(DocError::WrongType {
                    path,
                    expected: "a map (one event)",
                    found: describe_ref(&other),
                }),
            };
            match decoded {
                Ok(event) => lead.events.push(event),
                Err(error) => undecodable.push(UndecodableEvent { id, kind, error }),
            }
        }
    }
    Ok(LeadDocument {
        schema,
        lead,
        undecodable,
    })
}

/// What a set of changes did to a lead document, from its state at `before` to its current
/// state: the root keys whose value changed, the events added, and the events that existed at
/// `before` and were changed or removed (events are append-only: a writer never does that).
/// Computed from Automerge's diff, so it costs what the changes touched, not the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadChanges {
    /// Root keys other than `events` whose value was set, removed or changed inside.
    pub fields: BTreeSet<String>,
    /// Ids of the events added (absent at `before`).
    pub added_events: BTreeSet<String>,
    /// Ids of events present at `before` that were replaced, removed or changed inside.
    pub touched_events: BTreeSet<String>,
    /// `events` itself was replaced or removed (it exists at `before`).
    pub events_replaced: bool,
}

/// The changes to `doc` since the heads `before` (empty for a document created by them).
pub fn changes_since(doc: &Automerge, before: &[ChangeHash]) -> LeadChanges {
    let mut out = LeadChanges::default();
    let events_before = if before.is_empty() {
        None
    } else {
        match doc.get_at(ROOT, "events", before) {
            Ok(Some((Value::Object(_), id))) => Some(id),
            _ => None,
        }
    };
    let existed = |id: &str| {
        events_before
            .as_ref()
            .is_some_and(|events| matches!(doc.get_at(events, id, before), Ok(Some(_))))
    };
    for patch in doc.diff(before, &doc.get_heads()) {
        let key = match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key.clone()),
            _ => None,
        };
        let mut path = patch.path.iter().map(|(_, prop)| match prop {
            Prop::Map(k) => Some(k.as_str()),
            Prop::Seq(_) => None,
        });
        match (path.next(), path.next()) {
            // A root key.
            (None, _) => match key.as_deref() {
                Some("events") if events_before.is_some() => out.events_replaced = true,
                Some("events") | None => {}
                Some(field) => {
                    out.fields.insert(field.to_owned());
                }
            },
            // Inside a root value other than `events`.
            (Some(Some(field)), _) if field != "events" => {
                out.fields.insert(field.to_owned());
            }
            // An event put into or removed from `events`.
            (Some(Some(_)), None) => {
                if let Some(id) = key {
                    if existed(&id) {
                        out.touched_events.insert(id);
                    } else if matches!(patch.action, PatchAction::PutMap { .. }) {
                        out.added_events.insert(id);
                    }
                }
            }
            // Inside an event.
            (Some(Some(_)), Some(Some(id))) if existed(id) => {
                out.touched_events.insert(id.to_owned());
            }
            _ => {}
        }
    }
    out
}

fn events_map<T: Transactable>(tx: &mut T) -> Result<ObjId, DocError> {
    match tx
        .get(ROOT, "events")
        .map_err(|e| DocError::automerge("events", e))?
    {
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Ok(id),
        None => tx
            .put_object(ROOT, "events", ObjType::Map)
            .map_err(|e| DocError::automerge("events", e)),
        Some((other, _)) => Err(DocError::WrongType {
            path: "events".into(),
            expected: "a map of events keyed by id",
            found: describe(&other),
        }),
    }
}

/// The stored form of an event: its serde fields without `id` (the key) and without null
/// values (absent and null both decode as `None`).
fn event_json(event: &Event, path: &str) -> Result<Json, DocError> {
    let mut json = to_json(event, path)?;
    if let Json::Object(map) = &mut json {
        map.remove("id");
        map.retain(|_, v| !v.is_null());
    }
    Ok(json)
}

fn decode_event(id: &str, json: Json, path: &str) -> Result<Event, DocError> {
    let Json::Object(mut map) = json else {
        unreachable!("read from a map");
    };
    // The key is the id; an `id` inside the value is ignored.
    map.insert("id".into(), Json::String(id.to_owned()));
    serde_json::from_value(Json::Object(map)).map_err(|e| DocError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Object(typ) => format!("a {typ:?} object").to_lowercase(),
        Value::Scalar(s) => format!("the scalar {s}"),
    }
}

fn describe_ref(value: &ValueRef<'_>) -> String {
    match value {
        ValueRef::Object(typ) => format!("a {typ:?} object").to_lowercase(),
        ValueRef::Scalar(s) => format!("the scalar {s}"),
    }
}

#[cfg(test)]
mod tests;
