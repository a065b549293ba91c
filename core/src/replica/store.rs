//! What the device replica asks its host to store. The core does no IO: every operation that
//! changes durable state returns a list of [`Write`]s, and the host (SQLite natively, IndexedDB
//! in the browser) carries them out, in order and as one transaction, before it confirms the
//! action to the user or sends the frames returned with them.

use crate::doc::DocumentId;

/// One storage operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Append these bytes (one or more Automerge changes) to the document's stored bytes.
    AppendChunk {
        /// The document.
        doc: DocumentId,
        /// Incremental save (`Automerge::save_after`).
        bytes: Vec<u8>,
    },
    /// Replace every stored byte of the document with this compacted save.
    ReplaceDoc {
        /// The document.
        doc: DocumentId,
        /// Full save (`Automerge::save`).
        bytes: Vec<u8>,
    },
    /// Replace the summary of a lead (see [`super::Summary`]).
    PutSummary {
        /// The lead document.
        doc: DocumentId,
        /// The encoded summary.
        bytes: Vec<u8>,
    },
    /// Replace the sync state kept with the relay for a document.
    PutSyncState {
        /// The document.
        doc: DocumentId,
        /// `automerge::sync::State::encode`.
        bytes: Vec<u8>,
    },
}

impl Write {
    /// The document the operation is about.
    pub fn doc(&self) -> &DocumentId {
        match self {
            Write::AppendChunk { doc, .. }
            | Write::ReplaceDoc { doc, .. }
            | Write::PutSummary { doc, .. }
            | Write::PutSyncState { doc, .. } => doc,
        }
    }
}
