//! The relay's storage behind one trait ([`RelayStore`]), so that PostgreSQL can be added later
//! without touching the engine; [`SqliteStore`] is the embedded default (one file under the data
//! directory, WAL, created on first start, nothing to install).
//!
//! What is stored:
//! - **documents** as chunks: a document is its chunks concatenated in order (a full save
//!   followed by incremental saves, which `Automerge::load` reads as one). The engine appends
//!   one chunk per change it applies and replaces them with one save after
//!   [`COMPACT_AFTER_CHUNKS`];
//! - a **record** per document (team, kind, lead owner or index member, heads, chunk count), so
//!   that access control and the index writer know every document without loading it;
//! - **tokens** issued (with their revocation time), and the relay **secret** that signs them;
//! - **notices**: what an admin command changed while a relay may be serving from the same
//!   directory (a document rewritten, a token revoked); the serving relay polls them.
//!
//! [`RelayStore::apply`] runs a batch as one transaction: the engine persists everything a
//! batch of frames changed in one commit, then acknowledges and forwards.

use crate::chunks;
use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{MemberId, TeamId};
pub use fieldbook_core::relay::{COMPACT_AFTER_CHUNKS, DocRecord, StoredKind};
use fieldbook_core::team::Role;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// The name of the SQLite file inside the data directory.
pub const DB_FILE: &str = "relay.sqlite";

/// Errors of relay storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("relay store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not parse (the database was edited by hand or is damaged).
    #[error("relay store: bad {what} {value:?} in the database")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// The data directory cannot be created.
    #[error("relay store: cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A token the relay issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's id (also inside the signed token).
    pub id: String,
    /// Team.
    pub team: TeamId,
    /// Member.
    pub member: MemberId,
    /// Role when issued.
    pub role: Role,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
}

/// Something an admin command changed that a serving relay must pick up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A document was written outside the relay (team edited, leads imported).
    Doc(DocumentId),
    /// A token was revoked: close its connections.
    Revoked(String),
}

/// One write of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreWrite {
    /// Appends an incremental chunk to a document.
    AppendChunk {
        /// The document.
        doc: DocumentId,
        /// `save_after`/`save_incremental` bytes.
        bytes: Vec<u8>,
    },
    /// Replaces every chunk of a document with one save (creation, compaction).
    ReplaceDoc {
        /// The document.
        doc: DocumentId,
        /// `save()` bytes.
        bytes: Vec<u8>,
    },
    /// Inserts or replaces a document's record.
    PutRecord(DocRecord),
    /// Moves a document's chunks and record to another id.
    MoveDoc {
        /// The old id.
        from: DocumentId,
        /// The new id.
        to: DocumentId,
    },
    /// Records a notice for serving relays (admin commands only).
    Notice(Notice),
}

impl From<fieldbook_core::relay::StoreWrite> for StoreWrite {
    fn from(write: fieldbook_core::relay::StoreWrite) -> Self {
        use fieldbook_core::relay::StoreWrite as Core;
        match write {
            Core::ReplaceDoc { doc, bytes } => StoreWrite::ReplaceDoc { doc, bytes },
            Core::AppendChunk { doc, bytes } => StoreWrite::AppendChunk { doc, bytes },
            Core::PutRecord(record) => StoreWrite::PutRecord(record),
            Core::MoveDoc { from, to } => StoreWrite::MoveDoc { from, to },
        }
    }
}

/// The relay's storage. Every method may block (the engine calls it from its own thread).
pub trait RelayStore: Send + std::fmt::Debug {
    /// Carries out `writes` in order, all or nothing, durably before returning.
    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError>;
    /// A document's bytes (its chunks concatenated), if stored.
    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every document record.
    fn records(&mut self) -> Result<Vec<DocRecord>, StoreError>;
    /// One document's record.
    fn record(&mut self, doc: &DocumentId) -> Result<Option<DocRecord>, StoreError>;
    /// The secret that signs tokens, drawn (32 random bytes) and stored on first use.
    fn secret(&mut self) -> Result<[u8; 32], StoreError>;
    /// Records an issued token.
    fn put_token(&mut self, token: &TokenRecord) -> Result<(), StoreError>;
    /// A token by id.
    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Tokens of a team (or all), newest first.
    fn tokens(&mut self, team: Option<&TeamId>) -> Result<Vec<TokenRecord>, StoreError>;
    /// Marks a token revoked at `at` and records a notice; returns whether it was live.
    fn revoke_token(&mut self, id: &str, at: i64) -> Result<bool, StoreError>;
    /// Notices after `after` (a sequence number), with their sequence numbers.
    fn notices(&mut self, after: i64) -> Result<Vec<(i64, Notice)>, StoreError>;
    /// The latest notice's sequence number (0 when none).
    fn last_notice(&mut self) -> Result<i64, StoreError>;
}

