use std::time::Duration;

use sync_server::pipeline::projection::{Outcome, project};

use crate::helpers::*;

#[tokio::test]
async fn projecting_the_same_heads_twice_changes_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let _server = TestServer::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-cleo").await;
    // Caught up: the heads projected are the heads stored. (samod may store
    // a new document in several writes, so an earlier projection can cover
    // only part of it.)
    wait_for(
        "the projection to catch up with storage",
        Duration::from_secs(20),
        || async {
            // Hex of sorted hashes sorts like the hashes.
            let stored: Vec<String> = stored_heads(&pool, &doc_id)
                .await?
                .iter()
                .map(|h| h.to_string())
                .collect();
            let projected: Option<Vec<String>> =
                sqlx::query_scalar("SELECT heads FROM projections WHERE doc_id = $1")
                    .bind(&doc_id)
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
            (projected? == stored).then_some(())
        },
    )
    .await;
    let rows = lead_rows(&pool, "p-cleo").await;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .any(|r| r.stage == "proposal" && r.value_minor == 540_000)
    );

    assert_eq!(project(&pool, &doc_id).await.unwrap(), Outcome::Unchanged);

    // Forget the heads: the projection runs again and writes the same rows.
    sqlx::query("DELETE FROM projections WHERE doc_id = $1")
        .bind(&doc_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        project(&pool, &doc_id).await.unwrap(),
        Outcome::Projected { rows: 3 }
    );
    assert_eq!(lead_rows(&pool, "p-cleo").await, rows);
    assert_eq!(project(&pool, &doc_id).await.unwrap(), Outcome::Unchanged);
    assert_eq!(
        project(&pool, "not-a-registered-doc").await.unwrap(),
        Outcome::Unregistered
    );
}
