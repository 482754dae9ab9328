use std::time::Duration;

use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Timestamp};
use sqlx::PgPool;

use crate::helpers::*;

/// Cuts the server off its database: no new connections, existing ones
/// terminated. As seen from the server, Postgres is down.
async fn set_reachable(admin: &PgPool, db_name: &str, reachable: bool) {
    sqlx::query(&format!(
        "ALTER DATABASE {db_name} ALLOW_CONNECTIONS {reachable}"
    ))
    .execute(admin)
    .await
    .unwrap();
    if !reachable {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(db_name)
            .execute(admin)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn changes_made_during_a_database_outage_land_when_it_returns() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = ServerProcess::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-cleo").await;
    pool.close().await;
    let admin = PgPool::connect(&std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    let name = db.url.rsplit('/').next().unwrap().to_owned();

    let repo = client().await;
    let _link = connect(&repo, &server).await;
    let handle = open(&repo, &doc_id).await;

    set_reachable(&admin, &name, false).await;
    wait_for(
        "healthz to report the outage",
        Duration::from_secs(20),
        || async { (http_get(server.addr, "/healthz", &[]).await.0 == 503).then_some(()) },
    )
    .await;
    for i in 0..5 {
        handle
            .with_document(|doc| {
                let draft = LeadDraft::parse(
                    &format!("Outage {i}"),
                    "",
                    "",
                    "",
                    Money::new(1_000 * i, Currency::parse("USD")?),
                    "",
                )?;
                PipelineDoc::add_lead(
                    doc,
                    &LeadId::parse(&format!("outage-{i}"))?,
                    &draft,
                    Timestamp(i),
                )
            })
            .unwrap();
    }
    assert_eq!(read(&handle).leads.len(), 8, "the client keeps its changes");

    set_reachable(&admin, &name, true).await;
    wait_for("healthz to recover", Duration::from_secs(20), || async {
        (http_get(server.addr, "/healthz", &[]).await.0 == 200).then_some(())
    })
    .await;
    let pool = db.pool().await;
    let expected = rows_of(&read(&handle));
    wait_for_rows(&pool, "p-cleo", &expected).await;

    // Everything reached storage whole: a restarted server, which can only
    // know what Postgres holds, gives a fresh client every change.
    let written = heads(&handle);
    repo.stop().await;
    server.stop().await;
    let server = ServerProcess::start(&db.url).await;
    let fresh = client().await;
    let _link2 = connect(&fresh, &server).await;
    let again = open(&fresh, &doc_id).await;
    wait_for(
        "a fresh client to see every change",
        Duration::from_secs(20),
        || async { (heads(&again) == written).then_some(()) },
    )
    .await;
}