/// The embedded store: one SQLite file in WAL mode.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

/// How hard SQLite makes a commit durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives a power cut (an fsync of the WAL per commit).
    Full,
    /// `synchronous=NORMAL`: a commit survives a killed process, not a power cut.
    Normal,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS docs (
        id TEXT PRIMARY KEY, team TEXT NOT NULL, kind TEXT NOT NULL, member TEXT,
        heads TEXT NOT NULL, chunks INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY, team TEXT NOT NULL, member TEXT NOT NULL, role TEXT NOT NULL,
        issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER
    );
    CREATE TABLE IF NOT EXISTS notices (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, subject TEXT NOT NULL
    );
";

impl SqliteStore {
    /// Opens (or creates, with its directory) the store in data directory `dir`.
    pub fn open_dir(dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        Self::init(Connection::open(dir.join(DB_FILE))?, durability)
    }

    /// A store in memory (unit tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, Durability::Normal)
    }

    fn init(conn: Connection, durability: Durability) -> Result<Self, StoreError> {
        // Admin commands and a serving relay may use the file at once: wait for the other's
        // transaction rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(chunks::TABLE)?;
        conn.execute_batch(match durability {
            Durability::Full => "PRAGMA synchronous = FULL;",
            Durability::Normal => "PRAGMA synchronous = NORMAL;",
        })?;
        Ok(Self { conn })
    }

    /// How many chunks a document is stored in (tests of compaction).
    pub fn chunk_count(&self, doc: &DocumentId) -> Result<usize, StoreError> {
        Ok(chunks::count(&self.conn, doc)?)
    }
}

/// The stored (and command-line) name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Rep => "rep",
        Role::Manager => "manager",
        Role::Admin => "admin",
    }
}

/// Parses a role name as stored and as given on the command line.
pub fn parse_role(name: &str) -> Option<Role> {
    match name {
        "rep" => Some(Role::Rep),
        "manager" => Some(Role::Manager),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

fn parse_id(text: String) -> Result<DocumentId, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: "document id",
        value: text,
    })
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 5]> {
    Ok([
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ])
}

fn to_record(cols: [Option<String>; 5], chunks: i64) -> Result<DocRecord, StoreError> {
    let [id, team, kind, member, heads] = cols;
    Ok(DocRecord {
        id: parse_id(id.unwrap_or_default())?,
        team: TeamId(team.unwrap_or_default()),
        kind: {
            let kind = kind.unwrap_or_default();
            StoredKind::parse(&kind).ok_or(StoreError::Corrupt {
                what: "document kind",
                value: kind,
            })?
        },
        member: member.map(MemberId),
        heads: heads
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        chunks: u32::try_from(chunks).unwrap_or(0),
    })
}

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, String)> {
    let role: String = row.get(3)?;
    Ok((
        TokenRecord {
            id: row.get(0)?,
            team: TeamId(row.get(1)?),
            member: MemberId(row.get(2)?),
            role: Role::Rep,
            issued_at: row.get(4)?,
            expires_at: row.get(5)?,
            revoked_at: row.get(6)?,
        },
        role,
    ))
}

fn with_role((mut token, role): (TokenRecord, String)) -> Result<TokenRecord, StoreError> {
    token.role = parse_role(&role).ok_or(StoreError::Corrupt {
        what: "role",
        value: role,
    })?;
    Ok(token)
}

const RECORD_COLUMNS: &str = "id, team, kind, member, heads, chunks";
const TOKEN_COLUMNS: &str = "id, team, member, role, issued_at, expires_at, revoked_at";

