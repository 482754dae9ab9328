//! Connections are spread over independent samod repos (shards) by team,
//! and a document open in two shards stays one document: what one shard
//! stores reaches the other shard's clients live.

use std::time::Duration;

use automerge::ReadDoc;
use model::{LeadId, PipelineDoc, Stage, Timestamp};
use sync_server::{http::sync::shard_key, platform::residency::shard_of};

use crate::helpers::*;

const SHARDS: usize = 16;

fn move_lead(handle: &samod::DocHandle, lead: &str, to: Stage) -> automerge::ChangeHash {
    handle
        .with_document(|doc| {
            let at = Timestamp(chrono::Utc::now().timestamp_millis());
            PipelineDoc::move_lead(doc, &LeadId::parse(lead)?, to, at)?;
            Ok::<_, anyhow::Error>(doc.get_last_local_change().map(|c| c.hash()))
        })
        .unwrap()
        .expect("the move is a change")
}

fn has(handle: &samod::DocHandle, change: automerge::ChangeHash) -> bool {
    handle.with_document(|doc| doc.get_change_by_hash(&change).is_some())
}

/// Waits until `handle` holds `change`.
async fn wait_arrives(handle: &samod::DocHandle, change: automerge::ChangeHash, what: &str) {
    wait_for(what, Duration::from_secs(15), || async {
        has(handle, change).then_some(())
    })
    .await
}

#[tokio::test]
async fn an_edit_reaches_a_client_of_another_shard_live_and_postgres() {
    let db = TestDb::new().await;
    let shards = SHARDS.to_string();
    let server = TestServer::start_with_args(&db.url, &["--sync-shards", &shards]).await;
    let pool = db.pool().await;

    // A team shares its leader's shard; others have their own.
    assert_eq!(shard_key(&pool, "a-ben").await.unwrap(), "a-ana");
    assert_eq!(shard_key(&pool, "a-ana").await.unwrap(), "a-ana");
    assert_eq!(shard_key(&pool, "a-cleo").await.unwrap(), "a-cleo");
    assert_eq!(shard_key(&pool, "a-admin").await.unwrap(), "a-admin");
    // The admin and Cleo are served by two different repos, neither of
    // them shard 0 (where the server wrote the fixtures): Cleo's pipeline
    // is then in memory three times.
    let (admin_shard, cleo_shard) = (shard_of("a-admin", SHARDS), shard_of("a-cleo", SHARDS));
    assert_ne!(admin_shard, cleo_shard);
    assert_ne!(admin_shard, 0);
    assert_ne!(cleo_shard, 0);

    assert_eq!(gauge(&server, "portal_sync_shards").await, SHARDS as u64);

    let doc_id = pipeline_doc(&pool, "p-cleo").await;
    let (admin, cleo) = (client("a-admin").await, client("a-cleo").await);
    let (_admin_link, _cleo_link) = (
        connect(&admin, &server).await,
        connect(&cleo, &server).await,
    );
    let on_admin = open(&admin, &doc_id).await;
    let on_cleo = open(&cleo, &doc_id).await;
    assert_eq!(heads(&on_admin), heads(&on_cleo));

    // Each side's edit reaches the other while both stay connected: the
    // other shard held the document in memory before the edit was stored.
    let by_cleo = move_lead(&on_cleo, "cleo-1", Stage::Contacted);
    wait_arrives(&on_admin, by_cleo, "Cleo's edit to reach the admin").await;
    let by_admin = move_lead(&on_admin, "cleo-2", Stage::Proposal);
    wait_arrives(&on_cleo, by_admin, "the admin's edit to reach Cleo").await;
    wait_converged(
        &[on_admin.clone(), on_cleo.clone()],
        Duration::from_secs(15),
    )
    .await;

    // Both are in Postgres, and the lead rows follow.
    let target = heads(&on_cleo);
    wait_for(
        "both edits in Postgres",
        Duration::from_secs(15),
        || async { (stored_heads(&pool, &doc_id).await? == target).then_some(()) },
    )
    .await;
    wait_for_rows(&pool, "p-cleo", &rows_of(&read(&on_cleo))).await;
    let stages: Vec<(String, String)> = sqlx::query_as(
        "SELECT lead_id, stage FROM leads WHERE lead_id IN ('cleo-1', 'cleo-2') ORDER BY lead_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        stages,
        [
            ("cleo-1".to_owned(), Stage::Contacted.to_string()),
            ("cleo-2".to_owned(), Stage::Proposal.to_string()),
        ]
    );
}
