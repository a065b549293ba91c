//! `FieldbookError`: every error the binding throws (docs/wasm-api.md, Conventions).

use fieldbook_core::commands::CommandError;
#[cfg(test)]
use fieldbook_core::commands::Problem;
use fieldbook_core::replica::ReplicaError;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const KINDS: &str = r#"
/** What went wrong (docs/wasm-api.md): input errors name their `field`. */
export type FieldbookErrorKind =
  | "missing" | "invalid" | "not_allowed" | "not_loaded" | "unknown_lead" | "no_team"
  | "bad_input" | "document" | "stored";
"#;

/// An error thrown by the binding: a JS `Error` (its prototype chain is set to
/// `Error.prototype` when the first one is thrown) with `kind`, `field`, `message` and, for
/// the core's refusals, `problem` (a code with its parameters, for the app to translate). A
/// call that throws wrote nothing.
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldbookError {
    kind: &'static str,
    field: Option<String>,
    message: String,
    /// The core's `Problem` or `Refusal` as JSON.
    problem: Option<String>,
}

#[wasm_bindgen]
impl FieldbookError {
    /// `missing`, `invalid`, `not_allowed`, `not_loaded`, `unknown_lead`, `no_team`,
    /// `bad_input`, `document` or `stored`.
    #[wasm_bindgen(getter, unchecked_return_type = "FieldbookErrorKind")]
    pub fn kind(&self) -> String {
        self.kind.to_owned()
    }

    /// The input field (for `bad_input`: the argument, then the path inside it), if any.
    #[wasm_bindgen(getter)]
    pub fn field(&self) -> Option<String> {
        self.field.clone()
    }

    /// What is wrong, in English.
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> String {
        self.message.clone()
    }

    /// The core's problem as a code with its parameters (`{code: "notes_missing"}`,
    /// `{code: "too_many_leads", owner, count, limit}`…), for `missing`, `invalid` and
    /// `not_allowed`; `undefined` otherwise.
    #[wasm_bindgen(getter, unchecked_return_type = "Problem | Refusal | undefined")]
    pub fn problem(&self) -> JsValue {
        self.problem
            .as_deref()
            .and_then(|json| js_sys::JSON::parse(json).ok())
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// `"FieldbookError"` (what `Error.prototype.toString` prints first).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        "FieldbookError".to_owned()
    }
}

/// The binding's error before it is thrown.
pub type Error = FieldbookError;

impl FieldbookError {
    pub(crate) fn new(kind: &'static str, field: Option<String>, message: String) -> Self {
        Self {
            kind,
            field,
            message,
            problem: None,
        }
    }

    fn with_problem(mut self, problem: &impl serde::Serialize) -> Self {
        self.problem = serde_json::to_string(problem).ok();
        self
    }

    /// Its problem as JSON (tests).
    pub fn problem_json(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Its kind (tests).
    pub fn kind_str(&self) -> &'static str {
        self.kind
    }

    /// Its field (tests).
    pub fn field_str(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The JS value to throw: a `FieldbookError` that is also an `Error`, with a `stack`.
    pub fn into_js(self) -> JsValue {
        let stack = Reflect::get(&js_sys::Error::new(&self.message), &"stack".into());
        let value = JsValue::from(self);
        let proto = Object::get_prototype_of(&value);
        let error_proto = Object::get_prototype_of(&js_sys::Error::new("").into());
        if Object::get_prototype_of(&proto) != error_proto {
            Object::set_prototype_of(&proto, &error_proto);
        }
        if let Ok(stack) = stack {
            let _ = Reflect::set(&value, &"stack".into(), &stack);
        }
        value
    }
}

/// An argument that does not decode: `field` is the argument, then the path inside it.
pub fn bad_input(field: &str, message: impl Into<String>) -> Error {
    Error::new("bad_input", Some(field.to_owned()), message.into())
}

impl From<ReplicaError> for Error {
    fn from(error: ReplicaError) -> Self {
        let message = error.to_string();
        match error {
            ReplicaError::Command(CommandError::Missing { field, problem }) => {
                Error::new("missing", Some(field), problem.to_string()).with_problem(&problem)
            }
            ReplicaError::Command(CommandError::Invalid { field, problem }) => {
                Error::new("invalid", Some(field), problem.to_string()).with_problem(&problem)
            }
            ReplicaError::Command(CommandError::NotNow { problem }) => {
                Error::new("not_allowed", None, message).with_problem(&problem)
            }
            ReplicaError::Command(CommandError::Refused { refusal }) => {
                Error::new("not_allowed", None, message).with_problem(&refusal)
            }
            ReplicaError::NotLoaded(_) => Error::new("not_loaded", None, message),
            ReplicaError::UnknownLead(_) => Error::new("unknown_lead", None, message),
            ReplicaError::NoTeam => Error::new("no_team", None, message),
            ReplicaError::Doc(_) => Error::new("document", None, message),
            ReplicaError::Stored { .. } => Error::new("stored", None, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::doc::DocumentId;

    #[test]
    fn replica_errors_keep_their_kind_and_field() {
        let missing = Error::from(ReplicaError::Command(CommandError::Missing {
            field: "notes".into(),
            problem: Problem::NotesMissing,
        }));
        assert_eq!(
            (missing.kind_str(), missing.field_str()),
            ("missing", Some("notes"))
        );
        assert_eq!(missing.problem_json(), Some(r#"{"code":"notes_missing"}"#));
        let invalid = Error::from(ReplicaError::Command(CommandError::Invalid {
            field: "products".into(),
            problem: Problem::ProductTwice {
                product: "crm".into(),
            },
        }));
        assert_eq!(invalid.kind_str(), "invalid");
        assert_eq!(invalid.message(), "\"crm\" is listed twice");
        assert_eq!(
            invalid.problem_json(),
            Some(r#"{"code":"product_twice","product":"crm"}"#)
        );
        let not_loaded = Error::from(ReplicaError::NotLoaded(DocumentId::from_bytes([1; 16])));
        assert_eq!(
            (not_loaded.kind_str(), not_loaded.field_str()),
            ("not_loaded", None)
        );
        assert_eq!(Error::from(ReplicaError::NoTeam).kind_str(), "no_team");
        assert_eq!(
            Error::from(ReplicaError::UnknownLead("x".into())).kind_str(),
            "unknown_lead"
        );
    }
}