impl RelayStore for SqliteStore {
    fn apply(&mut self, writes: &[StoreWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for write in writes {
            match write {
                StoreWrite::AppendChunk { doc, bytes } => chunks::append(&tx, doc, bytes)?,
                StoreWrite::ReplaceDoc { doc, bytes } => chunks::replace(&tx, doc, bytes)?,
                StoreWrite::PutRecord(record) => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO docs (id, team, kind, member, heads, chunks) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        record.id.to_string(),
                        record.team.as_str(),
                        record.kind.as_str(),
                        record.member.as_ref().map(MemberId::as_str),
                        record.heads.join(" "),
                        record.chunks,
                    ])?;
                }
                StoreWrite::MoveDoc { from, to } => {
                    tx.prepare_cached("UPDATE chunks SET doc = ?2 WHERE doc = ?1")?
                        .execute(params![from.to_string(), to.to_string()])?;
                    tx.prepare_cached("UPDATE docs SET id = ?2 WHERE id = ?1")?
                        .execute(params![from.to_string(), to.to_string()])?;
                }
                StoreWrite::Notice(notice) => {
                    let (kind, subject) = match notice {
                        Notice::Doc(doc) => ("doc", doc.to_string()),
                        Notice::Revoked(id) => ("revoked", id.clone()),
                    };
                    tx.prepare_cached("INSERT INTO notices (kind, subject) VALUES (?1, ?2)")?
                        .execute(params![kind, subject])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(chunks::load(&self.conn, doc)?)
    }

    fn records(&mut self) -> Result<Vec<DocRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {RECORD_COLUMNS} FROM docs ORDER BY id"))?;
        let rows = stmt.query_map([], |row| Ok((record_from_row(row)?, row.get(5)?)))?;
        rows.map(|row| {
            let (cols, chunks) = row?;
            to_record(cols, chunks)
        })
        .collect()
    }

