//! The index document of one member, written by the relay only: which documents the member may
//! see, and the relay's current heads of each. A device reads it on reconnect and syncs only the
//! documents that are not clean (see [`is_clean`]), so reconnect cost grows with the number of
//! changed documents, not with the size of the book.

use super::error::DocError;
use super::heads_from_hex;
use super::id::DocumentId;
use super::value::{Merge, push_key, put_value, read_object, update_value};
use super::{
    check_writable, commit_options, new_document, put_header, read_header, required_string,
};
use crate::ids::{MemberId, TeamId};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value, ValueRef};
use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// The schema version this code writes.
pub const SCHEMA: i64 = 1;
/// The root `type` of an index document.
pub const TYPE: &str = "index";

/// The id of member `member`'s index document in team `team`:
/// `DocumentId::derived("index", "<team>/<member>")`.
pub fn index_document_id(team: &TeamId, member: &MemberId) -> DocumentId {
    DocumentId::derived("index", &format!("{team}/{member}"))
}

/// What kind of document an index entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocKind {
    /// A lead document.
    Lead,
    /// The team document.
    Team,
}

impl DocKind {
    /// The stored name: `"lead"` or `"team"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Lead => "lead",
            DocKind::Team => "team",
        }
    }

    /// The kind stored as `name`, if this version knows it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "lead" => Some(DocKind::Lead),
            "team" => Some(DocKind::Team),
            _ => None,
        }
    }
}

/// One document the member may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Lead or team.
    pub kind: DocKind,
    /// The relay's heads of that document, sorted.
    pub heads: Vec<ChangeHash>,
    /// The relay's seal of those heads ([`crate::relay::seal`]), absent from entries written
    /// before seals: a device gives it back to a relay restored from an older backup.
    pub seal: Option<String>,
}

/// An index read from its document.
#[derive(Debug)]
pub struct Index {
    /// The document's schema version.
    pub schema: i64,
    /// The team.
    pub team: TeamId,
    /// The member whose index this is.
    pub member: MemberId,
    /// The documents the member may see.
    pub entries: BTreeMap<DocumentId, IndexEntry>,
    /// Entries skipped because they do not decode (bad id, unknown kind, bad heads), by key.
    pub malformed: Vec<(String, DocError)>,
}

