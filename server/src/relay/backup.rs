//! `fieldbook backup` and `fieldbook restore`: a consistent copy of the relay's database taken
//! while the relay serves, and putting such a copy back into a data directory whose relay is
//! stopped, plus the data-directory lock that tells the two apart.
//!
//! **The copy is `VACUUM INTO`**, not SQLite's online backup API. The relay's file is in WAL
//! mode, where a reader never blocks the writer: `VACUUM INTO` reads the whole database in one
//! read transaction (one snapshot, so the copy is consistent) while the engine keeps
//! committing. The online backup API copied in steps restarts from the first page whenever
//! another connection commits between two steps, which a relay under load does every few
//! milliseconds: 100 pages per step against a writer committing about 850 times a second never
//! finished a 9 MB copy in 10 s (with or without a 5 ms sleep between steps). Copied in one step
//! it is the same single read transaction as `VACUUM INTO`, whose output is also compacted (no
//! free pages) and which needs no extra rusqlite feature. What `VACUUM INTO` lacks is done
//! here: progress (the growing output file is watched), an fsync before the rename, and an
//! integrity check of the copy.
//!
//! **The lock**: `relay.lock` in the data directory, locked with `flock` — shared by a serving
//! relay and by a backup, exclusive by a restore. The kernel drops the lock when its holder
//! exits, even on SIGKILL, so a crashed relay never leaves a stale "serving" marker, and an
//! idle relay still holds it (SQLite's own write lock is held only during commits, so trying
//! it cannot tell an idle relay from a stopped one).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::store::DB_FILE;

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "relay.lock";

/// The tables every relay database has (the relay's `SCHEMA` and the chunks table).
const RELAY_TABLES: [(&str, &str); 5] = [
    ("meta", "key, value"),
    ("docs", "id, team, kind, member, heads, chunks"),
    (
        "tokens",
        "id, team, member, role, issued_at, expires_at, revoked_at",
    ),
    ("notices", "seq, kind, subject"),
    ("chunks", "doc, seq, bytes"),
];

/// SQLite's files next to a database: they belong to it and move with it.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Why a backup or a restore failed. Nothing is left half-written in any case.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The data directory holds no relay database.
    #[error("no relay database at {0} (is --data the relay's data directory?)")]
    NoDatabase(PathBuf),
    /// The output exists.
    #[error("{0} already exists; pass --force to overwrite it")]
    OutputExists(PathBuf),
    /// The output is the live database itself.
    #[error("{0} is the relay's own database; write the backup somewhere else")]
    OutputIsSource(PathBuf),
    /// The data directory already holds a database.
    #[error(
        "{0} already holds a relay database; pass --force to replace it \
         (the old file is kept as {DB_FILE}.before-restore-<time>)"
    )]
    DatabaseExists(PathBuf),
    /// A relay serves the directory (or a backup is reading it).
    #[error(
        "a relay is serving {0} (or a backup is reading it): it holds {LOCK_FILE}; \
         stop it before restoring"
    )]
    Serving(PathBuf),
    /// A restore holds the directory.
    #[error("a restore is replacing the database in {0}; try again when it has finished")]
    Restoring(PathBuf),
    /// The backup file is not a relay database.
    #[error("{path} is not a Fieldbook relay database: {why}")]
    NotRelayDatabase {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// SQLite's integrity check found damage.
    #[error("{path} is damaged (PRAGMA integrity_check: {report})")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The check's first lines.
        report: String,
    },
    /// A file operation failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// SQLite failed.
    #[error("{path}: {error}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// Why.
        error: rusqlite::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |error| BackupError::Io {
        path: path.to_owned(),
        error,
    }
}

fn sql_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
    move |error| BackupError::Sqlite {
        path: path.to_owned(),
        error,
    }
}

/// A lock on a data directory, held until dropped (see the module documentation).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Shared: a serving relay or a backup. Fails while a restore holds the directory.
    pub fn shared(dir: &Path) -> Result<Self, BackupError> {
        let file = Self::open(dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Restoring(dir.to_owned())),
            Err(TryLockError::Error(e)) => Err(io_err(&dir.join(LOCK_FILE))(e)),
        }
    }

    /// Exclusive: a restore. Fails while a relay serves the directory.
    pub fn exclusive(dir: &Path) -> Result<Self, BackupError> {
        let file = Self::open(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Serving(dir.to_owned())),
            Err(TryLockError::Error(e)) => Err(io_err(&dir.join(LOCK_FILE))(e)),
        }
    }

    fn open(dir: &Path) -> Result<File, BackupError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(LOCK_FILE);
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))
    }
}

