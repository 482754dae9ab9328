//! samod's storage over Postgres.
//!
//! samod treats storage as a key/value store with prefix loads and never
//! expects errors: its `Storage` methods return plain values. So when the
//! database is unreachable this adapter does not pretend: it retries with a
//! capped backoff until the operation lands. samod does not report a change as
//! stored (and so does not tell peers it has it) until `put` returns, which is
//! what keeps a client's changes safe on the client during an outage.
//!
//! Every write of a document chunk also tells the projection worker which
//! document moved.
//!
//! # Group commit
//!
//! Writes (puts and deletes) go through one writer task, which commits
//! everything queued while its previous commit was in flight as one
//! statement. Under load a commit carries the chunks of many documents, so
//! Postgres parses, plans and commits once for all of them; when the
//! server is quiet a write is still committed at once, alone. A write is
//! acknowledged to samod only once its commit returns. Writes are applied in
//! the order samod issued them: within one commit only the last write of
//! each key counts (which is what applying them one by one would leave),
//! and commits follow one another.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    future::Future,
};

use crate::events::{DocumentStored, Outbox};
use samod::storage::StorageKey;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
pub struct PgStorage {
    pool: PgPool,
    writes: mpsc::UnboundedSender<Write>,
    node: Arc<str>,
}

/// One put (`Some` bytes) or delete (`None`), and who waits for it.
struct Write {
    key: String,
    data: Option<Vec<u8>>,
    /// The document a put's chunk belongs to: told to the projection.
    stored: Option<String>,
    done: oneshot::Sender<()>,
}

/// Writes committed together at most, and their bytes at most (one write
/// alone may be larger): a commit's bind message stays a few MiB even of
/// whole snapshots.
const MAX_GROUP: usize = 512;
const MAX_GROUP_BYTES: usize = 8 << 20;

/// The channel on which every stored chunk is noticed, as
/// `<node> <key>`: under Postgres's 8,000-byte limit, a key being a
/// document id and a hash.
pub const NOTICES: &str = "doc_chunks";

impl PgStorage {
    /// Storage over `pool`, whose committed chunk writes are told to
    /// `changed`, and to the other nodes over the same database
    /// (`platform::cluster`). Starts the writer task on the current
    /// runtime; it ends when the last clone of the storage is dropped.
    pub fn new(pool: PgPool, changed: Outbox<DocumentStored>) -> Self {
        let (writes, queue) = mpsc::unbounded_channel();
        // This process among the nodes: its notices say it, so it can
        // tell its own from others'.
        let node: Arc<str> = format!("{:016x}", rand::random::<u64>()).into();
        tokio::spawn(write_groups(pool.clone(), queue, changed, node.clone()));
        Self { pool, writes, node }
    }

    /// The name this process signs its notices with.
    pub fn node(&self) -> Arc<str> {
        self.node.clone()
    }

    /// Queues one write and waits until it is committed.
    async fn write(&self, key: &StorageKey, data: Option<Vec<u8>>) {
        let (done, committed) = oneshot::channel();
        let stored = data
            .as_ref()
            .and_then(|_| sync::document_of_key(key).map(str::to_owned));
        let write = Write {
            key: sync::key_to_string(key),
            data,
            stored,
            done,
        };
        let queued = self.writes.send(write).is_ok();
        if !(queued && committed.await.is_ok()) {
            // The writer is gone: it runs while any storage does, so the
            // runtime is shutting down, or it panicked. Either way this
            // write is not committed, and returning would tell samod it is
            // (and samod would tell peers): never return.
            tracing::error!("the storage writer is gone; a write waits for ever");
            std::future::pending::<()>().await;
        }
    }
}

