use std::time::Duration;

use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Stage, Timestamp};

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
    let repo = client().await;
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
    let stored = sync_server::storage::load_document(&pool, &doc_id)
        .await
        .unwrap();
    assert_eq!(
        PipelineDoc::read(&stored).unwrap(),
        read(&handle),
        "compaction kept every change"
    );
}