/// What a backup or a restore holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// Bytes of the database file.
    pub bytes: u64,
    /// Stored documents (team, index and lead).
    pub documents: u64,
    /// Of which leads.
    pub leads: u64,
    /// Issued tokens (revoked ones included).
    pub tokens: u64,
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} MiB, {} documents ({} leads), {} tokens",
            self.bytes as f64 / (1024.0 * 1024.0),
            self.documents,
            self.leads,
            self.tokens
        )
    }
}

/// Removes a temporary file unless [`TempFile::keep`] was called.
#[derive(Debug)]
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn new(path: PathBuf) -> Self {
        remove_with_side_files(&path);
        Self(Some(path))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("not yet kept")
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            remove_with_side_files(path);
        }
    }
}

fn remove_with_side_files(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in SIDE_FILES {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A temporary name next to `target` (same directory, so the final rename is atomic).
fn temp_beside(target: &Path, what: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flushes a directory's entries (a rename) to disk.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Copies the relay database of data directory `data` to `out` while a relay may be serving
/// it, then checks the copy. `progress` is called about once a second while the copy is written,
/// with the bytes written so far and the size of the source. The copy is written to a temporary
/// file beside `out` and renamed into place only once it is complete and checked.
pub fn backup(
    data: &Path,
    out: &Path,
    force: bool,
    mut progress: impl FnMut(u64, u64) + Send,
) -> Result<Contents, BackupError> {
    let source = data.join(DB_FILE);
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    if out.exists() {
        if !force {
            return Err(BackupError::OutputExists(out.to_owned()));
        }
        let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
        if same(out, &source) {
            return Err(BackupError::OutputIsSource(out.to_owned()));
        }
    }
    // A restore must not swap the file while we read it.
    let _lock = DirLock::shared(data)?;
    let conn = Connection::open_with_flags(
        &source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err(&source))?;
    // The engine's commits are short; a reader in WAL mode waits only for a checkpoint.
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql_err(&source))?;
    check_relay_tables(&conn, &source)?;
    let total: u64 = conn
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(sql_err(&source))?
        .try_into()
        .unwrap_or(0);

    let temp = TempFile::new(temp_beside(out, "partial"));
    let temp_text = temp.path().to_str().ok_or_else(|| BackupError::Io {
        path: out.to_owned(),
        error: io::Error::other("the path is not UTF-8"),
    })?;
    let done = AtomicBool::new(false);
    let copied = std::thread::scope(|scope| {
        let watched = temp.path();
        let done = &done;
        scope.spawn(move || {
            let started = Instant::now();
            let mut next = started + Duration::from_secs(1);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if Instant::now() >= next {
                    next += Duration::from_secs(1);
                    let written = std::fs::metadata(watched).map_or(0, |m| m.len());
                    progress(written, total);
                }
            }
        });
        let result = conn.execute("VACUUM INTO ?1", [temp_text]);
        done.store(true, Ordering::Relaxed);
        result
    });
    copied.map_err(sql_err(&source))?;
    drop(conn);

    // The copy: one self-contained file (no WAL beside it), checked, on disk.
    let copy = Connection::open(temp.path()).map_err(sql_err(temp.path()))?;
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql_err(temp.path()))?;
    let contents = verify(&copy, temp.path())?;
    drop(copy);
    File::open(temp.path())
        .and_then(|f| f.sync_all())
        .map_err(io_err(temp.path()))?;
    std::fs::rename(temp.path(), out).map_err(io_err(out))?;
    temp.keep();
    sync_dir(parent_dir(out))?;
    Ok(contents)
}

/// Where the previous database went, and what the restored one holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The restored database's contents.
    pub contents: Contents,
    /// The previous database, kept under another name (`--force`).
    pub previous: Option<PathBuf>,
}

