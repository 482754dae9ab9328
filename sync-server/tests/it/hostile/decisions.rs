//! A partner changes a deal while the admin reviews it: the decision names
//! what the admin saw and is refused when it changed.

use automerge::{ROOT, ReadDoc, transaction::Transactable};
use serde_json::json;

use crate::helpers::*;

/// Sets a lead's amount on the partner's device, as any client could over
/// `/sync` (the pipeline is the partner's to write).
fn set_amount(handle: &samod::DocHandle, lead: &str, minor: i64) {
    handle.with_document(|doc| {
        let (_, leads) = doc.get(ROOT, "leads").unwrap().unwrap();
        let (_, lead) = doc.get(&leads, lead).unwrap().unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(&lead, "value_minor", minor)?;
            Ok(())
        })
        .unwrap();
    });
}

async fn amount_of(pool: &sqlx::PgPool, deal: i64) -> i64 {
    sqlx::query_scalar("SELECT amount_minor FROM deals WHERE id = $1")
        .bind(deal)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deal_changed_while_the_admin_looked_is_not_decided() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let pipeline = open(&ben, &pipeline_doc(&pool, "p-ben").await).await;

    // The queue shows ben-5 at 900.00 USD; the admin reviews that.
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let seen = reviewed(&server, &admin, deal).await;
    assert_eq!(seen["amount_minor"], 90000);

    // Meanwhile Ben makes it 999,999.99.
    set_amount(&pipeline, "ben-5", 99_999_999);
    wait_for("the new amount", std::time::Duration::from_secs(20), || {
        let pool = pool.clone();
        async move { (amount_of(&pool, deal).await == 99_999_999).then_some(()) }
    })
    .await;

    // Approving what was reviewed is refused, with the figures as they are.
    let path = format!("/api/admin/deals/{deal}/approve");
    let (status, refused) = api(&server, &admin, "POST", &path, Some(seen.clone())).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["current"]["amount_minor"], 99_999_999);
    assert_eq!(refused["current"]["currency"], "USD");
    let said = refused["error"].as_str().unwrap();
    assert!(
        said.contains("999,999.99 USD") && said.contains("900.00 USD"),
        "{said}"
    );
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_lines WHERE deal_id = $1")
        .bind(deal)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lines, 0, "nothing accrued for an amount nobody approved");

    // So is a rejection of what was reviewed.
    let mut rejection = seen.clone();
    rejection["reason"] = json!("Not a real order");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/deals/{deal}/reject"),
        Some(rejection),
    )
    .await;
    assert_eq!(status, 409);

    // A decision without the figures is not taken either.
    let (status, _) = api(&server, &admin, "POST", &path, Some(json!({}))).await;
    assert_eq!(status, 400);

    // Reviewed again, it is approved at the amount the admin now saw.
    let seen_now = reviewed(&server, &admin, deal).await;
    let (status, approved) = api(&server, &admin, "POST", &path, Some(seen_now.clone())).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["lines"][0]["amount_minor"], 20_000_000);
    // Approving again what was approved answers the same lines; a second
    // admin who saw the old figures is told it is not what they reviewed.
    let (status, again) = api(&server, &admin, "POST", &path, Some(seen_now)).await;
    assert_eq!((status, &again["lines"]), (200, &approved["lines"]));
    let (status, stale) = api(&server, &admin, "POST", &path, Some(seen)).await;
    assert_eq!(status, 409, "{stale}");
}
