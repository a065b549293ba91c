//! A document stored as chunks in SQLite: its bytes are its chunks concatenated in `seq`
//! order (a full save, then incremental saves, which `Automerge::load` reads as one). Shared by
//! the relay's store and the device store.

use fieldbook_core::doc::DocumentId;
use rusqlite::{Connection, params};

/// The table, for each store's schema.
pub const TABLE: &str = "
    CREATE TABLE IF NOT EXISTS chunks (
        doc TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
        PRIMARY KEY (doc, seq)
    );
";

/// Appends `bytes` after the document's last chunk.
pub fn append(conn: &Connection, doc: &DocumentId, bytes: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO chunks (doc, seq, bytes) VALUES (?1, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE doc = ?1), ?2)",
    )?
    .execute(params![doc.to_string(), bytes])?;
    Ok(())
}

/// Replaces every chunk of the document with `bytes` (a compacted save).
pub fn replace(conn: &Connection, doc: &DocumentId, bytes: &[u8]) -> rusqlite::Result<()> {
    let doc = doc.to_string();
    conn.prepare_cached("DELETE FROM chunks WHERE doc = ?1")?
        .execute(params![doc])?;
    conn.prepare_cached("INSERT INTO chunks (doc, seq, bytes) VALUES (?1, 1, ?2)")?
        .execute(params![doc, bytes])?;
    Ok(())
}

/// The document's chunks concatenated, if it has any.
pub fn load(conn: &Connection, doc: &DocumentId) -> rusqlite::Result<Option<Vec<u8>>> {
    let mut stmt = conn.prepare_cached("SELECT bytes FROM chunks WHERE doc = ?1 ORDER BY seq")?;
    let mut rows = stmt.query(params![doc.to_string()])?;
    let mut out: Option<Vec<u8>> = None;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        out.get_or_insert_with(Vec::new).extend_from_slice(&bytes);
    }
    Ok(out)
}

/// How many chunks the document is stored in.
pub fn count(conn: &Connection, doc: &DocumentId) -> rusqlite::Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM chunks WHERE doc = ?1",
        params![doc.to_string()],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}
