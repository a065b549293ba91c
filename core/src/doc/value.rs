//! The bridge between `serde_json::Value` and Automerge objects, so that every document is
//! written from (and read back into) the serde form of the domain types.
//!
//! Writing: object → Map, array → List, string → scalar `Str` (never a Text object), integer →
//! `Int` (`Uint` above `i64::MAX`), other numbers → `F64`, bool, null.
//!
//! Reading: Map (or legacy Table) → object, List → array, scalar `Str` **and Text object** →
//! string, `Int`/`Uint`/`F64`/`Counter`/`Timestamp` → number, bool, null. Bytes and scalar
//! types from a newer Automerge are errors naming the path. The string convention exists
//! because JS Automerge 3 writes a plain JS string as a Text object unless the app wraps it in
//! `ImmutableString`; we write scalars and read both.
//!
//! ```
//! use automerge::{transaction::Transactable, ActorId, Automerge, ReadDoc, ROOT};
//! use fieldbook_core::doc::value::{put_value, read_prop};
//! let mut doc = Automerge::new().with_actor(ActorId::from(&[1u8; 16][..]));
//! let mut tx = doc.transaction();
//! let json = serde_json::json!({"minor": 1500, "currency": "ILS"});
//! put_value(&mut tx, &ROOT, "deal_size", &json, "deal_size").unwrap();
//! tx.commit();
//! assert_eq!(read_prop(&doc, &ROOT, "deal_size", "deal_size").unwrap(), Some(json));
//! ```

use super::error::{DocError, display_path};
use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, Prop, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef};
use serde_json::{Map, Number, Value as Json};

/// The deepest nesting read or written, counted in objects below the starting one. Fieldbook's
/// own documents nest at most 5 levels (`playbook.tiers.weights.revenue`); the limit stops a
/// malicious document from exhausting the stack.
pub const MAX_DEPTH: usize = 32;

/// How [`update_value`] treats a map that is already in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Update an existing map key by key (keys absent from the new value are deleted), so that
    /// concurrent edits of different keys both survive. Lists are still replaced whole.
    Keys,
    /// Replace the value whole when it differs: for values whose parts only make sense
    /// together, such as money (amount and currency).
    Whole,
}

/// Writes `value` at `prop` of `obj` as a new object tree (or scalar), whatever was there.
/// `path` names `prop` in errors.
pub fn put_value<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    prop: impl Into<Prop>,
    value: &Json,
    path: &str,
) -> Result<(), DocError> {
    let mut path = path.to_owned();
    write(tx, obj, prop.into(), false, value, &mut path, 0)
}

/// Inserts `value` into the list `obj` at `index`.
pub fn insert_value<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    index: usize,
    value: &Json,
    path: &str,
) -> Result<(), DocError> {
    let mut path = path.to_owned();
    write(tx, obj, Prop::Seq(index), true, value, &mut path, 0)
}

/// Writes `value` at `key` of the map `obj`, but only what differs from the document: an equal
/// scalar, list or Text string is left alone, and with [`Merge::Keys`] an existing map is
/// updated key by key. Returns whether anything was written, so that an unchanged value makes
/// no change at all.
pub fn update_value<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &Json,
    merge: Merge,
    path: &str,
) -> Result<bool, DocError> {
    let mut path = path.to_owned();
    update(tx, obj, key, value, merge, &mut path, 0)
}

/// Reads the value at `prop` of `obj` (`None` when absent). `path` names `prop` in errors.
pub fn read_prop<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    prop: impl Into<Prop>,
    path: &str,
) -> Result<Option<Json>, DocError> {
    let mut path = path.to_owned();
    match doc
        .get(obj, prop)
        .map_err(|e| DocError::automerge(&path, e))?
    {
        None => Ok(None),
        Some((Value::Object(typ), id)) => read_object_as(doc, &id, typ, &mut path, 0).map(Some),
        Some((Value::Scalar(s), _)) => {
            scalar_to_json(&ScalarValueRef::from(s.into_owned()), &path).map(Some)
        }
    }
}

