use std::time::Duration;

use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc, Timestamp};

use crate::helpers::*;

#[tokio::test]
async fn changes_made_during_a_database_outage_land_when_it_returns() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = TestServer::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-cleo").await;
    pool.close().await;

    let repo = client("a-cleo").await;
    let _link = connect(&repo, &server).await;
    let handle = open(&repo, &doc_id).await;

    db.set_reachable(false).await;
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

    db.set_reachable(true).await;
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
    let server = TestServer::start(&db.url).await;
    let fresh = client("a-cleo").await;
    let _link2 = connect(&fresh, &server).await;
    let again = open(&fresh, &doc_id).await;
    wait_for(
        "a fresh client to see every change",
        Duration::from_secs(20),
        || async { (heads(&again) == written).then_some(()) },
    )
    .await;
}

/// Clients keep pushing while the server is killed with SIGKILL and started
/// again on the same database and port. Afterwards every change every client
/// made is on the server, in the projection, and on every replica.
#[tokio::test]
async fn nothing_is_lost_when_the_server_is_killed_mid_stream() {
    const CLIENTS: usize = 3;
    const EDITS: usize = 120;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    // A process: it is killed with SIGKILL.
    let server = ServerProcess::start(&db.url).await;
    let addr = server.addr;
    let doc_id = pipeline_doc(&pool, "p-ana").await;

    let mut replicas = Vec::new();
    for _ in 0..CLIENTS {
        let repo = client("a-ana").await;
        let link = connect(&repo, &server).await;
        let handle = open(&repo, &doc_id).await;
        replicas.push((repo, link, handle));
    }

    // Each client adds leads and moves them, yielding between edits so the
    // stream is spread over the kill.
    let writers: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(c, (_, _, handle))| {
            let handle = handle.clone();
            tokio::spawn(async move {
                for i in 0..EDITS {
                    let id = LeadId::parse(&format!("c{c}-{}", i / 2)).unwrap();
                    handle
                        .with_document(|doc| {
                            if i % 2 == 0 {
                                let draft = LeadDraft::parse(
                                    &format!("Client {c} lead {i}"),
                                    "",
                                    "",
                                    "",
                                    Money::new(i as i64, Currency::parse("USD")?),
                                    "",
                                )?;
                                PipelineDoc::add_lead(doc, &id, &draft, Timestamp(i as i64))
                            } else {
                                PipelineDoc::move_lead(
                                    doc,
                                    &id,
                                    model::Stage::ALL[i % 6],
                                    Timestamp(i as i64),
                                )
                            }
                        })
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();

    // Kill once the server has stored some, but not all, of the stream.
    wait_for(
        "the first changes to reach Postgres",
        Duration::from_secs(20),
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE lead_id LIKE 'c%'")
                .fetch_one(&pool)
                .await
                .unwrap();
            (n > 0).then_some(())
        },
    )
    .await;
    assert!(
        writers.iter().any(|w| !w.is_finished()),
        "the kill must land while clients are still writing"
    );
    server.kill().await;
    let server = ServerProcess::restart_on(&db.url, addr).await;
    for writer in writers {
        writer.await.unwrap();
    }

    // The clients' dialers reconnect on their own; all converge.
    let handles: Vec<_> = replicas.iter().map(|(_, _, h)| h.clone()).collect();
    wait_converged(&handles, Duration::from_secs(60)).await;
    let reference = handles[0].clone();
    let merged = read(&reference);
    assert_eq!(
        merged.leads.len(),
        6 + CLIENTS * EDITS / 2,
        "every added lead is there"
    );
    wait_for_rows(&pool, "p-ana", &rows_of(&merged)).await;

    // And the server holds all of it in Postgres: after one more restart a
    // fresh client gets exactly these heads.
    let written = heads(&reference);
    for (repo, _, _) in &replicas {
        repo.stop().await;
    }
    server.stop().await;
    let server = TestServer::start(&db.url).await;
    let fresh = client("a-ana").await;
    let _link = connect(&fresh, &server).await;
    let again = open(&fresh, &doc_id).await;
    wait_for(
        "a fresh client to get every change",
        Duration::from_secs(20),
        || async { (heads(&again) == written).then_some(()) },
    )
    .await;
}
