//! The bus between nodes: several server processes over one Postgres, each
//! with its own repos, see each other's changes live.
//!
//! Within a process the bus of `residency.rs` hands every stored chunk to
//! the other repos holding its document. Between processes the storage
//! does the telling: the statement that commits a group of chunks also
//! notifies each new or changed one on `storage::NOTICES` as
//! `<node> <key>`, in the same transaction, so no notice goes out for a
//! chunk that is not stored. (Documents created straight in Postgres and
//! deletions are not noticed: nobody elsewhere holds the first, and a
//! deleted chunk's content is in the snapshot that replaced it, which is.)
//! Each node listens; of a notice from another node about a document
//! some repo of its own holds, it reads the chunk from Postgres (a
//! payload is under 8,000 bytes, a chunk need not be) and hands it to
//! those repos as the in-process bus would. What no repo here holds is
//! left: a repo that loads the document later reads it from Postgres. A
//! repo that applies a change stores it again, the same bytes under the
//! same key, which writes and notifies nothing, so the echo ends there; a
//! snapshot applied is stored as the changes that were new to the repo,
//! which bounce once and are compacted again.
//!
//! Notices can be lost: Postgres drops them for a listener whose
//! connection broke, and a node may be slow to read. So every
//! `repair_every`, and at once after the listener reconnects, the node
//! compares what its repos hold with what is stored: it lists the stored
//! keys of every document held here (one statement per batch of
//! documents) and reads the chunks a copy lacks: a change by its hash
//! (the copy says whether it has it), a snapshot by its heads (read once
//! when the snapshot is, and remembered while it is stored). Listing
//! keys, not loading documents, keeps a comparison of thousands of
//! resident documents to a few statements.
//!
//! Postgres `LISTEN/NOTIFY` rather than a broker: it needs nothing the
//! server does not have already, the notice rides the commit that makes
//! the chunk durable, and at-most-once delivery is what every broker of
//! the kind gives too, so the comparison is needed whichever is used.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::Notify;

use crate::{
    events::{DocumentStored, Outbox},
    lock,
    platform::{residency::Residency, storage::NOTICES},
};

/// Documents whose keys one comparison statement lists.
const COMPARE_BATCH: usize = 500;

/// How far before the last pass a [`rescan`] looks again: a chunk's
/// `written_at` is its transaction's start, which may precede the commit
/// that made it visible by the length of that transaction.
const RESCAN_OVERLAP: Duration = Duration::from_secs(10);

/// Snapshots read here, by key, with their heads.
type Known = Mutex<HashMap<String, Vec<automerge::ChangeHash>>>;

/// Starts following the other nodes: a listener, and the comparison every
/// `repair_every`. They run as long as the runtime does (the process);
/// each ends at its next turn once the residency is gone.
pub fn follow(pool: PgPool, node: Arc<str>, residency: &Arc<Residency>, repair_every: Duration) {
    let known = Arc::new(Known::default());
    let lost = Arc::new(Notify::new());
    tokio::spawn(listen(
        pool.clone(),
        node,
        Arc::downgrade(residency),
        known.clone(),
        lost.clone(),
    ));
    tokio::spawn(compare_every(
        pool,
        Arc::downgrade(residency),
        known,
        lost,
        repair_every,
    ));
}

