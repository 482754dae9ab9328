//! Properties of the ledger under random sequences of money events,
//! through the ledger's own functions on a real Postgres: whatever happens,
//! balances are the sums of the lines, statements total exactly the lines
//! they pay, a clawback nets its source and the lines derived from it to
//! zero, and an override is exactly 10% of its base line (half away from
//! zero).

use chrono::{Duration, Utc};
use model::{Currency, Money};
use proptest::prelude::*;
use sqlx::PgPool;
use sync_server::money::{LedgerSettings, decisions, lines, orders, payout_methods, payouts};

use crate::helpers::{TestDb, approved_history};

#[derive(Debug, Clone)]
enum Event {
    /// A member's deal of this many minor units, approved.
    Deal(i64),
    /// A referral order for the leader or the member.
    Order { leader: bool, minor: i64 },
    /// Claw back the n-th approved deal (modulo how many there are).
    ClawBack(usize),
    /// Refund the n-th order.
    Refund(usize),
    /// A payout run (the next month).
    Payout,
    /// The partner registers a payout method.
    Method { leader: bool },
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let event = prop_oneof![
        3 => (1i64..5_000_000).prop_map(Event::Deal),
        2 => (any::<bool>(), 1i64..2_000_000).prop_map(|(leader, minor)| Event::Order { leader, minor }),
        2 => any::<usize>().prop_map(Event::ClawBack),
        1 => any::<usize>().prop_map(Event::Refund),
        2 => Just(Event::Payout),
        1 => any::<bool>().prop_map(|leader| Event::Method { leader }),
    ];
    prop::collection::vec(event, 1..25)
}

fn ten_percent(minor: i64) -> i64 {
    let exact = i128::from(minor) * 10;
    let (q, r) = (exact / 100, exact % 100);
    (if r.abs() * 2 >= 100 {
        q + exact.signum()
    } else {
        q
    }) as i64
}

async fn setup(leader_history: u32) -> (TestDb, PgPool) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    sync_server::migrate(&pool).await.unwrap();
    for statement in [
        "INSERT INTO partners (id, name) VALUES ('p-l', 'Leader'), ('p-m', 'Member')",
        "INSERT INTO accounts (id, email, name, role, status, password_hash, partner_id, decided_at)
         VALUES ('a-l', 'l@x.example', 'Leader', 'team_leader', 'approved', 'x', 'p-l', now())",
        "INSERT INTO accounts (id, email, name, role, status, password_hash, partner_id,
                               team_leader_id, decided_at)
         VALUES ('a-m', 'm@x.example', 'Member', 'partner', 'approved', 'x', 'p-m', 'a-l', now())",
        "INSERT INTO accounts (id, email, name, role, status, password_hash)
         VALUES ('a-admin', 'admin@x.example', 'Admin', 'admin', 'approved', 'x')",
        "INSERT INTO documents (doc_id, kind, owner_id) VALUES ('doc-m', 'pipeline', 'p-m'),
                                                           ('doc-l', 'pipeline', 'p-l')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    approved_history(&pool, "p-l", "doc-l", leader_history, "USD", 1).await;
    (db, pool)
}

async fn run(leader_history: u32, events: Vec<Event>) {
    let (_db, pool) = setup(leader_history).await;
    let (changed, _keep) = sync_server::events::channel();
    let settings = LedgerSettings {
        rules: rules::RulesConfig::default(),
        hold: Duration::zero(),
        payout_minimum_minor: 5000,
        changed,
    };
    let usd = Currency::parse("USD").unwrap();
    let (mut deals, mut orders, mut month) = (Vec::new(), Vec::new(), 0u32);
    // The ledger's clock: a second apart per event, so order is order.
    let start = Utc::now();
    for (i, event) in events.into_iter().enumerate() {
        let now = start + Duration::seconds(i as i64);
        match event {
            Event::Deal(minor) => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status)
                     VALUES ('p-m', $1, 'doc-m', $2, 'USD', 'submitted') RETURNING id",
                )
                .bind(format!("lead-{i}"))
                .bind(minor)
                .fetch_one(&pool)
                .await
                .unwrap();
                // A new deal is at its first version.
                let reviewed = decisions::Reviewed {
                    amount_minor: minor,
                    currency: "USD".to_owned(),
                    version: 1,
                };
                let lines = decisions::approve(&pool, &settings, id, &reviewed, "a-admin", now)
                    .await
                    .unwrap();
                if let [base, over] = &lines[..] {
                    assert_eq!(over.amount_minor, ten_percent(base.amount_minor));
                    assert_eq!(over.source_line_id, Some(base.id));
                }
                deals.push(id);
            }
            Event::Order { leader, minor } => {
                let partner = if leader { "p-l" } else { "p-m" };
                let recorded = orders::record_order(
                    &pool,
                    &settings,
                    &format!("order-{i}"),
                    Some(partner),
                    Money::new(minor, usd),
                    "a-admin",
                    now,
                )
                .await
                .unwrap();
                orders.push(recorded.order_id);
            }
            Event::ClawBack(n) if !deals.is_empty() => {
                let deal = deals[n % deals.len()];
                decisions::claw_back_deal(&pool, &settings, deal, "a-admin", "refund", now)
                    .await
                    .unwrap();
            }
            Event::Refund(n) if !orders.is_empty() => {
                let order = orders[n % orders.len()];
                orders::refund_order(&pool, &settings, order, "refund", now)
                    .await
                    .unwrap();
            }
            Event::Payout => {
                month += 1;
                let period = format!("{}-{:02}", 2000 + month / 12, month % 12 + 1);
                payouts::run_payouts(&pool, &settings, &period, "a-admin", now)
                    .await
                    .unwrap();
            }
            Event::Method { leader } => {
                let partner = if leader { "p-l" } else { "p-m" };
                payout_methods::set_payout_method(
                    &pool,
                    partner,
                    "paypal",
                    "Someone",
                    "someone@x.example",
                )
                .await
                .unwrap();
            }
            _ => {}
        }
    }
    let end = start + Duration::days(1);
    for partner in ["p-l", "p-m"] {
        let sum: Option<i64> = sqlx::query_scalar(
            "SELECT sum(amount_minor)::bigint FROM ledger_lines WHERE partner_id = $1",
        )
        .bind(partner)
        .fetch_one(&pool)
        .await
        .unwrap();
        let balances = lines::balances(&pool, partner, end).await.unwrap();
        let total: i64 = balances
            .iter()
            .map(|b| b.pending_minor + b.available_minor + b.paid_minor)
            .sum();
        assert_eq!(total, sum.unwrap_or(0), "{partner}: balances are the lines");
    }
    let off: Vec<i64> = sqlx::query_scalar(
        "SELECT s.id FROM statements s
         LEFT JOIN statement_lines sl ON sl.statement_id = s.id
         LEFT JOIN ledger_lines l ON l.id = sl.line_id
         GROUP BY s.id, s.total_minor HAVING s.total_minor <> coalesce(sum(l.amount_minor), 0)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(off.is_empty(), "statements total their lines: {off:?}");
    // Every clawed-back deal nets to zero, its derived lines included.
    let not_netted: Vec<i64> = sqlx::query_scalar(
        "SELECT d.id FROM deals d JOIN ledger_lines l ON l.deal_id = d.id
         WHERE d.reversed_at IS NOT NULL GROUP BY d.id HAVING sum(l.amount_minor) <> 0",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        not_netted.is_empty(),
        "clawbacks net to zero: {not_netted:?}"
    );
    pool.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_ledger_keeps_its_invariants(leader_history in 0u32..30, events in events()) {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(leader_history, events));
    }
}
