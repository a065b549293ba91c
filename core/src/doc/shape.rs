//! The field list of a serde struct, learnt from a template value, used to read only the keys a
//! type knows (unknown keys in a document are ignored) and to name the field when a value does
//! not decode (serde's own message rarely says which field).

use super::error::{DocError, display_path};
use super::value::push_key;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

/// The serde fields of a struct type.
#[derive(Debug)]
pub(crate) struct Shape {
    /// Every field, as the type serialises it, with valid values.
    full: Map<String, Json>,
    /// Fields that cannot be left out.
    required: Vec<String>,
}

impl Shape {
    /// Learns the fields of `T` from `template`, a minimal valid value of it (a constant of the
    /// code; unit tests check each one).
    pub(crate) fn of<T: DeserializeOwned + serde::Serialize>(template: Json) -> Self {
        let value: T = serde_json::from_value(template).expect("the template decodes");
        let Json::Object(full) = serde_json::to_value(&value).expect("the template encodes") else {
            panic!("the template is not a struct");
        };
        let required = full
            .keys()
            .filter(|key| {
                let mut without = full.clone();
                without.remove(*key);
                T::deserialize(&Json::Object(without)).is_err()
            })
            .cloned()
            .collect();
        Self { full, required }
    }

    /// The field names.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.full.keys().map(String::as_str)
    }

    /// Whether `name` is a field.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.full.contains_key(name)
    }

    /// Whether `value` is a valid value of field `name` (checked in a copy of the template).
    pub(crate) fn check_field<T: DeserializeOwned>(
        &self,
        name: &str,
        value: &Json,
        path: &str,
    ) -> Result<(), DocError> {
        let mut probe = self.full.clone();
        probe.insert(name.to_owned(), value.clone());
        T::deserialize(&Json::Object(probe))
            .map(drop)
            .map_err(|e| DocError::Invalid {
                path: display_path(path),
                message: e.to_string(),
            })
    }

    /// Decodes `obj` as `T`; on failure the error names the first field that does not decode
    /// (`path.field`) or the first required field that is missing.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        obj: &Map<String, Json>,
        path: &str,
    ) -> Result<T, DocError> {
        let whole = Json::Object(obj.clone());
        let err = match T::deserialize(&whole) {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let field_path = |name: &str| {
            let mut p = path.to_owned();
            push_key(&mut p, name);
            p
        };
        for (name, value) in obj.iter().filter(|(name, _)| self.has(name)) {
            self.check_field::<T>(name, value, &field_path(name))?;
        }
        if let Some(missing) = self.required.iter().find(|r| !obj.contains_key(*r)) {
            return Err(DocError::Missing {
                path: field_path(missing),
            });
        }
        Err(DocError::Invalid {
            path: display_path(path),
            message: err.to_string(),
        })
    }
}
