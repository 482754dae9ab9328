//! See `mod.rs`. Money input: refunds of direct sales, amounts and
//! currencies the parser refuses (in the API and in a partner's document),
//! and payout periods.

use automerge::{ObjType, ROOT, ReadDoc, Value, transaction::Transactable};
use chrono::{Datelike, Months, Utc};
use model::{Money, Stage};
use serde_json::{Value as Json, json};

use crate::helpers::*;

/// `POST /api/admin/orders` with `amount` in `currency`, no partner.
async fn order(
    server: &TestServer,
    admin: &str,
    reference: &str,
    amount: &str,
    currency: &str,
) -> (u16, Json) {
    let body = json!({"reference": reference, "amount": amount, "currency": currency});
    api(server, admin, "POST", "/api/admin/orders", Some(body)).await
}

/// This month's USD total of the revenue-share report, in minor units.
async fn revenue_this_month(server: &TestServer, admin: &str) -> i64 {
    let (status, report) = api(
        server,
        admin,
        "GET",
        "/api/admin/reports/partner_revenue_share",
        None,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let month = Utc::now().format("%Y-%m").to_string();
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[0] == month.as_str() && row[1] == "USD")
        .map_or(0, |row| row[3].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn refunding_a_direct_sale_records_it_and_takes_it_out_of_the_report() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&server.database_url, "a-admin").await;

    let before = revenue_this_month(&server, &admin).await;
    let (status, recorded) = order(&server, &admin, "DIRECT-1", "1000.00", "USD").await;
    assert_eq!(status, 201, "{recorded}");
    let id = recorded["order_id"].as_i64().unwrap();
    assert_eq!(revenue_this_month(&server, &admin).await, before + 100_000);

    // A direct sale earned nobody anything: the refund reverses no line,
    // and it was a 500 that recorded nothing.
    let refund = |reason: &'static str| {
        let (server, admin) = (&server, &admin);
        async move {
            api(
                server,
                admin,
                "POST",
                &format!("/api/admin/orders/{id}/refund"),
                Some(json!({ "reason": reason })),
            )
            .await
        }
    };
    let (status, refunded) = refund("Returned unopened").await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["lines"], json!([]));
    let (_, orders) = api(&server, &admin, "GET", "/api/admin/orders", None).await;
    let listed = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap();
    assert!(listed["refunded_at"].is_string(), "{listed}");
    assert_eq!(revenue_this_month(&server, &admin).await, before);

    // Again: the same answer, nothing new.
    let (status, again) = refund("Twice").await;
    assert_eq!((status, &again["lines"]), (200, &json!([])), "{again}");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/orders/999999/refund",
        Some(json!({"reason": "No such order"})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_orders_api_takes_iso_currencies_and_canonical_bounded_amounts() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&server.database_url, "a-admin").await;

    for (n, (amount, currency, why)) in [
        ("1000.00", "ZZZ", "ISO 4217"),
        ("1,0,0", "USD", "is written like 1234.56 here"),
        ("1,000.00", "USD", "is written like 1234.56 here"),
        ("1_000", "USD", "is written like 1234.56 here"),
        ("12,50", "EUR", "is written like 1234.56 here"),
        ("1500.5", "JPY", "whole JPY"),
        ("1.2345", "KWD", "at most 3 decimals"),
        ("-5.00", "USD", "cannot be negative"),
        // The probe's two orders at the largest i64 made the revenue
        // report answer 500.
        ("92233720368547758.07", "USD", "largest amount"),
        ("100000000000.00", "USD", "largest amount"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, answer) = order(&server, &admin, &format!("BAD-{n}"), amount, currency).await;
        assert_eq!(status, 400, "{amount} {currency}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{amount} {currency}: {error}");
    }
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE reference LIKE 'BAD-%'")
            .fetch_one(&db.pool().await)
            .await
            .unwrap();
    assert_eq!(recorded, 0, "nothing refused was recorded");

    // Each currency with its own decimals.
    for (reference, amount, currency, minor) in [
        ("KWD-1", "1.234", "KWD", 1234),
        ("JPY-1", "1500", "JPY", 1500),
        ("CLF-1", "0.0001", "CLF", 1),
    ] {
        let (status, answer) = order(&server, &admin, reference, amount, currency).await;
        assert_eq!(status, 201, "{answer}");
        let stored: i64 =
            sqlx::query_scalar("SELECT amount_minor FROM orders WHERE reference = $1")
                .bind(reference)
                .fetch_one(&db.pool().await)
                .await
                .unwrap();
        assert_eq!(stored, minor, "{amount} {currency}");
    }

    // Two orders at the largest amount: the report still adds them up.
    let before = revenue_this_month(&server, &admin).await;
    let largest = Money::new(Money::MAX_MINOR, model::Currency::parse("USD").unwrap());
    for reference in ["MAX-1", "MAX-2"] {
        let (status, answer) =
            order(&server, &admin, reference, &largest.to_decimal(), "USD").await;
        assert_eq!(status, 201, "{answer}");
    }
    assert_eq!(
        revenue_this_month(&server, &admin).await,
        before + 2 * Money::MAX_MINOR
    );
}