/// Reads the notices of other nodes and applies what they name.
async fn listen(
    pool: PgPool,
    node: Arc<str>,
    residency: Weak<Residency>,
    known: Arc<Known>,
    lost: Arc<Notify>,
) {
    let mut first = true;
    loop {
        let mut listener = listener_on(&pool, NOTICES).await;
        // Whatever was stored while nobody listened: compare now. (Before
        // the first listen nothing held here can be behind: a repo loads
        // from Postgres.)
        if !std::mem::take(&mut first) {
            lost.notify_one();
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => {
                    let mut notices = vec![notice];
                    while let Some(more) = listener.next_buffered() {
                        notices.push(more);
                    }
                    let Some(residency) = residency.upgrade() else {
                        return;
                    };
                    let keys = notices
                        .iter()
                        .filter_map(|n| other_nodes_key(n.payload(), &node))
                        .filter(|key| {
                            sync::key_from_string(key)
                                .and_then(|k| sync::document_of_key(&k).map(str::to_owned))
                                .is_some_and(|doc| residency.holds(&doc))
                        })
                        .map(str::to_owned)
                        .collect::<HashSet<String>>();
                    if let Err(error) = take(&pool, &residency, &known, keys).await {
                        // The comparison will find what this missed.
                        tracing::warn!(%error, "cannot read chunks other nodes stored");
                        lost.notify_one();
                    }
                }
                // The connection broke and is back: notices in between are
                // gone.
                Ok(None) => lost.notify_one(),
                Err(error) => {
                    tracing::warn!(%error, "the listener to other nodes failed; reconnecting");
                    break;
                }
            }
        }
    }
}

/// A connection listening on `channel`, once Postgres gives one: retried
/// with a capped backoff, since nothing here can go on without it.
pub async fn listener_on(pool: &PgPool, channel: &str) -> PgListener {
    let mut delay = Duration::from_millis(100);
    loop {
        let listening = async {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => return listener,
            Err(error) => {
                tracing::warn!(%error, ?delay, channel, "cannot listen; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The key a notice names, unless this node sent it.
fn other_nodes_key<'a>(payload: &'a str, node: &str) -> Option<&'a str> {
    let (from, key) = payload.split_once(' ')?;
    (from != node && !key.is_empty()).then_some(key)
}

/// Reads the chunks of `keys` and hands each to the repos holding its
/// document. A chunk deleted meanwhile (compacted into a snapshot) is
/// skipped: the snapshot has its own notice.
async fn take(
    pool: &PgPool,
    residency: &Residency,
    known: &Known,
    keys: HashSet<String>,
) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = keys.into_iter().collect();
    let chunks: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT key, data FROM doc_chunks WHERE key = ANY($1) ORDER BY key")
            .bind(&keys)
            .fetch_all(pool)
            .await?;
    for (key, data) in chunks {
        let Some(doc) =
            sync::key_from_string(&key).and_then(|k| sync::document_of_key(&k).map(str::to_owned))
        else {
            continue;
        };
        if key.split('/').nth(1) == Some("snapshot") {
            // What it holds, so a later comparison can tell whether a copy
            // has it (one that failed to apply it now is found then).
            match automerge::Automerge::load(&data) {
                Ok(snapshot) => {
                    lock(known).insert(key, snapshot.get_heads());
                }
                Err(error) => tracing::warn!(%error, key, "a stored snapshot does not load"),
            }
        }
        residency.apply_stored_elsewhere(&doc, data);
    }
    Ok(())
}

/// Tells `stored` of every document written since the last pass, every
/// `period`, while this node leads the pass (`leader.rs`): a node that
/// stored a change and died before its workers projected it leaves the
/// work to this one. Each projection compares a document's heads with
/// those it last projected, so a document already projected costs a read
/// of its heads, not a second projection. The first pass after taking
/// the lead looks back two periods (the last leader's last pass may have
/// been one before it died).
pub async fn rescan(pool: PgPool, stored: Outbox<DocumentStored>, period: Duration) {
    let mut since: Option<chrono::DateTime<chrono::Utc>> = None;
    loop {
        let pass = written_since(&pool, since, period * 2 + RESCAN_OVERLAP).await;
        match pass {
            Ok((docs, now)) => {
                if !docs.is_empty() {
                    tracing::debug!(docs = docs.len(), "rescan: documents written lately");
                }
                for doc in docs {
                    stored.send(DocumentStored(doc));
                }
                since = Some(now - RESCAN_OVERLAP);
            }
            Err(error) => tracing::warn!(%error, "cannot list documents written lately"),
        }
        tokio::time::sleep(period).await;
    }
}

/// The documents with a chunk written after `since` (or within `first`
/// before now, on the first pass), and the database's now: its clock, not
/// this node's, is the one `written_at` was set by.
async fn written_since(
    pool: &PgPool,
    since: Option<chrono::DateTime<chrono::Utc>>,
    first: Duration,
) -> Result<(Vec<String>, chrono::DateTime<chrono::Utc>), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let since = since.unwrap_or_else(|| {
        now - chrono::Duration::from_std(first).unwrap_or(chrono::Duration::days(1))
    });
    // A document's chunks of both kinds name it once.
    let docs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT split_part(key, '/', 1) FROM doc_chunks
         WHERE written_at > $1 AND split_part(key, '/', 2) IN ('incremental', 'snapshot')",
    )
    .bind(since)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((docs, now))
}

