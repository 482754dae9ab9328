//! Account views through the real server: the server writes each partner's
//! figures into a read-only document, and a partner's connected device sees
//! a decision on their deals arrive, a line's hold end with nothing asked,
//! and a payout's statement with the lines it paid.

use std::time::Duration;

use model::{AccountView, AccountViewDoc, Currency, DealStatus, LeadId, LineStatus, Stage};
use samod::DocHandle;

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// The view as the device holds it; `None` until it reads as one.
fn view(handle: &DocHandle) -> Option<AccountView> {
    handle.with_document(|doc| AccountViewDoc::read(doc)).ok()
}

/// Waits until the device's copy of the view passes `check`.
async fn wait_view(
    handle: &DocHandle,
    what: &str,
    check: impl Fn(&AccountView) -> bool,
) -> AccountView {
    wait_for(what, DEADLINE, || async {
        view(handle).filter(|v| check(v))
    })
    .await
}

fn lead(id: &str) -> LeadId {
    LeadId::parse(id).unwrap()
}

#[tokio::test]
async fn a_partner_sees_the_decisions_on_his_deals_in_his_account_view() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben_token = session_for(&server.database_url, "a-ben").await;

    // Every partner has a view from the start, of their own figures only:
    // the views are computed in batches, one query per kind of fact for
    // all the partners of a batch, and a row must reach its own partner.
    for (partner, won) in [("p-ana", &["ana-5"][..]), ("p-cleo", &[][..])] {
        let doc = account_view_doc(&pool, partner).await;
        wait_for(&format!("{partner}'s view"), DEADLINE, || async {
            let view = AccountViewDoc::read(&stored(&pool, &doc).await).ok()?;
            let deals: Vec<&str> = view.deals.iter().map(|d| d.lead_id.as_str()).collect();
            (view.partner_id.as_str() == partner && deals == won).then_some(())
        })
        .await;
    }
    let view_id = account_view_doc(&pool, "p-ben").await;
    // The app finds it in /api/me, read-only.
    let (status, me) = api(&server, &ben_token, "GET", "/api/me", None).await;
    assert_eq!(status, 200);
    let listed: Vec<_> = me["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "account_view")
        .collect();
    assert_eq!(listed.len(), 1, "{me}");
    assert_eq!(listed[0]["doc_id"], view_id.as_str());
    assert_eq!(listed[0]["access"], "read_only");

    // Ben's device opens it: the fixtures' won lead is waiting for a
    // decision, and he has earned nothing yet.
    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let handle = open(&ben, &view_id).await;
    let before = wait_view(&handle, "ben-5 submitted in Ben's view", |v| {
        v.deal(&lead("ben-5"))
            .is_some_and(|d| d.status == DealStatus::Submitted)
    })
    .await;
    let usd = Currency::parse("USD").unwrap();
    let ben5 = before.deal(&lead("ben-5")).unwrap();
    assert_eq!((ben5.amount_minor, ben5.currency), (90_000, usd));
    assert_eq!((ben5.reason.as_deref(), ben5.decided_at), (None, None));
    assert_eq!(before.partner_id.as_str(), "p-ben");
    assert_eq!(before.deals.len(), 1, "only his own deals: {before:?}");
    assert_eq!(
        (before.tier.as_str(), before.deals_in_window),
        ("starter", 0)
    );
    assert!(
        before.lines.is_empty() && before.balances.is_empty(),
        "{before:?}"
    );

    // An admin approves it; the device, still connected, sees the line.
    let asked_at = chrono::Utc::now().timestamp_millis();
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, approved) = approve(&server, &admin, deal).await;
    assert_eq!(status, 200, "{approved}");
    let after = wait_view(&handle, "the approval in Ben's view", |v| {
        !v.lines.is_empty()
    })
    .await;
    assert!(after.computed_at.0 >= asked_at, "{after:?}");
    assert_eq!(after.lines.len(), 1, "{after:?}");
    let line = &after.lines[0];
    assert_eq!(line.id, approved["lines"][0]["id"].as_i64().unwrap());
    assert_eq!(line.kind, "base");
    // 20% of 900.00 USD: Ben is a Starter.
    assert_eq!((line.amount_minor, line.currency), (18_000, usd));
    assert_eq!(line.rate_bps, Some(2000));
    assert_eq!(line.tier.as_deref(), Some("starter"));
    assert_eq!(line.deal_id, Some(deal));
    assert_eq!(line.lead_id, Some(lead("ben-5")));
    assert_eq!(line.status, LineStatus::Pending);
    assert_eq!(
        line.available_at.0 - line.accrued_at.0,
        30 * 86_400_000,
        "the hold date"
    );
    assert!(
        line.explanation
            .contains("base commission on deal with Grace Kim (Kim Studio) of 900.00 USD"),
        "the customer, not the lead's id: {}",
        line.explanation
    );
    // A deal approved now would be his second: still Starter, at 20%.
    assert_eq!(
        after.next_deal,
        Some(model::DealPricing {
            tier: "starter".into(),
            base_bps: 2000,
            extra_bps: 0
        })
    );
    let balance = &after.balances;
    assert_eq!(balance.len(), 1, "{balance:?}");
    assert_eq!(
        (
            balance[0].currency,
            balance[0].pending_minor,
            balance[0].available_minor,
            balance[0].paid_minor
        ),
        (usd, 18_000, 0, 0)
    );
    let ben5 = after.deal(&lead("ben-5")).unwrap();
    assert_eq!(ben5.status, DealStatus::Approved);
    assert!(ben5.decided_at.is_some_and(|t| t.0 >= asked_at));
    // His tier, and how far he is from the next one.
    assert_eq!((after.tier.as_str(), after.deals_in_window), ("starter", 1));
    assert_eq!(after.progress.next_tier.as_deref(), Some("active"));
    let deals = after
        .progress
        .components
        .iter()
        .find(|c| c.name == "deals")
        .unwrap();
    assert_eq!((deals.counted, deals.target), (1, 3));
    assert!(after.progress.per_mille > 0);
    assert_eq!(
        after.progress.per_mille,
        after
            .progress
            .components
            .iter()
            .map(|c| c.points)
            .sum::<u16>()
    );

    // Ben marks another lead won; the back-office rejects it: he reads why.
    let pipeline = open(&ben, &pipeline_doc(&pool, "p-ben").await).await;
    move_to(&pipeline, "ben-1", Stage::Won);
    wait_view(&handle, "ben-1 submitted in Ben's view", |v| {
        v.deal(&lead("ben-1"))
            .is_some_and(|d| d.status == DealStatus::Submitted)
    })
    .await;
    let deal = deal_of(&pool, "p-ben", "ben-1", "submitted").await;
    let (status, rejected) = reject(&server, &admin, deal, "Duplicate of an existing order").await;
    assert_eq!(status, 200, "{rejected}");
    let after = wait_view(&handle, "the rejection in Ben's view", |v| {
        v.deal(&lead("ben-1"))
            .is_some_and(|d| d.status == DealStatus::Rejected)
    })
    .await;
    let ben1 = after.deal(&lead("ben-1")).unwrap();
    assert_eq!(
        ben1.reason.as_deref(),
        Some("Duplicate of an existing order")
    );
    assert!(ben1.decided_at.is_some());
    assert_eq!(after.lines.len(), 1, "a rejection earns nothing");
}