/// Reads the object `obj` (a map, list or Text) as JSON.
pub fn read_object<R: ReadDoc>(doc: &R, obj: &ObjId, path: &str) -> Result<Json, DocError> {
    let mut path = path.to_owned();
    let typ = doc
        .object_type(obj)
        .map_err(|e| DocError::automerge(&path, e))?;
    read_object_as(doc, obj, typ, &mut path, 0)
}

/// The Automerge scalar a JSON scalar is written as (`None` for objects and arrays).
pub fn scalar_of(value: &Json) -> Option<ScalarValue> {
    Some(match value {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                // serde_json numbers are finite: i64, u64 or f64.
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::Array(_) | Json::Object(_) => return None,
    })
}

pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(path, "[{index}]");
}

fn too_deep(path: &str) -> DocError {
    DocError::TooDeep {
        path: display_path(path),
        limit: MAX_DEPTH,
    }
}

fn write<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    prop: Prop,
    insert: bool,
    value: &Json,
    path: &mut String,
    depth: usize,
) -> Result<(), DocError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    let typ = match value {
        Json::Object(_) => ObjType::Map,
        Json::Array(_) => ObjType::List,
        scalar => {
            let scalar = scalar_of(scalar).expect("a JSON scalar");
            let done = match (insert, prop) {
                (true, Prop::Seq(index)) => tx.insert(obj, index, scalar),
                (_, prop) => tx.put(obj, prop, scalar),
            };
            return done.map_err(|e| DocError::automerge(path, e));
        }
    };
    let id = match (insert, prop) {
        (true, Prop::Seq(index)) => tx.insert_object(obj, index, typ),
        (_, prop) => tx.put_object(obj, prop, typ),
    }
    .map_err(|e| DocError::automerge(path, e))?;
    match value {
        Json::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                push_key(path, key);
                write(
                    tx,
                    &id,
                    Prop::Map(key.clone()),
                    false,
                    item,
                    path,
                    depth + 1,
                )?;
                path.truncate(len);
            }
        }
        Json::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                push_index(path, index);
                write(tx, &id, Prop::Seq(index), true, item, path, depth + 1)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn update<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &Json,
    merge: Merge,
    path: &mut String,
    depth: usize,
) -> Result<bool, DocError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    let current = tx
        .get(obj, key)
        .map_err(|e| DocError::automerge(path, e))?
        .map(|(v, id)| (v.into_owned(), id));
    match (current, value) {
        (Some((Value::Object(ObjType::Map | ObjType::Table), id)), Json::Object(new))
            if merge == Merge::Keys =>
        {
            let stale: Vec<String> = tx.keys(&id).filter(|k| !new.contains_key(k)).collect();
            let mut changed = !stale.is_empty();
            for k in stale {
                tx.delete(&id, k.as_str())
                    .map_err(|e| DocError::automerge(path, e))?;
            }
            for (k, item) in new {
                let len = path.len();
                push_key(path, k);
                changed |= update(tx, &id, k, item, merge, path, depth + 1)?;
                path.truncate(len);
            }
            Ok(changed)
        }
        (Some((current, id)), _) => {
            // A value that cannot be read (bytes, too deep) is simply overwritten.
            let existing = match current {
                Value::Object(typ) => read_object_as(tx, &id, typ, path, depth).ok(),
                Value::Scalar(s) => {
                    scalar_to_json(&ScalarValueRef::from(s.into_owned()), path).ok()
                }
            };
            if existing.as_ref() == Some(value) {
                return Ok(false);
            }
            write(
                tx,
                obj,
                Prop::Map(key.to_owned()),
                false,
                value,
                path,
                depth,
            )?;
            Ok(true)
        }
        (None, _) => {
            write(
                tx,
                obj,
                Prop::Map(key.to_owned()),
                false,
                value,
                path,
                depth,
            )?;
            Ok(true)
        }
    }
}

