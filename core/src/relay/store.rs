//! What the relay core asks its host to store and what it knows of every stored document: the
//! records, the writes of a turn, and the one read it needs ([`DocLoader`]). The host (the
//! server's SQLite store, a test's map) carries them out.

use crate::doc::DocumentId;
use crate::ids::{MemberId, TeamId};

/// Incremental chunks a document collects before the relay compacts it into one save.
pub const COMPACT_AFTER_CHUNKS: u32 = 32;

/// What kind of document a record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoredKind {
    /// A team document.
    Team,
    /// A member's index document (written by the relay only).
    Index,
    /// A lead document.
    Lead,
}

impl StoredKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredKind::Team => "team",
            StoredKind::Index => "index",
            StoredKind::Lead => "lead",
        }
    }

    /// The kind with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "team" => Some(StoredKind::Team),
            "index" => Some(StoredKind::Index),
            "lead" => Some(StoredKind::Lead),
            _ => None,
        }
    }
}

/// What the relay knows about a stored document without loading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocRecord {
    /// The document.
    pub id: DocumentId,
    /// The team it belongs to.
    pub team: TeamId,
    /// Team, index or lead.
    pub kind: StoredKind,
    /// A lead's owner, an index document's member; `None` for a team document.
    pub member: Option<MemberId>,
    /// The relay's heads of the document (hex, sorted).
    pub heads: Vec<String>,
    /// Chunks stored since the last compaction.
    pub chunks: u32,
}

/// One write of a turn; the host applies a turn's writes in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreWrite {
    /// Replace the document's chunks with this one save (new or compacted).
    ReplaceDoc {
        /// The document.
        doc: DocumentId,
        /// `Automerge::save` bytes.
        bytes: Vec<u8>,
    },
    /// Append one incremental chunk.
    AppendChunk {
        /// The document.
        doc: DocumentId,
        /// `Automerge::save_after` bytes.
        bytes: Vec<u8>,
    },
    /// Insert or replace the document's record.
    PutRecord(DocRecord),
    /// Move a document's chunks and record to another id (a derived id from before the
    /// reserved space, see [`crate::doc::DocumentId::derived_before_reservation`]).
    MoveDoc {
        /// The old id.
        from: DocumentId,
        /// The new id.
        to: DocumentId,
    },
}

/// The relay core's one read: a stored document's bytes (its chunks concatenated).
pub trait DocLoader {
    /// The stored bytes of `doc`, `None` when nothing is stored; `Err` with the reason when
    /// storage fails.
    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, String>;
}

/// Storage in memory, for tests and simulations: documents as their chunks, and the records.
/// Applying a turn's writes is all a host needs to do with it.
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    /// Each document's chunks, in order.
    pub chunks: std::collections::BTreeMap<DocumentId, Vec<Vec<u8>>>,
    /// Each document's record.
    pub records: std::collections::BTreeMap<DocumentId, DocRecord>,
}

impl DocLoader for MemStore {
    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, String> {
        Ok(self.chunks.get(doc).map(|c| c.concat()))
    }
}

impl MemStore {
    /// Carries out a turn's writes.
    pub fn apply(&mut self, writes: &[StoreWrite]) {
        for w in writes {
            match w {
                StoreWrite::ReplaceDoc { doc, bytes } => {
                    self.chunks.insert(*doc, vec![bytes.clone()]);
                }
                StoreWrite::AppendChunk { doc, bytes } => {
                    self.chunks.entry(*doc).or_default().push(bytes.clone());
                }
                StoreWrite::PutRecord(r) => {
                    self.records.insert(r.id, r.clone());
                }
                StoreWrite::MoveDoc { from, to } => {
                    if let Some(c) = self.chunks.remove(from) {
                        self.chunks.insert(*to, c);
                    }
                    if let Some(mut r) = self.records.remove(from) {
                        r.id = *to;
                        self.records.insert(*to, r);
                    }
                }
            }
        }
    }

    /// Puts a document straight into storage, as an admin command does (a team, an import),
    /// with its record; returns the record (for [`super::Input::Stored`] to a running relay).
    pub fn put(
        &mut self,
        id: DocumentId,
        kind: StoredKind,
        team: TeamId,
        member: Option<MemberId>,
        doc: &automerge::Automerge,
    ) -> DocRecord {
        let record = DocRecord {
            id,
            team,
            kind,
            member,
            heads: super::sorted_heads(doc),
            chunks: 1,
        };
        self.chunks.insert(id, vec![doc.save()]);
        self.records.insert(id, record.clone());
        record
    }

    /// A stored document, loaded with `actor`.
    pub fn doc(&self, id: &DocumentId, actor: automerge::ActorId) -> Option<automerge::Automerge> {
        let bytes = self.chunks.get(id)?.concat();
        crate::doc::load(&bytes, actor).ok()
    }
}
