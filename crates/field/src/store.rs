//! The field client's store: one SQLite file holding samod's documents
//! (a [`samod::storage::Storage`]) and the tables projected from them.
//!
//! One thread owns the one connection, and every read and write is a job
//! sent to it. rusqlite's `Connection` is `Send` but not `Sync`, cannot be
//! held across an `.await`, and its transactions do not cross one either
//! (rusqlite#188, #697, #1013); a thread of its own, as deno and openmls
//! settled on, gives async callers a future per job and SQLite the single
//! writer it wants. No wrapper crate is needed for that much: the channel,
//! the thread and a oneshot per job are the whole of it.
//!
//! The chunks are one table, `chunks (key, data)`, keyed by the flattened
//! samod key (`sync::key_to_string`, the same layout as the server's
//! `doc_chunks` and the browser's IndexedDB store) under SQLite's `BINARY`
//! collation, which compares UTF-8 bytes: a prefix load is one range scan
//! of the primary key (`sync::prefix_range`). Each put and each delete is a
//! statement of its own, committed before its future resolves, so samod's
//! compaction (put the snapshot, then delete what it supersedes) leaves the
//! old state, the new one or both wherever a crash stops it. The file is in
//! WAL mode with `synchronous = FULL`: a write that resolved survives the
//! process being killed and the machine losing power.
//!
//! A second process over the same file (a `sync --watch` in one terminal,
//! `lead add` in another) waits its turn through `busy_timeout` rather than
//! failing with "database is locked".

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::mpsc,
    time::Duration,
};

use futures::channel::oneshot;
use rusqlite::{Connection, OptionalExtension, params};
use samod::storage::StorageKey;

/// How long a statement waits for another process's write to end before
/// it fails as "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a statement that failed waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Tries of a statement that fails for another reason than another
/// process's lock (the disk full, the file unwritable or damaged) before
/// the process gives up. samod has no way to hear that a write or a load
/// failed: a write cannot be dropped (it would be lost while the command
/// says it was kept), nor a load answered empty (it would read as "no
/// such document"). So the process says why on stderr and exits with a
/// failure: nothing it did not store was acknowledged, and a user who
/// frees the disk runs the command again.
const TRIES: u32 = 10;

/// The schema, applied when a store opens; each statement is idempotent.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS chunks (
        key TEXT PRIMARY KEY NOT NULL,
        data BLOB NOT NULL
    ) WITHOUT ROWID;
";

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The store: cheap to clone, every clone feeding the one thread.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the local store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the local store {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the local store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the local store's thread has stopped")]
    Stopped,
}

impl Store {
    /// Opens (creating if need be) the store at `path`, with `schema`
    /// applied after the chunks' own (the projected tables).
    pub fn open(path: &Path, schema: &str) -> Result<Store, StoreError> {
        // Owner-only from its creation: it holds contacts' names, emails and
        // phones. SQLite gives its `-wal` and `-shm` files the same mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|source| StoreError::Create {
                    path: path.to_owned(),
                    source,
                })?;
        }
        let opened = (|| {
            let connection = Connection::open(path)?;
            connection.busy_timeout(BUSY_TIMEOUT)?;
            // WAL: readers do not block the writer, and a commit is one
            // append. FULL: the append is on disk before the commit returns.
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "FULL")?;
            connection.execute_batch(SCHEMA)?;
            connection.execute_batch(schema)?;
            Ok(connection)
        })();
        let mut connection = opened.map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("portal-field-store".into())
            .spawn(move || {
                // Ends when every clone of the store is gone.
                for job in inbox {
                    // A job that panics (the projection runs document code
                    // here) drops its answer, which its caller hears as
                    // `Stopped`; the thread goes on serving the others.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&mut connection);
                    }));
                }
            })
            .map_err(|_| StoreError::Stopped)?;
        Ok(Store {
            jobs,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` on the store's thread, with its connection.
    pub async fn call<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |connection| {
                let _ = tx.send(job(connection));
            }))
            .map_err(|_| StoreError::Stopped)?;
        rx.await.map_err(|_| StoreError::Stopped)
    }

    /// Runs a statement of samod's until it succeeds: see [`TRIES`].
    async fn until_done<T: Send + 'static>(
        &self,
        what: &str,
        op: impl Fn(&Connection) -> rusqlite::Result<T> + Send + Sync + Clone + 'static,
    ) -> T {
        let mut failures = 0;
        loop {
            let op = op.clone();
            match self.call(move |connection| op(connection)).await {
                Ok(Ok(value)) => return value,
                // Another process's write: wait for it, however long.
                Ok(Err(error)) if is_busy(&error) => {}
                Ok(Err(error)) => {
                    failures += 1;
                    eprintln!("portal-field: cannot {what} in the local store ({error})");
                    if failures >= TRIES {
                        give_up(what);
                    }
                }
                Err(_) => give_up(what),
            }
            futures_timer(RETRY_AFTER).await;
        }
    }

    fn load_one(connection: &Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        connection
            .prepare_cached("SELECT data FROM chunks WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()
    }

    fn load_between(
        connection: &Connection,
        lo: &str,
        hi: &str,
    ) -> rusqlite::Result<Vec<(String, Vec<u8>)>> {
        let mut statement = connection.prepare_cached(
            "SELECT key, data FROM chunks WHERE key >= ?1 AND key < ?2 ORDER BY key",
        )?;
        let rows = statement.query_map([lo, hi], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect()
    }

    fn put_one(connection: &Connection, key: &str, data: &[u8]) -> rusqlite::Result<()> {
        connection
            .prepare_cached(
                "INSERT INTO chunks (key, data) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![key, data])?;
        Ok(())
    }

    fn delete_one(connection: &Connection, key: &str) -> rusqlite::Result<()> {
        connection
            .prepare_cached("DELETE FROM chunks WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }
}

/// Whether `error` is another process holding the file's lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Ends the process: see [`TRIES`].
fn give_up(what: &str) -> ! {
    eprintln!(
        "portal-field: giving up: cannot {what} in the local store; nothing more was kept, \
         and what was kept before is safe. Free the disk or fix the file's permissions, then \
         run the command again."
    );
    std::process::exit(1)
}

/// A runtime-free sleep (the store serves tokio and the tests' local
/// runtimes alike): a thread that sleeps and wakes a oneshot.
async fn futures_timer(duration: Duration) {
    let (tx, rx) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(duration);
        let _ = tx.send(());
    });
    let _ = rx.await;
}

impl samod::storage::Storage for Store {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        let this = self.clone();
        async move {
            let key = sync::key_to_string(&key);
            this.until_done("read a chunk", move |c| Store::load_one(c, &key))
                .await
        }
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> + Send {
        let this = self.clone();
        async move {
            let (lo, hi) = sync::prefix_range(&prefix);
            let rows = this
                .until_done("read a document", move |c| Store::load_between(c, &lo, &hi))
                .await;
            rows.into_iter()
                .filter_map(|(key, data)| Some((sync::key_from_string(&key)?, data)))
                .collect()
        }
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            let key = sync::key_to_string(&key);
            this.until_done("store a chunk", move |c| Store::put_one(c, &key, &data))
                .await;
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            let key = sync::key_to_string(&key);
            this.until_done("delete a chunk", move |c| Store::delete_one(c, &key))
                .await;
        }
    }
}