#[tokio::test]
async fn a_line_turns_available_when_its_hold_ends_and_a_statement_lists_what_it_paid() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let view_id = account_view_doc(&pool, "p-cleo").await;

    // A line whose hold ends shortly (the ledger holds for days; the
    // back-office could record one like this by hand).
    let hold = chrono::Duration::seconds(15);
    let available_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "INSERT INTO ledger_lines (idempotency_key, partner_id, kind, amount_minor, currency,
                                   accrued_at, available_at, explanation)
         VALUES ('test:short-hold', 'p-cleo', 'referral', 5000, 'EUR', now(), now() + $1,
                 'a referral held briefly')
         RETURNING available_at",
    )
    .bind(hold)
    .fetch_one(&pool)
    .await
    .unwrap();

    // Cleo marks a lead won on her device: the deal it files refreshes her
    // view (a line inserted by hand, as above, tells nobody).
    let cleo = client("a-cleo").await;
    let _link = connect(&cleo, &server).await;
    let pipeline = open(&cleo, &pipeline_doc(&pool, "p-cleo").await).await;
    move_to(&pipeline, "cleo-1", Stage::Won);
    let handle = open(&cleo, &view_id).await;
    let held = wait_view(&handle, "the held line in Cleo's view", |v| {
        !v.lines.is_empty()
    })
    .await;
    assert_eq!(
        held.lines[0].status,
        LineStatus::Pending,
        "the view came after the hold ended: {held:?}"
    );
    assert_eq!(held.balances[0].pending_minor, 5000);

    // Nothing else is written for Cleo: the hold date alone makes the
    // server write the view again.
    let available = wait_view(&handle, "the line to turn available", |v| {
        v.lines
            .first()
            .is_some_and(|l| l.status == LineStatus::Available)
    })
    .await;
    assert!(available.computed_at.0 >= available_at.timestamp_millis());
    let eur = &available.balances[0];
    assert_eq!(
        (
            eur.currency.as_str(),
            eur.pending_minor,
            eur.available_minor
        ),
        ("EUR", 0, 5000)
    );

    // A payout run pays it: the statement says how many lines it paid, and
    // the line which statement paid it.
    let cleo_token = session_for(&server.database_url, "a-cleo").await;
    let (status, method) = set_payout_method(
        &server,
        &cleo_token,
        "paypal",
        "Cleo Martin",
        "cleo@martin.example",
    )
    .await;
    assert_eq!(status, 200, "{method}");
    let admin = session_for(&server.database_url, "a-admin").await;
    let (status, run) = run_payouts(&server, &admin, "2026-11").await;
    assert_eq!(status, 201, "{run}");
    let statement_id = run["statements"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no statement in {run}"));
    let paid = wait_view(&handle, "the statement in Cleo's view", |v| {
        !v.statements.is_empty()
    })
    .await;
    let statement = &paid.statements[0];
    assert_eq!(
        (statement.id, statement.total_minor, statement.line_count),
        (statement_id, 5000, 1),
        "{paid:?}"
    );
    let line = &paid.lines[0];
    assert_eq!(
        (line.status, line.statement_id),
        (LineStatus::Paid, Some(statement_id))
    );
    assert_eq!(
        (
            paid.balances[0].available_minor,
            paid.balances[0].paid_minor
        ),
        (0, 5000)
    );
}
