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
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, Value, ValueRef};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
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
            let decoded = match item.value {
                ValueRef::Object(ObjType::Map | ObjType::Table) => {
                    read_object(doc, &item.id(), &path)
                        .and_then(|json| decode_event(&id, json, &path))
                }
                other => Err(DocError::WrongType {
                    path,
                    expected: "a map (one event)",
                    found: describe_ref(&other),
                }),
            };
            match decoded {
                Ok(event) => lead.events.push(event),
                Err(error) => undecodable.push(UndecodableEvent { id, error }),
            }
        }
    }
    Ok(LeadDocument {
        schema,
        lead,
        undecodable,
    })
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
