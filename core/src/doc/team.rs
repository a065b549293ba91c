//! The team document: members, products and the playbook of one team, written by its managers
//! and admins. Members and products are maps keyed by id so that concurrent additions merge;
//! the playbook is a nested map. Created once (by the admin who creates the team), then only
//! updated: two devices that each created it would hold two unrelated roots.

use super::error::DocError;
use super::id::DocumentId;
use super::shape::Shape;
use super::value::{Merge, push_key, put_value, read_object, read_prop, update_value};
use super::{
    check_writable, commit_options, new_document, put_header, read_header, required_string, to_json,
};
use crate::ids::{MemberId, ProductId, TeamId};
use crate::playbook::Playbook;
use crate::team::{Member, Product, Team};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, Value, ValueRef};
use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use std::sync::OnceLock;

/// The schema version this code writes.
pub const SCHEMA: i64 = 1;
/// The root `type` of a team document.
pub const TYPE: &str = "team";

/// The id of team `team`'s document: `DocumentId::derived("team", team_id)`, so every member
/// finds it without being told.
pub fn team_document_id(team: &TeamId) -> DocumentId {
    DocumentId::derived("team", team.as_str())
}

fn member_shape() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(|| {
        Shape::of::<Member>(json!({"id": "m", "name": "", "role": "rep", "time_zone": "UTC"}))
    })
}

fn product_shape() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(|| Shape::of::<Product>(json!({"id": "p", "name": ""})))
}

fn playbook_shape() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(|| Shape::of::<Playbook>(json!({})))
}

/// A new team document holding `team`, written in one change by `actor` at `now`. The playbook
/// must be valid; member and product ids must be unique.
pub fn create_team(team: &Team, actor: ActorId, now: DateTime<Utc>) -> Result<Automerge, DocError> {
    let mut doc = new_document(actor);
    let mut tx = doc.transaction();
    put_header(&mut tx, SCHEMA, TYPE)?;
    put_value(&mut tx, &ROOT, "id", &json!(team.id), "id")?;
    put_value(&mut tx, &ROOT, "name", &json!(team.name), "name")?;
    for key in ["members", "products"] {
        tx.put_object(ROOT, key, ObjType::Map)
            .map_err(|e| DocError::automerge(key, e))?;
    }
    for (i, member) in team.members.iter().enumerate() {
        if team.members[..i].iter().any(|m| m.id == member.id) {
            return Err(duplicate("members", member.id.as_str()));
        }
        put_member(&mut tx, member)?;
    }
    for (i, product) in team.products.iter().enumerate() {
        if team.products[..i].iter().any(|p| p.id == product.id) {
            return Err(duplicate("products", product.id.as_str()));
        }
        put_product(&mut tx, product)?;
    }
    put_playbook(&mut tx, &team.playbook)?;
    tx.commit_with(commit_options(now));
    Ok(doc)
}

/// Reads the team. Members and products come out ordered by id. Unknown keys are ignored; a
/// member, product or playbook value that does not decode fails with its path.
pub fn read_team<R: ReadDoc>(doc: &R) -> Result<Team, DocError> {
    read_header(doc, TYPE)?;
    let id = required_string(doc, "id")?;
    let name = required_string(doc, "name")?;
    let members = read_keyed(doc, "members", member_shape())?;
    let products = read_keyed(doc, "products", product_shape())?;
    let playbook: Playbook = match read_prop(doc, &ROOT, "playbook", "playbook")? {
        None => Playbook::default(),
        Some(Json::Object(map)) => playbook_shape().decode(&map, "playbook")?,
        Some(other) => {
            return Err(DocError::WrongType {
                path: "playbook".into(),
                expected: "a map",
                found: other.to_string(),
            });
        }
    };
    Ok(Team {
        id: TeamId(id),
        name,
        members,
        products,
        playbook,
    })
}

/// Adds or updates `member` (key by key, so a concurrent edit of another field survives) in
/// the caller's transaction. Returns whether anything was written.
pub fn put_member<T: Transactable>(tx: &mut T, member: &Member) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let path = format!("members.{}", member.id);
    put_keyed(
        tx,
        "members",
        member.id.as_str(),
        &to_json(member, &path)?,
        &path,
    )
}