/// Writes `value_minor` and `currency` straight into a lead of the
/// document, past the app's parser, as a hostile client can.
fn write_value(handle: &samod::DocHandle, lead: &str, minor: i64, currency: &str) {
    handle
        .with_document(|doc| {
            let Some((Value::Object(ObjType::Map), leads)) = doc.get(ROOT, "leads")? else {
                panic!("no leads");
            };
            let Some((Value::Object(ObjType::Map), obj)) = doc.get(&leads, lead)? else {
                panic!("no lead {lead}");
            };
            doc.transact(|tx| {
                tx.put(&obj, "value_minor", minor)?;
                tx.put(&obj, "currency", currency)
            })
            .map(|_| ())
            .map_err(|f| f.error)
        })
        .unwrap();
}

#[tokio::test]
async fn a_partner_cannot_write_past_the_parser_into_the_queue() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;

    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let pipeline = open(&ben, &pipeline_doc(&pool, "p-ben").await).await;
    // What the app's parser refuses: an amount past the bound, a made-up
    // currency. Both leads marked won.
    write_value(&pipeline, "ben-4", i64::MAX, "USD");
    move_to(&pipeline, "ben-4", Stage::Won);
    write_value(&pipeline, "ben-3", 100_000, "ZZZ");
    move_to(&pipeline, "ben-3", Stage::Won);
    // Then a lead as the app writes it: once its deal is filed, the
    // projection has read the writes before it.
    move_to(&pipeline, "ben-1", Stage::Won);
    deal_of(&pool, "p-ben", "ben-1", "submitted").await;

    let filed: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT lead_id, amount_minor, currency::text, status FROM deals
         WHERE partner_id = 'p-ben' AND lead_id IN ('ben-3', 'ben-4')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        filed.iter().all(|(_, _, _, status)| status != "submitted"),
        "nothing the parser refuses reaches the approval queue: {filed:?}"
    );
    let out_of_bounds: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deals WHERE abs(amount_minor) > $1 OR currency = 'ZZZ'",
    )
    .bind(Money::MAX_MINOR)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(out_of_bounds, 0, "{filed:?}");
}

#[tokio::test]
async fn a_payout_period_is_a_closed_month_since_2000() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let admin = session_for(&server.database_url, "a-admin").await;

    let month = |date: chrono::DateTime<Utc>| format!("{}-{:02}", date.year(), date.month());
    let now = Utc::now();
    let next = month(now + Months::new(1));
    for period in [
        "0000-01",
        "1999-12",
        "9999-12",
        next.as_str(),
        "2026-13",
        "26-01",
    ] {
        let (status, answer) = run_payouts(&server, &admin, period).await;
        assert_eq!(status, 400, "{period}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("a closed month"), "{period}: {error}");
    }
    // This month is still open: its run comes once it has closed. (Unless
    // the month turned during the request: then it is closed.)
    let this = month(now);
    let (status, answer) = run_payouts(&server, &admin, &this).await;
    if month(Utc::now()) == this {
        assert_eq!(status, 400, "{this}: {answer}");
    }
    let started: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_runs WHERE period <> $1")
        .bind(&this)
        .fetch_one(&db.pool().await)
        .await
        .unwrap();
    assert_eq!(started, 0, "no refused period started a run");

    let last = month(now - Months::new(1));
    let (status, answer) = run_payouts(&server, &admin, &last).await;
    assert_eq!(status, 201, "{last}: {answer}");
    let (status, _) = run_payouts(&server, &admin, "2000-01").await;
    assert_eq!(status, 201, "the first month accepted");
}
