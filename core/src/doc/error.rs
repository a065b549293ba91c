//! `DocError`: what is wrong with a document, and where (a path from the document root such as
//! `events.e1.amount` or `deal_size`).

use automerge::AutomergeError;

/// What is wrong with a Fieldbook document or with a write to one. Every variant names the
/// path of the offending value: keys joined by `.`, list indices as `[i]`, `(root)` for the
/// document itself.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Automerge refused the bytes or an operation.
    #[error("{path}: automerge: {source}")]
    Automerge {
        /// Where.
        path: String,
        /// Automerge's error (boxed: it is large).
        #[source]
        source: Box<AutomergeError>,
    },
    /// A required key is absent.
    #[error("{path}: missing")]
    Missing {
        /// Where.
        path: String,
    },
    /// A value of the wrong Automerge type (e.g. bytes where a string is expected).
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        path: String,
        /// What the schema wants.
        expected: &'static str,
        /// What the document holds.
        found: String,
    },
    /// Objects nested deeper than [`crate::doc::value::MAX_DEPTH`] (a malicious or broken
    /// document); reading stops there instead of exhausting the stack.
    #[error("{path}: nested deeper than {limit} levels")]
    TooDeep {
        /// Where.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// A value of the right shape that does not decode as the domain type (serde's message).
    #[error("{path}: {message}")]
    Invalid {
        /// Where.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `put_fields` was given a name that is not a writable lead field.
    #[error("{field}: not a writable lead field ({reason})")]
    NotAField {
        /// The name given.
        field: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An event with this id is already in the document: events are never edited.
    #[error("events.{id}: an event with this id already exists (events are never edited)")]
    EventExists {
        /// The event id.
        id: String,
    },
    /// The document says it is of another kind (`type` is not the expected one).
    #[error("type: expected {expected:?}, found {found:?}")]
    WrongDocument {
        /// The expected `type`.
        expected: &'static str,
        /// The document's `type`.
        found: String,
    },
    /// The document's `schema` is newer than this client writes: it may read, not write.
    #[error(
        "schema: version {found} is newer than {supported}, the newest this client writes; \
         the document is read-only here"
    )]
    NewerSchema {
        /// The document's schema version.
        found: i64,
        /// The newest version this client writes.
        supported: i64,
    },
}

impl DocError {
    /// The path of the offending value (for `NotAField` the field name, for `EventExists`
    /// `events.<id>`, for schema/type errors `schema`/`type`).
    pub fn path(&self) -> String {
        match self {
            DocError::Automerge { path, .. }
            | DocError::Missing { path }
            | DocError::WrongType { path, .. }
            | DocError::TooDeep { path, .. }
            | DocError::Invalid { path, .. } => path.clone(),
            DocError::NotAField { field, .. } => field.clone(),
            DocError::EventExists { id } => format!("events.{id}"),
            DocError::WrongDocument { .. } => "type".to_owned(),
            DocError::NewerSchema { .. } => "schema".to_owned(),
        }
    }

    pub(crate) fn automerge(path: &str, source: AutomergeError) -> Self {
        DocError::Automerge {
            path: display_path(path),
            source: Box::new(source),
        }
    }
}

/// `(root)` for the empty path, else the path.
pub(crate) fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(root)".to_owned()
    } else {
        path.to_owned()
    }
}