/// Compares every `period`, and when told notices were lost.
async fn compare_every(
    pool: PgPool,
    residency: Weak<Residency>,
    known: Arc<Known>,
    lost: Arc<Notify>,
    period: Duration,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = lost.notified() => {}
        }
        let Some(residency) = residency.upgrade() else {
            return;
        };
        if let Err(error) = compare(&pool, &residency, &known).await {
            tracing::warn!(%error, "cannot compare resident documents with storage");
        }
    }
}

/// One comparison of everything held here with what is stored.
pub async fn compare(
    pool: &PgPool,
    residency: &Residency,
    known: &Known,
) -> Result<usize, sqlx::Error> {
    let held = residency.held();
    let seen = lock(known).clone();
    let mut taken = 0;
    let mut still_stored: HashSet<String> = HashSet::new();
    for docs in held.chunks(COMPARE_BATCH) {
        let (lows, highs): (Vec<String>, Vec<String>) = docs
            .iter()
            .filter_map(|doc| samod::storage::StorageKey::from_parts([doc.as_str()]).ok())
            .map(|prefix| sync::prefix_range(&prefix))
            .unzip();
        // A range scan of the key index per document, forced as the
        // projection's batch load is (`pipeline/projection.rs`): as a
        // plain join it was a scan of every chunk.
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT c.key FROM unnest($1::text[], $2::text[]) AS r (lo, hi)
             CROSS JOIN LATERAL (
                 SELECT key FROM doc_chunks WHERE key >= r.lo AND key < r.hi OFFSET 0
             ) AS c",
        )
        .bind(&lows)
        .bind(&highs)
        .fetch_all(pool)
        .await?;
        let mut by_doc: HashMap<&str, Vec<String>> = HashMap::new();
        for key in &keys {
            if let Some((doc, _)) = key.split_once('/') {
                by_doc.entry(doc).or_default().push(key.clone());
            }
        }
        let mut lacking = HashSet::new();
        for (doc, keys) in &by_doc {
            lacking.extend(residency.lacking(doc, keys, &seen).await);
        }
        still_stored.extend(keys.into_iter().filter(|k| k.contains("/snapshot/")));
        taken += lacking.len();
        take(pool, residency, known, lacking).await?;
    }
    // Forget snapshots no longer stored (compacted again) or of documents
    // no longer held, so what is remembered stays what is held.
    lock(known).retain(|key, _| still_stored.contains(key));
    if taken > 0 {
        tracing::info!(chunks = taken, "took chunks whose notices were missed");
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_a_key_only_from_another_node() {
        assert_eq!(
            other_nodes_key("a1 doc/incremental/ff", "b2"),
            Some("doc/incremental/ff")
        );
        assert_eq!(other_nodes_key("a1 doc/incremental/ff", "a1"), None);
        // Hostile or broken payloads name nothing.
        assert_eq!(other_nodes_key("a1", "b2"), None);
        assert_eq!(other_nodes_key("a1 ", "b2"), None);
        assert_eq!(other_nodes_key("", "b2"), None);
    }
}