/// Restores `backup` into data directory `data` (created when missing): refuses while a relay
/// serves it, refuses to replace an existing database unless `force` (the old files are then
/// renamed `relay.sqlite.before-restore-<now>`, their WAL with them), and checks the backup's
/// integrity and tables before anything in the directory changes.
pub fn restore(
    data: &Path,
    backup: &Path,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Restored, BackupError> {
    // The backup is checked where it lies, read-only (`immutable`: no lock, no WAL files
    // created beside it), before the data directory is touched.
    let contents = {
        let uri = format!("file:{}?immutable=1", uri_path(backup)?);
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|error| match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::CannotOpen) if !backup.is_file() => BackupError::Io {
                path: backup.to_owned(),
                error: io::Error::new(io::ErrorKind::NotFound, "no such file"),
            },
            _ => sql_err(backup)(error),
        })?;
        check_relay_tables(&conn, backup)?;
        verify(&conn, backup)?
    };
    let _lock = DirLock::exclusive(data)?;
    let target = data.join(DB_FILE);
    let existing: Vec<&str> = std::iter::once("")
        .chain(SIDE_FILES)
        .filter(|suffix| with_suffix(&target, suffix).exists())
        .collect();
    if !existing.is_empty() && !force {
        return Err(BackupError::DatabaseExists(target));
    }

    // A copy beside the target, so that the last step is one atomic rename.
    let temp = TempFile::new(temp_beside(&target, "restoring"));
    // A new file (the owner's usual permissions, not the backup's: it may be read-only).
    File::open(backup)
        .and_then(|mut from| io::copy(&mut from, &mut File::create(temp.path())?))
        .map_err(io_err(backup))?;
    {
        // A plain file whatever mode the backup was in (a copied live file is in WAL mode);
        // the relay turns WAL on when it opens it.
        let copy = Connection::open(temp.path()).map_err(sql_err(temp.path()))?;
        copy.pragma_update(None, "journal_mode", "DELETE")
            .map_err(sql_err(temp.path()))?;
    }
    File::open(temp.path())
        .and_then(|f| f.sync_all())
        .map_err(io_err(temp.path()))?;

    let previous = if existing.is_empty() {
        None
    } else {
        let stamp = now.format("%Y%m%dT%H%M%SZ");
        let mut kept = data.join(format!("{DB_FILE}.before-restore-{stamp}"));
        let mut n = 1;
        while kept.exists() {
            n += 1;
            kept = data.join(format!("{DB_FILE}.before-restore-{stamp}-{n}"));
        }
        // The WAL and shared-memory files move with the database: SQLite pairs them by name,
        // and an old WAL left beside the restored file would be replayed into it.
        let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
        for suffix in &existing {
            let (from, to) = (with_suffix(&target, suffix), with_suffix(&kept, suffix));
            if let Err(e) = std::fs::rename(&from, &to) {
                for (from, to) in moved.iter().rev() {
                    let _ = std::fs::rename(to, from);
                }
                return Err(io_err(&from)(e));
            }
            moved.push((from, to));
        }
        Some(kept)
    };
    if let Err(e) = std::fs::rename(temp.path(), &target) {
        if let Some(kept) = &previous {
            for suffix in &existing {
                let _ = std::fs::rename(with_suffix(kept, suffix), with_suffix(&target, suffix));
            }
        }
        return Err(io_err(&target)(e));
    }
    temp.keep();
    sync_dir(data)?;
    Ok(Restored { contents, previous })
}

/// `path` for an SQLite `file:` URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> Result<String, BackupError> {
    let text = path.to_str().ok_or_else(|| BackupError::Io {
        path: path.to_owned(),
        error: io::Error::other("the path is not UTF-8"),
    })?;
    Ok(text
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23"))
}

/// Fails unless every relay table is there with its columns.
fn check_relay_tables(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    for (table, columns) in RELAY_TABLES {
        if let Err(e) = conn.prepare(&format!("SELECT {columns} FROM {table} LIMIT 0")) {
            return Err(match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => BackupError::NotRelayDatabase {
                    path: path.to_owned(),
                    why: "not an SQLite database".into(),
                },
                Some(rusqlite::ErrorCode::Unknown) | None => BackupError::NotRelayDatabase {
                    path: path.to_owned(),
                    why: format!("no table {table} with columns {columns}"),
                },
                _ => sql_err(path)(e),
            });
        }
    }
    Ok(())
}

