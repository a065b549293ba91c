//! What the device replica asks its host to store. The core does no IO: every operation that
//! changes durable state returns a list of [`Write`]s, and the host (SQLite natively, IndexedDB
//! in the browser) carries them out, in order and as one transaction, before it confirms the
//! action to the user or sends the frames returned with them.

use crate::doc::DocumentId;
use std::collections::BTreeMap;

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
    /// Delete the document, its summary and its sync state (a new lead the relay refused).
    RemoveDoc {
        /// The document.
        doc: DocumentId,
    },
}

impl Write {
    /// The document the operation is about.
    pub fn doc(&self) -> &DocumentId {
        match self {
            Write::AppendChunk { doc, .. }
            | Write::ReplaceDoc { doc, .. }
            | Write::PutSummary { doc, .. }
            | Write::PutSyncState { doc, .. }
            | Write::RemoveDoc { doc } => doc,
        }
    }
}

/// A host's storage in memory, carrying out [`Write`]s exactly as a persistent host does: for
/// tests, benchmarks, and a host that keeps nothing across restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    /// Each document's chunks, in order (a full save, then incremental saves).
    pub chunks: BTreeMap<DocumentId, Vec<Vec<u8>>>,
    /// Encoded summaries.
    pub summaries: BTreeMap<DocumentId, Vec<u8>>,
    /// Encoded sync states.
    pub sync_states: BTreeMap<DocumentId, Vec<u8>>,
}

impl MemoryStore {
    /// Carries out `writes` in order.
    pub fn apply(&mut self, writes: &[Write]) {
        for write in writes {
            match write {
                Write::AppendChunk { doc, bytes } => {
                    self.chunks.entry(*doc).or_default().push(bytes.clone());
                }
                Write::ReplaceDoc { doc, bytes } => {
                    self.chunks.insert(*doc, vec![bytes.clone()]);
                }
                Write::PutSummary { doc, bytes } => {
                    self.summaries.insert(*doc, bytes.clone());
                }
                Write::PutSyncState { doc, bytes } => {
                    self.sync_states.insert(*doc, bytes.clone());
                }
                Write::RemoveDoc { doc } => {
                    self.chunks.remove(doc);
                    self.summaries.remove(doc);
                    self.sync_states.remove(doc);
                }
            }
        }
    }

    /// A stored document's bytes (its chunks concatenated), as `Replica::loaded` takes them.
    pub fn load(&self, doc: &DocumentId) -> Option<Vec<u8>> {
        self.chunks.get(doc).map(|chunks| chunks.concat())
    }

    /// Every stored byte, for size reports.
    pub fn stored_bytes(&self) -> usize {
        self.chunks.values().flatten().map(Vec::len).sum::<usize>()
            + self.summaries.values().map(Vec::len).sum::<usize>()
            + self.sync_states.values().map(Vec::len).sum::<usize>()
    }
}
