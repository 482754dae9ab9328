//! Projection of merged documents into relational rows.
//!
//! The worker hears from storage which documents moved, loads each one from
//! its stored chunks, and, in one transaction, writes its rows together with
//! the heads it projected. Heads make it idempotent (the same heads twice
//! change nothing) and resumable: at start it looks at every registered
//! document and re-projects those whose heads moved while it was down.
//!
//! A pipeline's projection files its won leads as deals, which its owner's
//! account view shows: after each one the owner is sent to the account view
//! writer (`account_view/views.rs`).
//!
//! Documents are written by clients, so a lead may say what no row can hold
//! without inventing a value (a negative amount, a time outside the years 1
//! to 9999, an entry that does not read as a lead). Such a lead is not
//! projected: its previous row and deal stay as they were, a warning names
//! the document and the lead, and `projection_rejects` counts it. A lead
//! moved out of "won" after its deal was approved leaves the deal approved
//! and is recorded in `deal_conflicts` (see `file_deals`).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use crate::events::{ActivitySeen, DocumentStored, FiguresMoved, Inbox, Outbox};

use model::{Pipeline, PipelineDoc, Stage};
use projection::pipeline::{LeadRow, Leads};
use sqlx::PgPool;
use sync::DocKind;

use crate::platform::{residency::Residency, server_docs, storage::LoadError};
use samod::storage::StorageKey;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rows written for new heads.
    Projected { rows: usize },
    /// The stored heads were already projected.
    Unchanged,
    /// Not a registered document (samod also stores documents that no
    /// projection reads); nothing to do.
    Unregistered,
    /// Another module's kind (a channel's messages, a training record):
    /// not loaded at all, as a chat at ten messages a second would have
    /// every one of its changes loaded here for nothing.
    NotMine,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("document does not read as a {kind}: {source}")]
    Model {
        kind: &'static str,
        source: model::ModelError,
    },
    #[error("registry names an unknown kind: {0}")]
    Kind(#[from] sync::UnknownKind),
}

/// How long the worker gathers what moved before projecting it. A
/// document is edited in bursts (one lead's fields, a move and its log
/// entry, the other device's echo): gathered, a burst is projected once,
/// and the documents of many partners share one transaction, whose few
/// statements cost Postgres far more than their rows do. Nothing waits on
/// a projection but the back-office's queue and the team views.
const GATHER: Duration = Duration::from_millis(200);

/// Documents projected in one transaction at most.
const BATCH: usize = 256;

/// How much later than a document's last chunk its projection must have
/// begun for a node starting up to take it as caught up (see `run`).
const CAUGHT_UP_MARGIN: Duration = Duration::from_secs(10);

