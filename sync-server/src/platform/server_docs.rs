//! Documents the server alone writes, one per owner and kind (a partner's
//! account view, their inbox): made straight in Postgres with their
//! registry row, and changed by storing the difference outside every repo
//! (`Residency::put_outside`), which hands it to the repos holding the
//! document, and so to the owner's connected devices. Such a document is
//! never loaded into a repo to be written, so the ones nobody has open
//! stay out of memory.

use automerge::Automerge;
use samod::{DocumentId, storage::StorageKey};
use sqlx::PgPool;
use sync::DocKind;

use crate::platform::{residency::Residency, storage};

/// Why a write did not happen; only `Retry` is worth trying again.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The database or the document storage: it will come back.
    #[error("{0}")]
    Retry(String),
    /// Nothing to do about it by trying again.
    #[error("{0}")]
    GiveUp(String),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Retry(e.to_string())
    }
}

/// Makes `owner`'s document of `kind` what `write` makes of it: `write`
/// is given the document as Postgres holds it (an empty one the first
/// time) and changes it; what it changed is stored. A `write` that changes
/// nothing stores nothing.
///
/// The first time, the document is stored the way samod stores a new small
/// document (one `incremental` chunk per change), in one transaction with
/// its registry row, so no instant shows chunks nobody owns. No repo holds
/// it yet; the first device that asks for it loads it from storage.
/// Afterwards each write is a fresh load, so a new actor, which costs a few
/// bytes per change and can never reuse a sequence number.
///
/// No repo compacts such a document (a repo saves only what it holds, and
/// nobody may have it open), so every write would add a chunk that every
/// later write loads again: a partner's account view, rewritten whenever
/// their figures move, would be thousands of chunks within a year. Once a
/// document has [`COMPACT_AFTER`] chunks, the write also stores it whole as
/// one snapshot, keyed as samod keys its own (by its heads), and deletes the
/// chunks the snapshot holds.
pub async fn write_owned<E: std::fmt::Display>(
    pool: &PgPool,
    residency: &Residency,
    kind: DocKind,
    owner: &str,
    write: impl FnOnce(&mut Automerge) -> Result<(), E>,
) -> Result<(), WriteError> {
    let doc_id: Option<String> =
        sqlx::query_scalar("SELECT doc_id FROM documents WHERE kind = $2 AND owner_id = $1")
            .bind(owner)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?;
    let give_up = |what: std::fmt::Arguments| WriteError::GiveUp(what.to_string());
    let Some(doc_id) = doc_id else {
        let mut doc = Automerge::new();
        write(&mut doc).map_err(|e| give_up(format_args!("{} of {owner}: {e}", kind.as_str())))?;
        let mut tx = pool.begin().await?;
        let created = storage::insert_owned_document(&mut tx, &doc, kind, owner)
            .await
            .map_err(|e| WriteError::Retry(e.to_string()))?;
        let Some(doc_id) = created else {
            // Someone registered one first (one per owner and kind): the
            // next try writes into it.
            return Err(WriteError::Retry(format!(
                "{owner} already has a document of kind {}",
                kind.as_str()
            )));
        };
        tx.commit().await?;
        tracing::info!(%doc_id, owner, kind = kind.as_str(), "server-written document created");
        return Ok(());
    };
    let (mut doc, keys) = storage::load_document_and_keys(pool, &doc_id)
        .await
        .map_err(|error| match error {
            storage::LoadError::Db(e) => WriteError::from(e),
            other => give_up(format_args!("{doc_id} does not load: {other}")),
        })?;
    let before = doc.get_heads();
    write(&mut doc).map_err(|e| give_up(format_args!("{doc_id}: {e}")))?;
    let written = store_changes_since(residency, &doc_id, &doc, &before).await?;
    if keys.len() + written.len() > COMPACT_AFTER {
        compact(
            pool,
            residency,
            &doc_id,
            &doc,
            keys.into_iter().chain(written),
        )
        .await?;
    }
    Ok(())
}

/// Chunks a server-written document may have before a write compacts it.
pub const COMPACT_AFTER: usize = 16;

/// The key samod stores a snapshot of `doc_id` under whose heads are
/// `heads` (sorted, as `get_heads` gives them): its name is the SHA-256 of
/// the heads, in hex. Who holds the heads can tell whether such a snapshot
/// is stored without reading it.
pub fn snapshot_key(doc_id: &str, heads: &[automerge::ChangeHash]) -> String {
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    for head in heads {
        sha2::Digest::update(&mut hasher, head.as_ref());
    }
    let name: String = sha2::Digest::finalize(hasher)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{doc_id}/snapshot/{name}")
}

/// Stores `doc` whole as one snapshot of `doc_id`, then deletes `held`,
/// the chunks it holds. A chunk another writer stored meanwhile is not in
/// `held`, so it stays.
async fn compact(
    pool: &PgPool,
    residency: &Residency,
    doc_id: &str,
    doc: &Automerge,
    held: impl Iterator<Item = String>,
) -> Result<(), WriteError> {
    let id: DocumentId = doc_id
        .parse()
        .map_err(|_| WriteError::GiveUp(format!("{doc_id:?} is not a document id")))?;
    let snapshot = snapshot_key(doc_id, &doc.get_heads());
    let key = sync::key_from_string(&snapshot)
        .ok_or_else(|| WriteError::GiveUp(format!("no snapshot key for {id}")))?;
    residency.put_outside(doc_id, key, doc.save()).await;
    // In key order, as the storage writer locks rows (see `storage.rs`).
    let mut held: Vec<String> = held.filter(|k| *k != snapshot).collect();
    held.sort();
    sqlx::query("DELETE FROM doc_chunks WHERE key = ANY($1)")
        .bind(&held)
        .execute(pool)
        .await?;
    Ok(())
}

/// Stores what `doc` changed since `before` as the document `doc_id`
/// (registered already), outside every repo: the repos holding it take the
/// changes from the bus, and so do their devices. Returns the keys written.
pub async fn store_changes_since(
    residency: &Residency,
    doc_id: &str,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
) -> Result<Vec<String>, WriteError> {
    let id: DocumentId = doc_id
        .parse()
        .map_err(|_| WriteError::GiveUp(format!("{doc_id:?} is not a document id")))?;
    let mut written = Vec::new();
    for change in doc.get_changes(before) {
        let key = StorageKey::incremental_path(&id, change.hash());
        written.push(sync::key_to_string(&key));
        residency
            .put_outside(doc_id, key, change.raw_bytes().to_vec())
            .await;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The projection trusts a copy in memory when `snapshot_key` of its
    /// heads is stored; the key must be the one samod stores a compacted
    /// document under, or no snapshot would ever be recognised.
    #[test]
    fn a_snapshot_key_is_the_one_samod_stores_it_under() {
        let mut doc = Automerge::new();
        let mut heads = Vec::new();
        // Two concurrent changes: two heads, in samod's order.
        for actor in [1u8, 2] {
            let mut fork = doc.fork().with_actor(automerge::ActorId::from([actor; 16]));
            let mut tx = fork.transaction();
            automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "k", actor as i64)
                .unwrap();
            tx.commit();
            heads.push(fork);
        }
        for fork in &mut heads {
            doc.merge(fork).unwrap();
        }
        assert_eq!(doc.get_heads().len(), 2);
        let id = DocumentId::new(&mut rand::rng());
        let theirs = samod_core::StorageKey::snapshot_path(
            &id,
            &samod_core::CompactionHash::new(&doc.get_heads()),
        );
        assert_eq!(
            snapshot_key(&id.to_string(), &doc.get_heads()),
            sync::key_to_string(&theirs)
        );
    }
}
