//! Fieldbook's data as Automerge documents: one per lead, one per team, one index per member
//! (written by the relay). The layout is specified in `docs/documents.md`.

pub mod id;

pub use id::{DocumentId, DocumentIdError};