/// Projects what `changed` names; once a projection is committed, tells
/// `owners` whose deals it changed and `activity` whose pipeline it
/// projected (what others see of them: their team leader's view).
pub async fn run(
    pool: PgPool,
    resident: Arc<Residency>,
    mut changed: Inbox<DocumentStored>,
    owners: Outbox<FiguresMoved>,
    activity: Outbox<ActivitySeen>,
) {
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut open = true;
    while open || !pending.is_empty() {
        if pending.is_empty() {
            match changed.recv().await {
                Some(DocumentStored(doc)) => pending.insert(doc),
                None => return,
            };
            let until = tokio::time::Instant::now() + GATHER;
            while open {
                tokio::select! {
                    stored = changed.recv() => match stored {
                        Some(DocumentStored(doc)) => { pending.insert(doc); }
                        None => open = false,
                    },
                    () = tokio::time::sleep_until(until) => break,
                }
            }
        }
        while let Ok(DocumentStored(doc)) = changed.try_recv() {
            pending.insert(doc);
        }
        let mut batch = Vec::with_capacity(BATCH.min(pending.len()));
        while batch.len() < BATCH {
            let Some(doc) = pending.pop_first() else {
                break;
            };
            batch.push(doc);
        }
        match project_batch(&pool, Some(&resident), &batch).await {
            Ok(done) => {
                for (doc_id, outcome) in &done.outcomes {
                    match outcome {
                        Ok(Outcome::Projected { rows }) => {
                            tracing::debug!(doc_id, rows, "projected");
                        }
                        Ok(_) => {}
                        Err(error) => tracing::error!(%error, doc_id, "cannot project document"),
                    }
                }
                for owner in done.deals_changed {
                    owners.send(FiguresMoved(owner));
                }
                for owner in done.projected_owners {
                    activity.send(ActivitySeen(owner));
                }
            }
            Err(error) => {
                // The database is away; keep the documents and try again.
                tracing::warn!(%error, docs = batch.len(), "projection failed; will retry");
                pending.extend(batch);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Hands `stored` the documents that may have moved while no node was
/// projecting them, then waits for ever: run by one node at a time
/// (`platform::leader`, started again on each node that takes the lead),
/// so nodes started together do not each read every document. Those are
/// the documents with no projection, or with a chunk written less than
/// [`CAUGHT_UP_MARGIN`] before their projection began: a chunk's time is
/// its transaction's start, and a projection can begin before a chunk
/// whose transaction began earlier commits; no storage transaction lasts
/// the margin, so a document projected longer than that after its last
/// write was projected with it. The rest (all of them after a quiet
/// restart) cost nothing (10,000 documents on three nodes used to be
/// 30,000 loads, docs/performance.md).
pub async fn catch_up(pool: PgPool, stored: Outbox<DocumentStored>) {
    let behind = sync::retry_forever(
        || {
            sqlx::query_scalar::<_, String>(
                "SELECT d.doc_id FROM documents d
                 LEFT JOIN projections p ON p.doc_id = d.doc_id
                 WHERE d.kind IN ('pipeline', 'note')
                   AND (p.projected_at IS NULL OR p.projected_at - $1 <= (
                       SELECT max(c.written_at) FROM doc_chunks c
                       WHERE c.key >= d.doc_id || '/' AND c.key < d.doc_id || '0'))",
            )
            .bind(CAUGHT_UP_MARGIN)
            .fetch_all(&pool)
        },
        tokio::time::sleep,
        |error, delay| tracing::warn!(%error, ?delay, "projection catch-up cannot list documents"),
    )
    .await;
    tracing::info!(documents = behind.len(), "projection catch-up");
    for doc in behind {
        stored.send(DocumentStored(doc));
    }
    std::future::pending::<()>().await;
}

/// Projects one document if its stored heads moved since the last projection.
pub async fn project(pool: &PgPool, doc_id: &str) -> Result<Outcome, ProjectionError> {
    let mut done = project_batch(pool, None, &[doc_id.to_owned()]).await?;
    done.outcomes
        .remove(doc_id)
        .unwrap_or(Ok(Outcome::Unregistered))
}

/// What one transaction projected.
#[derive(Debug, Default)]
struct Projected {
    /// Each document asked for, and what became of it. A document that
    /// cannot be read says why here; the others are committed all the same.
    outcomes: BTreeMap<String, Result<Outcome, ProjectionError>>,
    /// Owners whose deals or conflicts changed (their account view shows
    /// them).
    deals_changed: BTreeSet<String>,
    /// Owners whose pipeline was projected (their team leader's view).
    projected_owners: BTreeSet<String>,
}

/// A document this transaction writes.
struct Loaded {
    doc_id: String,
    owner: Option<String>,
    heads: Vec<String>,
    pipeline: Option<Pipeline>,
}

/// Projects the documents of `doc_ids` whose stored heads moved, in one
/// transaction of a handful of statements whatever their number: their
/// registry rows, their chunks, their projected heads, every lead of all of
/// them, and their new heads are each one statement. Only a document where
/// a lead entered, left or changed while "won" (or a won lead went) files
/// its deals, which takes a few statements of its own. `Err` only when the
/// database fails, and then nothing is committed.
async fn project_batch(
    pool: &PgPool,
    resident: Option<&Residency>,
    doc_ids: &[String],
) -> Result<Projected, sqlx::Error> {
    let mut done = Projected::default();
    // One projection of a document at a time, whichever worker or node
    // runs it: each reads the document, and what was projected before,
    // only once it holds the document's lock, so one that read first
    // cannot write an older state over a newer one. Taken in the order of
    // the locks' own keys, so two batches cannot deadlock.
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('projections'), h)
         FROM (SELECT DISTINCT hashtext(d) AS h FROM unnest($1::text[]) AS d ORDER BY 1) AS locks",
    )
    .bind(doc_ids)
    .execute(&mut *tx)
    .await?;
    let (registry, others): (Vec<Registered>, Vec<Registered>) = sqlx::query_as::<_, Registered>(
        "SELECT doc_id, kind, owner_id FROM documents WHERE doc_id = ANY($1)",
    )
    .bind(doc_ids)
    .fetch_all(pool)
    .await?
    .into_iter()
    .partition(|(_, kind, _)| matches!(kind.as_str(), "pipeline" | "note"));
    // Another module's kind (the router sends a document whose kind it
    // could not read to every projection), or not registered at all.
    for (doc_id, _, _) in others {
        done.outcomes.insert(doc_id, Ok(Outcome::NotMine));
    }
    let registered: BTreeSet<&str> = registry.iter().map(|(doc, _, _)| doc.as_str()).collect();
    for doc_id in doc_ids {
        if !registered.contains(doc_id.as_str()) {
            done.outcomes
                .entry(doc_id.clone())
                .or_insert(Ok(Outcome::Unregistered));
        }
    }
    if registry.is_empty() {
        return Ok(done);
    }
    // What was projected last: a copy in memory that lacks any of it is
    // behind, and projecting it would move rows backwards.
    let projected_before: BTreeMap<String, Vec<String>> = if resident.is_some() {
        sqlx::query_as::<_, (String, Vec<String>)>(
            "SELECT doc_id, heads FROM projections WHERE doc_id = ANY($1)",
        )
        .bind(
            registry
                .iter()
                .map(|(doc, _, _)| doc.as_str())
                .collect::<Vec<_>>(),
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect()
    } else {
        BTreeMap::new()
    };
    // Read from a repo's copy when one holds the document (it is in memory,
    // and decoding it from its chunks again was most of a projection's
    // CPU), else from storage.
    let mut loaded = Vec::with_capacity(registry.len());
    let mut from_storage = Vec::new();
    let mut from_memory = Vec::new();
    for (doc_id, kind, owner) in registry {
        let kind = match DocKind::parse(&kind) {
            Ok(kind) => kind,
            Err(error) => {
                done.outcomes.insert(doc_id, Err(error.into()));
                continue;
            }
        };
        let before = projected_before.get(&doc_id);
        let read = match resident {
            Some(resident) => resident
                .read_resident(&doc_id, |doc| {
                    let holds_all = before.is_none_or(|heads| {
                        heads.iter().all(|head| {
                            head.parse::<automerge::ChangeHash>()
                                .is_ok_and(|head| doc.get_change_meta_by_hash(&head).is_some())
                        })
                    });
                    holds_all.then(|| read_doc(kind, owner.as_deref(), doc))
                })
                .await
                .flatten(),
            None => None,
        };
        match read {
            Some(read) => from_memory.push((doc_id, kind, owner, read)),
            None => from_storage.push((doc_id, kind, owner)),
        }
    }
    // A repo applies a change before storing it. What is projected must be
    // stored (a projection ahead of storage would file a deal from a change
    // a crash could lose), so a copy read in memory is used only when each
    // of its heads is stored as a change of its own, or a snapshot of
    // exactly its heads is stored (samod compacts a document's changes
    // into one as they pile up); otherwise (heads not stored yet, or
    // split between a snapshot and changes) the document is read from
    // storage. One statement for all of them.
    let head_keys: Vec<String> = from_memory
        .iter()
        .filter_map(|(doc_id, _, _, read)| Some((doc_id, read.as_ref().ok()?)))
        .flat_map(|(doc_id, (heads, _))| {
            heads
                .iter()
                .map(move |head| format!("{doc_id}/incremental/{head}"))
                .chain(snapshot_of(doc_id, heads))
        })
        .collect();
    let stored: BTreeSet<String> = if head_keys.is_empty() {
        BTreeSet::new()
    } else {
        sqlx::query_scalar::<_, String>("SELECT key FROM doc_chunks WHERE key = ANY($1)")
            .bind(&head_keys)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect()
    };
    for (doc_id, kind, owner, read) in from_memory {
        let durable = match &read {
            Ok((heads, _)) => {
                !heads.is_empty()
                    && (heads
                        .iter()
                        .all(|head| stored.contains(&format!("{doc_id}/incremental/{head}")))
                        || snapshot_of(&doc_id, heads).is_some_and(|key| stored.contains(&key)))
            }
            // What does not read in memory would not read from storage.
            Err(_) => true,
        };
        if durable {
            take(&mut loaded, &mut done, doc_id, owner, read);
        } else {
            from_storage.push((doc_id, kind, owner));
        }
    }
    tracing::debug!(
        in_memory = loaded.len(),
        from_storage = from_storage.len(),
        "projection batch read"
    );
    let mut chunks = load_documents(
        pool,
        &from_storage
            .iter()
            .map(|(doc, _, _)| doc.as_str())
            .collect::<Vec<_>>(),
    )
    .await?;
    for (doc_id, kind, owner) in from_storage {
        let read = chunks
            .remove(&doc_id)
            .unwrap_or_else(|| Ok(automerge::Automerge::new()))
            .and_then(|doc| read_doc(kind, owner.as_deref(), &doc));
        take(&mut loaded, &mut done, doc_id, owner, read);
    }

    // Rows are locked in document order, so two workers cannot deadlock.
    loaded.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
    let projected: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT doc_id, heads FROM projections WHERE doc_id = ANY($1)
         ORDER BY doc_id FOR UPDATE",
    )
    .bind(
        loaded
            .iter()
            .map(|doc| doc.doc_id.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    let projected: BTreeMap<String, Vec<String>> = projected.into_iter().collect();
    loaded.retain(|doc| {
        let same = projected.get(&doc.doc_id) == Some(&doc.heads);
        if same {
            done.outcomes
                .insert(doc.doc_id.clone(), Ok(Outcome::Unchanged));
        }
        !same
    });
    if loaded.is_empty() {
        return Ok(done);
    }
    let pipelines: Vec<Owned<'_>> = loaded
        .iter()
        .filter_map(|doc| {
            let owner = doc.owner.as_deref()?;
            let pipeline = doc.pipeline.as_ref()?;
            Some(Owned {
                doc_id: &doc.doc_id,
                owner,
                leads: Leads::of(pipeline),
            })
        })
        .collect();
    let to_file = write_leads(&mut tx, &pipelines).await?;
    for pipeline in &pipelines {
        if to_file.contains(pipeline.doc_id)
            && file_deals(&mut tx, pipeline.doc_id, pipeline.owner, &pipeline.leads).await?
        {
            done.deals_changed.insert(pipeline.owner.to_owned());
        }
        done.projected_owners.insert(pipeline.owner.to_owned());
    }
    sqlx::query(
        "INSERT INTO projections (doc_id, heads)
         SELECT doc_id, string_to_array(heads, ',')
         FROM unnest($1::text[], $2::text[]) AS p (doc_id, heads)
         ON CONFLICT (doc_id) DO UPDATE SET heads = EXCLUDED.heads, projected_at = now()",
    )
    .bind(
        loaded
            .iter()
            .map(|doc| doc.doc_id.as_str())
            .collect::<Vec<_>>(),
    )
    // Postgres has no arrays of arrays of uneven length: each document's
    // heads go as one comma-separated text (hashes are hex).
    .bind(
        loaded
            .iter()
            .map(|doc| doc.heads.join(","))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let rows: BTreeMap<&str, usize> = pipelines
        .iter()
        .map(|p| (p.doc_id, p.leads.rows.len()))
        .collect();
    for doc in &loaded {
        let rows = rows.get(doc.doc_id.as_str()).copied().unwrap_or(0);
        done.outcomes
            .insert(doc.doc_id.clone(), Ok(Outcome::Projected { rows }));
    }
    Ok(done)
}

/// A registry row: document, kind, owner.
type Registered = (String, String, Option<String>);

/// A document read: to be written (`loaded`), or why it cannot be.
fn take(
    loaded: &mut Vec<Loaded>,
    done: &mut Projected,
    doc_id: String,
    owner: Option<String>,
    read: Result<(Vec<String>, Option<Pipeline>), ProjectionError>,
) {
    match read {
        Ok((heads, pipeline)) => loaded.push(Loaded {
            doc_id,
            owner,
            heads,
            pipeline,
        }),
        Err(error) => {
            done.outcomes.insert(doc_id, Err(error));
        }
    }
}

/// The key of a snapshot of `doc_id` holding exactly `heads` (as
/// `read_doc` gives them: hex, sorted, which is the hashes' order).
fn snapshot_of(doc_id: &str, heads: &[String]) -> Option<String> {
    let heads = heads
        .iter()
        .map(|head| head.parse().ok())
        .collect::<Option<Vec<automerge::ChangeHash>>>()?;
    Some(server_docs::snapshot_key(doc_id, &heads))
}

/// A document's heads (sorted, as `projections` holds them) and, for an
/// owned pipeline, its leads. Nothing relational is read from a note yet;
/// its heads are still recorded, so "projected up to" means the same for
/// both kinds.
fn read_doc(
    kind: DocKind,
    owner: Option<&str>,
    doc: &automerge::Automerge,
) -> Result<(Vec<String>, Option<Pipeline>), ProjectionError> {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    let pipeline = match (kind, owner) {
        (DocKind::Pipeline, Some(_)) => {
            Some(
                PipelineDoc::read(doc).map_err(|source| ProjectionError::Model {
                    kind: "pipeline",
                    source,
                })?,
            )
        }
        _ => None,
    };
    Ok((heads, pipeline))
}

/// A pipeline's leads, with the document and the owner its rows follow.
struct Owned<'a> {
    doc_id: &'a str,
    owner: &'a str,
    leads: Leads<'a>,
}

/// Every stored chunk of each of `doc_ids` in one statement, loaded as
/// Automerge documents; a document whose chunks do not decode says why.
async fn load_documents(
    pool: &PgPool,
    doc_ids: &[&str],
) -> Result<BTreeMap<String, Result<automerge::Automerge, ProjectionError>>, sqlx::Error> {
    if doc_ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut ids = Vec::with_capacity(doc_ids.len());
    let mut los = Vec::with_capacity(doc_ids.len());
    let mut his = Vec::with_capacity(doc_ids.len());
    for doc_id in doc_ids {
        let Ok(prefix) = StorageKey::from_parts([*doc_id]) else {
            continue;
        };
        let (lo, hi) = sync::prefix_range(&prefix);
        ids.push(*doc_id);
        los.push(lo);
        his.push(hi);
    }
    // One range scan of the key index per document, forced: as a plain
    // join, Postgres cannot tell how many chunks a range holds and planned
    // a parallel scan of every chunk against every range (3 s for 256
    // documents among 10,000; 6 ms like this). `OFFSET 0` keeps the
    // subquery from being flattened back into that join.
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT r.doc_id, c.data
         FROM unnest($1::text[], $2::text[], $3::text[]) AS r (doc_id, lo, hi)
         CROSS JOIN LATERAL (
             SELECT key, data FROM doc_chunks WHERE key >= r.lo AND key < r.hi OFFSET 0
         ) AS c
         ORDER BY r.doc_id, c.key",
    )
    .bind(&ids)
    .bind(&los)
    .bind(&his)
    .fetch_all(pool)
    .await?;
    let mut docs: BTreeMap<String, Result<automerge::Automerge, ProjectionError>> = doc_ids
        .iter()
        .map(|id| ((*id).to_owned(), Ok(automerge::Automerge::new())))
        .collect();
    for (doc_id, chunk) in rows {
        if let Some(Ok(doc)) = docs.get_mut(&doc_id) {
            // Snapshots and incrementals overlap while samod compacts;
            // loading a change twice is harmless.
            if let Err(error) = doc.load_incremental(&chunk) {
                docs.insert(doc_id, Err(LoadError::Decode(error).into()));
            }
        }
    }
    Ok(docs)
}

/// How much of a rejected entry's key is recorded and logged: a lead id is
/// at most 64 characters, a broken entry's key anything.
fn shown(key: &str) -> String {
    key.chars().take(64).collect()
}

/// Logs and counts the entries of `doc_id` that were not projected.
async fn record_rejects(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    rejected: &[(String, String)],
) -> Result<(), sqlx::Error> {
    // One warning per entry would let one document flood the log.
    const LOGGED: usize = 10;
    for (key, why) in rejected.iter().take(LOGGED) {
        tracing::warn!(
            doc_id,
            lead = shown(key),
            why,
            "lead not projected; its previous row stays"
        );
    }
    if rejected.len() > LOGGED {
        tracing::warn!(
            doc_id,
            more = rejected.len() - LOGGED,
            "more leads not projected"
        );
    }
    // By shown key, once each: one statement may not update a row twice.
    let by_key: BTreeMap<String, &str> = rejected
        .iter()
        .map(|(key, why)| (shown(key), why.as_str()))
        .collect();
    let (keys, whys): (Vec<String>, Vec<&str>) = by_key.into_iter().unzip();
    sqlx::query(
        "INSERT INTO projection_rejects (doc_id, lead_id, reason)
         SELECT $1, key, why FROM unnest($2::text[], $3::text[]) AS r (key, why)
         ON CONFLICT (doc_id, lead_id) DO UPDATE SET
            reason = EXCLUDED.reason, times = projection_rejects.times + 1, last_at = now()",
    )
    .bind(doc_id)
    .bind(&keys)
    .bind(&whys)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A lead marked won is a deal for the back-office to decide: filed as
/// submitted (its amount following the lead until a decision), withdrawn if
/// the lead leaves "won" first. A decided deal is never touched again: the
/// partner's document proposes, the server decides. A lead that leaves
/// "won" after its deal was approved (a device that did not know; the CRDT
/// merges it) leaves the deal approved and paid, and is recorded in
/// `deal_conflicts` until it is won again; its owner's view shows it. A
/// rejected lead (see [`Leads`]) files, withdraws and records nothing.
/// Returns whether any deal or conflict changed.
async fn file_deals(
    tx: &mut sqlx::PgConnection,
    doc_id: &str,
    owner: &str,
    leads: &Leads<'_>,
) -> Result<bool, sqlx::Error> {
    let mut changed = 0;
    for row in leads.won() {
        let lead = row.lead;
        changed += sqlx::query(
            "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status)
             VALUES ($1, $2, $3, $4, $5, 'submitted')
             ON CONFLICT (partner_id, lead_id) DO UPDATE SET
                amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
                status = 'submitted',
                submitted_at = CASE WHEN deals.status = 'withdrawn' THEN now()
                                    ELSE deals.submitted_at END
             WHERE deals.status IN ('submitted', 'withdrawn')
               AND (deals.amount_minor, deals.currency, deals.status)
                   IS DISTINCT FROM (EXCLUDED.amount_minor, EXCLUDED.currency, 'submitted')",
        )
        .bind(owner)
        .bind(lead.id.as_str())
        .bind(doc_id)
        .bind(lead.value.minor)
        .bind(lead.value.currency.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let won: Vec<&str> = leads.won().map(|row| row.lead.id.as_str()).collect();
    changed += sqlx::query(
        "UPDATE deals SET status = 'withdrawn'
         WHERE partner_id = $1 AND doc_id = $2 AND status = 'submitted'
           AND NOT (lead_id = ANY($3))",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(
        // A rejected lead keeps its deal as it was.
        won.iter()
            .copied()
            .chain(leads.rejected.iter().map(|(key, _)| key.as_str()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let (moved, to): (Vec<&str>, Vec<&str>) = leads
        .rows
        .iter()
        .filter(|row| row.lead.stage != Stage::Won)
        .map(|row| (row.lead.id.as_str(), row.lead.stage.as_str()))
        .unzip();
    let noticed: Vec<(String, String, i64)> = sqlx::query_as(
        "WITH moved AS (
            SELECT d.id, d.lead_id, m.stage FROM deals d
            JOIN unnest($3::text[], $4::text[]) AS m (lead_id, stage) ON m.lead_id = d.lead_id
            WHERE d.partner_id = $1 AND d.doc_id = $2
              AND d.status = 'approved' AND d.reversed_at IS NULL
         ), noted AS (
            INSERT INTO deal_conflicts (deal_id, stage) SELECT id, stage FROM moved
            ON CONFLICT (deal_id) DO UPDATE SET
                stage = EXCLUDED.stage, resolved_at = NULL,
                noticed_at = CASE WHEN deal_conflicts.resolved_at IS NULL
                                  THEN deal_conflicts.noticed_at ELSE now() END
            WHERE (deal_conflicts.stage, deal_conflicts.resolved_at)
                  IS DISTINCT FROM (EXCLUDED.stage, NULL::timestamptz)
            RETURNING deal_id
         )
         SELECT moved.lead_id, moved.stage, moved.id FROM moved
         JOIN noted ON noted.deal_id = moved.id",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(&moved)
    .bind(&to)
    .fetch_all(&mut *tx)
    .await?;
    for (lead, stage, deal) in &noticed {
        tracing::warn!(
            doc_id,
            lead,
            deal,
            stage,
            "lead moved out of won after its deal was approved; the deal stands"
        );
    }
    changed += noticed.len() as u64;
    changed += sqlx::query(
        "UPDATE deal_conflicts c SET resolved_at = now() FROM deals d
         WHERE c.deal_id = d.id AND c.resolved_at IS NULL
           AND d.partner_id = $1 AND d.doc_id = $2 AND d.lead_id = ANY($3)",
    )
    .bind(owner)
    .bind(doc_id)
    .bind(&won)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Writes the rows of every pipeline of `pipelines`, and returns the
/// documents whose deals must be filed again: those where a lead entered,
/// left or changed while "won", or moved while its approved deal records
/// a conflict, or a won lead's row went.
///
/// Rows follow the owner recorded in the registry, not the `partner_id`
/// the document claims: documents are written by clients.
async fn write_leads<'a>(
    tx: &mut sqlx::PgConnection,
    pipelines: &[Owned<'a>],
) -> Result<BTreeSet<&'a str>, sqlx::Error> {
    let rows: Vec<(&Owned<'a>, &LeadRow<'_>)> = pipelines
        .iter()
        .flat_map(|p| p.leads.rows.iter().map(move |row| (p, row)))
        .collect();
    // One statement for every lead of every document (not one per lead: a
    // statement's round trip costs Postgres more than its row), and a row
    // is written only where it differs, so an edit of one lead rewrites one
    // row. `old` reads the rows as they were before this statement (all of
    // a statement's parts see one snapshot), so the deals to file are
    // known without another statement.
    let moved: Vec<String> = sqlx::query_scalar(
        "WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
                                 $11::text[], $12::timestamptz[], $13::timestamptz[],
                                 $14::timestamptz[], $15::timestamptz[], $16::text[])
            AS l (partner_id, doc_id, lead_id, stage, contact_name, company, email, phone,
                  notes, value_minor, currency, created_at, updated_at, archived_at,
                  follow_up_at, follow_up_note)
         ), old AS (
            SELECT o.partner_id, o.lead_id, o.stage, o.value_minor, o.currency
            FROM leads o JOIN input i USING (partner_id, lead_id)
         ), written AS (
            INSERT INTO leads (partner_id, lead_id, doc_id, stage, contact_name, company, email,
                               phone, notes, value_minor, currency, created_at, updated_at,
                               archived_at, follow_up_at, follow_up_note)
            SELECT partner_id, lead_id, doc_id, stage, contact_name, company, email, phone,
                   notes, value_minor, currency, created_at, updated_at, archived_at,
                   follow_up_at, follow_up_note
            FROM input
            ON CONFLICT (partner_id, lead_id) DO UPDATE SET
               stage = EXCLUDED.stage, contact_name = EXCLUDED.contact_name,
               company = EXCLUDED.company, email = EXCLUDED.email, phone = EXCLUDED.phone,
               notes = EXCLUDED.notes, value_minor = EXCLUDED.value_minor,
               currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at,
               archived_at = EXCLUDED.archived_at, follow_up_at = EXCLUDED.follow_up_at,
               follow_up_note = EXCLUDED.follow_up_note
            WHERE (leads.stage, leads.contact_name, leads.company, leads.email, leads.phone,
                   leads.notes, leads.value_minor, leads.currency, leads.updated_at,
                   leads.archived_at, leads.follow_up_at, leads.follow_up_note)
                  IS DISTINCT FROM
                  (EXCLUDED.stage, EXCLUDED.contact_name, EXCLUDED.company,
                   EXCLUDED.email, EXCLUDED.phone, EXCLUDED.notes, EXCLUDED.value_minor,
                   EXCLUDED.currency, EXCLUDED.updated_at, EXCLUDED.archived_at,
                   EXCLUDED.follow_up_at, EXCLUDED.follow_up_note)
            RETURNING partner_id, lead_id, doc_id, stage, value_minor, currency
         )
         SELECT DISTINCT w.doc_id FROM written w
         LEFT JOIN old o USING (partner_id, lead_id)
         WHERE (o.stage, o.value_minor, o.currency)
               IS DISTINCT FROM (w.stage, w.value_minor, w.currency)
           AND (w.stage = 'won' OR o.stage = 'won'
                -- A lead whose approved deal it left: the conflict
                -- records the stage it is in now.
                OR EXISTS (SELECT 1 FROM deals d JOIN deal_conflicts c ON c.deal_id = d.id
                           WHERE d.partner_id = w.partner_id AND d.lead_id = w.lead_id
                             AND c.resolved_at IS NULL))",
    )
    .bind(rows.iter().map(|(p, _)| p.owner).collect::<Vec<_>>())
    .bind(rows.iter().map(|(p, _)| p.doc_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.stage.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.contact_name.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.company.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.email.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.phone.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.notes.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.value.minor)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, r)| r.lead.value.currency.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(_, r)| r.created_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.updated_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.archived_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, r)| r.follow_up_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(_, r)| r.follow_up_note())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    // Rows of leads a document no longer holds go too: the table mirrors
    // the documents. A rejected lead is still held: its row stays.
    let (kept_docs, kept_leads): (Vec<&str>, Vec<&str>) = pipelines
        .iter()
        .flat_map(|p| p.leads.kept().into_iter().map(move |lead| (p.doc_id, lead)))
        .unzip();
    // A won lead's row gone: its deal is withdrawn.
    let gone: Vec<(String, String)> = sqlx::query_as(
        "DELETE FROM leads l
         WHERE l.doc_id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k (doc_id, lead_id)
                           WHERE k.doc_id = l.doc_id AND k.lead_id = l.lead_id)
         RETURNING l.doc_id, l.stage",
    )
    .bind(pipelines.iter().map(|p| p.doc_id).collect::<Vec<_>>())
    .bind(&kept_docs)
    .bind(&kept_leads)
    .fetch_all(&mut *tx)
    .await?;
    for pipeline in pipelines {
        if !pipeline.leads.rejected.is_empty() {
            record_rejects(tx, pipeline.doc_id, &pipeline.leads.rejected).await?;
        }
    }
    // Back to the callers' borrows: the ids Postgres returned name
    // documents of `pipelines`.
    let gone = gone
        .into_iter()
        .filter(|(_, stage)| stage == Stage::Won.as_str())
        .map(|(doc, _)| doc);
    let to_file: BTreeSet<String> = moved.into_iter().chain(gone).collect();
    Ok(pipelines
        .iter()
        .map(|p| p.doc_id)
        .filter(|doc| to_file.contains(*doc))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_entrys_key_is_shown_at_most_64_characters_long() {
        assert_eq!(shown(&"é".repeat(100)), "é".repeat(64));
        assert_eq!(shown("ben-5"), "ben-5");
    }
}