fn read_object_as<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    typ: ObjType,
    path: &mut String,
    depth: usize,
) -> Result<Json, DocError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match typ {
        ObjType::Map | ObjType::Table => {
            let mut map = Map::new();
            for item in doc.map_range(obj, ..) {
                let len = path.len();
                push_key(path, &item.key);
                let value = read_item(doc, &item.value, || item.id(), path, depth)?;
                path.truncate(len);
                map.insert(item.key.into_owned(), value);
            }
            Ok(Json::Object(map))
        }
        ObjType::List => {
            let mut items = Vec::with_capacity(doc.length(obj));
            for item in doc.list_range(obj, ..) {
                let len = path.len();
                push_index(path, item.index);
                let value = read_item(doc, &item.value, || item.id(), path, depth)?;
                path.truncate(len);
                items.push(value);
            }
            Ok(Json::Array(items))
        }
        ObjType::Text => doc
            .text(obj)
            .map(Json::String)
            .map_err(|e| DocError::automerge(path, e)),
    }
}

fn read_item<R: ReadDoc>(
    doc: &R,
    value: &ValueRef<'_>,
    id: impl FnOnce() -> ObjId,
    path: &mut String,
    depth: usize,
) -> Result<Json, DocError> {
    match value {
        ValueRef::Object(typ) => read_object_as(doc, &id(), *typ, path, depth + 1),
        ValueRef::Scalar(s) => scalar_to_json(s, path),
    }
}

