use std::{collections::BTreeSet, time::Duration};

use automerge::{Automerge, ChangeHash, ReadDoc, transaction::Transactable};
use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Stage, Timestamp};

use samod::Repo;
use sync::fault::{Crash, CrashingStorage, Landed};
use sync_server::storage::PgStorage;

use crate::helpers::*;

async fn chunk_count(pool: &sqlx::PgPool, doc_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM doc_chunks WHERE key LIKE $1 || '/%'")
        .bind(doc_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// samod compacts a document's incremental chunks into snapshots; through
/// our Postgres storage that must keep the stored chunk count bounded however
/// long the document is edited.
#[tokio::test]
async fn stored_chunks_stay_bounded_as_a_document_is_edited() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = ServerProcess::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-ben").await;
    let repo = client("a-ben").await;
    let _link = connect(&repo, &server).await;
    let handle = open(&repo, &doc_id).await;

    let mut most = 0;
    for i in 0..300i64 {
        handle
            .with_document(|doc| {
                let id = LeadId::parse(&format!("bulk-{}", i / 3))?;
                if i % 3 == 0 {
                    let draft = LeadDraft::parse(
                        "Bulk",
                        "",
                        "",
                        "",
                        Money::new(i, Currency::parse("USD")?),
                        "",
                    )?;
                    PipelineDoc::add_lead(doc, &id, &draft, Timestamp(i))
                } else {
                    PipelineDoc::move_lead(doc, &id, Stage::ALL[(i % 6) as usize], Timestamp(i))
                }
            })
            .unwrap();
        if i % 20 == 19 {
            // Let the server catch up, then look at what it stored.
            let target = heads(&handle);
            wait_for(
                "the server to store the edits",
                Duration::from_secs(20),
                || async { (stored_heads(&pool, &doc_id).await? == target).then_some(()) },
            )
            .await;
            most = most.max(chunk_count(&pool, &doc_id).await);
        }
    }
    assert!(most > 0);
    assert!(
        most <= 24,
        "a document edited 300 times kept up to {most} chunks"
    );
    let stored = stored(&pool, &doc_id).await;
    assert_eq!(
        PipelineDoc::read(&stored).unwrap(),
        read(&handle),
        "compaction kept every change"
    );
}

/// Every change in a stored chunk (a snapshot or one incremental change).
fn changes_in(chunk: &[u8]) -> BTreeSet<ChangeHash> {
    let mut doc = Automerge::new();
    doc.load_incremental(chunk).expect("a stored chunk decodes");
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

/// samod compacts by writing a snapshot, then deleting the chunks it
/// supersedes, one write at a time. A crash may stop the server between any
/// two of those writes. For every crash point over a run that spans whole
/// compactions, a restart over the same Postgres must still have every change
/// that was durably stored when the crash happened, and go on working.
#[tokio::test]
async fn a_crash_at_any_write_of_a_compaction_loses_nothing_stored() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    sync_server::migrate(&pool).await.unwrap();
    let (changed, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let storage = PgStorage::new(pool.clone(), changed);
    // A repo writes its storage id the first time it loads a storage; do
    // that now, so the crash points below all fall on document writes.
    Repo::build_tokio()
        .with_storage(storage.clone())
        .load()
        .await
        .stop()
        .await;

    let mut crashed_between_snapshot_and_deletes = 0;
    for crash_at in 0..40 {
        let crash = Crash::after_writes(crash_at);
        let doomed = Repo::build_tokio()
            .with_storage(CrashingStorage::new(storage.clone(), crash.clone()))
            .load()
            .await;
        let mut first = Automerge::new();
        first
            .transact(|tx| tx.put(automerge::ROOT, "n", 0i64))
            .unwrap();
        let created = tokio::time::timeout(Duration::from_secs(5), doomed.create(first)).await;
        let Ok(Ok(handle)) = created else {
            // The process died storing the document's first change: there
            // is nothing durable to lose.
            assert!(crash.has_crashed(), "create failed without a crash");
            continue;
        };
        let doc_id = handle.document_id().to_string();
        for i in 1..=80i64 {
            if crash.has_crashed() {
                break;
            }
            let before = crash.landed().len();
            handle.with_document(|doc| {
                doc.transact(|tx| tx.put(automerge::ROOT, "n", i)).unwrap();
            });
            // One edit at a time, as a partner types: samod decides to
            // compact from what it knows has landed.
            wait_for("the edit to land", Duration::from_secs(10), || async {
                (crash.has_crashed() || crash.landed().len() > before).then_some(())
            })
            .await;
        }
        // 80 edits need at least 80 writes: the crash comes.
        wait_for("the crash", Duration::from_secs(20), || async {
            crash.has_crashed().then_some(())
        })
        .await;

        // What was durable when the process died. Taken before reading the
        // storage back: every write listed has landed.
        let landed = crash.landed();
        let durable: BTreeSet<ChangeHash> = landed
            .iter()
            .filter_map(|w| match w {
                Landed::Put { data, .. } => Some(changes_in(data)),
                Landed::Delete { .. } => None,
            })
            .flatten()
            .collect();
        let stored = stored(&pool, &doc_id).await;
        let missing: Vec<_> = durable
            .iter()
            .filter(|h| stored.get_change_by_hash(h).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "crash at write {crash_at}: {} durable changes are gone from storage",
            missing.len()
        );

        // Did this crash fall inside a compaction: a snapshot stored, some
        // chunk it supersedes not yet deleted?
        let chunks: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT key, data FROM doc_chunks WHERE key LIKE $1 || '/%'")
                .bind(&doc_id)
                .fetch_all(&pool)
                .await
                .unwrap();
        let snapshots: Vec<BTreeSet<ChangeHash>> = chunks
            .iter()
            .filter(|(key, _)| key.contains("/snapshot/"))
            .map(|(_, data)| changes_in(data))
            .collect();
        let superseded_left = chunks
            .iter()
            .filter(|(key, _)| key.contains("/incremental/"))
            .any(|(_, data)| {
                let changes = changes_in(data);
                snapshots.iter().any(|s| changes.is_subset(s))
            });
        if superseded_left {
            crashed_between_snapshot_and_deletes += 1;
        }

        if durable.is_empty() {
            // Nothing of the document was stored: a restart need not know it.
            continue;
        }
        // The restarted server loads the document and keeps editing it.
        let restarted = Repo::build_tokio()
            .with_storage(storage.clone())
            .load()
            .await;
        let reloaded = tokio::time::timeout(
            Duration::from_secs(10),
            restarted.find(doc_id.parse().unwrap()),
        )
        .await
        .expect("find after restart timed out")
        .unwrap()
        .expect("the document is there after the restart");
        for i in 0..15i64 {
            reloaded.with_document(|doc| {
                doc.transact(|tx| tx.put(automerge::ROOT, "after", i))
                    .unwrap();
            });
        }
        let target = heads(&reloaded);
        wait_for(
            "the restarted repo to store its edits",
            Duration::from_secs(20),
            || async { (stored_heads(&pool, &doc_id).await? == target).then_some(()) },
        )
        .await;
        restarted.stop().await;
    }
    assert!(
        crashed_between_snapshot_and_deletes >= 3,
        "only {crashed_between_snapshot_and_deletes} crash points fell between a snapshot and \
         its deletes: the test no longer exercises compaction"
    );
}
