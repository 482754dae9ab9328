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

use std::{collections::HashMap, future::Future};

use crate::events::{DocumentStored, Outbox};
use samod::storage::StorageKey;
use sqlx::PgPool;

#[derive(Clone)]
pub struct PgStorage {
    pool: PgPool,
    changed: Outbox<DocumentStored>,
}

impl PgStorage {
    pub fn new(pool: PgPool, changed: Outbox<DocumentStored>) -> Self {
        Self { pool, changed }
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
        let pool = self.pool.clone();
        let changed = self.changed.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("put", &k, || {
                sqlx::query(
                    "INSERT INTO doc_chunks (key, data) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, written_at = now()",
                )
                .bind(&k)
                .bind(&data)
                .execute(&pool)
            })
            .await;
            if let Some(doc) = sync::document_of_key(&key) {
                // The worker may be gone during shutdown; nothing to tell then.
                changed.send(DocumentStored(doc.to_owned()));
            }
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        let pool = self.pool.clone();
        async move {
            let k = sync::key_to_string(&key);
            retry("delete", &k, || {
                sqlx::query("DELETE FROM doc_chunks WHERE key = $1")
                    .bind(&k)
                    .execute(&pool)
            })
            .await;
        }
    }
}

/// Every stored chunk of one document, as bytes Automerge can load.
pub async fn load_document(pool: &PgPool, doc_id: &str) -> Result<automerge::Automerge, LoadError> {
    let prefix = StorageKey::from_parts([doc_id]).map_err(|_| LoadError::BadId)?;
    let (lo, hi) = sync::prefix_range(&prefix);
    let chunks: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT data FROM doc_chunks WHERE key >= $1 AND key < $2 ORDER BY key")
            .bind(&lo)
            .bind(&hi)
            .fetch_all(pool)
            .await?;
    let mut doc = automerge::Automerge::new();
    // Snapshots and incrementals overlap while samod compacts; loading a
    // change twice is harmless.
    for chunk in &chunks {
        doc.load_incremental(chunk)?;
    }
    Ok(doc)
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