/// The writer: takes whatever is queued, commits it as one group, answers
/// every waiter, tells the projection, and again.
async fn write_groups(
    pool: PgPool,
    mut queue: mpsc::UnboundedReceiver<Write>,
    changed: Outbox<DocumentStored>,
    node: Arc<str>,
) {
    let mut group: Vec<Write> = Vec::new();
    loop {
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut bytes = first.data.as_ref().map_or(0, Vec::len);
        group.push(first);
        while group.len() < MAX_GROUP && bytes < MAX_GROUP_BYTES {
            let Ok(next) = queue.try_recv() else { break };
            bytes += next.data.as_ref().map_or(0, Vec::len);
            group.push(next);
        }
        // Last write of each key. By key, so the rows a commit inserts are
        // locked in one order; a group's deletes come after its inserts,
        // so two groups (of two nodes) each deleting what the other
        // inserts can still deadlock, which Postgres breaks and `retry`
        // recovers from: rare, and it costs only latency.
        let mut last: BTreeMap<&str, Option<&[u8]>> = BTreeMap::new();
        for write in &group {
            last.insert(&write.key, write.data.as_deref());
        }
        let (mut put_keys, mut put_data, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
        for (key, data) in last {
            match data {
                Some(data) => {
                    put_keys.push(key);
                    put_data.push(data);
                }
                None => deleted.push(key),
            }
        }
        let first = group[0].key.clone();
        let written: Vec<(String, String)> = retry("write", &first, || {
            sqlx::query_as(
                // Each chunk that is new or changed is noticed to the other
                // nodes, on commit (`platform::cluster`). The same bytes
                // again (a repo storing what it took from the bus) are
                // neither written nor noticed: an echo ends here.
                "WITH deleted AS (DELETE FROM doc_chunks WHERE key = ANY($3)),
                 written AS (
                     INSERT INTO doc_chunks (key, data)
                     SELECT * FROM unnest($1::text[], $2::bytea[])
                     ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, written_at = now()
                     WHERE doc_chunks.data IS DISTINCT FROM EXCLUDED.data
                     RETURNING key)
                 SELECT key, pg_notify($5, $4 || ' ' || key)::text FROM written",
            )
            .bind(&put_keys)
            .bind(&put_data)
            .bind(&deleted)
            .bind(&*node)
            .bind(NOTICES)
            .fetch_all(&pool)
        })
        .await;
        // Only what this commit wrote is this node's to project: an echo
        // of a chunk another node (or another repo here) stored first is
        // projected by whoever stored it, and a node that dies before it
        // does leaves it to the rescan (`cluster::rescan`).
        let written: HashSet<&str> = written.iter().map(|(key, _)| key.as_str()).collect();
        for write in group.drain(..) {
            if let Some(doc) = write
                .stored
                .filter(|_| written.contains(write.key.as_str()))
            {
                // The worker may be gone during shutdown; nothing to tell then.
                changed.send(DocumentStored(doc));
            }
            let _ = write.done.send(());
        }
    }
}

/// Retries `op` until it lands (see [`sync::retry_forever`]).
async fn retry<T, F, Fut>(what: &str, key: &str, op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    sync::retry_forever(op, tokio::time::sleep, |error, retry_in| {
        tracing::warn!(%error, op = what, key, ?retry_in, "storage operation failed");
    })
    .await
}

impl samod::storage::Storage for PgStorage {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        let pool = self.pool.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("load", &k, || {
                sqlx::query_scalar::<_, Vec<u8>>("SELECT data FROM doc_chunks WHERE key = $1")
                    .bind(&k)
                    .fetch_optional(&pool)
            })
            .await
        }
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> + Send {
        let pool = self.pool.clone();
        async move {
            let (lo, hi) = sync::prefix_range(&prefix);
            let rows: Vec<(String, Vec<u8>)> = retry("load_range", &lo, || {
                sqlx::query_as("SELECT key, data FROM doc_chunks WHERE key >= $1 AND key < $2")
                    .bind(&lo)
                    .bind(&hi)
                    .fetch_all(&pool)
            })
            .await;
            rows.into_iter()
                .filter_map(|(k, data)| Some((sync::key_from_string(&k)?, data)))
                .collect()
        }
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move { this.write(&key, Some(data)).await }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move { this.write(&key, None).await }
    }
}

/// Every stored chunk of one document, as bytes Automerge can load.
pub async fn load_document(pool: &PgPool, doc_id: &str) -> Result<automerge::Automerge, LoadError> {
    Ok(load_document_and_keys(pool, doc_id).await?.0)
}

/// [`load_document`], and the keys of the chunks it was loaded from.
pub async fn load_document_and_keys(
    pool: &PgPool,
    doc_id: &str,
) -> Result<(automerge::Automerge, Vec<String>), LoadError> {
    let prefix = StorageKey::from_parts([doc_id]).map_err(|_| LoadError::BadId)?;
    let (lo, hi) = sync::prefix_range(&prefix);
    let chunks: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT key, data FROM doc_chunks WHERE key >= $1 AND key < $2 ORDER BY key",
    )
    .bind(&lo)
    .bind(&hi)
    .fetch_all(pool)
    .await?;
    let mut doc = automerge::Automerge::new();
    // Snapshots and incrementals overlap while samod compacts; loading a
    // change twice is harmless.
    for (_, chunk) in &chunks {
        doc.load_incremental(chunk)?;
    }
    Ok((doc, chunks.into_iter().map(|(key, _)| key).collect()))
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a document id")]
    BadId,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("stored chunk does not decode: {0}")]
    Decode(#[from] automerge::AutomergeError),
}

/// Stores `doc` as a new document ([`insert_new_document`]) and registers
/// it as `owner`'s of `kind`, on `tx`; `None` when the owner has one of
/// that kind already (one each, for the kinds that are one each), and then
/// nothing is registered (the caller's transaction should roll back).
pub async fn insert_owned_document(
    tx: &mut sqlx::PgConnection,
    doc: &automerge::Automerge,
    kind: sync::DocKind,
    owner: &str,
) -> anyhow::Result<Option<String>> {
    let doc_id = insert_new_document(&mut *tx, doc).await?.to_string();
    let registered = sqlx::query(
        "INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&doc_id)
    .bind(kind.as_str())
    .bind(owner)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    Ok(registered.then_some(doc_id))
}

/// Stores a new document straight into Postgres on `tx`, under a fresh
/// random id (made as samod makes them), one incremental chunk
/// per change, exactly as samod would store it. The server makes its
/// documents this way rather than through a repo, so they stay out of
/// memory until a client asks for one (a repo never lets a document go, see
/// `residency.rs`), and the chunks commit or roll back with the registry row
/// the caller writes on the same transaction: no instant shows chunks that
/// nobody owns.
pub async fn insert_new_document(
    tx: &mut sqlx::PgConnection,
    doc: &automerge::Automerge,
) -> anyhow::Result<samod::DocumentId> {
    let doc_id = samod::DocumentId::new(&mut rand::rng());
    for change in doc.get_changes(&[]) {
        let key = StorageKey::incremental_path(&doc_id, change.hash());
        sqlx::query("INSERT INTO doc_chunks (key, data) VALUES ($1, $2)")
            .bind(sync::key_to_string(&key))
            .bind(change.raw_bytes())
            .execute(&mut *tx)
            .await?;
    }
    Ok(doc_id)
}
