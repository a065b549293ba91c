//! A native host for the device replica: every [`Write`] the replica returns goes into one
//! SQLite file (WAL), one transaction per batch. Used by the tests, the benchmarks and the
//! command line; the browser keeps the same records in IndexedDB.
//!
//! Tables: `chunks(doc, seq, bytes)` — a document is its chunks concatenated in `seq` order (a
//! full save followed by incremental saves, which `Automerge::load` reads as one); `summaries`
//! and `sync_states`, one row per document.

use crate::chunks;
use fieldbook_core::doc::DocumentId;
use fieldbook_core::replica::Write;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Errors of the device store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("device store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document id is not one.
    #[error("device store: bad document id {0:?} in the database")]
    BadId(String),
}

/// The device's database.
#[derive(Debug)]
pub struct DeviceStore {
    conn: Connection,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS summaries (doc TEXT PRIMARY KEY, bytes BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS sync_states (doc TEXT PRIMARY KEY, bytes BLOB NOT NULL);
";

impl DeviceStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(chunks::TABLE)?;
        Ok(Self { conn })
    }

    /// Carries out `writes` in order, all or nothing.
    pub fn apply(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for write in writes {
            let doc = write.doc().to_string();
            match write {
                Write::AppendChunk { doc, bytes } => chunks::append(&tx, doc, bytes)?,
                Write::ReplaceDoc { doc, bytes } => chunks::replace(&tx, doc, bytes)?,
                Write::PutSummary { bytes, .. } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO summaries (doc, bytes) VALUES (?1, ?2)",
                        params![doc, bytes],
                    )?;
                }
                Write::PutSyncState { bytes, .. } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO sync_states (doc, bytes) VALUES (?1, ?2)",
                        params![doc, bytes],
                    )?;
                }
                Write::RemoveDoc { .. } => {
                    tx.execute("DELETE FROM chunks WHERE doc = ?1", params![doc])?;
                    tx.execute("DELETE FROM summaries WHERE doc = ?1", params![doc])?;
                    tx.execute("DELETE FROM sync_states WHERE doc = ?1", params![doc])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored bytes of a document (its chunks concatenated), if any.
    pub fn load_doc(&self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(chunks::load(&self.conn, doc)?)
    }

    /// How many chunks a document is stored in (compaction policy, tests).
    pub fn chunk_count(&self, doc: &DocumentId) -> Result<usize, StoreError> {
        Ok(chunks::count(&self.conn, doc)?)
    }

    /// Every stored summary.
    pub fn summaries(&self) -> Result<Vec<(DocumentId, Vec<u8>)>, StoreError> {
        self.all("SELECT doc, bytes FROM summaries")
    }

    /// Every stored sync state.
    pub fn sync_states(&self) -> Result<Vec<(DocumentId, Vec<u8>)>, StoreError> {
        self.all("SELECT doc, bytes FROM sync_states")
    }

    /// The stored sync state of one document.
    pub fn sync_state(&self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM sync_states WHERE doc = ?1",
                params![doc.to_string()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The ids of every stored document.
    pub fn doc_ids(&self) -> Result<Vec<DocumentId>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT doc FROM chunks")?;
        let ids = stmt.query_map([], |row| row.get::<_, String>(0))?;
        ids.map(|id| {
            let id = id?;
            id.parse().map_err(|_| StoreError::BadId(id))
        })
        .collect()
    }

    fn all(&self, sql: &str) -> Result<Vec<(DocumentId, Vec<u8>)>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        rows.map(|row| {
            let (id, bytes) = row?;
            let doc = id.parse().map_err(|_| StoreError::BadId(id))?;
            Ok((doc, bytes))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    #[test]
    fn chunks_concatenate_and_replace() {
        let mut store = DeviceStore::in_memory().unwrap();
        store
            .apply(&[
                Write::AppendChunk {
                    doc: id(1),
                    bytes: vec![1, 2],
                },
                Write::AppendChunk {
                    doc: id(1),
                    bytes: vec![3],
                },
                Write::AppendChunk {
                    doc: id(2),
                    bytes: vec![9],
                },
            ])
            .unwrap();
        assert_eq!(store.load_doc(&id(1)).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(store.chunk_count(&id(1)).unwrap(), 2);
        store
            .apply(&[Write::ReplaceDoc {
                doc: id(1),
                bytes: vec![7],
            }])
            .unwrap();
        store
            .apply(&[Write::AppendChunk {
                doc: id(1),
                bytes: vec![8],
            }])
            .unwrap();
        assert_eq!(store.load_doc(&id(1)).unwrap(), Some(vec![7, 8]));
        assert_eq!(store.load_doc(&id(3)).unwrap(), None);
        let mut ids = store.doc_ids().unwrap();
        ids.sort();
        assert_eq!(ids, vec![id(1), id(2)]);
    }

    #[test]
    fn summaries_and_sync_states_are_replaced() {
        let mut store = DeviceStore::in_memory().unwrap();
        store
            .apply(&[
                Write::PutSummary {
                    doc: id(1),
                    bytes: b"a".to_vec(),
                },
                Write::PutSummary {
                    doc: id(1),
                    bytes: b"b".to_vec(),
                },
                Write::PutSyncState {
                    doc: id(1),
                    bytes: b"s".to_vec(),
                },
            ])
            .unwrap();
        assert_eq!(store.summaries().unwrap(), vec![(id(1), b"b".to_vec())]);
        assert_eq!(store.sync_state(&id(1)).unwrap(), Some(b"s".to_vec()));
        assert_eq!(store.sync_states().unwrap().len(), 1);
    }

    #[test]
    fn a_batch_is_all_or_nothing_and_survives_reopening() {
        let dir = std::env::temp_dir().join(format!("fieldbook-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("device.sqlite");
        {
            let mut store = DeviceStore::open(&path).unwrap();
            store
                .apply(&[Write::AppendChunk {
                    doc: id(1),
                    bytes: vec![1],
                }])
                .unwrap();
            // Break the schema so the second write of the batch fails: the first must roll back.
            store.conn.execute_batch("DROP TABLE summaries").unwrap();
            let failed = store.apply(&[
                Write::AppendChunk {
                    doc: id(1),
                    bytes: vec![2],
                },
                Write::PutSummary {
                    doc: id(1),
                    bytes: vec![0],
                },
            ]);
            assert!(failed.is_err());
        }
        let store = DeviceStore::open(&path).unwrap();
        assert_eq!(store.load_doc(&id(1)).unwrap(), Some(vec![1]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