fn scalar_to_json(value: &ScalarValueRef<'_>, path: &str) -> Result<Json, DocError> {
    let wrong = |found: String| DocError::WrongType {
        path: display_path(path),
        expected: "a string, number, boolean, null, map or list",
        found,
    };
    Ok(match value {
        ScalarValueRef::Str(s) => Json::String(s.to_string()),
        ScalarValueRef::Int(i) | ScalarValueRef::Counter(i) | ScalarValueRef::Timestamp(i) => {
            Json::from(*i)
        }
        ScalarValueRef::Uint(u) => Json::from(*u),
        ScalarValueRef::F64(f) => {
            Json::Number(Number::from_f64(*f).ok_or_else(|| DocError::WrongType {
                path: display_path(path),
                expected: "a finite number",
                found: f.to_string(),
            })?)
        }
        ScalarValueRef::Boolean(b) => Json::Bool(*b),
        ScalarValueRef::Null => Json::Null,
        ScalarValueRef::Bytes(b) => return Err(wrong(format!("{} bytes", b.len()))),
        ScalarValueRef::Unknown { type_code, .. } => {
            return Err(wrong(format!("a scalar of unknown type {type_code}")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ActorId, Automerge, ROOT};
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn doc() -> Automerge {
        Automerge::new().with_actor(ActorId::from(&[1u8; 16][..]))
    }

    #[test]
    fn writes_scalars_maps_and_lists_and_reads_them_back() {
        let value = json!({
            "s": "text", "i": -3, "u": u64::MAX, "f": 0.25, "b": true, "n": null,
            "list": [1, "two", {"three": [3]}], "map": {"a": {"b": {}}}
        });
        let mut doc = doc();
        let mut tx = doc.transaction();
        put_value(&mut tx, &ROOT, "v", &value, "v").unwrap();
        tx.commit();
        assert_eq!(read_prop(&doc, &ROOT, "v", "v").unwrap(), Some(value));
        // Strings are scalars, not Text objects.
        let (map, _) = doc.get(ROOT, "v").unwrap().unwrap();
        assert_eq!(map, Value::Object(ObjType::Map));
        let (_, v) = doc.get(ROOT, "v").unwrap().unwrap();
        let (s, _) = doc.get(&v, "s").unwrap().unwrap();
        assert!(matches!(s, Value::Scalar(ref s) if s.is_str()));
        let (u, _) = doc.get(&v, "u").unwrap().unwrap();
        assert_eq!(
            u,
            Value::Scalar(std::borrow::Cow::Owned(ScalarValue::Uint(u64::MAX)))
        );
    }

    #[test]
    fn reads_text_counters_and_timestamps_and_rejects_bytes_with_the_path() {
        let mut doc = doc();
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "note", ObjType::Text).unwrap();
        tx.splice_text(&text, 0, 0, "שלום, hello").unwrap();
        tx.put(ROOT, "count", ScalarValue::counter(4)).unwrap();
        tx.put(ROOT, "when", ScalarValue::Timestamp(1_700_000_000_000))
            .unwrap();
        let nested = tx.put_object(ROOT, "nested", ObjType::Map).unwrap();
        let list = tx.put_object(&nested, "list", ObjType::List).unwrap();
        tx.insert(&list, 0, "ok").unwrap();
        tx.insert(&list, 1, ScalarValue::Bytes(vec![1, 2, 3]))
            .unwrap();
        tx.commit();
        assert_eq!(
            read_prop(&doc, &ROOT, "note", "note").unwrap(),
            Some(json!("שלום, hello"))
        );
        assert_eq!(
            read_prop(&doc, &ROOT, "count", "count").unwrap(),
            Some(json!(4))
        );
        assert_eq!(
            read_prop(&doc, &ROOT, "when", "when").unwrap(),
            Some(json!(1_700_000_000_000i64))
        );
        let err = read_object(&doc, &ROOT, "").unwrap_err();
        assert_eq!(err.path(), "nested.list[1]");
        assert_eq!(
            err.to_string(),
            "nested.list[1]: expected a string, number, boolean, null, map or list, found 3 bytes"
        );
    }

    #[test]
    fn stops_at_the_depth_limit_when_reading_and_writing() {
        let mut deep = json!(1);
        for _ in 0..=MAX_DEPTH + 1 {
            deep = json!([deep]);
        }
        let mut doc = doc();
        let mut tx = doc.transaction();
        let err = put_value(&mut tx, &ROOT, "deep", &deep, "deep").unwrap_err();
        assert!(
            matches!(
                err,
                DocError::TooDeep {
                    limit: MAX_DEPTH,
                    ..
                }
            ),
            "{err}"
        );
        // Build the same nesting by hand, as a hostile peer would, and read it.
        let mut obj = tx.put_object(ROOT, "deep", ObjType::List).unwrap();
        for _ in 0..=MAX_DEPTH + 1 {
            obj = tx.insert_object(&obj, 0, ObjType::List).unwrap();
        }
        tx.commit();
        let err = read_prop(&doc, &ROOT, "deep", "deep").unwrap_err();
        assert!(matches!(err, DocError::TooDeep { .. }), "{err}");
        assert!(err.path().starts_with("deep[0][0]"), "{}", err.path());
    }

    #[test]
    fn update_writes_only_what_differs() {
        let mut doc = doc();
        let mut tx = doc.transaction();
        let first = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}, "gone": true});
        put_value(&mut tx, &ROOT, "m", &first, "m").unwrap();
        tx.commit();

        let mut tx = doc.transaction();
        assert!(!update_value(&mut tx, &ROOT, "m", &first, Merge::Keys, "m").unwrap());
        assert!(!update_value(&mut tx, &ROOT, "m", &first, Merge::Whole, "m").unwrap());
        assert_eq!(tx.pending_ops(), 0);
        let second = json!({"a": 1, "b": {"c": "y", "d": [1, 2]}});
        assert!(update_value(&mut tx, &ROOT, "m", &second, Merge::Keys, "m").unwrap());
        // One put for `c`, one delete for `gone`.
        assert_eq!(tx.pending_ops(), 2);
        tx.commit();
        assert_eq!(read_prop(&doc, &ROOT, "m", "m").unwrap(), Some(second));
    }

    #[test]
    fn update_leaves_an_equal_text_object_alone_and_replaces_a_different_one_by_a_scalar() {
        let mut doc = doc();
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "company", ObjType::Text).unwrap();
        tx.splice_text(&text, 0, 0, "Acme").unwrap();
        tx.commit();
        let mut tx = doc.transaction();
        let same = json!("Acme");
        assert!(!update_value(&mut tx, &ROOT, "company", &same, Merge::Keys, "company").unwrap());
        let other = json!("Acme Ltd");
        assert!(update_value(&mut tx, &ROOT, "company", &other, Merge::Keys, "company").unwrap());
        tx.commit();
        let (value, _) = doc.get(ROOT, "company").unwrap().unwrap();
        assert!(matches!(value, Value::Scalar(ref s) if s.is_str()));
        assert_eq!(
            read_prop(&doc, &ROOT, "company", "company").unwrap(),
            Some(other)
        );
    }
}
