//! Several nodes over one Postgres (`platform/cluster.rs`): a change one
//! node stores reaches the clients of another that has the document open,
//! and a notice that never arrives is made up for by the comparison of
//! what a node holds with what is stored.

use std::time::Duration;

use model::{PipelineDoc, Stage};

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// The stage of `lead` as a device holds it.
fn stage_of(handle: &samod::DocHandle, lead: &str) -> Option<Stage> {
    read(handle)
        .leads
        .iter()
        .find(|l| l.id.as_str() == lead)
        .map(|l| l.stage)
}

#[tokio::test]
async fn two_nodes_over_one_database_see_each_others_changes_live() {
    let db = TestDb::new().await;
    // Started at once, as a deployment starts its nodes: each migrates,
    // seeds and reconciles over the same database at the same time.
    let (node_a, node_b) = tokio::join!(TestServer::start(&db.url), TestServer::start(&db.url));
    let pool = db.pool().await;
    let pipeline = pipeline_doc(&pool, "p-ben").await;

    // Ben's phone talks to one node, his laptop to the other.
    let phone = client("a-ben").await;
    let _phone_link = connect(&phone, &node_a).await;
    let laptop = client("a-ben").await;
    let _laptop_link = connect(&laptop, &node_b).await;
    let on_phone = open(&phone, &pipeline).await;
    let on_laptop = open(&laptop, &pipeline).await;

    // Each way, while both have the document open.
    move_to(&on_phone, "ben-1", Stage::Proposal);
    wait_for("the phone's move on the laptop", DEADLINE, || async {
        (stage_of(&on_laptop, "ben-1") == Some(Stage::Proposal)).then_some(())
    })
    .await;
    move_to(&on_laptop, "ben-2", Stage::Lost);
    wait_for("the laptop's move on the phone", DEADLINE, || async {
        (stage_of(&on_phone, "ben-2") == Some(Stage::Lost)).then_some(())
    })
    .await;
    wait_converged(&[on_phone.clone(), on_laptop.clone()], DEADLINE).await;
    // Both moves stored once, whichever node stored them, and projected.
    wait_for("both moves in the leads table", DEADLINE, || async {
        let rows = lead_rows(&pool, "p-ben").await;
        let stage = |id: &str| {
            rows.iter()
                .find(|r| r.lead_id == id)
                .map(|r| r.stage.clone())
        };
        (stage("ben-1").as_deref() == Some("proposal") && stage("ben-2").as_deref() == Some("lost"))
            .then_some(())
    })
    .await;
    assert_eq!(
        stored_heads(&pool, &pipeline).await.unwrap(),
        heads(&on_phone),
        "what is stored is what both devices hold"
    );
    node_a.stop().await;
    node_b.stop().await;
}

#[tokio::test]
async fn a_change_whose_notice_never_came_reaches_the_node_by_the_comparison() {
    let db = TestDb::new().await;
    let node = TestServer::start_with_args(&db.url, &["--cluster-repair-secs", "1"]).await;
    let pool = db.pool().await;
    let pipeline = pipeline_doc(&pool, "p-ben").await;
    let phone = client("a-ben").await;
    let _link = connect(&phone, &node).await;
    let on_phone = open(&phone, &pipeline).await;
    wait_for("the pipeline on the phone", DEADLINE, || async {
        stage_of(&on_phone, "ben-3").map(|_| ())
    })
    .await;

    // Another node stored a change whose notice was lost: here it is
    // written straight into the table, with no notice at all.
    let mut elsewhere = stored(&pool, &pipeline).await;
    let before = elsewhere.get_heads();
    PipelineDoc::move_lead(
        &mut elsewhere,
        &model::LeadId::parse("ben-3").unwrap(),
        Stage::Contacted,
        model::Timestamp(20),
    )
    .unwrap();
    let change = elsewhere.get_changes(&before);
    assert_eq!(change.len(), 1);
    store_unnoticed(
        &pool,
        &format!("{pipeline}/incremental/{}", change[0].hash()),
        &elsewhere.save_after(&before),
    )
    .await;

    wait_for("the unnoticed change on the phone", DEADLINE, || async {
        (stage_of(&on_phone, "ben-3") == Some(Stage::Contacted)).then_some(())
    })
    .await;

    // The same for a change that only a snapshot holds (another node
    // compacted the document before this one heard of the change).
    let before = elsewhere.get_heads();
    PipelineDoc::move_lead(
        &mut elsewhere,
        &model::LeadId::parse("ben-4").unwrap(),
        Stage::Lost,
        model::Timestamp(30),
    )
    .unwrap();
    assert_ne!(elsewhere.get_heads(), before);
    let key = sync_server::platform::server_docs::snapshot_key(&pipeline, &elsewhere.get_heads());
    store_unnoticed(&pool, &key, &elsewhere.save()).await;
    wait_for(
        "the change only a snapshot holds, on the phone",
        DEADLINE,
        || async { (stage_of(&on_phone, "ben-4") == Some(Stage::Lost)).then_some(()) },
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn a_session_ended_anywhere_closes_its_sockets_on_every_node_at_once() {
    let db = TestDb::new().await;
    // Sweeps an hour apart: only the notice can close the sockets in time.
    let node = TestServer::start_with_args(&db.url, &["--session-sweep-secs", "3600"]).await;
    let pool = db.pool().await;

    // Revoked by another node (its sign-out) or an admin's tool.
    let (mut raw, refused) = crate::access::Raw::join(&node, "a-ben", &peer_id_of("a-ben")).await;
    assert_eq!(refused, None);
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE account_id = 'a-ben'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(closed(&mut raw).await, Some(4401));

    // An account no longer approved: every session it has.
    let (mut first, _) = crate::access::Raw::join(&node, "a-ana", &peer_id_of("a-ana")).await;
    let (mut second, _) = crate::access::Raw::join(&node, "a-ana", &peer_id_of("a-ana")).await;
    sqlx::query(
        "UPDATE accounts SET status = 'rejected', reject_reason = 'Left the programme'
         WHERE id = 'a-ana'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(closed(&mut first).await, Some(4401));
    assert_eq!(closed(&mut second).await, Some(4401));
    node.stop().await;
}

/// The close code of a socket that must close before the deadline.
async fn closed(raw: &mut crate::access::Raw) -> Option<u16> {
    tokio::time::timeout(DEADLINE, raw.close_code())
        .await
        .expect("the socket closes at once, not at the next sweep")
}

/// Stores a chunk as another node would, but with no notice: straight into
/// the table.
async fn store_unnoticed(pool: &sqlx::PgPool, key: &str, data: &[u8]) {
    sqlx::query("INSERT INTO doc_chunks (key, data) VALUES ($1, $2)")
        .bind(key)
        .bind(data)
        .execute(pool)
        .await
        .unwrap();
}