/// Runs SQLite's integrity check and counts what the database holds.
fn verify(conn: &Connection, path: &Path) -> Result<Contents, BackupError> {
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(sql_err(path))?;
    if report != ["ok"] {
        return Err(BackupError::Damaged {
            path: path.to_owned(),
            report: report.join("; "),
        });
    }
    let count = |sql: &str| -> Result<u64, BackupError> {
        conn.query_row(sql, [], |row| row.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(sql_err(path))
    };
    Ok(Contents {
        bytes: count("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")?,
        documents: count("SELECT COUNT(*) FROM docs")?,
        leads: count("SELECT COUNT(*) FROM docs WHERE kind = 'lead'")?,
        tokens: count("SELECT COUNT(*) FROM tokens")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::store::{
        DocRecord, Durability, RelayStore, SqliteStore, StoreWrite, StoredKind,
    };
    use fieldbook_core::doc::DocumentId;
    use fieldbook_core::ids::TeamId;
    use std::sync::atomic::AtomicU64;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fieldbook-backup-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// One commit of the writer: chunk `n` of the counter document and a record naming `n`.
    fn commit(n: u32) -> Vec<StoreWrite> {
        let doc = DocumentId::from_bytes([7; 16]);
        vec![
            StoreWrite::AppendChunk {
                doc,
                bytes: vec![1; 512],
            },
            StoreWrite::PutRecord(DocRecord {
                id: doc,
                team: TeamId::from("t"),
                kind: StoredKind::Lead,
                member: None,
                heads: vec![n.to_string()],
                chunks: n,
            }),
        ]
    }

    /// Backups taken while another connection commits without pause: each copy is one
    /// snapshot (the record and the chunks agree), and the writer is never held up for long.
    #[test]
    fn a_backup_while_a_writer_commits_is_one_snapshot_and_does_not_block_it() {
        let dir = tempdir("concurrent");
        let mut store = SqliteStore::open_dir(&dir, Durability::Normal).unwrap();
        // Bulk, so that a copy takes a while: 4,000 documents of 2 KiB.
        let bulk: Vec<StoreWrite> = (0..4_000u32)
            .map(|i| {
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&i.to_be_bytes());
                StoreWrite::ReplaceDoc {
                    doc: DocumentId::from_bytes(id),
                    bytes: vec![(i % 251) as u8; 2048],
                }
            })
            .collect();
        store.apply(&bulk).unwrap();
        let stop = AtomicBool::new(false);
        let commits = AtomicU64::new(0);
        let slowest = AtomicU64::new(0);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let started = Instant::now();
                    store.apply(&commit(n)).unwrap();
                    let micros = started.elapsed().as_micros() as u64;
                    slowest.fetch_max(micros, Ordering::Relaxed);
                    commits.store(u64::from(n), Ordering::Relaxed);
                }
            });
            while commits.load(Ordering::Relaxed) < 10 {
                std::thread::sleep(Duration::from_millis(1));
            }
            for round in 0..3 {
                let out = dir.join(format!("copy-{round}.sqlite"));
                let before = commits.load(Ordering::Relaxed);
                let started = Instant::now();
                let contents = backup(&dir, &out, false, |_, _| {}).unwrap();
                let took = started.elapsed();
                let during = commits.load(Ordering::Relaxed) - before;
                assert!(during > 0, "the writer committed during the copy");
                let copy = Connection::open(&out).unwrap();
                let (record, chunks): (String, i64) = copy
                    .query_row(
                        "SELECT heads, (SELECT COUNT(*) FROM chunks WHERE doc = docs.id) \
                         FROM docs",
                        [],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .unwrap();
                assert_eq!(record, chunks.to_string(), "one snapshot");
                eprintln!(
                    "copy {round}: {contents} in {} ms, {during} commits meanwhile",
                    took.as_millis()
                );
            }
            stop.store(true, Ordering::Relaxed);
        });
        let slowest = Duration::from_micros(slowest.load(Ordering::Relaxed));
        eprintln!("slowest commit: {} ms", slowest.as_millis());
        assert!(
            slowest < Duration::from_secs(1),
            "a commit waited {slowest:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_lock_is_shared_by_relays_and_backups_and_exclusive_for_a_restore() {
        let dir = tempdir("lock");
        let serving = DirLock::shared(&dir).unwrap();
        let backing_up = DirLock::shared(&dir).unwrap();
        assert!(matches!(
            DirLock::exclusive(&dir),
            Err(BackupError::Serving(_))
        ));
        drop((serving, backing_up));
        let restoring = DirLock::exclusive(&dir).unwrap();
        assert!(matches!(
            DirLock::shared(&dir),
            Err(BackupError::Restoring(_))
        ));
        drop(restoring);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
