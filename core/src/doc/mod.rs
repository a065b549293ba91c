//! Fieldbook's data as Automerge documents: one per lead, one per team, one index per member
//! (written by the relay). The layout is specified in `docs/documents.md`.
//!
//! The core draws no randomness and reads no clock: Automerge picks a random actor id when a
//! document is created or loaded, so [`new_document`] and [`load`] replace it with the actor
//! id the host passes in, and every change is committed with [`commit_options`]`(now)`.
//!
//! ```
//! use automerge::ActorId;
//! use fieldbook_core::doc::{self, lead};
//! # fn demo(l: &fieldbook_core::lead::Lead, ev: fieldbook_core::lead::Event,
//! #         now: chrono::DateTime<chrono::Utc>) -> Result<(), doc::DocError> {
//! let actor = ActorId::from(&[7u8; 16][..]); // the device's, drawn once by the host
//! let mut d = lead::create_lead(l, actor.clone(), now)?;
//! let saved = d.save(); // the host persists the bytes
//! let mut d = doc::load(&saved, actor)?;
//! let mut tx = d.transaction();
//! lead::append_events(&mut tx, &[ev])?;
//! tx.commit_with(doc::commit_options(now));
//! let read = lead::read_lead(&d)?;
//! assert!(read.undecodable.is_empty());
//! # Ok(()) }
//! ```

pub mod error;
pub mod id;
pub mod index;
pub mod lead;
mod shape;
pub mod team;
pub mod value;

pub use error::DocError;
pub use id::{DocumentId, DocumentIdError};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ChangeHash, ROOT, ReadDoc};
use chrono::{DateTime, Utc};

/// An empty document whose changes will carry `actor` (the random actor Automerge draws is
/// discarded).
pub fn new_document(actor: ActorId) -> Automerge {
    Automerge::new().with_actor(actor)
}

/// Loads saved document bytes (a full save, optionally followed by incremental chunks) and
/// sets `actor` for the changes this device makes next.
pub fn load(bytes: &[u8], actor: ActorId) -> Result<Automerge, DocError> {
    Automerge::load(bytes)
        .map(|doc| doc.with_actor(actor))
        .map_err(|e| DocError::automerge("", e))
}

/// Commit options carrying the host's `now` as the change time (Unix seconds, as JS Automerge
/// writes it; the time is advisory and never used for merging).
pub fn commit_options(now: DateTime<Utc>) -> CommitOptions {
    CommitOptions::default().with_time(now.timestamp())
}

/// Heads as lowercase hex strings (64 characters each), the form stored in index documents and
/// passed to hosts.
pub fn heads_to_hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ChangeHash::to_string).collect()
}

/// Parses hex heads; the error names the index of the bad one (`heads[2]`).
pub fn heads_from_hex<S: AsRef<str>>(hex: &[S]) -> Result<Vec<ChangeHash>, DocError> {
    hex.iter()
        .enumerate()
        .map(|(i, h)| {
            h.as_ref().parse().map_err(|e| DocError::Invalid {
                path: format!("heads[{i}]"),
                message: format!("not a change hash: {e}"),
            })
        })
        .collect()
}

/// The `schema` and `type` keys every Fieldbook document has at its root.
pub(crate) fn put_header<T: Transactable>(
    tx: &mut T,
    schema: i64,
    doc_type: &str,
) -> Result<(), DocError> {
    tx.put(ROOT, "schema", schema)
        .map_err(|e| DocError::automerge("schema", e))?;
    tx.put(ROOT, "type", doc_type)
        .map_err(|e| DocError::automerge("type", e))
}

/// Checks the root `type` and returns the root `schema` (an integer ≥ 1).
pub(crate) fn read_header<R: ReadDoc>(doc: &R, doc_type: &'static str) -> Result<i64, DocError> {
    match value::read_prop(doc, &ROOT, "type", "type")? {
        None => {
            return Err(DocError::Missing {
                path: "type".into(),
            });
        }
        Some(serde_json::Value::String(found)) if found == doc_type => {}
        Some(found) => {
            return Err(DocError::WrongDocument {
                expected: doc_type,
                found: match found {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            });
        }
    }
    match value::read_prop(doc, &ROOT, "schema", "schema")? {
        None => Err(DocError::Missing {
            path: "schema".into(),
        }),
        Some(found) => match found.as_i64() {
            Some(v) if v >= 1 => Ok(v),
            _ => Err(DocError::WrongType {
                path: "schema".into(),
                expected: "an integer >= 1",
                found: found.to_string(),
            }),
        },
    }
}

/// [`read_header`], and refuses to write into a document newer than `supported`.
pub(crate) fn check_writable<R: ReadDoc>(
    doc: &R,
    doc_type: &'static str,
    supported: i64,
) -> Result<(), DocError> {
    let found = read_header(doc, doc_type)?;
    if found > supported {
        return Err(DocError::NewerSchema { found, supported });
    }
    Ok(())
}

/// The serde form of `value`; `path` names it in the (unexpected) error.
pub(crate) fn to_json<S: serde::Serialize>(
    value: &S,
    path: &str,
) -> Result<serde_json::Value, DocError> {
    serde_json::to_value(value).map_err(|e| DocError::Invalid {
        path: error::display_path(path),
        message: e.to_string(),
    })
}

/// The string at root `key`, which must be present.
pub(crate) fn required_string<R: ReadDoc>(doc: &R, key: &'static str) -> Result<String, DocError> {
    match value::read_prop(doc, &ROOT, key, key)? {
        Some(serde_json::Value::String(s)) => Ok(s),
        None => Err(DocError::Missing { path: key.into() }),
        Some(other) => Err(DocError::WrongType {
            path: key.into(),
            expected: "a string",
            found: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn heads_round_trip_through_hex_and_bad_ones_are_named() {
        let mut d = new_document(ActorId::from(&[3u8; 16][..]));
        let mut tx = d.transaction();
        tx.put(ROOT, "k", 1).unwrap();
        tx.commit_with(commit_options("2026-11-22T10:00:00Z".parse().unwrap()));
        let heads = d.get_heads();
        let hex = heads_to_hex(&heads);
        assert_eq!(hex[0].len(), 64);
        assert_eq!(heads_from_hex(&hex).unwrap(), heads);
        let err = heads_from_hex(&[hex[0].as_str(), "abc"]).unwrap_err();
        assert_eq!(err.path(), "heads[1]");
        assert_eq!(
            d.get_last_local_change().unwrap().timestamp(),
            1_795_341_600
        );
        assert_eq!(d.get_actor(), &ActorId::from(&[3u8; 16][..]));
    }

    #[test]
    fn loading_replaces_the_actor() {
        let mut d = new_document(ActorId::from(&[3u8; 16][..]));
        let mut tx = d.transaction();
        tx.put(ROOT, "k", 1).unwrap();
        tx.commit();
        let loaded = load(&d.save(), ActorId::from(&[4u8; 16][..])).unwrap();
        assert_eq!(loaded.get_actor(), &ActorId::from(&[4u8; 16][..]));
        let err = load(b"not automerge", ActorId::from(&[4u8; 16][..])).unwrap_err();
        assert_eq!(err.path(), "(root)");
    }
}