/// Removes member `id` in the caller's transaction. Returns whether it was there. Their leads
/// keep naming them as owner; the rules treat an unknown owner as a UTC calendar.
pub fn remove_member<T: Transactable>(tx: &mut T, id: &MemberId) -> Result<bool, DocError> {
    remove_keyed(tx, "members", id.as_str())
}

/// Adds or updates `product` in the caller's transaction.
pub fn put_product<T: Transactable>(tx: &mut T, product: &Product) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let path = format!("products.{}", product.id);
    put_keyed(
        tx,
        "products",
        product.id.as_str(),
        &to_json(product, &path)?,
        &path,
    )
}

/// Removes product `id` in the caller's transaction. Returns whether it was there.
pub fn remove_product<T: Transactable>(tx: &mut T, id: &ProductId) -> Result<bool, DocError> {
    remove_keyed(tx, "products", id.as_str())
}

/// Replaces the playbook in the caller's transaction after validating it, writing only what
/// differs (maps key by key, lists such as `statuses` whole). Returns whether anything was
/// written.
pub fn put_playbook<T: Transactable>(tx: &mut T, playbook: &Playbook) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    playbook.validate().map_err(|e| DocError::Invalid {
        path: format!("playbook.{}", e.field),
        message: e.message(),
    })?;
    let json = to_json(playbook, "playbook")?;
    update_value(tx, &ROOT, "playbook", &json, Merge::Keys, "playbook")
}

fn duplicate(map: &str, id: &str) -> DocError {
    DocError::Invalid {
        path: format!("{map}.{id}"),
        message: "the id appears twice".into(),
    }
}

/// The map at root key `map`, created if absent.
fn root_map<T: Transactable>(tx: &mut T, map: &str) -> Result<ObjId, DocError> {
    match tx.get(ROOT, map).map_err(|e| DocError::automerge(map, e))? {
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Ok(id),
        None => tx
            .put_object(ROOT, map, ObjType::Map)
            .map_err(|e| DocError::automerge(map, e)),
        Some((other, _)) => Err(DocError::WrongType {
            path: map.into(),
            expected: "a map keyed by id",
            found: format!("{other:?}"),
        }),
    }
}

fn put_keyed<T: Transactable>(
    tx: &mut T,
    map: &str,
    id: &str,
    json: &Json,
    path: &str,
) -> Result<bool, DocError> {
    let mut json = json.clone();
    if let Json::Object(fields) = &mut json {
        fields.remove("id"); // the key is the id
    }
    let obj = root_map(tx, map)?;
    update_value(tx, &obj, id, &json, Merge::Keys, path)
}

fn remove_keyed<T: Transactable>(tx: &mut T, map: &str, id: &str) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let obj = root_map(tx, map)?;
    let path = format!("{map}.{id}");
    if tx
        .get(&obj, id)
        .map_err(|e| DocError::automerge(&path, e))?
        .is_none()
    {
        return Ok(false);
    }
    tx.delete(&obj, id)
        .map_err(|e| DocError::automerge(&path, e))?;
    Ok(true)
}

/// Reads the map at root key `map` (id → fields without `id`) as a list ordered by id.
fn read_keyed<R: ReadDoc, T: serde::de::DeserializeOwned>(
    doc: &R,
    map: &'static str,
    shape: &Shape,
) -> Result<Vec<T>, DocError> {
    let obj = match doc
        .get(ROOT, map)
        .map_err(|e| DocError::automerge(map, e))?
    {
        None => return Ok(Vec::new()),
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => id,
        Some((other, _)) => {
            return Err(DocError::WrongType {
                path: map.into(),
                expected: "a map keyed by id",
                found: format!("{other:?}"),
            });
        }
    };
    let mut out = Vec::new();
    for item in doc.map_range(&obj, ..) {
        let mut path = map.to_owned();
        push_key(&mut path, &item.key);
        let mut fields = match item.value {
            ValueRef::Object(ObjType::Map | ObjType::Table) => {
                match read_object(doc, &item.id(), &path)? {
                    Json::Object(fields) => fields,
                    _ => unreachable!("read from a map"),
                }
            }
            _ => {
                return Err(DocError::WrongType {
                    path,
                    expected: "a map",
                    found: "a scalar or list".into(),
                });
            }
        };
        fields.insert("id".into(), Json::String(item.key.to_string()));
        out.push(shape.decode(&fields, &path)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