impl Index {
    /// The documents to sync on reconnect: every entry that is not clean by [`is_clean`].
    /// `local(id)` gives the device's current heads of a document and the heads it last synced
    /// with the relay, or `None` when the device does not hold it.
    pub fn documents_to_sync<F>(&self, mut local: F) -> Vec<DocumentId>
    where
        F: FnMut(&DocumentId) -> Option<(Vec<ChangeHash>, Vec<ChangeHash>)>,
    {
        self.entries
            .iter()
            .filter(|(id, entry)| match local(id) {
                Some((device, synced)) => !is_clean(&entry.heads, &device, &synced),
                None => true,
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Whether a document needs no sync: the relay's heads (from the index) equal the device's
/// heads, and the device's heads equal the heads it last synced (so it has no unsent local
/// change either). Heads are compared as sets.
pub fn is_clean(
    index_heads: &[ChangeHash],
    device_heads: &[ChangeHash],
    synced: &[ChangeHash],
) -> bool {
    let sorted = |h: &[ChangeHash]| {
        let mut h = h.to_vec();
        h.sort_unstable();
        h.dedup();
        h
    };
    let device = sorted(device_heads);
    sorted(index_heads) == device && device == sorted(synced)
}

/// A new, empty index document for `member` of `team`, written by the relay's `actor` at `now`.
pub fn create_index(
    team: &TeamId,
    member: &MemberId,
    actor: ActorId,
    now: DateTime<Utc>,
) -> Result<Automerge, DocError> {
    let mut doc = new_document(actor);
    let mut tx = doc.transaction();
    put_header(&mut tx, SCHEMA, TYPE)?;
    put_value(&mut tx, &ROOT, "team", &json!(team), "team")?;
    put_value(&mut tx, &ROOT, "member", &json!(member), "member")?;
    tx.put_object(ROOT, "docs", ObjType::Map)
        .map_err(|e| DocError::automerge("docs", e))?;
    tx.commit_with(commit_options(now));
    Ok(doc)
}

/// Reads the index. Malformed entries are skipped and listed in [`Index::malformed`]; only a
/// bad header, `team`, `member` or `docs` fails the whole read.
pub fn read_index<R: ReadDoc>(doc: &R) -> Result<Index, DocError> {
    let schema = read_header(doc, TYPE)?;
    let team = TeamId(required_string(doc, "team")?);
    let member = MemberId(required_string(doc, "member")?);
    let mut entries = BTreeMap::new();
    let mut malformed = Vec::new();
    if let Some(docs) = docs_map(doc)? {
        for item in doc.map_range(&docs, ..) {
            let key = item.key.to_string();
            let mut path = "docs".to_owned();
            push_key(&mut path, &key);
            let entry = match item.value {
                ValueRef::Object(ObjType::Map | ObjType::Table) => {
                    read_object(doc, &item.id(), &path)
                        .and_then(|json| decode_entry(&key, &json, &path))
                }
                _ => Err(DocError::WrongType {
                    path,
                    expected: "a map with kind and heads",
                    found: "a scalar or list".into(),
                }),
            };
            match entry {
                Ok((id, entry)) => {
                    entries.insert(id, entry);
                }
                Err(error) => malformed.push((key, error)),
            }
        }
    }
    Ok(Index {
        schema,
        team,
        member,
        entries,
        malformed,
    })
}

/// Sets the entry for document `id` in the relay's transaction, with the relay's seal of the
/// heads. Writes nothing, and returns `false`, when the entry already says the same (heads
/// compared as sets), so the relay makes no change when nothing moved.
pub fn set_entry<T: Transactable>(
    tx: &mut T,
    id: &DocumentId,
    kind: DocKind,
    heads: &[ChangeHash],
    seal: Option<&str>,
) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let docs = match docs_map(tx)? {
        Some(docs) => docs,
        None => tx
            .put_object(ROOT, "docs", ObjType::Map)
            .map_err(|e| DocError::automerge("docs", e))?,
    };
    let mut heads = heads.to_vec();
    heads.sort_unstable();
    heads.dedup();
    let key = id.to_string();
    let mut json = json!({"kind": kind.as_str(), "heads": super::heads_to_hex(&heads)});
    if let Some(seal) = seal {
        json["seal"] = json!(seal);
    }
    update_value(tx, &docs, &key, &json, Merge::Keys, &format!("docs.{key}"))
}

/// Removes the entry for document `id` (the member may no longer see it). Returns whether it
/// was there.
pub fn remove_entry<T: Transactable>(tx: &mut T, id: &DocumentId) -> Result<bool, DocError> {
    check_writable(tx, TYPE, SCHEMA)?;
    let Some(docs) = docs_map(tx)? else {
        return Ok(false);
    };
    let key = id.to_string();
    let path = format!("docs.{key}");
    if tx
        .get(&docs, key.as_str())
        .map_err(|e| DocError::automerge(&path, e))?
        .is_none()
    {
        return Ok(false);
    }
    tx.delete(&docs, key.as_str())
        .map_err(|e| DocError::automerge(&path, e))?;
    Ok(true)
}

/// Reads the entry of one document; `Ok(None)` when the index has none.
pub fn read_entry<R: ReadDoc>(doc: &R, id: &DocumentId) -> Result<Option<IndexEntry>, DocError> {
    let Some(docs) = docs_map(doc)? else {
        return Ok(None);
    };
    let key = id.to_string();
    let mut path = "docs".to_owned();
    push_key(&mut path, &key);
    match doc
        .get(&docs, key.as_str())
        .map_err(|e| DocError::automerge(&path, e))?
    {
        None => Ok(None),
        Some((Value::Object(ObjType::Map | ObjType::Table), obj)) => {
            let json = read_object(doc, &obj, &path)?;
            decode_entry(&key, &json, &path).map(|(_, entry)| Some(entry))
        }
        Some((other, _)) => Err(DocError::WrongType {
            path,
            expected: "a map with kind and heads",
            found: format!("{other:?}"),
        }),
    }
}

/// The documents whose entries were added, changed or removed between two heads of the index,
/// from Automerge's diff: a device re-reads only those instead of the whole index (which has
/// an entry per lead). Keys that are not document ids are skipped.
pub fn changed_entries(
    doc: &Automerge,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Vec<DocumentId> {
    use automerge::Prop;
    let mut ids: Vec<DocumentId> = doc
        .diff(before, after)
        .into_iter()
        .filter_map(|patch| {
            let key = match patch.path.as_slice() {
                // A change inside an entry: [docs, <id>, ...].
                [(_, Prop::Map(docs)), (_, Prop::Map(key)), ..] if docs == "docs" => key.clone(),
                // An entry put or deleted in the `docs` map itself.
                [(_, Prop::Map(docs))] if docs == "docs" => match &patch.action {
                    automerge::PatchAction::PutMap { key, .. }
                    | automerge::PatchAction::DeleteMap { key } => key.clone(),
                    _ => return None,
                },
                _ => return None,
            };
            key.parse().ok()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn docs_map<R: ReadDoc>(doc: &R) -> Result<Option<ObjId>, DocError> {
    match doc
        .get(ROOT, "docs")
        .map_err(|e| DocError::automerge("docs", e))?
    {
        None => Ok(None),
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Ok(Some(id)),
        Some((other, _)) => Err(DocError::WrongType {
            path: "docs".into(),
            expected: "a map keyed by document id",
            found: format!("{other:?}"),
        }),
    }
}

fn decode_entry(key: &str, json: &Json, path: &str) -> Result<(DocumentId, IndexEntry), DocError> {
    let id: DocumentId = key.parse().map_err(|e| DocError::Invalid {
        path: path.to_owned(),
        message: format!("{e}"),
    })?;
    let field = |name: &str| {
        let mut p = path.to_owned();
        push_key(&mut p, name);
        p
    };
    let kind = match json.get("kind") {
        None => {
            return Err(DocError::Missing {
                path: field("kind"),
            });
        }
        Some(Json::String(name)) => DocKind::parse(name).ok_or_else(|| DocError::Invalid {
            path: field("kind"),
            message: format!("unknown kind {name:?} (expected \"lead\" or \"team\")"),
        })?,
        Some(other) => {
            return Err(DocError::WrongType {
                path: field("kind"),
                expected: "a string",
                found: other.to_string(),
            });
        }
    };
    let heads = match json.get("heads") {
        None => {
            return Err(DocError::Missing {
                path: field("heads"),
            });
        }
        Some(Json::Array(items)) => {
            let hex = items
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    h.as_str().ok_or_else(|| DocError::WrongType {
                        path: format!("{}[{i}]", field("heads")),
                        expected: "a hex change hash",
                        found: h.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut heads = heads_from_hex(&hex).map_err(|e| match e {
                DocError::Invalid { path: p, message } => DocError::Invalid {
                    path: format!("{path}.{p}"),
                    message,
                },
                other => other,
            })?;
            heads.sort_unstable();
            heads
        }
        Some(other) => {
            return Err(DocError::WrongType {
                path: field("heads"),
                expected: "a list of hex change hashes",
                found: other.to_string(),
            });
        }
    };
    let seal = match json.get("seal") {
        None | Some(Json::Null) => None,
        Some(Json::String(seal)) => Some(seal.clone()),
        Some(other) => {
            return Err(DocError::WrongType {
                path: field("seal"),
                expected: "a string",
                found: other.to_string(),
            });
        }
    };
    Ok((id, IndexEntry { kind, heads, seal }))
}

#[cfg(test)]
mod tests;