    fn record(&mut self, doc: &DocumentId) -> Result<Option<DocRecord>, StoreError> {
        let found = self
            .conn
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM docs WHERE id = ?1"),
                params![doc.to_string()],
                |row| Ok((record_from_row(row)?, row.get(5)?)),
            )
            .optional()?;
        found
            .map(|(cols, chunks)| to_record(cols, chunks))
            .transpose()
    }

    fn secret(&mut self) -> Result<[u8; 32], StoreError> {
        let tx = self.conn.transaction()?;
        let found: Option<Vec<u8>> = tx
            .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |row| {
                row.get(0)
            })
            .optional()?;
        let secret = match found {
            Some(bytes) => {
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupt {
                    what: "secret",
                    value: format!("{} bytes", bytes.len()),
                })?
            }
            None => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).expect("the OS random source is available");
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('secret', ?1)",
                    params![secret.as_slice()],
                )?;
                secret
            }
        };
        tx.commit()?;
        Ok(secret)
    }

    fn put_token(&mut self, token: &TokenRecord) -> Result<(), StoreError> {
        self.conn.execute(
            &format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                token.id,
                token.team.as_str(),
                token.member.as_str(),
                role_name(token.role),
                token.issued_at,
                token.expires_at,
                token.revoked_at
            ],
        )?;
        Ok(())
    }

    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let found = self
            .conn
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                params![id],
                token_from_row,
            )
            .optional()?;
        found.map(with_role).transpose()
    }

    fn tokens(&mut self, team: Option<&TeamId>) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ?1 IS NULL OR team = ?1 \
             ORDER BY issued_at DESC, id"
        ))?;
        let rows = stmt.query_map(params![team.map(TeamId::as_str)], token_from_row)?;
        rows.map(|row| with_role(row?)).collect()
    }

    fn revoke_token(&mut self, id: &str, at: i64) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at],
        )?;
        if n > 0 {
            tx.execute(
                "INSERT INTO notices (kind, subject) VALUES ('revoked', ?1)",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn notices(&mut self, after: i64) -> Result<Vec<(i64, Notice)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, kind, subject FROM notices WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![after], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, kind, subject) = row?;
            let notice = match kind.as_str() {
                "doc" => Notice::Doc(parse_id(subject)?),
                "revoked" => Notice::Revoked(subject),
                _ => {
                    return Err(StoreError::Corrupt {
                        what: "notice kind",
                        value: kind,
                    });
                }
            };
            Ok((seq, notice))
        })
        .collect()
    }

    fn last_notice(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM notices", [], |row| {
                row.get(0)
            })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    fn record(n: u8) -> DocRecord {
        DocRecord {
            id: id(n),
            team: TeamId::from("t1"),
            kind: StoredKind::Lead,
            member: Some(MemberId::from("r1")),
            heads: vec!["aa".into(), "bb".into()],
            chunks: 3,
        }
    }

    #[test]
    fn chunks_concatenate_and_a_replace_compacts_them() {
        let mut store = SqliteStore::in_memory().unwrap();
        store
            .apply(&[
                StoreWrite::ReplaceDoc {
                    doc: id(1),
                    bytes: vec![1, 2],
                },
                StoreWrite::AppendChunk {
                    doc: id(1),
                    bytes: vec![3],
                },
                StoreWrite::AppendChunk {
                    doc: id(2),
                    bytes: vec![9],
                },
            ])
            .unwrap();
        assert_eq!(store.load(&id(1)).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(store.chunk_count(&id(1)).unwrap(), 2);
        store
            .apply(&[StoreWrite::ReplaceDoc {
                doc: id(1),
                bytes: vec![7],
            }])
            .unwrap();
        assert_eq!(store.load(&id(1)).unwrap(), Some(vec![7]));
        assert_eq!(store.chunk_count(&id(1)).unwrap(), 1);
        assert_eq!(store.load(&id(3)).unwrap(), None);
    }

    #[test]
    fn records_round_trip_and_are_replaced() {
        let mut store = SqliteStore::in_memory().unwrap();
        let mut team = record(1);
        team.kind = StoredKind::Team;
        team.member = None;
        team.heads.clear();
        store
            .apply(&[
                StoreWrite::PutRecord(team.clone()),
                StoreWrite::PutRecord(record(2)),
            ])
            .unwrap();
        let mut moved = record(2);
        moved.member = Some(MemberId::from("r2"));
        store
            .apply(&[StoreWrite::PutRecord(moved.clone())])
            .unwrap();
        let mut all = store.records().unwrap();
        all.sort_by_key(|r| r.kind.as_str());
        assert_eq!(all, vec![moved.clone(), team]);
        assert_eq!(store.record(&id(2)).unwrap(), Some(moved));
        assert_eq!(store.record(&id(9)).unwrap(), None);
    }

    #[test]
    fn the_secret_is_drawn_once_and_kept() {
        let dir = tempdir("secret");
        let first = SqliteStore::open_dir(&dir, Durability::Full)
            .unwrap()
            .secret()
            .unwrap();
        let again = SqliteStore::open_dir(&dir, Durability::Full)
            .unwrap()
            .secret()
            .unwrap();
        assert_eq!(first, again);
        assert_ne!(first, [0; 32]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tokens_are_revoked_once_with_a_notice() {
        let mut store = SqliteStore::in_memory().unwrap();
        let token = TokenRecord {
            id: "tk1".into(),
            team: TeamId::from("t1"),
            member: MemberId::from("r1"),
            role: Role::Manager,
            issued_at: 10,
            expires_at: 20,
            revoked_at: None,
        };
        store.put_token(&token).unwrap();
        assert_eq!(store.token("tk1").unwrap(), Some(token.clone()));
        assert_eq!(store.last_notice().unwrap(), 0);
        assert!(store.revoke_token("tk1", 15).unwrap());
        assert!(!store.revoke_token("tk1", 16).unwrap());
        assert!(!store.revoke_token("nope", 16).unwrap());
        assert_eq!(store.token("tk1").unwrap().unwrap().revoked_at, Some(15));
        assert_eq!(
            store.notices(0).unwrap(),
            vec![(1, Notice::Revoked("tk1".into()))]
        );
        assert_eq!(store.tokens(Some(&TeamId::from("t2"))).unwrap(), vec![]);
        assert_eq!(store.tokens(None).unwrap().len(), 1);
    }

    #[test]
    fn a_batch_is_all_or_nothing() {
        let mut store = SqliteStore::in_memory().unwrap();
        store
            .apply(&[StoreWrite::AppendChunk {
                doc: id(1),
                bytes: vec![1],
            }])
            .unwrap();
        store.conn.execute_batch("DROP TABLE docs").unwrap();
        let failed = store.apply(&[
            StoreWrite::AppendChunk {
                doc: id(1),
                bytes: vec![2],
            },
            StoreWrite::PutRecord(record(1)),
        ]);
        assert!(failed.is_err());
        assert_eq!(store.load(&id(1)).unwrap(), Some(vec![1]));
    }

    pub(crate) fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fieldbook-relay-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
