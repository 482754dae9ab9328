//! The server holds a bounded number of documents in memory, lets idle ones
//! go, and loads them again when a client asks.

use std::time::Duration;

use automerge::{Automerge, ReadDoc, transaction::Transactable};
use samod::DocHandle;

use crate::helpers::*;

const CAP: usize = 8;

/// The gauges of `/metrics` that matter here: resident documents, current
/// generation, draining generations.
async fn residency(server: &TestServer) -> (usize, u64, usize) {
    (
        gauge(server, "portal_resident_documents").await as usize,
        gauge(server, "portal_document_generation").await,
        gauge(server, "portal_draining_generations").await as usize,
    )
}

fn value(handle: &DocHandle, key: &str) -> Option<i64> {
    handle.with_document(|doc| {
        doc.get(automerge::ROOT, key)
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_i64())
    })
}

fn set(handle: &DocHandle, key: &str, n: i64) {
    handle.with_document(|doc| {
        doc.transact(|tx| tx.put(automerge::ROOT, key, n)).unwrap();
    });
}

async fn wait_stored(pool: &sqlx::PgPool, handle: &DocHandle) {
    let doc_id = handle.document_id().to_string();
    let target = heads(handle);
    wait_for(
        "the server to store the document",
        Duration::from_secs(20),
        || async { (stored_heads(pool, &doc_id).await? == target).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn idle_documents_leave_memory_and_load_again_on_demand() {
    let db = TestDb::new().await;
    let cap = CAP.to_string();
    let server = TestServer::start_with_args(
        &db.url,
        &["--max-resident-docs", &cap, "--min-generation-secs", "0"],
    )
    .await;
    let pool = db.pool().await;

    // A partner who stays connected through every generation, editing one
    // document the whole time.
    let steady = client("a-cleo").await;
    let _steady_link = connect(&steady, &server).await;
    let mut first = Automerge::new();
    first
        .transact(|tx| tx.put(automerge::ROOT, "steady", 0i64))
        .unwrap();
    let steady_doc = steady.create(first).await.unwrap();
    wait_stored(&pool, &steady_doc).await;

    // Thirty partners come, write a document each, and go: four times the
    // cap of documents pass through the server.
    let mut written = Vec::new();
    let mut most_resident = 0;
    for n in 0..30i64 {
        let visitor = client("a-cleo").await;
        let link = connect(&visitor, &server).await;
        let mut doc = Automerge::new();
        doc.transact(|tx| tx.put(automerge::ROOT, "n", n)).unwrap();
        let handle = visitor.create(doc).await.unwrap();
        wait_stored(&pool, &handle).await;
        written.push(handle.document_id().clone());
        set(&steady_doc, "steady", n + 1);
        drop(link);
        visitor.stop().await;
        let (resident, _, draining) = residency(&server).await;
        if draining == 0 {
            most_resident = most_resident.max(resident);
        }
    }

    // Memory settles under the cap, after several generations.
    let (resident, generation, _) = wait_for(
        "the old generations to drain",
        Duration::from_secs(30),
        || async {
            let (resident, generation, draining) = residency(&server).await;
            (draining == 0).then_some((resident, generation, draining))
        },
    )
    .await;
    assert!(
        generation >= 3,
        "30 documents through a cap of {CAP} started only {generation} generations"
    );
    assert!(
        resident <= CAP + 1 && most_resident <= CAP + 1,
        "{resident} documents resident at the end, {most_resident} at most, over a cap of {CAP}"
    );

    // The steady partner's edits all reached the server across the moves.
    wait_stored(&pool, &steady_doc).await;
    assert_eq!(value(&steady_doc, "steady"), Some(30));

    // The oldest documents were evicted long ago; two new clients ask for
    // one, it loads again, and an edit by one reaches the other.
    let (a, b) = (client("a-cleo").await, client("a-cleo").await);
    let (_la, _lb) = (connect(&a, &server).await, connect(&b, &server).await);
    let id = written[0].to_string();
    let (on_a, on_b) = (open(&a, &id).await, open(&b, &id).await);
    assert_eq!(value(&on_a, "n"), Some(0));
    set(&on_a, "n", 100);
    wait_for(
        "the edit to reach the other client",
        Duration::from_secs(20),
        || async { (value(&on_b, "n") == Some(100)).then_some(()) },
    )
    .await;
    wait_stored(&pool, &on_a).await;
}
