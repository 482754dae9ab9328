//! The Postgres storage: the storage conformance suite
//! (`crates/storage-conformance`, which the IndexedDB storage passes too),
//! and what only the server shows: compaction through the real server keeps
//! a document's stored chunks bounded.

use std::time::Duration;

use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Stage, Timestamp};
use sqlx::PgPool;
use storage_conformance::tokio_local::{TokioLocal, in_local_set};
use sync_server::platform::storage::PgStorage;

use crate::helpers::*;

/// Postgres under the suite: each place is a fresh database, migrated.
struct Postgres;

/// A test database and the pool every storage opened over it shares (one
/// pool per opened storage would leave the crashed ones' connections open
/// and run the cluster out of them).
struct Database {
    _db: TestDb,
    pool: PgPool,
}

impl storage_conformance::Backend for Postgres {
    type Place = Database;
    type Storage = PgStorage;
    type Runtime = TokioLocal;

    async fn place(&self) -> Database {
        let db = TestDb::new().await;
        let pool = db.pool().await;
        sync_server::migrate(&pool).await.unwrap();
        Database { _db: db, pool }
    }

    async fn open(&self, place: &Database) -> PgStorage {
        // Nobody listens: no projection runs here.
        let (changed, _) = sync_server::events::channel();
        PgStorage::new(place.pool.clone(), changed)
    }

    fn runtime(&self) -> TokioLocal {
        TokioLocal
    }
}

mod conformance {
    use super::*;

    storage_conformance::suite!(
        #[tokio::test]
        Postgres,
        in_local_set
    );
}

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
